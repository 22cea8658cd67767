"""The district path (issue 12): partial exports (students alone), the data template and
dictionary, the worked example, and a small one-school district.

Builds run in private copies of the repository (tests/workflow_build.py) and are marked slow:
the worked example is the students-only build; the small district is a 150-student, one-school
export of all four tables with 5% of item answers blank.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lwo.codebook import Codebook
from lwo.data import TABLES, DataError, load_tables, validate_table
from lwo.dictionary import data_dictionary, template_columns
from lwo.example import EXAMPLE_BLANK_SHARE, district_export, worked_example
from lwo.io import write_csv
from lwo.scoring import score_teacher_scales
from workflow_build import copy_repository, load_workflow_rules, snakemake

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_COMMAND = "snakemake --cores 2 --configfile config/example_district.yaml"
# what an exhibit that cannot be estimated says instead of a number
NOT_ESTIMABLE = re.compile(r"not estimable|too few|suppressed|one school|not available", re.IGNORECASE)


def _write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, df in tables.items():
        files[name] = str(folder / f"{name}.csv")
        write_csv(df, files[name])
    return files


# -- partial data ----------------------------------------------------------------------------------
def test_the_students_table_alone_validates(cohort, codebook, tmp_path):
    files = _write_tables({"students": cohort["students"]}, tmp_path)
    tables = load_tables(files, codebook)
    assert list(tables) == ["students"] and len(tables["students"]) == len(cohort["students"])


def test_a_table_without_students_is_refused_naming_the_key(cohort, codebook, tmp_path):
    files = _write_tables({"teachers": cohort["teachers"]}, tmp_path)
    with pytest.raises(DataError) as err:
        load_tables(files, codebook)
    assert err.value.column == "data.files.students"


def test_references_are_checked_between_the_tables_given(cohort, codebook, tmp_path):
    """Students and classrooms without teachers: a student's unknown classroom is still an error."""
    students = cohort["students"].copy()
    students.loc[3, "classroom_id"] = "S9-MATH9"
    files = _write_tables({"students": students, "classrooms": cohort["classrooms"]}, tmp_path)
    with pytest.raises(DataError) as err:
        load_tables(files, codebook)
    assert err.value.column == "classroom_id" and err.value.rows == [5]


# -- teacher scales: the minimum-answered-items rule --------------------------------------------------
def test_teacher_scales_need_the_codebooks_share_of_items(codebook):
    raw = {**codebook.raw, "min_share_items_answered": 0.75}
    strict = Codebook(raw, codebook.path)
    items = [i for s in codebook.teacher_scales.values() for i in s["items"]]
    teachers = pd.DataFrame([[3.0] * len(items), [3.0] * len(items)], columns=items)
    first = next(iter(codebook.teacher_scales))
    teachers.loc[1, codebook.teacher_scales[first]["items"][0]] = float("nan")
    # one of two items answered: a score at share 0.5 (one item is half), none at 0.75
    assert score_teacher_scales(teachers, codebook).loc[1, first] == 3.0
    assert pd.isna(score_teacher_scales(teachers, strict).loc[1, first])
    assert score_teacher_scales(teachers, strict).loc[0, first] == 3.0


