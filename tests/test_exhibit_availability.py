"""Exhibits and the tables they need (the registry's `tables`, workflow/exhibits.yaml): with data
that lack a table, the exhibits needing it are planned as "not available" (rule
exhibit_not_available) and every other exhibit by its own rule; the report shows them as such."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lwo import report as R
from lwo.registry import TABLES, load_registry, not_available_status

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_inputs.workflow_copy import copy_workflow, snakemake  # noqa: E402


def planned_rules(work: Path) -> dict[str, str]:
    """{exhibit id: rule of the job planned to write its meta.json} from a dry run of `rule all`."""
    proc = snakemake(work, "-n", "--forceall", timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    planned = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", proc.stdout):
        m = re.match(r"(?:local)?rule (\w+):", block)
        out = re.search(r"^\s*output: (.*)$", block, flags=re.MULTILINE)
        if m and out:
            for f in out.group(1).split(", "):
                hit = re.fullmatch(r"results/exhibits/([^/]+)/meta\.json", f.strip())
                if hit:
                    planned[hit.group(1)] = m.group(1)
    return planned


@pytest.fixture(scope="module")
def students_only(tmp_path_factory) -> Path:
    """A copy of the workflow whose config names the students table only."""
    work = copy_workflow(tmp_path_factory.mktemp("students_only"))
    config_path = work / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["data"] = {"source": "files", "files": {"students": "data/real/students.csv"}}
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (work / "data" / "real" / "students.csv").write_text("student_id\n", encoding="utf-8")
    return work


def test_a_students_only_config_plans_exactly_the_exhibits_needing_other_tables_as_not_available(
        students_only):
    planned = planned_rules(students_only)
    registry = [e for e in load_registry() if not e.target]
    needs_more = {e.id for e in registry if set(e.tables) - {"students"}}
    # not vacuous: some exhibits need other tables, most need the students table only or none
    assert {"7", "33", "39", "40"} <= needs_more and len(needs_more) < len(registry) / 2
    assert set(planned) == {e.id for e in registry}
    assert {ex for ex, rule in planned.items() if rule == "exhibit_not_available"} == needs_more
    for e in registry:
        if e.id not in needs_more:
            assert planned[e.id] == e.rule, e.id


def test_the_default_config_plans_no_exhibit_as_not_available(tmp_path):
    work = copy_workflow(tmp_path)
    proc = snakemake(work, "-n", "--forceall", "--quiet", "rules", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "exhibit_not_available" not in proc.stdout
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, flags=re.MULTILINE))
    for e in load_registry():
        if not e.target:
            assert counts.get(e.rule) == "1", e.rule


def test_missing_tables_and_status_text():
    ex = next(e for e in load_registry() if e.id == "39")
    assert ex.missing_tables(TABLES) == []
    assert ex.missing_tables(["students"]) == ["classrooms", "observations"]
    assert not_available_status(ex.missing_tables(["students"])) == "not available: needs classrooms, observations"


def test_the_not_available_script_writes_what_the_report_shows_as_not_available(tmp_path):
    """The generic rule's script: table, comparison and meta.json stating the status; the report
    counts the exhibit as not available (not failed, not absent), shows no numbers for it and
    says why its published values were not compared."""
    import runpy
    from types import SimpleNamespace

    class Named(dict):
        __getattr__ = dict.__getitem__

    out = tmp_path / "exhibits" / "40"
    status = not_available_status(["teachers"])
    sm = SimpleNamespace(
        input=Named(published=str(REPO / "data" / "published" / "published_values.csv")),
        output=Named(table=str(out / "table.csv"), comparison=str(out / "comparison.csv"), meta=str(out / "meta.json")),
        params=Named(title="Teacher-perceived benefits", section="RQ3: School context", needs=["teachers"]),
        wildcards=Named(exhibit="40"), log=[])
    runpy.run_path(str(REPO / "workflow" / "scripts" / "exhibit_not_available.py"), init_globals={"snakemake": sm},
                   run_name="__main__")
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["status"] == status and meta["section"] == "RQ3: School context"
    assert pd.read_csv(out / "table.csv")["status"].tolist() == [status]
    comparison = pd.read_csv(out / "comparison.csv", keep_default_na=False)
    published = pd.read_csv(REPO / "data" / "published" / "published_values.csv", dtype=str)
    assert set(comparison["key"]) == set(published.loc[published["exhibit"] == "40", "key"]) != set()
    assert set(comparison["basis"]) == {status}
    assert meta["notes"] == ["Not built: it reads the teachers table, which the run's data (config data.files) "
                             "do not include."]

    ex = R.load_exhibit(R.ExhibitSource(exhibit="40", directory=str(out), rule="exhibit_not_available"))
    assert ex.state == "not available" and R.classify_status(status) == "not available"
    assert R.comparison_rows(ex) == []
    pub = published[published["exhibit"] == "40"].head(1)
    summary = R.fidelity_summary([ex], pub)
    assert [r["why"] for r in summary["not_compared"]] == [f"exhibit {status}"]
    parts = R.load_parts(REPO / "workflow" / "templates" / R.SECTIONS_FILE)
    assert R.assign_part(ex, parts) == "rq3"


def test_the_exhibit_index_marks_exhibits_the_tables_cannot_support():
    import subprocess

    proc = subprocess.run([sys.executable, str(REPO / "workflow" / "scripts" / "exhibit_index.py"), "--json",
                           "--tables", "students"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {r["exhibit"]: r for r in json.loads(proc.stdout)}
    assert rows["33"]["status"] == "not available: needs teachers"
    assert rows["39"]["status"] == "not available: needs classrooms, observations"
    assert rows["12"]["status"] == "ok" and rows["FG"]["status"] == "ok"


def test_a_registry_entry_that_cannot_be_used_is_named_with_its_field(tmp_path):
    from lwo.registry import RegistryError

    good = {"id": "99", "rule": "ex99_x", "title": "t", "family": "f", "part": "rq2", "section": "s",
            "tables": ["teachers"], "inputs": ["teachers", "summary"]}
    path = tmp_path / "exhibits.yaml"
    for change, message in ((dict(tables=["pupils"]), r"id 99\), field tables: unknown table\(s\) \['pupils'\]"),
                            (dict(inputs=["students"]), r"field tables: it reads \['students'\]"),
                            (dict(inputs=["fits"]), r"model inputs need the fields models and samples"),
                            (dict(colour="red"), r"unknown field\(s\) \['colour'\]")):
        path.write_text(yaml.safe_dump({"exhibits": [good | change]}), encoding="utf-8")
        with pytest.raises(RegistryError, match=message):
            load_registry(path)
    path.write_text(yaml.safe_dump({"exhibits": [good, good | {"rule": "ex99_y"}]}), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"id \['99'\] registered more than once"):
        load_registry(path)
    path.write_text(yaml.safe_dump({"exhibits": [good]}), encoding="utf-8")
    assert [e.script for e in load_registry(path)] == ["ex99_x.py"]
