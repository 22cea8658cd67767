"""RQ1 structural models: specs, fitting once and saving, reading back, exhibits.

Checked against independent computations: the engine's own delta method (`sem.defined`, itself
checked against lavaan in test_sem_engine.py) for the standardized solution and the `:=`
parameters; a refit from the saved spec and data; a bootstrap of the same data for a
delta-method SE. Failures (non-convergence, a broken spec, no students of a group) must show as
failed / not estimable, never as numbers. The workflow test builds the exhibits in a private copy.
"""
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from lwo import sem
from lwo.registry import exhibit_ids
from lwo.saved_fits import read_model
from lwo.sem_results import (CLUSTER, bootstrap_draws, bootstrap_seed, bootstrap_summary, fit_model, fit_multigroup,
                             frame_with_clusters, save_fit, save_multigroup, split_definitions, standardized_solution)
from lwo.specs import equality_tests, multigroup_syntax, rq1_models
from textbook_models import LAVAAN, lavaan_lrt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_inputs.workflow_copy import snakemake  # noqa: E402
from workflow_build import clone_build  # noqa: E402
SCRIPTS = REPO / "workflow" / "scripts"
# the exhibits reading the structural models' saved fits (Exhibits 12-31 but 14, 20 and 28)
RQ1_EXHIBITS = exhibit_ids(families=["rq1_models"])


@pytest.fixture(scope="module")
def specs(codebook):
    return rq1_models(codebook)


@pytest.fixture(scope="module")
def students(cohort):
    return cohort["students"]


@pytest.fixture(scope="module")
def peers_fit(specs, students, codebook):
    run = fit_model(specs["hqc_mindsets_via_learning_from_peers"], students, codebook, "all")
    assert run.ok, run.message
    return run


# ------------------------------------------------------------------------------ specs
def test_mediation_spec_defines_indirect_total_and_share(specs):
    spec = specs["hqc_mindsets_via_personalization"]
    fit_syntax, definitions = split_definitions(spec.syntax)
    names = dict(definitions)
    assert names["indirect_task_valuing"] == ("a_teacher_support*b_teacher_support_task_valuing + "
                                              "a_learning_needs_met*b_learning_needs_met_task_valuing")
    assert names["total_task_valuing"].endswith("+ c_task_valuing")
    assert len(definitions) == 3 * len(spec.outcomes)
    # the two personalization measures share causes besides HQC: their residuals covary
    assert "teacher_support ~~ learning_needs_met" in fit_syntax
    assert ":=" not in fit_syntax


def test_multigroup_syntax_gives_each_group_its_own_labels():
    spec = "y ~ c_y*x + b_m_y*m\nm ~ a_m*x\nind := a_m*b_m_y"
    free = multigroup_syntax(spec, ("Black", "White"))
    assert "y ~ c(c_y_Black, c_y_White)*x + c(b_m_y_Black, b_m_y_White)*m" in free
    assert "ind_Black := a_m_Black*b_m_y_Black" in free and "ind_White := a_m_White*b_m_y_White" in free
    equal = multigroup_syntax(spec, ("Black", "White"), shared=["a_m"])
    assert "m ~ a_m*x" in equal and "ind_White := a_m*b_m_y_White" in equal


def test_equality_constraint_costs_one_df_per_path(specs, students, codebook):
    """The constrained model has exactly as many more df as paths set equal, so the LR test
    compares those paths only."""
    mg = fit_multigroup(specs["hqc_to_grades"], students, codebook)
    assert mg.free.ok, mg.free.message
    for name, labels in equality_tests(specs["hqc_to_grades"]).items():
        row = mg.lr_tests.set_index("test").loc[name]
        assert row["status"] == "ok"
        assert int(row["df_diff"]) == len(labels)
        assert row["chisq_diff"] > 0 and 0 < row["pvalue"] < 1
    # the free model's group-specific paths are different numbers, the constrained one's equal
    est = mg.free.estimates.set_index("label")
    assert est.loc["c_current_grade_Black", "est"] != pytest.approx(est.loc["c_current_grade_White", "est"], abs=1e-6)


def test_equality_test_of_a_saved_multigroup_fit_matches_lavaans_lavTestLRT():
    """The saved free and constrained specs of one pipeline fit (hqc_to_grades, Black vs White)
    and its saved data, refitted by the engine: the chi-square difference, df and p as lavaan's
    lavTestLRT gives them for the same specs and data (tests/lavaan/lrt/lrt.R)."""
    folder = LAVAAN / "lrt" / "hqc_to_grades"
    data = pd.read_csv(folder / "model_data.csv.gz")
    free_spec = (folder / "spec.lavaan").read_text(encoding="utf-8")
    constrained_spec = (folder / "constrained_specs.lavaan").read_text(encoding="utf-8")
    fits = [sem.fit(spec, data, group="race", group_order=["Black", "White"]) for spec in (constrained_spec, free_spec)]
    lavaan = lavaan_lrt("hqc_to_grades")
    assert fits[0].fit_indices["chisq"] == pytest.approx(lavaan["chisq_restricted"], rel=1e-4)
    assert fits[1].fit_indices["chisq"] == pytest.approx(lavaan["chisq_free"], rel=1e-4)
    test = sem.lr_test(*fits)
    assert test["df_diff"] == lavaan["df_diff"] == 1
    assert test["chisq_diff"] == pytest.approx(lavaan["chisq_diff"], rel=1e-4)
    assert test["pvalue"] == pytest.approx(lavaan["pvalue"], rel=1e-4)


