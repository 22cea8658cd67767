"""Exhibit 7: teacher sample by data source.

Per site: teachers in the study, survey respondents by subject (mathematics, ELA, other),
interviewed teachers by subject and observed classrooms by subject. A survey respondent is a
teacher with at least one teacher-survey answer.

Teacher counts below the minimum cell size are suppressed by block (subject counts add up to
the site's teachers; interviewed teachers add up to the published total), so that no hidden
count follows from a shown total. Observed classrooms are settings and are shown.
"""
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (MARKER, data_source_label, exclusion_note, number_row, published_row,
                              read_analysis_table, suppress_blocks)
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.runner import run

# each block with the shown total its counts add up to (with full survey response)
SUBJECT_BLOCK = ["survey_math", "survey_ela", "survey_other_subject", "teachers"]
INTERVIEW_BLOCK = ["interviewed_math", "interviewed_ela"]


def main(sm):
    published = published_rows(sm.input.published, "7")
    codebook = Codebook.load(sm.input.codebook)
    teachers = read_analysis_table(sm.input.teachers)
    classrooms = read_analysis_table(sm.input.classrooms)
    observations = read_analysis_table(sm.input.observations)
    min_cell = int(sm.params.min_cell)

    items = [c for c in codebook.teacher_item_ids() + list(codebook.teacher_collaboration_items)
             if c in teachers.columns]
    responded = teachers[items].notna().any(axis=1)
    observed = classrooms[classrooms["classroom_id"].isin(observations["classroom_id"])]
    sites = sorted(teachers["school_id"].dropna().astype(int).unique())

    rows = []
    for s in sites:
        t = teachers["school_id"] == s
        r = t & responded
        o = observed[observed["school_id"] == s]
        rows.append({
            "site": f"Site {s}", "teachers": int(t.sum()),
            "survey_math": int((r & (teachers["subject"] == "math")).sum()),
            "survey_ela": int((r & (teachers["subject"] == "ela")).sum()),
            "survey_other_subject": int((r & ~teachers["subject"].isin(["math", "ela"])).sum()),
            "interviewed_math": int((t & (teachers["interviewed"] == 1)
                                     & (teachers["subject"] == "math")).sum()),
            "interviewed_ela": int((t & (teachers["interviewed"] == 1)
                                    & (teachers["subject"] == "ela")).sum()),
            "classrooms_observed_math": int((o["subject"] == "math").sum()),
            "classrooms_observed_ela": int((o["subject"] == "ela").sum()),
        })
    counts = pd.DataFrame(rows)
    totals = counts.drop(columns="site").sum().to_dict()
    shown, suppression = suppress_blocks(counts, [SUBJECT_BLOCK, INTERVIEW_BLOCK],
                                         min_cell=min_cell, unit="teachers")
    people = SUBJECT_BLOCK + INTERVIEW_BLOCK
    total_row, _ = suppress_small_cells(pd.DataFrame([{"site": "All sites", **totals}]), people,
                                        min_cell=min_cell, complementary="none", marker=MARKER,
                                        unit="teachers")
    table = pd.concat([shown, total_row], ignore_index=True)

    interviewed_any = int((teachers["interviewed"] == 1).sum())
    reproduced = {"teachers": totals["teachers"],
                  "teachers_per_school_min": counts["teachers"].min(),
                  "teachers_per_school_max": counts["teachers"].max(),
                  "teachers_interviewed": interviewed_any,
                  "classrooms_observed": int(observations["classroom_id"].nunique())}
    comparison = [number_row(published_row(published, key), float(value))
                  for key, value in reproduced.items()]

    notes = [
        "Survey respondents: teachers with at least one teacher-survey answer; "
        "survey_other_subject are teachers of subjects other than mathematics and ELA.",
        f"Interviewed teachers of any subject: {interviewed_any}; observed classrooms: "
        f"{reproduced['classrooms_observed']}.",
        "Missing data: counts, no exclusions; "
        + exclusion_note(int((~responded).sum()),
                         "no teacher-survey answer (counted under teachers only)") + ".",
        suppression + " Subject and interview blocks are "
        "suppressed separately so that no hidden count follows from a shown total; observed "
        "classrooms are settings and are shown.",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(sm.input.summary),
    ]
    write_exhibit(sm.output, exhibit="7", title="Teacher sample by data source",
                  section="Study design", table=table, comparison=comparison,
                  caption="Teachers, survey respondents, interviews and observed classrooms "
                          "per site.",
                  notes=notes)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
