"""Exhibit 35: student survey reports of the dynamic quality features, by subject.

Welch t-tests of ELA vs mathematics students' ratings with Hedges' g. The family is the
seven quality areas asked of both students and teachers (the report counts differences "in
two of the seven quality areas"; Exhibit 36 shows the structural four of the same family), so
the Holm correction and the count of areas that differ are over those seven. Perceived
inclusion, asked of students only, is tested on its own. Every test is repeated with
classroom-clustered standard errors (subject is constant within a classroom).
"""
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (annotate_rows, cluster_note, correction_note, data_source_label, exclusion_note,
                              missing_data_note, number_row, published_row, quality_by_subject, read_analysis_table,
                              shared_quality_areas, small_group_note)
from lwo.descriptive_exhibits import subject_means_figure
from lwo.exhibit import published_rows, write_exhibit
from lwo.runner import run

DOMAIN = "dynamic"


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "35")
    students = read_analysis_table(sm.input.students)
    min_n = int(sm.params.min_cell)

    surveyed = students[students["surveyed"] == 1]
    family = shared_quality_areas(codebook)
    family_name = f"the {len(family)} quality areas asked of students and teachers"
    student_only = [c for c in codebook.hqc_subscales(DOMAIN) if c not in family]
    domain_of = {c: codebook.student_constructs[c]["domain"] for c in codebook.hqc_subscales()}
    label_of = {c: codebook.label(c) for c in codebook.hqc_subscales()}
    raw, display = quality_by_subject(surveyed, family, domain_of=domain_of, label_of=label_of,
                                      family=family_name, min_n=min_n, cluster="classroom_id")
    n_differ = int(raw["n_significant"].iloc[0])
    count = number_row(published_row(published, "student_subject_differences"),
                           float(n_differ))
    notes = [correction_note(raw, family_name + " (Exhibits 35 and 36)")]
    tables = [annotate_rows(display[display["domain"] == DOMAIN], slice(None), count)]
    if student_only:
        raw_only, only = quality_by_subject(surveyed, student_only, domain_of=domain_of,
                                            label_of=label_of, family="asked of students only",
                                            min_n=min_n, cluster="classroom_id")
        tables.append(only)
        notes.append(correction_note(raw_only, "the area(s) asked of students only ("
                                     + ", ".join(label_of[c] for c in student_only) + ")"))
    table = pd.concat(tables, ignore_index=True).fillna({"published": "", "reproduced": "",
                                                         "agrees": ""})

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics students; difference = ELA - "
        "mathematics; Hedges' g (pooled SD). Ratings: 1 = never/rarely, 4 = all of the time.",
        missing_data_note(table) + "; "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey"),
        *notes,
        f"Areas that differ (Holm-adjusted p < 0.05) among the {len(family)}: {n_differ}; with "
        f"classroom-clustered errors: {int(raw['n_significant_cluster'].iloc[0])}.",
        cluster_note(table["n_clusters"].max()),
        small_group_note(min_n, "students"),
    ]
    source = data_source_label(sm.input.summary)
    figure = subject_means_figure(table, title="Student ratings of dynamic quality, by subject",
                                  source=source)
    write_exhibit(sm.output, exhibit="35", title="Student survey reports of the dynamic quality "
                  "features of collaborative groups, by subject",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=[count], figure=figure, caption="Mean student ratings of the "
                  "dynamic quality areas in mathematics and ELA classes.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
