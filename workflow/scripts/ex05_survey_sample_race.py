"""Exhibit 5: self-reported race of the student survey sample.

Counts and shares of each self-reported group among surveyed students, each share with its
exact (Clopper-Pearson) 95% CI; the published share of Black students is compared with the
reproduced share's CI. Small cells are suppressed (with a second cell, since the total is
shown), and so are their shares.
"""
import numpy as np
import pandas as pd
import yaml

from lwo.descriptives import (MARKER, data_source_label, exclusion_note, number_row, published_row, read_analysis_table,
                              share_with_ci)
from lwo.descriptive_exhibits import footnote
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.plotting import GROUP_COLOURS, mark_data_source, new_figure
from lwo.runner import run


def figure_of(table: pd.DataFrame, source: str, suppression: str):
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


def main(sm):
    published = published_rows(sm.input.published, "5")
    with open(sm.input.codebook, encoding="utf-8") as fh:
        races = yaml.safe_load(fh)["student_records"]["race"]["values"]
    students = read_analysis_table(sm.input.students)
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
        table, ["n"], min_cell=int(sm.params.min_cell), complementary="both",
        derived={"n": ["share", "ci_low", "ci_high"]}, marker=MARKER, unit="students")
    table = pd.concat([table, pd.DataFrame([{"race": "All surveyed", "n": n, "share": 1.0,
                                             "ci_low": np.nan, "ci_high": np.nan}])],
                      ignore_index=True)

    k_black = int((known["race"] == "Black").sum())
    share, lo, hi = share_with_ci(k_black, n)
    comparison = [number_row(published_row(published, "share_black_sample"), share, lo, hi)]

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
    source = data_source_label(sm.input.summary)
    write_exhibit(sm.output, exhibit="5", title="Self-reported race of the student survey sample",
                  section="Study design", table=table, comparison=comparison,
                  figure=figure_of(table, source, suppression),
                  caption="Self-reported race/ethnicity of surveyed students.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
