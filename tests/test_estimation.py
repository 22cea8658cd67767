"""The config `estimation` block in the RQ1 fits (issue 11): FIML keeps every surveyed student
with an answered item, MLR with classroom clusters, the equality tests that fit the estimator,
the lavaan call in every saved fit; a default build and a messy district export.

Slow tests read the session's default build (`default_build`) or build a copy of their own."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lwo import sem
from lwo.model_data import model_ready
from lwo.sem_results import estimation_text, fit_info, fit_model, fit_multigroup, save_fit
from lwo.specs import CONTROLS, GRADE_CONTROLS, MULTIGROUP_SAMPLE, rq1_models

FIML_MLR = {"missing": "fiml", "estimator": "MLR", "cluster": "classroom_id"}
# the students-table columns behind each control of lwo.specs (a control is missing when its column is)
CONTROL_COLUMNS = {"school_2": "school_id", "school_3": "school_id", "school_4": "school_id", "ela": "subject",
                   "grade_10": "grade_level", "grade_11": "grade_level", "grade_12": "grade_level",
                   "female": "gender", "ell": "ell", "special_education": "special_education",
                   "prior_grade": "prior_grade"}


@pytest.fixture(scope="module")
def specs(codebook):
    return rq1_models(codebook)


@pytest.fixture(scope="module")
def holey(cohort, codebook):
    """The cohort's students with 20% of item answers blank and a few prior grades missing."""
    rng = np.random.default_rng(11)
    students = cohort["students"].copy()
    items = [i.id for i in codebook.all_items()]
    answers = students[items].astype(float)
    students[items] = answers.mask(rng.random(answers.shape) < 0.20)
    students.loc[students.sample(15, random_state=3).index, "prior_grade"] = np.nan
    return students


def _model_answer_items(spec, codebook) -> list[str]:
    """The raw survey items behind a model's observed variables (parcels -> their subscale's items)."""
    items = []
    for v in spec.observed:
        if v.startswith("p_"):
            items += codebook.item_ids(v[2:])
        elif v not in ("current_grade", "absences"):
            items.append(v)
    return items


def expected_n(students: pd.DataFrame, codebook, spec, races=None, fixed_x=False) -> int:
    """Surveyed students of the races with at least one answered item (or observed grade outcome)
    in the model (with `fixed_x`, lavaan's missing = "ml", also every control recorded): counted
    from the students table, not the model data."""
    s = students[students["surveyed"] == 1]
    s = s if races is None else s[s["race"].isin(races)]
    answers = _model_answer_items(spec, codebook) + [o for o in ("current_grade", "absences") if o in spec.observed]
    controls = sorted({CONTROL_COLUMNS[c] for c in spec.controls})
    keep = s[answers].notna().any(axis=1)
    return int((keep & s[controls].notna().all(axis=1)).sum() if fixed_x else keep.sum())


# ------------------------------------------------------------------ fast: no build
def test_fiml_data_keep_every_student_with_an_answer_and_their_holes(holey, codebook, specs):
    spec = specs["hqc_to_grades"]
    md = model_ready(holey, codebook, spec, "all", missing="fiml")
    assert len(md.data) == expected_n(holey, codebook, spec)
    assert md.data.drop(columns=["race"], errors="ignore").isna().any(axis=1).mean() > 0.1  # holes kept as NaN
    surveyed = holey[holey["surveyed"] == 1]
    assert md.data["prior_grade"].isna().sum() == surveyed["prior_grade"].isna().sum() > 5  # kept (ml.x)
    assert "full-information ML" in md.note()
    fixed_x = model_ready(holey, codebook, spec, "all", missing="fiml_fixed_x")
    lost = len(md.data) - len(fixed_x.data)
    assert len(fixed_x.data) == expected_n(holey, codebook, spec, fixed_x=True) and lost > 5
    assert fixed_x.exclusions['a control missing (listwise on covariates, as lavaan missing = "ml")'] == lost
    listwise = model_ready(holey, codebook, spec, "all", missing="listwise")
    assert len(listwise.data) < 0.9 * len(md.data) and not listwise.data.isna().any().any()


