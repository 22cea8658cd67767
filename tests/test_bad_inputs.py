"""The bad-input catalogue (tests/bad_inputs/cases.py), one test per case, and the real rule
`analysis_data` and the real Snakefile refusing bad files and configs without leaving output."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_inputs.cases import (CASES, CODEBOOK, CONFIG, PUBLISHED, SCHEMA, _stats_frame,  # noqa: E402
                              result_of, workspace)
from bad_inputs.workflow_copy import ANALYSIS_OUTPUTS, copy_workflow, fingerprint, snakemake  # noqa: E402
from workflow_build import clone_build  # noqa: E402

from lwo.codebook import Codebook  # noqa: E402
from lwo.config_check import check_config  # noqa: E402
from lwo.data import TABLES, DataError, validate_table  # noqa: E402
from lwo.exhibit import check_published_values  # noqa: E402


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_catalogue_case(case):
    result = result_of(case.name)
    assert result.passed, "\n".join(result.problems)


def test_catalogue_covers_every_input():
    inputs = {c.input.split(" (")[0] for c in CASES}
    assert {"students table", "classrooms table", "teachers table", "observations table", "codebook",
            "config", "published values"} <= inputs
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.expected for c in CASES} == {"error", "accepted"}
    assert all(c.handling for c in CASES if c.expected == "accepted")


def test_repository_inputs_pass_the_checks():
    """The catalogue corrupts clean inputs: the shipped codebook, config and published values, and
    the clean synthetic cohort, pass every check."""
    Codebook.load(CODEBOOK)
    with open(CONFIG, encoding="utf-8") as fh:
        check_config(yaml.safe_load(fh), CONFIG, SCHEMA)
    check_published_values(PUBLISHED)
    ws = workspace()
    tables = ws.load(ws.write(ws.folder("clean")))
    assert {t: len(df) for t, df in tables.items()} == {t: len(ws.cohort[t]) for t in TABLES}


def test_in_memory_table_reports_csv_lines():
    """A frame not read from a file is numbered as if written to CSV with a header."""
    ws = workspace()
    students = ws.tables()["students"]
    students.loc[0, "hqc_sc1"] = 9
    with pytest.raises(DataError) as err:
        validate_table(students, "students", ws.codebook, "students (in memory)")
    assert err.value.rows == [2] and err.value.column == "hqc_sc1"


def test_error_lists_first_rows_and_how_many_more():
    err = DataError("x.csv", "bad", column="c", rows=range(10, 3, -1), fix="Fix it")
    assert str(err) == "x.csv, column 'c', line(s) 4, 5, 6, 7, 8 (and 2 more): bad. Fix it"


def test_runner_turns_a_data_error_into_one_line(capsys):
    from lwo.runner import run

    def main(sm):
        raise DataError("data/real/students.csv", "bad value", column="hqc_sc1", rows=[5], fix="Correct it")

    with pytest.raises(SystemExit) as stop:
        run(main, None)
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert err == "ERROR: data/real/students.csv, column 'hqc_sc1', line(s) 5: bad value. Correct it\n"


# -- the real Snakefile and rule ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("change, key, says", [
    (lambda c: c.update(colour="red"), "'colour'", "unknown key"),
    (lambda c: c["synthetic"].update(seed="abc"), "'synthetic.seed'", "expected integer, found 'abc'"),
], ids=["unknown key", "seed is text"])
def test_bad_config_stops_before_any_job(tmp_path, change, key, says):
    repo = copy_workflow(tmp_path / "repo")
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text(encoding="utf-8"))
    change(config)
    (repo / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    run = snakemake(repo, "--cores", "1")
    assert run.returncode != 0
    assert says in run.stderr and key in run.stderr
    assert "Building DAG" not in run.stdout + run.stderr, "jobs were planned despite the bad config"
    assert not (repo / "results").exists(), "a job ran despite the bad config"


def _analysis_targets():
    return [f"results/data/analysis/{name}" for name in ANALYSIS_OUTPUTS]


def _files_config(repo: Path, students: str = "data/real/students.csv") -> None:
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["data"] = {"source": "files", "files": {t: f"data/real/{t}.csv" for t in TABLES}}
    config["data"]["files"]["students"] = students
    config["synthetic"]["n_students"] = 200
    (repo / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@pytest.fixture(scope="module")
def built_workflow(tmp_path_factory):
    """A workflow copy in files mode with clean data under data/real/, analysis data built, and the
    outputs of another rule (synthetic_cohort) built too."""
    repo = copy_workflow(tmp_path_factory.mktemp("workflow") / "repo")
    ws = workspace()
    good = repo / "good"
    good.mkdir()
    ws.write(good)
    for t in TABLES:
        shutil.copy2(good / f"{t}.csv", repo / "data" / "real" / f"{t}.csv")
    _files_config(repo)
    run = snakemake(repo, "--cores", "2", *_analysis_targets(), "results/data/synthetic/students.csv")
    assert run.returncode == 0, run.stderr[-3000:]
    return repo


def _unknown_classroom(repo: Path) -> None:
    path = repo / "data" / "real" / "students.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[6, "classroom_id"] = "S9-MATH1"
    df.to_csv(path, index=False)


def _semicolon_teachers(repo: Path) -> None:
    path = repo / "data" / "real" / "teachers.csv"
    pd.read_csv(path, dtype=str, keep_default_na=False).to_csv(path, index=False, sep=";")


def _bad_value_in_sav(repo: Path) -> None:
    import pyreadstat
    students = _stats_frame(workspace().cohort["students"])
    students.loc[3, "hqc_sc1"] = 7
    pyreadstat.write_sav(students, str(repo / "data" / "real" / "students.sav"))
    _files_config(repo, students="data/real/students.sav")


@pytest.mark.slow
@pytest.mark.parametrize("corrupt, says", [
    (_unknown_classroom, ("data/real/students.csv, column 'classroom_id', line(s) 8:", "'S9-MATH1'")),
    (_semicolon_teachers, ("data/real/teachers.csv, line(s) 1:", "semicolons")),
    (_bad_value_in_sav, ("data/real/students.sav, column 'hqc_sc1', row(s) 4:", "between 1 and 4")),
], ids=["unknown classroom", "semicolon-separated teachers", "bad value in .sav"])
def test_analysis_data_rule_fails_without_output(built_workflow, corrupt, says, tmp_path):
    # a copy of the good build, so that there is something a failure could leave behind
    repo = clone_build(built_workflow, tmp_path / "repo")
    analysis = [repo / t for t in _analysis_targets()]
    assert all(p.exists() for p in analysis)
    others = sorted((repo / "results" / "data" / "synthetic").glob("*.csv"))
    before = fingerprint(others)

    corrupt(repo)
    run = snakemake(repo, "--cores", "1", *_analysis_targets())

    assert run.returncode != 0
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("ERROR: ")]
    # the message is printed once by the job and once more from its log (show-failed-logs)
    assert len(set(errors)) == 1, run.stderr[-3000:]
    assert all(s in errors[0] for s in says), errors[0]
    assert "Traceback" not in run.stderr
    assert not any(p.exists() for p in analysis), "the failed rule left output behind"
    leftovers = list((repo / "results" / "data").rglob(".*.part"))
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert fingerprint(others) == before, "outputs of another rule were changed"