# -------------------------------------------------------- standardized solution and := rows
def test_standardized_solution_equals_the_engines_delta_method(peers_fit):
    std = standardized_solution(peers_fit.fit, peers_fit.definitions).set_index("label")
    defs = dict(peers_fit.definitions)
    for label in ["a_peer_learning", "c_social_self_efficacy", "b_peer_learning_task_valuing",
                  "indirect_social_self_efficacy", "percent_mediated_social_self_efficacy"]:
        ref = sem.defined(peers_fit.fit, label, defs.get(label, label), standardized=True)
        assert std.loc[label, "est.std"] == pytest.approx(ref["est"], rel=1e-9)
        assert std.loc[label, "se"] == pytest.approx(ref["se"], rel=1e-5)
        assert std.loc[label, "se.cluster"] == pytest.approx(ref["se.cluster"], rel=1e-5)
        assert std.loc[label, "ci.lower"] == pytest.approx(ref["ci.lower"], rel=1e-5)
    # the std.all of a path equals the engine's estimates table
    est = peers_fit.fit.estimates.set_index("label")
    assert std.loc["c_social_self_efficacy", "est.std"] == pytest.approx(est.loc["c_social_self_efficacy", "std.all"])


def test_defined_parameters_equal_the_engines(peers_fit):
    rows = peers_fit.estimates[peers_fit.estimates["op"] == ":="].set_index("lhs")
    assert len(rows) == 18
    for name, expr in peers_fit.definitions[:6]:
        ref = sem.defined(peers_fit.fit, name, expr)
        assert rows.loc[name, "est"] == pytest.approx(ref["est"], rel=1e-10)
        assert rows.loc[name, "se"] == pytest.approx(ref["se"], rel=1e-5)
        assert rows.loc[name, "se.cluster"] == pytest.approx(ref["se.cluster"], rel=1e-5)
        assert rows.loc[name, "std.all"] == pytest.approx(ref["std.all"], rel=1e-9)
    # total = indirect + direct, exactly
    est = peers_fit.estimates.set_index("label")["est"]
    assert est["total_task_valuing"] == pytest.approx(est["indirect_task_valuing"] + est["c_task_valuing"], abs=1e-12)


# ------------------------------------------------------------------------- saved files
def test_saved_fit_refits_to_the_same_numbers(peers_fit, tmp_path):
    """Anyone can refit: spec.lavaan (every parameter, the := lines) on model_data.csv.gz gives
    estimates.csv back, SEs and the classroom-clustered SEs included."""
    save_fit(peers_fit, tmp_path, correlation_targets=["peer_learning", "social_self_efficacy"])
    spec = (tmp_path / "spec.lavaan").read_text()
    data = pd.read_csv(tmp_path / "model_data.csv.gz")
    assert "percent_mediated_social_self_efficacy := " in spec and "classroom_id" in data
    fit_syntax, _ = split_definitions(spec)
    refit = sem.fit(fit_syntax, data, cluster="classroom_id")
    saved = pd.read_csv(tmp_path / "estimates.csv")
    saved = saved[saved["op"] != ":="].reset_index(drop=True)
    assert len(saved) == len(refit.estimates)
    for col in ("est", "se", "std.all", "se.cluster"):
        np.testing.assert_allclose(saved[col], refit.estimates[col], rtol=1e-6, atol=1e-9)
    info = json.loads((tmp_path / "fit.json").read_text())
    assert info["status"] == "ok" and info["n_used"] == len(data) and info["converged"]
    assert info["fit_indices"]["df"] == refit.fit_indices["df"]
    assert info["n_clusters"] == data["classroom_id"].nunique()
    result = read_model(tmp_path)
    assert result.ok and result.n == len(data)
    assert result.std("c_social_self_efficacy")["est.std"] == pytest.approx(
        saved.set_index("label").loc["c_social_self_efficacy", "std.all"], rel=1e-8)
    assert 0.3 < result.correlation("social_self_efficacy")["est"] < 0.9
    assert "sem(model, data = data" in (tmp_path / "refit_in_lavaan.R").read_text()


