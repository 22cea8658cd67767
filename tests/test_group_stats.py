"""Checks of lwo.group_stats against independent computations on small fixed data:
published textbook results, closed-form hand calculations, and scipy/statsmodels/numpy
computed separately from the code under test."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from lwo import group_stats as gs

# --------------------------------------------------------------------------- fixed data
# Field, Discovering Statistics (Viagra covariate example, ViagraCovariate.dat): libido by dose
# with partner's libido as covariate. Published: dose F(2, 26) = 4.14, p < .05, partial
# eta^2 = .24; covariate F(1, 26) = 4.96; adjusted means placebo 2.93, low 4.71, high 5.15.
VIAGRA = pd.DataFrame({
    "libido": [3, 2, 5, 2, 2, 2, 7, 2, 4, 7, 5, 3, 4, 4, 7, 5, 4,
               9, 2, 6, 3, 4, 4, 4, 6, 4, 6, 2, 8, 5],
    "partner": [4, 1, 5, 1, 2, 2, 7, 4, 5, 5, 3, 1, 2, 2, 6, 4, 2,
                1, 3, 5, 4, 3, 3, 2, 0, 1, 3, 0, 1, 0],
    "dose": ["placebo"] * 9 + ["low"] * 8 + ["high"] * 13,
})
VIAGRA[["libido", "partner"]] = VIAGRA[["libido", "partner"]].astype(float)

# Field, Discovering Statistics (cats trained to line-dance): reward x danced.
# Published: chi^2(1) = 25.36, p < .001; Cramér's V = .36.
CATS = pd.DataFrame({"yes": [28, 48], "no": [10, 114]}, index=["food", "affection"])

# R's t.test(ts1, ts2) (Welch) prints t = -1.8325, df = 17.9, p-value = 0.08356,
# 95 % CI -2.1469104 0.1469104.
TS1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9]
TS2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11]


def two_groups(x, y, a="Black", b="White") -> pd.DataFrame:
    return pd.DataFrame({"score": np.r_[x, y].astype(float),
                         "race": [a] * len(x) + [b] * len(y)})


def cr1_sandwich(X: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """CR1 cluster-robust covariance written out from its definition."""
    n, k = X.shape
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    u = y - X @ beta
    meat = np.zeros((k, k))
    labels = np.unique(clusters)
    for g in labels:
        s = X[clusters == g].T @ u[clusters == g]
        meat += np.outer(s, s)
    G = len(labels)
    return G / (G - 1) * (n - 1) / (n - k) * bread @ meat @ bread


# --------------------------------------------------------------------------- Welch t-test
def test_welch_matches_published_r_output():
    res = gs.welch_ttest(two_groups(TS1, TS2), "score", "race", groups=("Black", "White"))
    row = res.iloc[0]
    assert row["t"] == pytest.approx(-1.8325, abs=5e-5)
    assert row["df"] == pytest.approx(17.9, abs=0.05)
    assert row["p"] == pytest.approx(0.08356, abs=5e-6)
    assert row["ci_low"] == pytest.approx(-2.1469104, abs=1e-6)
    assert row["ci_high"] == pytest.approx(0.1469104, abs=1e-6)
    assert row["difference"] == pytest.approx(-1.0)
    assert row["note"] == ""


def test_welch_against_scipy_and_hand_satterthwaite():
    x = np.array([3.1, 4.7, 5.2, 2.8, 6.9, 4.4, 5.0])  # unequal n and variances
    y = np.array([5.9, 6.1, 7.8, 6.6, 5.2, 8.8, 7.1, 6.0, 9.4, 6.3, 7.7])
    row = gs.welch_ttest(two_groups(x, y), "score", "race").iloc[0]
    ref = st.ttest_ind(x, y, equal_var=False)
    assert row["t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert row["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    dof = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1))
    assert row["df"] == pytest.approx(dof, rel=1e-12)
    se = math.sqrt(va + vb)
    half = st.t.ppf(0.975, dof) * se
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (x.mean() - y.mean() - half, x.mean() - y.mean() + half), rel=1e-12)
    pooled = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1))
                       / (len(x) + len(y) - 2))
    d = (x.mean() - y.mean()) / pooled
    assert row["cohen_d"] == pytest.approx(d, rel=1e-12)  # signed: group a lower
    assert row["cohen_d"] < 0
    # Hedges' small-sample factor J = 1 - 3 / (4 (n_a + n_b) - 9)
    assert row["hedges_g"] == pytest.approx(d * (1 - 3 / (4 * (len(x) + len(y)) - 9)), rel=1e-12)
    assert (row["n_a"], row["n_b"]) == (7, 11)
    assert row["sd_a"] == pytest.approx(x.std(ddof=1))
    # and as pingouin computes them
    import pingouin as pg

    ref = pg.ttest(x, y, correction=True).iloc[0]
    assert (row["t"], row["df"], row["p"]) == pytest.approx((ref["T"], ref["dof"], ref["p_val"]), rel=1e-12)
    assert (row["cohen_d"], row["hedges_g"]) == pytest.approx(
        (pg.compute_effsize(x, y, eftype="cohen"), pg.compute_effsize(x, y, eftype="hedges")), rel=1e-12)


def test_welch_cluster_se_is_hand_cr1_sandwich():
    x = np.array([3.1, 4.7, 5.2, 2.8, 6.9, 4.4, 5.0, 3.3])
    y = np.array([5.9, 6.1, 7.8, 6.6, 5.2, 8.8, 7.1, 6.0, 9.4, 6.3])
    df = two_groups(x, y)
    df["classroom"] = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7]
    row = gs.welch_ttest(df, "score", "race", cluster="classroom").iloc[0]
    yv = df["score"].to_numpy()
    X = np.column_stack([np.ones(len(yv)), (df["race"] == "Black").to_numpy(float)])
    V = cr1_sandwich(X, yv, df["classroom"].to_numpy())
    se = math.sqrt(V[1, 1])
    assert row["se_cluster"] == pytest.approx(se, rel=1e-10)
    assert row["n_clusters"] == 7 and row["df_cluster"] == 6
    diff = x.mean() - y.mean()
    assert row["p_cluster"] == pytest.approx(2 * st.t.sf(abs(diff / se), 6), rel=1e-10)
    assert row["ci_high_cluster"] == pytest.approx(diff + st.t.ppf(0.975, 6) * se, rel=1e-10)


def test_welch_missing_values_are_listwise_and_counted():
    df = two_groups([1.0, 2.0, np.nan, 4.0], [2.0, 3.0, 5.0])
    df.loc[len(df)] = [9.0, None]  # unknown group
    df.loc[len(df)] = [9.0, "Asian"]  # another group: not compared, not "missing"
    row = gs.welch_ttest(df, "score", "race", groups=("Black", "White")).iloc[0]
    assert (row["n_a"], row["n_b"], row["n_excluded_missing"]) == (3, 3, 2)
    assert row["mean_a"] == pytest.approx(7 / 3)
    assert row["note"] == "2 rows excluded (missing data, listwise)"


# --------------------------------------------------------------------------- not estimable
@pytest.mark.parametrize(
    "x, y, expected",
    [
        ([5.0], [1.0, 2.0, 3.0], "not estimable: n = 1 (Black), 3 (White)"),
        ([], [1.0, 2.0, 3.0], "not estimable: n = 0 (Black), 3 (White)"),
        ([2.0, 2.0, 2.0], [3.0, 3.0], "constant within both groups"),
    ],
    ids=["n=1 group", "empty group", "constant values"],
)
def test_welch_not_estimable_rows(x, y, expected):
    res = gs.welch_ttest(two_groups(x, y), "score", "race", groups=("Black", "White"),
                         cluster=None)
    row = res.iloc[0]
    assert len(res) == 1
    assert row["note"].startswith("not estimable: n = ")
    assert expected in row["note"]
    assert np.isnan(row[["t", "df", "p", "difference", "ci_low", "cohen_d"]].astype(float)).all()
    if len(x) < 2:  # a group of one shows no mean: it would be that student's value
        assert np.isnan(row["mean_a"])


def test_many_welch_nonestimable_row_only_and_holm_by_hand():
    df = pd.DataFrame({
        "race": ["B"] * 6 + ["W"] * 6,
        "area1": [1, 2, 3, 2, 1, 2, 4, 5, 4, 5, 6, 5.0],
        "area2": [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3.0],  # constant: not estimable
        "area3": [2, 3, 4, 3, 2, 3, 3, 4, 3, 2, 4, 3.0],
    })
    res = gs.many_welch_ttests(df, ["area1", "area2", "area3"], "race", correction="holm")
    assert list(res["variable"]) == ["area1", "area2", "area3"]
    assert res.loc[1, "note"].startswith("not estimable: n = 6 (B), 6 (W)")
    assert np.isnan(res.loc[1, "p"]) and np.isnan(res.loc[1, "p_adjusted"])
    p1, p3 = res.loc[0, "p"], res.loc[2, "p"]
    lo, hi = sorted([p1, p3])
    # Holm with m = 2: smallest x 2, then max(previous, next x 1)
    holm = {lo: min(1, 2 * lo), hi: min(1, max(2 * lo, hi))}
    assert res.loc[0, "p_adjusted"] == pytest.approx(holm[p1])
    assert res.loc[2, "p_adjusted"] == pytest.approx(holm[p3])
    assert (res["correction"] == "Holm (m = 2)").all()
    assert (res["n_significant"] == int((res["p_adjusted"] < 0.05).sum())).all()
    assert res.loc[0, "significant"]


def test_multiple_comparison_by_hand():
    res = gs.multiple_comparison([0.01, 0.04, np.nan, 0.03], "holm")
    np.testing.assert_allclose(res["p_adjusted"], [0.03, 0.06, np.nan, 0.06])
    assert list(res["significant"]) == [True, False, False, False]
    bh = gs.multiple_comparison([0.01, 0.04, 0.03], "fdr_bh")
    np.testing.assert_allclose(bh["p_adjusted"], [0.03, 0.04, 0.04])  # p * m / rank, monotone
    assert bh.loc[0, "correction"] == "Benjamini-Hochberg FDR (m = 3)"
    with pytest.raises(ValueError, match="unknown method"):
        gs.multiple_comparison([0.1], "tukey")


# --------------------------------------------------------------------------- OLS
@pytest.fixture
def school_data() -> pd.DataFrame:
    rng = np.random.default_rng(20180)
    n = 60
    df = pd.DataFrame({
        "race": np.where(rng.random(n) < 0.45, "Black", "White"),
        "school": rng.choice(["A", "B", "C"], n),
        "grade": rng.choice([9, 10, 11], n),
        "prior": rng.normal(0, 1, n).round(2),
        "classroom": rng.integers(0, 12, n),
    })
    df["rating"] = (3 + 0.4 * (df["race"] == "Black") + 0.3 * (df["school"] == "B")
                    - 0.2 * (df["grade"] == 11) + 0.5 * df["prior"]
                    + rng.normal(0, 0.6, n)).round(2)
    return df


def test_ols_with_controls_matches_lstsq_and_hand_adjusted_means(school_data):
    df = school_data
    row = gs.ols_group_difference(df, "rating", "race", ["prior", "school", "grade"],
                                  categorical=["school", "grade"],
                                  groups=("Black", "White")).iloc[0]
    # design written out by hand: intercept, Black, prior, school B, C, grade 10, 11
    black = (df["race"] == "Black").to_numpy(float)
    X = np.column_stack([np.ones(len(df)), black, df["prior"],
                         df["school"] == "B", df["school"] == "C",
                         df["grade"] == 10, df["grade"] == 11]).astype(float)
    y = df["rating"].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    n, k = X.shape
    cov = resid @ resid / (n - k) * np.linalg.inv(X.T @ X)
    assert row["difference"] == pytest.approx(beta[1], rel=1e-10)
    assert row["se"] == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-10)
    assert row["df"] == n - k and row["n_parameters"] == k
    assert row["p"] == pytest.approx(2 * st.t.sf(abs(beta[1] / math.sqrt(cov[1, 1])), n - k))
    # adjusted means: prediction for each group with the other columns at their means
    xbar = X.mean(axis=0)
    for flag, col in [(1.0, "adjusted_mean_a"), (0.0, "adjusted_mean_b")]:
        L = xbar.copy()
        L[1] = flag
        assert row[col] == pytest.approx(L @ beta, rel=1e-10)
        assert row[col.replace("mean_", "mean_se_")] == pytest.approx(math.sqrt(L @ cov @ L))
    # ... which equals the average prediction over the sample (no interactions)
    X1, X0 = X.copy(), X.copy()
    X1[:, 1], X0[:, 1] = 1, 0
    assert row["adjusted_mean_a"] == pytest.approx((X1 @ beta).mean(), rel=1e-10)
    ya, yb = y[black == 1], y[black == 0]
    pooled = math.sqrt(((len(ya) - 1) * ya.var(ddof=1) + (len(yb) - 1) * yb.var(ddof=1))
                       / (len(y) - 2))
    assert row["standardized_difference"] == pytest.approx(beta[1] / pooled, rel=1e-10)
    assert (row["n_a"], row["n_b"]) == (len(ya), len(yb))
    # the same fit through statsmodels' formula interface
    sm_fit = smf.ols("rating ~ C(race, Treatment('White')) + prior + C(school) + C(grade)",
                     df).fit()
    assert row["difference"] == pytest.approx(sm_fit.params.iloc[1], rel=1e-10)


def test_ols_cluster_se_is_hand_cr1_sandwich(school_data):
    df = school_data
    row = gs.ols_group_difference(df, "rating", "race", ["prior", "school"],
                                  categorical=["school"], cluster="classroom",
                                  groups=("Black", "White")).iloc[0]
    X = np.column_stack([np.ones(len(df)), df["race"] == "Black", df["prior"],
                         df["school"] == "B", df["school"] == "C"]).astype(float)
    V = cr1_sandwich(X, df["rating"].to_numpy(), df["classroom"].to_numpy())
    G = df["classroom"].nunique()
    assert row["n_clusters"] == G and row["df_cluster"] == G - 1
    assert row["se_cluster"] == pytest.approx(math.sqrt(V[1, 1]), rel=1e-10)
    assert row["p_cluster"] == pytest.approx(
        2 * st.t.sf(abs(row["difference"]) / math.sqrt(V[1, 1]), G - 1), rel=1e-10)


def test_ols_recovers_a_known_difference():
    # parameter recovery: large simulated sample, true adjusted difference 0.5
    rng = np.random.default_rng(7)
    n = 4000
    school = rng.choice(["A", "B", "C", "D"], n)
    black = (rng.random(n) < np.where(school == "A", 0.7, 0.3)).astype(float)  # confounded
    y = 0.5 * black + np.select([school == "B", school == "C"], [1.0, -1.0], 0.0) \
        + rng.normal(0, 1, n)
    df = pd.DataFrame({"y": y, "race": np.where(black == 1, "Black", "White"),
                       "school": school})
    row = gs.ols_group_difference(df, "y", "race", ["school"], categorical=["school"],
                                  groups=("Black", "White")).iloc[0]
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert row["difference"] == pytest.approx(0.5, abs=0.08)


def test_ols_not_estimable_and_collinear_controls(school_data):
    df = school_data.copy()
    one = df[df["race"] == "White"].copy()
    one.loc[one.index[0], "race"] = "Black"
    row = gs.ols_group_difference(one, "rating", "race", ["prior"],
                                  groups=("Black", "White")).iloc[0]
    assert row["note"].startswith("not estimable: n = 1 (Black)")
    assert np.isnan(row["difference"]) and np.isnan(row["mean_a"])

    const = df.assign(rating=3.0)
    row = gs.ols_group_difference(const, "rating", "race", ["prior"]).iloc[0]
    assert "constant" in row["note"] and row["note"].startswith("not estimable: n = ")

    # every Black student in school A, every White student elsewhere: race = school contrast
    confounded = df.assign(school=np.where(df["race"] == "Black", "A", "B"))
    row = gs.ols_group_difference(confounded, "rating", "race", ["school"],
                                  categorical=["school"]).iloc[0]
    assert "collinear with the controls" in row["note"] and np.isnan(row["p"])

    # a duplicated control is dropped and named; the estimate is unchanged
    dup = df.assign(prior2=2 * df["prior"])
    base = gs.ols_group_difference(df, "rating", "race", ["prior"]).iloc[0]
    row = gs.ols_group_difference(dup, "rating", "race", ["prior", "prior2"]).iloc[0]
    assert "collinear control terms dropped: prior2" in row["note"]
    assert row["difference"] == pytest.approx(base["difference"], rel=1e-10)


def test_many_ols_adds_correction(school_data):
    df = school_data.assign(rating2=school_data["rating"] * -1 + 0.1 * school_data["prior"])
    res = gs.many_ols_group_differences(df, ["rating", "rating2"], "race", ["prior"],
                                        correction="bonferroni", cluster="classroom")
    np.testing.assert_allclose(res["p_adjusted"], np.minimum(1, 2 * res["p"]))
    np.testing.assert_allclose(res["p_cluster_adjusted"], np.minimum(1, 2 * res["p_cluster"]))
    assert (res["correction"] == "Bonferroni (m = 2)").all()


# --------------------------------------------------------------------------- chi-square
def test_chi_square_2x2_published_and_by_formula():
    res = gs.chi_square_counts(CATS, row_variable="reward", col_variable="danced")
    row = res.iloc[0]
    assert row["chi2"] == pytest.approx(25.36, abs=0.005)  # published value
    assert row["cramers_v"] == pytest.approx(0.356, abs=0.0005)
    obs = CATS.to_numpy(float)
    n = obs.sum()
    E = np.outer(obs.sum(1), obs.sum(0)) / n
    chi2 = ((obs - E) ** 2 / E).sum()
    assert row["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert row["p"] == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-9)  # chi2(1) tail
    assert row["cramers_v"] == pytest.approx(math.sqrt(chi2 / n), rel=1e-12)
    # in a 2x2 table every adjusted residual is +-sqrt(chi2)
    np.testing.assert_allclose(np.abs(res["adjusted_residual"]), math.sqrt(chi2), rtol=1e-12)
    assert res.set_index(["row_level", "col_level"]).loc[("food", "yes"), "adjusted_residual"] > 0
    np.testing.assert_allclose(res["expected"], E.ravel())
    assert row["dof"] == 1 and row["n"] == 200
    assert np.isnan(row["p_small_sample"]) and row["small_sample_method"].startswith("not needed")


def test_chi_square_2x3_from_raw_rows_by_hand():
    table = {("math", "short"): 10, ("math", "medium"): 20, ("math", "long"): 30,
             ("ELA", "short"): 25, ("ELA", "medium"): 15, ("ELA", "long"): 10}
    rows = [(s, d) for (s, d), k in table.items() for _ in range(k)]
    df = pd.DataFrame(rows, columns=["subject", "duration"])
    df.loc[len(df)] = ["math", None]  # listwise exclusion
    res = gs.chi_square_table(df, "subject", "duration")
    assert res["n_excluded_missing"].iloc[0] == 1
    obs = np.array([[10, 15, 25], [30, 20, 10]], float)  # ELA, math x long, medium, short
    rt, ct, n = obs.sum(1), obs.sum(0), obs.sum()
    E = np.outer(rt, ct) / n
    chi2 = ((obs - E) ** 2 / E).sum()
    adj = (obs - E) / np.sqrt(E * np.outer(1 - rt / n, 1 - ct / n))
    cells = res.set_index(["row_level", "col_level"])
    for i, r in enumerate(["ELA", "math"]):
        for j, c in enumerate(["long", "medium", "short"]):
            assert cells.loc[(r, c), "observed"] == obs[i, j]
            assert cells.loc[(r, c), "adjusted_residual"] == pytest.approx(adj[i, j], rel=1e-12)
    row = res.iloc[0]
    assert row["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert row["dof"] == 2
    assert row["p"] == pytest.approx(math.exp(-chi2 / 2), rel=1e-9)  # chi2(2) tail = e^(-x/2)
    assert row["cramers_v"] == pytest.approx(math.sqrt(chi2 / (n * 1)), rel=1e-12)
    # Bergsma (2013) bias correction, r = 2, c = 3
    phi2c = max(0, chi2 / n - 2 / (n - 1))
    rc, cc = 2 - 1 / (n - 1), 3 - 4 / (n - 1)
    assert row["cramers_v_bias_corrected"] == pytest.approx(
        math.sqrt(phi2c / (min(rc, cc) - 1)), rel=1e-12)
    assert cells.loc[("math", "long"), "residual_beyond_1_96"]
    assert cells.loc[("math", "long"), "row_percent"] == pytest.approx(50.0)


def test_chi_square_small_expected_uses_fisher():
    # Fisher's lady tasting tea: two-sided exact p = 34/70 (hypergeometric by hand)
    tea = pd.DataFrame({"milk": [3, 1], "tea": [1, 3]}, index=["milk", "tea"])
    row = gs.chi_square_counts(tea).iloc[0]
    probs = [math.comb(4, k) * math.comb(4, 4 - k) / math.comb(8, 4) for k in range(5)]
    p_hand = sum(p for p in probs if p <= probs[3] + 1e-12)
    assert p_hand == pytest.approx(34 / 70)
    assert row["p_small_sample"] == pytest.approx(p_hand, rel=1e-10)
    assert row["small_sample_method"] == "Fisher exact (two-sided)"
    assert row["n_cells_expected_below_min"] == 4
    assert "expected counts below 5" in row["note"]


def test_chi_square_small_expected_2x3_monte_carlo_near_exact_enumeration():
    obs = np.array([[4, 1, 0], [1, 3, 5]])
    res = gs.chi_square_counts(pd.DataFrame(obs, index=["x", "y"], columns=["a", "b", "c"]))
    # exact Fisher-Freeman-Halton by enumerating first rows with the observed margins
    r1, cols, n = obs[0].sum(), obs.sum(0), obs.sum()

    def prob(first):
        return math.prod(math.comb(c, k) for c, k in zip(cols, first)) / math.comb(n, r1)

    tables = [(a, b, r1 - a - b) for a in range(cols[0] + 1) for b in range(cols[1] + 1)
              if 0 <= r1 - a - b <= cols[2]]
    p_obs = prob(obs[0])
    p_exact = sum(prob(t) for t in tables if prob(t) <= p_obs * (1 + 1e-7))
    row = res.iloc[0]
    assert row["small_sample_method"].startswith("Fisher-Freeman-Halton, Monte Carlo")
    assert row["p_small_sample"] == pytest.approx(p_exact, abs=0.015)
    again = gs.chi_square_counts(pd.DataFrame(obs, index=["x", "y"], columns=["a", "b", "c"]))
    assert again.iloc[0]["p_small_sample"] == row["p_small_sample"]  # seeded: deterministic


def test_chi_square_not_estimable_with_one_level():
    df = pd.DataFrame({"subject": ["math"] * 5 + ["ELA"] * 4, "site": ["A"] * 9})
    res = gs.chi_square_table(df, "subject", "site")
    assert res["note"].str.startswith("not estimable: n = 9").all()
    assert res["chi2"].isna().all() and len(res) == 2
    empty = gs.chi_square_table(df.iloc[:0], "subject", "site")
    assert len(empty) == 1 and empty.iloc[0]["note"].startswith("not estimable: n = 0")


# --------------------------------------------------------------------------- ANCOVA
def test_ancova_matches_field_published_and_statsmodels():
    res = gs.ancova(VIAGRA, "libido", "dose", "partner").set_index("level")
    row = res.iloc[0]
    assert row["F"] == pytest.approx(4.14, abs=0.005)  # published F(2, 26) = 4.14
    assert (row["df_effect"], row["df_residual"]) == (2, 26)
    assert row["partial_eta_squared"] == pytest.approx(0.24, abs=0.005)
    published = {"placebo": 2.93, "low": 4.71, "high": 5.15}
    for level, m in published.items():
        assert res.loc[level, "adjusted_mean"] == pytest.approx(m, abs=0.005)
    # statsmodels type II table, fitted here independently
    fit = smf.ols("libido ~ C(dose) + partner", VIAGRA).fit()
    aov = anova_lm(fit, typ=2)
    assert row["F"] == pytest.approx(aov.loc["C(dose)", "F"], rel=1e-10)
    assert row["p"] == pytest.approx(aov.loc["C(dose)", "PR(>F)"], rel=1e-10)
    assert aov.loc["partner", "F"] == pytest.approx(4.96, abs=0.005)  # published covariate F
    # nested-model F by numpy: dose given the covariate
    y = VIAGRA["libido"].to_numpy()
    full = np.column_stack([np.ones(30), VIAGRA["dose"] == "low", VIAGRA["dose"] == "placebo",
                            VIAGRA["partner"]]).astype(float)
    reduced = full[:, [0, 3]]
    sse = [np.sum((y - M @ np.linalg.lstsq(M, y, rcond=None)[0]) ** 2) for M in (full, reduced)]
    f_hand = (sse[1] - sse[0]) / 2 / (sse[0] / 26)
    assert row["F"] == pytest.approx(f_hand, rel=1e-10)
    assert row["partial_eta_squared"] == pytest.approx((sse[1] - sse[0]) / sse[1], rel=1e-10)
    # adjusted means by the classical formula: mean_j - b_within (xbar_j - xbar)
    g = VIAGRA.groupby("dose")
    xc = VIAGRA["partner"] - g["partner"].transform("mean")
    yc = VIAGRA["libido"] - g["libido"].transform("mean")
    b_within = (xc * yc).sum() / (xc**2).sum()
    for level, grp in g:
        adj = grp["libido"].mean() - b_within * (grp["partner"].mean() - VIAGRA["partner"].mean())
        assert res.loc[level, "adjusted_mean"] == pytest.approx(adj, rel=1e-10)
        assert res.loc[level, "n"] == len(grp)
    assert (res["note"] == "").all()


def test_ancova_cluster_wald_f_by_hand():
    df = VIAGRA.assign(classroom=np.arange(30) % 10)
    res = gs.ancova(df, "libido", "dose", ["partner"], cluster="classroom")
    levels = ["high", "low", "placebo"]
    D = np.column_stack([df["dose"] == lv for lv in levels]).astype(float)
    X = np.column_stack([D, df["partner"] - df["partner"].mean()])
    y = df["libido"].to_numpy()
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    V = cr1_sandwich(X, y, df["classroom"].to_numpy())
    R = np.array([[1, -1, 0, 0], [1, 0, -1, 0]], float)
    Rb = R @ beta
    F = Rb @ np.linalg.solve(R @ V @ R.T, Rb) / 2
    row = res.iloc[0]
    assert row["F_cluster"] == pytest.approx(F, rel=1e-8)
    assert row["df_cluster"] == 9 and row["n_clusters"] == 10
    assert row["p_cluster"] == pytest.approx(st.f.sf(F, 2, 9), rel=1e-8)


def test_ancova_small_level_is_its_own_not_estimable_row():
    df = pd.concat([VIAGRA, pd.DataFrame({"libido": [6.0], "partner": [2.0], "dose": ["x"]})],
                   ignore_index=True)
    res = gs.ancova(df, "libido", "dose", "partner", levels=["placebo", "low", "high", "x",
                                                              "none"]).set_index("level")
    for lv, n in [("x", 1), ("none", 0)]:
        assert res.loc[lv, "note"].startswith("not estimable: n = 1 (x), 0 (none)")
        assert np.isnan(res.loc[lv, ["adjusted_mean", "F", "p", "mean"]].astype(float)).all()
        assert res.loc[lv, "n"] == n
    # the other levels are the published analysis, with the exclusion stated
    assert res.loc["low", "F"] == pytest.approx(4.14, abs=0.005)
    assert "levels excluded from the model" in res.loc["low", "note"]
    nothing = gs.ancova(VIAGRA.assign(partner=np.nan), "libido", "dose", "partner")
    assert len(nothing) == 1 and nothing.iloc[0]["note"].startswith("not estimable: n = 0")
    assert nothing.iloc[0]["n_excluded_missing"] == 30
    const = gs.ancova(VIAGRA.assign(libido=1.0), "libido", "dose", "partner")
    assert const["note"].str.startswith("not estimable: n = ").all()
    assert const["F"].isna().all()


# --------------------------------------------------------------------------- exact counts
def test_rate_comparison_exact_binomial_by_hand():
    row = gs.compare_counts(20, 4, 4, 4, label="relevance lacking", kind="rate",
                            group_labels=("all-Black", "mixed-race")).iloc[0]
    # given 24 remarks and equal exposure, X ~ Bin(24, 1/2); two-sided = 2 P(X >= 20)
    p_hand = 2 * sum(math.comb(24, k) for k in range(20, 25)) / 2**24
    assert p_hand == pytest.approx(0.0015439, abs=1e-7)
    assert row["p_exact"] == pytest.approx(p_hand, rel=1e-10)
    assert row["p_exact"] == pytest.approx(st.binomtest(20, 24, 0.5).pvalue, rel=1e-12)
    assert row["effect_estimate"] == pytest.approx(5.0)
    # exact CI: Clopper-Pearson limits for the share, mapped to a rate ratio
    lo = st.beta.ppf(0.025, 20, 5)
    hi = st.beta.ppf(0.975, 21, 4)
    assert row["ci_low"] == pytest.approx(lo / (1 - lo), rel=1e-8)
    assert row["ci_high"] == pytest.approx(hi / (1 - hi), rel=1e-8)
    assert row["min_attainable_p"] == pytest.approx(2 / 2**24)
    assert "there are only 8 groups" in row["caveat"] and "unknown" in row["caveat"]


def test_rate_comparison_unequal_exposure_and_zero():
    row = gs.compare_counts(6, 4, 3, 5, label="x", kind="rate").iloc[0]
    assert row["p_exact"] == pytest.approx(st.binomtest(6, 9, 4 / 9).pvalue, rel=1e-12)
    assert row["effect_estimate"] == pytest.approx((6 / 4) / (3 / 5))
    none = gs.compare_counts(0, 4, 0, 4, label="y", kind="rate").iloc[0]
    assert none["note"].startswith("not estimable: n = 0 (a), 0 (b)")
    assert np.isnan(none["p_exact"])


def test_fisher_k_of_n_groups_by_hand():
    row = gs.compare_counts(3, 4, 1, 4, label="tea", kind="proportion").iloc[0]
    assert row["p_exact"] == pytest.approx(34 / 70, rel=1e-10)
    assert row["effect_estimate"] == pytest.approx(6.408, abs=0.001)  # R fisher.test: 6.408309
    assert row["ci_low"] == pytest.approx(0.2117, abs=0.0001)
    assert row["min_attainable_p"] == pytest.approx(2 / 70)  # 4 of 4 vs 0 of 4
    assert "0.029" in row["caveat"]
    # published focus-group count: exclusion in 2 of 4 all-Black vs 1 of 4 mixed groups
    fg = gs.compare_counts(2, 4, 1, 4, label="exclusion", kind="proportion").iloc[0]
    assert fg["p_exact"] == pytest.approx(1.0)
    assert (fg["estimate_a"], fg["estimate_b"]) == (0.5, 0.25)
    with pytest.raises(ValueError, match="exceeds its n"):
        gs.compare_counts(20, 4, 4, 4, label="z", kind="proportion")


# --------------------------------------------------------------------------- suppression
def test_suppress_small_cells():
    t = pd.DataFrame({"site": ["A", "B", "C", "D"], "black": [5, 40, 12, np.nan],
                      "white": [30, 50, 0, 25], "pct_black": [14.3, 44.4, 100.0, np.nan]})
    out, statement = gs.suppress_small_cells(t, ["black", "white"], complementary="none",
                                             derived={"black": ["pct_black"]})
    assert list(out["black"].iloc[:3]) == ["‡", 40, 12] and np.isnan(out["black"].iloc[3])
    assert list(out["white"]) == [30, 50, "‡", 25]  # zero is a small cell too
    assert list(out["pct_black"].iloc[:3]) == ["‡", 44.4, 100.0]
    assert statement == "Cells with fewer than 10 students are suppressed (‡)."
    # complementary: row A (one small cell) loses its smallest other count too
    out, statement = gs.suppress_small_cells(t, ["black", "white"])
    assert list(out.loc[0, ["black", "white"]]) == ["‡", "‡"]
    assert list(out.loc[2, ["black", "white"]]) == ["‡", "‡"]
    assert "2 further cells are suppressed" in statement
    assert (t["black"].iloc[:3] == [5, 40, 12]).all()  # input untouched
    out, statement = gs.suppress_small_cells(t.iloc[[1]], ["black", "white"], min_cell=5)
    assert statement == "Cells with fewer than 5 students are suppressed (‡)."
    assert list(out.iloc[0]) == list(t.iloc[1])


def test_suppress_both_directions_leaves_no_single_hidden_cell():
    t = pd.DataFrame({"x": [50, 3, 40], "y": [60, 70, 80], "z": [20, 30, 45]})
    out, _ = gs.suppress_small_cells(t, ["x", "y", "z"], complementary="both")
    hidden = out[["x", "y", "z"]].eq("‡").to_numpy()
    assert hidden[1, 0]
    assert all(r.sum() != 1 for r in hidden) and all(c.sum() != 1 for c in hidden.T)


def test_suppress_single_count_column_hides_a_second_cell():
    # one column of counts whose total is published (e.g. a sample's race shares): a lone
    # hidden 9 would be the total minus the others, so the next smallest count goes too
    t = pd.DataFrame({"race": ["Black", "White", "Asian", "Other"], "n": [400, 330, 26, 9]})
    out, statement = gs.suppress_small_cells(t, ["n"], complementary="both")
    assert list(out["n"]) == [400, 330, "‡", "‡"]
    assert "1 further cell is suppressed" in statement
    out, _ = gs.suppress_small_cells(t, ["n"], complementary="rows")  # rows only: nothing to pair
    assert list(out["n"]) == [400, 330, 26, "‡"]


# --------------------------------------------------------------------------- bad input
def test_clear_errors_for_bad_input():
    df = two_groups([1.0, 2.0], [3.0, 4.0])
    with pytest.raises(KeyError, match="'scor'"):
        gs.welch_ttest(df, "scor", "race")
    with pytest.raises(TypeError, match="must be numeric"):
        gs.welch_ttest(df.assign(score=df["score"].astype(str)), "score", "race")
    three = pd.concat([df, two_groups([5.0], [], a="Asian")])
    with pytest.raises(ValueError, match="has 3 levels"):
        gs.welch_ttest(three, "score", "race")
    with pytest.raises(TypeError, match="categorical="):
        gs.ols_group_difference(df.assign(school=["A", "B", "A", "B"]), "score", "race",
                                ["school"])
    with pytest.raises(ValueError, match="non-negative whole number"):
        gs.compare_counts(-1, 4, 2, 4, label="bad", kind="rate")


def test_paired_difference_uses_complete_pairs_and_the_t_formula():
    from lwo.group_stats import paired_difference

    df = pd.DataFrame({"a": [1.0, 2.0, 4.0, 3.0, np.nan, 5.0], "b": [2.0, 2.5, 3.0, 5.0, 1.0, np.nan]})
    d = np.array([-1.0, -0.5, 1.0, -2.0])  # the four rows with both
    res = paired_difference(df, "a", "b")
    assert res["n"] == 4 and res["df"] == 3
    assert res["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / 2.0), rel=1e-12)
    from scipy.special import stdtr

    assert res["p"] == pytest.approx(2 * stdtr(3, -abs(res["t"])), rel=1e-9)


def test_cluster_paired_gap_averages_within_clusters_first():
    from lwo.group_stats import cluster_paired_gap

    # cluster x: gaps 1 and 3 (mean 2); cluster y: gap 4; cluster z: gap 0 -> cluster means 2, 4, 0
    df = pd.DataFrame({"low": [0.0, 0.0, 1.0, 2.0], "high": [1.0, 3.0, 5.0, 2.0], "c": ["x", "x", "y", "z"]})
    gap, p, g = cluster_paired_gap(df, "low", "high", "c")
    assert g == 3 and gap == pytest.approx(2.0)
    from scipy.special import stdtr

    t = 2.0 / (np.std([2.0, 4.0, 0.0], ddof=1) / np.sqrt(3))
    assert p == pytest.approx(2 * stdtr(2, -t), rel=1e-9)
    assert np.isnan(cluster_paired_gap(df[df["c"] == "x"], "low", "high", "c")[1])


def test_gap_to_next_tests_the_ranked_variable_against_the_next_one():
    from lwo.group_stats import gap_to_next, rank_by_mean

    df = pd.DataFrame({"a": [3.0, 2.0, 4.0, 3.5, 2.5], "b": [1.0, 2.0, 1.5, 2.0, 1.0],
                       "c": [2.0, 3.0, 2.0, 2.5, 1.5], "room": ["x", "x", "y", "y", "z"]})
    ranked = rank_by_mean(df, ["a", "b", "c"])
    assert list(ranked.index) == ["b", "c", "a"]  # means 1.5, 2.2, 3.0
    # lowest against the next: a paired t-test of b against c over the rows
    d = (df["b"] - df["c"]).to_numpy()
    res = gap_to_next(df, ranked.index)
    assert (res["variable"], res["next"], res["n"], res["df"]) == ("b", "c", 5, 4)
    assert res["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / np.sqrt(5)), rel=1e-12)
    # second against third, over the clusters' mean differences a - c: x 0, y 1.5, z 1
    res = gap_to_next(df, ranked.index, 1, cluster="room")
    assert (res["variable"], res["next"], res["n_clusters"]) == ("c", "a", 3)
    assert res["gap"] == pytest.approx(np.mean([0.0, 1.5, 1.0]))
    from scipy.special import stdtr

    means = np.array([0.0, 1.5, 1.0])
    t = means.mean() / (means.std(ddof=1) / np.sqrt(3))
    assert res["p"] == pytest.approx(2 * stdtr(2, -t), rel=1e-9)


# ------------------------------------------------- the numpy statistics against the libraries
# group_stats writes its tests out in numpy and scipy.special (an exhibit job that imported
# scipy.stats, statsmodels and pingouin spent most of its time importing them); these checks
# hold every formula to the library it replaces on balanced, unbalanced and clustered data.
TIGHT = dict(rtol=1e-10, atol=1e-12)


def clustered_data(seed: int, sizes: tuple[int, int], n_clusters: int) -> pd.DataFrame:
    """Two groups of unequal size spread unevenly over classrooms, a classroom effect, a
    numeric and a categorical control."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    classroom = rng.integers(0, n_clusters, n)
    effect = rng.normal(0, 0.5, n_clusters)[classroom]
    race = np.array(["Black"] * sizes[0] + ["White"] * sizes[1])
    rng.shuffle(race)
    prior = rng.normal(0, 1, n)
    grade = rng.choice(["9", "10", "11"], n, p=[0.5, 0.3, 0.2])
    score = (0.3 * (race == "Black") + 0.5 * prior + effect + (grade == "11") * 0.2
             + rng.normal(0, 1 + (race == "White"), n))
    return pd.DataFrame({"score": score, "race": race, "prior": prior, "grade": grade,
                         "classroom": classroom.astype(str),
                         "subject": rng.choice(["math", "ela", "science"], n, p=[0.2, 0.3, 0.5])})


