"""Exhibit 3: characteristics of the participating school sites.

The type, location and approximate enrollment of each site are the report's (published
context: the data files carry no site descriptors); the counts of students, surveys,
teachers and observed classrooms per site, and whether each site's study sample meets the
demographic selection criterion (at least 20% Black and 20% White), come from the data.
"""
import re

import pandas as pd

from lwo.descriptives import (MARKER, context_row, data_source_label, exclusion_note, number_row,
                              published_row, read_analysis_table)
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.runner import run

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


def main(sm):
    published = published_rows(sm.input.published, "3")
    students = read_analysis_table(sm.input.students)
    teachers = read_analysis_table(sm.input.teachers)
    classrooms = read_analysis_table(sm.input.classrooms)
    observations = read_analysis_table(sm.input.observations)
    min_cell = int(sm.params.min_cell)

    sites = sorted(students["school_id"].dropna().astype(int).unique())
    descriptors = site_descriptors(published, sm.input.published)
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

    comparison = [number_row(published_row(published, "sites"), float(len(sites)))]
    for _, d in descriptors.iterrows():
        comparison.append(context_row(published_row(published, f"site{d['site']}_enrollment"),
                                      "not in the data files (shown as published)",
                                      "site descriptor published by the report"))
    rounded = descriptors["published_enrollment"]
    derived = {"mean_enrollment": rounded.mean(), "min_enrollment": rounded.min(),
               "max_enrollment": rounded.max()}
    for key, value in derived.items():
        comparison.append(context_row(
            published_row(published, key), f"{value:g} from the rounded enrollments of the table",
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
        "are settings, not people, and are shown.",
        "Multiple comparisons: none (no tests in this exhibit).",
        "Data: " + data_source_label(sm.input.summary),
    ]
    write_exhibit(sm.output, exhibit="3", title="Characteristics of participating school sites",
                  section="Study design", table=table, comparison=comparison,
                  caption="Published site descriptors beside the study sample at each site.",
                  notes=notes)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
