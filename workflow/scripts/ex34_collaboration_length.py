"""Exhibit 34: length of collaborative activities in mathematics and ELA classes.

Chi-square test of subject x length (no Yates correction) with Cramer's V (and its
bias-corrected version) and Haberman's adjusted residuals, which show the cells that drive
the association. The published "5+ class periods more likely in ELA" agrees when ELA's share
of long activities is higher, the chi-square is significant and the ELA x long cell's
adjusted residual exceeds 1.96. "Short more likely than long" is tested by the exact 95% CI of
the short share among short-or-long answers. The long-activity share's subject difference is
repeated with classroom-clustered standard errors (subject is constant within a classroom).
"""
import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, MARKER, SUBJECT_LEGEND, SUBJECTS, chi_square_text, cluster_note, data_source_label,
                              exclusion_note, p_text, published_row, read_analysis_table, share_with_ci)
from lwo.descriptive_exhibits import footnote
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import chi_square_table, suppress_small_cells, welch_ttest
from lwo.plotting import GROUP_COLOURS, mark_data_source, new_figure
from lwo.runner import run

DISPLAY = ["subject", "length", "observed", "expected", "row_percent", "adjusted_residual",
           "residual_beyond_1_96", "n", "n_excluded_missing", "chi2", "dof", "p", "cramers_v",
           "cramers_v_bias_corrected", "min_expected", "p_small_sample", "small_sample_method",
           "test", "note"]


def figure_of(table: pd.DataFrame, categories: list[str], source: str, suppression: str):
    fig, ax = new_figure(figsize=(6.8, 3.8))
    x = np.arange(len(categories))
    width = 0.38
    for i, subject in enumerate(SUBJECTS):
        part = table[table["subject"] == subject].set_index("length").reindex(categories)
        pct = pd.to_numeric(part["row_percent"], errors="coerce").to_numpy()
        bars = ax.bar(x + (i - 0.5) * width, np.nan_to_num(pct), width,
                      color=GROUP_COLOURS[subject], label=SUBJECT_LEGEND[subject])
        for b, v in zip(bars, pct):
            ax.text(b.get_x() + b.get_width() / 2, (0 if np.isnan(v) else v) + 1,
                    MARKER if np.isnan(v) else f"{v:.0f}%", ha="center", fontsize=8)
    shown = pd.to_numeric(table["row_percent"], errors="coerce")
    ax.set_ylim(0, 1.15 * (shown.max() if shown.notna().any() else 100.0))
    ax.set_xticks(x)
    ax.set_xticklabels(categories)
    ax.set_ylabel("Percent of the subject's students")
    ax.set_title("How long does a typical group activity last?", loc="left", fontsize=10)
    ax.legend(frameon=False)
    ax.grid(axis="x", alpha=0)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    footnote(fig, suppression)
    mark_data_source(fig, source)
    return fig


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "34")
    categories = codebook.student_collaboration_items["collab_length"]["categories"]
    short, long_ = categories[0], categories[-1]
    students = read_analysis_table(sm.input.students)
    min_cell = int(sm.params.min_cell)

    surveyed = students[students["surveyed"] == 1]
    sample = surveyed[surveyed["subject"].isin(SUBJECTS) | surveyed["subject"].isna()]
    res = chi_square_table(sample, "subject", "collab_length")
    res = res.rename(columns={"row_level": "subject", "col_level": "length"})
    order = {c: i for i, c in enumerate(categories)}
    res = (res.assign(_s=res["subject"].map({s: i for i, s in enumerate(SUBJECTS)}),
                      _l=res["length"].map(order))
           .sort_values(["_s", "_l"]).drop(columns=["_s", "_l"]).reset_index(drop=True))
    table = res[DISPLAY].copy()
    table[["expected", "row_percent", "adjusted_residual"]] = (
        table[["expected", "row_percent", "adjusted_residual"]].astype(float).round(6))
    table, suppression = suppress_small_cells(table, ["observed"], min_cell=min_cell,
                                              complementary="none",
                                              derived={"observed": ["row_percent"]},
                                              marker=MARKER, unit="students")
    # the subject totals are public, so a subject with one hidden cell hides a second one
    for subject in SUBJECTS:
        rows = table.index[table["subject"] == subject]
        hidden = table.loc[rows, "observed"].eq(MARKER)
        if hidden.sum() == 1:
            other = res.loc[rows[~hidden.to_numpy()], "observed"].astype(float).idxmin()
            table.loc[other, ["observed", "row_percent"]] = MARKER
            suppression += (" 1 further cell is suppressed so that it cannot be recovered "
                            "from totals.")

    head = res.iloc[0]

    def cell(subject: str, column: str) -> float:
        hit = res[(res["subject"] == subject) & (res["length"] == long_)]
        return float(hit[column].iloc[0]) if len(hit) else float("nan")

    share_long = {s: cell(s, "row_percent") for s in SUBJECTS}
    residual = cell("ela", "adjusted_residual")
    answered = sample.dropna(subset=["collab_length", "subject"]).copy()
    answered["long_activity"] = (answered["collab_length"] == long_).astype(float)
    long_test = welch_ttest(answered, "long_activity", "subject", groups=SUBJECTS,
                            cluster="classroom_id", min_n=min_cell).iloc[0]
    finding = (f"{long_}: ELA {share_long['ela']:.0f}% vs mathematics {share_long['math']:.0f}%; "
               f"{chi_square_text(head)}; adjusted residual (ELA, {long_}) = {residual:.2f}; "
               f"classroom-clustered {p_text(long_test['p_cluster'])}")
    agrees = (None if not head["p"] == head["p"] else
              bool(head["p"] < ALPHA and share_long["ela"] > share_long["math"]
                   and residual > 1.96))
    comparison = [compare_statement(
        published_row(published, "longer_in_ela"), finding, agrees,
        "ELA share higher, chi-square p < 0.05 and the ELA x long cell's adjusted residual > 1.96")]

    all_answers = surveyed.dropna(subset=["collab_length"])
    k_short = int((all_answers["collab_length"] == short).sum())
    k_long = int((all_answers["collab_length"] == long_).sum())
    s, lo, hi = share_with_ci(k_short, k_short + k_long)
    comparison.append(compare_statement(
        published_row(published, "short_more_likely"),
        f"{short}: {k_short} vs {long_}: {k_long}; short share of the two {s:.2f} "
        f"(exact 95% CI {lo:.2f}-{hi:.2f})", None if s != s else bool(lo > 0.5),
        "short share among short-or-long answers above one half (exact CI lower limit > 0.5)"))

    notes = [
        "Chi-square test of independence of subject and length (Pearson, no Yates "
        "correction); adjusted residuals beyond +/-1.96 mark the cells that drive the "
        "association (uncorrected for the number of cells).",
        "Missing data: " + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey")
        + "; " + exclusion_note(int(head["n_excluded_missing"]),
                                "length not answered or no subject recorded (listwise)") + ".",
        "Multiple comparisons: none; one test per published statement.",
        cluster_note(long_test["n_clusters"]) + " Here: the share of activities of "
        f"{long_} (linear probability), ELA - mathematics = {long_test['difference']:.2f}, "
        f"{p_text(long_test['p_cluster'])} clustered vs {p_text(long_test['p'])} Welch.",
        suppression + " The percent of a suppressed count is suppressed too.",
    ]
    source = data_source_label(sm.input.summary)
    write_exhibit(sm.output, exhibit="34", title="Student survey reports of the length of "
                  "collaborative activities in mathematics and English classes",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=figure_of(table, categories, source, suppression),
                  caption="Percent of students by typical length of group activities, by subject.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
