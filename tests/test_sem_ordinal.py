"""Ordinal (WLSMV) estimation against lavaan 0.6.14 and against a known population.

Reference values: tests/lavaan/ordinal/reference.R (regenerate with
``Rscript tests/lavaan/ordinal/reference.R``; the slow test below checks that doing so
reproduces the committed files).
"""

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lwo.sem import ModelDataError
from lwo.sem.ordinal import fit_ordinal, lr_test_ordinal
from lwo.sem.polychoric import bvn_cdf, ordinal_stats

REF = Path(__file__).parent / "lavaan" / "ordinal"
HS_ITEMS = [f"x{i}" for i in range(1, 10)]
STUDY_ITEMS = [f"env_{s}{k}" for s in ("ps", "ma", "sc") for k in range(1, 5)]
HS_MODEL = """
visual =~ x1 + a*x2 + b*x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
dab := a - b
"""
HS_CFA = """
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
"""
HS_MIXED = """
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ c7 + c8 + c9
"""
STUDY_MODEL = """
ps =~ env_ps1 + env_ps2 + env_ps3 + env_ps4
ma =~ env_ma1 + env_ma2 + env_ma3 + env_ma4
sc =~ env_sc1 + env_sc2 + env_sc3 + env_sc4
"""
STUDY_SEM = STUDY_MODEL + "sc ~ ps + ma\nenv_ps1 ~~ env_ps2\n"
# structural: a regression between two ordinal factors, a continuous outcome, two covariates
HS_SEM = """
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ a*visual + female + age
c7 ~ b*textual + visual + female + age
ind := a*b
"""
# two groups as the Black-White comparison: group-specific path labels, equal loadings but one
HS_SEM_MG = """
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ c(a1, a2)*visual + female + age
c7 ~ c(b1, b2)*textual + visual + female + age
"""
MG_OPTIONS = dict(group="school", group_equal=("loadings",), group_partial=("visual=~x3",))
STEPS = {"configural": (), "thresholds": ("thresholds",), "loadings": ("thresholds", "loadings"),
         "intercepts": ("thresholds", "loadings", "intercepts")}
