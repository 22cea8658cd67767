"""Exhibit 41: teacher survey mean ratings of the perceived challenges of collaboration.

The mean rating of each challenge with its 95% CI over all teachers who answered (a ranking,
not a subject comparison, so teachers of every subject count), ranked from the largest
challenge. The published top two challenges agree when they hold the same ranks and each is
rated higher than the next-ranked challenge (paired t-test over teachers who rated both,
p < 0.05).
"""
import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, TEACHER_RATING_SCALE, annotate_rows, data_source_label,
                              exclusion_note, mean_with_ci, no_cluster_note, p_text,
                              published_row, read_analysis_table)
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import paired_difference
from lwo.plotting import PALETTE, mark_data_source, new_figure
from lwo.runner import run

RANK_KEYS = {1: "top_challenge_1", 2: "top_challenge_2"}


def figure_of(table: pd.DataFrame, source: str):
    fig, ax = new_figure(figsize=(7.2, 3.9))
    y = np.arange(len(table))[::-1]
    means = table["mean"].astype(float).to_numpy()
    err = [means - table["ci_low"].astype(float), table["ci_high"].astype(float) - means]
    colours = [PALETTE[5] if r <= 2 else PALETTE[0] for r in table["rank"]]
    ax.barh(y, means, color=colours, height=0.6)
    ax.errorbar(means, y, xerr=err, fmt="none", ecolor="#333333", capsize=3, lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels(table["label"])
    ax.set_xlim(1, 4)
    ax.set_xlabel(f"Mean rating, 95% CI ({TEACHER_RATING_SCALE})")
    ax.set_title("Perceived challenges of collaboration (all teachers), largest first",
                 loc="left", fontsize=10)
    ax.grid(axis="y", alpha=0)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    mark_data_source(fig, source)
    return fig


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "41")
    teachers = read_analysis_table(sm.input.teachers)
    items = codebook.teacher_rating_items["challenges"]["items"]

    rows = [{"item": i, "label": text, **mean_with_ci(teachers[i])} for i, text in items.items()]
    table = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["n_excluded_missing"] = len(teachers) - table["n"]
    table = table.reset_index(drop=True)

    comparison = []
    for rank, key in RANK_KEYS.items():
        pub = published_row(published, key)
        here, below = table.iloc[rank - 1], table.iloc[rank]
        gap = paired_difference(teachers, here["item"], below["item"])
        finding = (f"rank {rank}: {here['item']} ({here['label']}, mean {here['mean']:.2f}); "
                   f"next: {below['item']} ({below['mean']:.2f}), paired t({gap['df']}) = "
                   f"{gap['t']:.2f}, {p_text(gap['p'])}")
        row = compare_statement(pub, finding,
                                bool(here["item"] == pub["value"] and gap["p"] < ALPHA),
                                f"the published item holds rank {rank} and is rated higher "
                                "than the next-ranked item (paired t-test p < 0.05)")
        comparison.append(row)
        target = (table["item"] == pub["value"]).to_numpy()
        table = annotate_rows(table, target if target.any() else [rank - 1], row)

    notes = [
        "All teachers who answered (every subject): a ranking, not a subject comparison "
        "(Exhibit 42 compares ELA and mathematics teachers).",
        "Missing data: each item's mean uses the teachers who rated it; "
        + exclusion_note(int(table["n_excluded_missing"].max()), "item not answered (largest "
                                                                   "over the items)") + ".",
        "Multiple comparisons: none; the two published ranks are each checked by one paired "
        "t-test against the next-ranked item.",
        no_cluster_note("teachers"),
        "Small cells: n is the number of teachers answering each item over the whole sample; "
        "no counts by group are shown, so nothing is suppressed.",
    ]
    source = data_source_label(sm.input.summary)
    write_exhibit(sm.output, exhibit="41", title="Teacher survey mean ratings: perceived "
                  "challenges associated with collaboration", section="RQ3: School context",
                  table=table.round(6), comparison=comparison,
                  figure=figure_of(table, source), caption="Mean teacher ratings of the "
                  "challenges of collaboration, largest first.", notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