# -- the data template and dictionary -------------------------------------------------------------
def test_dictionary_describes_every_template_column(codebook):
    dictionary = data_dictionary(codebook)
    for table, columns in template_columns(codebook).items():
        assert dictionary.loc[dictionary["table"] == table, "column"].tolist() == columns
    by_column = dictionary.set_index("column")
    reverse = {i.id for i in codebook.all_items() if i.reverse}
    items = {i.id for i in codebook.all_items()}
    assert set(by_column.index[by_column["reverse_coded"] == "yes"]) == reverse
    sizes = {i.id: len(codebook.item_ids(i.construct)) for i in codebook.all_items()}
    assert set(sizes.values()) == {4, 5}  # four-item scales, and the five exclusion items
    assert all(by_column.loc[i, "min_items_answered"] == {4: 2, 5: 3}[n] for i, n in sizes.items())  # share 0.5
    teacher_items = [i for s in codebook.teacher_scales.values() for i in s["items"]]
    assert (by_column.loc[teacher_items, "min_items_answered"] == 1).all()  # 2 items at share 0.5
    assert by_column.loc["collab_frequency", "allowed_values"].startswith("less than monthly")
    assert by_column.loc["hqc_sc1", "value_labels"].startswith("1 = never/rarely")
    students = dictionary[dictionary["table"] == "students"].set_index("column")
    assert students.loc["school_id", "allowed_values"] == "at least 1"  # a district's own ids
    assert students.loc["absences", "allowed_values"] == "0 to 180"
    assert (students.loc[["gender", "grade_level", "ell", "special_education"], "required"] == "no (may be empty)").all()
    assert students.loc["school_id", "required"] == "yes"


@pytest.mark.slow
def test_template_round_trip(tmp_path, cohort, codebook):
    """`snakemake --cores 1 data_template`; the templates filled with the synthetic cohort's rows
    pass validation unchanged, and the dictionary names the exhibits using a column."""
    repo = copy_repository(tmp_path / "repo")
    snakemake(repo, "data_template", cores=1)
    out = repo / "results" / "data_template"
    dictionary = pd.read_csv(out / "data_dictionary.csv", dtype=str, keep_default_na=False)
    html = (out / "data_dictionary.html").read_text(encoding="utf-8")
    assert all(f'id="{t}"' in html for t in TABLES) and "hqc_gi3" in html
    # HQC items feed the HQC factor of every RQ1 structural model: Exhibit 12's among them
    assert "12" in dictionary.set_index("column").loc["hqc_sc1", "exhibits"].split(", ")
    files = {}
    for table in TABLES:
        header = pd.read_csv(out / f"{table}.csv", dtype=str)
        assert header.empty and list(header.columns) == template_columns(codebook)[table]
        filled = pd.concat([header, cohort[table][list(header.columns)].astype(str)
                            .replace({"nan": "", "<NA>": "", "None": ""})])
        files[table] = str(tmp_path / f"{table}.csv")
        filled.to_csv(files[table], index=False)
    loaded = load_tables(files, codebook)
    for table in TABLES:
        expected = validate_table(cohort[table][template_columns(codebook)[table]].astype(object)
                                  .where(cohort[table].notna(), None).astype(str)
                                  .replace({"None": None}), table, codebook, table)
        pd.testing.assert_frame_equal(loaded[table], expected, check_dtype=False)


# -- district-like exports --------------------------------------------------------------------------
def test_worked_example_export(cohort, codebook):
    students = worked_example(cohort, codebook, seed=5)
    # every student of the cohort, in its order; only answers of surveyed students blanked
    assert list(students["student_id"]) == list(cohort["students"]["student_id"])
    items = [i.id for i in codebook.all_items()]
    surveyed = (students["surveyed"] == 1).to_numpy()
    others = [c for c in students.columns if c not in items]
    pd.testing.assert_frame_equal(students[others], cohort["students"][others].reset_index(drop=True),
                                  check_dtype=False)
    own = cohort["students"][items].isna().to_numpy()
    blank = students[items].isna().to_numpy()
    assert (blank >= own).all() and (blank[~surveyed] == own[~surveyed]).all()
    # a fifth of the answers given blanked at random (binomial SD about 0.0015)
    added = blank[surveyed][~own[surveyed]]
    assert abs(added.mean() - EXAMPLE_BLANK_SHARE) < 0.005
    validate_table(students.astype(object).where(students.notna(), None).astype(str).replace({"None": None}),
                   "students", codebook, "example")


