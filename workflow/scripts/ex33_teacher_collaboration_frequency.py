"""Exhibit 33: teacher reports of the frequency of collaboration across the four sites.

The distribution of teacher-survey answers by site (all teachers who answered; small cells
suppressed). The published "17 of 28 interviewed teachers offer collaboration at least 2-3
days a week" comes from the interviews; it is set beside the same count from the survey
answers of the interviewed teachers. A chi-square test of mathematics vs ELA teachers'
answers repeats the student exhibit's subject test for teachers.
"""
from lwo.codebook import Codebook
from lwo.descriptives import (SUBJECTS, chi_square_text, count_table, data_source_label, exclusion_note,
                              no_cluster_note, number_row, p_text, published_row, read_analysis_table, share_with_ci)
from lwo.descriptive_exhibits import stacked_shares_figure
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import chi_square_table
from lwo.runner import run

OFTEN_FROM = "2-3 days a week"  # the interviews' threshold: "at least 2-3 days a week"


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "33")
    item = codebook.teacher_collaboration_items["t_collab_frequency"]
    categories = item["categories"]
    often = categories[categories.index(OFTEN_FROM):]
    teachers = read_analysis_table(sm.input.teachers)
    min_cell = int(sm.params.min_cell)

    answered = teachers.dropna(subset=["t_collab_frequency"])
    sites = sorted(teachers["school_id"].dropna().astype(int).unique())
    table, suppression = count_table(
        answered, "school_id", "t_collab_frequency", row_levels=sites, col_levels=categories,
        min_cell=min_cell, unit="teachers", row_name="site",
        row_labels={s: f"Site {s}" for s in sites})

    interviewed = answered[answered["interviewed"] == 1]
    k = int(interviewed["t_collab_frequency"].isin(often).sum())
    comparison = [number_row(published_row(published, "teachers_2_3_days_interviewed"),
                                 float(k))]
    share, lo, hi = share_with_ci(k, len(interviewed))

    by_subject = answered[answered["subject"].isin(SUBJECTS)]
    chi = chi_square_table(by_subject, "subject", "t_collab_frequency").iloc[0]
    notes = [
        "All teachers who answered the frequency question, whatever their subject.",
        f"Interviewed teachers answering at least {OFTEN_FROM} on the survey: {k} of "
        f"{len(interviewed)} ({100 * share:.0f}%, exact 95% CI {100 * lo:.0f}%-{100 * hi:.0f}%); "
        "the published 17 of 28 is from the interviews themselves.",
        f"Mathematics vs ELA teachers: {chi_square_text(chi)}"
        + (f"; {chi['note']}" if chi["note"] else "")
        + (f" (small-sample p = {chi['p_small_sample']:.3f})"
           if chi["p_small_sample"] == chi["p_small_sample"] else "") + ".",
        "Missing data: " + exclusion_note(int(teachers["t_collab_frequency"].isna().sum()),
                                          "frequency question not answered") + "; "
        + exclusion_note(int((~answered["subject"].isin(SUBJECTS)).sum()),
                         "subject other than mathematics or ELA (subject test only)") + ".",
        "Multiple comparisons: none; one test (subject).",
        no_cluster_note("teachers"),
        suppression + " Percentages of suppressed cells are not shown.",
    ]
    source = data_source_label(sm.input.summary)
    figure = stacked_shares_figure(table, "site", categories,
                                   title="How often do students in your class work in "
                                         "collaborative groups? (teachers)",
                                   source=source, suppression=suppression)
    write_exhibit(sm.output, exhibit="33", title="Teacher reports of the frequency of "
                  "collaboration across the four study sites", section="RQ2: Opportunities for "
                  "collaboration", table=table, comparison=comparison, figure=figure,
                  caption="Percent of teachers by how often their students work in groups, "
                          "by site.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
