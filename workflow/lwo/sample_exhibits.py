"""Builders of the study-design exhibits (3-7 and 11): the sites, the student and teacher
samples and the analytic approaches, from the analysis data and the published values. Each
takes plain arguments (input paths, min_cell, the output paths by name)."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (MARKER, context_row, count_table, data_source_label, exclusion_note, number_row,
                              other_subject_count, published_row, read_analysis_table, share_with_ci,
                              suppress_blocks, suppressed_comparison, with_totals_row_statement)
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.io import read_yaml

SITE_ENROLLMENT_KEY = re.compile(r"^site(\d+)_enrollment$")
CRITERION_SHARE = 0.20  # selection criterion: at least 20% Black and 20% White students


def site_descriptors(published: pd.DataFrame, path: str) -> pd.DataFrame:
    """Site number, type, location and enrollment from the published statements, which read
    "Site 1: public comprehensive, Southeast, approximate enrollment"."""
    rows = []
    for _, pub in published.iterrows():
        m = SITE_ENROLLMENT_KEY.match(pub["key"])
        if not m:
            continue
        head, _, tail = pub["statement"].partition(":")
        parts = [p.strip() for p in tail.split(",")]
        if len(parts) != 3:
            raise ValueError(f"{path}: exhibit 3, key {pub['key']}: expected the statement "
                             f"'Site N: <type>, <location>, approximate enrollment', found "
                             f"{pub['statement']!r}")
        rows.append({"site": int(m.group(1)), "published_type": parts[0],
                     "published_location": parts[1],
                     "published_enrollment": int(float(pub["value"]))})
    return pd.DataFrame(rows).sort_values("site").reset_index(drop=True)


def race_codes(codebook) -> list[str]:
    """The self-reported race values the codebook lists, in its order."""
    with open(codebook, encoding="utf-8") as fh:
        return read_yaml(fh)["student_records"]["race"]["values"]


def site_race_table(surveyed: pd.DataFrame, sites: list[int], races: list[str], min_cell: int):
    """Exhibit 4's table (surveyed students by site and self-reported race, small cells hidden) and
    its suppression statement. Exhibit 3 shows a site's share of Black or White students only where
    this table shows that count: with the site's total here, the share would give it back."""
    return count_table(surveyed, "school_id", "race", row_levels=sites, col_levels=races, min_cell=min_cell,
                       unit="students", row_name="site", row_labels={s: f"Site {s}" for s in sites})