DATA_SETS = [(1, (40, 40), 8), (2, (25, 90), 12), (3, (12, 200), 5), (4, (150, 31), 30)]


@pytest.mark.parametrize("seed,sizes,n_clusters", DATA_SETS)
def test_welch_and_its_cluster_columns_equal_pingouin_and_statsmodels(seed, sizes, n_clusters):
    import pingouin as pg

    df = clustered_data(seed, sizes, n_clusters)
    row = gs.welch_ttest(df, "score", "race", groups=("Black", "White"),
                         cluster="classroom").iloc[0]
    x = df.loc[df["race"] == "Black", "score"]
    y = df.loc[df["race"] == "White", "score"]
    ref = st.ttest_ind(x, y, equal_var=False)
    ci = ref.confidence_interval(0.95)
    np.testing.assert_allclose([row["t"], row["df"], row["p"], row["ci_low"], row["ci_high"]],
                               [ref.statistic, ref.df, ref.pvalue, ci.low, ci.high], **TIGHT)
    np.testing.assert_allclose([row["cohen_d"], row["hedges_g"]],
                               [pg.compute_effsize(x, y, eftype="cohen"),
                                pg.compute_effsize(x, y, eftype="hedges")], **TIGHT)
    fit = smf.ols("score ~ I((race == 'Black') * 1.0)", df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["classroom"], sort=True)[0]},
        use_t=True)
    np.testing.assert_allclose([row["se_cluster"], row["p_cluster"], row["ci_low_cluster"],
                                row["ci_high_cluster"]],
                               [fit.bse.iloc[1], fit.pvalues.iloc[1], *fit.conf_int().iloc[1]],
                               **TIGHT)


