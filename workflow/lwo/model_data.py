"""Model-ready data for the RQ1 models: one row per surveyed student of a sample, with the
columns a model spec names (items, HQC subscale parcels, control dummies, grades).

Missing data (config `estimation.missing`), counted by reason and reported beside every estimate:

* "fiml" (the config default): every surveyed student of the sample with at least one answered item (or
  grade/absence outcome) among the model's variables is kept; unanswered items stay NaN and the
  fit uses full-information ML (lavaan `missing = "ml.x"`). A missing control (a covariate:
  subject, grade level, gender, ELL, special education, prior grade; the school is required) stays NaN too: the
  likelihood integrates over it, so no surveyed student is lost for want of a control.
* "fiml_fixed_x" (lavaan `missing = "ml"`, its default with `fixed.x = TRUE`): as "fiml", but the
  controls are conditioned on, not modelled, so a student missing one is left out.
* "listwise": only students with every model column observed.
* "pairwise" (WLSMV with ordered items, lavaan `missing = "pairwise"`: each statistic from the
  students who answered its variables): the students of "fiml_fixed_x".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.scoring import score_construct
from lwo.specs import GRADE_DUMMIES, SCHOOL_DUMMIES, ModelSpec, parcel

# Grades are in percent points; on a 0-10 scale their variance is near the items', which keeps
# the covariance matrix well conditioned. Standardized estimates do not change.
GRADE_SCALE = 10.0


def school_levels(students: pd.DataFrame) -> list[int]:
    """The schools of the students table, in order: the first is the reference level of the
    models' school dummies (the study's schools 1-4; a district's own ids, as many as it has)."""
    return sorted(int(s) for s in students["school_id"].dropna().unique())


def school_dummies(levels: list[int]) -> list[str]:
    """The models' school controls: a dummy per school but the first (the study's: school_2,
    school_3, school_4)."""
    return [f"school_{s}" for s in levels[1:]]


# the factors whose dummies come from the data, and the study's dummies of each (the specs')
STUDY_DUMMIES = {"school": tuple(SCHOOL_DUMMIES), "subject": ("ela",), "gender": ("female",)}


def data_dummies(students: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """The models' dummies of the factors of STUDY_DUMMIES in this students table: a dummy per
    school but the first; ela and, where a student's class is in another subject, other_subject
    (mathematics the reference of both); female and, where a student's gender is nonbinary,
    nonbinary (male the reference of both)."""
    nonbinary = bool(students["gender"].eq("nonbinary").any())
    other_subject = bool(students["subject"].eq("other").any())
    return {"school": tuple(school_dummies(school_levels(students))),
            "subject": ("ela", "other_subject") if other_subject else ("ela",),
            "gender": ("female", "nonbinary") if nonbinary else ("female",)}


@dataclass
class ModelData:
    data: pd.DataFrame
    n_sample: int
    exclusions: dict[str, int]
    dropped_controls: list[str]
    clusters: pd.Series
    missing: str = "listwise"   # "fiml", "fiml_fixed_x", "pairwise" or "listwise" (module docstring)
    cluster_name: str = "classroom_id"  # the column `clusters` came from
    # dummies left out because their factor's reference level has no student here: the dummy's
    # level is the reference instead (dummy -> where which level is absent, as "school 1 in this sample")
    new_references: dict[str, str] = field(default_factory=dict)
    unrecorded: tuple[str, ...] = ()  # controls left out because no student of the sample has a value
    # the data's dummies of each factor of STUDY_DUMMIES (data_dummies), in place of the spec's
    dummies: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(STUDY_DUMMIES))
    # the columns of survey answers (items, parcels): the note counts unanswered items apart from
    # controls, grades and absences not recorded
    answer_columns: tuple[str, ...] = ()

    @property
    def school_dummies(self) -> tuple[str, ...]:
        return self.dummies["school"]

    def note(self) -> str:
        parts = [f"{n} excluded: {reason}" for reason, n in self.exclusions.items() if n]
        text = f"N = {len(self.data)} of {self.n_sample} surveyed students in the sample"
        if self.missing in ANSWER_CHOICES:
            blank = self.data.drop(columns=["race"], errors="ignore").isna()
            unanswered = blank[list(self.answer_columns)].any(axis=1)
            unrecorded = int((blank.any(axis=1) & ~unanswered).sum())
            how = "full-information ML" if self.missing in FIML_CHOICES else "pairwise deletion"
            text += (f" ({how}: {int(unanswered.sum())} with unanswered items kept"
                     + (f", {unrecorded} more with a control, grade or absences not recorded" if unrecorded else "")
                     + "".join(f"; {p}" for p in parts) + ")")
        else:
            text += (" (" + "; ".join(parts) + "; listwise deletion)") if parts else " (no missing data)"
        moved = self.new_references
        constant = [c for c in self.dropped_controls if c not in moved and c not in self.unrecorded]
        if constant:
            text += f". Constant in this sample, so left out: {', '.join(constant)}"
        if self.unrecorded:
            text += f". No student of this sample has a value, so left out: {', '.join(self.unrecorded)}"
        for dummy, absent in moved.items():
            text += (f". No student of {absent}, so {dummy} is left out and "
                     f"{dummy.replace('_', ' ')} is the reference level")
        if set(self.school_dummies) <= set(constant):
            text += ". One school in this sample, so no school effects"
        return text


