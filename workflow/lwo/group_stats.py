"""Group-comparison statistics for the descriptive and group-difference exhibits.

Every test function returns a tidy :class:`pandas.DataFrame` whose columns are fixed for a
given call, so exhibit builders can write it straight to a table. Conventions shared by all
functions:

* **Direction.** For two-group comparisons ``groups=(a, b)``; ``difference`` is always
  ``a − b`` (``mean_a − mean_b`` or the adjusted equivalent).
* **Missing data.** Listwise deletion over the columns a test uses (value, group, controls,
  cluster). Rows whose group is missing or whose used columns are missing are counted in
  ``n_excluded_missing``; rows of groups not being compared are not counted.
* **Estimability.** A group with fewer than ``min_n`` cases, an empty group, a constant outcome
  or a design that cannot identify the comparison never raises: the affected row gets
  ``note = "not estimable: n = …"`` (with the group sizes and the reason) and NaN statistics in
  that row only. Means and SDs of a group below ``min_n`` are withheld as well (the mean of
  one or two students is their own value).
* **Clustered sensitivity.** With ``cluster=`` (e.g. a classroom id) the same comparison is
  re-estimated by OLS with cluster-robust (CR1, as in Stata and statsmodels) standard errors;
  inference uses t with G − 1 degrees of freedom (G = number of clusters), the usual
  small-G choice.
* **Bad input** (a column that does not exist, a non-numeric outcome, negative counts) raises a
  ``KeyError``/``TypeError``/``ValueError`` naming the column and what to do.

Public functions: :func:`welch_ttest`, :func:`many_welch_ttests`, :func:`ols_group_difference`,
:func:`many_ols_group_differences`, :func:`chi_square_table`, :func:`chi_square_counts`,
:func:`ancova`, :func:`ancova_family`, :func:`compare_counts`, :func:`suppress_small_cells`,
:func:`multiple_comparison`, and the rank tests :func:`rank_by_mean` and :func:`gap_to_next`.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd


def _special():
    """scipy.special: the distribution kernels scipy.stats calls (t, chi2, F, binomial, beta).
    Importing scipy.stats costs an exhibit job about a second, scipy.special a tenth of that,
    and only on first use: the privacy helpers here need neither."""
    import scipy.special

    return scipy.special


def _scipy_stats():
    """scipy.stats, for the rare exact tests written nowhere else (Fisher's exact test and its
    conditional odds ratio, the Monte-Carlo Fisher–Freeman–Halton test)."""
    import scipy.stats

    return scipy.stats


CORRECTION_LABELS = {
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "fdr_bh": "Benjamini-Hochberg FDR",
    "fdr_by": "Benjamini-Yekutieli FDR",
    "none": "none",
}

WELCH_COLUMNS = [
    "variable", "group_variable", "group_a", "group_b", "n_a", "n_b", "n_excluded_missing",
    "mean_a", "sd_a", "mean_b", "sd_b", "difference", "se", "ci_low", "ci_high", "t", "df", "p",
    "cohen_d", "hedges_g", "test",
]
OLS_COLUMNS = [
    "variable", "group_variable", "group_a", "group_b", "n_a", "n_b", "n_excluded_missing",
    "mean_a", "mean_b", "adjusted_mean_a", "adjusted_mean_b", "adjusted_mean_se_a",
    "adjusted_mean_se_b", "difference", "se", "ci_low", "ci_high", "t", "df", "p", "pooled_sd",
    "standardized_difference", "n_parameters", "controls", "test",
]
CLUSTER_COLUMNS = [
    "cluster_variable", "n_clusters", "se_cluster", "ci_low_cluster", "ci_high_cluster",
    "df_cluster", "p_cluster",
]
CHI_SQUARE_COLUMNS = [
    "row_variable", "col_variable", "row_level", "col_level", "observed", "expected",
    "row_total", "col_total", "row_percent", "col_percent", "adjusted_residual",
    "residual_beyond_1_96", "n", "n_excluded_missing", "chi2", "dof", "p", "cramers_v",
    "cramers_v_bias_corrected", "min_expected", "n_cells_expected_below_min", "p_small_sample",
    "small_sample_method", "test",
]
ANCOVA_COLUMNS = [
    "dv", "between", "level", "n", "mean", "sd", "adjusted_mean", "adjusted_mean_se",
    "covariates", "n_total", "n_excluded_missing", "F", "df_effect", "df_residual", "p",
    "partial_eta_squared", "test",
]
ANCOVA_CLUSTER_COLUMNS = ["cluster_variable", "n_clusters", "F_cluster", "df_cluster", "p_cluster"]
COUNTS_COLUMNS = [
    "label", "kind", "group_a", "group_b", "count_a", "n_a", "count_b", "n_b", "estimate_a",
    "estimate_b", "difference", "effect", "effect_estimate", "ci_low", "ci_high", "p_exact",
    "min_attainable_p", "test", "caveat",
]


# --------------------------------------------------------------------------- input checks
def _require_columns(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(
            f"{where}: column(s) {missing} not found in the data; available columns: "
            f"{list(df.columns)}. Check the spelling or the codebook mapping."
        )


def _require_numeric(df: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    for c in columns:
        if not (pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])):
            raise TypeError(
                f"{where}: column {c!r} must be numeric (dtype is {df[c].dtype}); convert it "
                "(e.g. with the data contract's coercion) or declare it categorical."
            )
        values = df[c].to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            raise ValueError(f"{where}: column {c!r} contains infinite values; fix the input file.")


def _resolve_groups(series: pd.Series, groups: Sequence[Hashable] | None, where: str) -> tuple:
    if groups is None:
        levels = sorted(series.dropna().unique().tolist(), key=str)
        if len(levels) != 2:
            raise ValueError(
                f"{where}: group column {series.name!r} has {len(levels)} levels {levels}; pass "
                "groups=(a, b) to say which two are compared."
            )
        return levels[0], levels[1]
    if len(groups) != 2 or groups[0] == groups[1]:
        raise ValueError(f"{where}: groups must be two different labels, got {groups!r}.")
    return groups[0], groups[1]


def _two_group_sample(
    df: pd.DataFrame, group: str, groups: tuple, used: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """Rows of groups a and b complete on ``used``; plus the count of rows excluded as missing
    (group missing, or in a/b with a missing value in ``used``)."""
    in_pair = df[group].isin(list(groups))
    group_missing = int(df[group].isna().sum())
    pair = df.loc[in_pair, list(dict.fromkeys([group, *used]))]
    complete = pair.dropna()
    return complete, group_missing + int(len(pair) - len(complete))


def _n_text(ns: Mapping[Hashable, int]) -> str:
    return ", ".join(f"{n} ({label})" for label, n in ns.items())


def _not_estimable(ns: Mapping[Hashable, int], reason: str) -> str:
    return f"not estimable: n = {_n_text(ns)}; {reason}"


def _missing_note(n_excluded: int) -> str:
    if not n_excluded:
        return ""
    return f"{n_excluded} row{'s' if n_excluded != 1 else ''} excluded (missing data, listwise)"


def _one_row(row: dict, extra: dict) -> pd.DataFrame:
    """One-row result with the note as the last column."""
    note = row.pop("note", "")
    return pd.DataFrame([row | extra | {"note": note}])


def _join_notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# --------------------------------------------------------------------------- corrections
def multiple_comparison(
    pvalues: Sequence[float] | np.ndarray | pd.Series,
    method: str = "holm",
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Adjust a family of p-values (as statsmodels ``multipletests``).

    NaN p-values (non-estimable tests) are left out of the family and stay NaN.

    Parameters: ``method`` is "holm", "bonferroni", "fdr_bh" (Benjamini-Hochberg),
    "fdr_by" (Benjamini-Yekutieli) or "none".

    Returns one row per input p-value with columns ``p``, ``p_adjusted``, ``significant``
    (adjusted p < alpha; False where p is NaN), ``correction`` (e.g. "Holm (m = 7)"),
    ``n_tests`` (m) and ``n_significant``.
    """
    if method not in CORRECTION_LABELS:
        raise ValueError(f"multiple_comparison: unknown method {method!r}; use one of "
                         f"{sorted(CORRECTION_LABELS)}.")
    p = np.asarray(pvalues, dtype=float)
    if np.any((p[~np.isnan(p)] < 0) | (p[~np.isnan(p)] > 1)):
        raise ValueError("multiple_comparison: p-values must lie in [0, 1].")
    ok = ~np.isnan(p)
    adjusted = np.full(p.shape, np.nan)
    if ok.any():
        adjusted[ok] = _adjust(p[ok], method)
    significant = np.where(ok, adjusted < alpha, False)
    m = int(ok.sum())
    return pd.DataFrame({
        "p": p,
        "p_adjusted": adjusted,
        "significant": significant.astype(bool),
        "correction": f"{CORRECTION_LABELS[method]} (m = {m})",
        "n_tests": m,
        "n_significant": int(significant.sum()),
    })


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values of one family, step for step as statsmodels' multipletests."""
    m = len(p)
    if method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        # step-down: the i-th smallest p times (m - i + 1), kept monotone from the smallest up
        stepped = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:
        # step-up: the i-th smallest p times m / i (and the harmonic sum for BY), kept
        # monotone from the largest down
        factor = np.arange(1, m + 1) / float(m)
        if method == "fdr_by":
            factor = factor / np.sum(1.0 / np.arange(1, m + 1))
        stepped = np.minimum.accumulate((ranked / factor)[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


# --------------------------------------------------------------------------- distributions
def t_two_sided_p(t, df):
    """Two-sided p of a t statistic (as scipy.stats.t: 2 sf(|t|))."""
    return 2 * _special().stdtr(df, -np.abs(t))


def t_quantile(q, df):
    """Quantile of Student's t (as scipy.stats.t.ppf)."""
    return _special().stdtrit(df, q)


def _binom_cdf(k, n, p):
    # scipy.stats.binom's support handling around the same kernels
    if k < 0 or k >= n:
        return 0.0 if k < 0 else 1.0
    return float(_special()._ufuncs._binom_cdf(np.floor(k), n, p))


def _binom_sf(k, n, p):
    if k < 0 or k >= n:
        return 1.0 if k < 0 else 0.0
    return float(_special()._ufuncs._binom_sf(np.floor(k), n, p))


def _binom_pmf(k, n, p):
    return float(_special()._ufuncs._binom_pmf(k, n, p)) if 0 <= k <= n else 0.0


def _binary_search(a, d, lo, hi):
    """The i in [lo, hi] with a(i) <= d < a(i + 1) (a ascending; scipy's binomtest search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = a(mid)
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test of k successes in n at share p: the probability of every
    outcome no more likely than k (as scipy.stats.binomtest, relative tolerance 1e-7)."""
    d = _binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _binary_search(lambda x: -_binom_pmf(x, n, p), -d * rerr, np.ceil(p * n), n)
        y = n - ix + int(d * rerr == _binom_pmf(ix, n, p))
        pval = _binom_cdf(k, n, p) + _binom_sf(n - y, n, p)
    else:
        ix = _binary_search(lambda x: _binom_pmf(x, n, p), d * rerr, 0, np.floor(p * n))
        pval = _binom_cdf(ix, n, p) + _binom_sf(k - 1, n, p)
    return min(1.0, pval)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) CI of a binomial share k / n, from the beta quantiles (scipy's
    binomtest(...).proportion_ci(method="exact") finds the same roots numerically)."""
    alpha = (1 - level) / 2
    low = 0.0 if k == 0 else float(_special()._ufuncs._beta_ppf(alpha, k, n - k + 1))
    high = 1.0 if k == n else float(_special().betainccinv(k + 1, n - k, alpha))
    return low, high


def _add_correction(table: pd.DataFrame, correction: str, alpha: float) -> pd.DataFrame:
    adj = multiple_comparison(table["p"].to_numpy(), correction, alpha=alpha)
    table = table.copy()
    for col in ["p_adjusted", "significant", "correction", "n_tests", "n_significant"]:
        table[col] = adj[col].to_numpy()
    if "p_cluster" in table.columns:
        adj_c = multiple_comparison(table["p_cluster"].to_numpy(), correction, alpha=alpha)
        table["p_cluster_adjusted"] = adj_c["p_adjusted"].to_numpy()
        table["significant_cluster"] = adj_c["significant"].to_numpy()
        table["n_significant_cluster"] = adj_c["n_significant"].to_numpy()
    # keep the note last so a table reads left to right: numbers, then explanation
    return table[[c for c in table.columns if c != "note"] + ["note"]]


# --------------------------------------------------------------------------- OLS
class _OLS:
    """Least squares as statsmodels' OLS(y, X).fit() computes it (pseudo-inverse; classical
    covariance, or CR1 cluster-robust with ``clusters``: the sandwich with Stata's factor
    G/(G − 1)·(n − 1)/(n − k) and t(G − 1) inference). Only what the tests here read."""

    def __init__(self, y: np.ndarray, X: np.ndarray, clusters: np.ndarray | None = None):
        pinv = np.linalg.pinv(X)
        self.params = pinv @ y
        bread = pinv @ pinv.T
        resid = y - X @ self.params
        n, k = X.shape
        self.df_resid = float(n - np.linalg.matrix_rank(X))
        self.scale = float(resid @ resid) / self.df_resid
        if clusters is None:
            self.cov = bread * self.scale
            self.df_inference = self.df_resid
        else:
            scores = X * resid[:, None]
            codes, uniques = pd.factorize(np.asarray(clusters), sort=True)
            g = len(uniques)
            summed = np.zeros((g, k))
            np.add.at(summed, codes, scores)
            meat = summed.T @ summed
            self.cov = bread @ meat @ bread * (g / (g - 1.0) * ((n - 1.0) / (n - k)))
            self.df_inference = float(g - 1)
        self.bse = np.sqrt(np.diag(self.cov))
        self.tvalues = self.params / self.bse
        self.pvalues = t_two_sided_p(self.tvalues, self.df_inference)

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        half = t_quantile(1 - alpha / 2, self.df_inference) * self.bse
        return np.column_stack([self.params - half, self.params + half])

    def f_test(self, R: np.ndarray) -> tuple[float, float, float]:
        """Wald F of R·params = 0 with this covariance: (F, denominator df, p)."""
        r = R @ self.params
        f = float(r @ np.linalg.pinv(R @ self.cov @ R.T) @ r) / R.shape[0]
        return f, self.df_inference, float(_special().fdtrc(R.shape[0], self.df_inference, f))


def _cluster_ols(y: np.ndarray, X: np.ndarray, clusters: pd.Series | np.ndarray):
    """OLS with CR1 cluster-robust covariance and t(G − 1) inference, or (None, reason)."""
    n_clusters = len(pd.unique(np.asarray(clusters)))
    if n_clusters < 2:
        return None, n_clusters, f"cluster SE not estimable: {n_clusters} cluster"
    return _OLS(y, X, clusters), n_clusters, ""


def _empty_cluster_fields(cluster: str, n_clusters: float = np.nan) -> dict:
    return {
        "cluster_variable": cluster, "n_clusters": n_clusters, "se_cluster": np.nan,
        "ci_low_cluster": np.nan, "ci_high_cluster": np.nan, "df_cluster": np.nan,
        "p_cluster": np.nan,
    }


def _cluster_fields_for(fit, n_clusters: int, cluster: str, index: int) -> dict:
    ci = np.asarray(fit.conf_int(alpha=0.05))[index]
    return {
        "cluster_variable": cluster, "n_clusters": n_clusters, "se_cluster": float(fit.bse[index]),
        "ci_low_cluster": float(ci[0]), "ci_high_cluster": float(ci[1]),
        "df_cluster": float(n_clusters - 1), "p_cluster": float(fit.pvalues[index]),
    }


# --------------------------------------------------------------------------- Welch t-test
def welch_ttest(
    df: pd.DataFrame,
    value: str,
    group: str,
    *,
    groups: Sequence[Hashable] | None = None,
    cluster: str | None = None,
    min_n: int = 2,
) -> pd.DataFrame:
    """Welch (unequal-variance) t-test of ``value`` between two groups (as pingouin.ttest).

    Parameters
    ----------
    df : student- (or teacher-) level data.
    value : numeric outcome column.
    group : column holding the group labels.
    groups : ``(a, b)``; default: the two levels of ``group`` (error if not exactly two).
    cluster : optional cluster id column (e.g. classroom) for the sensitivity columns.
    min_n : smallest group size for which the test is reported (at least 2).

    Returns
    -------
    One row with columns ``variable, group_variable, group_a, group_b, n_a, n_b,
    n_excluded_missing, mean_a, sd_a, mean_b, sd_b, difference (a − b), se (Welch),
    ci_low, ci_high (95 %, Welch–Satterthwaite df), t, df, p, cohen_d (signed, pooled SD),
    hedges_g (signed), test, note``; with ``cluster`` also ``cluster_variable, n_clusters,
    se_cluster, ci_low_cluster, ci_high_cluster, df_cluster, p_cluster`` from OLS
    ``value ~ 1 + [group == a]`` with CR1 cluster-robust SEs (the coefficient equals
    ``difference``).
    """
    where = "welch_ttest"
    if min_n < 2:
        raise ValueError(f"{where}: min_n must be at least 2 (a variance needs two cases).")
    used = [value] + ([cluster] if cluster else [])
    _require_columns(df, [group, *used], where)
    _require_numeric(df, [value], where)
    a, b = _resolve_groups(df[group], groups, where)
    data, n_excluded = _two_group_sample(df, group, (a, b), used)
    x = data.loc[data[group] == a, value].to_numpy(dtype=float)
    y = data.loc[data[group] == b, value].to_numpy(dtype=float)
    n_a, n_b = len(x), len(y)

    row: dict = dict.fromkeys(WELCH_COLUMNS, np.nan)
    row.update(variable=value, group_variable=group, group_a=a, group_b=b, n_a=n_a, n_b=n_b,
               n_excluded_missing=n_excluded, test="Welch t-test")
    if n_a:
        row.update(mean_a=x.mean(), sd_a=x.std(ddof=1) if n_a > 1 else np.nan)
    if n_b:
        row.update(mean_b=y.mean(), sd_b=y.std(ddof=1) if n_b > 1 else np.nan)
    missing_note = _missing_note(n_excluded)
    cluster_fields = _empty_cluster_fields(cluster) if cluster else {}

    ns = {a: n_a, b: n_b}
    reason = ""
    if min(n_a, n_b) < min_n:
        reason = _not_estimable(ns, f"each group needs at least {min_n} cases")
    elif x.var(ddof=1) == 0 and y.var(ddof=1) == 0:
        reason = _not_estimable(ns, f"{value} is constant within both groups (no variance)")
    if reason:
        # descriptives of a group below min_n are withheld too: a mean of one or two cases
        # is those cases' values
        if n_a < min_n:
            row.update(mean_a=np.nan, sd_a=np.nan)
        if n_b < min_n:
            row.update(mean_b=np.nan, sd_b=np.nan)
        row["note"] = _join_notes(reason, missing_note)
        return _one_row(row, cluster_fields)

    # the formulas of scipy's ttest_ind(equal_var=False) and pingouin.compute_effsize, written
    # out (importing scipy.stats and pingouin costs an exhibit job over a second of CPU)
    va, vb = x.var(ddof=1) / n_a, y.var(ddof=1) / n_b
    se = float(np.sqrt(va + vb))
    dof = float((va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)))
    half = t_quantile(0.975, dof) * se
    diff = float(x.mean() - y.mean())
    t = diff / se
    pooled_sd = np.sqrt(((n_a - 1) * x.var(ddof=1) + (n_b - 1) * y.var(ddof=1)) / (n_a + n_b - 2))
    cohen_d = float((x.mean() - y.mean()) / pooled_sd)
    row.update(difference=diff, se=se, ci_low=diff - half, ci_high=diff + half,
               t=t, df=dof, p=float(t_two_sided_p(t, dof)),
               cohen_d=cohen_d, hedges_g=cohen_d * (1 - 3 / (4 * (n_a + n_b) - 9)))
    cluster_note = ""
    if cluster:
        y_all = np.concatenate([x, y])
        X = np.column_stack([np.ones(n_a + n_b), np.r_[np.ones(n_a), np.zeros(n_b)]])
        clusters = np.concatenate([data.loc[data[group] == a, cluster].to_numpy(),
                                   data.loc[data[group] == b, cluster].to_numpy()])
        fit, n_clusters, cluster_note = _cluster_ols(y_all, X, clusters)
        cluster_fields = (_cluster_fields_for(fit, n_clusters, cluster, 1) if fit is not None
                          else _empty_cluster_fields(cluster, n_clusters))
    row["note"] = _join_notes(missing_note, cluster_note)
    return _one_row(row, cluster_fields)


def many_welch_ttests(
    df: pd.DataFrame,
    values: Sequence[str],
    group: str,
    *,
    groups: Sequence[Hashable] | None = None,
    cluster: str | None = None,
    min_n: int = 2,
    correction: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`welch_ttest` for each column in ``values`` plus a multiple-comparison correction.

    Returns one row per value (columns of :func:`welch_ttest`) and ``p_adjusted``,
    ``significant`` (adjusted p < alpha), ``correction`` (method and family size m),
    ``n_tests`` and ``n_significant`` (the count of areas that differ, repeated on every row);
    with ``cluster`` also ``p_cluster_adjusted``, ``significant_cluster`` and
    ``n_significant_cluster``. Non-estimable rows are left out of the family.
    """
    if not values:
        raise ValueError("many_welch_ttests: values is empty; list the outcome columns.")
    rows = [welch_ttest(df, v, group, groups=groups, cluster=cluster, min_n=min_n)
            for v in values]
    return _add_correction(pd.concat(rows, ignore_index=True), correction, alpha)