def test_a_fiml_mlr_fit_saves_its_lavaan_call_and_estimation(holey, codebook, specs, tmp_path):
    spec = specs["hqc_to_grades"]
    run = fit_model(spec, holey, codebook, "Black", estimation=FIML_MLR)
    assert run.ok, run.message
    save_fit(run, tmp_path, correlation_targets=list(spec.outcomes))
    info = json.loads((tmp_path / "fit.json").read_text())
    assert (info["estimator"], info["missing"], info["cluster"]) == ("MLR", "fiml", "classroom_id")
    assert info["n_used"] == run.fit.n_used["total"] == expected_n(holey, codebook, spec, ["Black"])
    assert info["n_surveyed"] == int(((holey["surveyed"] == 1) & (holey["race"] == "Black")).sum())
    assert info["fit_indices"]["chisq.scaled"] > 0 and "rmsea.robust" in info["fit_indices"]
    call = run.fit.lavaan_call()
    assert 'estimator = "MLR", missing = "ml.x", cluster = "classroom_id"' in call
    assert call in (tmp_path / "spec.lavaan").read_text().splitlines()[1]
    assert f"fit <- {call}" in (tmp_path / "refit_in_lavaan.R").read_text()
    est = pd.read_csv(tmp_path / "estimates.csv")
    assert np.allclose(est["se"], est["se.cluster"], equal_nan=True)  # MLR + cluster: se is the clustered one


def test_equality_tests_give_wald_and_scaled_lr_with_wald_as_verdict(holey, codebook, specs):
    mg = fit_multigroup(specs["hqc_to_grades"], holey, codebook, estimation=FIML_MLR)
    assert mg.free.ok, mg.free.message
    t = mg.lr_tests.iloc[0]
    # clustered: the adjusted Wald F decides, on (1, classrooms - 1) df, more cautious than the chi-square
    assert t["verdict_test"] == "Wald" and t["pvalue"] == t["wald_f_pvalue"] > t["wald_pvalue"]
    assert t["wald_f_df2"] == fit_info(mg.free)["n_clusters"] - 1
    assert t["lr_method"] == "satorra.bentler.2001" and t["scaling_factor"] > 0
    assert 0 < t["wald_pvalue"] < 1 and 0 < t["lr_pvalue"] < 1
    # without clusters, the (scaled) likelihood-ratio test is the verdict
    mg = fit_multigroup(specs["hqc_to_grades"], holey, codebook, estimation={**FIML_MLR, "cluster": "none"})
    t = mg.lr_tests.iloc[0]
    assert t["verdict_test"] == "LR" and t["pvalue"] == t["lr_pvalue"]


def test_without_clusters_the_wald_test_decides_where_the_lr_test_is_not_available(cohort, codebook, specs):
    """70 students, no clusters: the scaled difference's scaling factor is negative, so the
    likelihood-ratio test has no p-value (lavaan's is NaN too). The verdict falls back to the Wald
    test, the row says why, and the exhibit's note does not call that Wald test cluster-robust."""
    from lwo.saved_fits import ModelResult
    from lwo.sem_exhibits import lr_test_notes

    students = cohort["students"]
    sample = students[students["surveyed"] == 1].sample(70, random_state=2)
    mg = fit_multigroup(specs["hqc_to_grades"], sample, codebook, estimation={**FIML_MLR, "cluster": "none"})
    t = mg.lr_tests.iloc[0]
    assert np.isnan(t["lr_pvalue"]) and t["verdict_test"] == "Wald" and t["pvalue"] == t["wald_pvalue"]
    assert pd.isna(t["wald_f"])  # no clusters: the chi-square reference
    assert t["message"].startswith("likelihood-ratio test not available: the scaled difference's scaling factor")
    result = ModelResult(mg.free.model, mg.free.sample, fit_info(mg.free), pd.DataFrame(), pd.DataFrame(),
                         pd.DataFrame(), lr_tests=mg.lr_tests)
    notes = " ".join(lr_test_notes(result))
    assert "where the likelihood-ratio test is not available" in notes and "cluster-robust" not in notes
    # nor does the estimation note claim clustered SEs it does not have
    from lwo.sem_exhibits import estimation_notes

    estimation = " ".join(estimation_notes([result]))
    assert "*_cluster columns: empty" in estimation and "robust to clustering" not in estimation


