"""The population model: its calibrated population values equal the published targets, and a
large draw of latent variables reproduces them (parameter recovery at N = 60,000)."""
import numpy as np
import pandas as pd
import pytest

from lwo.population import CONTROLS, GRADE_CONTROLS, GROUPS

N_LARGE = 60_000


def test_every_parameter_is_sourced(population_model):
    """Each target names the exhibit it is calibrated to, or says it is an assumption."""
    for t in population_model["structural"]["targets"]:
        assert t["source"].startswith(("Ex ", "assumption")), t


def test_population_values_equal_targets_exactly(population):
    for t in population.targets:
        assert population.target_value(t) == pytest.approx(t["value"], abs=1e-9), t


def test_population_group_differences_follow_exhibit_28(population, population_model, codebook):
    bw = population_model["structural"]["black_minus_white"]
    for name in codebook.hqc_subscales("dynamic") + ["peer_support", "teacher_support"]:
        assert population.group_difference(name) > 0.15, name
    for name in codebook.hqc_subscales("structural"):
        assert population.group_difference(name) == pytest.approx(0.0, abs=1e-12), name
    assert set(bw) == set(codebook.hqc_subscales("dynamic") + ["peer_support", "teacher_support"])


@pytest.fixture(scope="module")
def large_draw(population_model, codebook, population):
    from lwo.synthetic import generate_cohort
    return generate_cohort(population_model, codebook, seed=11, n_students=N_LARGE, population=population)["latents"]


def _std_effect(df, outcome, extra=()):
    controls = list(GRADE_CONTROLS if outcome == "current_grade" else CONTROLS)
    cols = ["hqc_latent", *[f"{m}_latent" for m in extra], *[c if c != "prior_grade" else "prior_grade_latent" for c in controls]]
    X = np.column_stack([np.ones(len(df)), df[cols].to_numpy(float)])
    y = df[f"{outcome}_latent"].to_numpy(float)
    b = np.linalg.lstsq(X, y, rcond=None)[0][1]
    return b * df["hqc_latent"].std() / df[f"{outcome}_latent"].std()


def _sample(df, sample):
    return df if sample == "all" else df[df["population_group"] == sample]


def test_large_draw_reproduces_population_paths(large_draw, population):
    assert len(large_draw) == N_LARGE
    for t in population.targets:
        d = _sample(large_draw, t["sample"])
        if t["quantity"] == "std_effect":
            got = _std_effect(d, t["outcome"])
        elif t["quantity"] == "percent_mediated":
            got = 1 - _std_effect(d, t["outcome"], [t["mediator"]]) / _std_effect(d, t["outcome"])
        else:
            got = np.corrcoef(d["hqc_latent"], d[f"{t['outcome']}_latent"])[0, 1]
        # percent mediated is a ratio with a larger sampling error
        tol = 0.05 if t["quantity"] == "percent_mediated" else 0.02
        assert got == pytest.approx(t["value"], abs=tol), (t, got)


def test_large_draw_reproduces_group_differences(large_draw, population, codebook):
    sd = large_draw.filter(like="_latent").std()
    for name in codebook.constructs_in_block("hqc") + codebook.constructs_in_block("classroom_environment"):
        col = f"{name}_latent"
        diff = (large_draw.loc[large_draw.population_group == "Black", col].mean()
                - large_draw.loc[large_draw.population_group == "White", col].mean()) / sd[col]
        assert diff == pytest.approx(population.group_difference(name), abs=0.02), name


def test_absences_unrelated_to_hqc(population):
    """Exhibit 13: absenteeism unrelated to HQC (population value zero)."""
    assert population.std_effect("absences") == pytest.approx(0.0, abs=1e-12)


def test_impossible_targets_are_refused(population_model, codebook):
    import copy
    from lwo.population import build_population
    bad = copy.deepcopy(population_model)
    bad["structural"]["targets"][0]["value"] = 1.5   # a standardized effect above 1 cannot hold
    with pytest.raises(RuntimeError, match="cannot all hold"):
        build_population(bad, codebook)
