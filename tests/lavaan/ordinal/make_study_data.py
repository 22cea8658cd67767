"""Writes study_env.csv: the classroom-environment items (peer support, microaggression,
social comparison; 4-point answers) and race of the surveyed students of the default
synthetic cohort, complete cases only. Run from the repository root:
``PYTHONPATH=workflow python tests/lavaan/ordinal/make_study_data.py``."""

from pathlib import Path

import yaml

from lwo.codebook import Codebook
from lwo.population import build_population
from lwo.synthetic import generate_cohort

REPO = Path(__file__).resolve().parents[3]
ITEMS = [f"env_{s}{k}" for s in ("ps", "ma", "sc") for k in range(1, 5)]

if __name__ == "__main__":
    pm = yaml.safe_load((REPO / "config" / "population_model.yaml").read_text(encoding="utf-8"))
    cb = Codebook.load(REPO / "config" / "codebook.yaml")
    students = generate_cohort(pm, cb, seed=20180901, population=build_population(pm, cb))["students"]
    frame = students.loc[students["surveyed"].astype(bool), ["race", *ITEMS]].dropna()
    frame[ITEMS] = frame[ITEMS].astype(int)
    frame.to_csv(Path(__file__).with_name("study_env.csv"), index=False)