# --------------------------------------------------------------------------- OLS
def _independent_columns(X: pd.DataFrame, keep_first: int) -> tuple[list[str], list[str]]:
    """Greedy selection of linearly independent columns (the first ``keep_first`` are kept)."""
    kept: list[str] = list(X.columns[:keep_first])
    dropped: list[str] = []
    rank = np.linalg.matrix_rank(X[kept].to_numpy()) if kept else 0
    for col in X.columns[keep_first:]:
        r = np.linalg.matrix_rank(X[kept + [col]].to_numpy())
        if r > rank:
            kept.append(col)
            rank = r
        else:
            dropped.append(col)
    return kept, dropped


def _control_design(data: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]):
    parts = [data[list(numeric)].astype(float)] if numeric else []
    for c in categorical:
        levels = sorted(data[c].unique().tolist(), key=str)
        cat = pd.Categorical(data[c], categories=levels)
        parts.append(pd.get_dummies(cat, prefix=c, prefix_sep="=", drop_first=True,
                                    dtype=float).set_axis(data.index))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def ols_group_difference(
    df: pd.DataFrame,
    outcome: str,
    group: str,
    controls: Sequence[str] = (),
    *,
    categorical: Sequence[str] = (),
    cluster: str | None = None,
    groups: Sequence[Hashable] | None = None,
    min_n: int = 2,
) -> pd.DataFrame:
    """Covariate-adjusted group difference by OLS: ``outcome ~ 1 + [group == a] + controls``.

    Parameters
    ----------
    controls : control columns; numeric ones enter linearly.
    categorical : which controls are categorical (school, grade, subject, ...); they enter as
        0/1 indicators with the first sorted level as reference (fixed effects). Names not in
        ``controls`` are added to it. A non-numeric control not listed here is an error.
    cluster : optional cluster id (classroom) for CR1 cluster-robust SE, CI and p.
    groups : ``(a, b)``; default: the two levels of ``group``.

    Returns
    -------
    One row: ``variable, group_variable, group_a, group_b, n_a, n_b, n_excluded_missing,
    mean_a, mean_b`` (raw), ``adjusted_mean_a, adjusted_mean_b`` (least-squares means: the
    model's prediction for each group with every other design column at its sample mean,
    i.e. at the covariate means; with no interactions this equals the average predictive
    margin), their SEs, ``difference`` (coefficient of ``[group == a]``), ``se, ci_low,
    ci_high, t, df, p`` (classical OLS), ``pooled_sd`` (within-group SD of the raw outcome),
    ``standardized_difference`` (difference / pooled_sd), ``n_parameters``, ``controls``,
    ``test, note``; with ``cluster`` also the cluster columns (see :func:`welch_ttest`).

    Control indicators that are collinear with earlier columns (e.g. a level present in one
    group only after listwise deletion together with another constant) are dropped and
    named in the note; if the group indicator itself is collinear with the controls the row
    is "not estimable".
    """
    where = "ols_group_difference"
    categorical = list(categorical)
    controls = list(dict.fromkeys([*controls, *categorical]))
    numeric = [c for c in controls if c not in categorical]
    used = [outcome, *controls] + ([cluster] if cluster else [])
    _require_columns(df, [group, *used], where)
    _require_numeric(df, [outcome], where)
    for c in numeric:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise TypeError(f"{where}: control {c!r} is not numeric (dtype {df[c].dtype}); "
                            "list it in categorical= to enter it as fixed effects.")
    _require_numeric(df, numeric, where)
    a, b = _resolve_groups(df[group], groups, where)
    data, n_excluded = _two_group_sample(df, group, (a, b), used)
    is_a = (data[group] == a).to_numpy()
    yv = data[outcome].to_numpy(dtype=float)
    n_a, n_b = int(is_a.sum()), int((~is_a).sum())

    row: dict = dict.fromkeys(OLS_COLUMNS, np.nan)
    row.update(variable=outcome, group_variable=group, group_a=a, group_b=b, n_a=n_a, n_b=n_b,
               n_excluded_missing=n_excluded, controls=", ".join(controls) or "none",
               test="OLS with controls" if controls else "OLS")
    # a group below min_n shows no mean (it would be those few cases' values)
    if n_a >= min_n:
        row["mean_a"] = yv[is_a].mean()
    if n_b >= min_n:
        row["mean_b"] = yv[~is_a].mean()
    missing_note = _missing_note(n_excluded)
    cluster_fields = _empty_cluster_fields(cluster) if cluster else {}
    ns = {a: n_a, b: n_b}

    def not_estimable(reason: str) -> pd.DataFrame:
        row["note"] = _join_notes(_not_estimable(ns, reason), missing_note)
        return _one_row(row, cluster_fields)

    if min(n_a, n_b) < min_n:
        return not_estimable(f"each group needs at least {min_n} cases")
    if np.ptp(yv) == 0:
        return not_estimable(f"{outcome} is constant (no variance)")

    design = pd.concat(
        [pd.DataFrame({"const": 1.0, "group": is_a.astype(float)}, index=data.index),
         _control_design(data, numeric, categorical)], axis=1)
    # controls first, group last: a group indicator that adds no rank is confounded with them
    ordered = design[["const", *[c for c in design.columns if c not in ("const", "group")]]]
    kept, dropped = _independent_columns(ordered, keep_first=1)
    if np.linalg.matrix_rank(design[kept + ["group"]].to_numpy()) == len(kept):
        return not_estimable(f"the group indicator is collinear with the controls "
                             f"({', '.join(controls)})")
    X = design[["const", "group", *kept[1:]]]
    k = X.shape[1]
    if len(yv) - k < 1:
        return not_estimable(f"{len(yv)} cases are too few for {k} parameters")
    fit = _OLS(yv, X.to_numpy())
    if fit.scale <= 0:
        return not_estimable("the model fits the data exactly (no residual variance)")

    at_means = X.mean(axis=0).to_numpy()
    L = np.vstack([at_means, at_means])
    L[:, 1] = [1.0, 0.0]
    cov = fit.cov
    adjusted = L @ fit.params
    adjusted_se = np.sqrt(np.einsum("ij,jk,ik->i", L, cov, L))
    ci = np.asarray(fit.conf_int(alpha=0.05))[1]
    sa, sb = yv[is_a].var(ddof=1), yv[~is_a].var(ddof=1)
    pooled_sd = float(np.sqrt(((n_a - 1) * sa + (n_b - 1) * sb) / (n_a + n_b - 2)))
    diff = float(fit.params[1])
    row.update(adjusted_mean_a=adjusted[0], adjusted_mean_b=adjusted[1],
               adjusted_mean_se_a=adjusted_se[0], adjusted_mean_se_b=adjusted_se[1],
               difference=diff, se=float(fit.bse[1]), ci_low=float(ci[0]),
               ci_high=float(ci[1]), t=float(fit.tvalues[1]), df=fit.df_resid,
               p=float(fit.pvalues[1]), pooled_sd=pooled_sd,
               standardized_difference=diff / pooled_sd if pooled_sd > 0 else np.nan,
               n_parameters=k)
    notes = [missing_note]
    if dropped:
        notes.append(f"collinear control terms dropped: {', '.join(dropped)}")
    if not pooled_sd > 0:
        notes.append("standardized difference undefined: outcome constant within each group")
    if cluster:
        fit_c, n_clusters, cluster_note = _cluster_ols(yv, X.to_numpy(),
                                                       data[cluster].to_numpy())
        cluster_fields = (_cluster_fields_for(fit_c, n_clusters, cluster, 1)
                          if fit_c is not None else _empty_cluster_fields(cluster, n_clusters))
        notes.append(cluster_note)
    row["note"] = _join_notes(*notes)
    return _one_row(row, cluster_fields)


