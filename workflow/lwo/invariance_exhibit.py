"""Builder of the measurement-invariance exhibit (Black and White students): for every construct,
the WLSMV invariance sequence of its ordered items with the items responsible, the same sequence
in Wu & Estabrook's identification (lavaan >= 0.6-20's) and the continuous MLR sequence as
sensitivities, and each block's correlated-factor CFA. It takes plain arguments
(input paths, the output paths by name); the tests are lwo.measurement's. Apart from the
measurement exhibits 8-10: its fits are slow, and an edit to one should not rerun the other."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import RACES, data_source_label, read_analysis_table
from lwo.exhibit import compare_statement, few_clusters_notes, published_rows, status_of_rows, write_exhibit
from lwo.group_stats import suppress_small_cells
from lwo.io import write_csv
from lwo.measurement import (CFI_DROP, holm_adjusted_verdicts, invariance_analysis, ordinal_holm_adjusted_verdicts,
                             ordinal_invariance_analysis)
from lwo.model_data import analysis_columns, cluster_ids, select_sample
from lwo.plotting import PALETTE, mark_data_source, new_figure
from lwo.sem_results import with_outcomes_that_have_data
from lwo.specs import block_cfa


BLOCKS = {"hqc": ("8", "HQC subscales"), "classroom_environment": ("9", "classroom-environment measures"),
          "mindset": ("10", "mind-set and disposition measures"),
          "set_aside": (None, "measures collected and set aside")}  # construct models only
GROUP = "race"
GROUP_ORDER = list(RACES)  # Black, White: group 1, group 2
LEVELS = ("thresholds", "loadings")
ML_OPTIONS = {"missing": "ml", "estimator": "MLR"}
# WLSMV on every answer as the FIML sensitivity uses them (lavaan missing = "pairwise"): with
# listwise deletion a block's CFA of 12-32 items keeps few students of a survey with blank answers
WLSMV_MISSING = "pairwise"
# the primary sequence is lavaan 0.6.14's (Debian's, the reference of the tests); current lavaan's
# (Wu & Estabrook's identification of equal thresholds) is the we_* sensitivity
WU_ESTABROOK = "wu-estabrook"


def invariance_sample(students: pd.DataFrame, codebook: Codebook,
                      cluster: str | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """The surveyed Black and White students: their race and analysis columns, and their
    `cluster` column if given (a student without one is a cluster of their own), once per build;
    invariance_data takes each model's items from them."""
    chosen = pd.concat([select_sample(students, g) for g in GROUP_ORDER])
    cols = analysis_columns(chosen, codebook)
    if cluster:  # (joined, not inserted: analysis_columns' frame is built column by column)
        cols = pd.concat([cols, pd.Series(cluster_ids(chosen[cluster]), index=cols.index, name=cluster)], axis=1)
    return chosen["race"].astype(str), cols


def invariance_data(sample: tuple[pd.Series, pd.DataFrame], items: list[str],
                    cluster: str | None = None) -> tuple[pd.DataFrame, int]:
    """The students of `sample` (invariance_sample) with at least one of `items` answered (FIML
    and WLSMV's pairwise deletion use them all), with their `cluster`, and how many answered none."""
    race, cols = sample
    some = cols[items].notna().any(axis=1)
    cols = cols[items + ([cluster] if cluster else [])]
    race = pd.Series(race[some].to_numpy(), name=GROUP)
    return pd.concat([race, cols[some].reset_index(drop=True)], axis=1), int((~some).sum())


def one_factor_spec(codebook: Codebook, construct: str) -> str:
    return f"{construct} =~ " + " + ".join(codebook.item_ids(construct))


def delta_cfi_figure(table: pd.DataFrame, source: str):
    rows = table.reset_index(drop=True)
    fig, ax = new_figure(figsize=(7.6, max(2.6, 1.6 + 0.28 * len(rows))))
    y = np.arange(len(rows))[::-1]
    for level, marker, colour in (("thresholds", "o", PALETTE[2]), ("loadings", "s", PALETTE[3])):
        x = rows[f"{level}_cfi_change"].astype(float)
        ax.scatter(x, y, marker=marker, s=30, color=colour, label=f"{level} vs previous level", zorder=3)
        failed = rows[f"{level}_verdict"] == "fails"
        ax.scatter(x[failed], y[failed], marker=marker, s=110, facecolors="none", edgecolors="#D55E00",
                   linewidths=1.4, zorder=4)
    ax.axvline(-CFI_DROP, color="#D55E00", lw=1, ls="--")
    ax.axvline(0, color="#999999", lw=0.8)
    ax.text(-CFI_DROP, 1.0, " -.01", color="#D55E00", fontsize=8, va="top", transform=ax.get_xaxis_transform())
    ax.set_yticks(y)
    ax.set_yticklabels(rows["construct"], fontsize=8)
    changes = rows[["thresholds_cfi_change", "loadings_cfi_change"]].to_numpy(float)
    low = min(-0.03, (float(np.nanmin(changes)) if np.isfinite(changes).any() else 0.0) - 0.01)
    ax.set_xlim(low, 0.01)
    ax.set_xlabel("Change in scaled CFI (WLSMV) from the less constrained model (a drop beyond -.01 fails; circled)")
    ax.set_title("Measurement invariance across Black and White students", loc="left", fontsize=10, pad=22)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=8, borderaxespad=0.1)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    mark_data_source(fig, source)
    return fig