@pytest.mark.parametrize("seed,sizes,n_clusters", DATA_SETS)
def test_ols_group_difference_equals_statsmodels(seed, sizes, n_clusters):
    df = clustered_data(seed, sizes, n_clusters)
    row = gs.ols_group_difference(df, "score", "race", ["prior"], categorical=["grade"],
                                  cluster="classroom", groups=("Black", "White")).iloc[0]
    df = df.assign(black=(df["race"] == "Black") * 1.0)
    formula = "score ~ black + C(grade, Treatment('10')) + prior"
    plain = smf.ols(formula, df).fit()
    np.testing.assert_allclose(
        [row["difference"], row["se"], row["t"], row["p"], row["ci_low"], row["ci_high"],
         row["df"]],
        [plain.params["black"], plain.bse["black"], plain.tvalues["black"],
         plain.pvalues["black"], *plain.conf_int().loc["black"], plain.df_resid], **TIGHT)
    # least-squares means: every other column at its sample mean
    at_means = plain.model.exog.mean(axis=0)
    for group, value in (("a", 1.0), ("b", 0.0)):
        L = at_means.copy()
        L[plain.model.exog_names.index("black")] = value
        np.testing.assert_allclose(
            [row[f"adjusted_mean_{group}"], row[f"adjusted_mean_se_{group}"]],
            [L @ plain.params, np.sqrt(L @ plain.cov_params() @ L)], **TIGHT)
    clustered = smf.ols(formula, df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["classroom"], sort=True)[0]},
        use_t=True)
    np.testing.assert_allclose(
        [row["se_cluster"], row["p_cluster"], *[row["ci_low_cluster"], row["ci_high_cluster"]]],
        [clustered.bse["black"], clustered.pvalues["black"], *clustered.conf_int().loc["black"]],
        **TIGHT)


