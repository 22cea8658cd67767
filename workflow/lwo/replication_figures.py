"""Figures of the Monte Carlo replication study: power and CI coverage by cohort size. Kept
apart from lwo.replication so that the replicate batches never import plotting code."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lwo.plotting import mark_data_source, new_figure
from lwo.replication import FINDINGS, HEADLINE
FINDING_LABELS = {f.key: f.title for f in FINDINGS}


def _panels(summary: pd.DataFrame):
    shares = list(dict.fromkeys(summary["share_black"]))
    fig, axes = new_figure(1, len(shares), figsize=(3.6 * len(shares) + 2.8, 3.8), sharey=True, squeeze=False,
                           layout="constrained")
    return fig, list(zip(shares, axes[0]))


def _finish(fig, panels, ylabel: str, source: str) -> None:
    for share, ax in panels:
        ax.set_title(f"{100 * share:g}% Black among surveyed students", fontsize=9)
    panels[0][1].set_ylabel(ylabel)
    handles, labels = panels[0][1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False)
    mark_data_source(fig, source)
    # below the axis labels, not on them (the saved figure grows to include it)
    fig.texts[-1].set_y(-0.03)
    fig.texts[-1].set_va("top")


def _curves(ax, sel: pd.DataFrame, column: str, mcse: str) -> None:
    for finding in dict.fromkeys(sel["finding"]):
        f = sel[sel["finding"] == finding].sort_values("n_students")
        style = {"linewidth": 2.4, "color": "#000000", "zorder": 3} if finding == HEADLINE else {"linewidth": 1.2}
        ax.errorbar(f["n_students"], f[column], yerr=1.96 * f[mcse].fillna(0), marker="o", markersize=3.5,
                    capsize=2, label=FINDING_LABELS.get(finding, finding), **style)
    ax.set_xscale("log")
    sizes = sorted(sel["n_students"].unique())
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(int(s)) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("students in the cohort")


def power_figure(summary: pd.DataFrame, target: float, source: str):
    """Power by cohort size, one panel per share of Black students (bars: 95% Monte Carlo
    intervals; dashed: the target power)."""
    fig, panels = _panels(summary)
    for share, ax in panels:
        ax.axhline(target, color="#666666", linestyle="--", linewidth=1)
        _curves(ax, summary[summary["share_black"] == share], "power", "power_mcse")
        ax.set_ylim(-0.02, 1.02)
    _finish(fig, panels, "power (share of replicates significant)", source)
    return fig


def coverage_figure(summary: pd.DataFrame, level: float, source: str):
    """CI coverage of the population value by cohort size; grey: the band of Monte Carlo noise
    (95%) around the nominal level."""
    fig, panels = _panels(summary)
    reps = int(summary["converged"].max() or 1)
    band = 1.96 * math.sqrt(level * (1 - level) / reps)
    for share, ax in panels:
        ax.axhspan(level - band, min(level + band, 1.0), color="#999999", alpha=0.2, linewidth=0)
        ax.axhline(level, color="#666666", linestyle="--", linewidth=1)
        _curves(ax, summary[summary["share_black"] == share], "coverage", "coverage_mcse")
        low = float(np.nanmin(summary["coverage"])) if summary["coverage"].notna().any() else 0.0
        ax.set_ylim(max(0.0, min(low, level - band) - 0.05), 1.01)
    _finish(fig, panels, f"coverage of the {100 * level:g}% CI", source)
    return fig
