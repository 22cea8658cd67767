"""Determinism: the same config and seed give the same bytes.

The workflow is built twice, in two copies of the repository in different folders: the whole of it
with `--cores 4` (the shared default build) and, with `--cores 1`, the exhibits of
workflow_build.DETERMINISM_EXHIBITS: one of every family, and through them every kind of job
(the cohort, the analysis data, every kind of model fit, the invariance sequences). Every output of
the second build is compared with the default build's by sha256: the analysis data, the model
files, the exhibit tables (table.csv, further CSVs, table.tex, comparison.csv, meta.json) and
figures (PNG, SVG). Job logs and benchmarks (timings) record the run itself and are left out. The
report, rerun, keeps its bytes outside the provenance block, and its provenance.json everything but
what describes the run (tests/test_report.py).

What makes this hold: lwo.io writes numbers with a fixed format, JSON with sorted keys, gzip
without a time stamp, and figures without dates or software stamps and with a fixed SVG id
salt (svg.hashsalt); every job runs with one BLAS thread (Snakemake sets OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS to the job's threads, 1 unless a rule asks for more, and the SEM engine
limits itself to one), so sums are taken in the same order whatever `--cores` is.
"""
from __future__ import annotations

import difflib
import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lwo.registry import load_registry
from workflow_build import REPO, job_records, reproducible_digests


def _first_difference(a: Path, b: Path) -> str:
    """Where two versions of an output first differ, for the failure message."""
    da, db = a.read_bytes(), b.read_bytes()
    if a.suffix == ".gz":
        da, db = gzip.decompress(da), gzip.decompress(db)
    try:
        la, lb = da.decode("utf-8").splitlines(), db.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        at = next((i for i, (x, y) in enumerate(zip(da, db)) if x != y), min(len(da), len(db)))
        return f"binary, {len(da)} vs {len(db)} bytes, first difference at byte {at}"
    diff = list(difflib.unified_diff(la, lb, lineterm="", n=0))[2:8]
    return "\n      ".join(line[:200] for line in diff)


@pytest.mark.slow
def test_two_builds_with_different_core_counts_give_the_same_bytes(default_build, cores1_build):
    assert default_build != cores1_build
    first, second = reproducible_digests(default_build), reproducible_digests(cores1_build)

    # the second build made one exhibit of every family and ran every kind of job the default build
    # ran: each rule that is not an exhibit's own (the report aside)
    registry = load_registry()
    made = {f.split("/")[2] for f in second if f.startswith("results/exhibits/")}
    families = {e.family for e in registry if e.target is None}
    assert families == {e.family for e in registry if e.id in made}, "a family has no exhibit in the second build"
    exhibit_rules = {e.rule for e in registry} | {"report"}
    rules = [{r["rule"] for r in job_records(root).values()} for root in (default_build, cores1_build)]
    assert rules[0] - exhibit_rules <= rules[1], f"not run by the second build: {rules[0] - exhibit_rules - rules[1]}"

    # ... and its every output is among the default build's (tables, further CSVs, table.tex,
    # comparison.csv, meta.json, figures, model files), with the same bytes
    for ex in made:
        for name in ("table.csv", "comparison.csv", "meta.json"):
            assert f"results/exhibits/{ex}/{name}" in second, f"exhibit {ex}: {name} not compared"
    assert any(f.endswith(".svg") for f in second) and any(f.endswith(".tex") for f in second)
    assert any(f.startswith("results/models/") for f in second)
    only_second = sorted(set(second) - set(first))
    assert not only_second, f"only in the --cores 1 build: {only_second}"
    differing = sorted(f for f in second if first[f] != second[f])
    details = [f"  {f}\n      {_first_difference(default_build / f, cores1_build / f)}" for f in differing[:10]]
    assert not differing, (f"{len(differing)} of {len(second)} outputs differ between two builds "
                           "(--cores 4 and --cores 1):\n" + "\n".join(details))


# ----------------------------------------------------------------------------------------------
# The writers, without a workflow run
# ----------------------------------------------------------------------------------------------
_DRAW = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from lwo.plotting import save_figure
    from lwo.plotting import mark_data_source, new_figure

    out = Path(sys.argv[1])
    fig, ax = new_figure()
    rng = np.random.default_rng(1)
    for i, label in enumerate(["Black", "White"]):
        ax.bar(np.arange(4) + 0.4 * i, rng.uniform(1, 4, 4), width=0.4, label=label)
    ax.set_xticks(np.arange(4) + 0.2, ["Site 1", "Site 2", "Site 3", "Site 4"])
    ax.set_title("Mean rating by site")
    ax.legend()
    mark_data_source(fig, "synthetic cohort")
    for suffix in ("png", "svg", "pdf"):
        save_figure(fig, out / f"figure.{suffix}", close=False)
""")


def _draw(out: Path, **env) -> dict[str, bytes]:
    out.mkdir(parents=True)
    environ = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), **env)
    environ.pop("MPLBACKEND", None)
    subprocess.run([sys.executable, "-c", _DRAW, str(out)], check=True, env=environ, timeout=120)
    return {p.suffix: p.read_bytes() for p in sorted(out.iterdir())}


def test_figures_are_byte_identical_across_processes_and_carry_no_date(tmp_path):
    """Two processes with different hash seeds, time zones and clocks draw the same figure."""
    first = _draw(tmp_path / "a", PYTHONHASHSEED="1", TZ="UTC")
    second = _draw(tmp_path / "b", PYTHONHASHSEED="2", TZ="America/New_York", SOURCE_DATE_EPOCH="0")
    assert set(first) == {".png", ".svg", ".pdf"}
    for suffix in first:
        assert first[suffix] == second[suffix], f"figure{suffix} differs between two processes"
    svg = first[".svg"].decode("utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    png = first[".png"]
    assert b"tIME" not in png and b"Software" not in png and b"matplotlib" not in png.lower()
    assert b"/CreationDate" not in first[".pdf"] and b"/ModDate" not in first[".pdf"]


def test_json_csv_and_gzip_writers_give_the_same_bytes_for_the_same_content(tmp_path):
    import time

    import pandas as pd

    from lwo.io import write_csv, write_json

    write_json({"b": 1, "a": {"y": 0.1, "x": [1, 2]}}, tmp_path / "1.json")
    write_json({"a": {"x": [1, 2], "y": 0.1}, "b": 1}, tmp_path / "2.json")
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()

    df = pd.DataFrame({"estimate": [0.1 + 0.2, 1 / 3], "n": [892, 869]})
    write_csv(df, tmp_path / "1.csv.gz")
    time.sleep(1.1)  # gzip stores a time stamp unless told not to
    write_csv(df, tmp_path / "2.csv.gz")
    assert (tmp_path / "1.csv.gz").read_bytes() == (tmp_path / "2.csv.gz").read_bytes()
    # a fixed number format: 0.1 + 0.2 is written as 0.300000, not 0.30000000000000004
    assert gzip.decompress((tmp_path / "1.csv.gz").read_bytes()).decode() == (
        "estimate,n\n0.300000,892\n0.333333,869\n")
