"""A private copy of the workflow in a temporary folder, for tests that run `snakemake` itself
without touching the repository's results/."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANALYSIS_OUTPUTS = ("students.csv", "teachers.csv", "observations.csv", "classrooms.csv", "data_summary.json")


def copy_workflow(dest: Path) -> Path:
    """Snakefile, workflow code, config, profiles and the published values; no results, no real data."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "environment.yml", "requirements.txt"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*.part")
    for folder in ("workflow", "config", "profiles"):
        if (ROOT / folder).exists():
            shutil.copytree(ROOT / folder, dest / folder, ignore=ignore)
    shutil.copytree(ROOT / "data" / "published", dest / "data" / "published", ignore=ignore)
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