def test_district_export_cuts_every_table_to_the_school(cohort, codebook):
    export = district_export(cohort, codebook, seed=1, schools=[2], n_students=150, blank_share=0.05)
    assert len(export["students"]) == 150
    assert {int(s) for t in ("students", "classrooms", "teachers") for s in export[t]["school_id"]} == {2}
    assert set(export["observations"]["classroom_id"]) <= set(export["classrooms"]["classroom_id"])
    items = [i.id for i in codebook.all_items()]
    source = cohort["students"].set_index("student_id").loc[export["students"]["student_id"], items]
    # 5% of the answers given are blanked, on top of the cohort's own unanswered items
    answered = source.notna().to_numpy()
    blanked = answered & export["students"][items].isna().to_numpy()
    assert 0.035 < blanked.sum() / answered.sum() < 0.065


def test_invariance_with_a_group_smaller_than_the_items_says_why():
    """A small district's Black sample with fewer complete answers than items: the models are not
    fitted (the covariance matrix would be singular) and the verdict says so, without the count."""
    import numpy as np

    from lwo.measurement import invariance_analysis

    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    data["race"] = ["Black"] * 3 + ["White"] * 57
    result = invariance_analysis("x", "f =~ a + b + c + d", data, "race", ["Black", "White"])
    row = result.row()
    assert row["metric_verdict"] == row["scalar_verdict"] == "not estimable"
    assert row["comparable"].startswith("not estimable: too few students") and "fewer than 5 Black" in row["comparable"]
    assert row["n_Black"] is None


# -- builds -------------------------------------------------------------------------------------------
def _exhibit_tables(repo: Path) -> dict[str, set[str]]:
    """Exhibit id -> the analysis tables its rule reads, for the exhibits of the default build
    (from the workflow parsed with the default config, where every exhibit rule is present)."""
    rules = load_workflow_rules(repo)
    table_file = re.compile(r"^results/data/analysis/(\w+)\.csv$")
    default_targets = {str(f) for r in rules if r.name == "all" for f in r.input}
    out = {}
    for r in rules:
        if not default_targets & {str(f) for f in r.output}:
            continue  # not in the default build (the replication study)
        tables = {m.group(1) for f in r.input if (m := table_file.match(str(f)))}
        for f in r.output:
            if m := re.match(r"^results/exhibits/([^/]+)/meta\.json$", str(f)):
                out[m.group(1)] = tables
    return out


def _exhibits_needing(repo: Path, tables) -> set[str]:
    return {e for e, needs in _exhibit_tables(repo).items() if needs & set(tables)}


def test_the_worked_example_command_is_the_readmes():
    """The worked example build (conftest.py) runs the command the README gives."""
    from workflow_build import BUILDS

    assert EXAMPLE_COMMAND in (REPO / "README.md").read_text(encoding="utf-8")
    build = BUILDS["worked_example_build"]
    assert f"snakemake --cores {build.cores} {' '.join(build.args)}" == EXAMPLE_COMMAND


@pytest.mark.slow
def test_worked_example_builds_from_the_students_table_alone(worked_example_build):
    repo = worked_example_build
    summary = json.loads((repo / "results/data/analysis/data_summary.json").read_text(encoding="utf-8"))
    assert summary["tables"] == ["students"] and summary["example"] is True
    cohort_schools = pd.read_csv(repo / "results/data/synthetic/students.csv", usecols=["school_id"])
    assert summary["counts"]["schools"] == cohort_schools["school_id"].nunique()  # every school
    html = (repo / "results/report.html").read_text(encoding="utf-8")
    assert "Worked example" in html and "example_district_students.csv" in html
    assert "reanalysis" not in html and "(tables: students)" in html
    assert not (repo / "results/data/analysis/teachers.csv").exists()
    # every exhibit the students table supports is built; the others are marked not available
    needs = _exhibit_tables(repo)
    others = {e for e, tables in needs.items() if tables - {"students"}}
    assert {"3", "7", "39", "40"} <= others
    status = {p.parent.name: json.loads(p.read_text(encoding="utf-8")).get("status", "")
              for p in (repo / "results/exhibits").glob("*/meta.json")}
    assert set(needs) == set(status)
    assert all(status[e].startswith("not available") for e in others)


