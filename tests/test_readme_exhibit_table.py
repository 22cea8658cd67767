"""README.md's table of exhibits (exhibit -> needs -> rule -> script -> outputs) is generated from
the exhibit registry (workflow/exhibits.yaml) by workflow/scripts/exhibit_index.py; this test fails
when it is stale, and checks the registry against the rules Snakemake actually parses."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "workflow" / "scripts" / "exhibit_index.py"


def _module():
    spec = importlib.util.spec_from_file_location("exhibit_index", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def rules():
    proc = _run("--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_readme_exhibit_table_is_current():
    proc = _run("--check")
    assert proc.returncode == 0, (proc.stderr or proc.stdout) + \
        "\nRegenerate it: python workflow/scripts/exhibit_index.py"


def test_every_exhibit_rule_has_its_script_and_the_report_files(rules):
    for r in rules:
        assert r["script"] and (REPO / r["script"]).is_file(), r
        assert {"meta.json", "table.csv", "comparison.csv"} <= set(r["outputs"]), r
    ids = [r["exhibit"] for r in rules]
    assert len(ids) == len(set(ids)), "an exhibit is written by two rules"


def test_the_registry_and_the_workflow_name_the_same_exhibit_rules(rules):
    """Every rule writing results/exhibits/<id>/meta.json is the registry's rule of <id>, with its
    script and outputs; and every registered exhibit has such a rule."""
    from workflow_build import load_workflow_rules

    m = _module()
    writers = {}
    for rule in load_workflow_rules(REPO):
        for f in map(str, rule.output):
            if f.startswith("results/exhibits/") and f.endswith("/meta.json"):
                writers[f.split("/")[2]] = rule
    assert set(writers) == {r["exhibit"] for r in rules}
    for r in rules:
        rule = writers[r["exhibit"]]
        assert rule.name == r["rule"], r
        assert (Path(rule.snakefile).parent / rule.script).resolve() == (REPO / r["script"]).resolve(), r
        written = {Path(str(f)).name for f in rule.output if str(f).startswith(f"results/exhibits/{r['exhibit']}/")}
        assert written == set(r["outputs"]), r
    assert m.exhibit_rules()[0].status == "ok"


def test_the_check_fails_on_a_stale_table_and_the_script_fixes_it(tmp_path):
    readme = tmp_path / "README.md"
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = _module()
    stale = m.replace_between_markers(text, "| Exhibit | ... |\n| 99 | gone |\n")
    readme.write_text(stale, encoding="utf-8")
    assert _run("--check", "--readme", str(readme)).returncode == 1
    assert _run("--readme", str(readme)).returncode == 0
    assert _run("--check", "--readme", str(readme)).returncode == 0
    fixed = readme.read_text(encoding="utf-8")
    # only the text between the markers changed
    before, after = text.split(m.START)[0], text.split(m.END)[1]
    assert fixed.startswith(before) and fixed.endswith(after)


def test_render_and_replace():
    m = _module()
    row = m.ExhibitRule(exhibit="14a", rule="ex14a_paths", family="rq1_models",
                        script="workflow/scripts/ex14a.py", outputs=["table.csv", "meta.json"],
                        description="Direct | mediated paths", needs=["students", "teachers"])
    table = m.render_table([row])
    assert ("| 14a | Direct \\| mediated paths | students, teachers | `ex14a_paths` (rq1_models) | "
            "`workflow/scripts/ex14a.py` | `table.csv`, `meta.json` |") in table
    row.status = "not available: needs teachers"
    assert "| Direct \\| mediated paths (not available: needs teachers) |" in m.render_table([row])
    assert m.render_table([]) == "No exhibit rule in the workflow yet.\n"
    doc = f"# T\n\n{m.START}\nold\n{m.END}\n\nrest\n"
    assert m.replace_between_markers(doc, "new\n") == f"# T\n\n{m.START}\nnew\n{m.END}\n\nrest\n"
    with pytest.raises(ValueError, match="exhibit-table"):
        m.replace_between_markers("# no markers\n", "x")
    with pytest.raises(ValueError):
        m.replace_between_markers(doc + doc, "x")
