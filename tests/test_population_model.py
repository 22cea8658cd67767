"""The population model: a large simulated draw of the latent variables reproduces its
population values (the published targets, the Black-White differences, the classroom random
effects), each within about two of its sampling SDs.

The calibration (lwo.population) enforces the targets on the model's analytic moments; these
tests check those moments independently, against a draw from the generator. Sampling SDs are
delete-a-group jackknife SEs over JACKKNIFE_GROUPS groups of whole classrooms (classmates share
random effects, so students are not independent). A family of m quantities is checked at the
Bonferroni-adjusted normal quantile z(1 - 0.025 / m) times its SE (2.0 for one quantity, 3.0
for 19), so that a correct model fails a family with probability about 0.05.
"""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from lwo.population import CONTROLS, GRADE_CONTROLS

N_LARGE = 60_000
JACKKNIFE_GROUPS = 25


def family_z(m: int) -> float:
    return float(norm.ppf(1 - 0.025 / m))


def test_every_parameter_is_sourced(population_model):
    """Each target names the exhibit it is calibrated to, or says it is an assumption."""
    for t in population_model["structural"]["targets"]:
        assert t["source"].startswith(("Ex ", "assumption")), t


def test_population_group_differences_follow_exhibit_28(population, population_model, codebook):
    bw = population_model["structural"]["black_minus_white"]
    for name in codebook.hqc_subscales("dynamic") + ["peer_support", "teacher_support"]:
        assert population.group_difference(name) > 0.15, name
    for name in codebook.hqc_subscales("structural"):
        assert population.group_difference(name) == pytest.approx(0.0, abs=1e-12), name
    assert set(bw) == set(codebook.hqc_subscales("dynamic") + ["peer_support", "teacher_support"])


def test_sites_compositions_meet_exhibits_4_and_5(population, population_model):
    """Race goes with school, every site at least 20% Black and 20% White (Exhibit 4), 46% Black
    overall (Exhibit 5)."""
    from lwo.population import SCHOOLS, site_race_counts
    design = population_model["design"]
    counts = site_race_counts(design, [design["schools"][s]["students"] for s in SCHOOLS])
    total = sum(counts.values())
    share = {g: c / total for g, c in counts.items()}
    assert (share["Black"] >= 0.20).all() and (share["White"] >= 0.20).all()
    assert np.ptp(share["Black"]) > 0.25                     # sites differ
    assert population.group_shares["Black"] == pytest.approx(0.46, abs=1e-12)
    assert not np.allclose(population.school_probabilities["Black"], population.school_probabilities["White"])


@pytest.fixture(scope="module")
def large_draw(population_model, codebook, population):
    from lwo.synthetic import generate_cohort
    return generate_cohort(population_model, codebook, seed=11, n_students=N_LARGE, population=population)["latents"]


def _std_effect(df, outcome, extra=()):
    controls = list(GRADE_CONTROLS if outcome == "current_grade" else CONTROLS)
    cols = ["hqc_latent", *[f"{m}_latent" for m in extra], *[c if c != "prior_grade" else "prior_grade_latent" for c in controls]]
    X = np.column_stack([np.ones(len(df)), df[cols].to_numpy(float)])
    y = df[f"{outcome}_latent"].to_numpy(float)
    b = _ols(X, y)[1]
    return b * df["hqc_latent"].std() / df[f"{outcome}_latent"].std()


def _ols(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)   # normal equations: fast, and well conditioned here


def _sample(df, sample):
    return df if sample == "all" else df[df["population_group"] == sample]


def _target_estimate(df, t):
    d = _sample(df, t["sample"])
    if t["quantity"] == "std_effect":
        return _std_effect(d, t["outcome"])
    if t["quantity"] == "percent_mediated":
        return 1 - _std_effect(d, t["outcome"], [t["mediator"]]) / _std_effect(d, t["outcome"])
    return np.corrcoef(d["hqc_latent"], d[f"{t['outcome']}_latent"])[0, 1]


def _adjusted_difference(df, name):
    """Black minus White mean of a latent at the same covariates, in whole-draw SD units."""
    bw = df[df["population_group"].isin(["Black", "White"])]
    cols = [c if c != "prior_grade" else "prior_grade_latent" for c in CONTROLS]
    X = np.column_stack([np.ones(len(bw)), (bw["population_group"] == "Black").to_numpy(float), bw[cols].to_numpy(float)])
    b = _ols(X, bw[f"{name}_latent"].to_numpy(float))[1]
    return b / df[f"{name}_latent"].std()


