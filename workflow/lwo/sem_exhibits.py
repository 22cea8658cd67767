"""The RQ1 model exhibits (Exhibits 12-31): tables, comparisons with the published values and
figures, built from the saved fits that `lwo.sem_results` reads. Nothing here fits a model.
"""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.exhibit import (cluster_unit, compare_number, compare_statement, few_clusters_notes, published_rows,
                         write_exhibit)
from lwo.plotting import GROUP_COLOURS, PALETTE, mark_data_source, new_figure
from lwo.saved_fits import ALPHA, ModelResult, read_model
from lwo.specs import TEACHER_EXPECTATION_OUTCOMES


# ============================================================================ exhibit tables
SAMPLE_NAMES = {"all": "All students", "Black": "Black students", "White": "White students"}
MEDIATOR_SET_NAMES = {
    "personalization": "Personalization (teacher support, learning needs met)",
    "teacher_expectations": "Teacher expectations",
    "social_comparison": "Social comparison concerns",
    "learning_from_peers": "Learning from and with peers",
    "engagement": "Engagement",
    "intrinsic_motivation": "Intrinsic motivation",
    "self_efficacy": "Self-efficacy",
    "mindsets": "All six mind-sets",
}
OBSERVED_NAMES = {"current_grade": "Current grade (prior grade controlled)", "absences": "Absences"}


def measure_label(codebook, name: str) -> str:
    return OBSERVED_NAMES.get(name) or codebook.label(name)


def model_path(fit_json) -> tuple[str, str]:
    """(sample, model) of results/models/<sample>/<model>/fit.json."""
    p = Path(fit_json)
    return p.parent.parent.name, p.parent.name


def load_results(fit_files, bootstrap_files=()) -> dict[tuple[str, str], ModelResult]:
    """The saved fits an exhibit reads, by (sample, model); bootstrap summaries attached."""
    boots = {model_path(b): b for b in bootstrap_files}
    out = {}
    for f in fit_files:
        key = model_path(f)
        out[key] = read_model(Path(f).parent, boots.get(key))
    return out


def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _effect(row: pd.Series | None, name: str, *, ci_cluster: bool = False) -> dict:
    """An std.all estimate's columns: name, its SE, CI and p; cluster-robust SE and p."""
    if row is None:
        return {}
    out = {name: _num(row["est.std"]), f"{name}_se": _num(row["se"]),
           f"{name}_ci_lower": _num(row["ci.lower"]), f"{name}_ci_upper": _num(row["ci.upper"]),
           f"p_{name}": _num(row["pvalue"]), f"{name}_se_cluster": _num(row["se.cluster"]),
           f"p_{name}_cluster": _num(row["pvalue.cluster"])}
    if ci_cluster:
        out[f"{name}_ci_lower_cluster"] = _num(row["ci.lower.cluster"])
        out[f"{name}_ci_upper_cluster"] = _num(row["ci.upper.cluster"])
    return out


def not_estimated_row(result: ModelResult, **keys) -> dict:
    """The one row a failed or not estimable model gets: its status and message, no numbers."""
    # a not-estimable sample may be tiny: its count is in the (privacy-safe) message, not here
    n = result.n if result.status != "not estimable" else (0 if result.n == 0 else None)
    return {**keys, "n": n, "status": result.message or result.status}


def left_out(result: ModelResult, outcome: str) -> str | None:
    """Why the fit has no estimates for `outcome` (no student had data on it), or None."""
    why = (result.info.get("outcomes_left_out") or {}).get(outcome)
    return None if why is None else f"not estimable: {why}"


def direct_effects_rows(result: ModelResult, outcomes, codebook, *, sample_label: str) -> list[dict]:
    """Standardized HQC -> outcome (path c_<outcome>) with its delta-method 95% CI and p,
    ordinary and classroom-clustered."""
    if not result.ok:
        return [not_estimated_row(result, sample=sample_label, measure=f"every measure of {result.model}",
                                  outcome="")]
    rows = []
    for o in outcomes:
        if left_out(result, o):
            rows.append({"sample": sample_label, "measure": measure_label(codebook, o), "outcome": o, "n": None,
                         "status": left_out(result, o)})
            continue
        r = result.std(f"c_{o}")
        e = _effect(r, "std_effect", ci_cluster=True)
        rows.append({"sample": sample_label, "measure": measure_label(codebook, o), "outcome": o, "n": result.n,
                     "std_effect": e["std_effect"], "ci_lower": e["std_effect_ci_lower"],
                     "ci_upper": e["std_effect_ci_upper"], "se": e["std_effect_se"], "p": e["p_std_effect"],
                     "significant": bool(e["p_std_effect"] < ALPHA),
                     "se_cluster": e["std_effect_se_cluster"], "ci_lower_cluster": e["std_effect_ci_lower_cluster"],
                     "ci_upper_cluster": e["std_effect_ci_upper_cluster"], "p_cluster": e["p_std_effect_cluster"],
                     "significant_cluster": bool(e["p_std_effect_cluster"] < ALPHA), "status": "ok"})
    return rows


def mediation_rows(result: ModelResult, codebook, *, mediator_set: str, outcomes=None, sample_label: str,
                   group: str = "") -> list[dict]:
    """Before (total effect, the `total_<o>` parameter) and after (direct path c_<o>) the
    mediators, the indirect effect and the share mediated (indirect / total), all std.all with
    delta-method CIs; bootstrap percentile CIs when the fit has a bootstrap summary."""
    keys = {"sample": sample_label, "mediators": MEDIATOR_SET_NAMES.get(mediator_set, mediator_set)}
    if not result.ok:
        return [not_estimated_row(result, **keys, outcome="every outcome")]
    suffix = f"_{group}" if group else ""
    outs = outcomes or [r[len("total_"):-len(suffix) or None] for r in result.standardized["label"]
                        if str(r).startswith("total_") and str(r).endswith(suffix)]
    rows = []
    for o in outs:
        row = {**keys, "outcome": measure_label(codebook, o), "outcome_id": o, "n": result.n}
        if left_out(result, o):
            rows.append({**row, "n": None, "status": left_out(result, o)})
            continue
        row.update(_effect(result.std(f"total_{o}{suffix}"), "before"))
        row.update(_effect(result.std(f"c_{o}{suffix}"), "after"))
        row.update(_effect(result.std(f"indirect_{o}{suffix}"), "indirect"))
        share = result.std(f"percent_mediated_{o}{suffix}")
        row.update({"share_mediated": _num(share["est.std"]), "share_ci_lower": _num(share["ci.lower"]),
                    "share_ci_upper": _num(share["ci.upper"]), "share_ci_lower_cluster": _num(share["ci.lower.cluster"]),
                    "share_ci_upper_cluster": _num(share["ci.upper.cluster"])})
        for name, column in ((f"indirect_{o}{suffix}", "indirect"), (f"percent_mediated_{o}{suffix}", "share")):
            b = result.boot(name)
            if b is not None:
                row[f"{column}_boot_ci_lower"] = _num(b["std.boot.ci.lower"])
                row[f"{column}_boot_ci_upper"] = _num(b["std.boot.ci.upper"])
                row["bootstrap_resamples"] = int(b["n_used"])
        row["status"] = "ok"
        rows.append(row)
    return rows


