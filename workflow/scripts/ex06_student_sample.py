"""Exhibit 6: student sample by data source.

Per site: consented students, surveys (by the subject the survey asked about) and
focus-group students (all-Black and mixed-race groups). Focus groups are counted as the
sites with participants of that kind: the report held one group of each kind per school,
and the data record a student's kind of group, not a group id.

Small cells are suppressed separately in the two blocks whose sums are shown (surveys by
subject add up to a site's surveys; focus-group students add up to the published totals),
so that no hidden count follows from a total.
"""
import pandas as pd

from lwo.descriptives import (MARKER, data_source_label, exclusion_note, number_row, published_row,
                              read_analysis_table, suppress_blocks)
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.runner import run

# each block with the shown total its counts add up to
SURVEY_BLOCK = ["surveys_math", "surveys_ela", "surveys"]
FOCUS_BLOCK = ["focus_group_all_black", "focus_group_mixed_race"]


def site_counts(students: pd.DataFrame, sites: list[int]) -> pd.DataFrame:
    surveyed = students[students["surveyed"] == 1]
    rows = []
    for s in sites:
        st, sv = students[students["school_id"] == s], surveyed[surveyed["school_id"] == s]
        rows.append({
            "site": f"Site {s}", "students": len(st), "surveys": len(sv),
            "surveys_math": int((sv["subject"] == "math").sum()),
            "surveys_ela": int((sv["subject"] == "ela").sum()),
            "focus_group_all_black": int((st["focus_group"] == "all-Black").sum()),
            "focus_group_mixed_race": int((st["focus_group"] == "mixed-race").sum()),
        })
    return pd.DataFrame(rows)


def main(sm):
    published = published_rows(sm.input.published, "6")
    students = read_analysis_table(sm.input.students)
    min_cell = int(sm.params.min_cell)
    sites = sorted(students["school_id"].dropna().astype(int).unique())

    counts = site_counts(students, sites)
    totals = counts.drop(columns="site").sum().to_dict()
    shown, suppression = suppress_blocks(counts, [SURVEY_BLOCK, FOCUS_BLOCK, ["students"]],
                                         min_cell=min_cell, unit="students")
    total_row, _ = suppress_small_cells(pd.DataFrame([{"site": "All sites", **totals}]),
                                        list(totals), min_cell=min_cell, complementary="none",
                                        marker=MARKER, unit="students")
    table = pd.concat([shown, total_row], ignore_index=True)

    groups = {kind: int(students.loc[students["focus_group"] == kind, "school_id"].nunique())
              for kind in ("all-Black", "mixed-race")}
    reproduced = {
        "students": totals["students"], "surveys": totals["surveys"],
        "surveys_math": totals["surveys_math"], "surveys_ela": totals["surveys_ela"],
        "students_per_school_min": counts["students"].min(),
        "students_per_school_max": counts["students"].max(),
        "focus_groups": groups["all-Black"] + groups["mixed-race"],
        "focus_group_students": totals["focus_group_all_black"] + totals["focus_group_mixed_race"],
        "focus_groups_all_black": groups["all-Black"],
        "focus_group_students_all_black": totals["focus_group_all_black"],
        "focus_groups_mixed": groups["mixed-race"],
        "focus_group_students_mixed": totals["focus_group_mixed_race"],
    }
    comparison = [number_row(published_row(published, key), float(value))
                  for key, value in reproduced.items()]

    no_subject = int((students["surveyed"].eq(1) & students["subject"].isna()).sum())
    notes = [
        "Surveys by subject: the class the survey asked about; "
        f"{no_subject} surveys have no recorded subject (counted under surveys only).",
        "Focus groups are counted as sites with participants of that kind (one all-Black and "
        "one mixed-race group per school, as the report describes).",
        "Missing data: counts, no exclusions; "
        + exclusion_note(int((students["surveyed"] != 1).sum()),
                         "consented students without a survey (counted under students only)")
        + ".",
        suppression + " Survey and focus-group blocks are suppressed separately so that no "
        "hidden count follows from a shown total.",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(sm.input.summary),
    ]
    write_exhibit(sm.output, exhibit="6", title="Student sample by data source",
                  section="Study design", table=table, comparison=comparison,
                  caption="Consented students, surveys by subject and focus-group students "
                          "per site.",
                  notes=notes)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