def jackknife(df, statistic, latents=()):
    """Estimate and delete-a-group jackknife SE, groups of whole classrooms. `latents`: the
    latents the statistic reads (the draw is cut to them and the covariates first)."""
    if latents:
        keep = ["classroom_id", "population_group", "prior_grade_latent", *(c for c in CONTROLS if c != "prior_grade")]
        df = df[keep + [f"{n}_latent" for n in dict.fromkeys(latents)]]
    rooms = pd.Series(pd.factorize(df["classroom_id"], sort=True)[0], index=df.index)
    group = rooms % JACKKNIFE_GROUPS
    full = statistic(df)
    parts = np.array([statistic(df[group != g]) for g in range(JACKKNIFE_GROUPS)])
    k = JACKKNIFE_GROUPS
    return full, float(np.sqrt((k - 1) / k * ((parts - parts.mean()) ** 2).sum()))


def test_large_draw_reproduces_population_targets(large_draw, population):
    """Every calibrated target (standardized effects, percent mediated, correlations) from the
    draw's own moments, within the family tolerance of its jackknife SE."""
    assert len(large_draw) == N_LARGE
    z = family_z(len(population.targets))
    misses = {}
    for t in population.targets:
        got, se = jackknife(large_draw, lambda d: _target_estimate(d, t),
                            ["hqc", t["outcome"], *([t["mediator"]] if "mediator" in t else [])])
        assert 0 < se < 0.02, (t, se)
        if abs(got - t["value"]) > z * se:
            misses[f"{t['quantity']} {t['outcome']} {t['sample']}"] = (round(got, 4), t["value"], round(se, 4))
    assert not misses, f"estimate, target, SE beyond {z:.2f} SE: {misses}"


def test_large_draw_reproduces_group_differences(large_draw, population, codebook):
    names = codebook.constructs_in_block("hqc") + codebook.constructs_in_block("classroom_environment")
    z = family_z(len(names))
    misses = {}
    for name in names:
        got, se = jackknife(large_draw, lambda d: _adjusted_difference(d, name), [name])
        if abs(got - population.group_difference(name)) > z * se:
            misses[name] = (round(got, 4), round(population.group_difference(name), 4), round(se, 4))
    assert not misses, f"estimate, population, SE beyond {z:.2f} SE: {misses}"


def test_outcomes_carry_classroom_random_effects(large_draw, population, population_model, codebook):
    """The share of each latent's disturbance common to a classroom (HQC and the outcomes),
    from the draw: between-classroom variance of the classroom means of the disturbance
    (one-way ANOVA estimator), against the stated share of its variance."""
    from lwo.population import COVARIATES, GROUPS
    from lwo.synthetic import CohortGenerator

    shares = CohortGenerator(population_model, codebook, population).classroom_shares()
    names = ["hqc", "peer_support", "teacher_support", "emotional_engagement", "social_self_efficacy", "current_grade"]
    assert all(shares[population.latents.index(n)] > 0 for n in names)
    x = large_draw[[c for c in COVARIATES if c != "prior_grade"] + ["prior_grade_latent"]].to_numpy(float)
    eta = large_draw[[f"{n}_latent" for n in population.latents]].to_numpy(float)
    zeta = np.empty_like(eta)
    for g in GROUPS:
        rows = (large_draw["population_group"] == g).to_numpy()
        zeta[rows] = eta[rows] @ (np.eye(len(population.latents)) - population.B[g]).T - x[rows] @ population.Gamma.T - population.alpha[g]
    frame = pd.DataFrame(zeta, columns=population.latents)
    frame["classroom_id"] = large_draw["classroom_id"].to_numpy()

    def icc(d, name):
        by = d.groupby("classroom_id")[name]
        sizes, means = by.size(), by.mean()
        within = by.var().mul(sizes - 1).sum() / (len(d) - len(sizes))
        n0 = sizes.mean()
        between = means.var() - within / n0
        return between / population.Psi[population.latents.index(name), population.latents.index(name)]

    z = family_z(len(names))
    for name in names:
        got, se = jackknife(frame, lambda d: icc(d, name))
        assert got == pytest.approx(shares[population.latents.index(name)], abs=z * se), (name, got, se)


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
