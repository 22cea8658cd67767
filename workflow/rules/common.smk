# Shared helpers of all rule files.
import json
import os
from pathlib import Path

# Scripts import the shared package `lwo` from workflow/ (jobs inherit the environment,
# on a cluster too), so the pipeline needs no install step of its own.
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(Path(workflow.basedir) / "workflow"), os.environ.get("PYTHONPATH")) if p)
)
# One software environment for every rule: the pinned one of environment.yml.
CONDA_ENV = "../../environment.yml"

# Every exhibit rule registers its outputs here; `rule all` builds them all and the report reads them.
EXHIBIT_TARGETS = []
EXHIBIT_META = []
# report.smk adds results/report.html and its provenance here
REPORT_TARGETS = []

RESULTS = "results"
SAMPLES = config["samples"]


def per_sample(paths):
    """{name_i: path with sample i} for every configured sample: the named outputs (or logs) of a
    job that fits one model on every sample. `paths`: name -> path with a {sample} field."""
    return {
        f"{name}_{i}": path.replace("{sample}", sample)
        for i, sample in enumerate(SAMPLES)
        for name, path in paths.items()
    }


def exhibit_outputs(exhibit, figure=True, tex=True):
    """Named outputs of one exhibit (see workflow/lwo/exhibit.py)."""
    d = f"{RESULTS}/exhibits/{exhibit}"
    out = {"table": f"{d}/table.csv", "comparison": f"{d}/comparison.csv", "meta": f"{d}/meta.json"}
    if tex:
        out["tex"] = f"{d}/table.tex"
    if figure:
        out["png"] = f"{d}/figure.png"
        out["svg"] = f"{d}/figure.svg"
    EXHIBIT_TARGETS.extend(out.values())
    EXHIBIT_META.append(out["meta"])
    if figure:
        # exhibit figures also appear in Snakemake's own report (snakemake --report)
        out["png"] = report(
            out["png"],
            caption="../templates/snakemake_exhibit.rst",
            category="Exhibits",
            labels={"exhibit": exhibit, "file": "figure"},
        )
    return out


def exhibit_inputs(ex):
    """The named inputs of an exhibit's rule (exhibits.smk), in the order of its registry entry's
    `inputs` (workflow/exhibits.yaml). Uses fit_files/bootstrap_files of rq1_models.smk."""
    samples = SAMPLES if ex.samples == "config" else ex.samples
    paths = {
        **{t: analysis_data()[t] for t in ("students", "classrooms", "teachers", "observations", "summary")},
        "codebook": config["codebook"],
        "published": config["published_values"],
        **ex.files,
    }
    named = {}
    for name in ex.inputs:
        if name == "fits":
            named[name] = [f for s in samples for f in fit_files(s, *ex.models)]
        elif name == "boot":
            named[name] = [f for s in samples for f in bootstrap_files(s, *ex.models)]
        elif name == "fits_by_sample":
            d = {s: f"{MODELS_DIR}/{s}/{ex.models[0]}" for s in samples}
            named |= {f"estimates_{s}": f"{d[s]}/estimates.csv" for s in samples}
            named |= {f"fit_{s}": f"{d[s]}/fit.json" for s in samples}
        elif name == "saved_fit":
            d = f"{MODELS_DIR}/{samples[0]}/{ex.models[0]}"
            named |= {k: f"{d}/{k}.{'json' if k == 'fit' else 'csv'}" for k in ("estimates", "standardized", "fit")}
        else:
            named[name] = paths[name]
    return {**named, "code": shared_code(ex.script)}


def exhibit_files(ex):
    """Its outputs: the standard files (exhibit_outputs) and its extra ones."""
    d = f"{RESULTS}/exhibits/{ex.id}"
    extra = {k: f"{d}/{f}" for k, f in ex.extra_outputs.items()}
    EXHIBIT_TARGETS.extend(extra.values())  # the report shows them: its inputs
    return {**exhibit_outputs(ex.id, figure=ex.figure, tex=ex.tex), **extra}


def exhibit_rule(ex):
    """Define one registered exhibit's Snakemake rule (exhibits.smk). It is a function, not a loop
    body, because Snakemake evaluates the `script` path of a rule when its job runs, in the scope
    the rule was written in; each generated rule needs a scope of its own holding its entry."""

    rule:
        name:
            ex.rule
        input:
            **exhibit_inputs(ex),
        output:
            **exhibit_files(ex),
        log:
            f"{RESULTS}/logs/{ex.job_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/{ex.job_name}.tsv"
        conda:
            CONDA_ENV
        params:
            **{p: EXHIBIT_PARAMS[p] for p in ex.params},
        script:
            f"../scripts/{ex.script}"

    # a generated rule has no docstring of its own; `snakemake --list-rules` shows this one
    workflow.get_rule(ex.rule).docstring = ex.title


