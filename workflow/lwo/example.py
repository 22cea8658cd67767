"""District-like exports cut from the synthetic cohort: the worked example (the cohort's student
survey alone with a fifth of the item answers blank) and small-district cases. They are inputs of
the real-data path (data.source: files), not a second data model: every column and value comes
from the synthetic cohort, rows are only chosen and answers only blanked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.codebook import Codebook

# The worked example's nonresponse: a fifth of the item answers blank at random, on top of the
# cohort's own (MAR) holes, as the messiest exports a district sends look.
EXAMPLE_BLANK_SHARE = 0.20
# the folder of generated example files (git-ignored; inside the repository but not confidential)
EXAMPLE_DIR = "results/example"  # = lwo.config_check.EXAMPLE_DIR


def district_export(tables: dict[str, pd.DataFrame], codebook: Codebook, *, seed: int, schools=None,
                    n_students: int | None = None, blank_share: float = 0.05,
                    keep=("students", "classrooms", "teachers", "observations")) -> dict[str, pd.DataFrame]:
    """The tables `keep` of the cohort `tables`, cut to `schools` (all when None).

    Students: `n_students` of the schools' students drawn at random (all when None). Survey
    answers: each item answer of a surveyed student is blank with probability `blank_share`.
    Classrooms, teachers and observations: those of the schools."""
    rng = np.random.default_rng(seed)
    students = tables["students"]
    schools = sorted(students["school_id"].unique()) if schools is None else list(schools)
    students = students[students["school_id"].isin(schools)]
    if n_students is not None and n_students < len(students):
        students = students.loc[np.sort(rng.choice(students.index, size=n_students, replace=False))]
    students = students.reset_index(drop=True).copy()
    items = [i.id for i in codebook.all_items()]
    surveyed = (students["surveyed"] == 1).to_numpy()
    answers = students[items].astype("Float64")
    blank = (rng.random(answers.shape) < blank_share) & surveyed[:, None]
    students[items] = answers.mask(blank).astype("Int64")
    out = {"students": students}
    if {"classrooms", "observations"} & set(keep):
        rooms = tables["classrooms"][tables["classrooms"]["school_id"].isin(schools)]
        out["classrooms"] = rooms.reset_index(drop=True)
    if "teachers" in keep:
        teachers = tables["teachers"]
        out["teachers"] = teachers[teachers["school_id"].isin(schools)].reset_index(drop=True)
    if "observations" in keep:
        obs = tables["observations"]
        out["observations"] = obs[obs["classroom_id"].isin(set(out["classrooms"]["classroom_id"]))]
        out["observations"] = out["observations"].reset_index(drop=True)
    return {t: out[t] for t in keep}


def worked_example(tables: dict[str, pd.DataFrame], codebook: Codebook, seed: int) -> pd.DataFrame:
    """The worked example's student export: every student of the cohort, a fifth of the item
    answers blank at random (`EXAMPLE_BLANK_SHARE`)."""
    return district_export(tables, codebook, seed=seed, blank_share=EXAMPLE_BLANK_SHARE, keep=("students",))["students"]