def test_with_four_clusters_a_wald_test_of_seven_paths_gives_way_to_the_lr_test(holey, codebook, specs):
    """Clustered by school (estimation.cluster: school_id, four schools): the cluster-robust
    covariance has three directions, so the Wald test of HQC's seven paths has no value. The
    scaled LR test decides that row, the row says why, the one-path rows keep the Wald verdict,
    and the exhibit's notes name the cluster column and each row's verdict test."""
    from lwo.saved_fits import ModelResult
    from lwo.sem_exhibits import lr_test_notes

    mg = fit_multigroup(specs["hqc_to_mindsets"], holey, codebook, estimation={**FIML_MLR, "cluster": "school_id"})
    assert mg.free.ok, mg.free.message
    tests = mg.lr_tests.set_index("n_paths")
    wide, narrow = tests.loc[[7]].iloc[0], tests.loc[[1]]
    assert np.isnan(wide["wald_chisq"]) and wide["verdict_test"] == "LR" and wide["pvalue"] == wide["lr_pvalue"]
    assert wide["message"].startswith("Wald test not available: 7 constraints, but the cluster-robust covariance "
                                      "has at most 3 independent directions (4 clusters")
    assert (narrow["verdict_test"] == "Wald").all() and narrow["pvalue"].equals(narrow["wald_f_pvalue"])
    result = ModelResult(mg.free.model, mg.free.sample, fit_info(mg.free), pd.DataFrame(), pd.DataFrame(),
                         pd.DataFrame(), lr_tests=mg.lr_tests)
    notes = lr_test_notes(result)
    assert "one school_id one cluster across both groups" in notes[0]
    assert sum(n.endswith("verdict: the likelihood-ratio test)") for n in notes) == 1
    assert sum(n.endswith("(verdict: the Wald test)") for n in notes) == len(narrow)
    # and every SEM exhibit's estimation notes say that four clusters are few; the study's 30 classrooms are not
    from lwo.exhibit import FEW_CLUSTERS
    from lwo.sem_exhibits import estimation_notes

    assert any(n.startswith("Few clusters: 4 clusters (school_id). With fewer than about 20,")
               for n in estimation_notes([result]))
    assert "are robust to clustering by school_id (MLR sandwich); the *_cluster columns repeat them." \
        in " ".join(estimation_notes([result]))
    result.info.update(cluster="classroom_id", n_clusters=30)
    assert FEW_CLUSTERS <= 30 and not any(n.startswith("Few clusters") for n in estimation_notes([result]))


def test_with_ml_and_clusters_the_wald_verdict_uses_the_cluster_robust_covariance(holey, codebook, specs):
    """ML with a cluster keeps normal-theory SEs in `vcov` and the crossed-cluster sandwich
    beside them: the Wald verdict (clustered, so Wald) is the sandwich's, as its text says.
    One path: chi-square = (b_B - b_W)^2 / (var_B + var_W - 2 cov) from the sandwich."""
    from lwo.specs import group_label

    mg = fit_multigroup(specs["hqc_to_grades"], holey, codebook,
                        estimation={"missing": "listwise", "estimator": "ML", "cluster": "classroom_id"})
    assert mg.free.ok, mg.free.message
    t = mg.lr_tests.iloc[0]
    assert t["verdict_test"] == "Wald" and t["n_paths"] == 1
    assert "normal-theory SEs" in estimation_text(mg.free) and "cluster-robust SEs by classroom_id beside" in \
        estimation_text(mg.free)
    fit = mg.free.fit
    est = fit.estimates.set_index("label")["est"]
    names = [group_label(t["paths"], g) for g in ("Black", "White")]
    idx = [fit.partable.label_index[n] for n in names]
    for vcov, check in ((fit.vcov_cluster.to_numpy(), t["wald_chisq"]), (fit.vcov.to_numpy(), None)):
        var = vcov[idx[0], idx[0]] + vcov[idx[1], idx[1]] - 2 * vcov[idx[0], idx[1]]
        chisq = (est[names[0]] - est[names[1]]) ** 2 / var
        if check is not None:
            assert check == pytest.approx(chisq, rel=1e-8)
        else:  # the normal-theory covariance gives another statistic
            assert abs(chisq - t["wald_chisq"]) > 0.01 * t["wald_chisq"]


