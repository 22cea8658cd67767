"""Measurement: reliability, item statistics, exploratory factor analysis and measurement
invariance of the survey scales (Exhibits 8-10, assembled in lwo.measurement_exhibits, and the
invariance exhibit).

Conventions:

* Reliability is computed on complete cases of a construct's items (listwise), with
  reverse-worded items flipped first (as the scale scores are), so every item counts in
  the direction of the construct.
* Coefficient alpha: Cronbach (1951); its 95% CI: Feldt, Woodruff & Salih (1987), the
  F-distribution interval that pingouin and R's psych report.
* Coefficient omega from a fitted CFA: McDonald's omega with the model-implied variance of
  the sum in the denominator (semTools ``reliability()``'s ``omega``; ``compRelSEM(obs.var =
  FALSE)``).
* Measurement invariance across groups: configural, metric (equal loadings) and scalar
  (equal loadings and intercepts) models, each compared with the previous by a chi-square
  difference test and by the change in CFI. A level holds when CFI falls by no more than
  .01 (Cheung & Rensvold, 2002); the chi-square test, which at large N flags differences
  too small to matter, qualifies a level that holds ("approximately").
"""
from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import fdtri  # not scipy.stats: its import costs a job ~1 s
from scipy.optimize import linear_sum_assignment

from lwo import sem
from lwo.group_stats import multiple_comparison

# Cheung & Rensvold (2002): a drop in CFI larger than this rejects the more constrained model.
CFI_DROP = 0.01
ALPHA = 0.05