FIT_KEYS = ["chisq", "chisq.scaled", "chisq.scaling.factor", "pvalue.scaled", "baseline.chisq",
            "baseline.chisq.scaled", "baseline.chisq.scaling.factor", "cfi", "tli", "cfi.scaled",
            "tli.scaled", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "rmsea.scaled",
            "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "rmsea.pvalue.scaled", "srmr"]


@pytest.fixture(scope="module")
def ref():
    return reference_tables("ref")


def reference_tables(prefix: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(estimates, fit measures, difference tests) a reference script wrote as <prefix>_*.csv."""
    est = pd.read_csv(REF / f"{prefix}_estimates.csv", keep_default_na=False, na_values=["NA"])
    return est, pd.read_csv(REF / f"{prefix}_fit.csv"), pd.read_csv(REF / f"{prefix}_lrt.csv")


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(REF / "hs_ordinal.csv")


@pytest.fixture(scope="module")
def holes():
    return pd.read_csv(REF / "hs_ordinal_holes.csv")


@pytest.fixture(scope="module")
def study():
    return pd.read_csv(REF / "study_env.csv")


@pytest.fixture(scope="module")
def fits(hs, study, holes):
    out = {"hs1": fit_ordinal(HS_MODEL, hs, ordered=HS_ITEMS),
           "hs_mixed": fit_ordinal(HS_MIXED, hs, ordered=HS_ITEMS[:6]),
           "study1": fit_ordinal(STUDY_MODEL, study, ordered=STUDY_ITEMS),
           "study_sem": fit_ordinal(STUDY_SEM, study, ordered=STUDY_ITEMS),
           "hs_sem": fit_ordinal(HS_SEM, hs, ordered=HS_ITEMS[:6]),
           "hs_sem2": fit_ordinal(HS_SEM, hs, ordered=HS_ITEMS[:6], group="school"),
           "hs_sem_mg": fit_ordinal(HS_SEM_MG, hs, ordered=HS_ITEMS[:6], **MG_OPTIONS),
           "hs_sem_mg_a": fit_ordinal(HS_SEM_MG.replace("c(a1, a2)", "c(a, a)"), hs, ordered=HS_ITEMS[:6],
                                      **MG_OPTIONS)}
    study2 = study[study["race"].isin(["Black", "White"])]
    for step, ge in STEPS.items():
        out[f"hs2_{step}"] = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", group_equal=ge)
        out[f"hsmix2_{step}"] = fit_ordinal(HS_MIXED, hs, ordered=HS_ITEMS[:6], group="school",
                                            group_equal=ge)
        out[f"study2_{step}"] = fit_ordinal(STUDY_MODEL, study2, ordered=STUDY_ITEMS, group="race",
                                            group_equal=ge)
    pairwise = dict(missing="pairwise")
    out["hs1_pw"] = fit_ordinal(HS_MODEL, holes, ordered=HS_ITEMS, **pairwise)
    out["hs_mixed_pw"] = fit_ordinal(HS_MIXED, holes, ordered=HS_ITEMS[:6], **pairwise)
    out["hs_sem_pw"] = fit_ordinal(HS_SEM, holes, ordered=HS_ITEMS[:6], **pairwise)
    for step in ("configural", "thresholds", "loadings"):
        out[f"hs2pw_{step}"] = fit_ordinal(HS_CFA, holes, ordered=HS_ITEMS, group="school", group_equal=STEPS[step],
                                           **pairwise)
    return out


def _merged(fit, ref_est, name):
    r = ref_est[ref_est["model"] == name].copy()
    e = fit.estimates.copy()
    for t in (r, e):
        defined = t["op"] == ":="
        t.loc[defined, "rhs"] = t.loc[defined, "rhs"].str.replace(" ", "")
        t.loc[defined, "group"] = 0
    m = r.merge(e, on=["lhs", "op", "rhs", "group"], suffixes=("_ref", ""), how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["lhs", "op", "rhs", "group", "_merge"]]
    return m


def assert_matches_lavaan(fit, ref: tuple, name: str, est_atol: float = 1e-4, rel: float = 1e-3) -> None:
    """Estimates, std.all, SEs and fit measures of `fit` against lavaan's model `name` of `ref`
    (the estimates and fit tables of one reference script)."""
    assert fit.converged, fit.message
    m = _merged(fit, ref[0], name)
    np.testing.assert_allclose(m["est"], m["est_ref"], atol=est_atol, rtol=0)
    np.testing.assert_allclose(m["std.all"], m["std.all_ref"], atol=est_atol, rtol=0)
    free = m["se_ref"] > 0
    np.testing.assert_allclose(m.loc[free, "se"], m.loc[free, "se_ref"], rtol=rel)
    assert (m.loc[~free, "se"] == 0).all()
    fi = fit.fit_indices
    r = ref[1][ref[1]["model"] == name].set_index("measure")["value"]
    assert fi["df"] == r["df"] and fi["npar"] == r["npar"] and fi["ntotal"] == r["ntotal"]
    for k in FIT_KEYS:
        assert fi[k] == pytest.approx(r[k], rel=rel, abs=1e-6), k
    assert fi["chisq.shift.parameters"] == pytest.approx(r["chisq.shift.parameters1"], rel=rel)


MODELS = (["hs1", "hs_mixed", "study1", "study_sem", "hs_sem", "hs_sem2", "hs_sem_mg", "hs_sem_mg_a"]
          + [f"{d}_{s}" for d in ("hs2", "study2", "hsmix2") for s in STEPS]
          # missing = "pairwise" on hs_ordinal_holes.csv
          + ["hs1_pw", "hs_mixed_pw", "hs_sem_pw", "hs2pw_configural", "hs2pw_thresholds", "hs2pw_loadings"])


def test_first_stage_matches_lavaan(hs):
    """Thresholds, polychoric correlations and their NACOV (lavaan's wls.obs and Gamma)."""
    st = ordinal_stats(hs, HS_ITEMS)
    obs = pd.read_csv(REF / "ref_hs1_wls_obs.csv")["value"].to_numpy()
    gamma = pd.read_csv(REF / "ref_hs1_gamma.csv").to_numpy()
    np.testing.assert_allclose(st.wls_obs, obs, atol=1e-6)
    np.testing.assert_allclose(st.nacov, gamma, atol=1e-6 * np.abs(gamma).max())


@pytest.mark.parametrize("name, ordered, others", [
    ("hs1_pw", HS_ITEMS, []),
    ("hs_mixed_pw", HS_ITEMS[:6], ["c7", "c8", "c9"]),  # polyserial and Pearson parts on pairwise rows
], ids=["ordered items", "continuous items"])
def test_pairwise_first_stage_matches_lavaan(holes, name, ordered, others):
    """missing = "pairwise": each threshold, mean and variance from the rows with that variable,
    each correlation from the rows with both, and the NACOV from scores that are zero where a
    variable is missing (lavaan's wls.obs and Gamma on hs_ordinal_holes.csv)."""
    items = ordered + others
    answered = holes[holes[items].notna().any(axis=1)]
    st = ordinal_stats(answered, items, ordered=ordered, missing="pairwise")
    assert st.nobs == len(answered) < len(holes)
    obs = pd.read_csv(REF / f"ref_{name}_wls_obs.csv")["value"].to_numpy()
    gamma = pd.read_csv(REF / f"ref_{name}_gamma.csv").to_numpy()
    np.testing.assert_allclose(st.wls_obs, obs, atol=1e-6)
    np.testing.assert_allclose(st.nacov, gamma, atol=1e-6 * np.abs(gamma).max())


def test_pairwise_uses_every_answer_and_says_so(fits, holes):
    fit = fits["hs1_pw"]
    assert fit.lavaan_call().endswith('estimator = "WLSMV", missing = "pairwise")')
    assert 'missing = "pairwise"' in fit.spec_full.splitlines()[0]
    assert fit.nobs["all"] == int(holes[HS_ITEMS].notna().any(axis=1).sum())
    listwise = fit_ordinal(HS_MODEL, holes, ordered=HS_ITEMS)
    assert listwise.nobs["all"] == int(holes[HS_ITEMS].notna().all(axis=1).sum()) < fit.nobs["all"] / 3
    # a row without its covariate is dropped (the covariates' moments are fixed), as in lavaan
    assert fits["hs_sem_pw"].nobs["all"] == len(holes) - int(holes["age"].isna().sum())
    with pytest.raises(ValueError, match="no answer; listwise deletion needs complete rows"):
        ordinal_stats(holes, HS_ITEMS)
    with pytest.raises(ValueError, match='missing must be "listwise" or "pairwise"'):
        fit_ordinal(HS_MODEL, holes, ordered=HS_ITEMS, missing="ml")
    apart = holes.copy()
    apart.loc[apart["x1"].notna(), "x2"] = np.nan  # nobody answered both x1 and x2
    with pytest.raises(ValueError, match="columns 'x2' and 'x1': no row answered both"):
        fit_ordinal(HS_MODEL, apart, ordered=HS_ITEMS, missing="pairwise")


def test_bivariate_normal_cdf_against_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(3)
    for r in (0.05, -0.5, 0.8, -0.95, 0.99):
        h, k = rng.normal(size=6), rng.normal(size=6)
        ref = [multivariate_normal(cov=[[1, r], [r, 1]]).cdf([a, b]) for a, b in zip(h, k)]
        np.testing.assert_allclose(bvn_cdf(h, k, r), ref, atol=1e-7)


def test_polychoric_near_one_and_negative():
    """Pairs beyond |rho| = 0.925 take the one-pair path; both paths recover rho."""
    rng = np.random.default_rng(5)
    z = rng.standard_normal((20_000, 3))
    y1 = z[:, 0]
    y2 = 0.97 * y1 + np.sqrt(1 - 0.97**2) * z[:, 1]
    y3 = -0.6 * y1 + 0.8 * z[:, 2]
    cut = np.array([-1.5, -0.5, 0.7])
    frame = pd.DataFrame({f"v{k}": np.searchsorted(cut, y) for k, y in enumerate((y1, y2, y3))})
    st = ordinal_stats(frame, list(frame.columns))
    assert st.corr[1, 0] == pytest.approx(0.97, abs=0.005)
    assert st.corr[2, 0] == pytest.approx(-0.6, abs=0.02)


def test_chi2_tails_are_those_of_scipy_stats():
    """The fit measures' chi-square tail probabilities (computed without importing scipy.stats)
    are scipy.stats' chi2.sf and ncx2.sf, edge cases included."""
    from scipy import stats

    from lwo.sem.ordinal import _chi2_sf

    for x in (0.0, -1.0, 1e-3, 0.3, 4.2, 37.5, 812.0, math.inf, math.nan):
        for df in (1, 3, 17, 250):
            for nc in (0.0, 0.4 * df):
                ref = float(stats.ncx2.sf(x, df, nc) if nc else stats.chi2.sf(x, df))
                got = _chi2_sf(x, df, nc)
                assert got == ref or (math.isnan(got) and math.isnan(ref)), (x, df, nc, got, ref)


def test_first_stage_is_shared_only_by_fits_of_the_same_rows(hs):
    """Models fitted to the same rows share one first stage (the same numbers as computing it
    afresh); a single changed answer gets its own."""
    from lwo.sem import ordinal

    a = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS)
    b = fit_ordinal(HS_MODEL, hs, ordered=HS_ITEMS)
    assert b._ord.groups[0].stats is a._ord.groups[0].stats
    ordinal._FIRST_STAGE.clear()
    fresh = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS)
    assert fresh._ord.groups[0].stats is not a._ord.groups[0].stats
    pd.testing.assert_frame_equal(fresh.estimates, a.estimates)
    changed = hs.copy()
    changed.loc[0, "x1"] = hs["x1"].min() if hs.loc[0, "x1"] != hs["x1"].min() else hs["x1"].max()
    c = fit_ordinal(HS_CFA, changed, ordered=HS_ITEMS)
    assert c._ord.groups[0].stats is not fresh._ord.groups[0].stats
    assert not np.array_equal(c._ord.groups[0].stats.wls_obs, fresh._ord.groups[0].stats.wls_obs)


@pytest.mark.parametrize("others, ref", [
    # x1-x6 ordered, c7-c9 continuous: polyserial and Pearson parts, means and variances
    (["c7", "c8", "c9"], "ref_hs_mixed"),
    # covariates of a structural model (conditional.x = FALSE) join the first stage; the 0/1
    # covariate's collinear mean and variance scores take lavaan's generalized inverse
    (["c7", "female", "age"], "ref_hs_sem"),
], ids=["continuous items", "covariates"])
def test_first_stage_with_continuous_variables_matches_lavaan(hs, others, ref):
    st = ordinal_stats(hs, HS_ITEMS[:6] + others, ordered=HS_ITEMS[:6])
    obs = pd.read_csv(REF / f"{ref}_wls_obs.csv")["value"].to_numpy()
    gamma = pd.read_csv(REF / f"{ref}_gamma.csv").to_numpy()
    np.testing.assert_allclose(st.wls_obs, obs, atol=1e-6)
    np.testing.assert_allclose(st.nacov, gamma, atol=1e-6 * np.abs(gamma).max())


def test_structural_call_and_unsupported_regressions(fits, hs):
    call = fits["hs_sem"].lavaan_call()
    assert call.startswith("lavaan::sem(model, data = data, ordered = c(")
    assert call.endswith('estimator = "WLSMV", conditional.x = FALSE, fixed.x = TRUE)')
    assert fits["hs_sem"].spec_full.startswith(f"# Every parameter written out (WLSMV, delta "
                                               f"parameterisation); fit with {call}\n")
    with pytest.raises(Exception, match="ordered x1 in a regression is not supported"):
        fit_ordinal(HS_CFA + "x1 ~ female", hs, ordered=HS_ITEMS)
    with pytest.raises(Exception, match="indicator c7 in a regression is not supported"):
        fit_ordinal(HS_MIXED + "c7 ~ female", hs, ordered=HS_ITEMS[:6])


@pytest.mark.parametrize("name", MODELS)
def test_estimates_match_lavaan(fits, ref, name):
    fit = fits[name]
    assert fit.converged, fit.message
    m = _merged(fit, ref[0], name)
    key = m["op"].isin(["=~", "|", "~~", "~", "~*~", "~1", ":="])
    np.testing.assert_allclose(m.loc[key, "est"], m.loc[key, "est_ref"], atol=1e-3, rtol=0)
    np.testing.assert_allclose(m["std.all"], m["std.all_ref"], atol=1e-3, rtol=0)
    free = m["se_ref"] > 0
    np.testing.assert_allclose(m.loc[free, "se"], m.loc[free, "se_ref"], rtol=1e-2)
    assert (m.loc[~free, "se"] == 0).all()


@pytest.mark.parametrize("name", MODELS)
def test_fit_measures_match_lavaan(fits, ref, name):
    fi = fits[name].fit_indices
    r = ref[1][ref[1]["model"] == name].set_index("measure")["value"]
    assert fi["df"] == r["df"] and fi["npar"] == r["npar"] and fi["ntotal"] == r["ntotal"]
    for k in FIT_KEYS:
        assert fi[k] == pytest.approx(r[k], rel=1e-2, abs=1e-5), k
    assert fi["chisq.shift.parameters"] == pytest.approx(r["chisq.shift.parameters1"], rel=1e-2)


@pytest.mark.parametrize("data_name", ["hs2", "study2", "hsmix2", "hs2pw"])
def test_invariance_difference_tests_match_lavaan(fits, ref, data_name):
    lrt = ref[2][ref[2]["sequence"] == data_name].set_index("model")
    steps = ["configural", "thresholds", "loadings"]
    for free, restricted in zip(steps, steps[1:]):
        out = lr_test_ordinal(fits[f"{data_name}_{restricted}"], fits[f"{data_name}_{free}"])
        assert out["df_diff"] == lrt.loc[restricted, "df.diff"]
        assert out["chisq_diff"] == pytest.approx(lrt.loc[restricted, "chisq.diff"], rel=1e-2)
        assert out["pvalue"] == pytest.approx(lrt.loc[restricted, "pvalue"], rel=1e-2, abs=1e-4)
    if data_name == "hs2pw":  # no intercepts step fitted
        return
    # lavaan's "intercepts" step adds no constraint for ordered indicators (y* intercepts are 0)
    same = lr_test_ordinal(fits[f"{data_name}_intercepts"], fits[f"{data_name}_loadings"])
    assert same["df_diff"] == 0 and math.isnan(same["pvalue"])


def test_structural_equality_tests_match_lavaan(fits, ref):
    """A path set equal across two groups: the scaled-shifted difference test (lavTestLRT) and
    the Wald test (lavTestWald) of the free model."""
    from lwo.sem import wald_test

    lrt = ref[2][ref[2]["sequence"] == "hs_sem_mg"].set_index("model")
    out = lr_test_ordinal(fits["hs_sem_mg_a"], fits["hs_sem_mg"])
    assert out["df_diff"] == lrt.loc["hs_sem_mg_a", "df.diff"] == 1
    assert out["chisq_diff"] == pytest.approx(lrt.loc["hs_sem_mg_a", "chisq.diff"], rel=1e-2)
    assert out["pvalue"] == pytest.approx(lrt.loc["hs_sem_mg_a", "pvalue"], rel=1e-2)
    wald = wald_test(fits["hs_sem_mg"], "a1 == a2")
    assert wald["stat"] == pytest.approx(lrt.loc["wald", "Chisq"], rel=1e-2)
    assert wald["pvalue"] == pytest.approx(lrt.loc["wald", "pvalue"], rel=1e-2)


def test_lavaan_call_and_bad_input(fits, hs):
    call = fits["hs2_thresholds"].lavaan_call()
    assert call.startswith("lavaan::cfa(model, data = data, ordered = c(\"x1\"")
    assert 'estimator = "WLSMV", group = "school", group.equal = c("thresholds")' in call
    with pytest.raises(ValueError, match="not columns of the data"):
        fit_ordinal(HS_CFA, hs.drop(columns="x9"), ordered=HS_ITEMS)
    with pytest.raises(Exception, match="no observed variable of the model is declared ordered"):
        fit_ordinal(HS_CFA, hs, ordered=[])
    bad = hs.astype({"c8": object})
    bad.loc[7, "c8"] = "n/a"
    with pytest.raises(ValueError, match="column 'c8', row 7: value 'n/a' is not a number"):
        fit_ordinal(HS_MIXED, bad, ordered=HS_ITEMS[:6])
    one = hs.copy()
    one.loc[(one["school"] == "Pasteur") & (one["x1"] == 4), "x1"] = 3  # empty category in one group
    # the data cannot give the model (ModelDataError): the pipeline reports it as not estimable
    with pytest.raises(ModelDataError, match="group school='Pasteur': column 'x1': category 4 is empty"):
        fit_ordinal(HS_CFA, one, ordered=HS_ITEMS, group="school")


# ---------------------------------------------------------------- recovery
POP_LOADINGS = np.array([0.8, 0.7, 0.6, 0.5, 0.75, 0.65, 0.55, 0.85])
# ceiling: most answers in the top categories (thresholds on the y* scale)
POP_THRESHOLDS = np.array([-2.0, -1.2, -0.3])
POP_FACTOR_COR = 0.4


def simulate_latent_response(n: int, seed: int) -> pd.DataFrame:
    """Two factors (4 items each, correlation 0.4), standardized y* = loading * factor + error,
    answers 1-4 cut at POP_THRESHOLDS (item k's thresholds shifted by 0.1 * (k % 3))."""
    rng = np.random.default_rng(seed)
    phi = np.array([[1.0, POP_FACTOR_COR], [POP_FACTOR_COR, 1.0]])
    eta = rng.standard_normal((n, 2)) @ np.linalg.cholesky(phi).T
    cols = {}
    for k, lam in enumerate(POP_LOADINGS):
        ystar = lam * eta[:, k // 4] + math.sqrt(1 - lam**2) * rng.standard_normal(n)
        cols[f"y{k + 1}"] = np.searchsorted(POP_THRESHOLDS + 0.1 * (k % 3), ystar) + 1
    return pd.DataFrame(cols)


RECOVERY_MODEL = "f1 =~ y1 + y2 + y3 + y4\nf2 =~ y5 + y6 + y7 + y8"


def test_pairwise_recovers_population_at_large_n_with_a_fifth_of_the_answers_blank():
    """missing = "pairwise" at N = 50,000 with 20% of the answers blank completely at random
    (about 17% of the students answer all eight items): thresholds and standardized loadings
    within 0.01 or 2.5 of their SEs, which are wider than the complete data's by about the
    expected factor (each statistic rests on 80% or 64% of the students)."""
    data = simulate_latent_response(50_000, seed=13)
    rng = np.random.default_rng(14)
    holes = data.astype(float).mask(rng.random(data.shape) < 0.2)
    assert holes.notna().all(axis=1).mean() < 0.2
    fit = fit_ordinal(RECOVERY_MODEL, holes, ordered=list(data.columns), missing="pairwise")
    assert fit.converged and fit.nobs["all"] == int(holes.notna().any(axis=1).sum())
    e = fit.estimates
    lam = e[e["op"] == "=~"]
    assert (np.abs(lam["std.all"].to_numpy() - POP_LOADINGS)
            <= np.maximum(0.01, 2.5 * lam["se"].to_numpy() * lam["std.all"].to_numpy()
                          / np.where(lam["est"] != 0, lam["est"], 1.0))).all()
    th = e[e["op"] == "|"]
    expected = np.concatenate([POP_THRESHOLDS + 0.1 * (k % 3) for k in range(len(POP_LOADINGS))])
    err = np.abs(th["est"].to_numpy() - expected)
    assert (err <= np.maximum(0.01, 2.5 * th["se"].to_numpy())).all(), err
    complete = fit_ordinal(RECOVERY_MODEL, data, ordered=list(data.columns)).estimates
    ratio = th["se"].to_numpy() / complete[complete["op"] == "|"]["se"].to_numpy()
    assert 1.05 < np.median(ratio) < 1.25  # sqrt(1 / 0.8) = 1.12 for a threshold


@pytest.mark.slow
def test_recovers_population_at_large_n():
    data = simulate_latent_response(50_000, seed=13)
    fit = fit_ordinal(RECOVERY_MODEL, data, ordered=list(data.columns))
    assert fit.converged
    e = fit.estimates
    lam = e[e["op"] == "=~"]["std.all"].to_numpy()
    np.testing.assert_allclose(lam, POP_LOADINGS, atol=0.01)
    th = e[e["op"] == "|"]
    expected = np.concatenate([POP_THRESHOLDS + 0.1 * (k % 3) for k in range(len(POP_LOADINGS))])
    # 0.01, or 2.5 sampling SDs where that is wider: a threshold at -2 has SD ~0.012 at N = 50,000
    err = np.abs(th["est"].to_numpy() - expected)
    assert (err <= np.maximum(0.01, 2.5 * th["se"].to_numpy())).all(), err
    assert np.median(err) < 0.01
    cov = e[(e["op"] == "~~") & (e["lhs"] == "f1") & (e["rhs"] == "f2")]["std.all"].iloc[0]
    assert cov == pytest.approx(POP_FACTOR_COR, abs=0.01)


def test_a_negative_residual_variance_is_named_in_the_message():
    """A Heywood case: three items whose latent correlations (.8, .6, .4) a single factor can only
    reproduce with a loading above 1 for the first (its square: .8 x .6 / .4 = 1.2), so its residual
    variance, 1 - 1.2, is negative. The fit says so, as lavaan warns."""
    R = np.array([[1.0, 0.8, 0.6], [0.8, 1.0, 0.4], [0.6, 0.4, 1.0]])
    latent = np.random.default_rng(3).multivariate_normal(np.zeros(3), R, size=5000)
    data = pd.DataFrame(np.digitize(latent, [-1.0, 0.0, 1.0]) + 1, columns=["y1", "y2", "y3"])
    fit = fit_ordinal("f =~ y1 + y2 + y3", data, ordered=["y1", "y2", "y3"])
    resid = fit.estimates.set_index(["lhs", "op", "rhs"]).loc[("y1", "~~", "y1"), "est"]
    assert resid == pytest.approx(1 - 0.8 * 0.6 / 0.4, abs=0.05)
    assert fit.warnings == [f"negative variance y1 ~~ y1 in group 1 ({resid:.3f})"]
    assert fit.message.endswith("; " + fit.warnings[0])


@pytest.mark.slow
def test_mean_estimates_of_replicates_at_n_50000_are_within_001_of_the_population():
    """Recovery as bias at N = 50,000: the mean over 20 independent draws of every threshold
    and standardized loading is within 0.01 of its population value. (One draw cannot promise
    0.01 for every threshold: a threshold's sampling SD is 0.006 at 0 and 0.012 at -2, so among
    24 thresholds some single-draw error beyond 0.01 is the rule, not a bias; the test above
    bounds single draws by their SEs.) The mean's SD is at most 0.003, so 0.01 is over three."""
    expected = np.concatenate([POP_THRESHOLDS + 0.1 * (k % 3) for k in range(len(POP_LOADINGS))])
    thresholds, loadings = [], []
    for r in range(20):
        data = simulate_latent_response(50_000, seed=1000 + r)
        e = fit_ordinal(RECOVERY_MODEL, data, ordered=list(data.columns)).estimates
        thresholds.append(e[e["op"] == "|"]["est"].to_numpy())
        loadings.append(e[e["op"] == "=~"]["std.all"].to_numpy())
    np.testing.assert_allclose(np.mean(thresholds, axis=0), expected, atol=0.01)
    np.testing.assert_allclose(np.mean(loadings, axis=0), POP_LOADINGS, atol=0.01)
    # and the spread across draws is the sampling SD the SEs claim (a bias test with honest noise)
    assert np.std(thresholds, axis=0, ddof=1).max() < 0.02


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_reference_script_reproduces_committed_values(tmp_path):
    """Rerunning reference.R on a copy gives the committed values (so they came from lavaan)."""
    ok = subprocess.run(["Rscript", "-e", 'cat(requireNamespace("lavaan", quietly=TRUE) && '
                         'packageVersion("lavaan") == "0.6.14")'], capture_output=True, text=True)
    if ok.stdout.strip() != "TRUE":
        pytest.skip("lavaan 0.6.14 not installed")
    for f in REF.iterdir():
        shutil.copy(f, tmp_path / f.name)
    subprocess.run(["Rscript", str(tmp_path / "reference.R")], check=True, capture_output=True)
    for name in ("ref_fit.csv", "ref_lrt.csv"):
        new = pd.read_csv(tmp_path / name)
        old = pd.read_csv(REF / name)
        pd.testing.assert_frame_equal(new, old, rtol=1e-8)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_spec_full_refits_in_lavaan(fits, tmp_path):
    """spec_full, fitted by lavaan with the call in its header, gives the same chi-square."""
    checks = []
    for name in ("hs1", "hs_mixed", "study_sem", "hs_sem", "hs_sem_mg", "hs2_thresholds", "study2_loadings",
                 "hs_sem_pw", "hs2pw_thresholds"):
        fit = fits[name]
        (tmp_path / f"{name}.lav").write_text(fit.spec_full, encoding="utf-8")
        data = ("hs_ordinal_holes.csv" if "pw" in name else "hs_ordinal.csv" if name.startswith("hs")
                else "study_env.csv")
        subset = 'd <- d[d$race %in% c("Black", "White"), ]' if name.startswith("study2") else ""
        # equal parameters share labels in spec_full: no group.equal
        call = re.sub(r", group.equal = c\([^)]*\)", "", fit.lavaan_call(model="m", data="d"))
        checks.append((name, fit.fit_indices["chisq"], fit.fit_indices["df"],
                       f'd <- read.csv("{REF / data}"); {subset}\n'
                       f'm <- paste(readLines("{tmp_path / name}.lav"), collapse = "\\n")\n'
                       f'f <- {call}\n'
                       'cat(fitMeasures(f, c("chisq", "df")), "\\n")\n'))
    for name, chisq, df, script in checks:
        out = subprocess.run(["Rscript", "-e", "suppressMessages(library(lavaan))\n" + script],
                             capture_output=True, text=True)
        if out.returncode != 0:
            pytest.fail(f"{name}: {out.stderr}")
        r_chisq, r_df = map(float, out.stdout.split()[-2:])
        assert r_df == df, name
        assert r_chisq == pytest.approx(chisq, rel=1e-5), name


# ---------------------------------------------------------------- the config switch (estimation.items)
ORDINAL_ITEMS = {"missing": "fiml", "estimator": "MLR", "cluster": "classroom_id", "items": "ordinal"}


@pytest.fixture(scope="module")
def switched(cohort, codebook, tmp_path_factory):
    """A structural model fitted and saved by the models layer with `items: ordinal`."""
    from lwo.sem_results import fit_model, save_fit
    from lwo.specs import rq1_models

    spec = rq1_models(codebook)["hqc_grades_via_engagement"]
    run = fit_model(spec, cohort["students"], codebook, "all", estimation=ORDINAL_ITEMS)
    out = tmp_path_factory.mktemp("switched")
    save_fit(run, out, correlation_targets=[*spec.mediators, *spec.outcomes])
    return spec, run, out


def test_switch_saves_the_wlsmv_call_and_the_direct_fit(switched, cohort, codebook):
    """The saved spec's header states the WLSMV call (pairwise deletion, since the block asks for
    FIML; clustered by classroom, as the block says); the saved estimates (the `:=` rows computed
    by the models layer) are those of fit_ordinal on the same rows, whose own `:=` rows agree."""
    import json

    from lwo.model_data import model_ready, model_syntax
    from lwo.sem_results import frame_with_clusters

    spec, run, out = switched
    assert run.ok, run.message
    items = {i.id for i in codebook.all_items()}
    ordered = [v for v in spec.observed if v in items]
    assert ordered and run.ordered == tuple(ordered)
    call = ('lavaan::sem(model, data = data, ordered = c(' + ", ".join(f'"{v}"' for v in ordered)
            + '), estimator = "WLSMV", conditional.x = FALSE, fixed.x = TRUE, missing = "pairwise", '
            'cluster = "classroom_id")')
    header = (out / "spec.lavaan").read_text(encoding="utf-8").splitlines()
    assert header[1].endswith(f"fit with {call}")
    info = json.loads((out / "fit.json").read_text(encoding="utf-8"))
    assert info["lavaan_call"] == call and info["estimator"] == "WLSMV" and info["cluster"] == "classroom_id"
    assert info["missing"] == "pairwise" and 'lavaan missing = "pairwise"' in info["estimation_text"]
    assert "clustered by classroom_id" in info["estimation_text"]
    assert "lavaan >= 0.7-2" in (out / "refit_in_lavaan.R").read_text(encoding="utf-8")
    assert "pairwise deletion" in info["exclusion_note"]

    md = model_ready(cohort["students"], codebook, spec, "all", missing="pairwise")
    listwise = model_ready(cohort["students"], codebook, spec, "all", missing="listwise")
    assert len(listwise.data) < len(md.data) == info["n_used"] == run.fit.nobs["all"] <= info["n_surveyed"]
    direct = fit_ordinal(model_syntax(spec.syntax, md), frame_with_clusters(md),
                         ordered=ordered, missing="pairwise", cluster="classroom_id")
    saved = pd.read_csv(out / "estimates.csv").fillna({"rhs": "", "label": ""})
    m = saved.merge(direct.estimates, on=["lhs", "op", "rhs"], suffixes=("", "_direct"), validate="1:1")
    assert len(m) == len(direct.estimates) and (m["op"] == ":=").sum() == 3
    np.testing.assert_allclose(m["est"], m["est_direct"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(m["se"], m["se_direct"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(m["std.all"], m["std.all_direct"], rtol=1e-7, atol=1e-9)
    std = pd.read_csv(out / "standardized.csv")
    s = std.merge(direct.estimates, on=["lhs", "op", "rhs"])
    assert len(s) == len(std) > 5
    np.testing.assert_allclose(s["est.std"], s["std.all"], rtol=1e-7, atol=1e-9)
    corr = pd.read_csv(out / "correlations.csv")
    assert list(corr["rhs"]) == [*spec.mediators, *spec.outcomes] and corr["se"].gt(0).all()


def test_switch_with_listwise_estimation_fits_listwise(cohort, codebook):
    from lwo.sem_results import fit_model
    from lwo.specs import rq1_models

    spec = rq1_models(codebook)["hqc_grades_via_engagement"]
    run = fit_model(spec, cohort["students"], codebook, "all", estimation={**ORDINAL_ITEMS, "missing": "listwise"})
    assert run.ok and run.estimation["missing"] == "listwise"
    assert run.fit.lavaan_call().endswith('fixed.x = TRUE, cluster = "classroom_id")')
    assert "listwise deletion" in run.data.note()
    assert run.fit.nobs["all"] == len(run.data.data) == len(run.data.data.dropna())


def test_switch_reports_items_without_joint_answers_as_not_estimable(cohort, codebook):
    """Two items asked on different survey forms (no student answered both): no polychoric
    correlation, so the WLSMV model is not estimable, with the items named."""
    from lwo.sem_results import fit_model
    from lwo.specs import rq1_models

    students = cohort["students"].copy()
    form_a = np.arange(len(students)) % 2 == 0
    students.loc[form_a, "ms_ee1"] = np.nan
    students.loc[~form_a, "ms_ee2"] = np.nan
    run = fit_model(rq1_models(codebook)["hqc_grades_via_engagement"], students, codebook, "all",
                    estimation=ORDINAL_ITEMS)
    assert run.status == "not estimable", run.message
    assert "'ms_ee2' and 'ms_ee1': no row answered both" in run.message


def test_switch_leaves_cfas_and_models_without_items_continuous(cohort, codebook):
    from lwo.sem_results import fit_model, ordinal_items
    from lwo.specs import rq1_models

    specs = rq1_models(codebook)
    assert ordinal_items(specs["classroom_environment_cfa"], codebook, ORDINAL_ITEMS) == []
    assert ordinal_items(specs["hqc_to_mindsets"], codebook, {"items": "continuous"}) == []
    run = fit_model(specs["hqc_to_grades"], cohort["students"], codebook, "all", estimation=ORDINAL_ITEMS)
    assert run.ok and not run.ordered and 'estimator = "MLR"' in run.fit.lavaan_call()


def test_switch_fits_the_black_white_comparison_by_wlsmv(cohort, codebook, tmp_path):
    """Equal loadings but the inclusion parcel's, group-specific paths, and the equality test of
    a path by the scaled-shifted difference (lr_test_ordinal) and by Wald, in a small model."""
    from lwo.sem_results import fit_multigroup, save_multigroup
    from lwo.specs import direct_effects

    spec = direct_effects(codebook, ["emotional_engagement"], "hqc_to_ee", "HQC -> emotional engagement")
    mg = fit_multigroup(spec, cohort["students"], codebook, estimation=ORDINAL_ITEMS)
    assert mg.free.ok, mg.free.message
    assert mg.free.ordered == tuple(codebook.item_ids("emotional_engagement"))
    call = mg.free.fit.lavaan_call()
    assert ('estimator = "WLSMV", conditional.x = FALSE, fixed.x = TRUE, missing = "pairwise", '
            'cluster = "classroom_id", group = "race", group.equal = c("loadings"), group.partial = c("hqc =~ p_perceived_inclusion"), group.label = c("Black", "White")'
            in call)
    test = mg.lr_tests.set_index("test").loc["HQC -> emotional_engagement"]
    # clustered: the verdict is the Wald test's, from the crossed-cluster covariance
    assert test["status"] == "ok" and test["verdict_test"] == "Wald" and test["lr_method"].startswith("satorra.2000")
    assert mg.free.fit.crossed_clusters and test["pvalue"] == test["wald_f_pvalue"]
    constrained = mg.constrained["HQC -> emotional_engagement"]
    assert constrained.ok and constrained.fit.fit_indices["df"] == mg.free.fit.fit_indices["df"] + 1
    again = lr_test_ordinal(constrained.fit, mg.free.fit)
    assert test["chisq_diff"] == again["chisq_diff"] and test["lr_pvalue"] == again["pvalue"]
    assert 0 < test["wald_pvalue"] < 1
    save_multigroup(mg, tmp_path, correlation_targets=["emotional_engagement"],
                    contrast_labels=["c_emotional_engagement"])
    contrasts = pd.read_csv(tmp_path / "group_contrasts.csv")
    assert len(contrasts) == 4 and contrasts["se"].gt(0).all()
    assert "group.label" in (tmp_path / "spec.lavaan").read_text(encoding="utf-8").splitlines()[1]


def test_config_items_switch_is_checked():
    import copy

    import yaml

    from lwo.config_check import check_config
    from lwo.data import DataError

    root = Path(__file__).resolve().parents[1]
    schema, config_file = root / "workflow" / "schemas" / "config.schema.yaml", root / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    assert config["estimation"]["items"] == "continuous"
    ordinal = copy.deepcopy(config)
    ordinal["estimation"]["items"] = "ordinal"
    assert check_config(copy.deepcopy(ordinal), config_file, schema, root=root)["estimation"]["items"] == "ordinal"
    ordinal["bootstrap"]["enabled"] = True
    with pytest.raises(DataError) as err:
        check_config(ordinal, config_file, schema, root=root)
    assert err.value.column == "estimation.items" and "bootstrap" in str(err.value)
    config["estimation"]["items"] = "categorical"
    with pytest.raises(DataError) as err:
        check_config(config, config_file, schema, root=root)
    assert err.value.column == "estimation.items"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_switched_fit_refits_in_lavaan_with_its_header_call(switched):
    """refit_in_lavaan.R of the saved (pairwise, classroom-clustered) fit, run in lavaan (Debian's
    0.6.14: it takes the clustered Gamma and the weights from first_stage.csv.gz), gives the saved
    chi-squares, df, estimates and SEs."""
    import json

    _, _, out = switched
    info = json.loads((out / "fit.json").read_text(encoding="utf-8"))
    refit = (out / "refit_in_lavaan.R").read_text(encoding="utf-8")
    assert "NACOV = list(crossprod(V)), WLS.V = list(diag(w))" in refit and "first_stage.csv.gz" in refit
    script = (refit + 'cat("FIT", fitMeasures(fit, c("chisq", "df", "chisq.scaled")), "\\n")\n'
              'pe <- parameterEstimates(fit); pe <- pe[pe$op == "~", ]\n'
              'write.csv(pe[, c("lhs", "op", "rhs", "est", "se")], "lavaan_paths.csv", row.names = FALSE)\n')
    res = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, cwd=out)
    if res.returncode != 0:
        pytest.fail(res.stderr)
    chisq, df, scaled = map(float, res.stdout.split("FIT")[-1].split())
    fi = info["fit_indices"]
    assert df == fi["df"] and chisq == pytest.approx(fi["chisq"], rel=1e-5)
    assert scaled == pytest.approx(fi["chisq.scaled"], rel=1e-3)
    lav = pd.read_csv(out / "lavaan_paths.csv")
    saved = pd.read_csv(out / "estimates.csv")
    m = lav.merge(saved, on=["lhs", "op", "rhs"], suffixes=("_lavaan", ""))
    assert len(m) == len(lav) > 10
    np.testing.assert_allclose(m["est"], m["est_lavaan"], atol=1e-3)
    np.testing.assert_allclose(m["se"], m["se_lavaan"], rtol=1e-3)


def test_items_that_do_not_correlate_are_a_clear_error():
    """Answers at random: the factor has no loading to estimate, so the information matrix is
    singular; a ValueError says so (the measurement rules turn it into a 'failed' fit)."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.integers(1, 5, (200, 3)).astype(float), columns=list("abc"))
    with pytest.raises(ValueError, match="information matrix is singular: the model is not identified"):
        fit_ordinal("f =~ a + b + c", data, ordered=list("abc"))


def test_collinear_covariates_are_named_not_a_math_error():
    """Dummies of every school present (the reference school absent) add up to one: the
    covariates' moments, fixed at their sample values, are singular. The error names them (the
    pipeline's 'not estimable'); on these data the fit used to run on to a negative variance of
    an estimate and stop there ('math domain error', a 'failed' fit)."""
    rng = np.random.default_rng(0)
    n = 150
    school, x = rng.integers(0, 2, n).astype(float), rng.normal(size=n)
    f = 0.5 * school + 0.3 * x + rng.normal(size=n)
    data = pd.DataFrame({c: np.digitize(0.7 * f + rng.normal(size=n), [-1.0, 0.0, 1.0]) + 1.0 for c in "abc"})
    data["school_2"], data["school_3"], data["x"] = school, 1.0 - school, x
    with pytest.raises(ModelDataError, match=r"collinear model variables: school_2, school_3 .*covariates' "
                                             "covariance matrix is singular"):
        fit_ordinal("f =~ a + b + c\nf ~ school_2 + school_3 + x", data, ordered=list("abc"))


def test_a_clustered_wald_test_of_more_paths_than_clusters_less_one_is_refused_with_the_counts():
    """Four clusters across two groups: the clustered first stage's covariance has three
    directions, so a Wald test of four equal paths has no value. The message gives the counts,
    as for ML fits (before, an ordinal fit's test was checked only for a singular covariance)."""
    from lwo.sem import wald_test

    rng = np.random.default_rng(3)
    n = 600
    data = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x1", "x2", "x3", "x4"])
    data["g"] = np.where(rng.random(n) < 0.5, "A", "B")
    data["room"] = rng.integers(0, 4, n)
    f = data[["x1", "x2", "x3", "x4"]].sum(axis=1) * 0.3 + rng.normal(size=n)
    for c in "abc":
        data[c] = np.digitize(0.8 * f + rng.normal(size=n), [-1.0, 0.0, 1.0]) + 1.0
    spec = "f =~ a + b + c\nf ~ " + " + ".join(f"c(p{k}A, p{k}B)*x{k}" for k in range(1, 5))
    fit = fit_ordinal(spec, data, ordered=list("abc"), group="g", cluster="room")
    assert wald_test(fit, [f"p{k}A == p{k}B" for k in range(1, 4)])["df"] == 3
    with pytest.raises(ValueError, match=r"^4 constraints, but the cluster-robust covariance has at most 3 "
                                         r"independent directions \(4 clusters"):
        wald_test(fit, [f"p{k}A == p{k}B" for k in range(1, 5)])


def test_an_item_nobody_answered_and_a_one_category_item_are_named():
    rng = np.random.default_rng(2)
    data = pd.DataFrame(rng.integers(1, 5, (200, 3)).astype(float), columns=list("abc"))
    with pytest.raises(ModelDataError, match="column 'c' has no answers; an ordered variable needs two or more"):
        fit_ordinal("f =~ a + b + c", data.assign(c=np.nan), ordered=list("abc"), missing="pairwise")
    with pytest.raises(ModelDataError, match="column 'c' has a single category; an ordered variable needs two"):
        fit_ordinal("f =~ a + b + c", data.assign(c=2.0), ordered=list("abc"))
