"""Exhibit 38: teacher survey reports of the dynamic quality features, by subject.

Welch t-tests of ELA vs mathematics teachers' ratings with Hedges' g. The family is the
seven quality areas of the teacher survey (the report counts subject differences "in five of
the seven quality areas"; Exhibits 37 and 38 show its structural and dynamic parts), so the
Holm correction and the count of areas that differ are over those seven. Teachers of other
subjects are not part of the comparison (counted in the notes). Teachers are the unit of
analysis, so there is no classroom-clustered sensitivity column.
"""
from lwo.codebook import Codebook
from lwo.descriptives import (annotate_rows, correction_note, data_source_label,
                              math_and_ela_teachers, missing_data_note, no_cluster_note, number_row,
                              published_row, quality_by_subject, read_analysis_table,
                              small_group_note, subject_means_figure, teacher_scale_label)
from lwo.exhibit import published_rows, write_exhibit
from lwo.runner import run

EXHIBIT = "38"
DOMAIN = "dynamic"
COUNT_EXHIBIT, COUNT_KEY = "37", "teacher_subject_differences"  # published once, for both


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, COUNT_EXHIBIT)
    teachers, excluded = math_and_ela_teachers(read_analysis_table(sm.input.teachers))
    min_n = int(sm.params.min_cell)

    scales = codebook.teacher_scales
    family = list(scales)
    family_name = f"the {len(family)} quality areas of the teacher survey"
    raw, display = quality_by_subject(
        teachers, family, domain_of={c: scales[c]["domain"] for c in family},
        label_of={c: teacher_scale_label(codebook, c) for c in family}, family=family_name,
        min_n=min_n)
    n_differ = int(raw["n_significant"].iloc[0])
    count = number_row(published_row(published, COUNT_KEY), float(n_differ))
    table = annotate_rows(display[display["domain"] == DOMAIN].reset_index(drop=True),
                          slice(None), count)

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics teachers; difference = ELA - "
        "mathematics; Hedges' g (pooled SD). Ratings: 1 = never/rarely, 4 = all of the time.",
        missing_data_note(table, unit="teachers") + "; " + excluded,
        correction_note(raw, family_name + " (Exhibits 37 and 38)"),
        f"Areas that differ (Holm-adjusted p < 0.05) among the {len(family)}: {n_differ} "
        f"(published in Exhibit {COUNT_EXHIBIT}, shown in both exhibits).",
        no_cluster_note("teachers"),
        small_group_note(min_n, "teachers"),
    ]
    source = data_source_label(sm.input.summary)
    figure = subject_means_figure(table, title="Teacher ratings of dynamic quality, by subject",
                                  source=source)
    write_exhibit(sm.output, exhibit=EXHIBIT, title="Teacher survey reports of the dynamic "
                  "quality features of collaborative groups, by subject",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=[count], figure=figure, caption="Mean teacher ratings of the "
                  "dynamic quality areas, mathematics and ELA teachers.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