def test_implied_correlation_is_the_total_correlation_of_the_latents(peers_fit):
    """Model-implied correlation of HQC and an outcome, recomputed from the implied covariance
    matrix: the total (not the partial) association, as in note h of the report."""
    from lwo.sem_results import implied_correlations

    fit = peers_fit.fit
    corr = implied_correlations(fit, "hqc", ["social_self_efficacy"]).iloc[0]
    cov = fit._model.implied(fit._theta, 0).full_cov
    names = fit._model.var_names
    i, j = names.index("hqc"), names.index("social_self_efficacy")
    assert corr["est"] == pytest.approx(cov[i, j] / np.sqrt(cov[i, i] * cov[j, j]), rel=1e-12)
    assert corr["ci.lower"] < corr["est"] < corr["ci.upper"]


# ----------------------------------------------------------------------------- failures
def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Paths(SimpleNamespace):
    """Named paths, by attribute and by items(), as snakemake.input offers them."""

    def items(self):
        return vars(self).items()


def _exhibit_sm(tmp_path, fit_dirs, exhibit):
    """A stand-in for the `snakemake` object of an exhibit script."""
    summary = tmp_path / "data_summary.json"
    tmp_path.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps({"label": "test data"}))
    out = tmp_path / "exhibit"
    output = {k: str(out / f) for k, f in (("table", "table.csv"), ("comparison", "comparison.csv"),
                                             ("meta", "meta.json"), ("png", "figure.png"))}
    inputs = _Paths(fits=[str(Path(d) / "fit.json") for d in fit_dirs], boot=[],
                    codebook=str(REPO / "config" / "codebook.yaml"),
                    published=str(REPO / "data" / "published" / "published_values.csv"),
                    summary=str(summary))
    return SimpleNamespace(input=inputs, output=output, log=[str(tmp_path / "log.txt")]), out


def _read_exhibit(out: Path):
    meta = json.loads((out / "meta.json").read_text())
    table = pd.read_csv(out / "table.csv", keep_default_na=False, na_values=[""])
    comparison = pd.read_csv(out / "comparison.csv", keep_default_na=False, na_values=[""])
    return meta, table, comparison


def test_non_convergence_is_shown_as_failed_not_as_numbers(specs, students, codebook, tmp_path):
    run = fit_model(specs["hqc_to_classroom_environment"], students, codebook, "all", max_iter=1)
    assert run.status == "failed" and "not converged" in run.message
    model_dir = tmp_path / "models" / "all" / "hqc_to_classroom_environment"
    save_fit(run, model_dir)
    info = json.loads((model_dir / "fit.json").read_text())
    assert info["status"] == "failed" and info["iterations"] == 1 and not info["converged"]
    assert pd.read_csv(model_dir / "standardized.csv").empty

    sm, out = _exhibit_sm(tmp_path, [model_dir], "12")
    _load_script("ex12_hqc_classroom_environment").main(sm)
    meta, table, comparison = _read_exhibit(out)
    assert meta["status"].startswith("failed") and "not converged" in meta["status"]
    assert len(table) == 1 and table.loc[0, "status"].startswith("failed")
    assert "std_effect" not in table.columns or table["std_effect"].isna().all()
    assert set(comparison["agrees"]) == {"not estimable"}
    assert comparison["reproduced"].isin(["not estimable"]).all() or comparison["reproduced"].isna().all()


def test_broken_spec_is_failed_with_its_message(specs, students, codebook):
    spec = specs["hqc_to_grades"]
    run = fit_model(spec, students, codebook, "all", syntax=spec.syntax + "\ncurrent_grade ~ not_a_column")
    assert run.status == "failed" and "not_a_column" in run.message
    run = fit_model(spec, students, codebook, "all", syntax=spec.syntax + "\nx := c_current_grade * no_such_label")
    assert run.status == "failed" and "no_such_label" in run.message


def test_no_black_students_is_not_estimable_everywhere(specs, students, codebook, tmp_path):
    """Real data may have no students of a group (the data contract accepts it): the fits and
    the exhibits say 'not estimable: n = 0' instead of failing the build."""
    no_black = students[students["race"] != "Black"]
    env = specs["hqc_to_classroom_environment"]
    run = fit_model(env, no_black, codebook, "Black")
    assert run.status == "not estimable" and "n = 0" in run.message
    mg = fit_multigroup(specs["hqc_mindsets_via_teacher_expectations"], no_black, codebook)
    assert mg.free.status == "not estimable" and "n = 0 Black" in mg.free.message
    assert set(mg.lr_tests["status"]) == {"not estimable"}

    dirs = {s: tmp_path / "models" / s / env.name for s in ("all", "Black")}
    save_fit(fit_model(env, no_black, codebook, "all"), dirs["all"])
    save_fit(run, dirs["Black"])
    sm, out = _exhibit_sm(tmp_path, dirs.values(), "21")
    _load_script("ex21_classroom_environment_black").main(sm)
    meta, table, comparison = _read_exhibit(out)
    assert meta["status"].startswith("not estimable: n = 0")
    black = table[table["sample"] == "Black students"]
    assert len(black) == 1 and black["n"].iloc[0] == 0 and black["status"].iloc[0].startswith("not estimable")
    assert (table["sample"] == "All students").sum() == 7
    assert comparison["agrees"].tolist() == ["not estimable"]

    mg_dir = tmp_path / "models" / "Black_vs_White" / "hqc_mindsets_via_teacher_expectations"
    save_multigroup(mg, mg_dir)
    sm, out = _exhibit_sm(tmp_path / "ex30", [mg_dir], "30")
    _load_script("ex30_black_white_teacher_expectations").main(sm)
    meta, table, comparison = _read_exhibit(out)
    assert meta["status"].startswith("not estimable") and len(table) == 1
    assert comparison["agrees"].tolist() == ["not estimable"]