def direct_only_row(result: ModelResult, outcome: str, codebook, *, sample_label: str) -> dict:
    """A direct-effects model as the 'no mediator' row of a before/after table."""
    keys = {"sample": sample_label, "mediators": "none (direct-effects model)"}
    if not result.ok:
        return not_estimated_row(result, **keys, outcome=measure_label(codebook, outcome))
    row = {**keys, "outcome": measure_label(codebook, outcome), "outcome_id": outcome, "n": result.n}
    if left_out(result, outcome):
        return {**row, "n": None, "status": left_out(result, outcome)}
    row.update(_effect(result.std(f"c_{outcome}"), "before"))
    row["status"] = "ok"
    return row


def status_of(results) -> str:
    """An exhibit's meta.json status: ok, or the first failure with its message."""
    for r in results:
        if r.status == "failed":
            return r.message if r.message.lower().startswith("failed") else f"failed: {r.message}"
    for r in results:
        if not r.ok:
            return r.message or r.status
    return "ok"


def table_from_rows(rows: list[dict], first=()) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    order = [c for c in first if c in df.columns] + [c for c in df.columns if c not in first and c != "status"]
    if "status" in df.columns:
        order.append("status")
    return df[order]


MEDIATION_COLUMNS = ["sample", "group", "mediators", "outcome", "n", "before", "before_ci_lower", "before_ci_upper",
                     "p_before", "after", "after_ci_lower", "after_ci_upper", "p_after", "indirect",
                     "indirect_ci_lower", "indirect_ci_upper", "p_indirect", "share_mediated", "share_ci_lower",
                     "share_ci_upper"]
DIRECT_COLUMNS = ["sample", "measure", "n", "std_effect", "ci_lower", "ci_upper", "p", "significant", "se",
                  "se_cluster", "ci_lower_cluster", "ci_upper_cluster", "p_cluster", "significant_cluster"]


# ============================================================================ comparisons
def compare_estimate(pub: pd.Series, row: dict | None, name: str, *, what: str) -> dict:
    """A published number beside an std.all estimate: agrees = inside its delta-method 95% CI."""
    if row is None or row.get("status", "ok") != "ok" or name not in row:
        out = compare_number(pub, float("nan"))
        out["reproduced"] = "not estimable"
        out["basis"] = row.get("status") if row else "no model"
        return out
    out = compare_number(pub, row[name], row.get(f"{name}_ci_lower", row.get("ci_lower")),
                         row.get(f"{name}_ci_upper", row.get("ci_upper")))
    out["basis"] = f"published value inside the reproduced 95% CI ({what}; delta method)"
    return out


def compare_share(pub: pd.Series, row: dict | None) -> dict:
    """A published share mediated beside the reproduced one: agrees = inside the bootstrap
    percentile CI when there is one (better for a ratio), else the delta-method CI."""
    if row is None or row.get("status", "ok") != "ok":
        out = compare_number(pub, float("nan"))
        out["reproduced"] = "not estimable"
        out["basis"] = row.get("status") if row else "no model"
        return out
    if "share_boot_ci_lower" in row and np.isfinite(row["share_boot_ci_lower"]):
        out = compare_number(pub, row["share_mediated"], row["share_boot_ci_lower"], row["share_boot_ci_upper"])
        out["basis"] = "published share inside the bootstrap percentile 95% CI of indirect / total (std.all)"
    else:
        out = compare_number(pub, row["share_mediated"], row["share_ci_lower"], row["share_ci_upper"])
        out["basis"] = "published share inside the delta-method 95% CI of indirect / total (std.all)"
    if out["ci_upper"] - out["ci_lower"] >= 1:  # wider than the 0-1 a share spans: any share agrees
        out["basis"] += "; the CI is wider than the 0 to 1 a share spans, so agreement says little"
    return out


def significance_statement(pub: pd.Series, rows: list[dict], *, expect_significant: bool, what: str) -> dict:
    """A published 'significant' / 'not significant' finding beside the reproduced p-values."""
    usable = [r for r in rows if r.get("status", "ok") == "ok"]
    if not usable:
        why = next((r["status"] for r in rows if r.get("status")), "model not estimated")
        return compare_statement(pub, "not estimable", None, f"{what}: {why}")
    p_key = "p" if "p" in usable[0] else next(k for k in usable[0] if k.startswith("p_") and not k.endswith("cluster"))
    sig = [r[p_key] < ALPHA for r in usable]
    if expect_significant:
        k = sum(sig)
        text = f"{k} of {len(sig)} significant at .05"
        agrees = k == len(sig)
    else:
        text = "; ".join(f"p = {r[p_key]:.3f}" for r in usable)
        text = ("not significant" if not any(sig) else "significant") + f" ({text})"
        agrees = not any(sig)
    return compare_statement(pub, text, agrees, f"{what}; two-sided p < .05 (delta method, std.all)")


# ============================================================================ figures
def _message_figure(text: str, source: str):
    fig, ax = new_figure(figsize=(7.0, 2.0))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10)
    mark_data_source(fig, source)
    return fig


def forest_figure(table: pd.DataFrame, *, title: str, source: str, xlabel: str = "Standardized effect of HQC (95% CI)"):
    """Standardized effects with 95% CIs, one row per measure, one colour per sample."""
    ok = table[table["status"] == "ok"]
    if ok.empty:
        return _message_figure("No estimates: " + "; ".join(table["status"].astype(str).unique()), source)
    measures = list(dict.fromkeys(ok["measure"]))
    samples = list(dict.fromkeys(ok["sample"]))
    fig, ax = new_figure(figsize=(7.0, 0.45 * len(measures) + 1.4))
    step = 0.22
    for k, s in enumerate(samples):
        d = ok[ok["sample"] == s].set_index("measure").reindex(measures)
        y = np.arange(len(measures))[::-1] + (k - (len(samples) - 1) / 2) * step
        key = next((g for g in GROUP_COLOURS if g.lower() in s.lower()), None)
        colour = GROUP_COLOURS.get(key, PALETTE[k % len(PALETTE)]) if key else PALETTE[k % len(PALETTE)]
        ax.errorbar(d["std_effect"], y, xerr=[d["std_effect"] - d["ci_lower"], d["ci_upper"] - d["std_effect"]],
                    fmt="o", color=colour, capsize=3, label=s, markersize=5)
    ax.axvline(0, color="#666666", linewidth=0.8)
    ax.set_yticks(np.arange(len(measures))[::-1], measures)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="y", visible=False)
    if len(samples) > 1:
        ax.legend(frameon=False, loc="best", fontsize=8)
    _finish(fig, source)
    return fig


