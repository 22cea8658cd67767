"""A private copy of the workflow in a temporary folder, for tests that run `snakemake` itself
without touching the repository's results/."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workflow_build import copy_repository  # noqa: E402

ANALYSIS_OUTPUTS = ("students.csv", "teachers.csv", "observations.csv", "classrooms.csv", "data_summary.json")


def copy_workflow(dest: Path) -> Path:
    """A copy of the repository's sources (tests/workflow_build.copy_repository) with an empty
    data/real/ for the real-data files a test puts there."""
    copy_repository(dest)
    (dest / "data" / "real").mkdir(parents=True, exist_ok=True)
    return dest


def snakemake(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    env.pop("PYTHONPATH", None)  # the workflow sets its own
    return subprocess.run([str(Path(bin_dir) / "snakemake"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def fingerprint(paths) -> dict[str, tuple[str, int]]:
    """sha256 and modification time (ns) of each file."""
    out = {}
    for p in paths:
        p = Path(p)
        out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out
