"""District-like exports cut from the synthetic cohort: the worked example (a student survey
from two schools with another race mix and realistic unanswered items) and small-district
cases. They are inputs of the real-data path (data.source: files), not a second data model:
every column and value comes from the synthetic cohort, rows are only chosen and answers only
blanked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.codebook import Codebook

# The worked example's district: two of the cohort's schools and a race mix unlike the study's
# (fewer Black students, more Hispanic), shares of the surveyed students.
EXAMPLE_SCHOOLS = (1, 4)
EXAMPLE_RACE_MIX = {"White": 0.50, "Black": 0.25, "Hispanic": 0.15, "Asian": 0.04, "Multiracial": 0.04,
                    "Other": 0.02}
EXAMPLE_N_STUDENTS = 300
# the folder of generated example files (git-ignored; inside the repository but not confidential)
EXAMPLE_DIR = "results/example"  # = lwo.config_check.EXAMPLE_DIR


def district_export(tables: dict[str, pd.DataFrame], codebook: Codebook, *, seed: int, schools,
                    n_students: int | None = None, race_mix: dict[str, float] | None = None,
                    blank_share: float = 0.05, breakoff_share: float = 0.0,
                    keep=("students", "classrooms", "teachers", "observations")) -> dict[str, pd.DataFrame]:
    """The tables `keep` of the cohort `tables`, cut to `schools`.

    Students: `n_students` of the schools' students (all when None), drawn per race to match
    `race_mix` as far as the schools have such students. Survey answers: each item answer is
    blank with probability `blank_share`, and a `breakoff_share` of surveyed students stop
    answering partway through the last third of the survey (items in codebook order), as
    real surveys do. Classrooms, teachers and observations: those of the schools."""
    rng = np.random.default_rng(seed)
    students = tables["students"]
    students = students[students["school_id"].isin(list(schools))]
    if n_students is not None and n_students < len(students):
        if race_mix:
            parts = []
            for race, share in race_mix.items():
                pool = students.index[students["race"] == race]
                take = min(len(pool), int(round(share * n_students)))
                parts.append(rng.choice(pool, size=take, replace=False))
            chosen = np.concatenate(parts)
        else:
            chosen = rng.choice(students.index, size=n_students, replace=False)
        students = students.loc[np.sort(chosen)]
    students = students.reset_index(drop=True).copy()
    items = [i.id for i in codebook.all_items()]
    surveyed = (students["surveyed"] == 1).to_numpy()
    answers = students[items].astype("Float64")
    blank = rng.random(answers.shape) < blank_share
    stops = surveyed & (rng.random(len(students)) < breakoff_share)
    last_third = len(items) - len(items) // 3
    for row in np.flatnonzero(stops):
        blank[row, rng.integers(last_third, len(items)):] = True
    blank &= surveyed[:, None]
    students[items] = answers.mask(blank).astype("Int64")
    out = {"students": students}
    if {"classrooms", "observations"} & set(keep):
        rooms = tables["classrooms"][tables["classrooms"]["school_id"].isin(list(schools))]
        out["classrooms"] = rooms.reset_index(drop=True)
    if "teachers" in keep:
        teachers = tables["teachers"]
        out["teachers"] = teachers[teachers["school_id"].isin(list(schools))].reset_index(drop=True)
    if "observations" in keep:
        obs = tables["observations"]
        out["observations"] = obs[obs["classroom_id"].isin(set(out["classrooms"]["classroom_id"]))]
        out["observations"] = out["observations"].reset_index(drop=True)
    return {t: out[t] for t in keep}


def worked_example(tables: dict[str, pd.DataFrame], codebook: Codebook, seed: int) -> pd.DataFrame:
    """The worked example's student export: two schools, another race mix, 3% of answers blank
    and 8% of surveyed students breaking off."""
    return district_export(tables, codebook, seed=seed, schools=EXAMPLE_SCHOOLS, n_students=EXAMPLE_N_STUDENTS,
                           race_mix=EXAMPLE_RACE_MIX, blank_share=0.03, breakoff_share=0.08,
                           keep=("students",))["students"]