def before_after_figure(table: pd.DataFrame, *, title: str, source: str, category: str = "outcome",
                        series: str = "sample"):
    """Standardized HQC effect before and after the mediators (95% CI bars): one group of bars
    per outcome (or mediator set), a pair (before: light, after: solid) per sample or group."""
    ok = table[(table["status"] == "ok") & table["before"].notna()] if "before" in table else table.iloc[0:0]
    if ok.empty:
        return _message_figure("No estimates: " + "; ".join(table["status"].astype(str).unique()), source)
    cats = list(dict.fromkeys(ok[category]))
    groups = list(dict.fromkeys(ok[series]))
    fig, ax = new_figure(figsize=(max(7.0, 1.1 * len(cats) * len(groups)), 4.2))
    width = 0.8 / (2 * len(groups))
    x = np.arange(len(cats))
    for k, g in enumerate(groups):
        d = ok[ok[series] == g].set_index(category).reindex(cats)
        key = next((c for c in GROUP_COLOURS if c != "all" and c.lower() in str(g).lower()), None)
        colour = GROUP_COLOURS[key] if key else PALETTE[k % len(PALETTE)]
        for j, (col, alpha, hatch) in enumerate((("before", 0.35, None), ("after", 1.0, None))):
            if col not in d:
                continue
            vals = d[col].to_numpy(float)
            err = np.vstack([vals - d[f"{col}_ci_lower"].to_numpy(float), d[f"{col}_ci_upper"].to_numpy(float) - vals])
            pos = x - 0.4 + width * (2 * k + j + 0.5)
            ax.bar(pos, vals, width, color=colour, alpha=alpha, hatch=hatch, edgecolor=colour,
                   label=f"{g}: {col}" if len(groups) > 1 else col)
            ax.errorbar(pos, vals, yerr=err, fmt="none", ecolor="#333333", capsize=2, linewidth=0.8)
    ax.axhline(0, color="#666666", linewidth=0.8)
    ax.set_xticks(x, [_wrap(c) for c in cats], fontsize=8)
    ax.set_ylabel("Standardized effect of HQC (95% CI)")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(axis="x", visible=False)
    ax.legend(frameon=False, fontsize=8, ncol=2 if len(groups) > 1 else 1)
    _finish(fig, source)
    return fig


def _finish(fig, source: str) -> None:
    """Room at the bottom for the data-source stamp, below the axis labels."""
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    mark_data_source(fig, source)


