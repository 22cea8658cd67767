"""Tests of the SEM engine (lwo.sem) against lavaan's published results, simulated
truth and independent computations (statsmodels OLS, closed-form regression ML)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from semopy.examples import holzinger39, political_democracy

from lwo import sem
from textbook_models import HS_CFA, PD_SEM, lavaan_lrt




@pytest.fixture(scope="module")
def hs_data() -> pd.DataFrame:
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def pd_data() -> pd.DataFrame:
    return political_democracy.get_data()


@pytest.fixture(scope="module")
def hs_fit(hs_data):
    return sem.fit(HS_CFA, hs_data)


def row(fit, lhs, op, rhs, group=1):
    e = fit.estimates
    hit = e[(e.lhs == lhs) & (e.op == op) & (e.rhs == rhs) & (e.group == group)]
    assert len(hit) == 1, (lhs, op, rhs, group)
    return hit.iloc[0]


# --------------------------------------------------------------------------- lavaan
def test_holzinger_swineford_cfa_matches_lavaan(hs_fit):
    # lavaan tutorial, cfa(HS.model, data = HolzingerSwineford1939)
    fi = hs_fit.fit_indices
    assert hs_fit.converged
    assert fi["chisq"] == pytest.approx(85.306, abs=5e-4)
    assert fi["df"] == 24 and fi["npar"] == 21 and fi["nobs"] == 301
    assert fi["baseline.chisq"] == pytest.approx(918.852, abs=5e-4)
    assert fi["baseline.df"] == 36
    assert fi["cfi"] == pytest.approx(0.931, abs=5e-4)
    assert fi["tli"] == pytest.approx(0.896, abs=5e-4)
    assert fi["rmsea"] == pytest.approx(0.092, abs=5e-4)
    assert fi["rmsea.ci.lower"] == pytest.approx(0.071, abs=5e-4)
    assert fi["rmsea.ci.upper"] == pytest.approx(0.114, abs=5e-4)
    assert fi["rmsea.pvalue"] == pytest.approx(0.001, abs=5e-4)
    assert fi["srmr"] == pytest.approx(0.065, abs=5e-4)
    assert fi["logl"] == pytest.approx(-3737.745, abs=5e-4)
    assert fi["unrestricted.logl"] == pytest.approx(-3695.092, abs=5e-4)
    assert fi["aic"] == pytest.approx(7517.490, abs=5e-4)
    assert fi["bic"] == pytest.approx(7595.339, abs=5e-4)
    assert fi["bic2"] == pytest.approx(7528.739, abs=5e-4)
    published = {  # indicator: (estimate, SE, std.all)
        "x2": ("visual", 0.554, 0.100, 0.424),
        "x3": ("visual", 0.729, 0.109, 0.581),
        "x5": ("textual", 1.113, 0.065, 0.855),
        "x6": ("textual", 0.926, 0.055, 0.838),
        "x8": ("speed", 1.180, 0.165, 0.723),
        "x9": ("speed", 1.082, 0.151, 0.665),
    }
    for indicator, (factor, est, se, std) in published.items():
        r = row(hs_fit, factor, "=~", indicator)
        assert r["est"] == pytest.approx(est, abs=5e-4)
        assert r["se"] == pytest.approx(se, abs=5e-4)
        assert r["std.all"] == pytest.approx(std, abs=5e-4)
    r = row(hs_fit, "visual", "~~", "textual")
    assert (r["est"], r["se"], r["std.all"]) == pytest.approx((0.408, 0.074, 0.459), abs=5e-4)
    r = row(hs_fit, "x1", "~~", "x1")
    assert (r["est"], r["se"], r["std.all"]) == pytest.approx((0.549, 0.114, 0.404), abs=5e-4)
    marker = row(hs_fit, "visual", "=~", "x1")
    assert marker["est"] == 1.0 and marker["se"] == 0.0 and math.isnan(marker["z"])


def test_estimates_table_has_lavaan_columns(hs_fit):
    required = ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.all"]
    assert list(hs_fit.estimates.columns[: len(required)]) == required
    r = row(hs_fit, "textual", "=~", "x5")
    assert r["ci.lower"] == pytest.approx(r["est"] - 1.959964 * r["se"], rel=1e-6)
    assert r["pvalue"] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(r["z"]) / math.sqrt(2)))), abs=1e-12)
    assert hs_fit.vcov.shape == (21, 21)
    assert hs_fit.vcov.loc["visual=~x2", "visual=~x2"] == pytest.approx(r_se(hs_fit, "visual", "x2") ** 2)


def r_se(fit, factor, indicator):
    return row(fit, factor, "=~", indicator)["se"]


def test_political_democracy_matches_lavaan(pd_data):
    fit = sem.fit(PD_SEM, pd_data)
    fi = fit.fit_indices
    assert fi["chisq"] == pytest.approx(38.125, abs=5e-4)
    assert fi["df"] == 35 and fi["npar"] == 31
    assert fi["pvalue"] == pytest.approx(0.329, abs=5e-4)
    # lavaan tutorial: summary(fit, standardized = TRUE)
    checks = [
        ("dem60", "~", "ind60", 1.483, 0.399, 0.447),
        ("dem65", "~", "ind60", 0.572, 0.221, 0.182),
        ("dem65", "~", "dem60", 0.837, 0.098, 0.885),
        ("dem60", "=~", "y2", 1.257, 0.182, 0.717),
        ("y2", "~~", "y6", 2.153, 0.734, 0.356),  # residual correlation
        ("y4", "~~", "y8", 0.348, 0.442, 0.109),
        ("dem65", "~~", "dem65", 0.172, 0.215, 0.039),  # 1 - R^2
    ]
    for lhs, op, rhs, est, se, std in checks:
        r = row(fit, lhs, op, rhs)
        assert (r["est"], r["se"], r["std.all"]) == pytest.approx((est, se, std), abs=5e-4), (lhs, op, rhs)


def test_full_precision_against_stored_lavaan_estimates(pd_data):
    # semopy ships lavaan's full-precision estimates for the model without y4 ~~ y8
    spec = PD_SEM.replace("y4 ~~ y8\n", "")
    fit = sem.fit(spec, pd_data)
    ref = political_democracy.get_params()
    merged = fit.estimates.merge(ref, left_on=["lhs", "op", "rhs"], right_on=["lval", "op", "rval"])
    assert len(merged) == len(ref) == 33
    # lavaan itself stops at about this precision
    assert np.max(np.abs(merged["est"] - merged["Estimate"])) < 2e-5


def test_multigroup_invariance_matches_lavaan(hs_data):
    table = sem.invariance(HS_CFA, hs_data, "school")
    assert list(table.index) == ["configural", "metric", "scalar"]
    expected = {"configural": (115.851, 48), "metric": (124.044, 54), "scalar": (164.103, 60)}
    for level, (chisq, df) in expected.items():
        assert table.loc[level, "chisq"] == pytest.approx(chisq, abs=5e-4)
        assert table.loc[level, "df"] == df
    # lavaan: anova(fit.configural, fit.metric, fit.scalar)
    assert table.loc["metric", "chisq.diff"] == pytest.approx(8.192, abs=5e-4)
    assert table.loc["metric", "df.diff"] == 6
    assert table.loc["metric", "pvalue.diff"] == pytest.approx(0.2244, abs=5e-5)
    assert table.loc["scalar", "chisq.diff"] == pytest.approx(40.059, abs=5e-4)
    assert table.loc["scalar", "pvalue.diff"] == pytest.approx(4.435e-07, rel=1e-3)
    assert table.loc["configural", "cfi"] == pytest.approx(0.923, abs=5e-4)
    assert table.loc["configural", "rmsea"] == pytest.approx(0.097, abs=5e-4)  # sqrt(G) factor
    assert table.loc["configural", "srmr"] == pytest.approx(0.068, abs=5e-4)
    assert table.loc["scalar", "cfi.diff"] < -0.01  # scalar invariance rejected by CFI too


def test_scalar_model_frees_latent_means_in_second_group(hs_data):
    fit = sem.fit(HS_CFA, hs_data, group="school", group_equal=["loadings", "intercepts"])
    assert fit.group_labels == ["Pasteur", "Grant-White"]
    # lavaan tutorial (group.equal = c("loadings", "intercepts")): latent means, group 2
    for factor, est, se in [("visual", -0.148, 0.122), ("textual", 0.576, 0.117), ("speed", -0.177, 0.090)]:
        r = row(fit, factor, "~1", "", group=2)
        assert (r["est"], r["se"]) == pytest.approx((est, se), abs=5e-4)
        assert row(fit, factor, "~1", "", group=1)["est"] == 0.0
    assert row(fit, "x3", "~1", "", 1)["est"] == row(fit, "x3", "~1", "", 2)["est"]


def test_shared_labels_are_equality_constraints(hs_data):
    configural = sem.fit(HS_CFA, hs_data, group="school")
    # plain labels apply to every group: same as group.equal = "loadings"
    labelled = sem.fit(
        "visual =~ x1 + a*x2 + b*x3\ntextual =~ x4 + c*x5 + d*x6\nspeed =~ x7 + e*x8 + f*x9", hs_data, group="school"
    )
    assert labelled.fit_indices["chisq"] == pytest.approx(124.044, abs=5e-4)
    assert labelled.fit_indices["df"] == 54
    assert row(labelled, "visual", "=~", "x2", 1)["est"] == row(labelled, "visual", "=~", "x2", 2)["est"]
    # one equality with c(l, l); distinct labels c(l1, l2) leave it free
    one = sem.fit(HS_CFA.replace("x1 + x2", "x1 + c(l2, l2)*x2"), hs_data, group="school")
    free = sem.fit(HS_CFA.replace("x1 + x2", "x1 + c(l2a, l2b)*x2"), hs_data, group="school")
    assert free.fit_indices["chisq"] == pytest.approx(configural.fit_indices["chisq"], abs=1e-8)
    assert one.fit_indices["df"] == configural.fit_indices["df"] + 1
    test = sem.lr_test(one, configural)
    # lavaan's lavTestLRT(one, configural) on the same data (tests/lavaan/lrt/lrt.R)
    lavaan = lavaan_lrt("holzinger_swineford")
    assert test["df_diff"] == lavaan["df_diff"] == 1
    assert test["chisq_diff"] == pytest.approx(lavaan["chisq_diff"], rel=1e-4)
    assert test["pvalue"] == pytest.approx(lavaan["pvalue"], rel=1e-4)
    with pytest.raises(ValueError, match="degrees of freedom"):
        sem.lr_test(configural, one)
    # '==' between labels is the same constraint
    eq = sem.fit(HS_CFA.replace("x1 + x2", "x1 + c(u, v)*x2") + "u == v", hs_data, group="school")
    assert eq.fit_indices["chisq"] == pytest.approx(one.fit_indices["chisq"], abs=1e-8)
    assert eq.fit_indices["df"] == one.fit_indices["df"]


def test_spec_full_refits_to_the_same_numbers(hs_data, pd_data):
    cases = [
        (PD_SEM, pd_data, {}),
        (HS_CFA, hs_data, {"group": "school", "group_equal": ["loadings", "intercepts"]}),
        (
            "f =~ x1 + x2 + x3\ny1 ~ f + x4\ny2 ~ f + x4\ny3 ~ y1 + x4",
            hs_data.rename(columns={"x7": "y1", "x8": "y2", "x9": "y3"}),
            {},
        ),
        # fixed in one group and labelled in both (lavaan's repeated-element form), a label shared
        # across groups, and a defined parameter that uses the fixed element's label
        (
            "visual =~ x1 + c(0.6, NA)*x2 + c(fx, l2)*x2 + x3\ntextual =~ x4 + x5 + x6\n"
            "visual ~~ c(v1, v1)*visual\nd := 2*l2",
            hs_data,
            {"group": "school"},
        ),
    ]
    for spec, data, kwargs in cases:
        first = sem.fit(spec, data, **kwargs)
        again = sem.fit(first.spec_full, data, group=kwargs.get("group"))
        assert again.fit_indices["df"] == first.fit_indices["df"]
        assert again.fit_indices["chisq"] == pytest.approx(first.fit_indices["chisq"], abs=1e-7)
        a = first.estimates.set_index(["lhs", "op", "rhs", "group"])["est"]
        b = again.estimates.set_index(["lhs", "op", "rhs", "group"])["est"]
        assert np.allclose(a.sort_index(), b.reindex(a.sort_index().index), atol=1e-6)


def test_lavaan_default_parameters(hs_data):
    data = hs_data.rename(columns={"x7": "y1", "x8": "y2", "x9": "y3", "ageyr": "age"})
    spec = "f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\nm ~ f + age\ny1 ~ m + f + age\ny2 ~ m + g\nm =~ y3"
    fit = sem.fit(spec, data)
    keys = set(zip(fit.estimates.lhs, fit.estimates.op, fit.estimates.rhs))
    free = {(r.lhs, r.op, r.rhs) for r in fit.estimates.itertuples() if r.free > 0}
    # residual covariance between the two pure outcomes (observed) is free ...
    assert ("y1", "~~", "y2") in free
    # ... but not for the mediator m (it predicts something)
    assert not any(k for k in keys if k[1] == "~~" and "m" in (k[0], k[2]) and k[0] != k[2])
    # exogenous latent covariance free; latent and observed covariate uncorrelated (lavaan auto.cov.x = FALSE)
    assert ("f", "~~", "g") in free
    assert not any(k for k in keys if k[1] == "~~" and {"f", "age"} == {k[0], k[2]})
    # covariate variance fixed at its sample value, not counted
    age = row(fit, "age", "~~", "age")
    assert age["free"] == 0 and age["exo"] == 1
    assert age["est"] == pytest.approx(data["age"].var(ddof=0))
    # single indicator: residual variance fixed to 0
    assert row(fit, "y3", "~~", "y3")["est"] == 0.0 and row(fit, "y3", "~~", "y3")["free"] == 0
    # first loading fixed unless freed with NA*
    assert row(fit, "f", "=~", "x1")["free"] == 0
    std_lv = sem.fit("f =~ NA*x1 + x2 + x3\nf ~~ 1*f", hs_data)
    assert row(std_lv, "f", "=~", "x1")["free"] > 0
    one_fixed = sem.fit("f =~ x1 + x2 + x3", hs_data)
    std_x2 = row(one_fixed, "f", "=~", "x2")["std.all"]
    assert row(std_lv, "f", "=~", "x2")["std.all"] == pytest.approx(std_x2, abs=1e-7)
    assert std_lv.fit_indices["chisq"] == pytest.approx(one_fixed.fit_indices["chisq"], abs=1e-7)
    assert "y1 ~~ y2" in fit.spec_full and "age ~~" not in fit.spec_full


@pytest.mark.parametrize(
    "spec,kwargs",
    [
        (PD_SEM, {}),
        (HS_CFA, {"group": "school", "group_equal": ["loadings", "intercepts"]}),  # structured means
        ("f =~ x1 + x2 + x3\ng =~ x4 + x5 + x6\ng ~ f + ageyr\nx7 ~ g + ageyr\nf ~ 1\nx1 ~ 0*1", {}),
    ],
)
def test_analytic_derivatives_match_finite_differences(spec, kwargs, hs_data, pd_data):
    data = pd_data if "ind60" in spec else hs_data
    fit = sem.fit(spec, data, **kwargs)
    model = fit._model
    theta = fit._theta + 0.02 * np.random.default_rng(3).standard_normal(fit._theta.size)  # off the optimum
    f, grad, info, hess = model.evaluate(theta, want_hess=True)
    h = 1e-6
    eye = np.eye(theta.size)
    num_grad = np.array([(model.objective(theta + h * e) - model.objective(theta - h * e)) / (2 * h) for e in eye])
    num_hess = np.array([(model.gradient(theta + h * e) - model.gradient(theta - h * e)) / (2 * h) for e in eye])
    assert np.max(np.abs(num_grad - grad)) < 1e-6 * max(1.0, np.abs(grad).max())
    assert np.max(np.abs(num_hess - hess)) < 1e-5 * max(1.0, np.abs(hess).max())
    # the expected information is symmetric positive definite
    assert np.allclose(info, info.T) and np.all(np.linalg.eigvalsh(info) > 0)


# ------------------------------------------------------------ independent checks
def simulate_clustered_regression(n_clusters: int, size: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(n_clusters), size)
    shared = rng.normal(size=n_clusters)[cluster]
    x1 = rng.normal(size=cluster.size) + shared
    x2 = rng.normal(size=cluster.size) + 0.5 * rng.normal(size=n_clusters)[cluster]
    y = 0.5 * x1 - 0.3 * x2 + shared + rng.normal(size=cluster.size)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "classroom": cluster})


@pytest.fixture(scope="module")
def clustered_regression():
    return simulate_clustered_regression(30, 40)


def test_regression_with_fixed_covariates_equals_ols(clustered_regression):
    d = clustered_regression
    fit = sem.fit("y ~ x1 + x2", d)
    ols = sm.OLS(d.y, sm.add_constant(d[["x1", "x2"]])).fit()
    n, k = len(d), 3
    fi = fit.fit_indices
    # covariate moments are fixed (fixed.x): 3 free parameters, saturated model
    assert fi["npar"] == 3 and fi["df"] == 0 and fi["chisq"] == pytest.approx(0, abs=1e-9)
    # conditional log-likelihood equals OLS's; baseline chi-square = -N log(1 - R^2)
    assert fi["logl"] == pytest.approx(ols.llf, abs=1e-7)
    assert fi["baseline.chisq"] == pytest.approx(-n * math.log(1 - ols.rsquared), rel=1e-10)
    assert fi["baseline.df"] == 2
    for x in ("x1", "x2"):
        r = row(fit, "y", "~", x)
        assert r["est"] == pytest.approx(ols.params[x], rel=1e-9)
        assert r["se"] == pytest.approx(ols.bse[x] * math.sqrt((n - k) / n), rel=1e-8)  # ML uses N
        assert r["std.all"] == pytest.approx(ols.params[x] * d[x].std() / d.y.std(), rel=1e-9)
    assert row(fit, "y", "~~", "y")["std.all"] == pytest.approx(1 - ols.rsquared, rel=1e-9)


@pytest.mark.parametrize("n_clusters,size", [(30, 40), (400, 2)])  # few large / many small clusters
def test_cluster_robust_se_equals_statsmodels(n_clusters, size):
    d = simulate_clustered_regression(n_clusters, size)
    fit = sem.fit("y ~ x1 + x2", d, cluster="classroom", meanstructure=True)
    ols = sm.OLS(d.y, sm.add_constant(d[["x1", "x2"]])).fit(cov_type="cluster", cov_kwds={"groups": d.classroom})
    n, k = len(d), 3
    # statsmodels' CR1 factor is G/(G-1) * (N-1)/(N-K); lavaan's is G/(G-1) only
    factor = math.sqrt((n - 1) / (n - k))
    for x, name in (("x1", "x1"), ("x2", "x2")):
        r = row(fit, "y", "~", x)
        assert r["se.cluster"] == pytest.approx(ols.bse[name] / factor, rel=1e-8)
        assert r["pvalue.cluster"] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(r["z.cluster"]) / math.sqrt(2)))))
        if size > 2:
            assert r["se.cluster"] > 1.5 * r["se"]  # clustering matters here
    assert row(fit, "y", "~1", "")["se.cluster"] == pytest.approx(ols.bse["const"] / factor, rel=1e-8)
    # without a mean structure the slope SEs are the same
    no_means = sem.fit("y ~ x1 + x2", d, cluster="classroom")
    with_means = row(fit, "y", "~", "x1")["se.cluster"]
    assert row(no_means, "y", "~", "x1")["se.cluster"] == pytest.approx(with_means, rel=1e-8)


def test_cluster_robust_se_in_a_two_group_model():
    # clusters nested in groups, free parameters per group: each group's block equals
    # that group's own clustered OLS (factor G_g / (G_g - 1) per group, as lavaan)
    d = simulate_clustered_regression(40, 25, seed=8)
    d["half"] = np.where(d.classroom < 16, "first", "second")
    fit = sem.fit("y ~ x1 + x2", d, group="half", cluster="classroom", crossed_clusters=False)
    # the default counts clusters over all groups: nested clusters change only G/(G-1)
    crossed = sem.fit("y ~ x1 + x2", d, group="half", cluster="classroom")
    ratio = crossed.estimates["se.cluster"] / fit.estimates["se.cluster"]
    for g, label in enumerate(fit.group_labels, start=1):
        ncl = d.classroom[d.half == label].nunique()
        free = (fit.estimates.free > 0) & (fit.estimates.group == g)
        assert np.allclose(ratio[free], math.sqrt((40 / 39) / (ncl / (ncl - 1))), rtol=1e-9)
    for g, label in enumerate(fit.group_labels, start=1):
        part = d[d.half == label]
        ols = sm.OLS(part.y, sm.add_constant(part[["x1", "x2"]])).fit(
            cov_type="cluster", cov_kwds={"groups": part.classroom}
        )
        factor = math.sqrt((len(part) - 1) / (len(part) - 3))
        assert row(fit, "y", "~", "x1", g)["se.cluster"] == pytest.approx(ols.bse["x1"] / factor, rel=1e-7)
        assert row(fit, "y", "~", "x1", g)["est"] == pytest.approx(ols.params["x1"], rel=1e-9)


def test_casewise_sandwich_matches_ml_se_for_a_correct_latent_model():
    # one 'cluster' per row = Huber-White sandwich; for multivariate-normal data from
    # the fitted model it converges to the ML SEs (a wrong score would not)
    rng = np.random.default_rng(11)
    n = 20000
    f = rng.normal(size=n)
    g = 0.5 * f + rng.normal(scale=0.8, size=n)
    d = pd.DataFrame({f"a{k}": lam * f + rng.normal(scale=0.6, size=n) for k, lam in enumerate([1, 0.8, 0.7], 1)})
    for k, lam in enumerate([1, 0.9, 0.6], 1):
        d[f"b{k}"] = lam * g + rng.normal(scale=0.6, size=n)
    d["id"] = np.arange(n)
    fit = sem.fit("F =~ a1 + a2 + a3\nG =~ b1 + b2 + b3\nG ~ F", d, cluster="id", cluster_information="expected")
    free = fit.estimates[fit.estimates.free > 0]
    ratio = free["se.cluster"] / free["se"]
    assert np.all(np.abs(ratio - 1) < 0.06), ratio.round(3).tolist()


SIM_SPEC = """
X =~ x1 + x2 + x3 + x4
M =~ m1 + m2 + m3 + m4
X ~ c1 + c2
M ~ a*X + c1 + c2
y ~ b*M + cp*X + c1 + c2
ind := a*b
"""

# population values; every latent variable and y has total variance 1, so the
# standardized paths are the raw ones (times sd(c2) = 0.5 for the binary covariate)
POPULATION_STD = {
    ("X", "~", "c1"): 0.3,
    ("X", "~", "c2"): 0.2,
    ("M", "~", "X"): 0.5,
    ("M", "~", "c1"): 0.2,
    ("M", "~", "c2"): 0.0,
    ("y", "~", "M"): 0.4,
    ("y", "~", "X"): 0.2,
    ("y", "~", "c1"): 0.0,
    ("y", "~", "c2"): 0.15,
    ("X", "=~", "x1"): 0.8,
    ("X", "=~", "x2"): 0.7,
    ("X", "=~", "x3"): 0.75,
    ("X", "=~", "x4"): 0.6,
    ("M", "=~", "m1"): 0.85,
    ("M", "=~", "m2"): 0.7,
    ("M", "=~", "m3"): 0.65,
    ("M", "=~", "m4"): 0.75,
}


def simulate_mediation(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c1 = rng.normal(size=n)
    c2 = rng.integers(0, 2, size=n).astype(float)
    x = 0.3 * c1 + 0.4 * c2 + rng.normal(scale=math.sqrt(0.87), size=n)
    m = 0.5 * x + 0.2 * c1 + rng.normal(scale=math.sqrt(0.65), size=n)
    y = 0.4 * m + 0.2 * x + 0.3 * c2 + rng.normal(scale=math.sqrt(1 - 0.3361), size=n)
    data = {"c1": c1, "c2": c2, "y": y}
    for name, latent in (("x", x), ("m", m)):
        for k in range(1, 5):
            lam = POPULATION_STD[(name.upper(), "=~", f"{name}{k}")]
            data[f"{name}{k}"] = lam * latent + rng.normal(scale=math.sqrt(1 - lam**2), size=n)
    return pd.DataFrame(data)


def test_parameter_recovery_at_large_n():
    fit = sem.fit(SIM_SPEC, simulate_mediation(50_000, seed=2024))
    assert fit.converged
    errors = {k: abs(row(fit, *k)["std.all"] - v) for k, v in POPULATION_STD.items()}
    assert max(errors.values()) < 0.02, errors
    assert np.mean(list(errors.values())) < 0.006  # typical error ~ 1/sqrt(N)
    std_ind = sem.defined(fit, "ind", "a*b", standardized=True)
    assert std_ind["est"] == pytest.approx(0.5 * 0.4, abs=0.02)
    assert std_ind["ci.lower"] < 0.2 < std_ind["ci.upper"]
    # unstandardized a*b in the marker metric: a = 0.5 * 0.85 / 0.8, b = 0.4 / 0.85
    raw = sem.defined(fit, "ind", "a*b")
    assert abs(raw["est"] - 0.25) < 3 * raw["se"]
    # the spec's ':=' row equals defined()
    spec_row = row(fit, "ind", ":=", "a*b", group=0)
    assert spec_row["est"] == pytest.approx(raw["est"]) and spec_row["se"] == pytest.approx(raw["se"])
    assert spec_row["std.all"] == pytest.approx(std_ind["est"])
    share = sem.defined(fit, "share", "a*b/(a*b + cp)", standardized=True)
    assert share["est"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.slow
def test_delta_method_se_agrees_with_bootstrap():
    data = simulate_mediation(1000, seed=7)
    fit = sem.fit(SIM_SPEC, data)
    delta = sem.defined(fit, "ind", "a*b")
    rng = np.random.default_rng(99)
    draws = []
    for _ in range(200):
        sample = data.iloc[rng.integers(0, len(data), len(data))]
        boot = sem.fit(SIM_SPEC, sample)
        assert boot.converged
        draws.append(sem.defined(boot, "ind", "a*b")["est"])
    boot_se = np.std(draws, ddof=1)
    assert delta["se"] == pytest.approx(boot_se, rel=0.15)


# ------------------------------------------------------------------ failures
def test_non_convergence_is_reported_not_hidden(hs_data):
    capped = sem.fit(HS_CFA, hs_data, max_iter=1)
    assert not capped.converged
    assert "not converged" in capped.message
    assert capped.estimates["est"].isna().all() and capped.estimates["se"].isna().all()
    assert math.isnan(capped.fit_indices["chisq"])
    assert capped.vcov.isna().all().all()
    with pytest.raises(ValueError, match="did not converge"):
        sem.defined(capped, "x", "1")


def test_unidentified_models_fail_with_a_message(hs_data):
    negative_df = sem.fit("f =~ x1 + x2", hs_data)  # 4 parameters, 3 moments
    assert not negative_df.converged and "not identified" in negative_df.message
    # positive df but empirically unidentified: two orthogonal two-indicator factors
    orthogonal = sem.fit("f =~ x1 + x2\ng =~ x4 + x5\nf ~~ 0*g", hs_data)
    assert orthogonal.fit_indices["df"] == 2
    assert not orthogonal.converged and "not identified" in orthogonal.message
    assert orthogonal.estimates["est"].isna().all()


def test_data_and_syntax_errors_are_clear(hs_data):
    holed = hs_data.copy()
    holed.loc[[3, 7], "x2"] = np.nan
    with pytest.raises(ValueError, match=r"x2 \(2 missing\)"):
        sem.fit(HS_CFA, holed)
    with pytest.raises(ValueError, match="not columns of the data.*nope"):
        sem.fit("f =~ x1 + x2 + nope", hs_data)
    with pytest.raises(sem.SpecError, match="not supported"):
        sem.fit("f <~ x1 + x2", hs_data)
    with pytest.raises(sem.SpecError, match="second label modifier"):
        sem.fit("f =~ x1 + a*x2 + b*x2 + x3", hs_data)
    with pytest.raises(sem.SpecError, match="values for 2 group"):
        sem.fit("f =~ x1 + c(a, b, c)*x2 + x3", hs_data, group="school")
    with pytest.raises(ValueError, match="unknown label"):
        sem.fit("f =~ x1 + a*x2 + x3\nq := a*zz", hs_data)


def test_parser_reads_lavaan_syntax_forms():
    parsed = sem.parse_spec(
        "# comment\nf =~ NA*x1 + lam2*x2 +\n   c(1, NA)*x3 ! another comment\n"
        "y1 + y2 ~ f; y1 ~ 1\nf ~~ start(0.5)*f\nd := lam2^2"
    )
    by = {(s.lhs, s.op, s.rhs): s for s in parsed.statements}
    assert by[("f", "=~", "x1")].fixed == [None]
    assert by[("f", "=~", "x2")].label == ["lam2"]
    assert by[("f", "=~", "x3")].fixed == [1.0, None]
    assert ("y2", "~", "f") in by and ("y1", "~1", "") in by
    assert by[("f", "~~", "f")].start == [0.5]
    assert parsed.definitions[0].expr == "lam2^2"


def test_fixed_and_labelled_parameter_via_repeated_element(hs_data):
    # lavaan's documented form for fixing and labelling one parameter
    fit = sem.fit("visual =~ x1 + x2 + 0.5*x3 + l3*x3\ntextual =~ x4 + x5 + x6\nh := 2*l3", hs_data)
    r = row(fit, "visual", "=~", "x3")
    assert r["est"] == 0.5 and r["free"] == 0 and r["label"] == "l3"
    assert row(fit, "h", ":=", "2*l3", group=0)["est"] == pytest.approx(1.0)
    again = sem.fit(fit.spec_full, hs_data)
    assert "0.5*x3 + l3*x3" in fit.spec_full
    assert again.fit_indices["chisq"] == pytest.approx(fit.fit_indices["chisq"], abs=1e-8)


def test_brentq_gives_scipys_root_to_the_last_bit():
    """The RMSEA interval's root finder is a port of scipy's brentq (so that fits need not import
    scipy.optimize): the same number to the last bit, on the RMSEA equations themselves (which
    exercise interpolation, extrapolation and bisection steps) and on textbook functions."""
    from scipy import optimize, special

    from lwo.sem.robust import brentq

    cases = [(lambda x: x ** 3 - 2 * x - 5, 2.0, 3.0, {}), (math.cos, 0.0, 3.0, {}),
             (lambda x: math.exp(x) - 10.0, -5.0, 10.0, {}), (lambda x: x * math.exp(x) - 1.0, 0.0, 1.0, {"rtol": 1e-14})]
    for chisq, df in ((35.2, 12), (412.7, 180), (3.1, 8), (1250.0, 24)):
        for p in (0.95, 0.05):
            def f(lam, chisq=chisq, df=df, p=p):
                return (special.chdtr(df, chisq) if lam <= 0 else special.chndtr(chisq, df, lam)) - p
            if f(0.0) > 0 > f(4 * chisq):
                cases.append((f, 0.0, 4 * chisq, {"xtol": 1e-12}))
    assert len(cases) >= 8
    for f, a, b, kw in cases:
        assert brentq(f, a, b, **kw) == optimize.brentq(f, a, b, **kw)
    with pytest.raises(ValueError, match="different signs"):
        brentq(math.cos, 0.0, 1.0)
    # a triple root: both give up after 100 iterations
    with pytest.raises(RuntimeError):
        optimize.brentq(lambda x: (x - 0.3) ** 3, -1.0, 1.0)
    with pytest.raises(RuntimeError, match="no convergence"):
        brentq(lambda x: (x - 0.3) ** 3, -1.0, 1.0)
