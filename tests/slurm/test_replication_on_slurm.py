"""A small Monte Carlo replication study through profiles/slurm on a real Slurm (see
conftest.py) gives byte for byte the results of the same study run locally with the same seed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from workflow_build import copy_repository  # noqa: E402

# 2 cells x 2 batches of 2 replicates: the profile bundles the 4 batches into one Slurm job,
# then the summary runs as a second one.
TINY_STUDY = """\
replication:
  seed: 4242
  cohort_sizes: [300, 500]
  share_black: [0.46]
  replicates: 4
  batch_size: 2
"""
N_BATCH_FILES = 4
COMPARED = ["results/replication/summary.csv", "results/replication/cohort_size_for_power.csv",
            "results/exhibits/replication/table.csv"]


def _copy_repository(dst: Path) -> None:
    """The repository's sources (its results/ is never touched) and the tiny study's config."""
    copy_repository(dst)
    (dst / "replication_test.yaml").write_text(TINY_STUDY)


def _clean_env() -> dict[str, str]:
    # a profile from the caller's environment or Slurm variables of an enclosing job would
    # change what is tested
    env = {key: value for key, value in os.environ.items()
           if key != "SNAKEMAKE_PROFILE" and not key.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _snakemake(workdir: Path, *args: str, timeout: float) -> str:
    command = [sys.executable, "-m", "snakemake", "replication", *args,
               "--configfile", "replication_test.yaml"]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout,
                            env=_clean_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed in {workdir}:\n{output[-6000:]}"
    return output


def test_replication_study_on_slurm_equals_the_local_run(local_slurm, tmp_path):
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    for d in (slurm_dir, local_dir):
        _copy_repository(d)

    # the local run alongside: the Slurm run mostly waits on the scheduler
    with ThreadPoolExecutor(1) as pool:
        local_run = pool.submit(_snakemake, local_dir, "--cores", "2", timeout=1800)
        started = time.monotonic()
        # the command the README documents; profiles/default is applied on top of profiles/slurm
        slurm_output = _snakemake(slurm_dir, "--profile", "profiles/slurm", timeout=1800)
        slurm_seconds = time.monotonic() - started
        local_run.result()

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
    print(f"replication study through Slurm took {slurm_seconds:.1f} s")
