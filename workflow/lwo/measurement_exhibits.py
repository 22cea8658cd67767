"""Exhibits 8-10 (the measures): the block's reliability, item statistics, CFA loadings and fit and
EFA (block_measurement), tables, the published structure's comparison and the loadings figure,
from the saved CFA fits. The statistics are in lwo.measurement and lwo.ordinal_measurement."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import MARKER, data_source_label, read_analysis_table
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.io import write_csv
from lwo.measurement import (EFAResult, cronbach_alpha, efa_construct_match, exploratory_factor_analysis,
                             factor_parts, item_statistics, mcdonald_omega, reliability)
from lwo.ordinal_measurement import ordinal_alpha, ordinal_omega, polychoric_efa
from lwo.plotting import PALETTE, mark_data_source, new_figure
from lwo.scoring import reverse_coded


# --------------------------------------------------------------------------- Exhibits 8-10
@dataclass
class BlockMeasurement:
    """Everything Exhibits 8-10 show for one block of constructs."""

    constructs: pd.DataFrame   # one row per construct (the exhibit table)
    items: pd.DataFrame        # one row per item
    cfa_fit: pd.DataFrame      # one row per sample
    efa_loadings: pd.DataFrame
    efa: EFAResult | None      # None: not estimable (too few students answered every item)
    notes: list[str]


def fit_ok(fit: dict) -> bool:
    """A saved fit (fit.json of lwo.sem_results) with numbers to show."""
    return fit.get("status") == "ok"


SCALED_INDICES = ("chisq", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper")


def _fit_row(sample: str, fit: dict) -> dict:
    """One row of the fit table; a robust fit (WLSMV, MLR) shows its scaled statistics."""
    fi = fit.get("fit_indices", {})
    scaled = fi.get("chisq.scaled") is not None
    row = {"sample": sample, "estimator": str(fit.get("estimator", "ML")).split(" ")[0], "scaled": scaled,
           "n": fit.get("n_used"), "status": fit.get("status", "failed")}
    for key in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"):
        value = fi.get(f"{key}.scaled" if scaled and key in SCALED_INDICES else key) if fit_ok(fit) else None
        row[key.replace(".", "_")] = float("nan") if value is None else value
    row["message"] = fit.get("message", "")
    return row


# the fit statistics from which, with the df, a sample's size follows: hidden with a hidden size
N_GIVING_STATISTICS = ["chisq", "pvalue", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper"]


def shown_fit_table(fit_rows: list[dict], min_cell: int) -> tuple[pd.DataFrame, str]:
    """The CFA fit table as shown, and its suppression statement: the samples' sizes below min_cell
    are hidden (and the next smallest: all = the samples' sum + others), and with them what gives a
    size back: N = (chi-square / df - 1) / RMSEA^2, and the RMSEA with its CI."""
    frame = pd.DataFrame(fit_rows)
    if pd.to_numeric(frame["n"], errors="coerce").lt(min_cell).any():
        frame = frame.round(6)  # here: once the marker is mixed in, the CSV writer cannot format them
    return suppress_small_cells(frame, ["n"], min_cell=min_cell, complementary="both",
                                derived={"n": N_GIVING_STATISTICS}, marker=MARKER)


def fit_sentence(row: dict) -> str:
    """'chi2(df) = x, p; CFI; TLI; RMSEA [90% CI]; SRMR' or why there are no numbers."""
    who = f"{row['sample']} ({row['estimator']})"
    if row["status"] != "ok":
        return f"{who}: no estimates ({row['message']})"
    if row["n"] == MARKER:
        s = " scaled" if row["scaled"] else ""
        return (f"{who}, N {MARKER}: CFI{s} = {row['cfi']:.3f}; TLI{s} = {row['tli']:.3f}; SRMR = {row['srmr']:.3f} "
                "(the chi-square and RMSEA, which give N back, are suppressed with it)")
    if not np.isfinite(row["chisq"]):  # FIML without the unrestricted model: its estimates only
        return f"{who}, N = {row['n']}: no chi-square or fit indices (too few students for the unrestricted model)"
    p = "p < .001" if row["pvalue"] < 0.001 else f"p = {row['pvalue']:.3f}"
    s = " scaled" if row["scaled"] else ""
    # a fit without the RMSEA's CI (NaN) is printed without one
    ci = (f" [90% CI {row['rmsea_ci_lower']:.3f}, {row['rmsea_ci_upper']:.3f}]"
          if np.isfinite(row["rmsea_ci_lower"]) and np.isfinite(row["rmsea_ci_upper"]) else "")
    return (f"{who}, N = {row['n']}:{s} chi-square({row['df']:.0f}) = {row['chisq']:.1f}, {p}; "
            f"CFI{s} = {row['cfi']:.3f}; TLI{s} = {row['tli']:.3f}; RMSEA{s} = {row['rmsea']:.3f}{ci}; "
            f"SRMR = {row['srmr']:.3f}")


def _std_loadings(estimates: pd.DataFrame, factor: str, items: list[str]) -> np.ndarray:
    e = estimates[(estimates["op"] == "=~") & (estimates["lhs"] == factor)].set_index("rhs")
    return e["std.all"].reindex(items).to_numpy(float)


def _or_nan(func, *args) -> float:
    try:
        return func(*args)
    except (ValueError, np.linalg.LinAlgError):  # too few complete rows, an empty category, no convergence
        return float("nan")


def _efa_item(efa: EFAResult | None, match: pd.Series | None, item: str) -> dict:
    """An item's EFA columns: its loading on its construct's factor, and whether that is its largest
    (none without an EFA or a match: a construct nobody answered is not in the EFA)."""
    if efa is None or match is None:
        return {"efa_factor": "", "efa_loading": float("nan"), "efa_loads_most_on_own_factor": float("nan")}
    return {"efa_factor": match["factor"], "efa_loading": float(efa.loadings.loc[item, match["factor"]]),
            "efa_loads_most_on_own_factor": bool(efa.loadings.loc[item].abs().idxmax() == match["factor"])}


def block_measurement(students: pd.DataFrame, codebook, block: str, estimates: dict[str, pd.DataFrame],
                      fits: dict[str, dict], groups=("Black", "White"), min_cell: int = 10,
                      efa_seed: int = 0, wlsmv_estimates: pd.DataFrame | None = None,
                      wlsmv_fit: dict | None = None) -> BlockMeasurement:
    """Reliability, item statistics, CFA loadings and fit, and an EFA of one block of constructs.

    `students`: the analysis table (surveyed students are used); `estimates`/`fits`: the saved
    continuous fit of the block's CFA per sample (estimates.csv and fit.json as lwo.sem_results
    saves them; 'all' required, the others give the fit table's rows); `wlsmv_estimates` /
    `wlsmv_fit`: the same CFA of all students with the items ordered (WLSMV; rule
    measurement_cfa's wlsmv_* files), the primary loadings (std_loading; the continuous ones are
    std_loading_ml). Reverse-worded items are flipped before alpha (raw and ordinal), omega
    (ordinal), item statistics and the EFA (on polychoric correlations); CFA loadings (fitted on
    the answers as given) are shown in the scoring direction."""

    surveyed = students[students["surveyed"] == 1]
    constructs = codebook.constructs_in_block(block)
    # a scale the survey did not field, which the CFA left out (fit.json's outcomes_left_out): its
    # row says so, and the EFA is of the other constructs, as the CFAs are
    unfielded = list(fits["all"].get("outcomes_left_out") or {})
    fielded = [c for c in constructs if c not in unfielded]
    est_all = estimates["all"]
    converged = fit_ok(fits["all"])
    construct_of = {i: c for c in fielded for i in codebook.item_ids(c)}
    scored = pd.concat([reverse_coded(surveyed, codebook, c) for c in constructs], axis=1)
    all_items = [i for c in fielded for i in codebook.item_ids(c)]
    # ordinal alpha, omega and the polychoric EFA use the answers as the WLSMV CFA does (pairwise where it is)
    ordinal_missing = (wlsmv_fit or {}).get("missing", "listwise")
    pairwise = ordinal_missing == "pairwise"
    try:
        efa = polychoric_efa(scored, all_items, len(fielded), seed=efa_seed, missing=ordinal_missing)
        efa_note = "on the polychoric correlations of the items (maximum likelihood" + (
            "; pairwise, smoothed where not positive definite)" if pairwise else ")")
        efa_rows = "students with an answer" if pairwise else "complete answers"
    except (ValueError, np.linalg.LinAlgError) as exc:  # too few complete rows for a polychoric matrix
        try:
            efa = exploratory_factor_analysis(scored[all_items], len(fielded), seed=efa_seed)
            efa_rows = "complete answers"
            efa_note = (f"on the Pearson correlations of the answers (maximum likelihood; the polychoric EFA "
                        f"is not estimable here: {exc})")
        except (ValueError, np.linalg.LinAlgError) as exc_pearson:
            # e.g. an export where few students answered every item of the block: no EFA, and the
            # exhibit says why instead of failing
            efa, efa_note = None, f"not estimable here ({exc_pearson})"
    wlsmv_ok = wlsmv_fit is not None and fit_ok(wlsmv_fit) and wlsmv_estimates is not None
    match = efa_construct_match(efa.loadings, construct_of).set_index("construct") if efa is not None else None
    second_order = est_all[(est_all["op"] == "=~") & est_all["rhs"].isin(constructs)] if converged else None

    rows, item_rows, no_alpha = [], [], []
    nan = float("nan")
    for c in constructs:
        items = codebook.items(c)
        ids = [i.id for i in items]
        signs = np.array([-1.0 if i.reverse else 1.0 for i in items])
        # on the students who answered every item, shown for at least min_cell of them
        need = max(min_cell, 3)
        answered = c in fielded
        why = f"fewer than {need} students answered every item" if len(scored[ids].dropna()) < need else ""
        if not why:
            try:
                rel = reliability(scored[ids])
                stats_ = item_statistics(scored[ids]).set_index("item")
            except ValueError as exc:
                why = str(exc)
        if why:  # e.g. items asked on different survey forms
            if answered:  # (a construct nobody answered has a note of its own)
                no_alpha.append(f"{codebook.label(c)} ({why})")
            rel = dict.fromkeys(("alpha", "alpha_ci_lower", "alpha_ci_upper", "n"), nan)
            stats_ = pd.DataFrame(nan, index=ids, columns=["sd", "item_rest_r", "alpha_if_deleted"])
        # the answers as given (reverse-worded items not flipped), on the rows of the other item statistics
        raw = surveyed.loc[scored[ids].dropna().index, ids].astype(float)
        row = {"domain": codebook.student_constructs[c]["domain"], "construct": codebook.label(c), "id": c,
               "n_items": len(ids), "n": rel["n"], "mean": float(surveyed[c].mean()), "sd": float(surveyed[c].std()),
               "alpha": rel["alpha"], "alpha_ci_lower": rel["alpha_ci_lower"], "alpha_ci_upper": rel["alpha_ci_upper"],
               "ordinal_alpha": _or_nan(ordinal_alpha, scored, ids, ordinal_missing),
               "ordinal_omega": (_or_nan(ordinal_omega, scored, ids, ordinal_missing) if len(ids) >= 3
                                 else float("nan"))}
        loadings_ml = np.full(len(ids), np.nan)
        if converged and answered:
            parts = factor_parts(est_all, c, ids)
            loadings_ml = parts.std_loadings * signs
            row["omega"] = mcdonald_omega(parts.loadings * signs, parts.theta)
        else:
            row["omega"] = float("nan")
        loadings = (_std_loadings(wlsmv_estimates, c, ids) * signs if wlsmv_ok and answered
                    else np.full(len(ids), np.nan))
        answers = {g: scored.loc[surveyed["race"] == g, ids].dropna() for g in groups}
        # neither group's n where one is small: n less the other's would give it back
        sizes_shown = min(len(sub) for sub in answers.values()) >= min_cell
        for g, sub in answers.items():
            row[f"alpha_{g}"] = cronbach_alpha(sub) if len(sub) >= max(min_cell, 3) else float("nan")
            row[f"n_{g}"] = len(sub) if sizes_shown else float("nan")
        row["item_rest_r_min"] = float(stats_["item_rest_r"].min())
        row["std_loading_min"] = float(np.nanmin(loadings)) if wlsmv_ok and answered else float("nan")
        row["std_loading_max"] = float(np.nanmax(loadings)) if wlsmv_ok and answered else float("nan")
        row["std_loading_ml_min"] = float(np.nanmin(loadings_ml)) if converged and answered else float("nan")
        row["std_loading_ml_max"] = float(np.nanmax(loadings_ml)) if converged and answered else float("nan")
        if second_order is not None and len(second_order):
            hit = second_order[second_order["rhs"] == c]
            row["second_order_loading"] = float(hit["std.all"].iloc[0]) if len(hit) else float("nan")
        m = match.loc[c] if match is not None and answered else None
        row["efa_items_on_own_factor"] = (f"{m['items_on_own_factor']} of {m['n_items']}" if m is not None
                                          else "not estimable")
        rows.append(row)
        for k, item in enumerate(items):
            st = stats_.loc[item.id]
            item_rows.append({"construct": codebook.label(c), "item": item.id, "text": item.text,
                              "reverse_coded": item.reverse,
                              "mean_answer": float(raw[item.id].mean()) if not why else nan,
                              "sd": st["sd"], "item_rest_r": st["item_rest_r"],
                              "alpha_if_deleted": st["alpha_if_deleted"], "std_loading": loadings[k],
                              "std_loading_ml": loadings_ml[k],
                              **_efa_item(efa, m, item.id)})
    table = pd.DataFrame(rows)
    fit_rows = ([_fit_row("all", wlsmv_fit)] if wlsmv_fit is not None else []) + [_fit_row(s, f) for s, f in fits.items()]
    fit_table, suppression = shown_fit_table(fit_rows, min_cell)
    fitted = (wlsmv_fit or {}).get("fitted", "")
    wlsmv_students = ("every student with an answered item, pairwise deletion" if pairwise else
                      "all students answering every item")
    wlsmv_missing = "ordinal alpha, ordinal omega, the polychoric EFA and the WLSMV CFA " + (
        "every student who answered one of the items (pairwise deletion, lavaan missing = \"pairwise\": each "
        "threshold from the students who answered the item, each polychoric correlation from those who "
        "answered both)" if pairwise else
        "the students who answered every item (listwise, lavaan's default for WLSMV)")
    notes = [
        (f"Not in these data (no surveyed student answered an item of it): "
         f"{', '.join(codebook.label(c) for c in unfielded)}; the EFA and the CFAs are of the other "
         f"{len(fielded)} constructs." if unfielded else ""),
        "Alpha: Cronbach's alpha of the construct's items (reverse-worded items flipped), complete "
        "answers; 95% CI by Feldt's method (the project's tests check the function against pingouin). "
        f"alpha_{groups[0]} / alpha_{groups[1]}: the same for each group (shown for groups of at least "
        f"{min_cell}; the groups' n only where both are, since n less one group's would give the other's)."
        + (f" Not estimable here, with the item statistics: {'; '.join(no_alpha)}." if no_alpha else ""),
        "Ordinal alpha and ordinal omega (primary for the 4-point items): alpha of the items' polychoric "
        "correlations (Zumbo, Gadermann & Zeisser, 2007) and omega of each construct's one-factor WLSMV "
        "solution, on the latent-response scale (lwo.ordinal_measurement); alpha and omega beside them treat "
        "the 1-4 answers as continuous (omega: McDonald's, from the continuous CFA below; semTools' omega).",
        "Standardized loadings in the scoring direction (reverse-worded items load negatively on the answers "
        "as given): std_loading from the CFA with the items ordered (WLSMV, delta parameterization, "
        f"{wlsmv_students}{'; ' + fitted if fitted else ''}; primary), std_loading_ml from the "
        "continuous CFA (sensitivity).",
        f"EFA: {efa_note}, {len(fielded)} factors, "
        f"oblimin (quartimin) rotation{f', {efa.n} {efa_rows}' if efa is not None else ''}; each factor "
        "matched to one construct (largest summed loading); 'efa items on own factor': items whose largest "
        "loading is on their construct's factor.",
        "CFA fit, WLSMV first (scaled-shifted chi-square, scaled CFI/TLI/RMSEA"
        + (f"; SEs and scaled chi-square clustered by {wlsmv_fit['cluster']}, the first stage's scores summed per "
           "classroom as lavaan >= 0.7-2 and Mplus TYPE = COMPLEX" if (wlsmv_fit or {}).get("cluster") else "")
        + "), then the answers as continuous: " + "; ".join(fit_sentence(r) for r in fit_table.to_dict("records")),
        fits["all"].get("exclusion_note", ""),
        "Missing data: alpha (its n), the item statistics (mean_answer: the answer as given, reverse-worded "
        "items not flipped) and the EFA of the answers as numbers (where the polychoric one is not estimable) "
        "use the students who answered every item of the construct or block (listwise); the construct's mean "
        "and sd are of its scale score, over the students who have one; "
        f"{wlsmv_missing}; the continuous CFA: "
        + (fits["all"].get("estimation_text") or "as the estimation block of the config says") + ".",
        suppression if fit_table["n"].eq(MARKER).any() else "",
    ]
    efa_loadings = efa.loadings.reset_index(names="item") if efa is not None else pd.DataFrame({"item": all_items})
    return BlockMeasurement(table, pd.DataFrame(item_rows), fit_table, efa_loadings,
                            efa, [n for n in notes if n])


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