def _wrap(text: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


# ============================================================================ exhibit builders
SECTIONS = {"all": "RQ1a: All students", "Black": "RQ1b: Black students",
            "Black_vs_White": "RQ1c: Black and White students"}
CONTROLS_TEXT = ("controls: school (fixed effects), grade level, gender, ELL status, special-education status and "
                 "the subject surveyed (math or ELA), on HQC, every mediator and every outcome; grade models also "
                 "prior grade")


@dataclass


class ExhibitInputs:
    codebook: object
    published: pd.DataFrame
    results: dict
    source: str

    def get(self, sample: str, model: str) -> ModelResult:
        try:
            return self.results[(sample, model)]
        except KeyError:
            raise ValueError(f"results/models/{sample}/{model}: not an input of this exhibit's rule") from None

    def pub(self, key: str) -> pd.Series:
        rows = self.published[self.published["key"] == key]
        if rows.empty:
            raise ValueError(f"data/published/published_values.csv: no key {key!r} for this exhibit")
        return rows.iloc[0]


def exhibit_inputs(inputs, exhibit: str) -> ExhibitInputs:
    """What every SEM exhibit reads, from its rule's input paths (`inputs`: name -> path or
    paths, e.g. snakemake.input): the codebook, its published values, the saved fits named in
    `fits` (with bootstrap summaries from `boot`), the data label of `summary`."""
    inputs = dict(inputs.items())
    fits = [f for f in inputs["fits"] if Path(f).name == "fit.json"]
    boots = list(inputs.get("boot") or [])
    with open(inputs["summary"], encoding="utf-8") as fh:
        source = json.load(fh)["label"]
    return ExhibitInputs(Codebook.load(inputs["codebook"]), published_rows(inputs["published"], exhibit),
                         load_results(fits, boots), source)


def _fit_line(r: ModelResult) -> str:
    fi = r.info.get("fit_indices") or {}

    def f(key, digits=3):
        v = fi.get(key)
        return "NA" if v is None else f"{v:.{digits}f}"

    if fi.get("chisq") is None and r.info.get("fit_note"):  # FIML without the unrestricted model
        return r.info["fit_note"]
    if r.info.get("estimator") == "WLSMV":  # lavaan's scaled-shifted test and its ".scaled" indices
        return (f"scaled-shifted chi-square({fi.get('df')}) = {f('chisq.scaled', 1)} (DWLS {f('chisq', 1)}), "
                f"CFI = {f('cfi.scaled')}, TLI = {f('tli.scaled')}, RMSEA = {f('rmsea.scaled')}, SRMR = {f('srmr')}")
    if fi.get("chisq.scaled") is not None:  # MLR: the Yuan-Bentler scaled test and lavaan's robust indices
        return (f"scaled chi-square({fi.get('df')}) = {f('chisq.scaled', 1)} (ML {f('chisq', 1)}, scaling factor "
                f"{f('chisq.scaling.factor')}), robust CFI = {f('cfi.robust')}, robust TLI = {f('tli.robust')}, "
                f"robust RMSEA = {f('rmsea.robust')} [{f('rmsea.ci.lower.robust')}, {f('rmsea.ci.upper.robust')}], "
                f"SRMR = {f('srmr')}")
    return (f"chi-square({fi.get('df')}) = {f('chisq', 1)}, CFI = {f('cfi')}, TLI = {f('tli')}, "
            f"RMSEA = {f('rmsea')} [{f('rmsea.ci.lower')}, {f('rmsea.ci.upper')}], SRMR = {f('srmr')}")


def estimation_notes(results) -> list[str]:
    """How the fits were estimated (config `estimation`), in words, once per distinct setting."""
    texts = list(dict.fromkeys(r.info["estimation_text"] for r in results if r.info.get("estimation_text")))
    notes = [f"Estimation: {t}." for t in texts]
    notes += cluster_column_notes(results)
    counted = [r for r in results if r.info.get("cluster") and r.info.get("n_clusters")]
    if counted:
        fewest = min(counted, key=lambda r: int(r.info["n_clusters"]))
        notes += few_clusters_notes(int(fewest.info["n_clusters"]), fewest.info["cluster"])
    return notes


def cluster_column_notes(results) -> list[str]:
    """What the *_cluster columns hold, per kind of fit among `results`: the clustered SEs again
    (MLR and WLSMV fits with a cluster: their SEs are clustered), a clustered sensitivity beside
    unclustered SEs (ML with a cluster), or nothing (no cluster: the config has none, or a
    sample has fewer than two of them)."""
    kinds: dict[tuple, list[str]] = {}
    for r in results:
        cluster, estimator = r.info.get("cluster"), r.info.get("estimator")
        kind = ("none",) if not cluster else ("same", cluster, estimator) if estimator in ("MLR", "WLSMV") else \
            ("sensitivity", cluster)
        kinds.setdefault(kind, []).append(r.sample)
    notes = []
    for kind, samples in kinds.items():
        which = "" if len(kinds) == 1 else f" ({', '.join(dict.fromkeys(samples))})"
        if kind[0] == "same":
            how = ("MLR sandwich" if kind[2] == "MLR" else f"WLSMV, the first stage's scores summed per {kind[1]}")
            notes.append(f"Standard errors, CIs and p-values{which} are robust to clustering by {kind[1]} ({how}); "
                         "the *_cluster columns repeat them.")
        elif kind[0] == "sensitivity":
            notes.append(f"*_cluster columns{which}: SEs clustered by {kind[1]} (sandwich), a sensitivity check for "
                         f"students nested in {cluster_unit(kind[1])}, which the report does not say it accounted for.")
        else:
            notes.append(f"*_cluster columns{which}: empty, no clustered SEs (the config's estimation block has no "
                         "cluster, or the sample has fewer than two of them).")
    return notes


def model_notes(results, *, bootstrap: bool = False) -> list[str]:
    """The notes every SEM exhibit carries: model, inference, and per saved fit its N,
    exclusions, fit, warnings and where it is saved."""
    notes = [
        "Model: structural equation model (lavaan sem(), with the options of the estimation note and of each "
        "saved spec's lavaan call; residual covariances of the final outcomes and of the mediators free). "
        "HQC is a latent factor of its 8 subscale scores; "
        "classroom measures and mind-sets are latent factors of their items; grades and absences are observed; "
        + CONTROLS_TEXT + ".",
        *estimation_notes(results),
        "Estimates are standardized (std.all). 95% CIs and p-values: delta method on the standardized scale. "
        "Significant: two-sided p < .05. Multiple comparisons: none; each p-value is of its own test, "
        "uncorrected for the exhibit's other paths and tests.",
    ]
    if bootstrap:
        # the bootstrap resamples the estimation block's clusters (classrooms where it has none)
        cluster = next((r.info["cluster"] for r in results if r.info.get("cluster")), "classroom_id")
        notes.append(f"Bootstrap: percentile 95% CIs from resampling {cluster_unit(cluster)} with all their students "
                     "(config bootstrap); *_boot_* columns.")
        for r in results:
            b = r.bootstrap
            if b is not None and len(b) and int(b["n_failed"].iloc[0]):
                notes.append(f"Bootstrap of {r.model} ({r.sample}): {int(b['n_failed'].iloc[0])} of "
                             f"{int(b['n_resamples'].iloc[0])} resamples gave no estimates (why: results/models/"
                             f"{r.sample}/{r.model}/bootstrap/); its CIs rest on the other {int(b['n_used'].iloc[0])}, "
                             "and resamples seldom fail at random.")
    for r in results:
        where = f"results/models/{r.sample}/{r.model}/"
        if r.ok:
            text = (f"{r.model} ({r.sample}), {r.info.get('estimator', 'ML')}, N used = {r.n}: "
                    f"{r.info.get('exclusion_note', '')}; {_fit_line(r)}")
            if r.info.get("outcomes_left_out"):
                text += "; " + "; ".join(r.info["outcomes_left_out"].values())
            if r.info.get("cluster"):
                text += f"; {r.info.get('n_clusters')} {cluster_unit(r.info['cluster'])}"
            if r.info.get("warnings"):
                text += "; warnings: " + "; ".join(r.info["warnings"])
            notes.append(text + f". Saved fit: {where} (refit_in_lavaan.R).")
        elif r.status == "failed":
            notes.append(f"{r.model} ({r.sample}): {r.message}. {r.info.get('exclusion_note', '')}. "
                         f"Spec and data: {where}")
        else:  # not estimable: no counts, the sample may be tiny
            notes.append(f"{r.model} ({r.sample}): {r.message or r.status}.")
    return notes


GRADE_MEDIATOR_SETS = ("engagement", "intrinsic_motivation", "self_efficacy", "mindsets")


def grades_before_after(ex: ExhibitInputs, sample: str) -> tuple[list[dict], list[ModelResult]]:
    """Exhibits 15 and 23: HQC -> grade in the direct-effects model, then before (total) and
    after (direct) each mind-set domain and all six mind-sets."""
    label = SAMPLE_NAMES.get(sample, sample)
    direct = ex.get(sample, "hqc_to_grades")
    rows = [direct_only_row(direct, "current_grade", ex.codebook, sample_label=label)]
    results = [direct]
    for domain in GRADE_MEDIATOR_SETS:
        r = ex.get(sample, f"hqc_grades_via_{domain}")
        results.append(r)
        rows += mediation_rows(r, ex.codebook, mediator_set=domain, outcomes=["current_grade"], sample_label=label)
    return rows, results


def build_exhibit_15(*, inputs, outputs) -> None:
    """Exhibit 15: HQC -> current grade (prior grade controlled) before and after the mind-sets,
    all students: each mind-set domain, then all six mind-sets together.
    `inputs`: fits, boot, summary, codebook, published (name -> path or paths)."""
    ex = exhibit_inputs(inputs, "15")
    rows, results = grades_before_after(ex, "all")
    direct = rows[0]
    after_all = [r for r in rows if r["mediators"].startswith("All six") and r.get("status") == "ok"]
    comparison = [
        compare_estimate(ex.pub("std_effect:current_grade:all"), direct, "before",
                         what="HQC -> grade, prior grade controlled, direct-effects model"),
        significance_statement(ex.pub("direct_after_mindsets:current_grade:all"),
                               [{"p": r["p_after"]} for r in after_all], expect_significant=False,
                               what="direct HQC -> grade with all six mind-sets in the model"),
    ]
    table = table_from_rows(rows, MEDIATION_COLUMNS)
    title = ("Relationships between high-quality collaboration (HQC) and grades, before and after accounting for "
             "mind-set and dispositional outcomes")
    fig = before_after_figure(table, title="HQC and grades before and after mind-sets: all students",
                              source=ex.source, category="mediators")
    write_exhibit(outputs, exhibit="15", title=title, section=SECTIONS["all"], table=table, comparison=comparison,
                  figure=fig,
                  caption=("Standardized effect of HQC on current grade (prior grade controlled), all students: the "
                           "direct-effects model, then before (total) and after (direct) each set of mind-sets."),
                  notes=model_notes(results, bootstrap=any(r.bootstrap is not None for r in results)) + [SHARE_NOTE],
                  status=status_of(results))


def build_exhibit_23(*, inputs, outputs) -> None:
    """Exhibit 23: HQC -> current grade (prior grade controlled) before and after the mind-sets,
    Black students; the shares explained by each domain (the report's note f).
    `inputs`: fits, boot, summary, codebook, published (name -> path or paths)."""
    ex = exhibit_inputs(inputs, "23")
    rows, results = grades_before_after(ex, "Black")
    by_set = {r["mediators"]: r for r in rows}
    comparison = [compare_estimate(ex.pub("std_effect:current_grade:Black"), rows[0], "before",
                                   what="HQC -> grade, prior grade controlled, direct-effects model")]
    for domain in ("intrinsic_motivation", "engagement", "self_efficacy"):
        comparison.append(compare_share(ex.pub(f"percent_mediated:current_grade:{domain}:Black"),
                                        by_set.get(MEDIATOR_SET_NAMES[domain])))
    table = table_from_rows(rows, MEDIATION_COLUMNS)
    title = ("Relationships between high-quality collaboration (HQC) and grades among Black students, before and "
             "after accounting for mind-set and dispositional outcomes")
    fig = before_after_figure(table, title="HQC and grades before and after mind-sets: Black students",
                              source=ex.source, category="mediators")
    write_exhibit(outputs, exhibit="23", title=title, section=SECTIONS["Black"], table=table, comparison=comparison,
                  figure=fig,
                  caption=("Standardized effect of HQC on current grade (prior grade controlled), Black students: the "
                           "direct-effects model, then before (total) and after (direct) each set of mind-sets."),
                  notes=model_notes(results, bootstrap=any(r.bootstrap is not None for r in results)) + [SHARE_NOTE],
                  status=status_of(results))


def mindset_mediation_exhibit(inputs, output, *, exhibit: str, sample: str, mediator_set: str, title: str, comparisons=None):
    """Exhibits 16-19 and 24-27: HQC -> each mind-set before and after one set of classroom
    measures. `comparisons(ex, rows)` gives the exhibit's published-vs-reproduced rows."""
    ex = exhibit_inputs(inputs, exhibit)
    model = f"hqc_mindsets_via_{mediator_set}"
    result = ex.get(sample, model)
    label = SAMPLE_NAMES.get(sample, sample)
    rows = mediation_rows(result, ex.codebook, mediator_set=mediator_set,
                          outcomes=ex.codebook.constructs_in_block("mindset"), sample_label=label)
    table = table_from_rows(rows, MEDIATION_COLUMNS)
    comparison = comparisons(ex, rows) if comparisons else []
    names = MEDIATOR_SET_NAMES[mediator_set]
    fig = before_after_figure(table, title=f"HQC and mind-sets before and after {names.lower()}: {label.lower()}",
                              source=ex.source)
    write_exhibit(output, exhibit=exhibit, title=title, section=SECTIONS[sample], table=table,
                  comparison=comparison, figure=fig,
                  caption=(f"Standardized effect of HQC on each mind-set before (total effect) and after (direct "
                           f"effect) accounting for {names.lower()}, {label.lower()}; indirect effect and share "
                           "mediated (indirect / total)."),
                  notes=model_notes([result], bootstrap=result.bootstrap is not None) + [SHARE_NOTE],
                  status=status_of([result]))


SHARE_NOTE = ("Share mediated = indirect / total effect, from one model (before = total = indirect + direct). "
              "It is unstable when the total effect is near zero; read it with the CI.")


# ------------------------------------------------------------------ all vs Black (Exhibits 21-22)
def similar_pattern(pub: pd.Series, rows_all: list[dict], rows_black: list[dict], measures: str = "measure") -> dict:
    """'The pattern holds for Black students': every effect has the same sign and the same
    significance (p < .05) in both samples."""
    a = {r["outcome"]: r for r in rows_all if r.get("status") == "ok"}
    b = {r["outcome"]: r for r in rows_black if r.get("status") == "ok"}
    common = [o for o in a if o in b]
    if not common:
        reason = next((r["status"] for r in rows_all + rows_black if r.get("status") != "ok"), "no estimates")
        return compare_statement(pub, "not estimable", None, reason)
    same = [o for o in common if np.sign(a[o]["std_effect"]) == np.sign(b[o]["std_effect"])
            and a[o]["significant"] == b[o]["significant"]]
    differ = [o for o in common if o not in same]
    text = f"{len(same)} of {len(common)} effects with the same sign and significance"
    if differ:
        text += " (differ: " + ", ".join(differ) + ")"
    return compare_statement(pub, text, len(same) == len(common),
                             f"similar = same sign and same significance at .05 for every {measures}, all vs Black students")


def direct_effects_exhibit(inputs, output, *, exhibit: str, title: str, caption: str, models: dict, samples, comparisons,
                           figure_title: str = ""):
    """Exhibits 12-13 and 21-22: standardized HQC effects by sample. `models`: model -> its
    outcomes; `comparisons(ex, rows_by_sample)` gives the comparison rows."""
    ex = exhibit_inputs(inputs, exhibit)
    rows_by_sample, results = {}, []
    for sample in samples:
        rows = []
        for model, outcomes in models.items():
            r = ex.get(sample, model)
            results.append(r)
            rows += direct_effects_rows(r, outcomes, ex.codebook, sample_label=SAMPLE_NAMES.get(sample, sample))
        rows_by_sample[sample] = rows
    table = table_from_rows([r for rows in rows_by_sample.values() for r in rows], DIRECT_COLUMNS)
    section = SECTIONS["Black" if "Black" in samples else samples[0]]
    write_exhibit(output, exhibit=exhibit, title=title, section=section, table=table,
                  comparison=comparisons(ex, rows_by_sample),
                  figure=forest_figure(table, title=figure_title or title, source=ex.source), caption=caption,
                  notes=model_notes(results), status=status_of(results))


# ------------------------------------------------------------------ Black vs White (Exhibits 29-31)
def multigroup_mediation_rows(result: ModelResult, codebook, mediator_set: str) -> list[dict]:
    """Before/after rows per group of the free multi-group model, with the verdict test's
    p-value of equal mediator -> outcome paths (p_equal_b) for each outcome."""
    groups = result.info.get("groups") or ["Black", "White"]
    if not result.ok:
        return [not_estimated_row(result, sample="Black and White students",
                                  mediators=MEDIATOR_SET_NAMES.get(mediator_set, mediator_set), outcome="every outcome")]
    rows = []
    outcomes = codebook.constructs_in_block("mindset")
    tests = result.lr_tests.set_index("test") if result.lr_tests is not None else pd.DataFrame()
    for g in groups:
        for row in mediation_rows(result, codebook, mediator_set=mediator_set, outcomes=outcomes,
                                  sample_label=f"{g} students", group=g):
            row["n"] = int((result.info.get("n_by_group") or {}).get(g, row["n"]))
            test = next((t for t in tests.index if t.endswith(f"-> {row['outcome_id']} (b)")), None)
            row["p_equal_b"] = _num(tests.loc[test, "pvalue"]) if test is not None else float("nan")
            rows.append(row)
    return rows


VERDICT_TEST_TEXT = {
    "Wald": ("the Wald test of the paths' equality from the free model's cluster-robust covariance, one classroom "
             "one cluster across both groups, so that Black and White classmates' shared classroom enters the "
             "covariance of the two groups' estimates. It is the verdict because it refers its statistic to the "
             "full covariance of the tested differences, where the scaled likelihood-ratio difference "
             "(Satorra-Bentler 2001, from the same crossed-cluster scores) corrects only the statistic's mean; "
             "the Wald test needs no constrained fit. Its p-value is the adjusted Wald F's (Korn & Graubard 1990, "
             "as Stata's svy: test): the covariance rests on the classrooms' sums, so with q tested paths and G "
             "classrooms the statistic is referred to F(q, G - q) after scaling by (G - q) / (q (G - 1)); the "
             "chi-square reference beside it rejects far too often when q is a sizeable share of G (under equal "
             "paths, about half the time at 5% with 12 paths and 30 classrooms)"),
    "LR": "the likelihood-ratio (chi-square difference) test, scaled (Satorra-Bentler 2001) when the fits are MLR, "
          "scaled-shifted (Satorra 2000, as lavTestLRT) when they are WLSMV",
}
# without classroom clusters the verdicts use the Wald test only where the likelihood-ratio test is not
# available (a constrained model not estimated, or no chi-square without the unrestricted model)
UNCLUSTERED_WALD_TEXT = ("the Wald test of the paths' equality from the free model's covariance where the "
                         "likelihood-ratio test is not available (its note says why)")


def _verdict_texts(result: ModelResult) -> dict:
    cluster = result.info.get("cluster")
    if not cluster:
        return {**VERDICT_TEST_TEXT, "Wald": UNCLUSTERED_WALD_TEXT}
    if cluster != "classroom_id":  # estimation.cluster names another column
        return {**VERDICT_TEST_TEXT, "Wald": VERDICT_TEST_TEXT["Wald"].replace("one classroom one cluster",
                                                                               f"one {cluster} one cluster")}
    return VERDICT_TEST_TEXT


def equality_test_text(t: pd.Series) -> str:
    """'Wald chi-square(df) = x, p = y; adjusted Wald F ...; LR ...' for one row of lr_tests.csv."""
    parts = []
    if pd.notna(t.get("wald_chisq")):
        parts.append(f"Wald chi-square({int(t['wald_df'])}) = {t['wald_chisq']:.2f}, p = {t['wald_pvalue']:.4f}")
    if pd.notna(t.get("wald_f")):
        parts.append(f"adjusted Wald F({int(t['wald_df'])}, {int(t['wald_f_df2'])}) = {t['wald_f']:.2f}, "
                     f"p = {t['wald_f_pvalue']:.4f}")
    if pd.notna(t.get("chisq_diff")):
        scaled = "scaled " if str(t.get("lr_method", "")).startswith("satorra") else ""
        parts.append(f"{scaled}LR chi-square({int(t['df_diff'])}) = {t['chisq_diff']:.2f}, p = {t['lr_pvalue']:.4f}, "
                     f"delta {scaled}CFI = {t['cfi_diff']:.4f}")
    return "; ".join(parts)


def lr_test_notes(result: ModelResult) -> list[str]:
    """One note per equality test: the Wald and the (scaled) likelihood-ratio test, and which one
    the verdicts (p_equal_b, the comparisons) use."""
    if result.lr_tests is None or not result.ok:
        return []
    verdicts = set(result.lr_tests["verdict_test"].dropna())
    texts = _verdict_texts(result)
    basis = "; ".join(texts[v] for v in sorted(verdicts) if v in texts)
    column = " (p_equal_b)" if result.lr_tests["test"].astype(str).str.endswith("(b)").any() else ""
    notes = [f"Equality of paths across Black and White students ({result.model}), two tests of each set of named "
             "paths: the Wald test of their equality in the model with every labelled path free, and the "
             "likelihood-ratio test of the model with them equal against that free model (both with equal "
             f"loadings except the perceived-inclusion parcel). Verdicts{column} use {basis}:"]
    named = {"Wald": "the Wald test", "LR": "the likelihood-ratio test"}
    for _, t in result.lr_tests.iterrows():
        if t["status"] == "ok":
            said = [t["message"]] if isinstance(t.get("message"), str) and t["message"] else []
            if len(verdicts) > 1:
                said.append(f"verdict: {named.get(t['verdict_test'], t['verdict_test'])}")
            notes.append(f"  {t['test']}: {equality_test_text(t)}" + (f" ({'; '.join(said)})" if said else ""))
        else:
            notes.append(f"  {t['test']}: {t['message'] or t['status']}")
    return notes


def multigroup_exhibit(inputs, output, *, exhibit: str, mediator_set: str, title: str, comparisons=None, extra_models=()):
    """Exhibits 29-31: Black vs White before/after one mediator set in one multi-group model."""
    ex = exhibit_inputs(inputs, exhibit)
    result = ex.get("Black_vs_White", f"hqc_mindsets_via_{mediator_set}")
    others = [ex.get("Black_vs_White", m) for m in extra_models]
    rows = multigroup_mediation_rows(result, ex.codebook, mediator_set)
    table = table_from_rows(rows, [*MEDIATION_COLUMNS, "p_equal_b"])
    names = MEDIATOR_SET_NAMES[mediator_set].lower()
    comparison, extra_notes = comparisons(ex, result, others) if comparisons else ([], [])
    fig = before_after_figure(table, title=f"HQC and mind-sets before and after {names}: Black and White students",
                              source=ex.source)
    write_exhibit(output, exhibit=exhibit, title=title, section=SECTIONS["Black_vs_White"], table=table,
                  comparison=comparison, figure=fig,
                  caption=(f"Standardized effect of HQC on each mind-set before (total) and after (direct) accounting "
                           f"for {names}, Black and White students in one multi-group model; p_equal_b: test of equal "
                           f"{names} -> mind-set paths in the two groups."),
                  notes=(model_notes([result, *others]) + [SHARE_NOTE] + lr_test_notes(result) + extra_notes
                         + [m for o in others for m in lr_test_notes(o)]),
                  status=status_of([result, *others]))


def count_significant(pub: pd.Series, rows: list[dict]) -> dict:
    """'All k effects significant': the count of reproduced effects with p < .05."""
    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok or len(ok) < len(rows):
        reason = next((r["status"] for r in rows if r.get("status") != "ok"), "no estimates")
        return compare_statement(pub, "not estimable", None, reason)
    k = sum(bool(r["significant"]) for r in ok)
    return compare_statement(pub, f"{k} of {len(ok)} significant at .05", k == int(float(pub["value"])),
                             "count of HQC effects with two-sided p < .05 (delta method, std.all)")


def _comparisons_12(ex, rows):
    by_outcome = {r.get("outcome"): r for r in rows["all"]}
    return [
        compare_estimate(ex.pub("std_effect:peer_support:all"), by_outcome.get("peer_support"), "std_effect",
                         what="HQC -> perceived peer support"),
        compare_estimate(ex.pub("std_effect:social_comparison:all"), by_outcome.get("social_comparison"),
                         "std_effect", what="HQC -> social comparison concerns"),
        count_significant(ex.pub("all_significant:classroom_environment:all"), rows["all"]),
    ]


def build_exhibit_12(*, inputs, outputs) -> None:
    """Exhibit 12: standardized effects of HQC on the seven classroom-environment measures, all
    students."""
    outcomes = Codebook.load(inputs["codebook"]).constructs_in_block("classroom_environment")
    direct_effects_exhibit(
        inputs, outputs, exhibit="12", models={"hqc_to_classroom_environment": outcomes}, samples=["all"],
        comparisons=_comparisons_12,
        title=("Strength of relationships between high-quality collaboration and perceptions of the classroom "
               "environment"),
        caption="Standardized effect of HQC on each classroom-environment measure, all students (95% CI).",
        figure_title="HQC and the classroom environment: all students")


def _comparisons_13(ex, rows):
    mind = set(ex.codebook.constructs_in_block("mindset"))
    by_outcome = {r.get("outcome"): r for r in rows["all"]}
    mind_rows = [r for r in rows["all"] if r.get("outcome") in mind or r.get("status") != "ok"]
    return [
        compare_estimate(ex.pub("std_effect:social_self_efficacy:all"), by_outcome.get("social_self_efficacy"),
                         "std_effect", what="HQC -> social self-efficacy"),
        count_significant(ex.pub("all_significant:mindset:all"), mind_rows[:len(mind)]),
        significance_statement(ex.pub("std_effect:absences:all"), [r for r in rows["all"] if r.get("outcome") == "absences"],
                               expect_significant=False, what="HQC -> absences"),
    ]


def build_exhibit_13(*, inputs, outputs) -> None:
    """Exhibit 13: standardized effects of HQC on the six mind-sets, absences and current grade
    (prior grade controlled), all students."""
    mind = Codebook.load(inputs["codebook"]).constructs_in_block("mindset")
    direct_effects_exhibit(
        inputs, outputs, exhibit="13", models={"hqc_to_mindsets": [*mind, "absences"], "hqc_to_grades": ["current_grade"]},
        samples=["all"], comparisons=_comparisons_13,
        title=("Strength of relationships between high-quality collaboration and mind-set and dispositional outcomes "
               "and grades"),
        caption=("Standardized effect of HQC on each mind-set, absences and current grade (prior grade controlled), "
                 "all students (95% CI)."),
        figure_title="HQC, mind-sets, absences and grades: all students")


MUCH_MEDIATED = 0.5  # "much of the relationship": at least half, on average over the six mind-sets


def _comparisons_16(ex, rows):
    pub = ex.pub("personalization_mediates:all")
    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok:
        return [compare_statement(pub, "not estimable", None, rows[0].get("status", ""))]
    shares = np.array([r["share_mediated"] for r in ok])
    text = f"mean share mediated {shares.mean():.2f} (range {shares.min():.2f} to {shares.max():.2f})"
    over = "the six mind-sets" if len(ok) == len(rows) else f"the {len(ok)} of {len(rows)} mind-sets with estimates"
    return [compare_statement(pub, text, bool(shares.mean() >= MUCH_MEDIATED),
                              f"'much' read as a mean share mediated >= {MUCH_MEDIATED} over {over}")]


def build_exhibit_16(*, inputs, outputs) -> None:
    """Exhibit 16: HQC -> mind-sets before and after personalization, all students; the published
    "much" read as a mean share mediated of at least one half."""
    mindset_mediation_exhibit(
        inputs, outputs, exhibit="16", sample="all", mediator_set="personalization", comparisons=_comparisons_16,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes, before and "
               "after accounting for perceptions of personalization"))