def test_items_no_student_answered_together_make_a_not_estimable_fit(holey, codebook, specs):
    """An export from two survey forms (each student asked one of two items): the fit is "not
    estimable" and says which items, not that the sample is too small. With one student who
    answered both, the model is estimated (its factor gives the pair's covariance) but the
    unrestricted model is not: no chi-square, and the note names the pair, not that student count."""
    spec = specs["hqc_grades_via_engagement"]
    first, second = "ms_ee1", "ms_ee2"
    students = holey.copy()
    form_a = np.arange(len(students)) % 2 == 0
    students.loc[form_a, first] = np.nan
    students.loc[~form_a, second] = np.nan
    run = fit_model(spec, students, codebook, "all", estimation=FIML_MLR)
    assert run.status == "not estimable"
    assert run.message.endswith(f"never observed together (zero coverage: their covariance is not identified): "
                                f"{first} & {second}"), run.message
    both = students.index[form_a & students[second].notna() & (students["surveyed"] == 1)][0]
    students.loc[both, first] = 3.0
    run = fit_model(spec, students, codebook, "all", estimation=FIML_MLR)
    assert run.status == "ok", run.message
    info = fit_info(run)
    assert info["fit_indices"]["chisq"] is None and info["n_used"] == info["n_surveyed"]
    assert info["fit_note"].startswith("no unrestricted (h1) model, so no chi-square")
    assert f"observed together least: {first} & {second} (n < 10 of n = " in info["fit_note"], info["fit_note"]
    assert not [w for w in info["warnings"] if "unrestricted" in w]  # said once, in the note
    assert 'estimator = "ML"' in info["lavaan_call"] and 'se = "robust.cluster", test = "standard"' in info["lavaan_call"]


def test_a_model_that_does_not_converge_on_fewer_students_than_variables_is_not_estimable(cohort, codebook, specs):
    """FIML takes a sample with fewer students than variables (no unrestricted model: see
    tests/test_sem_fiml.py); where the model then does not converge, that is the sample's doing:
    "not estimable: too few students", not "failed"."""
    students = cohort["students"]
    sample = students[students["surveyed"] == 1].sample(20, random_state=1)
    run = fit_model(specs["hqc_grades_via_engagement"], sample, codebook, "all", estimation=FIML_MLR)
    assert run.status == "not estimable", run.message
    assert run.message.startswith("not estimable: hqc_grades_via_engagement (all): too few students with an "
                                  "answered item (n = 20) for this model (the information matrix is singular")


def test_a_model_that_does_not_converge_on_fewer_students_than_parameters_is_not_estimable(cohort, codebook, specs):
    """A district's one school: 50 Black students of a 120-student export with 15% of the answers
    blank, for a model of 190 free parameters. More students than variables, so FIML fits it;
    it does not converge, and the message blames the sample, not the model ("not identified")."""
    from lwo.example import district_export

    export = district_export(cohort, codebook, seed=3, schools=[2], n_students=120, blank_share=0.15,
                             keep=("students",))
    # 200 iterations, not the build's 1000: it does not converge either way, and the test is quicker
    run = fit_model(specs["hqc_grades_via_mindsets"], export["students"], codebook, "Black", estimation=FIML_MLR,
                    max_iter=200)
    assert run.status == "not estimable", run.message
    assert run.message.startswith("not estimable: hqc_grades_via_mindsets (Black): too few students with an "
                                  "answered item (n = 50) for this model, fewer than its 190 free parameters ("), \
        run.message


def test_a_scale_score_that_is_the_sum_of_items_is_named_not_too_few_students(holey, codebook, specs):
    """An export whose item is the sum of two others: "not estimable" names the variables; it
    does not blame the sample size (869 students)."""
    spec = specs["hqc_grades_via_engagement"]
    students = holey.copy()
    students["ms_ee3"] = students["ms_ee1"] + students["ms_ee2"]
    run = fit_model(spec, students, codebook, "all", estimation=FIML_MLR)
    assert run.status == "not estimable"
    assert "collinear model variables: ms_ee1, ms_ee2, ms_ee3 (one is a linear combination" in run.message, run.message
    assert "too few" not in run.message