def test_a_tiny_group_is_not_estimable_without_showing_its_count(specs, students, codebook):
    black = students.index[students["race"] == "Black"]
    few_black = students.drop(black[7:])
    run = fit_model(specs["hqc_to_grades"], few_black, codebook, "Black", min_cell=10)
    assert run.status == "not estimable" and "n < 10" in run.message
    assert not re.search(r"(?<![\d.])[1-9](?!\d)", run.message), run.message  # no count below 10
    mg = fit_multigroup(specs["hqc_to_grades"], few_black, codebook, min_cell=10)
    assert mg.free.status == "not estimable" and "n < 10 in a group" in mg.free.message


def test_without_the_reference_school_or_grade_another_level_is_the_reference(specs, students, codebook, peers_fit):
    """A district that surveyed grades 10-12, or only its schools 2 and 3: the dummies of the levels
    present add up to one on every row, collinear with the intercept, and every model with the
    controls had no estimate. The first dummy kept is left out instead (its level becomes the
    reference), in a multi-group model where one group lacks the level too; the note says so."""
    assert not peers_fit.data.new_references and not peers_fit.data.dropped_controls
    spec = specs["hqc_grades_via_engagement"]
    district = students[(students["grade_level"] != 9) & students["school_id"].isin([2, 3])]
    run = fit_model(spec, district, codebook, "all")
    assert run.ok, run.message
    # the export's own schools are 2 and 3: its first school is the reference of its one dummy
    assert run.data.school_dummies == ("school_3",)
    assert run.data.new_references == {"grade_10": "grade 9 in this sample"}
    assert run.data.dropped_controls == ["grade_10"]
    note = run.data.note()
    assert "school" not in note
    assert "No student of grade 9 in this sample, so grade_10 is left out and grade 10 is the reference level" in note
    # a sample of the table without its first school: the next one is the reference
    no_black_in_school_1 = students[~((students["race"] == "Black") & (students["school_id"] == 1))]
    black = fit_model(spec, no_black_in_school_1, codebook, "Black")
    assert black.ok, black.message
    assert black.data.new_references == {"school_2": "school 1 in this sample"}
    mg = fit_multigroup(specs["hqc_to_grades"], no_black_in_school_1, codebook)
    assert mg.free.ok, mg.free.message
    assert mg.free.data.new_references == {"school_2": "school 1 in the Black group"}
    assert "No student of school 1 in the Black group, so school_2 is left out" in mg.free.data.note()


def test_a_districts_own_school_ids_give_the_same_fit(specs, students, codebook):
    """A district numbers its schools its own way, and may have more than four: the models' school
    dummies are those of its ids (the lowest the reference), in the fitted syntax and its data.
    Renaming the schools, in an order that makes another school the reference, reparametrizes the
    school effects only: every other estimate, its SE and the chi-square are those of the study's
    ids."""
    spec = specs["hqc_grades_via_engagement"]
    renamed = students.assign(school_id=students["school_id"].map({1: 40, 2: 11, 3: 25, 4: 37}))
    study, own = fit_model(spec, students, codebook, "all"), fit_model(spec, renamed, codebook, "all")
    assert study.ok and own.ok, (study.message, own.message)
    assert own.data.school_dummies == ("school_25", "school_37", "school_40")
    assert "school_25 + school_37 + school_40 + ela" in own.syntax and "school_2 " not in own.syntax
    assert {"school_25", "school_37", "school_40"} <= set(own.data.data.columns)

    def others(run):
        est = run.estimates
        return est[~est["rhs"].str.startswith("school_") & ~est["lhs"].str.startswith("school_")].reset_index(drop=True)

    a, b = others(study), others(own)
    assert a[["lhs", "op", "rhs"]].equals(b[["lhs", "op", "rhs"]])
    free = a["se"] > 0
    assert np.allclose(a.loc[free, "est"], b.loc[free, "est"], atol=1e-5)
    assert np.allclose(a.loc[free, "se"], b.loc[free, "se"], rtol=1e-4)
    assert own.fit.fit_indices["chisq"] == pytest.approx(study.fit.fit_indices["chisq"], rel=1e-6)
    # one school split in two: a fifth school, its own dummy
    first_rooms = sorted(renamed.loc[renamed["school_id"] == 11, "classroom_id"].unique())[:2]
    five = renamed.assign(school_id=renamed["school_id"].where(~renamed["classroom_id"].isin(first_rooms), 12))
    run = fit_model(spec, five, codebook, "all")
    assert run.ok, run.message
    assert run.data.school_dummies == ("school_12", "school_25", "school_37", "school_40")


