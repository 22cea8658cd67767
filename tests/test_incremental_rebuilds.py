"""Incremental rebuilds, proven on the real workflow by the jobs Snakemake plans.

The repository's files are copied into a temporary directory and the default build is run there
once (the session's `default_build`, shared with the report tests). Then, for each change, a dry run
lists the planned jobs and the change is undone:
  (a) a second run plans nothing;
  (b) editing one exhibit's script plans that exhibit and the report, nothing else;
  (c) changing a config parameter plans the rules that use it, what depends on them, and the
      report (which shows the config), nothing else;
  (d) changing the data (the synthetic cohort's seed) plans everything downstream of the data,
      and not the exhibits that do not read it.
What "depends on" means is read from Snakemake's rule graph (`--rulegraph`), and which rules use
a parameter from the rule files' text (for the exhibit rules generated from the exhibit registry,
from their registry entries), so the expected sets do not come from the planner under test.
"""
from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# Running the workflow in a private copy: shared with test_report.py, test_report_browser.py and
# the fault, determinism and privacy tests (tests/workflow_build.py)
from workflow_build import planned_jobs, restored, snakemake


def rule_graph(workdir: Path, *args: str) -> dict[str, set[str]]:
    """{rule: rules that consume its outputs} from `snakemake --rulegraph` (dot)."""
    proc = snakemake(workdir, "--rulegraph", "--forceall", *args)
    labels = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', proc.stdout, flags=re.MULTILINE))
    graph = {name: set() for name in labels.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", proc.stdout, flags=re.MULTILINE):
        graph[labels[a]].add(labels[b])
    if not graph:
        raise AssertionError(f"no rule graph in the output of --rulegraph:\n{proc.stdout[-2000:]}")
    return graph


def downstream(graph: dict[str, set[str]], start) -> set[str]:
    """The rules in `start` and every rule that depends on them, directly or not."""
    seen, todo = set(), list(start)
    while todo:
        r = todo.pop()
        if r not in seen:
            seen.add(r)
            todo.extend(graph.get(r, ()))
    return seen


def exhibit_rules(workdir: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "workflow/scripts/exhibit_index.py", "--json", "--repo", str(workdir)],
                          cwd=workdir, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def rule_bodies(workdir: Path) -> dict[str, str]:
    """{rule: its text} from the rule files (a rule's text runs to the next top-level line)."""
    bodies = {}
    files = [workdir / "Snakefile", *sorted((workdir / "workflow" / "rules").glob("*.smk"))]
    for f in files:
        name, lines = None, []
        for line in f.read_text(encoding="utf-8").splitlines() + [""]:
            m = re.match(r"^(?:rule|checkpoint) (\w+):", line)
            if m or (name and line and not line[0].isspace() and not line.startswith("#")):
                if name:
                    bodies[name] = "\n".join(lines)
                name, lines = (m.group(1), []) if m else (None, [])
            elif name:
                lines.append(line)
        if name:
            bodies[name] = "\n".join(lines)
    return bodies | registry_rule_bodies(workdir)


def registry_rule_bodies(workdir: Path) -> dict[str, str]:
    """{rule: its text} of the exhibit rules exhibits.smk generates from the registry, written as
    the rule's params and script would read by hand (EXHIBIT_PARAMS: min_cell is config privacy)."""
    registry = workdir / "workflow" / "exhibits.yaml"
    if not registry.exists():
        return {}
    from lwo.registry import load_registry

    bodies = {}
    for ex in load_registry(registry):
        if ex.target:
            continue
        params = ['        min_cell=config["privacy"]["min_cell"],' for p in ex.params if p == "min_cell"]
        bodies[ex.rule] = "\n".join(["    params:", *params, "    script:", f'        "../scripts/{ex.script}"'])
    return bodies


# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir(default_build):
    return default_build


@pytest.fixture(scope="module")
def graph(workdir):
    return rule_graph(workdir)


@pytest.mark.slow
def test_a_second_run_plans_nothing(workdir):
    assert planned_jobs(workdir) == {}


@pytest.mark.slow
def test_b_editing_one_exhibit_script_rebuilds_that_exhibit_and_the_report(workdir, graph):
    rules = exhibit_rules(workdir)
    if not rules:
        pytest.skip("the workflow has no exhibit rule yet")
    # the first and the last exhibit, each with a script of its own
    by_script: dict[str, list[str]] = {}
    for r in rules:
        by_script.setdefault(r["script"], []).append(r["rule"])
    candidates = [r for r in rules if r["script"] and len(by_script[r["script"]]) == 1]
    assert candidates, "no exhibit rule has a script of its own"
    for ex in {c["rule"]: c for c in (candidates[0], candidates[-1])}.values():
        script = workdir / ex["script"]
        with restored(script, script.read_text(encoding="utf-8") + "\n# an edit\n"):
            planned = planned_jobs(workdir)
        expected = downstream(graph, [ex["rule"]]) - {"all"}
        assert "report" in expected
        assert set(planned) == expected, f"editing {ex['script']}: planned {sorted(planned)}"
        assert all("Code has changed" in reason for reason in planned[ex["rule"]])
    assert planned_jobs(workdir) == {}, "undoing the edit must leave nothing to do"


# (config section, key, new value) in order of preference: the first one some rule uses is tested
PARAMETERS = [("privacy", "min_cell", 5), ("bootstrap", "resamples", 200), ("bootstrap", "seed", 8)]


@pytest.mark.slow
def test_c_changing_a_parameter_rebuilds_the_rules_that_use_it_and_what_depends_on_them(workdir, graph, tmp_path):
    bodies = {r: b for r, b in rule_bodies(workdir).items() if r in graph and r != "report"}
    chosen = None
    for section, key, value in PARAMETERS:
        uses = re.compile(r"""config\[\s*["']%s["']\s*\]|config_slice\(\s*["']%s["']""" % (section, section))
        users = {r for r, body in bodies.items() if uses.search(body)}
        if users:
            chosen = (section, key, value, users)
            break
    if chosen is None:
        pytest.skip("no rule uses any of the parameters " + ", ".join(f"{s}.{k}" for s, k, _ in PARAMETERS))
    section, key, value, users = chosen
    override = tmp_path / "override.yaml"
    override.write_text(json.dumps({section: {key: value}}), encoding="utf-8")
    planned = planned_jobs(workdir, "--configfile", str(override))

    expected = (downstream(graph, users) | {"report"}) - {"all"}
    assert set(planned) == expected, f"changing {section}.{key}: planned {sorted(planned)}, expected {sorted(expected)}"
    # not vacuous: something depends on it, and most of the workflow does not
    assert users and len(expected) < len(set(graph) - {"all"})
    assert planned_jobs(workdir) == {}


@pytest.mark.slow
def test_d_changing_the_data_rebuilds_everything_downstream_of_it(workdir, graph, tmp_path):
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text(encoding="utf-8"))
    if config["data"]["source"] != "synthetic":
        pytest.skip("the default config does not use the synthetic cohort")
    override = tmp_path / "override.yaml"
    override.write_text(json.dumps({"synthetic": {"seed": config["synthetic"]["seed"] + 1}}), encoding="utf-8")
    planned = planned_jobs(workdir, "--configfile", str(override))

    expected = downstream(graph, ["synthetic_cohort"]) - {"all"}
    assert {"synthetic_cohort", "analysis_data", "report"} <= expected
    assert set(planned) == expected, f"planned {sorted(planned)}, expected {sorted(expected)}"
    # exhibits that read only published data (focus groups, interviews) are not rebuilt
    untouched = set(graph) - expected - {"all"}
    assert not (untouched & set(planned))
    assert planned_jobs(workdir) == {}


