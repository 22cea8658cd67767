"""Snakemake runs through the local Slurm, started in the background.

A run through Slurm mostly waits: on the scheduler and on the executor's status checks (every
10 s and more, as profiles/slurm sets for a real cluster). So a test module here registers how to
start its runs (``@background("name")``), conftest.py starts every registered run as the first
test of this folder starts (the session orders that test first: tests/conftest.py), and the tests
that read a run (marked ``reads_background_run``) run last, when it has long finished; the rest
of the suite runs meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workflow_build import snakemake_env

# name -> start(local_slurm, folder) -> {run name: Run}
STARTERS: dict[str, Callable] = {}


def background(name: str):
    """Register a function that starts the runs a test reads (see the module's docstring)."""

    def register(start: Callable) -> Callable:
        STARTERS[name] = start
        return start

    return register


def clean_env() -> dict[str, str]:
    """Snakemake's test environment (workflow_build.snakemake_env) without a caller's profile or
    the Slurm variables of an enclosing job: they would change what is tested."""
    return {key: value for key, value in snakemake_env().items()
            if key != "SNAKEMAKE_PROFILE" and not key.startswith(("SLURM_", "SBATCH_", "SRUN_"))}


class Run:
    """`python -m snakemake ARGS` running in `workdir`, its output going to a log beside it."""

    def __init__(self, workdir: Path, *args: str):
        self.workdir, self.command = workdir, [sys.executable, "-m", "snakemake", *args]
        self.log = workdir.parent / f"{workdir.name}.log"
        with open(self.log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(self.command, cwd=workdir, env=clean_env(), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.started, self.ended = time.monotonic(), None
        # when it ended, for the report of how long it took (nobody waits on it until a test does)
        threading.Thread(target=self._note_end, daemon=True).start()

    def _note_end(self) -> None:
        self.proc.wait()
        self.ended = time.monotonic()

    def output(self, timeout: float = 1800) -> str:
        """Snakemake's output once it has ended; fails with its end if it failed."""
        self.proc.wait(timeout=timeout)
        text = self.log.read_text(encoding="utf-8", errors="replace")
        assert self.proc.returncode == 0, f"{' '.join(self.command)} failed in {self.workdir}:\n{text[-6000:]}"
        return text

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def stop(self) -> None:
        """End it (its whole process group) if it still runs."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