# ------------------------------------------------------------------ slow: the default build
def _fits(repo: Path):
    return sorted((repo / "results/models").glob("*/*/fit.json"))


@pytest.mark.slow
def test_default_build_fits_every_surveyed_student_with_an_answer(default_build, codebook):
    students = pd.read_csv(default_build / "results/data/analysis/students.csv")
    specs = rq1_models(codebook)
    checked = 0
    for f in _fits(default_build):
        info = json.loads(f.read_text())
        if info["model"] not in specs or not specs[info["model"]].outcomes:
            continue  # the measurement CFAs (rule measurement_cfa) are not RQ1 fits
        races = ["Black", "White"] if info["sample"] == MULTIGROUP_SAMPLE else (
            None if info["sample"] == "all" else [info["sample"]])
        assert (info["estimator"], info["missing"], info["cluster"]) == ("MLR", "fiml", "classroom_id"), f
        assert info["n_used"] == expected_n(students, codebook, specs[info["model"]], races), f
        checked += 1
    assert checked == 38  # 33 single-sample fits and 5 multi-group fits (workflow/rules/rq1_models.smk)


@pytest.mark.slow
def test_default_build_exhibits_say_fiml_mlr_clustered_by_classroom(default_build):
    for n in range(12, 32):
        if n in (14, 20, 28):  # diagrams and the OLS exhibit: no SEM fit of their own
            continue
        meta = json.dumps(json.loads((default_build / f"results/exhibits/{n}/meta.json").read_text()))
        assert "MLR" in meta and "full-information ML" in meta and "clustering by classroom_id" in meta, n
        assert "N used = " in meta, n


@pytest.mark.slow
def test_smallest_saved_fit_refits_in_lavaan_with_its_call(default_build, codebook, tmp_path, lavaan_version):
    structural = {name for name, spec in rq1_models(codebook).items() if spec.outcomes}
    fits = [f for f in _fits(default_build) if json.loads(f.read_text()).get("status") == "ok"
            and f.parent.parent.name != MULTIGROUP_SAMPLE and f.parent.name in structural]
    fit_dir = min(fits, key=lambda f: len(pd.read_csv(f.parent / "estimates.csv"))).parent
    info = json.loads((fit_dir / "fit.json").read_text())
    script = SAVED_FIT / "refit.R"
    subprocess.run(["Rscript", str(script), str(fit_dir), info["lavaan_call"], str(tmp_path)], check=True,
                   capture_output=True, timeout=1800)
    _compare_with_lavaan(pd.read_csv(fit_dir / "estimates.csv"), info["fit_indices"], info["n_used"], tmp_path,
                         lavaan_version=lavaan_version, fit_dir=fit_dir)


@pytest.mark.slow
def test_saved_wlsmv_measurement_fit_refits_in_lavaan_with_its_call(default_build, tmp_path, lavaan_r):
    """Exhibit 10's primary CFA (WLSMV, pairwise deletion: every student with an answer, where
    listwise deletion kept fewer than half; clustered by classroom): its spec, the lavaan call of
    refit_in_lavaan.R that takes its clustered Gamma and weights from wlsmv_first_stage.csv.gz
    (no lavaan clusters pairwise WLSMV fits correctly) and the saved rows give its estimates, SEs
    and chi-squares in lavaan (Debian's 0.6.14)."""
    from lwo.sem_results import FIRST_STAGE_R, first_stage_call

    fit_dir = default_build / "results/models/all/mindset_cfa"
    info = json.loads((fit_dir / "wlsmv_fit.json").read_text())
    data = pd.read_csv(fit_dir / "model_data.csv.gz")
    call = info["lavaan_call"]
    assert info["status"] == "ok" and info["missing"] == "pairwise" and 'missing = "pairwise"' in call
    assert info["cluster"] == "classroom_id" and call.endswith(', cluster = "classroom_id")')
    assert info["n_used"] == len(data) > 2 * len(data.dropna())
    refit = (fit_dir / "refit_in_lavaan.R").read_text(encoding="utf-8")
    assert first_stage_call(call, "classroom_id").replace("(model, ", "(wlsmv_model, ", 1) in refit
    shutil.copy(fit_dir / "model_data.csv.gz", tmp_path / "model_data.csv.gz")
    (tmp_path / "spec.lavaan").write_text(info["spec"], encoding="utf-8")
    script = FIRST_STAGE_R.format(file=fit_dir / "wlsmv_first_stage.csv.gz") + first_stage_call(call, "classroom_id")
    subprocess.run(["Rscript", str(SAVED_FIT / "refit.R"), str(tmp_path), script, str(tmp_path)],
                   check=True, capture_output=True, timeout=1800)
    _compare_with_lavaan(pd.read_csv(fit_dir / "wlsmv_estimates.csv"), info["fit_indices"], info["n_used"],
                         tmp_path, measures=("chisq", "chisq.scaled"))