def test_classes_in_another_subject_get_a_dummy_of_their_own(specs, students, codebook):
    """A district that surveyed classes in other subjects too: 'other' gets a dummy of its own
    beside ela (mathematics the reference of both), no student is lost, and an export without
    mathematics classes makes ELA the reference instead of leaving the dummies collinear."""
    spec = specs["hqc_to_grades"]
    rooms = sorted(students.loc[students["subject"] == "math", "classroom_id"].unique())[:3]
    other = students.assign(subject=students["subject"].astype(object))
    other.loc[other["classroom_id"].isin(rooms) & other["subject"].notna(), "subject"] = "other"
    run = fit_model(spec, other, codebook, "all")
    base = fit_model(spec, students, codebook, "all")
    assert run.ok and base.ok, (run.message, base.message)
    assert run.data.dummies["subject"] == ("ela", "other_subject")
    assert "ela + other_subject + grade_10" in run.syntax
    assert len(run.data.data) == len(base.data.data)
    data = run.data.data
    assert data["other_subject"].sum() >= 20 and (data.loc[data["other_subject"] == 1, "ela"] == 0).all()
    est = run.estimates
    assert ((est["op"] == "~") & (est["rhs"] == "other_subject")).sum() == 2  # on HQC and on the grade
    no_math = fit_model(spec, other[other["subject"] != "math"], codebook, "all")
    assert no_math.ok, no_math.message
    assert no_math.data.new_references == {"ela": "mathematics in this sample"}
    assert "other_subject" in no_math.syntax and " ela " not in no_math.syntax
    assert "so ela is left out and ela is the reference level" in no_math.data.note()


def test_a_nonbinary_gender_gets_a_dummy_of_its_own(specs, students, codebook):
    """Records with a third gender: nonbinary gets a dummy of its own beside female (male the
    reference of both) in the fitted syntax and data, instead of being refused or read as male.
    A sample without such a student leaves the dummy out as constant."""
    spec = specs["hqc_to_grades"]
    white = students.index[(students["surveyed"] == 1) & (students["race"] == "White")]
    three = students.assign(gender=students["gender"].astype(object))
    three.loc[white[:12], "gender"] = "nonbinary"
    run = fit_model(spec, three, codebook, "all")
    assert run.ok, run.message
    assert run.data.dummies["gender"] == ("female", "nonbinary")
    assert "female + nonbinary + ell" in run.syntax
    data = run.data.data
    assert data["nonbinary"].sum() >= 10 and (data.loc[data["nonbinary"] == 1, "female"] == 0).all()
    est = run.estimates
    assert ((est["op"] == "~") & (est["rhs"] == "nonbinary")).sum() == 2  # on HQC and on the grade
    black = fit_model(spec, three, codebook, "Black")
    assert black.ok and black.data.dropped_controls == ["nonbinary"]
    assert "Constant in this sample, so left out: nonbinary" in black.data.note()


def test_controls_not_recorded_are_integrated_over_by_fiml_and_counted_by_listwise(specs, students, codebook):
    """Records without gender, grade level, ELL or special education (a district's export): FIML
    keeps those students (lavaan ml.x integrates over the controls), listwise leaves them out as
    'a control not recorded', and a grade level not recorded is missing in the grade dummies, not
    grade 9 (the reference)."""
    spec = specs["hqc_to_grades"]
    surveyed = students.index[students["surveyed"] == 1]
    holes = students.copy()
    holes.loc[surveyed[:5], "gender"] = np.nan
    holes.loc[surveyed[5:8], "grade_level"] = np.nan
    holes.loc[surveyed[8:12], "ell"] = np.nan
    fiml = fit_model(spec, holes, codebook, "all", estimation={"missing": "fiml", "estimator": "ML", "cluster": None})
    complete = fit_model(spec, students, codebook, "all", estimation={"missing": "fiml", "estimator": "ML",
                                                                      "cluster": None})
    assert fiml.ok and complete.ok, (fiml.message, complete.message)
    assert fiml.fit.n_used["total"] == complete.fit.n_used["total"]
    # the note counts the blank controls apart from the unanswered items, which they leave unchanged
    unanswered = re.compile(r"(\d+) with unanswered items kept(?:, (\d+) more with a control)?")
    (items, records), (items_before, records_before) = (
        unanswered.search(run.data.note()).groups(default="0") for run in (fiml, complete))
    assert items == items_before and int(records) > int(records_before)
    grades = fiml.data.data[["grade_10", "grade_11", "grade_12"]]
    assert grades.isna().all(axis=1).sum() == 3 and grades.isna().any(axis=1).sum() == 3
    listwise = fit_model(spec, holes, codebook, "all")
    base = fit_model(spec, students, codebook, "all")
    assert listwise.ok
    assert listwise.data.exclusions["a control not recorded"] == 12
    assert len(listwise.data.data) == len(base.data.data) - 12
    assert "12 excluded: a control not recorded" in listwise.data.note()