def many_ols_group_differences(
    df: pd.DataFrame,
    outcomes: Sequence[str],
    group: str,
    controls: Sequence[str] = (),
    *,
    categorical: Sequence[str] = (),
    cluster: str | None = None,
    groups: Sequence[Hashable] | None = None,
    min_n: int = 2,
    correction: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`ols_group_difference` for each outcome plus a multiple-comparison correction.

    Extra columns as in :func:`many_welch_ttests` (``p_adjusted, significant, correction,
    n_tests, n_significant`` and the cluster versions when ``cluster`` is given).
    """
    if not outcomes:
        raise ValueError("many_ols_group_differences: outcomes is empty.")
    rows = [ols_group_difference(df, o, group, controls, categorical=categorical,
                                 cluster=cluster, groups=groups, min_n=min_n) for o in outcomes]
    return _add_correction(pd.concat(rows, ignore_index=True), correction, alpha)


# --------------------------------------------------------------------------- chi-square
def _cramers_v(chi2: float, n: int, r: int, c: int) -> tuple[float, float]:
    """Cramér's V and its bias-corrected version (Bergsma 2013, J. Korean Stat. Soc. 42:323)."""
    phi2 = chi2 / n
    v = np.sqrt(phi2 / (min(r, c) - 1))
    phi2_corr = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    c_corr = c - (c - 1) ** 2 / (n - 1)
    denom = min(r_corr, c_corr) - 1
    v_corr = np.sqrt(phi2_corr / denom) if denom > 0 else np.nan
    return float(v), float(v_corr)


def chi_square_counts(
    table: pd.DataFrame,
    *,
    row_variable: str = "row",
    col_variable: str = "col",
    min_expected: float = 5,
    n_excluded_missing: int = 0,
    monte_carlo_resamples: int = 9999,
    seed: int = 2018,
) -> pd.DataFrame:
    """Chi-square test of independence on a contingency table of counts.

    ``table`` has the row levels as index and column levels as columns (as from
    ``pd.crosstab``). All-zero rows/columns are dropped (named in the note). Returns the
    same long layout as :func:`chi_square_table`.
    """
    where = "chi_square_counts"
    counts = table.apply(pd.to_numeric, errors="coerce")
    if counts.isna().any().any() or (counts < 0).any().any():
        raise ValueError(f"{where}: the table must hold non-negative counts without blanks.")
    if not np.allclose(counts.to_numpy(), np.round(counts.to_numpy())):
        raise ValueError(f"{where}: the table must hold whole-number counts.")
    notes = []
    zero_rows = [str(i) for i in counts.index[counts.sum(axis=1) == 0]]
    zero_cols = [str(c) for c in counts.columns[counts.sum(axis=0) == 0]]
    if zero_rows or zero_cols:
        notes.append("empty levels dropped: " + ", ".join(zero_rows + zero_cols))
    counts = counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
    obs = counts.to_numpy(dtype=float)
    n = int(obs.sum())
    base = {"row_variable": row_variable, "col_variable": col_variable, "n": n,
            "n_excluded_missing": n_excluded_missing, "test": "Pearson chi-square"}
    missing_note = _missing_note(n_excluded_missing)

    long = (counts.rename_axis(index="row_level", columns="col_level").stack()
            .rename("observed").reset_index())
    r, c = obs.shape if obs.size else (0, 0)
    if r < 2 or c < 2:
        levels = {f"{row_variable} levels": r, f"{col_variable} levels": c}
        reason = (f"not estimable: n = {n}; a test of independence needs at least 2 non-empty "
                  f"levels of each variable ({_n_text(levels)})")
        out = long.assign(**base)
        if out.empty:
            out = pd.DataFrame([base])
        for col in CHI_SQUARE_COLUMNS:
            if col not in out.columns:
                out[col] = np.nan
        out["small_sample_method"] = "not applicable"
        out["note"] = _join_notes(reason, *notes, missing_note)
        return out[CHI_SQUARE_COLUMNS + ["note"]]

    # Pearson's statistic as scipy.stats.chi2_contingency(correction=False) computes it
    row_tot = obs.sum(axis=1, keepdims=True)
    col_tot = obs.sum(axis=0, keepdims=True)
    expected = row_tot * col_tot / obs.sum()
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    dof = (r - 1) * (c - 1)
    # adjusted standardized residual (Haberman 1973): ~N(0, 1) under independence
    adj = (obs - expected) / np.sqrt(expected * (1 - row_tot / n) * (1 - col_tot / n))
    v, v_corr = _cramers_v(chi2, n, r, c)
    n_small = int((expected < min_expected).sum())

    if n_small == 0:
        p_small, method = np.nan, f"not needed (all expected counts >= {min_expected:g})"
    elif (r, c) == (2, 2):
        p_small = float(_scipy_stats().fisher_exact(obs).pvalue)
        method = "Fisher exact (two-sided)"
    else:
        st = _scipy_stats()
        mc = st.MonteCarloMethod(n_resamples=monte_carlo_resamples,
                                 rng=np.random.default_rng(seed))
        p_small = float(st.fisher_exact(obs.astype(int), method=mc).pvalue)
        method = (f"Fisher-Freeman-Halton, Monte Carlo ({monte_carlo_resamples} tables, "
                  f"seed {seed})")
    if n_small:
        notes.insert(0, f"{n_small} of {r * c} cells have expected counts below "
                        f"{min_expected:g}: the chi-square p may be inaccurate; use "
                        f"p_small_sample ({method})")
    notes.append("Cramér's V is biased upward in small samples; bias-corrected V "
                 "(Bergsma 2013) beside it" if np.isfinite(v_corr) else
                 f"bias-corrected Cramér's V undefined for n = {n}")

    out = long.assign(**base)
    out["expected"] = expected.ravel()
    out["row_total"] = np.repeat(row_tot.ravel(), c)
    out["col_total"] = np.tile(col_tot.ravel(), r)
    out["row_percent"] = 100 * out["observed"] / out["row_total"]
    out["col_percent"] = 100 * out["observed"] / out["col_total"]
    out["adjusted_residual"] = adj.ravel()
    out["residual_beyond_1_96"] = np.abs(out["adjusted_residual"]) > 1.96
    out = out.assign(chi2=chi2, dof=dof, p=float(_special().chdtrc(dof, chi2)),
                     cramers_v=v, cramers_v_bias_corrected=v_corr,
                     min_expected=float(expected.min()), n_cells_expected_below_min=n_small,
                     p_small_sample=p_small, small_sample_method=method)
    out["note"] = _join_notes(*notes, missing_note)
    return out[CHI_SQUARE_COLUMNS + ["note"]]


def chi_square_table(
    df: pd.DataFrame,
    row: str,
    col: str,
    *,
    min_expected: float = 5,
    monte_carlo_resamples: int = 9999,
    seed: int = 2018,
) -> pd.DataFrame:
    """Pearson chi-square test of independence of two categorical columns (scipy, no Yates
    correction).

    Returns one row per cell of the contingency table (long/tidy layout): ``row_variable,
    col_variable, row_level, col_level, observed, expected, row_total, col_total,
    row_percent, col_percent, adjusted_residual`` (Haberman's adjusted standardized residual
    (O − E) / sqrt(E (1 − row_total/n)(1 − col_total/n)); |r| > 1.96 marks cells that drive
    the association, uncorrected for the number of cells), ``residual_beyond_1_96, n,
    n_excluded_missing``, and the test, repeated on every row: ``chi2, dof, p, cramers_v,
    cramers_v_bias_corrected, min_expected, n_cells_expected_below_min, p_small_sample,
    small_sample_method, test, note``. When any expected count is below ``min_expected``,
    ``p_small_sample`` is Fisher's exact p (2×2) or a seeded Monte-Carlo Fisher–Freeman–Halton
    p (larger tables); otherwise it is NaN and ``small_sample_method`` says it was not needed.

    Pivot for display, e.g. ``out.pivot(index="row_level", columns="col_level",
    values="observed")``. Apply :func:`suppress_small_cells` before publishing counts.
    """
    where = "chi_square_table"
    _require_columns(df, [row, col], where)
    data = df[[row, col]]
    complete = data.dropna()
    table = pd.crosstab(complete[row], complete[col])
    return chi_square_counts(table, row_variable=row, col_variable=col,
                             min_expected=min_expected,
                             n_excluded_missing=int(len(data) - len(complete)),
                             monte_carlo_resamples=monte_carlo_resamples, seed=seed)


# --------------------------------------------------------------------------- ANCOVA
def ancova(
    df: pd.DataFrame,
    dv: str,
    between: str,
    covariates: str | Sequence[str],
    *,
    cluster: str | None = None,
    levels: Sequence[Hashable] | None = None,
    min_n: int = 2,
) -> pd.DataFrame:
    """One-way ANCOVA (type II sums of squares, as pingouin.ancova) with adjusted means.

    Parameters
    ----------
    dv : numeric outcome; between : factor column; covariates : numeric covariate(s).
    cluster : optional cluster id; adds a Wald F test of equal adjusted means with CR1
        cluster-robust covariance, F(k − 1, G − 1).
    levels : levels to report and compare (default: those present); a listed level with no
        data gets a "not estimable: n = 0" row; rows of unlisted levels are left out.
    min_n : levels with fewer cases are reported as not estimable and left out of the model.

    Returns
    -------
    One row per level: ``dv, between, level, n, mean, sd, adjusted_mean`` (at the grand means
    of the covariates in the analysed sample), ``adjusted_mean_se, covariates, n_total,
    n_excluded_missing``, and the effect of ``between`` repeated on each row: ``F, df_effect,
    df_residual, p, partial_eta_squared, test, note``; with ``cluster`` also
    ``cluster_variable, n_clusters, F_cluster, df_cluster`` (denominator df) and
    ``p_cluster``. The covariates' own F tests are not returned (call pingouin.ancova for
    the full source table).
    """
    where = "ancova"
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError(f"{where}: give at least one covariate (without one, use an ANOVA).")
    used = [dv, between, *covariates] + ([cluster] if cluster else [])
    _require_columns(df, used, where)
    _require_numeric(df, [dv, *covariates], where)
    data_all = df[list(dict.fromkeys(used))]
    data = data_all.dropna()
    n_excluded = int(len(data_all) - len(data))
    present = sorted(data[between].unique().tolist(), key=str)
    report_levels = list(levels) if levels is not None else present
    counts = {lv: int((data[between] == lv).sum()) for lv in report_levels}
    too_small = [lv for lv in report_levels if counts[lv] < min_n]
    fit_levels = [lv for lv in report_levels if lv not in too_small]
    data = data[data[between].isin(fit_levels)]
    n_total = len(data)

    rows = []
    for lv in report_levels:
        # levels left out of the model show no mean either: a mean of one or two students
        # would disclose their values
        vals = data.loc[data[between] == lv, dv]
        row = dict.fromkeys(ANCOVA_COLUMNS, np.nan)
        row.update(dv=dv, between=between, level=lv, n=counts[lv],
                   mean=vals.mean() if len(vals) else np.nan,
                   sd=vals.std(ddof=1) if len(vals) > 1 else np.nan,
                   covariates=", ".join(covariates), n_total=n_total,
                   n_excluded_missing=n_excluded, test="ANCOVA (type II)")
        if cluster:
            row.update(dict.fromkeys(ANCOVA_CLUSTER_COLUMNS, np.nan), cluster_variable=cluster)
        rows.append(row)
    if not rows:  # no complete case at all: one explanatory row instead of an empty table
        rows = [dict.fromkeys(ANCOVA_COLUMNS, np.nan) | {
            "dv": dv, "between": between, "level": "all levels", "n": 0,
            "covariates": ", ".join(covariates), "n_total": 0,
            "n_excluded_missing": n_excluded, "test": "ANCOVA (type II)"}]
        if cluster:
            rows[0].update(dict.fromkeys(ANCOVA_CLUSTER_COLUMNS, np.nan),
                           cluster_variable=cluster)
        out = pd.DataFrame(rows)
        out["note"] = _join_notes(_not_estimable({"all levels": 0}, "no complete cases"),
                                  _missing_note(n_excluded))
        return out[ANCOVA_COLUMNS + (ANCOVA_CLUSTER_COLUMNS if cluster else []) + ["note"]
                   ].astype({"df_effect": "Int64", "df_residual": "Int64"})
    out = pd.DataFrame(rows)

    notes = []
    if n_excluded:
        notes.append(_missing_note(n_excluded))
    if too_small:
        notes.append(f"levels excluded from the model (fewer than {min_n} cases): "
                     f"{_n_text({lv: counts[lv] for lv in too_small})}")
    small_mask = out["level"].isin(too_small)
    out.loc[small_mask, "note"] = _not_estimable(
        {lv: counts[lv] for lv in too_small},
        f"each level needs at least {min_n} cases; excluded from the ANCOVA")
    fit_mask = ~small_mask

    def finish(reason: str = "") -> pd.DataFrame:
        head = _not_estimable({lv: counts[lv] for lv in fit_levels}, reason) if reason else ""
        out.loc[fit_mask, "note"] = _join_notes(head, *notes)
        cols = ANCOVA_COLUMNS + (ANCOVA_CLUSTER_COLUMNS if cluster else []) + ["note"]
        # degrees of freedom are whole numbers; nullable so non-estimable rows stay empty
        return out[cols].astype({"df_effect": "Int64", "df_residual": "Int64"})

    k = len(fit_levels)
    q = len(covariates)
    if k < 2:
        return finish(f"fewer than 2 levels of {between} with at least {min_n} cases")
    if np.ptp(data[dv].to_numpy(dtype=float)) == 0:
        return finish(f"{dv} is constant (no variance)")
    constant_cov = [c for c in covariates if np.ptp(data[c].to_numpy(dtype=float)) == 0]
    if constant_cov:
        return finish(f"covariate(s) constant: {', '.join(constant_cov)}")
    if n_total - k - q < 1:
        return finish(f"{n_total} cases are too few for {k + q} parameters")

    # cell-means coding with centred covariates: the level coefficients are the adjusted means
    level_codes = pd.Categorical(data[between], categories=fit_levels)
    D = pd.get_dummies(level_codes, dtype=float).to_numpy()
    Z = data[covariates].to_numpy(dtype=float)
    X = np.column_stack([D, Z - Z.mean(axis=0)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return finish("the covariates are collinear with the levels or with each other")
    yv = data[dv].to_numpy(dtype=float)
    fit = _OLS(yv, X)
    if fit.scale <= 0:
        return finish("the model fits the data exactly (no residual variance)")

    # type II sum of squares of the factor (as pingouin.ancova): what it adds to the covariates
    ss_resid = fit.scale * fit.df_resid
    reduced = np.column_stack([np.ones(n_total), Z])
    ss_effect = float(np.sum((yv - reduced @ np.linalg.lstsq(reduced, yv, rcond=None)[0]) ** 2)
                      - ss_resid)
    df_effect, df_resid = k - 1, n_total - k - q
    f_value = (ss_effect / df_effect) / (ss_resid / df_resid)
    pos = {lv: i for i, lv in enumerate(fit_levels)}
    idx = out.index[fit_mask]
    out.loc[idx, "adjusted_mean"] = [float(fit.params[pos[lv]]) for lv in out.loc[idx, "level"]]
    out.loc[idx, "adjusted_mean_se"] = [float(fit.bse[pos[lv]]) for lv in out.loc[idx, "level"]]
    out.loc[idx, "F"] = f_value
    out.loc[idx, "df_effect"] = df_effect
    out.loc[idx, "df_residual"] = df_resid
    out.loc[idx, "p"] = float(_special().fdtrc(df_effect, df_resid, f_value))
    out.loc[idx, "partial_eta_squared"] = ss_effect / (ss_effect + ss_resid)

    if cluster:
        fit_c, n_clusters, cluster_note = _cluster_ols(yv, X, data[cluster].to_numpy())
        out.loc[idx, "n_clusters"] = n_clusters
        if fit_c is not None and n_clusters - 1 < k - 1:
            cluster_note = (f"cluster F not estimable: {n_clusters} clusters for {k - 1} "
                            "contrasts")
        elif fit_c is not None:
            R = np.zeros((k - 1, X.shape[1]))
            R[:, 0] = 1.0
            R[np.arange(k - 1), np.arange(1, k)] = -1.0
            f_c, df_c, p_c = fit_c.f_test(R)
            out.loc[idx, "F_cluster"] = f_c
            out.loc[idx, "df_cluster"] = df_c
            out.loc[idx, "p_cluster"] = p_c
        if cluster_note:
            notes.append(cluster_note)
    return finish()


# --------------------------------------------------------------------------- exact counts
def compare_counts(
    count_a: int,
    n_a: float,
    count_b: int,
    n_b: float,
    *,
    label: str,
    kind: Literal["proportion", "rate"],
    group_labels: tuple[str, str] = ("a", "b"),
    unit: str = "groups",
) -> pd.DataFrame:
    """Exact test for small published counts.

    ``kind="proportion"``: ``count_a`` of ``n_a`` units vs ``count_b`` of ``n_b`` units have
    a feature (e.g. 2 of 4 all-Black vs 1 of 4 mixed-race focus groups). Fisher's exact test
    (two-sided); effect: conditional maximum-likelihood odds ratio with its exact 95 % CI (as
    R's ``fisher.test``).

    ``kind="rate"``: ``count_a`` and ``count_b`` are event counts (e.g. coded remarks 20 vs 4)
    over exposures ``n_a`` and ``n_b`` (e.g. 4 and 4 groups). Exact conditional binomial test
    of equal Poisson rates: given the total, ``count_a ~ Binomial(total, n_a / (n_a + n_b))``
    (as R's ``poisson.test``); effect: rate ratio with the exact CI from the Clopper–Pearson
    interval of the binomial share.

    Returns one row: ``label, kind, group_a, group_b, count_a, n_a, count_b, n_b,
    estimate_a, estimate_b`` (proportions or rates per unit), ``difference, effect,
    effect_estimate, ci_low, ci_high, p_exact, min_attainable_p`` (smallest p any result
    could give with these sizes: the power ceiling of the test), ``test, caveat, note``.
    """
    where = f"compare_counts({label!r})"
    if kind not in ("proportion", "rate"):
        raise ValueError(f"{where}: kind must be 'proportion' or 'rate', got {kind!r}.")
    for name, v in {"count_a": count_a, "count_b": count_b}.items():
        if v is None or v < 0 or int(v) != v:
            raise ValueError(f"{where}: {name} must be a non-negative whole number, got {v!r}.")
    count_a, count_b = int(count_a), int(count_b)
    ga, gb = group_labels
    row = dict.fromkeys(COUNTS_COLUMNS, np.nan)
    row.update(label=label, kind=kind, group_a=ga, group_b=gb, count_a=count_a, n_a=n_a,
               count_b=count_b, n_b=n_b, note="")
    if not (n_a > 0 and n_b > 0):
        row.update(test="none", caveat="",
                   note=_not_estimable({ga: n_a, gb: n_b}, f"both sets need at least one {unit}"
                                       if kind == "proportion" else "exposures must be positive"))
        return pd.DataFrame([row])

    if kind == "proportion":
        if int(n_a) != n_a or int(n_b) != n_b:
            raise ValueError(f"{where}: n_a and n_b must be whole numbers of {unit}.")
        n_a, n_b = int(n_a), int(n_b)
        if count_a > n_a or count_b > n_b:
            raise ValueError(f"{where}: a count exceeds its n ({count_a} of {n_a}, {count_b} of "
                             f"{n_b}); for event counts use kind='rate'.")
        table = np.array([[count_a, n_a - count_a], [count_b, n_b - count_b]])
        st = _scipy_stats()
        p = float(st.fisher_exact(table).pvalue)
        min_p = min(float(st.fisher_exact([[n_a, 0], [0, n_b]]).pvalue),
                    float(st.fisher_exact([[0, n_a], [n_b, 0]]).pvalue))
        est_a, est_b = count_a / n_a, count_b / n_b
        row.update(estimate_a=est_a, estimate_b=est_b, difference=est_a - est_b,
                   effect="odds ratio (conditional MLE)", p_exact=p, min_attainable_p=min_p,
                   test="Fisher exact (two-sided)")
        if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
            row["note"] = ("odds ratio undefined: all or none of the "
                           f"{n_a + n_b} {unit} have the feature; p = 1 by construction")
        else:
            orr = st.contingency.odds_ratio(table, kind="conditional")
            ci = orr.confidence_interval(0.95)
            row.update(effect_estimate=float(orr.statistic), ci_low=float(ci.low),
                       ci_high=float(ci.high))
        row["caveat"] = (
            f"Treats each of the {n_a + n_b} {unit} as one independent unit. With {n_a} vs "
            f"{n_b} {unit} the smallest p-value any result can reach is {min_p:.3f}, so a "
            f"non-significant result is expected even for real differences, and the {unit} "
            f"were not a random sample: the test describes these {unit}, not a population."
        )
        return pd.DataFrame([row])

    total = count_a + count_b
    share = n_a / (n_a + n_b)
    est_a, est_b = count_a / n_a, count_b / n_b
    row.update(estimate_a=est_a, estimate_b=est_b, difference=est_a - est_b,
               effect="rate ratio", test="exact conditional binomial test of equal rates")
    caveat = (
        f"Assumes each counted event is independent and that exposure is proportional to the "
        f"number of {unit} ({n_a:g} vs {n_b:g}). Neither is known to hold: events from the "
        f"same {unit} share one conversation and its participants (one talkative person can "
        f"give several), there are only {n_a + n_b:g} {unit}, and how much talk was coded in "
        "each is unknown. The p-value therefore overstates the evidence; it describes these "
        "coded counts, not students in general."
    )
    row["caveat"] = caveat
    if total == 0:
        row["note"] = _not_estimable({ga: count_a, gb: count_b}, "no events in either set")
        return pd.DataFrame([row])
    low, high = clopper_pearson(count_a, total)
    scale = n_b / n_a

    def ratio(pr: float) -> float:
        return np.inf if pr >= 1 else pr / (1 - pr) * scale

    min_p = min(binomial_test(0, total, share), binomial_test(total, total, share))
    row.update(effect_estimate=ratio(count_a / total), ci_low=ratio(low), ci_high=ratio(high),
               p_exact=binomial_test(count_a, total, share), min_attainable_p=min_p)
    if count_b == 0:
        row["note"] = f"no events in {gb}: rate ratio and its upper limit are infinite"
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- privacy
def small_cell_rule(min_cell: int, unit: str, marker: str = "‡") -> str:
    """The small-cell rule as stated under a table."""
    return f"Cells with fewer than {min_cell} {unit} are suppressed ({marker})."


def suppress_small_cells(
    table: pd.DataFrame,
    count_cols: Sequence[str],
    *,
    min_cell: int = 10,
    derived: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    complementary: Literal["none", "rows", "both"] = "rows",
    marker: str = "‡",
    unit: str = "students",
) -> tuple[pd.DataFrame, str]:
    """Replace counts below ``min_cell`` (zero included) with ``marker``.

    Parameters
    ----------
    count_cols : columns holding counts of ``unit``.
    derived : statistics computed from the counts that must be hidden with them: either a
        list (hidden in any row where a count is suppressed) or a mapping from a count column
        to its derived columns (e.g. ``{"n_a": ["mean_a", "sd_a"]}``).
    complementary : "rows" also suppresses the smallest remaining count in a row that would
        otherwise have exactly one suppressed cell (so it cannot be recovered from a row
        total); "both" repeats this over rows and columns until stable; "none" skips it.

    Returns ``(suppressed_table, statement)``; the statement is printed under the table,
    e.g. "Cells with fewer than 10 students are suppressed (‡)." Missing counts stay missing.
    """
    where = "suppress_small_cells"
    count_cols = list(count_cols)
    _require_columns(table, count_cols, where)
    if complementary not in ("none", "rows", "both"):
        raise ValueError(f"{where}: complementary must be 'none', 'rows' or 'both'.")
    counts = table[count_cols].apply(pd.to_numeric, errors="coerce")
    bad = table[count_cols].notna() & counts.isna()
    if bad.any().any():
        raise TypeError(f"{where}: non-numeric entries in count columns "
                        f"{[c for c in count_cols if bad[c].any()]}.")
    present = counts.notna().to_numpy()
    primary = (counts < min_cell).to_numpy() & present
    mask = primary.copy()
    values = counts.to_numpy(dtype=float)

    def complement(m: np.ndarray, axis_rows: bool) -> bool:
        changed = False
        grid = m if axis_rows else m.T
        vals = values if axis_rows else values.T
        pres = present if axis_rows else present.T
        for i in range(grid.shape[0]):
            if grid[i].sum() == 1 and pres[i].sum() >= 2:
                candidates = np.where(pres[i] & ~grid[i])[0]
                j = candidates[np.argmin(vals[i, candidates])]
                grid[i, j] = True
                changed = True
        return changed

    # a single count column still needs the column pass: its total is usually published
    if complementary != "none":
        while True:
            changed = complement(mask, True)
            if complementary == "both":
                changed = complement(mask, False) or changed
            if not changed or complementary == "rows":
                break

    out = table.copy()
    mask_df = pd.DataFrame(mask, index=table.index, columns=count_cols)
    if derived is None:
        derived_map: dict[str, list[str]] = {}
    elif isinstance(derived, Mapping):
        derived_map = {k: list(v) for k, v in derived.items()}
    else:
        derived_map = {"__any__": list(derived)}
    _require_columns(table, [c for cols in derived_map.values() for c in cols]
                     + [k for k in derived_map if k != "__any__"], where)
    targets: dict[str, pd.Series] = {c: mask_df[c] for c in count_cols}
    for key, cols in derived_map.items():
        rows = mask_df.any(axis=1) if key == "__any__" else mask_df[key]
        for c in cols:
            targets[c] = targets.get(c, pd.Series(False, index=table.index)) | rows
    for c, rows in targets.items():
        if rows.any():
            out[c] = out[c].astype(object)
            out.loc[rows, c] = marker
    statement = small_cell_rule(min_cell, unit, marker)
    n_secondary = int((mask & ~primary).sum())
    if n_secondary:
        statement += (f" {n_secondary} further cell{'s are' if n_secondary > 1 else ' is'} "
                      "suppressed so that suppressed cells cannot be recovered from totals.")
    return out, statement


# ------------------------------------------------------------------ families and rankings
ANCOVA_TEST_COLUMNS = ["F", "df_effect", "df_residual", "p", "partial_eta_squared", "n_clusters",
                       "F_cluster", "df_cluster", "p_cluster", "n_excluded_missing", "note"]


def ancova_family(data: pd.DataFrame, columns: Sequence[str], *, group: str, covariate: str,
                  levels: Sequence[Hashable], cluster: str, label_of: Mapping[str, str], unit: str,
                  min_n: int, correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """One wide row per rating: `ancova` of the rating on `group` (two `levels`) with
    `covariate`, the adjusted difference (first level minus second), and `correction` over the
    family of ratings, for the ordinary and the cluster-robust test alike."""
    rows = []
    for col in columns:
        res = ancova(data, col, group, covariate, cluster=cluster, levels=list(levels),
                     min_n=min_n).set_index("level")
        a, b = (res.loc[lv] for lv in levels)
        row = {"unit": unit, "variable": col, "label": label_of[col]}
        for lv, r in zip(levels, (a, b)):
            row |= {f"n_{lv}": int(r["n"]), f"mean_{lv}": r["mean"],
                    f"adjusted_mean_{lv}": r["adjusted_mean"]}
        row["difference_adjusted"] = a["adjusted_mean"] - b["adjusted_mean"]
        row |= {c: a[c] for c in ANCOVA_TEST_COLUMNS}
        rows.append(row)
    out = pd.DataFrame(rows).astype({"n_clusters": "Int64"})
    plain = multiple_comparison(out["p"].to_numpy(dtype=float), correction, alpha=alpha)
    clustered = multiple_comparison(out["p_cluster"].to_numpy(dtype=float), correction, alpha=alpha)
    out.insert(out.columns.get_loc("p") + 1, "p_adjusted", plain["p_adjusted"])
    out.insert(out.columns.get_loc("p_adjusted") + 1, "significant", plain["significant"])
    out["p_cluster_adjusted"] = clustered["p_adjusted"]
    out["significant_cluster"] = clustered["significant"]
    out["correction"] = plain["correction"]
    return out[[c for c in out.columns if c != "note"] + ["note"]]


def _one_sample_t(d: np.ndarray) -> float:
    """t of mean(d) = 0 (as scipy.stats.ttest_1samp; ttest_rel is this on the differences)."""
    return float(d.mean() / np.sqrt(d.var(ddof=1) / len(d)))


def paired_difference(data: pd.DataFrame, first: str, second: str) -> dict:
    """Paired t-test of `first` against `second` over the rows that have both (the test
    behind "X is rated below/above the next one"): n, t, df and two-sided p."""
    pair = data[[first, second]].dropna()
    t = _one_sample_t((pair[first] - pair[second]).to_numpy(dtype=float))
    return {"n": len(pair), "t": t, "df": len(pair) - 1, "p": float(t_two_sided_p(t, len(pair) - 1))}


def cluster_paired_gap(data: pd.DataFrame, low: str, high: str, cluster: str) -> tuple[float, float, int]:
    """Mean of `high - low` over clusters (each cluster's rows averaged first, so the test
    respects the nesting), its one-sample t-test p and the number of clusters."""
    diff = (data[high] - data[low]).groupby(data[cluster]).mean().dropna()
    if len(diff) < 2:
        return float("nan"), float("nan"), len(diff)
    p = float(t_two_sided_p(_one_sample_t(diff.to_numpy(dtype=float)), len(diff) - 1))
    return float(diff.mean()), p, len(diff)


def rank_by_mean(data: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """The means of `columns` over `data`, lowest first: the ranking behind "X is rated
    lowest"."""
    return data[list(columns)].mean().sort_values()


def gap_to_next(data: pd.DataFrame, ranked: Sequence[str], position: int = 0, *,
                cluster: str | None = None) -> dict:
    """The test behind "X holds this rank, apart from the next one": the variable at `position`
    of `ranked` (variables in rank order) against the next-ranked one. Without `cluster`, a
    paired t-test over the rows that have both (:func:`paired_difference`: n, t, df, p); with
    it, the mean within-cluster difference next minus variable over the clusters and its
    one-sample t-test (:func:`cluster_paired_gap`: gap, p, n_clusters)."""
    ranked = list(ranked)
    variable, following = ranked[position], ranked[position + 1]
    out = {"variable": variable, "next": following}
    if cluster is None:
        return out | paired_difference(data, variable, following)
    gap, p, n_clusters = cluster_paired_gap(data, variable, following, cluster)
    return out | {"gap": gap, "p": p, "n_clusters": n_clusters}
