"""A real single-node Slurm for the tests in this folder.

The session fixture ``local_slurm`` starts munged, slurmctld and slurmd with
``local_slurm.sh`` and stops them when the session ends, whatever the outcome
(unless another test session on the machine still uses them, or they were
started by hand before).
It skips where the Debian packages (``.ci/install-slurm.sh``) are missing or
the tests do not run as root. ``background_runs`` starts the Snakemake runs
the tests here read, in the background (slurm_runs.py).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_SLURM_SCRIPT = Path(__file__).resolve().parent / "local_slurm.sh"
SLURM_PROFILE_DIR = REPO_ROOT / "profiles" / "slurm"
DEFAULT_STATE_DIR = "/tmp/lwo-slurm"
REQUIRED_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun")
# Daemons live in sbin, which a non-login shell may not have on PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


@dataclass(frozen=True)
class LocalSlurm:
    """A running local Slurm: where its state and logs are, and how to reach it."""

    state_dir: Path
    script: Path
    profile_dir: Path

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the daemons' logs, for failure messages."""
        parts = []
        for log in sorted((self.state_dir / "log").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"---- {log} ----\n" + "\n".join(text))
        return "\n".join(parts)


def _run_script(command: str, state_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(LOCAL_SLURM_SCRIPT), command, str(state_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PATH": _SEARCH_PATH},
    )


def _stop(state_dir: Path) -> None:
    result = _run_script("stop", state_dir)
    if result.returncode != 0:
        # Teardown must not hide the test outcome; say what is left behind.
        print(f"local_slurm.sh stop failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def local_slurm() -> Iterator[LocalSlurm]:
    missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p, path=_SEARCH_PATH) is None]
    if missing:
        pytest.skip(f"Slurm not installed (missing {', '.join(missing)}); run .ci/install-slurm.sh")
    if os.geteuid() != 0:
        pytest.skip("the local Slurm daemons must be started as root")

    state_dir = Path(os.environ.get("LOCAL_SLURM_DIR") or DEFAULT_STATE_DIR)
    # Several test sessions on one machine share one local Slurm: each holds a
    # shared lock on the users file while it runs tests, and starting or
    # stopping happens under an exclusive lock on the control file. The last
    # session to leave stops the daemons if a test session started them (the
    # marker file says so); a Slurm started by hand is left running.
    control = open(state_dir.with_name(state_dir.name + ".control.lock"), "a")
    users = open(state_dir.with_name(state_dir.name + ".users.lock"), "a")
    marker = state_dir / "started-by-pytest"
    try:
        with _locked(control):
            if _run_script("status", state_dir).returncode != 0:
                result = _run_script("start", state_dir)
                if result.returncode != 0:
                    _stop(state_dir)
                    pytest.fail(
                        f"could not start the local Slurm:\n{result.stdout}\n{result.stderr}",
                        pytrace=False,
                    )
                marker.write_text(f"pid {os.getpid()}\n")
            fcntl.flock(users, fcntl.LOCK_SH)
        yield LocalSlurm(state_dir=state_dir, script=LOCAL_SLURM_SCRIPT, profile_dir=SLURM_PROFILE_DIR)
    finally:
        with _locked(control):
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last_user = True
            except BlockingIOError:
                last_user = False
            if last_user and marker.exists():
                _stop(state_dir)
                marker.unlink(missing_ok=True)
        users.close()
        control.close()


@pytest.fixture(scope="session", autouse=True)
def background_runs(local_slurm, tmp_path_factory) -> Iterator[dict]:
    """{name: {run name: Run}} of every registered starter (slurm_runs.py), started as the first
    test here starts; runs still going when the session ends are stopped."""
    from slurm_runs import STARTERS

    runs = {name: start(local_slurm, tmp_path_factory.mktemp(name)) for name, start in STARTERS.items()}
    try:
        yield runs
    finally:
        for group in runs.values():
            for run in group.values():
                run.stop()


@contextmanager
def _locked(lock_file) -> Iterator[None]:
    fcntl.flock(lock_file, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