# --------------------------------------------------------------------------- reliability
def _complete_items(items: pd.DataFrame) -> pd.DataFrame:
    if items.shape[1] < 2:
        raise ValueError(f"reliability needs at least two items; got {list(items.columns)}")
    complete = items.dropna().astype(float)
    if len(complete) < 3:
        raise ValueError(f"reliability needs at least three complete rows; {len(complete)} of "
                         f"{len(items)} rows have every item of {list(items.columns)}")
    return complete


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of complete rows: k/(k-1) * (1 - sum of item variances / variance of the sum)."""
    x = _complete_items(items).to_numpy()
    k = x.shape[1]
    cov = np.cov(x, rowvar=False, ddof=1)
    total = cov.sum()
    if total <= 0:
        raise ValueError(f"the sum of the items {list(items.columns)} has no variance")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def alpha_confidence_interval(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's interval: 1 - (1 - alpha) * F quantiles on (n - 1, (n - 1)(k - 1)) df."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    lower = 1 - (1 - alpha) * fdtri(df1, df2, 1 - tail)
    upper = 1 - (1 - alpha) * fdtri(df1, df2, tail)
    return float(lower), float(upper)


def reliability(items: pd.DataFrame, level: float = 0.95) -> dict:
    """alpha with its CI, the number of complete rows (n) and of items (k)."""
    complete = _complete_items(items)
    a = cronbach_alpha(complete)
    lo, hi = alpha_confidence_interval(a, len(complete), complete.shape[1], level)
    return {"alpha": a, "alpha_ci_lower": lo, "alpha_ci_upper": hi, "n": len(complete), "k": complete.shape[1]}


def item_statistics(items: pd.DataFrame) -> pd.DataFrame:
    """Per item, on complete rows: mean, sd, item-rest correlation (with the sum of the other
    items; nan for an item, or a rest, every student answered alike) and alpha if the item
    were deleted (nan with two items: one item has no alpha)."""
    complete = _complete_items(items)
    total = complete.sum(axis=1)
    rows = []
    for col in complete.columns:
        rest = total - complete[col]
        others = complete.drop(columns=col)
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant column: nan, said above
            r = float(np.corrcoef(complete[col], rest)[0, 1])
        rows.append({
            "item": col,
            "mean": float(complete[col].mean()),
            "sd": float(complete[col].std(ddof=1)),
            "item_rest_r": r,
            "alpha_if_deleted": cronbach_alpha(others) if others.shape[1] >= 2 else float("nan"),
        })
    return pd.DataFrame(rows)


def mcdonald_omega(loadings, residual_variances, factor_variance: float = 1.0,
                   residual_covariance_sum: float = 0.0) -> float:
    """Omega = (sum lambda)^2 psi / ((sum lambda)^2 psi + sum theta + 2 sum theta_ij).

    `loadings` in the scoring direction (a reverse-worded item's loading times -1),
    unstandardized, with `factor_variance` psi; `residual_covariance_sum` is the sum of the
    residual covariances among the items (i < j), if the model has any."""
    lam = np.asarray(loadings, float)
    theta = np.asarray(residual_variances, float)
    if lam.shape != theta.shape or lam.size < 2:
        raise ValueError("omega needs one loading and one residual variance per item (two items or more)")
    common = lam.sum() ** 2 * factor_variance
    return float(common / (common + theta.sum() + 2 * residual_covariance_sum))


@dataclass
class FactorParts:
    """One factor's indicators in a fitted CFA, in the metric of a factor with variance 1:
    `loadings` (lambda * sqrt(psi), psi the model-implied factor variance) and the residual
    variances `theta`, both unstandardized; `std_loadings` as lavaan's std.all."""

    factor: str
    items: list[str]
    loadings: np.ndarray
    theta: np.ndarray
    std_loadings: np.ndarray


def factor_parts(estimates: pd.DataFrame, factor: str, items: list[str], group: int = 1) -> FactorParts:
    """Read a factor's loadings and residual variances from a lavaan-style estimates table
    (columns lhs, op, rhs, est, std.all[, group]), for a model in which each item loads on
    this factor only and has no residual covariance (a first-order factor of a second-order
    model included). The model-implied item variance is theta / std.all(theta), so the
    loading in the unit-variance metric is std.all(lambda) * sqrt(that variance), whatever
    the factor's own variance parameterisation."""
    e = estimates
    if "group" in e.columns:
        e = e[e["group"] == group]
    lam_std, lam_scaled, theta = [], [], []
    for item in items:
        load = e[(e["lhs"] == factor) & (e["op"] == "=~") & (e["rhs"] == item)]
        resid = e[(e["lhs"] == item) & (e["op"] == "~~") & (e["rhs"] == item)]
        if len(load) != 1 or len(resid) != 1:
            raise ValueError(f"the estimates have no single loading {factor} =~ {item} and residual "
                             f"variance {item} ~~ {item}")
        std_l, th, std_th = float(load["std.all"].iloc[0]), float(resid["est"].iloc[0]), float(resid["std.all"].iloc[0])
        # item variance implied by the model: theta / (standardized theta)
        implied_var = th / std_th if std_th > 0 else float("nan")
        lam_std.append(std_l)
        lam_scaled.append(std_l * math.sqrt(implied_var))
        theta.append(th)
    covs = e[(e["op"] == "~~") & (e["lhs"] != e["rhs"]) & e["lhs"].isin(items) & e["rhs"].isin(items)]
    if len(covs):
        raise ValueError(f"residual covariances among the items of {factor}: omega here assumes none")
    return FactorParts(factor, list(items), np.array(lam_scaled), np.array(theta), np.array(lam_std))


# --------------------------------------------------------------------------- EFA
@dataclass
class EFAResult:
    """Rotated loadings (items x factors), factor correlations, communalities, and the
    eigenvalues of the item correlation matrix (for a scree/Kaiser check)."""

    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    communalities: pd.Series
    eigenvalues: np.ndarray
    method: str
    rotation: str
    n: int


def exploratory_factor_analysis(data: pd.DataFrame, n_factors: int, method: str = "ml",
                                rotation: str | None = "oblimin", seed: int = 0) -> EFAResult:
    """EFA of complete rows (statsmodels: ML or iterated principal axis). `rotation`: oblimin
    (quartimin, oblique; statsmodels checks it against R), varimax (orthogonal) or None. Each
    factor's sign is set so that its loadings sum positive; factors are ordered by their sum
    of squared loadings. `seed` fixes statsmodels' random EM start of the ML fit."""
    from statsmodels.multivariate.factor import Factor

    if rotation not in ("oblimin", "varimax", None):
        raise ValueError(f"rotation must be 'oblimin', 'varimax' or None, not {rotation!r}")
    complete = data.dropna().astype(float)
    if n_factors < 1 or n_factors >= complete.shape[1]:
        raise ValueError(f"n_factors must be between 1 and {complete.shape[1] - 1}")
    if len(complete) <= complete.shape[1]:
        raise ValueError(f"{len(complete)} students answered all {complete.shape[1]} items: too few for an EFA")
    alike = [f"{c} (every value {complete[c].iloc[0]:g})" for c in complete.columns if complete[c].nunique() == 1]
    if alike:  # its correlations are undefined
        raise ValueError(f"items every student with all answers answered alike: {', '.join(alike)}")
    model = Factor(complete.to_numpy(), n_factor=n_factors, method=method)
    eig = np.sort(np.linalg.eigvalsh(np.corrcoef(complete.to_numpy(), rowvar=False)))[::-1]
    return rotated_efa(model, list(complete.columns), n_factors, method, rotation, seed, eig, method, len(complete))


def rotated_efa(model, columns: list[str], n_factors: int, method: str, rotation: str | None, seed: int,
                eig: np.ndarray, label: str, n: int) -> EFAResult:
    """Fit a statsmodels Factor model, rotate it, and orient it: each factor's sign so that its
    loadings sum positive, factors ordered by their sum of squared loadings (shared by the EFA of
    the answers and the polychoric EFA)."""
    with warnings.catch_warnings():  # statsmodels warns on the way; the checks below decide
        warnings.simplefilter("ignore")
        res = model.fit(rng=seed) if method == "ml" else model.fit()
    retvals = getattr(res, "mle_retvals", None)
    if retvals is not None and not retvals.success:  # often a uniqueness run to 0 (a Heywood case)
        smallest = float(np.min(res.uniqueness))
        heywood = f"; a uniqueness at {smallest:.2g}: a Heywood case" if smallest < 0.01 else ""
        raise ValueError(f"the {label} EFA did not converge ({retvals.message.rstrip('.')}{heywood})")
    if not (np.all(np.isfinite(res.loadings)) and np.all(np.isfinite(res.communality))):
        raise ValueError(f"the {label} EFA has no finite solution")
    if rotation and n_factors > 1:
        res.rotate(rotation)
    load = np.asarray(res.loadings, float)
    # factor correlations implied by an oblique rotation T of orthogonal factors: T'T
    phi = np.asarray(res.rotation_matrix.T @ res.rotation_matrix if rotation == "oblimin" and n_factors > 1
                     else np.eye(n_factors), float)
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1
    load = load * signs
    phi = phi * np.outer(signs, signs)
    order = np.argsort(-(load ** 2).sum(axis=0), kind="stable")
    load, phi = load[:, order], phi[np.ix_(order, order)]
    names = [f"F{i + 1}" for i in range(n_factors)]
    return EFAResult(pd.DataFrame(load, index=columns, columns=names),
                     pd.DataFrame(phi, index=names, columns=names),
                     pd.Series(np.asarray(res.communality, float), index=columns, name="communality"),
                     eig, label, rotation or "none", n)


def efa_construct_match(loadings: pd.DataFrame, construct_of: dict[str, str]) -> pd.DataFrame:
    """Match factors to constructs one-to-one (largest total |loading| of the construct's items,
    Hungarian assignment) and count, per construct, the items whose largest |loading| is on the
    construct's factor. Returns construct, factor, n_items, items_on_own_factor,
    mean_own_loading, max_cross_loading."""
    constructs = list(dict.fromkeys(construct_of[i] for i in loadings.index))
    if len(constructs) > loadings.shape[1]:
        raise ValueError(f"{len(constructs)} constructs for {loadings.shape[1]} factors")
    absl = loadings.abs()
    weight = np.array([[absl.loc[[i for i in loadings.index if construct_of[i] == c], f].sum()
                        for f in loadings.columns] for c in constructs])
    rows_c, cols_f = linear_sum_assignment(-weight)
    factor_of = {constructs[r]: loadings.columns[c] for r, c in zip(rows_c, cols_f)}
    primary = absl.idxmax(axis=1)
    out = []
    for c in constructs:
        items = [i for i in loadings.index if construct_of[i] == c]
        f = factor_of[c]
        others = absl.loc[items].drop(columns=f)
        out.append({"construct": c, "factor": f, "n_items": len(items),
                    "items_on_own_factor": int((primary[items] == f).sum()),
                    "mean_own_loading": float(absl.loc[items, f].mean()),
                    "max_cross_loading": float(others.to_numpy().max()) if others.shape[1] else float("nan")})
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- invariance
def level_verdict(cfi_diff: float, pvalue: float, alpha: float = ALPHA, cfi_drop: float = CFI_DROP) -> str:
    """Verdict on one invariance level from its comparison with the previous level:
    'holds' (CFI within .01 and chi-square difference not significant), 'holds approximately'
    (CFI within .01, chi-square significant), 'fails' (CFI drops by more than .01),
    'not estimable' (a model did not converge)."""
    if cfi_diff is None or pvalue is None or not np.isfinite(cfi_diff) or not np.isfinite(pvalue):
        return "not estimable"
    if cfi_diff < -cfi_drop:
        return "fails"
    return "holds" if pvalue >= alpha else "holds approximately"


def comparability(metric: str, scalar: str) -> str:
    """What may be compared across groups given the metric and scalar verdicts (loadings that
    differ decide, whatever the scalar level; equal loadings allow relations even where the
    scalar level is not estimable)."""
    ok = ("holds", "holds approximately")
    if metric == "fails":
        return "not comparable (loadings differ)"
    if metric not in ok:
        return "not estimable"
    if scalar in ok:
        return "means and relations"
    return "relations only (intercepts differ)" if scalar == "fails" else "relations only (scalar level not estimable)"


def why_not_estimable(table: pd.DataFrame, verdicts: dict[str, str], cfi: str) -> str:
    """'not estimable: <why>' for the first level whose verdict is not estimable, from an
    invariance sequence's table (rows: the levels in order; `cfi`: its CFI column): a model of
    the pair that did not converge, one without a CFI, or a difference test without a value."""
    levels = list(table.index)
    for level, verdict in verdicts.items():
        if verdict != "not estimable":
            continue
        pair = (levels[levels.index(level) - 1], level)
        stalled = [m for m in pair if not bool(table.loc[m, "converged"])]
        if stalled:
            return f"not estimable: the {stalled[0]} model did not converge"
        no_cfi = [m for m in pair if not np.isfinite(table.loc[m, cfi])]
        if no_cfi:
            return f"not estimable: the {no_cfi[0]} model has no CFI"
        return f"not estimable: the {level} model's scaled difference test against the {pair[0]} model has no value"
    return "not estimable"


@dataclass
class InvarianceResult:
    """Fit of the configural/metric/scalar models (`table`, as sem.invariance_table), the
    verdict per level, and the items freed by the partial-invariance search."""

    name: str
    table: pd.DataFrame
    metric: str
    scalar: str
    comparable: str
    nobs: dict
    freed: list[dict] = field(default_factory=list)
    reason: str = ""  # why the models could not be fitted (then every level is not estimable)

    def row(self) -> dict:
        t = self.table
        out = {"model": self.name}
        out.update({f"n_{g}": n for g, n in self.nobs.items()})
        for col in ("chisq", "df", "cfi", "rmsea", "srmr"):
            out[f"configural_{col}"] = t.loc["configural", col]
        for level in ("metric", "scalar"):
            for col, name in (("chisq.diff", "chisq_diff"), ("df.diff", "df_diff"), ("pvalue.diff", "p"),
                              ("cfi.diff", "cfi_change")):
                out[f"{level}_{name}"] = t.loc[level, col]
        out["metric_verdict"], out["scalar_verdict"], out["comparable"] = self.metric, self.scalar, self.comparable
        out["noninvariant_items"] = ", ".join(f["item"] for f in self.freed)
        return out


def _cfa_items(spec: str) -> dict[str, list[str]]:
    """factor -> indicators of a CFA spec."""
    out: dict[str, list[str]] = {}
    for st in sem.parse_spec(spec).statements:
        if st.op == "=~":
            out.setdefault(st.lhs, []).append(st.rhs)
    return out


def partial_invariance_search(spec: str, data: pd.DataFrame, group: str, group_order: list | None = None,
                              alpha: float = ALPHA, cfi_drop: float = CFI_DROP, max_free: int | None = None,
                              **fit_options) -> list[dict]:
    """Items whose loading and intercept differ across groups, found by freeing one item at a
    time in the scalar model (smallest p first, Holm-adjusted over the items still constrained,
    each step on the refitted model) until no item's freeing is significant, or the partial model
    is both within the CFI criterion of the configural model and not significantly worse than it
    (the CFI and chi-squares the levels' verdicts read: scaled with estimator="MLR"). The marker
    item's loading stays fixed at 1 (it sets the factor's scale), so only its intercept can be freed.
    Returns one dict per freed item: item, factor, chisq_diff, df_diff, p, p_holm. `fit_options`:
    further arguments of sem.fit (e.g. missing="ml", estimator="MLR")."""
    factors = _cfa_items(spec)
    configural = sem.fit(spec, data, group=group, group_order=group_order, **fit_options)
    freed: list[dict] = []
    partial: list[str] = []
    candidates = {(f, i, k == 0) for f, items in factors.items() for k, i in enumerate(items)}
    max_free = max_free if max_free is not None else max(1, sum(len(v) for v in factors.values()) // 2)
    current = sem.fit(spec, data, group=group, group_order=group_order, group_equal=("loadings", "intercepts"),
                      **fit_options)
    cfi = "cfi.scaled" if fit_options.get("estimator") == "MLR" else "cfi"
    while candidates and len(freed) < max_free and current.converged:
        if current.fit_indices[cfi] - configural.fit_indices[cfi] >= -cfi_drop and \
                sem.lr_test(current, configural)["pvalue"] >= alpha:
            break
        tests = []
        for f, item, marker in sorted(candidates):
            extra = [f"{item}~1"] if marker else [f"{f}=~{item}", f"{item}~1"]
            trial = sem.fit(spec, data, group=group, group_order=group_order,
                            group_equal=("loadings", "intercepts"), group_partial=tuple(partial + extra),
                            **fit_options)
            if not trial.converged:
                continue
            lr = sem.lr_test(current, trial)
            tests.append((lr["chisq_diff"], f, item, marker, extra, lr, trial))
        if not tests:
            break
        tests.sort(key=lambda t: (t[5]["pvalue"], -t[0]))  # Holm: the smallest p first (items differ in df)
        m = len(tests)
        best = tests[0]
        p_holm = min(1.0, best[5]["pvalue"] * m)
        if p_holm >= alpha:
            break
        _, f, item, marker, extra, lr, trial = best
        freed.append({"item": item, "factor": f, "chisq_diff": lr["chisq_diff"], "df_diff": lr["df_diff"],
                      "p": lr["pvalue"], "p_holm": p_holm, "freed": "intercept" if marker else "loading and intercept"})
        partial += extra
        candidates.discard((f, item, marker))
        current = trial
    return freed


def invariance_analysis(name: str, spec: str, data: pd.DataFrame, group: str, group_order: list | None = None,
                        search_items: bool = True, alpha: float = ALPHA, cfi_drop: float = CFI_DROP,
                        min_n: int = 0, **fit_options) -> InvarianceResult:
    """Configural, metric and scalar models of one CFA across groups, with verdicts; when a
    level does not simply hold, the items responsible are searched (partial invariance).
    `group_order`: the groups, in order (default: order of first appearance, as lavaan).
    `fit_options`: further arguments of sem.fit; with estimator="MLR" the table shows the scaled
    chi-square, CFI and RMSEA and the scaled (Satorra-Bentler) difference tests."""
    reason = too_few_to_fit(data, group, group_order or list(dict.fromkeys(data[group])),
                            len({i for items in _cfa_items(spec).values() for i in items}), min_n,
                            answered="all" if fit_options.get("missing", "listwise") == "listwise" else "any")
    # the levels and the item search read chi-squares and their scaled differences, never the
    # robust CFI/TLI/RMSEA
    fit_options = {**fit_options, "robust_indices": False}
    fits = None
    if not reason:
        try:
            fits = sem.invariance_models(spec, data, group, group_order=group_order, **fit_options)
        except sem.ModelDataError as exc:  # e.g. an item one group answered alike
            reason = sem.suppress_row_counts(str(exc), min_n or None)  # without counts below min_n
    if reason:
        table = pd.DataFrame(np.nan, index=pd.Index(["configural", "metric", "scalar"], name="model"),
                             columns=INVARIANCE_TABLE_COLUMNS)
        result = InvarianceResult(name, table, "", "", "", {g: None for g in group_order or []}, reason=reason)
        set_verdicts(result, np.nan, np.nan, alpha, cfi_drop)
        return result
    table = sem.invariance_table(fits)
    if fit_options.get("estimator") == "MLR":
        for col in ("chisq", "pvalue", "cfi", "tli", "rmsea"):
            # a fit that did not converge has no scaled statistics
            table[col] = [f.fit_indices.get(f"{col}.scaled", np.nan) for f in fits.values()]
        table["cfi.diff"] = table["cfi"].diff()
        table["rmsea.diff"] = table["rmsea"].diff()
    result = InvarianceResult(name, table, "", "", "", fits["configural"].nobs)
    set_verdicts(result, table.loc["metric", "pvalue.diff"], table.loc["scalar", "pvalue.diff"], alpha, cfi_drop)
    if search_items and needs_item_search(result):
        result.freed = partial_invariance_search(spec, data, group, group_order, alpha, cfi_drop, **fit_options)
    return result


def needs_item_search(result: InvarianceResult) -> bool:
    return bool({result.metric, result.scalar} & {"fails", "holds approximately"})


def set_verdicts(result: InvarianceResult, p_metric: float, p_scalar: float, alpha: float = ALPHA,
                 cfi_drop: float = CFI_DROP) -> None:
    """Metric and scalar verdicts from the CFI changes and the given (e.g. Holm-adjusted) p-values."""
    t = result.table
    result.metric = level_verdict(t.loc["metric", "cfi.diff"], p_metric, alpha, cfi_drop)
    result.scalar = level_verdict(t.loc["scalar", "cfi.diff"], p_scalar, alpha, cfi_drop)
    result.comparable = comparability(result.metric, result.scalar)
    if result.reason:
        result.comparable = f"not estimable: {result.reason}"
    elif result.comparable == "not estimable":
        result.comparable = why_not_estimable(t, {"metric": result.metric, "scalar": result.scalar}, "cfi")


INVARIANCE_TABLE_COLUMNS = ["converged", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr", "chisq.diff",
                            "df.diff", "pvalue.diff", "cfi.diff", "rmsea.diff"]


def too_few_to_fit(data: pd.DataFrame, group: str, groups: list, n_variables: int, min_n: int = 0,
                   answered: str = "all") -> str:
    """Why a multi-group model of `n_variables` observed variables cannot be fitted, or "": a
    group needs more rows than variables (else its covariance matrix is singular) and at least
    `min_n` (the privacy minimum: a comparison of fewer students is not made). `answered`:
    "all" when `data` holds the complete rows, "any" when it holds every row with an answer
    (FIML, pairwise). The group's size is not given (it may be below the privacy minimum)."""
    need = max(n_variables + 1, min_n)
    counts = data[group].value_counts()
    short = [str(g) for g in groups if counts.get(g, 0) < need]
    if not short:
        return ""
    why = ("a group needs more students than the model's items" if need == n_variables + 1 else
           f"a group needs at least {min_n} students and more than the model's items")
    which = f"all {n_variables} items" if answered == "all" else f"any of the {n_variables} items"
    return f"too few students: fewer than {need} {' and '.join(short)} students answered {which} ({why})"


def _holm_by_level(results, levels) -> pd.DataFrame:
    """Holm-adjusted p of each level's difference test over the family of constructs (a test
    that could not be run stays NaN, outside the family), as columns <level>_p_holm by name."""
    out = pd.DataFrame(index=[r.name for r in results])
    for level in levels:
        p = [r.table.loc[level, "pvalue.diff"] for r in results]
        out[f"{level}_p_holm"] = multiple_comparison(p, "holm")["p_adjusted"].to_numpy()
    return out


def holm_adjusted_verdicts(results: list[InvarianceResult], alpha: float = ALPHA,
                           cfi_drop: float = CFI_DROP) -> pd.DataFrame:
    """Holm-adjust the metric and scalar chi-square difference tests over a family of
    constructs (each level separately) and set each result's verdicts from the adjusted p.
    Returns the adjusted p-values (columns metric_p_holm, scalar_p_holm) by model name."""
    out = _holm_by_level(results, ("metric", "scalar"))
    for r in results:
        set_verdicts(r, out.loc[r.name, "metric_p_holm"], out.loc[r.name, "scalar_p_holm"], alpha, cfi_drop)
    return out


# --------------------------------------------------------------------------- ordinal invariance
# lavaan's group.equal sequence for ordered items (delta parameterisation): configural -> equal
# thresholds -> equal thresholds and loadings -> and equal intercepts, in either identification of
# equal thresholds (lwo.sem.fit_ordinal). lavaan 0.6.14's: equal thresholds imply equal intercepts
# (the latent responses' intercepts are fixed at 0 in every group), so the "intercepts" step adds
# no constraint: it has the loadings model's df and fit, and is reported as such. Wu & Estabrook's
# (lavaan >= 0.6-20): the intercepts are free until the "intercepts" step, which is a test.
ORDINAL_LEVELS = {"configural": (), "thresholds": ("thresholds",), "loadings": ("thresholds", "loadings"),
                  "intercepts": ("thresholds", "loadings", "intercepts")}
# the levels tested (each against the one before), by identification
ORDINAL_TESTED = {"lavaan-0.6.14": ("thresholds", "loadings"), "wu-estabrook": ("thresholds", "loadings", "intercepts")}
ORDINAL_TABLE_COLUMNS = ["converged", "chisq.scaled", "df", "pvalue.scaled", "cfi.scaled", "rmsea.scaled", "srmr",
                         "chisq.diff", "df.diff", "pvalue.diff", "cfi.diff", "rmsea.diff"]


@dataclass
class OrdinalInvarianceResult:
    """WLSMV invariance sequence of one CFA: `table` (one row per level, lavTestLRT's scaled-shifted
    difference test against the previous level), the verdicts of the thresholds and loadings
    levels (and of the intercepts level where it is a test: Wu & Estabrook's identification), and
    the items found responsible at each (`freed`: item, level, test)."""

    name: str
    table: pd.DataFrame
    thresholds: str
    loadings: str
    comparable: str
    nobs: dict
    freed: list[dict] = field(default_factory=list)
    reason: str = ""  # why the models could not be fitted (then every level is not estimable)
    missing: str = "listwise"  # or "pairwise" (lwo.sem.fit_ordinal)
    cluster: str | None = None  # the column of the clusters (lwo.sem.fit_ordinal)
    identification: str = "lavaan-0.6.14"  # of equal thresholds (lwo.sem.fit_ordinal)
    intercepts: str = ""  # the intercepts level's verdict, where it is tested

    @property
    def tested(self) -> tuple[str, ...]:
        return ORDINAL_TESTED[self.identification]

    def verdicts(self) -> dict[str, str]:
        return {level: getattr(self, level) for level in self.tested}

    def row(self) -> dict:
        t = self.table
        out = {"model": self.name, **{f"n_{g}": n for g, n in self.nobs.items()}}
        for col in ("chisq.scaled", "df", "cfi.scaled", "rmsea.scaled"):
            out[f"configural_{col.replace('.', '_')}"] = t.loc["configural", col]
        for level in self.tested:
            for col, name in (("chisq.diff", "chisq_diff"), ("df.diff", "df_diff"), ("pvalue.diff", "p"),
                              ("cfi.diff", "cfi_change")):
                out[f"{level}_{name}"] = t.loc[level, col]
        out["intercepts_df_diff"] = t.loc["intercepts", "df.diff"]
        out.update({f"{level}_verdict": v for level, v in self.verdicts().items()})
        out["comparable"] = self.comparable
        out["noninvariant_items"] = "; ".join(f"{f['item']} ({f['level']})" for f in self.freed)
        return out


def ordinal_comparability(thresholds: str, loadings: str, intercepts: str = "") -> str:
    """What may be compared across groups given the thresholds and loadings verdicts (and the
    intercepts one, where that level is tested)."""
    verdicts = {"thresholds": thresholds, "loadings": loadings, "intercepts": intercepts}
    differ = [level for level, v in verdicts.items() if v == "fails"]  # they decide, whatever the others
    if not differ:
        return "not estimable" if "not estimable" in verdicts.values() else "means and relations"
    named = f"{', '.join(differ[:-1])} and {differ[-1]}" if len(differ) > 1 else differ[0]
    return f"not comparable ({named} differ)"


def ordinal_comparable(table: pd.DataFrame, verdicts: dict[str, str]) -> str:
    """ordinal_comparability of the verdicts, saying why where it is not estimable."""
    comparable = ordinal_comparability(**verdicts)
    return why_not_estimable(table, verdicts, "cfi.scaled") if comparable == "not estimable" else comparable


_ORDINAL_FITS: OrderedDict = OrderedDict()


def _ordinal_fit(spec, data, items, group, group_order, group_equal, group_partial=(), missing="listwise",
                 cluster=None, identification="lavaan-0.6.14"):
    # the item search refits models of the sequence (configural, thresholds): fitted once
    key = (spec, hashlib.sha1(pd.util.hash_pandas_object(data).to_numpy().tobytes()).hexdigest(),
           tuple(data.columns), tuple(items), group, tuple(group_order), tuple(group_equal), tuple(group_partial),
           missing, cluster, identification if group_equal else "")
    if key not in _ORDINAL_FITS:
        _ORDINAL_FITS[key] = sem.fit_ordinal(spec, data, ordered=items, group=group, group_order=group_order,
                                             group_equal=group_equal, group_partial=group_partial, missing=missing,
                                             cluster=cluster, identification=identification)
        if len(_ORDINAL_FITS) > 64:
            _ORDINAL_FITS.popitem(last=False)
    _ORDINAL_FITS.move_to_end(key)
    return _ORDINAL_FITS[key]


def _ordinal_level_ok(restricted, free, alpha, cfi_drop) -> bool:
    lr = sem.lr_test_ordinal(restricted, free)
    return lr["cfi_diff"] >= -cfi_drop and not lr["pvalue"] < alpha


def ordinal_partial_search(spec: str, data: pd.DataFrame, group: str, group_order: list, level: str,
                           free_model, partial: tuple = (), alpha: float = ALPHA, cfi_drop: float = CFI_DROP,
                           max_free: int | None = None, missing: str = "listwise",
                           cluster: str | None = None,
                           identification: str = "lavaan-0.6.14") -> tuple[list[dict], tuple]:
    """Items whose thresholds (`level` "thresholds"), loading ("loadings") or intercept
    ("intercepts", Wu & Estabrook's identification) differ across groups: freed one item at a time
    (lavaan group.partial; all of an item's thresholds, its loading or its intercept; the marker
    item's loading sets the scale and stays), the smallest scaled-shifted p first, Holm-adjusted
    over the items still constrained, until the partial model passes against
    `free_model` (the previous level) or no freeing is significant. Returns the freed items and
    the group.partial list reached. `missing`, `cluster`, `identification`: as
    :func:`ordinal_invariance_analysis`."""
    factors = _cfa_items(spec)
    items = [i for its in factors.values() for i in its]
    equal = ORDINAL_LEVELS[level]
    current = _ordinal_fit(spec, data, items, group, group_order, equal, partial, missing, cluster, identification)
    nth = {i: int(data[i].nunique()) - 1 for i in items}
    if level == "thresholds":
        candidates = {(f, i): tuple(f"{i}|t{m + 1}" for m in range(nth[i])) for f, its in factors.items() for i in its}
    elif level == "loadings":
        candidates = {(f, i): (f"{f}=~{i}",) for f, its in factors.items() for i in its[1:]}
    else:  # an item whose thresholds were all freed has its intercept at 0 already
        candidates = {(f, i): (f"{i}~1",) for f, its in factors.items() for i in its if f"{i}|t1" not in partial}
    max_free = max_free if max_free is not None else max(1, len(items) // 2)
    freed = []
    while candidates and len(freed) < max_free and current.converged:
        if _ordinal_level_ok(current, free_model, alpha, cfi_drop):
            break
        tests = []
        for key, extra in sorted(candidates.items()):
            trial = _ordinal_fit(spec, data, items, group, group_order, equal, partial + extra, missing, cluster,
                                 identification)
            if trial.converged:
                tests.append((sem.lr_test_ordinal(current, trial), key, extra, trial))
        if not tests:
            break
        tests.sort(key=lambda t: (t[0]["pvalue"], -t[0]["chisq_diff"]))  # Holm: the smallest p first
        lr, (f, item), extra, trial = tests[0]
        p_holm = min(1.0, lr["pvalue"] * len(tests))
        if not p_holm < alpha:
            break
        freed.append({"item": item, "factor": f, "level": level, "chisq_diff": lr["chisq_diff"],
                      "df_diff": lr["df_diff"], "p": lr["pvalue"], "p_holm": p_holm})
        partial += extra
        del candidates[(f, item)]
        current = trial
    return freed, partial


def ordinal_invariance_analysis(name: str, spec: str, data: pd.DataFrame, group: str, group_order: list,
                                search_items: bool = True, alpha: float = ALPHA,
                                cfi_drop: float = CFI_DROP, min_n: int = 0,
                                missing: str = "listwise", cluster: str | None = None,
                                identification: str = "lavaan-0.6.14") -> OrdinalInvarianceResult:
    """The WLSMV invariance sequence of a CFA of ordered items across groups (lavaan's
    ``cfa(..., ordered = items, estimator = "WLSMV", group = group, group.equal = ...)``), each
    level tested against the previous one by ``lavTestLRT`` (lwo.sem.lr_test_ordinal) and by the
    change in the scaled CFI. Where a level does not simply hold, the items responsible are
    searched at that level (thresholds first; the loadings search keeps the thresholds freed).
    `missing`: "listwise" (lavaan's default) or "pairwise" (every student with an answer;
    lwo.sem.fit_ordinal). `cluster`: a column of cluster ids (cluster-robust SEs and tests, clusters
    crossing the groups; lwo.sem.fit_ordinal). `identification` of equal thresholds: lavaan 0.6.14's
    (the default: thresholds and loadings are tested) or "wu-estabrook" (lavaan >= 0.6-20's: the
    intercepts too; lwo.sem.fit_ordinal)."""
    tested = ORDINAL_TESTED[identification]
    items = [i for its in _cfa_items(spec).values() for i in its]
    used = sem.rows_used(data, items, missing)
    if cluster and used[cluster].nunique() < 2:  # nothing to cluster
        cluster = None
    reason = too_few_to_fit(used, group, group_order, len(items), min_n,
                            answered="all" if missing == "listwise" else "any")
    if not reason:
        try:
            fits = {lvl: _ordinal_fit(spec, data, items, group, group_order, ge, missing=missing, cluster=cluster,
                                      identification=identification)
                    for lvl, ge in ORDINAL_LEVELS.items() if lvl in ("configural", *tested)}
            if "intercepts" not in tested:
                # every item ordered: "intercepts" adds no constraint (see above), the loadings model
                fits["intercepts"] = replace(fits["loadings"], group_equal=ORDINAL_LEVELS["intercepts"])
        except ValueError as exc:  # e.g. an answer category no student of a group chose
            reason = str(exc)
    if reason:
        table = pd.DataFrame(np.nan, index=pd.Index(list(ORDINAL_LEVELS), name="model"), columns=ORDINAL_TABLE_COLUMNS)
        return OrdinalInvarianceResult(name, table, "not estimable", "not estimable", f"not estimable: {reason}",
                                       {str(g): None for g in group_order}, reason=reason, missing=missing,
                                       cluster=cluster, identification=identification,
                                       intercepts="not estimable" if "intercepts" in tested else "")
    rows, previous = [], None
    for lvl, f in fits.items():
        fi = f.fit_indices
        row = {"converged": f.converged, "chisq.scaled": fi.get("chisq.scaled"), "df": fi.get("df"),
               "pvalue.scaled": fi.get("pvalue.scaled"), "cfi.scaled": fi.get("cfi.scaled"),
               "rmsea.scaled": fi.get("rmsea.scaled"), "srmr": fi.get("srmr")}
        if previous is not None and f.converged and previous.converged:
            lr = sem.lr_test_ordinal(f, previous)
            row.update({"chisq.diff": lr["chisq_diff"], "df.diff": lr["df_diff"], "pvalue.diff": lr["pvalue"],
                        "cfi.diff": lr["cfi_diff"], "rmsea.diff": lr["rmsea_diff"]})
        rows.append(row)
        previous = f
    table = pd.DataFrame(rows, index=pd.Index(list(fits), name="model")).reindex(columns=ORDINAL_TABLE_COLUMNS)
    table = table.astype({c: float for c in ORDINAL_TABLE_COLUMNS if c != "converged"})
    nobs = {str(g): int(n) for g, n in fits["configural"].nobs.items()}
    v = {level: level_verdict(table.loc[level, "cfi.diff"], table.loc[level, "pvalue.diff"], alpha, cfi_drop)
         for level in tested}
    result = OrdinalInvarianceResult(name, table, v["thresholds"], v["loadings"], ordinal_comparable(table, v), nobs,
                                     missing=missing, cluster=cluster, identification=identification,
                                     intercepts=v.get("intercepts", ""))
    if search_items:
        ordinal_item_search(result, spec, data, group, group_order, alpha, cfi_drop)
    return result


def ordinal_item_search(result: OrdinalInvarianceResult, spec: str, data: pd.DataFrame, group: str,
                        group_order: list, alpha: float = ALPHA, cfi_drop: float = CFI_DROP) -> None:
    """Set `result.freed`: the items responsible at each level whose verdict does not simply hold
    (thresholds first; each later search keeps the items freed before it)."""
    items = [i for its in _cfa_items(spec).values() for i in its]
    result.freed, partial = [], ()
    options = dict(missing=result.missing, cluster=result.cluster, identification=result.identification)
    previous = "configural"
    for level, verdict in result.verdicts().items():
        if verdict in ("fails", "holds approximately"):
            base = _ordinal_fit(spec, data, items, group, group_order, ORDINAL_LEVELS[previous], partial, **options)
            found, partial = ordinal_partial_search(spec, data, group, group_order, level, base, partial,
                                                    alpha=alpha, cfi_drop=cfi_drop, **options)
            result.freed += found
        previous = level


def ordinal_holm_adjusted_verdicts(results: list[OrdinalInvarianceResult], fitted: dict[str, tuple[str, pd.DataFrame]],
                                   group: str, group_order: list, alpha: float = ALPHA,
                                   cfi_drop: float = CFI_DROP, search_items: bool = True) -> pd.DataFrame:
    """The ordinal holm_adjusted_verdicts: Holm-adjust the difference tests of the tested levels
    (thresholds and loadings, and intercepts in Wu & Estabrook's identification; the results share
    one) over a family of constructs (each level separately); for each estimable result, set the
    verdicts and comparability from the adjusted p and (`search_items`) search the items
    responsible where a level does not simply hold (`fitted`: each result's spec and data by
    name). Returns the adjusted p-values (columns <level>_p_holm) by name."""
    levels = results[0].tested if results else ()
    out = _holm_by_level(results, levels)
    for r in results:
        if r.reason:
            continue
        for level in levels:
            setattr(r, level, level_verdict(r.table.loc[level, "cfi.diff"], out.loc[r.name, f"{level}_p_holm"],
                                            alpha, cfi_drop))
        r.comparable = ordinal_comparable(r.table, r.verdicts())
        if search_items:
            spec, data = fitted[r.name]
            ordinal_item_search(r, spec, data, group, group_order, alpha, cfi_drop)
    return out
