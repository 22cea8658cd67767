"""Exhibit 11: approaches to analysing the quantitative and qualitative data.

The report's table of analytic approaches by data source, one row per analysis, with where
this pipeline carries it out and how many units this run's data hold for it. The coding of
interview and focus-group transcripts cannot be redone (the transcripts are not public): the
pipeline analyses the coded counts the report publishes.
"""
import json

import pandas as pd

from lwo.exhibit import write_exhibit
from lwo.runner import run

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


def main(sm):
    with open(sm.input.summary, encoding="utf-8") as fh:
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
    write_exhibit(sm.output, exhibit="11", title="Approaches to analyzing quantitative and "
                  "qualitative data", section="Study design", table=pd.DataFrame(rows),
                  comparison=[], caption="Analytic approaches by data source, and where each is "
                  "carried out in this pipeline.", notes=notes)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