def _comparisons_19(ex, rows):
    row = next((r for r in rows if r.get("outcome_id") == "social_self_efficacy"), rows[0])
    return [compare_share(ex.pub("percent_mediated:social_self_efficacy:peer_learning:all"), row)]


def build_exhibit_19(*, inputs, outputs) -> None:
    """Exhibit 19: HQC -> mind-sets before and after learning from and with peers, all students,
    beside the published share of HQC -> social self-efficacy explained by peers."""
    mindset_mediation_exhibit(
        inputs, outputs, exhibit="19", sample="all", mediator_set="learning_from_peers", comparisons=_comparisons_19,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes, before and "
               "after accounting for perceptions of learning from and with peers"))


def _comparisons_21(ex, rows):
    return [similar_pattern(ex.pub("pattern:classroom_environment:black"), rows["all"], rows["Black"])]


def build_exhibit_21(*, inputs, outputs) -> None:
    """Exhibit 21: Exhibit 12 for all students beside Black students (separate fits per sample)."""
    outcomes = Codebook.load(inputs["codebook"]).constructs_in_block("classroom_environment")
    direct_effects_exhibit(
        inputs, outputs, exhibit="21", models={"hqc_to_classroom_environment": outcomes}, samples=["all", "Black"],
        comparisons=_comparisons_21,
        title=("Strength of relationships between high-quality collaboration and perceptions of classroom "
               "environment among all students and among Black students"),
        caption="Standardized effect of HQC on each classroom-environment measure, all and Black students (95% CI).",
        figure_title="HQC and the classroom environment: all and Black students")