@pytest.mark.parametrize("covariates", [["prior"], ["prior", "noise"]])
@pytest.mark.parametrize("seed,sizes,n_clusters", DATA_SETS)
def test_ancova_equals_pingouin_and_the_cluster_f_statsmodels(seed, sizes, n_clusters, covariates):
    import warnings

    import pingouin as pg

    df = clustered_data(seed, sizes, n_clusters)
    df["noise"] = np.random.default_rng(seed + 100).normal(0, 1, len(df))
    res = gs.ancova(df, "score", "subject", covariates, cluster="classroom").iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aov = pg.ancova(data=df, dv="score", between="subject", covar=covariates)
    effect = aov.loc[aov["Source"] == "subject"].iloc[0]
    resid = aov.loc[aov["Source"] == "Residual"].iloc[0]
    np.testing.assert_allclose([res["F"], res["p"], res["partial_eta_squared"]],
                               [effect["F"], effect["p_unc"], effect["np2"]], **TIGHT)
    assert (res["df_effect"], res["df_residual"]) == (effect["DF"], resid["DF"])
    fit = smf.ols("score ~ 0 + C(subject) + " + " + ".join(covariates), df).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(df["classroom"], sort=True)[0]},
        use_t=True)
    R = np.zeros((2, len(fit.params)))
    R[:, 0] = 1.0
    R[[0, 1], [1, 2]] = -1.0
    ftest = fit.f_test(R)
    np.testing.assert_allclose([res["F_cluster"], res["df_cluster"], res["p_cluster"]],
                               [float(np.squeeze(ftest.fvalue)), ftest.df_denom, ftest.pvalue],
                               **TIGHT)


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh", "fdr_by"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_multiple_comparison_equals_statsmodels(method, seed):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(seed)
    p = np.round(rng.uniform(0, 0.2, 12) ** 2, 4)  # rounding makes ties
    p[[2, 7]] = p[5]
    out = gs.multiple_comparison(np.r_[p, np.nan], method)
    np.testing.assert_allclose(out["p_adjusted"].to_numpy()[:-1],
                               multipletests(p, method=method)[1], **TIGHT)
    assert np.isnan(out["p_adjusted"].iloc[-1])


