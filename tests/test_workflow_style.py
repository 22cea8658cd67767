"""The rule files as snakefmt formats them and as `snakemake --lint` accepts them.

CI checks both before the tests run; checking here too means a local `pytest` catches what would
otherwise only fail CI.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflow_build import REPO


def _tool(name):
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def test_rule_files_are_snakefmt_formatted():
    run = subprocess.run([_tool("snakefmt"), "--check", "Snakefile", "workflow/rules"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_snakemake_lint_finds_nothing():
    run = subprocess.run([_tool("snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