def _comparisons_22(ex, rows):
    mind = set(ex.codebook.constructs_in_block("mindset"))
    pick = {s: [r for r in rows[s] if r.get("outcome") in mind or r.get("status") != "ok"] for s in rows}
    return [similar_pattern(ex.pub("pattern:mindset:black"), pick["all"], pick["Black"],
                            "mind-set (the statement's; absences and current grade are not in it)")]


def build_exhibit_22(*, inputs, outputs) -> None:
    """Exhibit 22: Exhibit 13 for all students beside Black students (separate fits per sample)."""
    mind = Codebook.load(inputs["codebook"]).constructs_in_block("mindset")
    direct_effects_exhibit(
        inputs, outputs, exhibit="22", models={"hqc_to_mindsets": [*mind, "absences"], "hqc_to_grades": ["current_grade"]},
        samples=["all", "Black"], comparisons=_comparisons_22,
        title=("Strength of relationships between high-quality collaboration and mind-set and dispositional "
               "outcomes among all students and among Black students"),
        caption=("Standardized effect of HQC on each mind-set, absences and current grade (prior grade controlled), "
                 "all and Black students (95% CI)."),
        figure_title="HQC, mind-sets, absences and grades: all and Black students")


SOCIAL_SELF_EFFICACY = "social_self_efficacy"


