"""Model-ready data for the RQ1 models: one row per surveyed student of a sample, with the
columns a model spec names (items, HQC subscale parcels, control dummies, grades).

Missing data policy: listwise deletion over the model's own columns, with the count excluded
and why, reported beside every estimate. (Full-information ML would use every answered item;
it is ~60x slower in semopy, and the synthetic cohort has no item missingness. The count of
excluded students makes the choice visible on real data.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.scoring import score_construct
from lwo.specs import CONTROLS, GRADE_CONTROLS, ModelSpec, parcel

# Grades are in percent points; on a 0-10 scale their variance is near the items', which keeps
# the covariance matrix well conditioned. Standardized estimates do not change.
GRADE_SCALE = 10.0


@dataclass
class ModelData:
    data: pd.DataFrame
    n_sample: int
    exclusions: dict[str, int]
    dropped_controls: list[str]
    clusters: pd.Series

    def note(self) -> str:
        parts = [f"{n} excluded: {reason}" for reason, n in self.exclusions.items() if n]
        text = f"N = {len(self.data)} of {self.n_sample} surveyed students in the sample"
        text += (" (" + "; ".join(parts) + "; listwise deletion)") if parts else " (no missing data)"
        if self.dropped_controls:
            text += f". Constant in this sample, so left out: {', '.join(self.dropped_controls)}"
        return text


def select_sample(students: pd.DataFrame, sample: str) -> pd.DataFrame:
    surveyed = students[students["surveyed"] == 1]
    return surveyed if sample == "all" else surveyed[surveyed["race"] == sample]


def analysis_columns(students: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Items, HQC subscale parcels, control dummies and rescaled grades."""
    out = pd.DataFrame(index=students.index)
    for item in codebook.all_items():
        out[item.id] = students[item.id].astype(float)
    for s in codebook.hqc_subscales():
        out[parcel(s)] = score_construct(students, codebook, s)
    for s in (2, 3, 4):
        out[f"school_{s}"] = (students["school_id"] == s).astype(float)
    out["ela"] = students["subject"].map({"ela": 1.0, "math": 0.0})
    for g in (10, 11, 12):
        out[f"grade_{g}"] = (students["grade_level"] == g).astype(float)
    out["female"] = students["gender"].map({"female": 1.0, "male": 0.0})
    out["ell"] = students["ell"].astype(float)
    out["special_education"] = students["special_education"].astype(float)
    out["prior_grade"] = students["prior_grade"].astype(float) / GRADE_SCALE
    out["current_grade"] = students["current_grade"].astype(float) / GRADE_SCALE
    out["absences"] = students["absences"].astype(float)
    return out


def model_ready(students: pd.DataFrame, codebook: Codebook, spec: ModelSpec, sample: str) -> ModelData:
    """The rows and columns one model is fitted on, with the exclusions counted by reason."""
    chosen = select_sample(students, sample)
    cols = analysis_columns(chosen, codebook)
    controls = [c for c in spec.controls]
    dropped = [c for c in controls if cols[c].nunique(dropna=True) <= 1]
    needed = [c for c in (*spec.observed, *controls) if c not in dropped]
    exclusions = {}
    keep = pd.Series(True, index=cols.index)
    for reason, columns in (("subject not recorded", ["ela"]),
                            ("grades missing", [c for c in ("prior_grade", "current_grade") if c in needed]),
                            ("absences missing", ["absences"] if "absences" in needed else []),
                            ("survey answers missing", [c for c in needed if c not in ("ela", "prior_grade", "current_grade", "absences")])):
        cols_here = [c for c in columns if c in needed]
        if not cols_here:
            continue
        miss = keep & cols[cols_here].isna().any(axis=1)
        exclusions[reason] = int(miss.sum())
        keep &= ~miss
    data = cols.loc[keep, needed].reset_index(drop=True)
    return ModelData(data, len(chosen), exclusions, dropped, chosen.loc[keep, "classroom_id"].reset_index(drop=True))


def without_dropped_controls(spec_syntax: str, dropped: list[str]) -> str:
    """The spec with controls that are constant in this sample removed from every regression."""
    if not dropped:
        return spec_syntax
    lines = []
    for line in spec_syntax.splitlines():
        if " ~ " in line and "=~" not in line:
            lhs, rhs = line.split(" ~ ", 1)
            terms = [t.strip() for t in rhs.split("+")]
            terms = [t for t in terms if t.split("*")[-1] not in dropped]
            line = f"{lhs} ~ " + " + ".join(terms)
        lines.append(line)
    return "\n".join(lines)