def test_a_control_no_student_has_is_left_out_and_said_so(specs, students, codebook):
    """An export without prior grades: the grade models go without that control, and say why
    (not 'constant')."""
    run = fit_model(specs["hqc_to_grades"], students.assign(prior_grade=np.nan), codebook, "all")
    assert run.ok, run.message
    assert run.data.dropped_controls == ["prior_grade"]
    assert run.data.note().endswith(". No student of this sample has a value, so left out: prior_grade")
    assert "Constant" not in run.data.note()


def test_an_outcome_no_student_has_data_on_is_left_out_and_its_rows_say_why(specs, students, codebook, tmp_path):
    """An export without absences (attendance lives elsewhere), a survey without the task-valuing
    scale: the models fit their other outcomes, not none; the exhibit's row of the outcome and
    the comparisons that need it say why it has no estimate, and the Black-White test of the
    teacher-expectation paths to three outcomes, one of them missing, is not made."""
    no_absences = students.assign(absences=np.nan)
    run = fit_model(specs["hqc_to_mindsets"], no_absences, codebook, "all")
    assert run.ok, run.message
    why = "no student of this sample has a value of absences, so it is left out of the model"
    assert run.left_out == {"absences": why}
    labels = set(standardized_solution(run.fit)["label"])
    assert "c_absences" not in labels and "c_social_self_efficacy" in labels
    dirs = {m: tmp_path / "models" / "all" / m for m in ("hqc_to_mindsets", "hqc_to_grades")}
    save_fit(run, dirs["hqc_to_mindsets"], correlation_targets=list(specs["hqc_to_mindsets"].outcomes))
    save_fit(fit_model(specs["hqc_to_grades"], no_absences, codebook, "all"), dirs["hqc_to_grades"])
    assert json.loads((dirs["hqc_to_mindsets"] / "fit.json").read_text())["outcomes_left_out"] == {"absences": why}
    sm, out = _exhibit_sm(tmp_path, dirs.values(), "13")
    _load_script("ex13_hqc_mindsets_grades").main(sm)
    meta, table, comparison = _read_exhibit(out)
    assert meta["status"] == "ok"
    rows = table.set_index("outcome")
    assert rows.loc["absences", "status"] == f"not estimable: {why}" and pd.isna(rows.loc["absences", "n"])
    assert (rows.drop(index="absences")["status"] == "ok").all() and len(rows) == 8
    absences = comparison.set_index("key").loc["std_effect:absences:all"]
    assert absences["agrees"] == "not estimable" and absences["basis"].endswith(why)

    no_task_valuing = students.copy()
    no_task_valuing[list(codebook.item_ids("task_valuing"))] = np.nan
    mg = fit_multigroup(specs["hqc_mindsets_via_teacher_expectations"], no_task_valuing, codebook)
    assert mg.free.ok, mg.free.message
    assert mg.free.left_out == {"task_valuing": "no Black student has an answer to an item of task_valuing, so it "
                                                "is left out of the model"}
    assert not any("task_valuing" in t for t in mg.tests) and (mg.lr_tests["status"] == "ok").all()
    mg_dir = tmp_path / "models" / "Black_vs_White" / "hqc_mindsets_via_teacher_expectations"
    save_multigroup(mg, mg_dir, correlation_targets=["teacher_expectations", *codebook.constructs_in_block("mindset")])
    sm, out = _exhibit_sm(tmp_path / "ex30", [mg_dir], "30")
    _load_script("ex30_black_white_teacher_expectations").main(sm)
    meta, table, comparison = _read_exhibit(out)
    assert meta["status"] == "ok" and (table["status"] == "ok").sum() == 10  # 5 mind-sets x 2 groups
    assert comparison["agrees"].tolist() == ["not estimable"] and "task_valuing" in comparison["basis"].iloc[0]


# ---------------------------------------------------------------------------- bootstrap
def test_bootstrap_batches_are_reproducible_and_independent(specs, students, codebook):
    run = fit_model(specs["hqc_grades_via_engagement"], students, codebook, "all")
    data = frame_with_clusters(run.data)
    a = bootstrap_draws(run.spec_full, data, seed=bootstrap_seed(7, run.model, "all", 0), n_resamples=2)
    b = bootstrap_draws(run.spec_full, data, seed=bootstrap_seed(7, run.model, "all", 0), n_resamples=2)
    c = bootstrap_draws(run.spec_full, data, seed=bootstrap_seed(7, run.model, "all", 1), n_resamples=2)
    pd.testing.assert_frame_equal(a, b)
    pick = lambda d: d.set_index(["resample", "parameter"])["est"]  # noqa: E731
    assert not np.allclose(pick(a).to_numpy(), pick(c).to_numpy())
    assert {"indirect_current_grade", "percent_mediated_current_grade", "c_current_grade"} <= set(a["parameter"])
    assert bootstrap_seed(7, "m", "all", 0).entropy == bootstrap_seed(7, "m", "all", 0).entropy
    with pytest.raises(ValueError, match="cluster column"):
        bootstrap_draws(run.spec_full, run.data.data, seed=bootstrap_seed(7, run.model, "all", 0), n_resamples=1)