def synthetic():
    return config["data"]["source"] == "synthetic"


TABLES = ("students", "classrooms", "teachers", "observations")


def available_tables():
    """Names of the input tables present: all four for the synthetic cohort; for real data the
    ones data.files names (students always; an exhibit needing another table is not built)."""
    if synthetic():
        return set(TABLES)
    return set(config["data"]["files"])


def raw_tables():
    """The input tables present: the synthetic cohort's, or the real files named in the config."""
    if synthetic():
        return {t: f"{RESULTS}/data/synthetic/{t}.csv" for t in TABLES}
    return {t: config["data"]["files"][t] for t in TABLES if t in available_tables()}


def analysis_data():
    """Validated, typed tables with scale scores (what every analysis reads) and the data
    summary. The paths of all four tables, so that every rule parses; rule analysis_data
    writes only those of available_tables(), and rules reading another are left out of the build."""
    d = f"{RESULTS}/data/analysis"
    return {**{t: f"{d}/{t}.csv" for t in TABLES}, "summary": f"{d}/data_summary.json"}


# -- the data template's dictionary (data_template) --------------------------------------------
import re as _re

DATA_TEMPLATE_DIR = f"{RESULTS}/data_template"
_EXHIBIT_META = _re.compile(rf"^{RESULTS}/exhibits/([^/]+)/meta\.json$")
_MODEL_FILE = _re.compile(rf"^{RESULTS}/models/([^/]+)/([^/]+)/")


def exhibit_model_fits():
    """Exhibit id -> the (sample, model) fits read by its job, from the jobs' inputs; the data
    dictionary's 'exhibits' column for the columns that the models use."""
    out = {}
    for r in workflow.rules:
        ids = [m.group(1) for f in r.output if (m := _EXHIBIT_META.match(str(f)))]
        fits = sorted({m.groups() for f in r.input if (m := _MODEL_FILE.match(str(f)))})
        for exhibit in ids:
            if fits:
                out[exhibit] = fits
    return out


def config_slice(*keys):
    """A part of the config as a params value: a rule reruns when (and only when) it changes."""
    node = config
    for k in keys:
        node = node[k]
    return json.dumps(node, sort_keys=True)


EXHIBIT_PARAMS = {"min_cell": config["privacy"]["min_cell"], "estimation": config_slice("estimation")}


# -- the shared package as an input of the jobs that use it --------------------------------
import ast
import functools

_LWO_DIR = Path(workflow.basedir) / "workflow" / "lwo"


def _module_file(parts, package_dir=_LWO_DIR):
    base = package_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# an import statement at the start of a line, at any depth (a parenthesised name list may span lines)
_IMPORT_STATEMENT = _re.compile(
    r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)|import[ \t]+[^\n]*)", _re.M
)


def _import_nodes(source):
    """The import statements of a Python source. Parsing only them, not the whole file, saves
    a third of a second on every Snakemake start; a docstring line that reads like an import
    but is not valid Python is skipped."""
    for match in _IMPORT_STATEMENT.finditer(source):
        try:
            yield from ast.parse(match.group(0).strip()).body
        except SyntaxError:
            pass


@functools.lru_cache(maxsize=None)
def _imported_lwo_files(path):
    """Files of the package `lwo` that one Python file imports (absolute or relative)."""
    found = set()
    for node in _import_nodes(Path(path).read_text(encoding="utf-8")):
        if isinstance(node, ast.ImportFrom) and node.level:
            package = Path(path).parent
            for _ in range(node.level - 1):
                package = package.parent
            prefix = node.module.split(".") if node.module else []
            candidates = [prefix] + [prefix + [a.name] for a in node.names]
            found |= {f for parts in candidates if (f := _module_file(parts, package))}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lwo":
            prefix = node.module.split(".")[1:]
            candidates = [prefix] + [prefix + [a.name] for a in node.names]
            found |= {f for parts in candidates if (f := _module_file(parts))}
        elif isinstance(node, ast.Import):
            found |= {
                f for a in node.names if a.name.split(".")[0] == "lwo" if (f := _module_file(a.name.split(".")[1:]))
            }
    return frozenset(found)


def shared_code(script):
    """The shared-package files a script uses, directly or through other modules. They are
    inputs of its jobs, so editing lwo/x.py reruns exactly the jobs whose code imports it."""
    seen, todo = set(), [Path(workflow.basedir) / "workflow" / "scripts" / script]
    while todo:
        for f in _imported_lwo_files(todo.pop()):
            if f not in seen:
                seen.add(f)
                todo.append(f)
    return sorted(os.path.relpath(f, workflow.basedir) for f in seen)