def select_sample(students: pd.DataFrame, sample: str) -> pd.DataFrame:
    surveyed = students[students["surveyed"] == 1]
    return surveyed if sample == "all" else surveyed[surveyed["race"] == sample]


def cluster_ids(ids: pd.Series) -> np.ndarray:
    """Cluster ids as text, a row without one a cluster of its own ("no classroom 1", ...):
    never pooled into a shared 'missing' cluster."""
    values = ids.astype("string").fillna("").to_numpy(dtype=object)
    missing = ids.isna().to_numpy()
    values[missing] = [f"no classroom {i + 1}" for i in range(int(missing.sum()))]
    return values


def analysis_columns(students: pd.DataFrame, codebook: Codebook, schools: list[int] | None = None) -> pd.DataFrame:
    """Items, HQC subscale parcels, control dummies and rescaled grades (`schools`: the levels of
    the school dummies, :func:`school_levels`; by default those of `students`)."""
    cols: dict[str, pd.Series] = {}
    for item in codebook.all_items():
        cols[item.id] = students[item.id].astype(float)
    for s in codebook.hqc_subscales():
        cols[parcel(s)] = score_construct(students, codebook, s)
    levels = school_levels(students) if schools is None else schools
    for s, dummy in zip(levels[1:], school_dummies(levels)):
        cols[dummy] = (students["school_id"] == s).astype(float)
    cols["ela"] = students["subject"].map({"ela": 1.0, "math": 0.0, "other": 0.0}).astype(float)
    cols["other_subject"] = students["subject"].map({"ela": 0.0, "math": 0.0, "other": 1.0}).astype(float)
    recorded = students["grade_level"].notna()  # a grade level not recorded is missing, not grade 9
    for g in (10, 11, 12):
        cols[f"grade_{g}"] = (students["grade_level"] == g).astype(float).where(recorded)
    cols["female"] = students["gender"].map({"female": 1.0, "male": 0.0, "nonbinary": 0.0}).astype(float)
    cols["nonbinary"] = students["gender"].map({"female": 0.0, "male": 0.0, "nonbinary": 1.0}).astype(float)
    cols["ell"] = students["ell"].astype(float)
    cols["special_education"] = students["special_education"].astype(float)
    cols["prior_grade"] = students["prior_grade"].astype(float) / GRADE_SCALE
    cols["current_grade"] = students["current_grade"].astype(float) / GRADE_SCALE
    cols["absences"] = students["absences"].astype(float)
    # one concat, not column-by-column insertion (which fragments the frame)
    return pd.concat(cols, axis=1) if cols else pd.DataFrame(index=students.index)