def _comparisons_29(ex, result, others):
    mindsets, grades = others
    rows, notes = [], []
    # the mind-set model's fit, unless it has no social self-efficacy (no student answered its items)
    usable = mindsets.ok and not left_out(mindsets, SOCIAL_SELF_EFFICACY)
    why_not = left_out(mindsets, SOCIAL_SELF_EFFICACY) or mindsets.message
    for group in ("White", "Black"):
        pub = ex.pub(f"correlation:{SOCIAL_SELF_EFFICACY}:{group}")
        if usable:
            c = mindsets.correlation(SOCIAL_SELF_EFFICACY, group)
            row = {"status": "ok", "corr": c["est"], "corr_ci_lower": c["ci.lower"], "corr_ci_upper": c["ci.upper"]}
        else:
            row = {"status": why_not}
        rows.append(compare_estimate(pub, row, "corr", what=f"model-implied correlation of HQC and social "
                                                            f"self-efficacy, {group} students (multi-group model)"))
    published_white, published_black = (float(ex.pub(f"correlation:{SOCIAL_SELF_EFFICACY}:{g}")["value"])
                                        for g in ("White", "Black"))
    pub = ex.pub(f"stronger_white:{SOCIAL_SELF_EFFICACY}")
    if usable and mindsets.contrasts is not None and len(mindsets.contrasts):
        k = mindsets.contrasts
        path = k[(k["name"] == f"c_{SOCIAL_SELF_EFFICACY}") & (k["contrast"] == "ratio minus 1")].iloc[0]
        corr = k[(k["name"] == f"hqc ~~ {SOCIAL_SELF_EFFICACY}") & (k["contrast"] == "ratio minus 1")].iloc[0]
        row = compare_number(pub, path["est"], path["ci.lower"], path["ci.upper"])
        row["basis"] = ("published value inside the 95% CI of White / Black - 1 of the standardized HQC -> social "
                        "self-efficacy path (delta method)")
        rows.append(row)
        notes.append(f"HQC - social self-efficacy: standardized path Black {path['first']:.3f}, White {path['second']:.3f} "
                     f"(White / Black - 1 = {path['est']:.3f} [{path['ci.lower']:.3f}, {path['ci.upper']:.3f}]); "
                     f"correlation Black {corr['first']:.3f}, White {corr['second']:.3f} (White / Black - 1 = "
                     f"{corr['est']:.3f} [{corr['ci.lower']:.3f}, {corr['ci.upper']:.3f}]). The report's "
                     f"{published_white:g} and {published_black:g} give {published_white / published_black - 1:.2f}, "
                     f"so its 'about {100 * float(pub['value']):.0f} percent' is not the correlation ratio.")
    else:
        rows.append(compare_estimate(pub, {"status": why_not}, "est", what=""))
    white = []
    if grades.ok:
        s = grades.std("c_current_grade_White")
        b = grades.std("c_current_grade_Black")
        white = [{"p": s["pvalue"], "status": "ok"}]
        notes.append(f"HQC -> current grade (prior grade controlled), multi-group model: White {s['est.std']:.3f} "
                     f"(p = {s['pvalue']:.3f}), Black {b['est.std']:.3f} (p = {b['pvalue']:.3f}).")
    rows.append(significance_statement(ex.pub("std_effect:current_grade:White"), white, expect_significant=False,
                                       what="HQC -> grade, prior grade controlled, White students (multi-group model)"))
    return rows, notes


