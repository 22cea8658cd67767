"""Parameter recovery: the RQ1 models, fitted by the pipeline's own code (lwo.sem_results) to
a large synthetic cohort, give back the population model's standardized HQC paths.

The population values come from the calibrated population model (lwo.population), computed
analytically on the latent variables; the cohort's survey answers are ordinal 1-4 items and the
HQC indicators are subscale means, so recovery also checks that the measurement side of the
models does not bias the structural paths.

Tolerances. Standardized paths: 0.02 (the requirement). At N = 100,000 the sampling SD of a
standardized path is about 0.004 for all students and 0.008 for the White subsample (about
15,000 students); the remaining gap is the items' coarseness (1-4 answers, treated as
continuous). Share mediated, indirect / total: 0.05, because it is a ratio: an error e in the
direct path moves it by about e / total, and total effects here are 0.45-0.62, so 0.02 on a
path is up to 0.045 on the share.
"""
import pytest

from lwo.sem_results import fit_model, fit_multigroup, standardized_solution
from lwo.specs import rq1_models
from lwo.synthetic import generate_cohort

N_STUDENTS = 100_000
PATH_TOLERANCE = 0.02
SHARE_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def big_cohort(population_model, codebook, population):
    return generate_cohort(population_model, codebook, seed=4242, population=population,
                           n_students=N_STUDENTS)["students"]


@pytest.fixture(scope="module")
def specs(codebook):
    return rq1_models(codebook)


def truth(population, spec, label: str, sample: str) -> float:
    """Population std.all of an a_<m> (HQC -> mediator) or c_<o> (HQC -> outcome, with the
    model's mediators held constant) path."""
    kind, name = label.split("_", 1)
    if kind == "a":
        return population.std_effect(name, sample)
    return population.std_effect(name, sample, tuple(spec.mediators))


def hqc_paths(std, spec, group: str = ""):
    """The model's labelled HQC paths (a_ and c_) of one group, from its standardized solution."""
    labels = [f"a_{m}" for m in spec.mediators] + [f"c_{o}" for o in spec.outcomes]
    suffix = f"_{group}" if group else ""
    rows = std.set_index("label")
    return {lab: float(rows.loc[lab + suffix, "est.std"]) for lab in labels}


STRUCTURAL_MODELS = ["hqc_to_classroom_environment", "hqc_to_mindsets", "hqc_to_grades", "hqc_grades_via_engagement",
                     "hqc_grades_via_intrinsic_motivation", "hqc_grades_via_self_efficacy", "hqc_grades_via_mindsets",
                     "hqc_mindsets_via_personalization", "hqc_mindsets_via_teacher_expectations",
                     "hqc_mindsets_via_social_comparison", "hqc_mindsets_via_learning_from_peers"]


def test_every_structural_model_is_covered(specs):
    assert sorted(STRUCTURAL_MODELS) == sorted(name for name, spec in specs.items() if spec.outcomes)


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["all", "Black", "White"])
@pytest.mark.parametrize("model", STRUCTURAL_MODELS)
def test_every_standardized_hqc_path_is_recovered(big_cohort, codebook, population, specs, model, sample):
    spec = specs[model]
    run = fit_model(spec, big_cohort, codebook, sample)
    assert run.ok, run.message
    estimates = hqc_paths(standardized_solution(run.fit, run.definitions), spec)
    assert len(estimates) >= 1
    misses = {lab: (round(est, 4), round(truth(population, spec, lab, sample), 4))
              for lab, est in estimates.items() if abs(est - truth(population, spec, lab, sample)) > PATH_TOLERANCE}
    assert not misses, f"{model} ({sample}): estimate, population beyond {PATH_TOLERANCE}: {misses}"


@pytest.mark.slow
def test_share_mediated_by_peer_learning_is_recovered(big_cohort, codebook, population, specs):
    """Exhibit 19's 72 percent: indirect / total of HQC -> social self-efficacy via peers."""
    spec = specs["hqc_mindsets_via_learning_from_peers"]
    run = fit_model(spec, big_cohort, codebook, "all")
    std = standardized_solution(run.fit, run.definitions).set_index("label")
    for outcome in spec.outcomes:
        expected = population.percent_mediated(outcome, "peer_learning", "all")
        got = float(std.loc[f"percent_mediated_{outcome}", "est.std"])
        assert got == pytest.approx(expected, abs=SHARE_TOLERANCE), outcome
    assert float(std.loc["percent_mediated_social_self_efficacy", "est.std"]) == pytest.approx(0.72, abs=SHARE_TOLERANCE)


@pytest.mark.slow
def test_black_white_grade_model_recovers_each_groups_path(big_cohort, codebook, population, specs):
    """The multi-group grade model (one likelihood, loadings equal): HQC -> grade per group
    (population 0.14 Black, 0.02 White) and the HQC - social self-efficacy correlations."""
    spec = specs["hqc_to_grades"]
    mg = fit_multigroup(spec, big_cohort, codebook)
    assert mg.free.ok, mg.free.message
    std = standardized_solution(mg.free.fit, mg.free.definitions)
    for group in ("Black", "White"):
        got = hqc_paths(std, spec, group)["c_current_grade"]
        assert got == pytest.approx(population.std_effect("current_grade", group), abs=PATH_TOLERANCE), group
    # equal paths are rejected at this N: the population paths differ by 0.12
    test = mg.lr_tests.set_index("test").loc["HQC -> current_grade"]
    assert test["pvalue"] < 1e-6


@pytest.mark.slow
def test_black_white_mindset_model_recovers_correlations(big_cohort, codebook, population, specs):
    from lwo.sem_results import implied_correlations

    spec = specs["hqc_to_mindsets"]
    mg = fit_multigroup(spec, big_cohort, codebook)
    corr = implied_correlations(mg.free.fit, "hqc", ["social_self_efficacy"]).set_index("group_label")
    for group, published in (("White", 0.73), ("Black", 0.57)):
        assert population.correlation("hqc", "social_self_efficacy", group) == pytest.approx(published, abs=1e-8)
        assert float(corr.loc[group, "est"]) == pytest.approx(published, abs=PATH_TOLERANCE), group