def test_rule_bodies_and_downstream_on_a_small_example(tmp_path):
    """The functions the expected job sets come from, on a workflow written out here."""
    (tmp_path / "workflow" / "rules").mkdir(parents=True)
    (tmp_path / "Snakefile").write_text('include: "x"\n\nrule all:\n    input: "b"\n')
    (tmp_path / "workflow" / "rules" / "x.smk").write_text(
        '# comment\nrule a:\n    output: "a"\n    params: m=config["privacy"]["min_cell"]\n'
        '    shell: "touch {output}"\n\n\nX = 1\n\nrule b:\n    input: "a"\n    output: "b"\n')
    bodies = rule_bodies(tmp_path)
    assert set(bodies) == {"all", "a", "b"}
    assert 'config["privacy"]' in bodies["a"] and "privacy" not in bodies["b"]
    graph = {"a": {"b"}, "b": {"all"}, "c": {"all"}, "all": set()}
    assert downstream(graph, ["a"]) == {"a", "b", "all"}
    assert downstream(graph, ["c"]) == {"c", "all"}


def scripts_importing(workdir: Path, module: str) -> set[str]:
    """Rules whose script imports `module`, directly or through other modules, found by
    Python's own modulefinder (independent of how the workflow declares its code inputs)."""
    return {rule for rule, modules in _script_modules(workdir).items() if module in modules}