FIT_MEASURES = ("chisq", "cfi", "rmsea", "chisq.scaled", "cfi.robust", "rmsea.robust", "logl")


def _compare_with_lavaan(ours: pd.DataFrame, fit_indices: dict, n_used: int, lavaan_dir: Path,
                         measures=FIT_MEASURES, lavaan_version: tuple = (), fit_dir: Path | None = None) -> None:
    """est and std.all within 1e-4, SEs and fit indices (``measures``) within 1e-3 relative of lavaan's.
    The log-likelihood is left out where lavaan is older than 0.7 and a covariate of the saved fit
    in ``fit_dir`` has holes: lavaan 0.6 subtracts the covariates' complete-data log-likelihood
    there, lavaan 0.7 and the engine their FIML one (test_sem_fiml checks it against both)."""
    if lavaan_version < (0, 7) and fit_dir is not None and _covariates_with_holes(fit_dir):
        measures = [m for m in measures if m != "logl"]
    tmp_path = lavaan_dir
    ours = ours[ours["op"] != ":="]
    theirs = pd.read_csv(tmp_path / "lavaan_estimates.csv")
    ours, theirs = (d.assign(rhs=d["rhs"].fillna("")) for d in (ours, theirs))  # `~1` rows: no rhs
    both = ours.merge(theirs, on=["lhs", "op", "rhs"], suffixes=("", "_lavaan"))
    assert len(both) == len(ours)
    free = both["se_lavaan"] > 0
    np.testing.assert_allclose(both["est"], both["est_lavaan"], atol=1e-4)
    np.testing.assert_allclose(both.loc[free, "se"], both.loc[free, "se_lavaan"], rtol=1e-3)
    np.testing.assert_allclose(both["std.all"], both["std.all_lavaan"], atol=1e-4)
    fm = pd.read_csv(tmp_path / "lavaan_fit.csv").set_index("measure")["value"]
    assert n_used == fm["ntotal"]
    for k in measures:
        assert fit_indices[k] == pytest.approx(fm[k], rel=1e-3, abs=1e-4), k


SAVED_FIT = Path(__file__).parent / "lavaan/saved_fit"


def _covariates_with_holes(fit_dir: Path) -> bool:
    """Whether a covariate of a saved fit (its spec header names them) has a blank in its data."""
    head = [ln for ln in (fit_dir / "spec.lavaan").read_text(encoding="utf-8").splitlines()
            if ln.startswith("# exogenous covariates")]
    names = head[0].split(": ", 1)[1].split(", ") if head else []
    data = pd.read_csv(fit_dir / "model_data.csv.gz", usecols=names) if names else pd.DataFrame()
    return bool(data.isna().any().any())