@pytest.mark.slow
def test_worked_example_marks_exactly_the_exhibits_needing_other_tables(worked_example_build):
    """Each exhibit that needs another table appears, with meta.json status 'not available'."""
    repo = worked_example_build
    others = _exhibits_needing(repo, ("classrooms", "teachers", "observations"))
    status = {p.parent.name: json.loads(p.read_text(encoding="utf-8")).get("status", "")
              for p in (repo / "results/exhibits").glob("*/meta.json")}
    assert {e for e, s in status.items() if s.startswith("not available")} == others


@pytest.mark.slow
def test_a_150_student_one_school_district_builds(small_district_build):
    """All four tables cut to 150 students of one school, 5% of item answers blank: a plain
    `snakemake --cores 2` builds with no failed job (the fixture fails if one does), and what
    cannot be estimated says why."""
    from workflow_build import BUILDS, build_log

    repo = small_district_build
    assert BUILDS["small_district_build"].args == () and BUILDS["small_district_build"].cores == 2
    students = pd.read_csv(repo / "data/real/students.csv")
    assert len(students) == 150 and set(students["school_id"]) == {1}
    assert "Traceback" not in build_log(repo)
    from lwo.report import classify_status

    metas = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
             for p in (repo / "results/exhibits").glob("*/meta.json")}
    assert set(metas) == set(_exhibit_tables(repo))  # every exhibit, none left out
    assert not [e for e, m in metas.items() if classify_status(m["status"]) == "failed"]
    # the exhibits that cannot be estimated say why, in their status (the models of this district all
    # can: test_the_small_districts_groups_get_estimates_without_an_unrestricted_model)
    warned = {e: m["status"] for e, m in metas.items() if m["status"] != "ok"}
    assert all(NOT_ESTIMABLE.search(s) for s in warned.values()), warned
    # a model without estimates gives its reason, not a convergence message
    notes = json.dumps(metas)
    assert not re.findall(r"no estimates \((?!not estimable|failed)[^)]*", notes)
    # one school: the models leave the school effects out and say so
    assert "One school in this sample, so no school effects" in json.dumps(metas["13"])
    # WLSMV by pairwise deletion: each row with numbers counts every Black and White student with an
    # answer, the blocks of 24-32 items too (listwise, too few answered them all); the others say why
    invariance = pd.read_csv(repo / "results/exhibits/invariance/table.csv")
    estimated = invariance[invariance["n_Black"].notna()]
    assert len(estimated) >= 20 and estimated["construct"].str.startswith("All ").any()
    for group in ("Black", "White"):
        assert estimated[f"n_{group}"].nunique() == 1
    assert invariance.loc[invariance["n_Black"].isna(), "comparable"].str.startswith("not estimable: ").all()