def build_exhibit_29(*, inputs, outputs) -> None:
    """Exhibit 29: Black and White students in one multi-group model, HQC -> mind-sets before and
    after personalization, with the published statements around Exhibits 29-31."""
    multigroup_exhibit(
        inputs, outputs, exhibit="29", mediator_set="personalization", comparisons=_comparisons_29,
        extra_models=("hqc_to_mindsets", "hqc_to_grades"),
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "and White students, before and after accounting for perceptions of personalization"))


TEACHER_EXPECTATION_TEST = "teacher_expectations -> " + ", ".join(TEACHER_EXPECTATION_OUTCOMES) + " (b)"


def _comparisons_30(ex, result, others):
    pub = ex.pub("paths_differ:teacher_expectations")
    if not result.ok or result.lr_tests is None:
        return [compare_statement(pub, "not estimable", None, result.message)], []
    tests = result.lr_tests.set_index("test")
    if TEACHER_EXPECTATION_TEST not in tests.index:  # one of its outcomes left out: no student answered it
        why = next(filter(None, (left_out(result, o) for o in TEACHER_EXPECTATION_OUTCOMES)), "no such test")
        return [compare_statement(pub, "not estimable", None, why)], []
    t = tests.loc[TEACHER_EXPECTATION_TEST]
    if t["status"] != "ok":
        return [compare_statement(pub, "not estimable", None, t["message"])], []
    wald = "cluster-robust Wald test (adjusted Wald F)" if result.info.get("cluster") else "Wald test"
    test = {"Wald": wald, "LR": "likelihood-ratio test"}.get(t["verdict_test"], t["verdict_test"])
    return [compare_statement(pub, ("significant: " if t["pvalue"] < ALPHA else "not significant: ")
                              + equality_test_text(t), bool(t["pvalue"] < ALPHA),
                              f"{test} of equal teacher-expectation paths to task valuing, mastery "
                              "orientation and academic self-efficacy in the two groups; p < .05")], []


def build_exhibit_30(*, inputs, outputs) -> None:
    """Exhibit 30: Black and White students, HQC -> mind-sets before and after teacher
    expectations, with the equality test of the teacher-expectation paths."""
    multigroup_exhibit(
        inputs, outputs, exhibit="30", mediator_set="teacher_expectations", comparisons=_comparisons_30,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "and White students, before and after accounting for perceptions of teacher expectations"))