@pytest.mark.parametrize("shape,seed", [((2, 2), 1), ((2, 3), 2), ((4, 3), 3), ((3, 5), 4)])
def test_chi_square_equals_scipy(shape, seed):
    obs = np.random.default_rng(seed).integers(5, 60, shape)
    out = gs.chi_square_counts(pd.DataFrame(obs)).iloc[0]
    ref = st.chi2_contingency(obs, correction=False)
    np.testing.assert_allclose([out["chi2"], out["p"]], [ref.statistic, ref.pvalue], **TIGHT)
    assert out["dof"] == ref.dof


def test_binomial_test_and_clopper_pearson_equal_scipy():
    for n in (1, 2, 7, 15, 28, 40, 101):
        for k in range(n + 1):
            for p in (0.5, 0.3, 2 / 3, 0.9):
                ref = st.binomtest(k, n, p)
                assert gs.binomial_test(k, n, p) == pytest.approx(ref.pvalue, rel=1e-12, abs=0)
            ci = ref.proportion_ci(0.95, method="exact")
            # scipy finds the limits by root search to 2e-12; here they are the beta quantiles
            np.testing.assert_allclose(gs.clopper_pearson(k, n), [ci.low, ci.high],
                                       rtol=0, atol=1e-11)


def test_t_helpers_and_paired_tests_equal_scipy():
    for df in (1, 2.5, 9, 17.9, 300):
        assert gs.t_quantile(0.975, df) == pytest.approx(st.t.ppf(0.975, df), rel=1e-13)
        assert gs.t_two_sided_p(-1.83, df) == pytest.approx(2 * st.t.sf(1.83, df), rel=1e-13)
    df = clustered_data(5, (60, 45), 9)
    df.loc[[3, 8], "prior"] = np.nan
    res = gs.paired_difference(df, "score", "prior")
    pair = df[["score", "prior"]].dropna()
    ref = st.ttest_rel(pair["score"], pair["prior"])
    np.testing.assert_allclose([res["t"], res["p"]], [ref.statistic, ref.pvalue], **TIGHT)
    gap, p, g = gs.cluster_paired_gap(df, "prior", "score", "classroom")
    diff = (df["score"] - df["prior"]).groupby(df["classroom"]).mean().dropna()
    assert (gap, g) == (pytest.approx(diff.mean(), rel=1e-12), len(diff))
    assert p == pytest.approx(st.ttest_1samp(diff, 0.0).pvalue, rel=1e-10)
