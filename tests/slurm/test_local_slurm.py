"""Jobs and a Snakemake workflow on a real single-node Slurm (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from slurm_runs import Run, background, clean_env

pytestmark = pytest.mark.slurm

N_BATCHES = 4

# Scatter (4 small batches, which profiles/slurm bundles into one Slurm job
# through its group for rule replicate_batch) and gather. Each job also
# records where it ran: the Python interpreter and the Slurm job id.
WORKFLOW = textwrap.dedent(
    f"""
    import json, os, random, sys

    BATCHES = range({N_BATCHES})


    def record_where(path):
        with open(path, "w") as f:
            json.dump({{"python": sys.executable,
                       "slurm_job_id": os.environ.get("SLURM_JOB_ID")}}, f)


    rule all:
        input: "summary.json"


    rule replicate_batch:
        output:
            draws="batches/{{batch}}.json",
            where="where/replicate_batch_{{batch}}.json",
        run:
            rng = random.Random(1000 + int(wildcards.batch))
            draws = [rng.gauss(0.0, 1.0) for _ in range(200)]
            with open(output.draws, "w") as f:
                json.dump({{"batch": int(wildcards.batch), "n": len(draws),
                           "sum": sum(draws)}}, f)
            record_where(output.where)


    rule summarise:
        input: expand("batches/{{batch}}.json", batch=BATCHES)
        output:
            summary="summary.json",
            where="where/summarise.json",
        run:
            parts = [json.load(open(p)) for p in input]
            n = sum(p["n"] for p in parts)
            with open(output.summary, "w") as f:
                json.dump({{"n": n, "mean": sum(p["sum"] for p in parts) / n}}, f)
            record_where(output.where)
    """
)


@background("profile")
def _start_profile_runs(local_slurm, folder: Path) -> dict[str, Run]:
    """The workflow through profiles/slurm, and locally for contrast."""
    runs = {}
    for name, args in {"slurm": ("--profile", str(local_slurm.profile_dir)), "local": ("--cores", "2")}.items():
        workdir = folder / name
        workdir.mkdir(parents=True)
        (workdir / "Snakefile").write_text(WORKFLOW)
        runs[name] = Run(workdir, *args)
    return runs


def _slurm_job_state(job_id: str) -> str:
    """State of a job as squeue shows it (finished jobs stay for MinJobAge)."""
    result = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format=%T", f"--jobs={job_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _wait_for_job_end(job_id: str, timeout: float = 600.0) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = _slurm_job_state(job_id)
        if state in {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}:
            return state
        time.sleep(0.5)
    raise AssertionError(f"Slurm job {job_id} still '{state}' after {timeout} s")


def _submit(tmp_path: Path, name: str, script: str) -> str:
    result = subprocess.run(
        ["sbatch", "--parsable", f"--chdir={tmp_path}", f"--output={tmp_path / name}.out",
         f"--job-name={name}", "--wrap", script],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert result.returncode == 0, f"sbatch failed: {result.stderr}"
    return result.stdout.strip().split(";")[0]


def test_sbatch_wrap_job_completes_and_failure_is_reported(local_slurm, tmp_path):
    ok_job = _submit(tmp_path, "ok", "echo ran-on-$(hostname) > marker.txt; echo stdout-line")
    failing_job = _submit(tmp_path, "failing", "exit 3")

    assert _wait_for_job_end(ok_job) == "COMPLETED", local_slurm.log_tail()
    assert (tmp_path / "marker.txt").read_text().startswith("ran-on-")
    assert (tmp_path / "ok.out").read_text().strip() == "stdout-line"
    # A job that exits non-zero must not pass as completed.
    assert _wait_for_job_end(failing_job) == "FAILED"


@pytest.mark.slow
@pytest.mark.reads_background_run
def test_workflow_through_slurm_profile_equals_local_run(background_runs):
    runs = background_runs["profile"]
    runs["slurm"].output()
    runs["local"].output()
    slurm_dir, local_dir = runs["slurm"].workdir, runs["local"].workdir

    outputs = ["summary.json"] + [f"batches/{batch}.json" for batch in range(N_BATCHES)]
    for name in outputs:
        assert (slurm_dir / name).read_bytes() == (local_dir / name).read_bytes(), name
    summary = json.loads((slurm_dir / "summary.json").read_text())
    assert summary["n"] == 200 * N_BATCHES

    where = {
        path.stem: json.loads(path.read_text()) for path in (slurm_dir / "where").glob("*.json")
    }
    assert len(where) == N_BATCHES + 1
    # Jobs ran under Slurm, with the interpreter that ran Snakemake here.
    for job, info in where.items():
        assert info["slurm_job_id"], f"{job} did not run in a Slurm job"
        assert os.path.realpath(info["python"]) == os.path.realpath(sys.executable), job
    # The profile's group bundles all batches into one Slurm job.
    batch_job_ids = {where[f"replicate_batch_{b}"]["slurm_job_id"] for b in range(N_BATCHES)}
    assert len(batch_job_ids) == 1, batch_job_ids
    assert where["summarise"]["slurm_job_id"] not in batch_job_ids
    # The local run, for contrast, ran outside Slurm.
    local_where = json.loads((local_dir / "where" / "summarise.json").read_text())
    assert local_where["slurm_job_id"] is None

    print(f"workflow through Slurm took {runs['slurm'].seconds:.1f} s")
