"""Exhibit 36: student survey reports of the structural quality features, by subject.

Welch t-tests of ELA vs mathematics students' ratings of the four structural areas, part of
the family of seven areas asked of both students and teachers (Holm correction over the
seven, as in Exhibit 35), with classroom-clustered sensitivity columns. The published
"student-centered, culturally relevant activities rated far lowest" is checked on the pooled
means (lowest, and lower than the next-lowest area by a paired t-test); "lower in math" on the
subject test (direction and significance).
"""
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, SUBJECT_NAMES, add_agreement, annotate_rows, cluster_note, correction_note,
                              data_source_label, exclusion_note, missing_data_note, p_text, published_row,
                              quality_by_subject, read_analysis_table, shared_quality_areas, small_group_note)
from lwo.descriptive_exhibits import subject_means_figure
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import paired_difference
from lwo.runner import run

DOMAIN = "structural"
FOCUS = "student_centered"


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "36")
    students = read_analysis_table(sm.input.students)
    min_n = int(sm.params.min_cell)

    surveyed = students[students["surveyed"] == 1]
    family = shared_quality_areas(codebook)
    family_name = f"the {len(family)} quality areas asked of students and teachers"
    domain_of = {c: codebook.student_constructs[c]["domain"] for c in codebook.hqc_subscales()}
    label_of = {c: codebook.label(c) for c in codebook.hqc_subscales()}
    raw, display = quality_by_subject(surveyed, family, domain_of=domain_of, label_of=label_of,
                                      family=family_name, min_n=min_n, cluster="classroom_id")
    mine = (display["domain"] == DOMAIN).to_numpy()
    table, comparison = add_agreement(
        display[mine], raw[mine], published, {FOCUS: "student_centered_math_lower"}, {FOCUS: 1},
        (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]))

    # pooled means over all surveyed students; "far lowest": lowest and below the next one
    areas = codebook.hqc_subscales(DOMAIN)
    means = surveyed[areas].mean().sort_values()
    lowest, runner_up = means.index[0], means.index[1]
    gap = paired_difference(surveyed, lowest, runner_up)
    finding = (f"lowest: {label_of[lowest]} (mean {means.iloc[0]:.2f}); next: "
               f"{label_of[runner_up]} ({means.iloc[1]:.2f}); paired difference "
               f"{means.iloc[0] - means.iloc[1]:.2f}, t({gap['df']}) = {gap['t']:.2f}, "
               f"{p_text(gap['p'])}")
    lowest_row = compare_statement(published_row(published, "student_centered_lowest"), finding,
                                   bool(lowest == FOCUS and gap['p'] < ALPHA),
                                   "lowest pooled mean and below the next-lowest area (paired "
                                   "t-test p < 0.05)")
    comparison.append(lowest_row)
    table = annotate_rows(table, (table["variable"] == FOCUS).to_numpy(), lowest_row)
    pooled = pd.DataFrame({"variable": means.index, "pooled_mean": means.to_numpy().round(6)})
    table = table.merge(pooled, on="variable", how="left")

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics students; difference = ELA - "
        "mathematics; Hedges' g (pooled SD); pooled_mean: all surveyed students. Ratings: "
        "1 = never/rarely, 4 = all of the time.",
        f"Lowest structural area: {finding} (paired t-test over students with both scores).",
        missing_data_note(table) + "; "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey"),
        correction_note(raw, family_name + " (Exhibits 35 and 36)"),
        cluster_note(table["n_clusters"].max()),
        small_group_note(min_n, "students"),
    ]
    source = data_source_label(sm.input.summary)
    figure = subject_means_figure(table, title="Student ratings of structural quality, by subject",
                                  source=source)
    write_exhibit(sm.output, exhibit="36", title="Student survey reports of the structural "
                  "quality features of collaboration in mathematics and English classes",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=figure, caption="Mean student ratings of the "
                  "structural quality areas in mathematics and ELA classes.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