FIML_CHOICES = ("fiml", "fiml_fixed_x")
ANSWER_CHOICES = (*FIML_CHOICES, "pairwise")  # every student with an answer is kept
FIXED_X_CHOICES = ("fiml_fixed_x", "pairwise")  # ... unless a control is missing
NO_ANSWER_REASON = "no answered item in the model"
RECORD_VARIABLES = ("prior_grade", "current_grade", "absences")  # from the records, not the survey
NO_CONTROL_REASONS = {"fiml_fixed_x": "a control missing (listwise on covariates, as lavaan missing = \"ml\")",
                      "pairwise": "a control missing (listwise on covariates, as lavaan missing = \"pairwise\")"}


def model_ready(students: pd.DataFrame, codebook: Codebook, spec: ModelSpec, sample: str,
                constant_within: str | None = None, missing: str = "listwise",
                cluster: str | None = "classroom_id") -> ModelData:
    """The rows and columns one model is fitted on, with the exclusions counted by reason.

    `sample`: 'all', one race, or several races joined by '+' (e.g. 'Black+White', for a
    multi-group model; the data then has a 'race' column). `constant_within`: a column whose
    groups must each vary on a control for it to be kept (a multi-group model needs every
    control to vary within every group). `missing`: "fiml", "fiml_fixed_x", "pairwise" or "listwise" (module docstring);
    `cluster`: the students-table column of cluster ids kept beside the data (classrooms when
    None: the bootstrap resamples them)."""
    if missing not in (*ANSWER_CHOICES, "listwise"):
        raise ValueError(f"estimation.missing must be 'fiml', 'fiml_fixed_x' or 'listwise', not {missing!r}")
    cluster = cluster or "classroom_id"
    if cluster not in students.columns:
        raise ValueError(f"estimation.cluster: the students table has no column {cluster!r}")
    races = sample.split("+")
    chosen = pd.concat([select_sample(students, r) for r in races]) if len(races) > 1 else select_sample(students, sample)
    # the dummies of the whole table (a sample without a school keeps its dummy, as constant, or
    # makes another school the reference: _new_references)
    levels = school_levels(students)
    dummies = data_dummies(students)
    cols = analysis_columns(chosen, codebook, levels)
    controls = _with_dummies(list(spec.controls), dummies)
    if constant_within is None:
        dropped = [c for c in controls if cols[c].nunique(dropna=True) <= 1]
    else:
        by = chosen[constant_within]
        dropped = [c for c in controls if cols[c].groupby(by).nunique(dropna=True).reindex(races, fill_value=0).min() <= 1]
    groups = ({"this sample": cols} if constant_within is None
              else {f"the {r} group": cols[chosen[constant_within] == r] for r in races})
    unrecorded = tuple(c for c in dropped if cols[c].isna().all())
    families = ((dummies["school"], f"school {levels[0]}" if levels else ""), (dummies["subject"], "mathematics"),
                (GRADE_DUMMIES, "grade 9"), (dummies["gender"], "gender male"))
    new_references = _new_references(groups, controls, dropped, families)
    dropped += list(new_references)
    needed = [c for c in (*spec.observed, *controls) if c not in dropped]
    exclusions = {}
    keep = pd.Series(True, index=cols.index)
    if missing in ANSWER_CHOICES:
        covariates = [c for c in needed if c in controls]
        answers = [c for c in needed if c not in covariates]
        no_covariate = cols[covariates].isna().any(axis=1) & (missing in FIXED_X_CHOICES)
        no_answer = keep & ~no_covariate & cols[answers].isna().all(axis=1)
        exclusions = {NO_ANSWER_REASON: int(no_answer.sum())}
        if missing in FIXED_X_CHOICES:
            exclusions = {NO_CONTROL_REASONS[missing]: int(no_covariate.sum()), **exclusions}
        keep = ~no_covariate & ~no_answer
    subject = list(dummies["subject"])
    others = [c for c in controls if c not in (*subject, "prior_grade")]  # dummies and flags of the records
    for reason, columns in (("subject not recorded", subject),
                            ("a control not recorded", others),
                            ("grades missing", [c for c in ("prior_grade", "current_grade") if c in needed]),
                            ("absences missing", ["absences"] if "absences" in needed else []),
                            ("survey answers missing", [c for c in needed if c not in (*others, *subject, *RECORD_VARIABLES)])):
        cols_here = [c for c in columns if c in needed]
        if not cols_here or missing in ANSWER_CHOICES:
            continue
        miss = keep & cols[cols_here].isna().any(axis=1)
        exclusions[reason] = int(miss.sum())
        keep &= ~miss
    data = cols.loc[keep, needed].reset_index(drop=True)
    if len(races) > 1:
        data.insert(0, "race", chosen.loc[keep, "race"].astype(str).to_numpy())
    return ModelData(data, len(chosen), exclusions, dropped, chosen.loc[keep, cluster].reset_index(drop=True),
                     missing, cluster, new_references, unrecorded, dummies,
                     tuple(c for c in needed if c not in (*controls, *RECORD_VARIABLES)))


