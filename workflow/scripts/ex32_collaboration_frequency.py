"""Exhibit 32: student reports of the frequency of collaboration across the four sites.

The distribution of answers by site (small cells suppressed), the share collaborating at
least weekly with its exact 95% CI, and the published "no difference between mathematics and
ELA" tested by a chi-square test of subject x frequency; the weekly share's subject
difference is repeated with classroom-clustered standard errors as a sensitivity check
(subject is constant within a classroom, so clustering matters). A chi-square test of site x
frequency describes the variation across sites.
"""
from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, SUBJECTS, chi_square_text, cluster_note, count_table, data_source_label,
                              exclusion_note, number_row, p_text, published_row, read_analysis_table, share_with_ci)
from lwo.descriptive_exhibits import stacked_shares_figure
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import chi_square_table, welch_ttest
from lwo.runner import run


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "32")
    item = codebook.student_collaboration_items["collab_frequency"]
    categories = item["categories"]
    weekly = categories[categories.index(item["at_least_weekly_from"]):]
    students = read_analysis_table(sm.input.students)
    min_cell = int(sm.params.min_cell)

    surveyed = students[students["surveyed"] == 1]
    answered = surveyed.dropna(subset=["collab_frequency"]).copy()
    answered["at_least_weekly"] = answered["collab_frequency"].isin(weekly).astype(float)
    sites = sorted(students["school_id"].dropna().astype(int).unique())
    table, suppression = count_table(
        answered, "school_id", "collab_frequency", row_levels=sites, col_levels=categories,
        min_cell=min_cell, unit="students", row_name="site",
        row_labels={s: f"Site {s}" for s in sites})
    table["at_least_weekly"] = table["category"].isin(weekly)

    k, n = int(answered["at_least_weekly"].sum()), len(answered)
    share, lo, hi = share_with_ci(k, n)
    comparison = [number_row(published_row(published, "share_at_least_weekly"), share, lo, hi)]

    by_subject = answered[answered["subject"].isin(SUBJECTS)]
    chi = chi_square_table(by_subject, "subject", "collab_frequency").iloc[0]
    weekly_test = welch_ttest(by_subject, "at_least_weekly", "subject", groups=SUBJECTS,
                              cluster="classroom_id", min_n=min_cell).iloc[0]
    finding = (f"{chi_square_text(chi)}; weekly share ELA - mathematics = "
               f"{weekly_test['difference']:.2f} ({p_text(weekly_test['p'])}, classroom-clustered "
               f"{p_text(weekly_test['p_cluster'])})")
    agrees = None if chi["p"] != chi["p"] else bool(chi["p"] >= ALPHA)
    comparison.append(compare_statement(
        published_row(published, "subject_difference:frequency"), finding, agrees,
        "published 'no difference' agrees with a chi-square p at or above 0.05"))
    across = chi_square_table(answered, "school_id", "collab_frequency").iloc[0]

    notes = [
        f"At least weekly: {', '.join(weekly)}; {k} of {n} students "
        f"({100 * share:.0f}%, exact 95% CI {100 * lo:.0f}%-{100 * hi:.0f}%).",
        f"Across sites: {chi_square_text(across)}.",
        "Subject: chi-square test of mathematics vs ELA over the five answers (no Yates "
        f"correction); {chi['note'] or 'all expected counts at least 5'}.",
        "Missing data: "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey") + "; "
        + exclusion_note(int(surveyed["collab_frequency"].isna().sum()),
                         "frequency question not answered") + "; "
        + exclusion_note(int(answered["subject"].isna().sum()),
                         "no subject recorded (subject test only)") + ".",
        "Multiple comparisons: none; one test per published statement (site and subject "
        "questions are separate).",
        cluster_note(weekly_test["n_clusters"]) + " Here: the weekly share's subject difference "
        f"(linear probability), {p_text(weekly_test['p_cluster'])} clustered vs "
        f"{p_text(weekly_test['p'])} Welch.",
        suppression + " Percentages of suppressed cells are not shown.",
    ]
    source = data_source_label(sm.input.summary)
    figure = stacked_shares_figure(table, "site", categories,
                                   title="How often do you work in groups in this class? "
                                         "(students)", source=source, suppression=suppression)
    write_exhibit(sm.output, exhibit="32", title="Student reports of the frequency of "
                  "collaboration across the four study sites", section="RQ2: Opportunities for "
                  "collaboration", table=table, comparison=comparison, figure=figure,
                  caption="Percent of students by how often they work in groups, by site.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