def build_exhibit_invariance(*, students, summary, codebook, published, min_cell, outputs, cluster=None) -> None:
    """Measurement invariance across Black and White students: the WLSMV sequence for every
    construct and block (clustered by `cluster`, a students column, if given), with the
    continuous MLR sequence as sensitivity; group sizes below `min_cell` are suppressed."""
    codebook = Codebook.load(codebook)
    min_n = int(min_cell)  # a group of fewer students is not compared (as in Exhibit 28)
    students = read_analysis_table(students)
    sample = invariance_sample(students, codebook, cluster)
    unclustered = " (no cluster in the config's estimation block)"
    n_clusters = int(sample[1][cluster].nunique()) if cluster else 0
    if cluster and n_clusters < 2:  # one classroom: no cluster-robust SEs (as sem_results)
        cluster, unclustered = None, f" (every Black and White student has the same {cluster})"
    rows, model_rows, results_by_name, wu_by_name, ml_by_name, unanswered = [], [], {}, {}, {}, 0
    for block, (exhibit, block_label) in BLOCKS.items():
        block_rows = []
        for c in codebook.constructs_in_block(block):
            data, none = invariance_data(sample, codebook.item_ids(c), cluster)
            unanswered += none
            spec = one_factor_spec(codebook, c)
            res = ordinal_invariance_analysis(c, spec, data, GROUP, GROUP_ORDER, search_items=False, min_n=min_n,
                                              missing=WLSMV_MISSING, cluster=cluster)
            wu_by_name[c] = ordinal_invariance_analysis(c, spec, data, GROUP, GROUP_ORDER, search_items=False,
                                                        min_n=min_n, missing=WLSMV_MISSING, cluster=cluster,
                                                        identification=WU_ESTABROOK)
            ml = ml_by_name[c] = invariance_analysis(c, spec, data, GROUP, GROUP_ORDER, search_items=False,
                                                     min_n=min_n, cluster=cluster, **ML_OPTIONS)
            results_by_name[c] = (res, data, spec)
            row = {"level": "construct", "block": block_label, "construct": codebook.label(c), "id": c, **res.row()}
            row.update({"ml_metric_chisq_diff": ml.table.loc["metric", "chisq.diff"],
                        "ml_metric_p": ml.table.loc["metric", "pvalue.diff"], "ml_metric_p_holm": np.nan,
                        "ml_metric_cfi_change": ml.table.loc["metric", "cfi.diff"],
                        "ml_scalar_chisq_diff": ml.table.loc["scalar", "chisq.diff"],
                        "ml_scalar_p": ml.table.loc["scalar", "pvalue.diff"], "ml_scalar_p_holm": np.nan,
                        "ml_scalar_cfi_change": ml.table.loc["scalar", "cfi.diff"],
                        "ml_comparable": ""})
            block_rows.append(row)
            for name, table in (("WLSMV", res.table), ("WLSMV (Wu & Estabrook)", wu_by_name[c].table),
                                ("MLR", ml.table)):
                t = table.reset_index()
                t.insert(0, "estimator", name)
                t.insert(0, "construct", c)
                model_rows.append(t)
        if not block_rows:
            continue
        b = pd.DataFrame(block_rows)
        # Holm within the block's constructs, then the verdicts from the adjusted p
        fitted = {c: (results_by_name[c][2], results_by_name[c][1]) for c in b["id"]}
        adjusted = ordinal_holm_adjusted_verdicts([results_by_name[c][0] for c in b["id"]], fitted, GROUP, GROUP_ORDER)
        for level in LEVELS:
            b[f"{level}_p_holm"] = adjusted[f"{level}_p_holm"].to_numpy()
        # the same in Wu & Estabrook's identification, whose intercepts level is a test of its own
        wu_adjusted = ordinal_holm_adjusted_verdicts([wu_by_name[c] for c in b["id"]], fitted, GROUP, GROUP_ORDER)
        # and in the continuous sensitivity, so that its verdicts differ from the primary ones by the estimator alone
        ml_adjusted = holm_adjusted_verdicts([ml_by_name[c] for c in b["id"]])
        for level in ("metric", "scalar"):
            b[f"ml_{level}_p_holm"] = ml_adjusted[f"{level}_p_holm"].to_numpy()
        b["ml_comparable"] = [ml_by_name[c].comparable for c in b["id"]]
        for i, r in b.iterrows():
            res, we = results_by_name[r["id"]][0], wu_by_name[r["id"]]
            b.loc[i, ["thresholds_verdict", "loadings_verdict", "comparable", "noninvariant_items"]] = [
                res.thresholds, res.loadings, res.comparable,
                "; ".join(f"{f['item']} ({f['level']})" for f in res.freed)]
            for level in we.tested:
                b.loc[i, f"we_{level}_cfi_change"] = we.table.loc[level, "cfi.diff"]
                b.loc[i, f"we_{level}_p_holm"] = wu_adjusted.loc[we.name, f"{level}_p_holm"]
            b.loc[i, ["we_comparable", "we_noninvariant_items"]] = [
                we.comparable, "; ".join(f"{f['item']} ({f['level']})" for f in we.freed)]
        rows.append(b)
        if exhibit is None:
            continue
        # the whole block: the correlated-factor CFA of its constructs (no item search: its
        # constructs' rows name the items) that both groups answered, as the block's CFA of
        # Exhibits 9 and 10 leaves out a scale the survey did not field
        n_constructs = len(codebook.constructs_in_block(block))
        spec, left_out = with_outcomes_that_have_data(block_cfa(codebook, block), students, codebook, GROUP_ORDER)
        data, _ = invariance_data(sample, list(spec.observed), cluster)
        res = ordinal_invariance_analysis(block, spec.syntax, data, GROUP, GROUP_ORDER, search_items=False,
                                          min_n=min_n, missing=WLSMV_MISSING, cluster=cluster)
        label = (f"{len(spec.factors)} of the {n_constructs} {block_label} (the others not answered by both groups)"
                 if left_out else f"All {n_constructs} {block_label}")
        rows.append(pd.DataFrame([{"level": "block", "block": block_label, "id": block, "construct": label,
                                   **res.row()}]))
        model_rows.append(res.table.reset_index().assign(construct=block, estimator="WLSMV"))
    table = pd.concat(rows, ignore_index=True).drop(columns=["model"])
    first = ["level", "block", "construct", "id", "n_Black", "n_White", "comparable", "noninvariant_items"]
    table = table[first + [c for c in table.columns if c not in first]]
    table, small_cells = suppress_small_cells(table, ["n_Black", "n_White"], min_cell=min_n,
                                              complementary="none")  # no total to recover a count from

    comparison = []
    for _, pub in published_rows(published, "invariance").iterrows():
        kind, _, construct = pub["key"].partition(":")
        if kind != "noninvariant" or construct not in results_by_name or \
                pub["value"] not in ("non-invariant", "invariant"):
            raise ValueError(f"{published}: exhibit invariance, key {pub['key']!r}: expected "
                             "noninvariant:<construct> with a construct of the codebook and value "
                             "non-invariant or invariant")
        res = results_by_name[construct][0]
        flagged = res.comparable != "means and relations"
        freed = "; ".join(f"{f['item']} ({f['level']})" for f in res.freed) or "none"
        comparison.append(compare_statement(
            pub, f"thresholds {res.thresholds}, loadings {res.loadings} (scaled ΔCFI "
                 f"{res.table.loc['thresholds', 'cfi.diff']:.3f} / {res.table.loc['loadings', 'cfi.diff']:.3f}); "
                 f"items responsible: {freed}; {res.comparable}",
            None if res.reason else flagged == (pub["value"] == "non-invariant"),
            "WLSMV; non-invariant = not comparable: the thresholds or the loadings level fails (scaled CFI "
            "drop > .01)"))

    constructs = table[table["level"] == "construct"]
    n_ok = int((constructs["comparable"] == "means and relations").sum())
    n_same = int(((constructs["comparable"] == "means and relations")
                  == (constructs["we_comparable"] == "means and relations")).sum())
    source = data_source_label(summary)
    notes = [
        "Primary: two-group CFAs of each construct's 4-point items as ordered categories (WLSMV, delta "
        "parameterisation; Black: group 1, White: group 2), as lavaan's cfa(..., ordered = items, "
        f"estimator = \"WLSMV\", missing = \"{WLSMV_MISSING}\", group = \"race\", group.equal = ..."
        + (f", cluster = \"{cluster}\"" if cluster else "") + ") in lavaan 0.6.14 (Debian's, the reference "
        "here" + ("; it fits the same estimates without the cluster, whose SEs and tests need lavaan >= 0.7-2, "
                  "as below" if cluster else "")
        + "). Configural: same structure; thresholds: equal thresholds, which in lavaan 0.6.14 also hold "
        "the items' intercepts equal (at 0; the second group's latent means and scale factors are free); "
        "loadings: equal thresholds and loadings. lavaan's further \"intercepts\" step then adds no "
        "constraint (df difference 0, intercepts_df_diff): it is not a test here. "
        f"{n_ok} of {len(constructs)} constructs are invariant at both levels (means and relations may be "
        "compared across the groups).",
        "Sensitivity (we_* columns, construct rows): the same sequence as lavaan 0.6-20 and later fit it, "
        "in Wu & Estabrook's (2016) identification of equal thresholds: the second group's intercepts and "
        "scale factors are free while its latent means stay at 0, so the thresholds step tests the "
        "thresholds alone and \"intercepts\" (equal intercepts, free latent means) is a third test; the "
        "same verdict rule and Holm correction, and the items responsible searched at each level (an "
        "item's intercept freed at the intercepts level). Its last model is the primary loadings model. "
        f"The two agree on whether means and relations may be compared for {n_same} of {len(constructs)} "
        "constructs.",
        (f"The WLSMV SEs and tests are clustered by {cluster}: the first stage's scores summed per {cluster} "
         f"(lavaan >= 0.7-2, Mplus TYPE = COMPLEX), a {cluster} with Black and White students counted once, so "
         "the two groups' statistics covary through it (lavaan numbers clusters within each group)."
         if cluster else f"The WLSMV SEs and tests are not clustered{unclustered}."),
        "Verdict per level: 'fails' when the scaled CFI drops by more than .01 (Cheung & Rensvold, 2002); "
        "'holds approximately' when it stays within .01 but the scaled-shifted chi-square difference test "
        "(lavTestLRT) is significant after a Holm correction within the block's constructs; 'holds' "
        "otherwise.",
        "Items responsible (noninvariant_items): at each level that does not simply hold, one item at a time "
        "is freed (lavaan group.partial: all its thresholds, or its loading; the marker item's loading sets "
        "the scale), smallest p first, while that p times the number of items still constrained is below .05 "
        "(Holm's step-down, each step tested on the refitted model) and the partial model does not yet pass "
        "against the previous level.",
        "Block rows: the correlated-factor CFA of all the block's constructs (WLSMV, no item search); a "
        "single non-invariant construct can be diluted among many invariant items there, so the construct "
        "rows decide comparability. An answer category that no student of a group chose leaves its "
        "threshold unidentified: that model is not estimable (as in lavaan).",
        "Sensitivity (ml_* columns, construct rows): the answers as continuous, configural -> metric (equal loadings) -> "
        "scalar (and intercepts), robust ML with full-information ML for missing answers (MLR, FIML), "
        "Satorra-Bentler scaled difference tests and the scaled CFI, "
        + (f"clustered by {cluster} as the WLSMV sequences are (a {cluster} with Black and White students one "
           "cluster; lwo.sem.fit's crossed clusters)" if cluster else f"not clustered{unclustered}")
        + "; ml_comparable its verdict, by the same rule with the p-values Holm-corrected within the block's "
        "constructs (ml_*_p_holm; ml_*_p uncorrected).",
        "WLSMV uses every student who answered an item of the construct (pairwise deletion, lavaan "
        "missing = \"pairwise\": each threshold from the students who answered the item, each polychoric "
        f"correlation from those who answered both items); {unanswered} student-construct pairs with none "
        "of the construct's items answered (summed over the constructs); students of other groups are not "
        "part of this comparison. Every model's fit: models.csv.",
    ]
    few_clusters = few_clusters_notes(n_clusters, cluster) if cluster else []
    write_csv(pd.concat(model_rows, ignore_index=True), outputs["models"])
    figure = delta_cfi_figure(table, source)
    write_exhibit(outputs, exhibit="invariance", title="Measurement invariance across Black and White students",
                  section="RQ1c: Black and White students", table=table, comparison=comparison, figure=figure,
                  caption="WLSMV invariance of each construct's ordered items (configural, thresholds, loadings): "
                          "scaled-shifted difference tests, change in scaled CFI, verdicts and the items "
                          "responsible; the same in Wu & Estabrook's identification (lavaan >= 0.6-20) and continuous MLR "
                          "as sensitivities.",
                  notes=notes + few_clusters + [small_cells, "Data: " + source],
                  status=status_of_rows(table["comparable"], "construct or block (WLSMV, the primary sequences)"))