def _with_dummies(terms: list[str], dummies: dict[str, tuple[str, ...]]) -> list[str]:
    """`terms` with each factor's study dummies (STUDY_DUMMIES) replaced, where the first of them
    stands, by the data's (`dummies`, as data_dummies gives them)."""
    for factor, study in STUDY_DUMMIES.items():
        at = [i for i, t in enumerate(terms) if t.split("*")[-1] in study]
        if at:
            terms = [*terms[:at[0]], *dummies[factor], *(t for i, t in enumerate(terms[at[0]:], at[0]) if i not in at)]
    return terms


def _new_references(groups: dict[str, pd.DataFrame], controls: list[str], dropped: list[str],
                    families: tuple) -> dict[str, str]:
    """The dummies to leave out because their factor's reference level has no student in the
    sample or in one of its groups (a district surveying grades 10-12, or schools 2 and 3): the
    factor's dummies then add up to one on every row, collinear with the intercept, and no model
    with them has an estimate. Leaving out the first one kept makes its level the reference;
    it varies within every group (it is kept), so no group is collinear after.
    `families`: (dummies, the level they leave out) per factor.
    Returns {dummy: "<absent level> in <the sample or group>"}."""
    out = {}
    for family, reference in families:
        kept = [c for c in family if c in controls and c not in dropped]
        recorded = {where: g[kept].dropna() for where, g in groups.items()}  # (a grade level may be missing)
        lacking = [where for where, g in recorded.items() if kept and len(g) and g.sum(axis=1).eq(1).all()]
        if lacking:
            out[kept[0]] = f"{reference} in {' or '.join(lacking)}"
    return out


def model_syntax(spec_syntax: str, md: ModelData) -> str:
    """The spec as fitted to `md`: in every regression the data's school and gender dummies in
    place of the study's, and the controls left out in this sample (`ModelData.dropped_controls`)
    removed."""
    dropped = set(md.dropped_controls)
    if not dropped and md.dummies == STUDY_DUMMIES:
        return spec_syntax
    lines = []
    for line in spec_syntax.splitlines():
        if " ~ " in line and "=~" not in line and not line.lstrip().startswith("#"):
            lhs, rhs = line.split(" ~ ", 1)
            terms = _with_dummies([t.strip() for t in rhs.split("+")], md.dummies)
            line = f"{lhs} ~ " + " + ".join(t for t in terms if t.split("*")[-1] not in dropped)
        lines.append(line)
    return "\n".join(lines)