def build_exhibit_3(*, students, teachers, classrooms, observations, summary, codebook, published, min_cell,
                    outputs) -> None:
    """Exhibit 3: characteristics of the participating school sites."""
    pub = published_rows(published, "3")
    students = read_analysis_table(students)
    teachers = read_analysis_table(teachers)
    classrooms = read_analysis_table(classrooms)
    observations = read_analysis_table(observations)
    min_cell = int(min_cell)

    sites = sorted(students["school_id"].dropna().astype(int).unique())
    descriptors = site_descriptors(pub, published)
    observed_rooms = classrooms[classrooms["classroom_id"].isin(observations["classroom_id"])]
    surveyed = students[students["surveyed"] == 1]
    with_race = surveyed.dropna(subset=["race"])

    counts = pd.DataFrame({"site": sites})
    counts["students"] = [int((students["school_id"] == s).sum()) for s in sites]
    counts["surveys"] = [int((surveyed["school_id"] == s).sum()) for s in sites]
    counts["teachers"] = [int((teachers["school_id"] == s).sum()) for s in sites]
    counts["classrooms_observed"] = [int((observed_rooms["school_id"] == s).sum()) for s in sites]
    share = {}
    for race in ("Black", "White"):
        share[race] = [float((with_race.loc[with_race["school_id"] == s, "race"] == race).mean())
                       for s in sites]
        counts[f"share_{race.lower()}_surveyed"] = share[race]
    counts["demographics_meet_criterion"] = [
        "yes" if b >= CRITERION_SHARE and w >= CRITERION_SHARE else "no"
        for b, w in zip(share["Black"], share["White"])]

    table = descriptors.merge(counts, on="site", how="outer").sort_values("site")
    table, suppression = suppress_small_cells(table, ["students", "surveys", "teachers"],
                                              min_cell=min_cell, complementary="both",
                                              marker=MARKER, unit="students or teachers")
    # a share is hidden where Exhibit 4 hides its count, or this table the site's surveys
    by_race, _ = site_race_table(surveyed, sites, race_codes(codebook), min_cell)
    hidden_cells = set(map(tuple, by_race.loc[by_race["n"].eq(MARKER), ["site", "category"]].to_numpy()))
    for race in ("Black", "White"):
        column = f"share_{race.lower()}_surveyed"
        hide = [table.at[i, "surveys"] == MARKER or (f"Site {table.at[i, 'site']}", race) in hidden_cells
                for i in table.index]
        if any(hide):  # rounded here: once the marker is mixed in, the CSV writer cannot format them
            table[column] = table[column].round(6).astype(object).mask(hide, MARKER)

    comparison = [number_row(published_row(pub, "sites"), float(len(sites)))]
    for _, d in descriptors.iterrows():
        comparison.append(context_row(published_row(pub, f"site{d['site']}_enrollment"),
                                      "not in the data files (shown as published)",
                                      "site descriptor published by the report"))
    rounded = descriptors["published_enrollment"]
    derived = {"mean_enrollment": rounded.mean(), "min_enrollment": rounded.min(),
               "max_enrollment": rounded.max()}
    for key, value in derived.items():
        comparison.append(context_row(
            published_row(pub, key), f"{value:g} from the rounded enrollments of the table",
            "the report's exact enrollments are not published; its table rounds them"))

    n_no_survey = int((students["surveyed"] != 1).sum())
    n_race_missing = int(surveyed["race"].isna().sum())
    notes = [
        "Site type, location and approximate enrollment are published context from the "
        "report (the data files have no site descriptors); every other column is computed "
        "from the data.",
        "Demographic criterion: at least 20% Black and at least 20% White among the site's "
        "surveyed students (the report applied it to school enrollment, which the data do "
        "not contain).",
        "Missing data: shares use surveyed students with a self-reported race; "
        + exclusion_note(n_no_survey, "no survey (race is self-reported on the survey)")
        + "; " + exclusion_note(n_race_missing, "race not reported on the survey") + ".",
        suppression + " The rule applies to counts of students and teachers; classrooms "
        "are settings, not people, and are shown. A site's share of Black or White students is hidden "
        "where Exhibit 4 hides that count or this table the site's surveys (with the totals, the share "
        "would give the count back).",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(summary),
    ]
    own = [s for s in sites if s not in set(descriptors["site"])]
    if own:  # a district's own school ids: its rows and the study's are different schools
        notes.insert(1, f"The data's school ids {', '.join(map(str, own))} are not the study's sites "
                        f"({', '.join(map(str, descriptors['site']))}): the published rows describe the study's "
                        "schools, the others the data's.")
    write_exhibit(outputs, exhibit="3", title="Characteristics of participating school sites",
                  section="Study design", table=table, comparison=comparison,
                  caption="Published site descriptors beside the study sample at each site.",
                  notes=notes)


