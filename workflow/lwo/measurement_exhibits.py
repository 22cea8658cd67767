"""Exhibits 8-10 (the measures): tables, the published structure's comparison and the loadings
figure, from the saved CFA fits. The measurement statistics are in lwo.measurement."""
from __future__ import annotations

import json

import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import data_source_label, read_analysis_table
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.io import write_csv
from lwo.measurement import block_measurement, fit_ok
from lwo.plotting import PALETTE, mark_data_source, new_figure


def structure_comparison(published: pd.DataFrame, codebook, block: str) -> list[dict]:
    """The published structure of a block (number of constructs, of domains, constructs per
    domain, each construct's domain) beside the codebook's. Keys: `constructs`, `domains`,
    `constructs_in_domain:<domain>`, `domain:<construct>`."""
    constructs = codebook.constructs_in_block(block)
    domain_of = {c: codebook.student_constructs[c]["domain"] for c in constructs}
    domains = list(dict.fromkeys(domain_of.values()))
    out = []
    for _, pub in published.iterrows():
        key = pub["key"]
        if key == "constructs":
            value, what = len(constructs), f"{len(constructs)} constructs: " + ", ".join(codebook.label(c) for c in constructs)
        elif key == "domains":
            value, what = len(domains), f"{len(domains)} domains: " + ", ".join(domains)
        elif key.startswith("constructs_in_domain:"):
            d = key.split(":", 1)[1]
            members = [c for c in constructs if domain_of[c] == d]
            value, what = len(members), f"{len(members)} in {d}: " + ", ".join(codebook.label(c) for c in members)
        elif key.startswith("domain:"):
            c = key.split(":", 1)[1]
            if c not in domain_of:
                raise ValueError(f"published value {pub['exhibit']}/{key}: {c!r} is not a construct of the "
                                 f"{block} block ({constructs})")
            value, what = domain_of[c], f"{codebook.label(c)}: {domain_of[c]}"
        else:
            raise ValueError(f"published value {pub['exhibit']}/{key}: unknown key; keys are constructs, "
                             "domains, constructs_in_domain:<domain>, domain:<construct>")
        agrees = str(value).strip().lower() == str(pub["value"]).strip().lower() if pub["kind"] == "text" \
            else float(value) == float(pub["value"])
        out.append(compare_statement(pub, what, agrees, "the codebook's structure of the block (config/codebook.yaml)"))
    return out


def loadings_figure(items: pd.DataFrame, constructs: pd.DataFrame, title: str, source: str):
    """Standardized loading of every item (scoring direction; WLSMV filled, continuous ML hollow),
    grouped by construct, with each construct's ordinal alpha and ordinal omega."""
    labels = list(dict.fromkeys(items["construct"]))
    colours = [c for c in PALETTE if c != "#F0E442"]  # yellow is hard to see on white
    n_rows = len(items) + len(labels)
    fig, ax = new_figure(figsize=(7.6, 1.3 + 0.2 * n_rows))
    y, ticks, ticklabels = n_rows, [], []
    for k, lab in enumerate(labels):
        sub = items[items["construct"] == lab]
        c = constructs[constructs["construct"] == lab].iloc[0]
        y -= 1
        ax.text(0.0, y, lab, fontsize=8.5, fontweight="bold", va="center", ha="left")
        ax.text(1.0, y, f"ordinal alpha {c['ordinal_alpha']:.2f}   ordinal omega {c['ordinal_omega']:.2f}", fontsize=8,
                va="center",
                ha="right", color="#333333")
        for _, it in sub.iterrows():
            y -= 1
            ax.plot([0, it["std_loading"]], [y, y], color="#cccccc", lw=1, zorder=1)
            ax.scatter([it["std_loading"]], [y], s=22, color=colours[k % len(colours)], zorder=2,
                       marker="D" if it["reverse_coded"] else "o")
            ax.scatter([it["std_loading_ml"]], [y], s=22, facecolors="none", edgecolors="#666666", zorder=2,
                       marker="D" if it["reverse_coded"] else "o", linewidths=0.8)
            ticks.append(y)
            ticklabels.append(f"{it['item']}{' (R)' if it['reverse_coded'] else ''}")
    ax.set_yticks(ticks)
    ax.set_yticklabels(ticklabels, fontsize=7.5)
    ax.set_ylim(-0.8, n_rows - 0.2)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Standardized loading, all students: filled WLSMV (ordered items), hollow continuous ML;\n"
                  "reverse-worded items (R) flipped")
    ax.grid(axis="y", alpha=0)
    ax.set_title(title, loc="left", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    mark_data_source(fig, source)
    return fig


def measurement_exhibit(inputs, output, *, min_cell: int, exhibit: str, block: str, title: str, caption: str) -> None:
    """Exhibits 8-10: write the block's table, item statistics, CFA fit, EFA loadings, figure
    and the published structure's comparison, from the rule's input and output paths."""
    inputs, output = dict(inputs.items()), dict(output.items())
    codebook = Codebook.load(inputs["codebook"])
    students = read_analysis_table(inputs["students"])
    samples = [k.split("_", 1)[1] for k in inputs.keys() if k.startswith("fit_")]
    fits, estimates = {}, {}
    for s in samples:
        with open(inputs[f"fit_{s}"], encoding="utf-8") as fh:
            fits[s] = json.load(fh)
        estimates[s] = pd.read_csv(inputs[f"estimates_{s}"])
    with open(inputs["wlsmv_fit"], encoding="utf-8") as fh:
        wlsmv_fit = json.load(fh)
    result = block_measurement(students, codebook, block, estimates, fits, min_cell=int(min_cell),
                               wlsmv_estimates=pd.read_csv(inputs["wlsmv_estimates"]), wlsmv_fit=wlsmv_fit)
    comparison = structure_comparison(published_rows(inputs["published"], exhibit), codebook, block)
    source = data_source_label(inputs["summary"])
    figure = loadings_figure(result.items, result.constructs, title, source)
    status = ("ok" if fit_ok(fits["all"]) else fits["all"].get("message") or "not estimable"
              if fits["all"].get("status") == "not estimable" else "failed")
    notes = result.notes + ([] if status == "ok" else [
        f"The continuous CFA for all students has no estimates ({fits['all'].get('message')}): its omega and "
        "loadings are not shown."]) + ([] if fit_ok(wlsmv_fit) else [
        f"The WLSMV CFA for all students has no estimates ({wlsmv_fit.get('message')}): its loadings are not shown."])
    write_csv(result.items, output["item_statistics"])
    write_csv(result.cfa_fit, output["cfa_fit"])
    write_csv(result.efa_loadings, output["efa"])
    write_exhibit(output, exhibit=exhibit, title=title, section="RQ1: Measures", table=result.constructs,
                  comparison=comparison, figure=figure, caption=caption, notes=notes + ["Data: " + source],
                  status=status)
