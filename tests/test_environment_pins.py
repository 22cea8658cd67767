"""requirements.txt (pip) and environment.yml (conda) pin the same packages to the same versions."""
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]+\])?==([^\s;]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = (m.group(2) or "", m.group(3))
    return pins


def test_requirements_and_environment_yml_agree():
    req = _pins((REPO / "requirements.txt").read_text().splitlines())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = _pins(pip_section)
    assert req, "no pins found in requirements.txt"
    assert req == conda


def test_every_requirement_is_pinned_exactly():
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"requirements.txt: '{line}' is not pinned with =="
