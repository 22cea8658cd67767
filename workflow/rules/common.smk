# Shared helpers of all rule files.
import json
import os
from pathlib import Path

# Scripts import the shared package `lwo` from workflow/ (jobs inherit the environment,
# on a cluster too), so the pipeline needs no install step of its own.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (str(Path(workflow.basedir) / "workflow"), os.environ.get("PYTHONPATH")) if p
    )
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


def synthetic():
    return config["data"]["source"] == "synthetic"


def raw_tables():
    """The four input tables: the synthetic cohort's, or the real files named in the config."""
    if synthetic():
        return {t: f"{RESULTS}/data/synthetic/{t}.csv" for t in ("students", "classrooms", "teachers", "observations")}
    return dict(config["data"]["files"])


def analysis_data():
    """Validated, typed tables with scale scores: what every analysis reads."""
    d = f"{RESULTS}/data/analysis"
    return {"students": f"{d}/students.csv", "teachers": f"{d}/teachers.csv",
            "observations": f"{d}/observations.csv", "classrooms": f"{d}/classrooms.csv",
            "summary": f"{d}/data_summary.json"}


def config_slice(*keys):
    """A part of the config as a params value: a rule reruns when (and only when) it changes."""
    node = config
    for k in keys:
        node = node[k]
    return json.dumps(node, sort_keys=True)
