"""The package's layers run one way: errors -> data -> cohort -> statistics -> models ->
exhibits -> replication -> report. Every import (a function-local one too) is an edge: the
workflow makes a script's imported package files inputs of its jobs, so an import that runs
the wrong way makes a colour change rerun the model fits."""
from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "workflow" / "lwo"

# Every module of the package has a layer; a new module must be placed here.
LAYERS = {
    "errors": 0, "io": 0, "runner": 0, "registry": 0,
    "codebook": 1, "data": 1, "scoring": 1, "config_check": 1, "dictionary": 1,
    "population": 2, "synthetic": 2, "example": 2,
    "group_stats": 3, "measurement": 3, "ordinal_measurement": 3, "sem": 3,
    "specs": 4, "model_data": 4, "sem_results": 4, "saved_fits": 4,
    "plotting": 5, "exhibit": 5, "diagrams": 5, "descriptives": 5, "descriptive_exhibits": 5,
    "sem_exhibits": 5, "measurement_exhibits": 5, "sample_exhibits": 5, "diagram_exhibits": 5,
    "qualitative_exhibits": 5, "invariance_exhibit": 5,
    "replication": 6, "replication_grid": 6, "replication_figures": 6,
    "report": 7,
}
EXHIBITS, REPORT = 5, 7
# Calculation modules: what the fit, bootstrap and replicate jobs may run. Everything below
# the exhibits layer, and the Monte Carlo study (whose figures live apart from it).
CALCULATION = {m for m, layer in LAYERS.items() if layer < EXHIBITS} | {"replication"}
PRESENTATION = {m for m, layer in LAYERS.items() if layer in (EXHIBITS, REPORT)} | {"replication_figures"}
FIT_JOBS = ("sem_fit", "sem_fit_multigroup", "measurement_cfa", "bootstrap_batch", "replicate_batch")


def module_name(path: Path) -> str:
    """lwo/x.py -> 'x'; every file of the engine lwo/sem/ is the one module 'sem'."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(package modules, top-level outside packages) that one file imports, at any depth."""
    own, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            if path.parent != PACKAGE:  # relative imports within lwo/sem stay in 'sem'
                own.add(module_name(path))
            else:
                own |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "lwo":
                own |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
            else:
                outside.add(parts[0])
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                (own.add(parts[1]) if parts[0] == "lwo" and len(parts) > 1 else outside.add(parts[0]))
    return own, outside


@functools.lru_cache(maxsize=None)  # parsed once per session; the tests only read it
def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    graph: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        m = module_name(path)
        own, outside = _imports(path)
        graph.setdefault(m, set()).update(own - {m})
        external.setdefault(m, set()).update(outside)
    return graph, external


def reachable(graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for n in graph.get(todo.pop(), ()):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return seen


def test_every_module_has_a_layer():
    graph, _ = import_graph()
    assert set(graph) == set(LAYERS), "place new modules in LAYERS (and remove deleted ones)"


def test_imports_run_down_the_layers_only():
    graph, _ = import_graph()
    wrong = [f"{m} (layer {LAYERS[m]}) imports {n} (layer {LAYERS[n]})"
             for m, deps in graph.items() for n in deps if LAYERS[n] > LAYERS[m]]
    assert not wrong, wrong


def test_the_package_has_no_import_cycle():
    graph, _ = import_graph()
    cycles = [m for m in graph if m in reachable(graph, m)]
    assert not cycles, f"modules on an import cycle: {sorted(cycles)}"


def test_no_calculation_module_reaches_presentation_code():
    graph, external = import_graph()
    assert {"sem_results", "measurement", "replication", "model_data"} <= CALCULATION
    for m in sorted(CALCULATION):
        reached = reachable(graph, m) | {m}
        assert not reached & PRESENTATION, f"{m} imports {sorted(reached & PRESENTATION)}"
        plotting_libs = {lib for r in reached for lib in external[r]} & {"matplotlib", "jinja2"}
        assert not plotting_libs, f"{m} imports {sorted(plotting_libs)} (through {sorted(reached)})"


def test_only_the_exhibits_layer_imports_matplotlib():
    _, external = import_graph()
    users = {m for m, libs in external.items() if "matplotlib" in libs}
    assert users and all(LAYERS[m] == EXHIBITS for m in users), users


def _job_code_inputs() -> dict[str, set[str]]:
    """The package files that the dry run lists as inputs of each of the fit and batch jobs."""
    sys.path.insert(0, str(REPO / "workflow"))
    from lwo.codebook import Codebook
    from lwo.specs import rq1_models

    mediation = next(n for n, s in rq1_models(Codebook.load(REPO / "config" / "codebook.yaml")).items()
                     if s.mediators)
    targets = ["all", "rq1_model_fits", "replication", f"results/models/all/{mediation}/bootstrap/batch_0.csv"]
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--forceall", "--nolock",
                           "--cores", "1", *targets], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    inputs: dict[str, set[str]] = {}
    rule = None
    for line in proc.stdout.splitlines():
        line = line.strip()
        if m := re.match(r"^(?:local)?rule (\S+):$", line):
            rule = m.group(1)
        elif rule in FIT_JOBS and line.startswith("input:"):
            inputs.setdefault(rule, set()).update(
                f.strip() for f in line[len("input:"):].split(",") if f.strip().startswith("workflow/"))
    return inputs


def test_fit_and_batch_jobs_do_not_depend_on_plotting_or_report_code():
    inputs = _job_code_inputs()
    assert set(inputs) == set(FIT_JOBS), f"no dry-run job of {set(FIT_JOBS) - set(inputs)}"
    presentation = {f"workflow/lwo/{m}.py" for m in PRESENTATION}
    for rule, files in inputs.items():
        assert "workflow/lwo/sem_results.py" in files or rule == "replicate_batch", (rule, files)
        assert not files & presentation, f"{rule} reruns when {sorted(files & presentation)} change"
        assert not any("scripts/report" in f or "templates" in f for f in files), (rule, files)


# what an exhibit job may not import: each costs it 0.1-1.3 s of CPU, and the exhibits compute
# their statistics in numpy and scipy.special and draw through matplotlib's object API
HEAVY_FOR_EXHIBITS = ["scipy.stats", "scipy.optimize", "statsmodels", "pingouin",
                      "matplotlib.pyplot", "jinja2"]
EXHIBIT_BUILDERS = ["descriptive_exhibits", "sample_exhibits", "qualitative_exhibits",
                    "sem_exhibits", "diagram_exhibits"]


@pytest.mark.parametrize("module", EXHIBIT_BUILDERS)
def test_exhibit_builders_import_no_heavy_library(module):
    """A fresh process that imports the builder module, draws and saves a figure and writes a
    LaTeX table has imported none of HEAVY_FOR_EXHIBITS."""
    code = f"""
import sys, tempfile, pathlib
import pandas as pd
import lwo.{module}
from lwo.exhibit import to_latex
from lwo.plotting import new_figure, save_figure
to_latex(pd.DataFrame({{"a": [1.5], "b": ["x_y"]}}), "caption")
fig, ax = new_figure()
ax.plot([0, 1], [1, 0])
save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "f.png")
print(",".join(m for m in {HEAVY_FOR_EXHIBITS!r} if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "workflow")}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"lwo.{module} imports {proc.stdout.strip()}"