@pytest.mark.slow
def test_the_small_districts_groups_get_estimates_without_an_unrestricted_model(small_district_build):
    """83 Black and 47 White students for models of 24 to 47 variables: the unrestricted (h1)
    model of a group has no estimate, but the model has (as lavaan fits it), even with as many
    variables as students. The fit says why it has no chi-square, the exhibits repeat it, and the
    Black-White verdicts rest on the Wald test, except where a test's paths outnumber the eight
    classrooms less one: its cluster-robust covariance is singular, and the row says so. Every
    model of the district is estimated."""
    repo = small_district_build
    students = pd.read_csv(repo / "data/real/students.csv")
    classrooms = students.loc[students["race"].isin(["Black", "White"]), "classroom_id"].nunique()
    too_wide = 0
    fits = {f"{p.parent.parent.name}/{p.parent.name}": json.loads(p.read_text(encoding="utf-8"))
            for p in (repo / "results/models").glob("*/*/fit.json")}
    without = {k: f for k, f in fits.items() if f.get("fit_note")}
    assert len(without) >= 5 and any(k.startswith("Black_vs_White/") for k in without), sorted(without)
    for key, f in without.items():
        assert f["status"] == "ok" and f["fit_indices"]["chisq"] is None and f["fit_indices"]["logl"] is not None
        assert f["fit_note"].startswith("no unrestricted (h1) model") and "do not determine" in f["fit_note"], key
        assert 'se = "robust.cluster", test = "standard"' in f["lavaan_call"], key
        if key.startswith("Black_vs_White/"):
            tests = pd.read_csv(repo / "results/models" / key / "lr_tests.csv")
            assert tests["lr_pvalue"].isna().all()
            wide = tests["n_paths"] > classrooms - 1
            fine = tests[~wide]
            assert (fine["verdict_test"] == "Wald").all() and (fine["status"] == "ok").all()
            assert fine["pvalue"].equals(fine["wald_f_pvalue"]) and fine["pvalue"].notna().all()
            assert fine["message"].str.startswith("likelihood-ratio test not available: no chi-square").all()
            for _, t in tests[wide].iterrows():
                assert t["status"] == "not estimable" and pd.isna(t["pvalue"]) and pd.isna(t["wald_chisq"])
                assert t["message"].startswith(
                    f"Wald test not available: {t['n_paths']} constraints, but the cluster-robust covariance has "
                    f"at most {classrooms - 1} independent directions"), t["message"]
                assert "likelihood-ratio test not available: no chi-square" in t["message"]
            too_wide += int(wide.sum())
    assert too_wide >= 1  # the personalization model's 12 mediator -> outcome paths
    for exhibit in ("29", "invariance"):  # the SEM exhibits' notes and the invariance exhibit's
        notes = json.loads((repo / f"results/exhibits/{exhibit}/meta.json").read_text(encoding="utf-8"))["notes"]
        assert f"Few clusters: {classrooms} classrooms." in " ".join(notes), exhibit
    assert all(f["status"] == "ok" for f in fits.values()), {k: f["message"] for k, f in fits.items()}
    notes = " ".join(p.read_text(encoding="utf-8") for p in (repo / "results/exhibits").glob("*/meta.json"))
    assert "no unrestricted (h1) model, so no chi-square" in notes and "= NA" not in notes


@pytest.mark.slow
def test_a_fit_without_an_unrestricted_model_refits_in_lavaan_with_its_call(small_district_build, tmp_path,
                                                                          lavaan_r):
    """The smallest saved fit of the district without an unrestricted model (47 White students):
    lavaan, given its spec, data and stated call (ML with MLR's cluster-robust sandwich SEs and
    test = "standard"), gives the same estimates, SEs, std.all and log-likelihood."""
    from test_estimation import SAVED_FIT, _compare_with_lavaan, _covariates_with_holes

    fits = [p for p in (small_district_build / "results/models").glob("*/*/fit.json")
            if json.loads(p.read_text(encoding="utf-8")).get("fit_note") and p.parent.parent.name != "Black_vs_White"]
    fit_dir = min(fits, key=lambda p: len(pd.read_csv(p.parent / "estimates.csv"))).parent
    info = json.loads((fit_dir / "fit.json").read_text(encoding="utf-8"))
    assert 'se = "robust.cluster", test = "standard"' in info["lavaan_call"]
    subprocess.run(["Rscript", str(SAVED_FIT / "refit.R"), str(fit_dir), info["lavaan_call"], str(tmp_path)],
                   check=True, capture_output=True, timeout=1800)
    assert not _covariates_with_holes(fit_dir)  # else lavaan < 0.7 has another log-likelihood
    _compare_with_lavaan(pd.read_csv(fit_dir / "estimates.csv"), info["fit_indices"], info["n_used"], tmp_path,
                         measures=("logl",))


@pytest.mark.slow
def test_the_small_district_shows_no_small_count_of_students(small_district_build):
    """The privacy rule of tests/test_privacy.py on the build where small cells are most likely:
    150 students of one school (ten of one group, five of another)."""
    from test_privacy import exhibits_of, must_state_the_rule, small_count_problems, states_the_rule

    exhibits = exhibits_of(small_district_build)
    assert not small_count_problems(exhibits, 10)
    assert not [ex.exhibit for ex in exhibits if must_state_the_rule(ex) and not states_the_rule(ex, 10)]
