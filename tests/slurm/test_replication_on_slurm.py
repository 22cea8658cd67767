"""A small Monte Carlo replication study through profiles/slurm on a real Slurm (see
conftest.py) gives byte for byte the results of the same study run locally with the same seed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from slurm_runs import Run, background

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from workflow_build import copy_repository  # noqa: E402

# 2 cells x 2 batches of 1 replicate (FIML + MLR fits, about a second each): the profile bundles
# the 4 batches into one Slurm job, then the summary runs as a second one.
TINY_STUDY = """\
replication:
  seed: 4242
  cohort_sizes: [300, 500]
  share_black: [0.46]
  replicates: 2
  batch_size: 1
"""
N_BATCH_FILES = 4
COMPARED = ["results/replication/summary.csv", "results/replication/cohort_size_for_power.csv",
            "results/exhibits/replication/table.csv"]


def _copy_repository(dst: Path) -> None:
    """The repository's sources (its results/ is never touched) and the tiny study's config."""
    copy_repository(dst)
    (dst / "replication_test.yaml").write_text(TINY_STUDY)


@background("replication")
def _start_replication_runs(local_slurm, folder: Path) -> dict[str, Run]:
    """The study through profiles/slurm (the command the README documents; profiles/default is
    applied on top of it), and locally with the same seed."""
    runs = {}
    for name, args in {"slurm": ("--profile", "profiles/slurm"), "local": ("--cores", "2")}.items():
        _copy_repository(folder / name)
        runs[name] = Run(folder / name, "replication", *args, "--configfile", "replication_test.yaml")
    return runs


@pytest.mark.reads_background_run
def test_replication_study_on_slurm_equals_the_local_run(background_runs, local_slurm):
    runs = background_runs["replication"]
    slurm_output = runs["slurm"].output()
    runs["local"].output()
    slurm_dir, local_dir = runs["slurm"].workdir, runs["local"].workdir

    # jobs really went through Slurm: the 4 batches bundled into one Slurm job, the summary another
    job_ids = set(re.findall(r"SLURM jobid (\d+)", slurm_output))
    assert len(job_ids) == 2, (job_ids, slurm_output[-3000:], local_slurm.log_tail())

    batches = sorted((slurm_dir / "results/replication/batches").glob("*/*.csv"))
    assert len(batches) == N_BATCH_FILES
    for path in batches:
        name = path.relative_to(slurm_dir)
        assert path.read_bytes() == (local_dir / name).read_bytes(), name
    for name in COMPARED:
        assert (slurm_dir / name).read_bytes() == (local_dir / name).read_bytes(), name
    summary = (slurm_dir / COMPARED[0]).read_text().splitlines()
    assert len(summary) == 1 + 2 * 8  # header, 2 cells x 8 findings
    print(f"replication study through Slurm took {runs['slurm'].seconds:.1f} s")
