"""Figures of the descriptive exhibits and the builders shared by several of them (Exhibits
37-38 and 40-44); the tables and tests they show come from lwo.descriptives."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (MARKER, RATING_SCALE, SUBJECT_LEGEND, SUBJECTS, TEACHER_RATING_SCALE, annotate_rows,
                              correction_note, data_source_label, items_and_composite_by_subject,
                              math_and_ela_teachers, missing_data_note, no_cluster_note, number_row, published_row,
                              quality_by_subject, read_analysis_table, small_group_note, subject_comparison,
                              teacher_scale_label)
from lwo.exhibit import published_rows, write_exhibit
from lwo.plotting import GROUP_COLOURS, PALETTE, mark_data_source, new_figure


def subject_means_figure(display: pd.DataFrame, *, title: str, source: str,
                         scale: str = RATING_SCALE):
    """ELA and mathematics means of each row of a subject comparison (dot plot)."""
    return two_group_means_figure(
        display["label"].tolist(),
        {SUBJECT_LEGEND[s]: pd.to_numeric(display[f"mean_{s}"], errors="coerce").tolist()
         for s in SUBJECTS},
        {SUBJECT_LEGEND[s]: GROUP_COLOURS[s] for s in SUBJECTS},
        significant=display["significant"].astype(bool).tolist(),
        xlabel=f"Mean rating ({scale})", title=title, source=source,
        note="* Holm-adjusted p < .05 within the exhibit's family")


def teacher_items_exhibit(inputs, output, *, min_cell: int, exhibit: str, group: str, title: str, caption: str,
                          figure_title: str, judge, composite: str | None = None) -> None:
    """The body of Exhibits 40 and 42-44: ELA vs mathematics teachers on one group of
    teacher_rating_items (and, with ``composite``, on their mean, overall and by site).

    ``judge(raw, display, published)`` compares the published statement(s) with the result
    and returns ``(display, comparison_rows)``.
    """
    inputs, output = dict(inputs.items()), dict(output.items())
    codebook = Codebook.load(inputs["codebook"])
    published = published_rows(inputs["published"], exhibit)
    teachers, excluded = math_and_ela_teachers(read_analysis_table(inputs["teachers"]))
    min_n = int(min_cell)
    items = codebook.teacher_rating_items[group]["items"]
    if composite:
        raw, display = items_and_composite_by_subject(
            teachers, list(items), label_of=items, composite=composite,
            min_share=codebook.min_share_items_answered, min_n=min_n)
    else:
        raw, display = subject_comparison(teachers, list(items), min_n=min_n, label_of=items)
        raw = raw.assign(scope="item")
        display.insert(0, "scope", "item")
    display, comparison = judge(raw, display, published)

    families = [correction_note(raw[raw["scope"] == "item"], f"the {len(items)} items")]
    if composite:
        families.append(f"The composite ({composite}: the mean of the answered items, at least "
                        f"{codebook.min_share_items_answered:.0%} of them) is a test of its own.")
        sites = raw["scope"].str.startswith("site")
        families.append(correction_note(raw[sites], f"the {int(sites.sum())} sites") + " The "
                        "site rows check that a pooled difference is not one site's alone.")
    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics teachers; difference = ELA - "
        f"mathematics; Hedges' g (pooled SD). Ratings: {TEACHER_RATING_SCALE}.",
        missing_data_note(raw, unit="teachers") + "; " + excluded,
        *families,
        no_cluster_note("teachers"),
        small_group_note(min_n, "teachers"),
    ]
    source = data_source_label(inputs["summary"])
    shown = display[display["scope"].isin(["item", "composite"])]
    figure = subject_means_figure(shown, title=figure_title, source=source,
                                  scale=TEACHER_RATING_SCALE)
    write_exhibit(output, exhibit=exhibit, title=title, section="RQ3: School context",
                  table=display, comparison=comparison, figure=figure, caption=caption,
                  notes=notes + ["Data: " + source])


def two_group_means_figure(labels: Sequence[str], means: Mapping[str, Sequence[float]],
                           colours: Mapping[str, str], *, significant: Sequence[bool],
                           xlabel: str, title: str, source: str, xlim=(1, 4),
                           note: str = "* adjusted p < .05"):
    """Dot plot of two groups' means per row (one line per area or item), with a star on
    rows whose difference is significant after correction."""
    n = len(labels)
    fig, ax = new_figure(figsize=(8.0, 1.4 + 0.42 * n))
    y = np.arange(n)[::-1]
    groups = list(means)
    for i in range(n):
        vals = [means[g][i] for g in groups]
        if all(np.isfinite(vals)):
            ax.plot(vals, [y[i]] * len(vals), color="#bbbbbb", lw=2, zorder=1)
    for g in groups:
        ax.scatter(means[g], y, s=46, color=colours[g], label=g, zorder=2)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{lab} *" if sig else lab for lab, sig in zip(labels, significant)])
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    # legend in one row between the title and the plot, where it can hide no point
    ax.set_title(title, loc="left", fontsize=10, pad=24)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(groups), frameon=False,
              fontsize=9, borderaxespad=0.2)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    footnote(fig, note)
    mark_data_source(fig, source)
    return fig


def footnote(fig, text: str) -> None:
    """A note under the plot, on its own line above the data-source stamp."""
    fig.text(0.01, 0.035, text, ha="left", va="bottom", fontsize=7, color="#666666", wrap=True)


def stacked_shares_figure(long: pd.DataFrame, row_name: str, categories: Sequence[str], *,
                          title: str, source: str, suppression: str):
    """Horizontal stacked bars: the percent of each category within each row, as published
    in a count table; hidden (suppressed) cells are drawn together as one hatched grey
    segment, which discloses nothing the table's totals do not."""
    rows = list(dict.fromkeys(long[row_name]))
    fig, ax = new_figure(figsize=(7.4, 1.6 + 0.45 * len(rows)))
    y = np.arange(len(rows))[::-1]
    colours = dict(zip(categories, [PALETTE[i] for i in (4, 0, 2, 1, 5, 3, 6)]))
    left = np.zeros(len(rows))
    for c in categories:
        part = long[long["category"] == c].set_index(row_name).reindex(rows)
        widths = pd.to_numeric(part["percent"], errors="coerce").fillna(0).to_numpy()
        ax.barh(y, widths, left=left, color=colours[c], label=c, height=0.62)
        for yi, l0, w in zip(y, left, widths):
            if w >= 7:
                ax.text(l0 + w / 2, yi, f"{w:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if c != categories[0] else "black")
        left += widths
    hidden = 100 - left
    if (hidden > 0.05).any():
        ax.barh(y, np.where(hidden > 0.05, hidden, 0), left=left, color="#dddddd",
                hatch="///", edgecolor="#999999", height=0.62, label=f"suppressed ({MARKER})")
    ax.set_yticks(y)
    ax.set_yticklabels(rows)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Percent of responses")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.3 / len(rows)), ncol=3,
              frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    footnote(fig, suppression)
    mark_data_source(fig, source)
    return fig


def teacher_quality_exhibit(inputs, output, *, min_cell: int, exhibit: str, domain: str) -> None:
    """Exhibits 37 and 38: ELA vs mathematics teachers on one domain of the seven teacher-survey
    quality areas; the Holm family and the count of areas that differ span all seven (the
    report publishes that count once, with Exhibit 37)."""
    inputs, output = dict(inputs.items()), dict(output.items())
    count_exhibit, count_key = "37", "teacher_subject_differences"
    codebook = Codebook.load(inputs["codebook"])
    published = published_rows(inputs["published"], count_exhibit)
    teachers, excluded = math_and_ela_teachers(read_analysis_table(inputs["teachers"]))
    min_n = int(min_cell)

    scales = codebook.teacher_scales
    family = list(scales)
    family_name = f"the {len(family)} quality areas of the teacher survey"
    raw, display = quality_by_subject(
        teachers, family, domain_of={c: scales[c]["domain"] for c in family},
        label_of={c: teacher_scale_label(codebook, c) for c in family}, family=family_name,
        min_n=min_n)
    n_differ = int(raw["n_significant"].iloc[0])
    count = number_row(published_row(published, count_key), float(n_differ))
    table = annotate_rows(display[display["domain"] == domain].reset_index(drop=True),
                          slice(None), count)

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics teachers; difference = ELA - "
        "mathematics; Hedges' g (pooled SD). Ratings: 1 = never/rarely, 4 = all of the time.",
        missing_data_note(table, unit="teachers") + "; " + excluded,
        correction_note(raw, family_name + " (Exhibits 37 and 38)"),
        f"Areas that differ (Holm-adjusted p < 0.05) among the {len(family)}: {n_differ} "
        f"(published in Exhibit {count_exhibit}, shown in both exhibits).",
        no_cluster_note("teachers"),
        small_group_note(min_n, "teachers"),
    ]
    source = data_source_label(inputs["summary"])
    figure = subject_means_figure(table, title=f"Teacher ratings of {domain} quality, by subject",
                                  source=source)
    write_exhibit(output, exhibit=exhibit, title=f"Teacher survey reports of the {domain} "
                  "quality features of collaborative groups, by subject",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=[count], figure=figure, caption="Mean teacher ratings of the "
                  f"{domain} quality areas, mathematics and ELA teachers.",
                  notes=notes + ["Data: " + source])