def build_exhibit_4(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 4: racial/ethnic composition of the participating sites."""
    from lwo.descriptive_exhibits import stacked_shares_figure  # here: the table-only exhibits need no matplotlib

    published = published_rows(published, "4")
    races = race_codes(codebook)
    students = read_analysis_table(students)
    min_cell = int(min_cell)

    sample = students[students["surveyed"] == 1]
    sites = sorted(students["school_id"].dropna().astype(int).unique())
    table, suppression = site_race_table(sample, sites, races, min_cell)
    hidden_cells = set(map(tuple, table.loc[table["n"].eq(MARKER), ["site", "category"]].to_numpy()))

    comparison = []
    known = sample.dropna(subset=["race"])
    for race in ("Black", "White"):
        shares = known.groupby("school_id")["race"].apply(lambda r: float((r == race).mean()))
        pub = published_row(published, f"min_share_{race.lower()}_site")
        lowest_site = int(shares.idxmin())
        # the share of a hidden count, times the site's shown total, is that count
        lowest = MARKER if (f"Site {lowest_site}", race) in hidden_cells else f"{shares.min():.2f}"
        comparison.append(compare_statement(
            pub, f"lowest site share {race}: {lowest} (site {lowest_site})",
            bool(shares.min() >= float(pub["value"])),
            f"every site's share in the study sample at or above {float(pub['value']):.2f}"))

    notes = [
        "Shares are of the study's surveyed students at each site (school enrollment "
        "composition is not in the data).",
        "Missing data: " + exclusion_note(int((students["surveyed"] != 1).sum()),
                                          "no survey (race is self-reported on the survey)")
        + "; " + exclusion_note(int(sample["race"].isna().sum()), "race not reported") + ".",
        suppression + " Percentages of suppressed cells are not shown.",
        "Multiple comparisons: none (no tests in this exhibit).",
    ]
    source = data_source_label(summary)
    figure = stacked_shares_figure(table, "site", races,
                                   title="Self-reported race of surveyed students, by site",
                                   source=source, suppression=suppression)
    write_exhibit(outputs, exhibit="4", title="Racial/ethnic composition of participating sites",
                  section="Study design", table=table, comparison=comparison, figure=figure,
                  caption="Self-reported race of the surveyed students at each site.",
                  notes=notes + ["Data: " + source])


def survey_race_figure(table: pd.DataFrame, source: str, suppression: str):
    from lwo.descriptive_exhibits import footnote  # here: the table-only exhibits need no matplotlib
    from lwo.plotting import GROUP_COLOURS, mark_data_source, new_figure

    shown = table[(table["race"] != "All surveyed") & (table["n"] != MARKER)]
    fig, ax = new_figure(figsize=(6.4, 3.4))
    y = np.arange(len(shown))[::-1]
    share = shown["share"].astype(float).to_numpy() * 100
    lo = share - shown["ci_low"].astype(float).to_numpy() * 100
    hi = shown["ci_high"].astype(float).to_numpy() * 100 - share
    colours = [GROUP_COLOURS.get(r, "#777777") for r in shown["race"]]
    ax.barh(y, share, color=colours, height=0.6)
    ax.errorbar(share, y, xerr=[lo, hi], fmt="none", ecolor="#333333", capsize=3, lw=1)
    for yi, s in zip(y, share):
        ax.text(s + hi.max() + 1, yi, f"{s:.0f}%", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels(shown["race"])
    ax.set_xlabel("Percent of surveyed students (95% CI)")
    ax.set_xlim(0, min(100.0, float((share + hi).max()) + 12))
    ax.set_title("Self-reported race of the survey sample", loc="left", fontsize=10)
    ax.grid(axis="y", alpha=0)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    footnote(fig, suppression + " Suppressed groups are not drawn.")
    mark_data_source(fig, source)
    return fig


def build_exhibit_5(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 5: self-reported race of the student survey sample."""
    published = published_rows(published, "5")
    races = race_codes(codebook)
    students = read_analysis_table(students)
    surveyed = students[students["surveyed"] == 1]
    known = surveyed.dropna(subset=["race"])
    n = len(known)

    rows = []
    for race in races:
        k = int((known["race"] == race).sum())
        share, lo, hi = share_with_ci(k, n)
        rows.append({"race": race, "n": k, "share": share, "ci_low": lo, "ci_high": hi})
    # rounded here: once suppression mixes in the marker, the CSV writer cannot format them
    table = pd.DataFrame(rows).round(6)
    table, suppression = suppress_small_cells(
        table, ["n"], min_cell=int(min_cell), complementary="both",
        derived={"n": ["share", "ci_low", "ci_high"]}, marker=MARKER, unit="students")
    table = pd.concat([table, pd.DataFrame([{"race": "All surveyed", "n": n, "share": 1.0,
                                             "ci_low": np.nan, "ci_high": np.nan}])],
                      ignore_index=True)

    k_black = int((known["race"] == "Black").sum())
    share, lo, hi = share_with_ci(k_black, n)
    comparison = [number_row(published_row(published, "share_black_sample"), share, lo, hi)]
    if table.loc[table["race"] == "Black", "n"].eq(MARKER).any():  # its share gives the count back
        suppressed_comparison(comparison[0], int(min_cell))

    notes = [
        f"Shares are of the {n} surveyed students who reported their race; 95% CIs are exact "
        "(Clopper-Pearson).",
        "Missing data: " + exclusion_note(int(surveyed["race"].isna().sum()),
                                          "race not reported on the survey")
        + "; students without a survey are not part of the survey sample "
        f"({int((students['surveyed'] != 1).sum())}).",
        suppression + " The share and CI of a suppressed count are suppressed too.",
        "Multiple comparisons: none (one published share is compared).",
    ]
    source = data_source_label(summary)
    write_exhibit(outputs, exhibit="5", title="Self-reported race of the student survey sample",
                  section="Study design", table=table, comparison=comparison,
                  figure=survey_race_figure(table, source, suppression),
                  caption="Self-reported race/ethnicity of surveyed students.",
                  notes=notes + ["Data: " + source])


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


def hidden_compared_values(reproduced: dict, total_row: pd.DataFrame, total_of_key: dict, counts: pd.DataFrame,
                           shown: pd.DataFrame, size: str) -> set[str]:
    """Keys of Exhibit 6's or 7's compared values that give a hidden count back: a total the table's
    totals row hides, and a site's hidden `size` as the smallest or largest (`size`_per_school_min/max)."""
    hidden = {key for key, column in total_of_key.items() if total_row.at[0, column] == MARKER}
    sizes = set(counts.loc[shown[size].eq(MARKER).to_numpy(), size])
    return hidden | {key for key in (f"{size}_per_school_min", f"{size}_per_school_max") if reproduced[key] in sizes}


# Exhibit 6's compared values that are a total of its table, and all its compared counts of students
TOTAL_OF_KEY = {"students": "students", "surveys": "surveys", "surveys_math": "surveys_math",
                "surveys_ela": "surveys_ela", "focus_group_students_all_black": "focus_group_all_black",
                "focus_group_students_mixed": "focus_group_mixed_race"}

STUDENT_COUNT_KEYS = [*TOTAL_OF_KEY, "students_per_school_min", "students_per_school_max", "focus_group_students"]


def build_exhibit_6(*, students, summary, published, min_cell, outputs) -> None:
    """Exhibit 6: student sample by data source."""
    published = published_rows(published, "6")
    students = read_analysis_table(students)
    min_cell = int(min_cell)
    sites = sorted(students["school_id"].dropna().astype(int).unique())

    counts = site_counts(students, sites)
    totals = counts.drop(columns="site").sum().to_dict()
    shown, suppression = suppress_blocks(counts, [SURVEY_BLOCK, FOCUS_BLOCK, ["students"]],
                                         min_cell=min_cell, unit="students")
    # the totals row hides a second count of a block where it hides one: the notes count the
    # surveys of another or no subject, so a lone hidden subject total would follow from the rest
    total_row, total_statement = suppress_blocks(pd.DataFrame([{"site": "All sites", **totals}]),
                                                 [SURVEY_BLOCK, FOCUS_BLOCK, ["students"]],
                                                 min_cell=min_cell, unit="students", complementary="rows")
    suppression = with_totals_row_statement(suppression, total_statement, min_cell=min_cell, unit="students",
                                            label="All sites")
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
    hidden = hidden_compared_values(reproduced, total_row, TOTAL_OF_KEY, counts, shown, "students")
    hidden |= {key for key in STUDENT_COUNT_KEYS if reproduced[key] < min_cell}
    for row in comparison:
        if row["key"] in hidden:
            suppressed_comparison(row, min_cell)

    no_subject = int((students["surveyed"].eq(1) & students["subject"].isna()).sum())
    other_subject = other_subject_count(students)
    notes = [
        "Surveys by subject: the class the survey asked about; "
        f"{no_subject} surveys have no recorded subject"
        + (f" and {other_subject} are of a class in another subject" if other_subject else "")
        + " (counted under surveys only).",
        "Focus groups are counted as sites with participants of that kind (one all-Black and "
        "one mixed-race group per school, as the report describes).",
        "Missing data: counts, no exclusions; "
        + exclusion_note(int((students["surveyed"] != 1).sum()),
                         "consented students without a survey (counted under students only)")
        + ".",
        suppression + " Survey and focus-group blocks are suppressed separately so that no "
        "hidden count follows from a shown total.",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(summary),
    ]
    write_exhibit(outputs, exhibit="6", title="Student sample by data source",
                  section="Study design", table=table, comparison=comparison,
                  caption="Consented students, surveys by subject and focus-group students "
                          "per site.",
                  notes=notes)


# each block with the shown total its counts add up to (with full survey response)
SUBJECT_BLOCK = ["survey_math", "survey_ela", "survey_other_subject", "teachers"]
INTERVIEW_BLOCK = ["interviewed_math", "interviewed_ela"]


def build_exhibit_7(*, teachers, classrooms, observations, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 7: teacher sample by data source."""
    published = published_rows(published, "7")
    codebook = Codebook.load(codebook)
    teachers = read_analysis_table(teachers)
    classrooms = read_analysis_table(classrooms)
    observations = read_analysis_table(observations)
    min_cell = int(min_cell)

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
    # the totals row hides a second count of a block where it hides one, as Exhibit 6's: the notes
    # count the non-respondents and the interviewed teachers of any subject
    total_row, total_statement = suppress_blocks(pd.DataFrame([{"site": "All sites", **totals}]),
                                                 [SUBJECT_BLOCK, INTERVIEW_BLOCK], min_cell=min_cell,
                                                 unit="teachers", complementary="rows")
    suppression = with_totals_row_statement(suppression, total_statement, min_cell=min_cell, unit="teachers",
                                            label="All sites")
    table = pd.concat([shown, total_row], ignore_index=True)

    interviewed_any = int((teachers["interviewed"] == 1).sum())
    reproduced = {"teachers": totals["teachers"],
                  "teachers_per_school_min": counts["teachers"].min(),
                  "teachers_per_school_max": counts["teachers"].max(),
                  "teachers_interviewed": interviewed_any,
                  "classrooms_observed": int(observations["classroom_id"].nunique())}
    comparison = [number_row(published_row(published, key), float(value))
                  for key, value in reproduced.items()]
    # and the interviewed teachers of any subject, less the shown interview counts, would give one back
    interviews_hidden = bool(total_row[INTERVIEW_BLOCK].eq(MARKER).any(axis=None))
    hidden = hidden_compared_values(reproduced, total_row, {"teachers": "teachers"}, counts, shown, "teachers")
    hidden |= {"teachers_interviewed"} if interviews_hidden else set()
    for row in comparison:
        if row["key"] in hidden:
            suppressed_comparison(row, min_cell, unit="teachers")

    notes = [
        "Survey respondents: teachers with at least one teacher-survey answer; "
        "survey_other_subject are teachers of subjects other than mathematics and ELA.",
        f"Interviewed teachers of any subject: {MARKER if interviews_hidden else interviewed_any}; observed "
        f"classrooms: {reproduced['classrooms_observed']}.",
        "Missing data: counts, no exclusions; "
        + exclusion_note(int((~responded).sum()),
                         "no teacher-survey answer (counted under teachers only)") + ".",
        suppression + " Subject and interview blocks are "
        "suppressed separately so that no hidden count follows from a shown total; observed "
        "classrooms are settings and are shown.",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(summary),
    ]
    write_exhibit(outputs, exhibit="7", title="Teacher sample by data source",
                  section="Study design", table=table, comparison=comparison,
                  caption="Teachers, survey respondents, interviews and observed classrooms "
                          "per site.",
                  notes=notes)


# (approach, data sources, analysis as the report names it, where it is done here, which
# data-summary count measures its units)
APPROACHES = [
    ("Qualitative", "Teacher interviews; student focus groups", "Coding of emergent themes",
     "not reproducible: transcripts are not public", None),
    ("Qualitative", "Teacher interviews; student focus groups",
     "Frequencies of coded excerpts to assess the strength of identified themes",
     "Exhibits FG and TI: the published coded counts with exact tests", None),
    ("Qualitative", "Focus groups, interviews and classroom observation",
     "Cross-source analyses to identify themes with the strongest evidence",
     "not reproducible: transcripts are not public", None),
    ("Quantitative", "Teacher and student surveys; student records", "T-tests",
     "Welch t-tests: Exhibits 35-38, 40, 42-44 (lwo.group_stats)", "surveys"),
    ("Quantitative", "Student surveys; student records", "Ordinary least squares (OLS) regression",
     "OLS with controls: Exhibit 28 (lwo.group_stats)", "surveys"),
    ("Quantitative", "Student and teacher surveys", "Chi square",
     "Exhibits 32-34 (lwo.group_stats)", "surveys"),
    ("Quantitative", "Student surveys", "Correlations", "Exhibits 29-31", "surveys"),
    ("Quantitative", "Student surveys", "Exploratory factor analyses",
     "measurement models: Exhibits 8-10", "surveys"),
    ("Quantitative", "Student surveys; student records", "Structural equation modeling",
     "Exhibits 12-31 (lwo.sem)", "surveys"),
    ("Quantitative", "Classroom observations", "Descriptives (e.g., averages/ranges)",
     "Exhibit 39", "observation_segments"),
    ("Quantitative", "Classroom observations", "Analysis of covariance (ANCOVA)",
     "Exhibit 39 (lwo.group_stats)", "observation_segments"),
]


def build_exhibit_11(*, summary, outputs) -> None:
    """Exhibit 11: approaches to analysing the quantitative and qualitative data."""
    with open(summary, encoding="utf-8") as fh:
        summary = json.load(fh)
    counts = summary["counts"]
    unit_names = {"surveys": "student surveys", "observation_segments": "observed segments"}
    rows = []
    for approach, sources, analysis, here, unit in APPROACHES:
        units = (f"{counts[unit]} {unit_names[unit]}" if unit and unit in counts
                 else "published coded counts")
        rows.append({"approach": approach, "data_sources": sources, "analysis": analysis,
                     "in_this_pipeline": here, "units_in_this_run": units})
    notes = [
        "The report's Exhibit 11 lists approaches, not numbers; there is nothing published to "
        "compare.",
        f"This run: {counts.get('students')} students, {counts.get('surveys')} surveys, "
        f"{counts.get('teachers')} teachers, {counts.get('classrooms')} classrooms, "
        f"{counts.get('observation_segments')} observed segments.",
        "Missing data: the descriptive and group-comparison exhibits use the students who answered "
        "the variables of each test (listwise, with counts); the structural models are estimated as "
        "config estimation: says (by default full-information ML, robust MLR, classroom clusters) "
        "and state the N they use.",
        "Multiple comparisons: each exhibit states its correction (Holm within each family of "
        "tests in the descriptive and group-comparison exhibits).",
        "Data: " + summary["label"],
    ]
    write_exhibit(outputs, exhibit="11", title="Approaches to analyzing quantitative and "
                  "qualitative data", section="Study design", table=pd.DataFrame(rows),
                  comparison=[], caption="Analytic approaches by data source, and where each is "
                  "carried out in this pipeline.", notes=notes)