def test_bootstrap_resamples_whole_classrooms(specs, students, codebook, monkeypatch):
    """Each resample is made of whole classrooms: every drawn classroom brings all its students,
    and as many classrooms are drawn as the data have."""
    import lwo.sem_results as sr

    run = fit_model(specs["hqc_to_grades"], students, codebook, "all")
    data = frame_with_clusters(run.data)
    sizes = data[CLUSTER].value_counts()
    seen = []

    def fake_fit(syntax, resample, **kwargs):
        seen.append(resample)
        raise ValueError("not fitted in this test")

    monkeypatch.setattr(sr.sem, "fit", fake_fit)
    draws = bootstrap_draws(run.spec_full, data, seed=bootstrap_seed(7, run.model, "all", 0), n_resamples=5)
    assert len(seen) == 5 and not draws["converged"].any()
    for resample in seen:
        counts = resample[CLUSTER].value_counts()
        copies = counts / sizes.reindex(counts.index)
        assert (copies == copies.round()).all(), "a classroom was split"
        assert copies.sum() == len(sizes), "as many classrooms drawn as there are"
    assert any(len(r) != len(data) for r in seen), "classrooms differ in size, so resample sizes vary"


def test_a_bootstrap_resample_without_an_unrestricted_model_still_gives_estimates():
    """24 students in 6 classrooms, 13 variables, a tenth of the answers blank: a resample repeats
    the students of a classroom drawn twice, so its unrestricted (h1) model has no estimate. The
    model has (as the saved fit of such data has: sem.fit's without_h1), and only its estimates
    are kept: every resample counts. (Before, every one failed, and a small district's CIs rested
    on the few resamples that happened to draw most classrooms once.)"""
    rng = np.random.default_rng(3)
    n = 24
    f = rng.normal(size=n)
    x = 0.5 * f + rng.normal(size=n)
    Y = 0.8 * f[:, None] + rng.normal(scale=0.6, size=(n, 12))
    Y[rng.random(Y.shape) < 0.1] = np.nan
    data = pd.DataFrame(Y, columns=[f"y{i}" for i in range(1, 13)]).assign(x=x, **{CLUSTER: np.arange(n) % 6})
    spec = "f =~ " + " + ".join(f"y{i}" for i in range(1, 13)) + "\nf ~ c1*x"
    draws = bootstrap_draws(spec, data, seed=bootstrap_seed(7, "few", "all", 0), n_resamples=10,
                            estimation={"missing": "fiml"})
    assert draws["converged"].all(), draws.loc[~draws["converged"], "message"].iloc[0]
    assert bootstrap_summary(draws).set_index("parameter").loc["c1", "n_used"] == 10
    # where resamples do fail, the exhibits' notes say how many, and that the CIs rest on the others
    from lwo.saved_fits import ModelResult
    from lwo.sem_exhibits import model_notes

    failed = pd.concat([draws, pd.DataFrame([{"resample": 10, "converged": False, "message": "a reason"}])])
    result = ModelResult("few", "all", {"status": "failed", "message": "m"}, pd.DataFrame(), pd.DataFrame(),
                         pd.DataFrame(), bootstrap=bootstrap_summary(failed))
    assert ("Bootstrap of few (all): 1 of 11 resamples gave no estimates (why: results/models/all/few/bootstrap/); "
            "its CIs rest on the other 10") in " ".join(model_notes([result], bootstrap=True))