def test_a_saved_fit_agrees_with_lavaan_run_with_its_stated_call(tmp_path):
    """A saved fit of the default build (all students, hqc_to_grades: FIML with the missing controls
    integrated over (ml.x) + MLR + classroom clusters; spec, data and lavaan's numbers committed
    under tests/lavaan/saved_fit/): the
    engine on the saved spec and data, with the options of the lavaan call the spec states."""
    from lwo import sem
    call = (SAVED_FIT / "call.txt").read_text().strip()
    assert call in (SAVED_FIT / "spec.lavaan").read_text()
    data = pd.read_csv(SAVED_FIT / "model_data.csv.gz")
    missing = re.search(r'missing = "([^"]+)"', call).group(1)
    fit = sem.fit((SAVED_FIT / "spec.lavaan").read_text(), data, estimator="MLR", missing=missing, cluster="classroom_id")
    assert fit.lavaan_call() == call
    # lavaan_fit.csv: lavaan 0.6.14's numbers; lavaan07/: lavaan 0.7-2's, its log-likelihood too
    assert _covariates_with_holes(SAVED_FIT)
    _compare_with_lavaan(fit.estimates, fit.fit_indices, fit.n_used["total"], SAVED_FIT, lavaan_version=(0, 6, 14),
                         fit_dir=SAVED_FIT)
    _compare_with_lavaan(fit.estimates, fit.fit_indices, fit.n_used["total"], SAVED_FIT / "lavaan07",
                         lavaan_version=(0, 7, 2), fit_dir=SAVED_FIT)
    newer = pd.read_csv(SAVED_FIT / "lavaan07" / "lavaan_fit.csv").set_index("measure")["value"]
    assert fit.fit_indices["logl"] == pytest.approx(newer["logl"], rel=1e-8)


# ------------------------------------------------------------------ slow: a messy district export
@pytest.mark.slow
def test_a_messy_export_builds_fitting_every_surveyed_student(worked_example_build, codebook):
    """The README's worked example: the synthetic cohort's students table alone, 20% of the item
    answers blank at random, as a file: `snakemake --cores 2 --configfile
    config/example_district.yaml` builds the whole report, no job fails (the fixture fails if one
    does), every RQ1 model is fitted on every surveyed student with an answer in it, and a model
    that cannot be estimated says why."""
    from lwo.report import classify_status
    from workflow_build import build_log

    repo = worked_example_build
    items = [i.id for i in codebook.all_items()]
    answers = pd.read_csv(repo / "results/example/example_district_students.csv", usecols=items)
    assert 0.2 < answers.isna().to_numpy().mean() < 0.3  # 20% blanked on top of the cohort's own holes
    assert "Traceback" not in build_log(repo)
    assert (repo / "results/report.html").exists()
    metas = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
             for p in (repo / "results/exhibits").glob("*/meta.json")}
    assert not [e for e, m in metas.items() if classify_status(m["status"]) == "failed"]
    students = pd.read_csv(repo / "results/data/analysis/students.csv")
    specs = rq1_models(codebook)
    fitted = set()
    for f in _fits(repo):
        info = json.loads(f.read_text())
        if info["model"] not in specs or not specs[info["model"]].outcomes:
            continue
        fitted.add(info["model"])
        races = ["Black", "White"] if info["sample"] == MULTIGROUP_SAMPLE else (
            None if info["sample"] == "all" else [info["sample"]])
        assert info["n_used"] == expected_n(students, codebook, specs[info["model"]], races), f
        assert info["status"] == "ok" or info["message"].startswith(("not estimable:", "failed:")), f
    assert fitted == {name for name, spec in specs.items() if spec.outcomes}  # every structural model
    statuses = [json.loads(f.read_text())["status"] for f in _fits(repo)]
    assert statuses.count("ok") >= 0.9 * len(statuses), statuses
    # no student answered all of a block's items: the ordinal analyses of Exhibits 8-10 (WLSMV CFA,
    # polychoric EFA) use every surveyed student by pairwise deletion, where listwise had none
    surveyed = int((students["surveyed"] == 1).sum())
    for exhibit, model in (("8", "hqc_second_order"), ("9", "classroom_environment_cfa"), ("10", "mindset_cfa")):
        wlsmv = json.loads((repo / f"results/models/all/{model}/wlsmv_fit.json").read_text())
        assert wlsmv["status"] == "ok" and wlsmv["missing"] == "pairwise" and wlsmv["n_used"] == surveyed
        efa = next(n for n in metas[exhibit]["notes"] if n.startswith("EFA:"))
        assert "pairwise" in efa and f"{surveyed} students with an answer" in efa, efa


def test_controls_map_to_students_columns():
    assert set(CONTROL_COLUMNS) == set(GRADE_CONTROLS) >= set(CONTROLS)