@functools.cache
def _script_modules(workdir: Path) -> dict[str, frozenset[str]]:
    """Per rule with a script: every module of workflow/ its script imports (once per session:
    modulefinder takes seconds)."""
    import modulefinder

    heavy = ["pandas", "numpy", "scipy", "matplotlib", "statsmodels", "pingouin", "pandera", "yaml",
             "jinja2", "semopy", "threadpoolctl", "sklearn", "pyreadstat", "jsonschema", "snakemake"]
    rules = {}
    for name, body in rule_bodies(workdir).items():
        m = re.search(r'script:\s*"\.\./scripts/([\w.]+\.py)"', body)
        if m:
            finder = modulefinder.ModuleFinder(path=[str(workdir / "workflow")], excludes=heavy)
            finder.run_script(str(workdir / "workflow" / "scripts" / m.group(1)))
            rules[name] = frozenset(finder.modules)
    return rules


@pytest.mark.slow
def test_e_editing_shared_code_rebuilds_the_jobs_whose_scripts_import_it(workdir, graph):
    users = scripts_importing(workdir, "lwo.group_stats")
    assert users and len(users) < len(rule_bodies(workdir)), "the test needs a module some rules use"
    module = workdir / "workflow" / "lwo" / "group_stats.py"
    with restored(module, module.read_text(encoding="utf-8") + "\n# an edit\n"):
        planned = planned_jobs(workdir)
    expected = downstream(graph, users) - {"all"}
    assert set(planned) == expected, f"planned {sorted(planned)}, expected {sorted(expected)}"
    assert planned_jobs(workdir) == {}, "undoing the edit must leave nothing to do"


FIT_RULES = {"sem_fit", "sem_fit_multigroup", "measurement_cfa", "bootstrap_batch", "replicate_batch"}


@pytest.mark.slow
def test_g_editing_the_sem_engine_reruns_every_model_fit(workdir, graph):
    """lwo.sem loads its engine on first use (its attributes import lwo.sem.api and
    lwo.sem.ordinal), not by import statements; editing the engine must rerun every fit all the
    same, and what reads them, but not the diagrams, which import the model syntax alone."""
    fits = {"sem_fit", "sem_fit_multigroup", "measurement_cfa"}
    users = scripts_importing(workdir, "lwo.sem.fiml") & set(graph)  # modulefinder: an upper bound
    assert fits <= users, sorted(users)
    module = workdir / "workflow" / "lwo" / "sem" / "fiml.py"
    with restored(module, module.read_text(encoding="utf-8") + "\n# an edit\n"):
        planned = set(planned_jobs(workdir))
    assert downstream(graph, fits) - {"all"} <= planned, sorted(downstream(graph, fits) - planned)
    assert planned <= downstream(graph, users) - {"all"}, sorted(planned - downstream(graph, users))
    assert not planned & {"ex01_personalization_domains", "ex02_theorized_model"}, sorted(planned)
    assert planned_jobs(workdir) == {}, "undoing the edit must leave nothing to do"


@pytest.mark.slow
def test_f_editing_the_figure_style_plans_figures_and_no_model_fit(workdir):
    style = workdir / "workflow" / "lwo" / "plotting.py"
    text = style.read_text(encoding="utf-8")
    assert '"grid.alpha": 0.3' in text, "the test edits the grid's transparency"
    with restored(style, text.replace('"grid.alpha": 0.3', '"grid.alpha": 0.4')):
        planned = planned_jobs(workdir)
    # the edit reaches the figures (the diagram exhibits too) ...
    assert {"ex08_hqc_measurement", "ex12_hqc_classroom_environment", "ex02_theorized_model", "report"} <= set(planned)
    # ... and nothing that fits a model or reads the data
    assert not set(planned) & (FIT_RULES | {"synthetic_cohort", "analysis_data"}), sorted(planned)
    assert planned_jobs(workdir) == {}, "undoing the edit must leave nothing to do"