@pytest.mark.slow
def test_delta_method_se_of_an_indirect_effect_matches_the_bootstrap(population_model, codebook, population):
    """(c) On the same data, the classroom-clustered delta-method SE of the indirect effect (raw
    and std.all) agrees with the SD of the bootstrap estimates (the pipeline's bootstrap code,
    which resamples classrooms: both account for students sharing a classroom). With B = 400
    resamples the bootstrap SD itself has about 4% Monte Carlo error; 15% allows for that and
    for the delta method's first-order approximation at N = 2,000."""
    from lwo.synthetic import generate_cohort

    students = generate_cohort(population_model, codebook, seed=99, population=population, n_students=2000)["students"]
    spec = rq1_models(codebook)["hqc_grades_via_engagement"]
    run = fit_model(spec, students, codebook, "all")
    assert run.ok
    draws = bootstrap_draws(run.spec_full, frame_with_clusters(run.data), seed=bootstrap_seed(1, spec.name, "all", 0),
                            n_resamples=400)
    boot = bootstrap_summary(draws).set_index("parameter")
    # with 30 classrooms, a resample that draws few of a school's or grade's classrooms can make
    # the classroom-level controls collinear: such a resample is counted as failed, never used
    assert boot.loc["indirect_current_grade", "n_failed"] <= 0.01 * 400
    assert boot.loc["indirect_current_grade", "n_used"] + boot.loc["indirect_current_grade", "n_failed"] == 400
    est = run.estimates.set_index("label")
    std = standardized_solution(run.fit, run.definitions).set_index("label")
    for name in ("indirect_current_grade", "c_current_grade"):
        assert est.loc[name, "se.cluster"] == pytest.approx(boot.loc[name, "boot.se"], rel=0.15), name
        assert std.loc[name, "se.cluster"] == pytest.approx(boot.loc[name, "std.boot.se"], rel=0.15), name
        lo, hi = boot.loc[name, "std.boot.ci.lower"], boot.loc[name, "std.boot.ci.upper"]
        assert lo < std.loc[name, "est.std"] < hi


# ---------------------------------------------------------------------------- workflow
@pytest.fixture(scope="module")
def built_workflow(default_build):
    """The session's default build (tests/workflow_build.py): it has every RQ1 exhibit."""
    return default_build


@pytest.mark.slow
def test_workflow_builds_every_exhibit_with_its_published_values(built_workflow):
    published = pd.read_csv(REPO / "data" / "published" / "published_values.csv", dtype=str)
    for exhibit in RQ1_EXHIBITS:
        d = built_workflow / "results" / "exhibits" / exhibit
        meta, table, comparison = _read_exhibit(d)
        assert meta["status"] == "ok", (exhibit, meta["status"])
        assert meta["section"].startswith("RQ1")
        assert (d / "figure.png").stat().st_size > 1000
        keys = set(published.loc[published["exhibit"] == exhibit, "key"])
        assert set(comparison["key"]) == keys, exhibit
        # no student-level rows in an exhibit
        assert "student_id" not in table.columns and len(table) < 40
        for col in [c for c in table.columns if c.startswith("p_") or c == "p"]:
            assert table[col].dropna().between(0, 1).all()
    for model in ("hqc_to_grades", "hqc_mindsets_via_personalization"):
        d = built_workflow / "results" / "models" / "all" / model
        for name in ("spec.lavaan", "model_data.csv.gz", "estimates.csv", "standardized.csv", "fit.json",
                     "refit_in_lavaan.R"):
            assert (d / name).exists(), (model, name)
        est = pd.read_csv(d / "estimates.csv")
        assert {"lhs", "op", "rhs", "est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.all",
                "se.cluster"} <= set(est.columns)


@pytest.mark.slow
def test_workflow_bootstrap_adds_percentile_cis(built_workflow, tmp_path):
    built_workflow = clone_build(built_workflow, tmp_path / "bootstrap")  # the session build stays as built
    extra = built_workflow / "bootstrap.yaml"
    extra.write_text(yaml.safe_dump({"bootstrap": {"enabled": True, "resamples": 20, "batch_size": 10, "seed": 7}}))
    # targets first: --configfile takes every following argument as a config file
    result = snakemake(built_workflow, "results/exhibits/19/meta.json", "--cores", "2", "--configfile",
                       "config/config.yaml", str(extra), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    batches = sorted((built_workflow / "results/models/all/hqc_mindsets_via_learning_from_peers/bootstrap").glob("*.csv"))
    assert [b.name for b in batches] == ["batch_0.csv", "batch_1.csv"]
    _, table, comparison = _read_exhibit(built_workflow / "results" / "exhibits" / "19")
    assert table["share_boot_ci_lower"].notna().all() and (table["bootstrap_resamples"] <= 20).all()
    assert "bootstrap" in comparison.loc[0, "basis"]


def test_a_share_whose_ci_is_wider_than_a_share_spans_says_its_agreement_says_little():
    """A published share inside a delta-method CI of width >= 1 (Exhibit 23's Black students: about
    -0.06 to 1.20) agrees whatever share was published; the comparison's basis says so. A narrower
    CI gives the plain basis, and a share outside its CI disagrees either way."""
    from lwo.sem_exhibits import compare_share

    pub = pd.Series({"exhibit": "23", "key": "percent_mediated:x", "statement": "share", "value": 1.0})
    wide = compare_share(pub, {"share_mediated": 0.57, "share_ci_lower": -0.06, "share_ci_upper": 1.20})
    narrow = compare_share(pub, {"share_mediated": 0.68, "share_ci_lower": 0.53, "share_ci_upper": 0.83})
    assert wide["agrees"] == "yes" and wide["basis"].endswith("so agreement says little")
    assert narrow["agrees"] == "no" and "says little" not in narrow["basis"]
