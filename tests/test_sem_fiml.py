"""FIML (missing = "ml"), MLR, scaled difference and Wald tests, crossed clusters:
the engine against lavaan 0.6.14 reference values committed in tests/lavaan/fiml_mlr/
(regenerate: Rscript tests/lavaan/fiml_mlr/make_reference.R)."""

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lwo import sem
from lwo.sem.robust import baseline_model
from textbook_models import HS_CFA, PD_SEM

HERE = Path(__file__).parent / "lavaan" / "fiml_mlr"
EST = pd.read_csv(HERE / "reference_estimates.csv", keep_default_na=False, na_values=["NA"])
FIT = pd.read_csv(HERE / "reference_fit.csv")
# the same fits in lavaan 0.7-2 (make_reference.R lavaan07)
FIT07 = pd.read_csv(HERE / "lavaan07_reference_fit.csv")
# lavaan 0.6's log-likelihood of a fit with a covariate with holes (missing = "ml.x", fixed.x)
# subtracts the covariates' complete-data one; lavaan >= 0.7's and ours their FIML one
X_HOLES_LOGL = {"studyx_mlx": ("logl", "unrestricted.logl", "aic", "bic")}

STUDY = """
eng =~ i1 + i2 + i3
med ~ c(a1, a2)*eng + grades
out ~ c(b_black, b_white)*med + eng + grades
ind_black := a1 * b_black
diff := b_black - b_white
"""
STUDY_EQ = """
eng =~ i1 + i2 + i3
med ~ c(a1, a2)*eng + grades
out ~ c(b, b)*med + eng + grades
"""
STUDY_ONE = """
eng =~ i1 + i2 + i3
med ~ eng + grades
out ~ med + eng + grades
"""
FEW = "f =~ " + " + ".join(f"y{i}" for i in range(1, 13)) + "\nf ~ x"
STUDY_KW = dict(missing="ml", estimator="MLR", cluster="classroom", group="race", group_order=["Black", "White"])

CASES = {
    "hs_mcar_ml": (HS_CFA, "hs_mcar", dict(missing="ml")),
    "hs_mcar_mlr": (HS_CFA, "hs_mcar", dict(missing="ml", estimator="MLR")),
    "hs_mar_ml": (HS_CFA, "hs_mar", dict(missing="ml")),
    "hs_mar_mlr": (HS_CFA, "hs_mar", dict(missing="ml", estimator="MLR")),
    "hs_mar_mlr_cluster": (HS_CFA, "hs_mar", dict(missing="ml", estimator="MLR", cluster="clu")),
    "hs_complete_mlr": (HS_CFA, "hs_complete", dict(estimator="MLR")),
    "pd_mcar_ml": (PD_SEM, "pd_mcar", dict(missing="ml")),
    "pd_mcar_mlr": (PD_SEM, "pd_mcar", dict(missing="ml", estimator="MLR")),
    # lavaan numbers clusters within groups: crossed_clusters=False reproduces it
    "study_free": (STUDY, "study", dict(STUDY_KW, crossed_clusters=False)),
    "study_eq": (STUDY_EQ, "study", dict(STUDY_KW, crossed_clusters=False)),
    "study_loadings_equal": (STUDY_ONE, "study", dict(STUDY_KW, crossed_clusters=False, group_equal=["loadings"])),
    # a covariate with holes: joint likelihood ("ml.x") or rows dropped ("ml", fixed.x)
    "studyx_mlx": (STUDY_ONE, "study_x_holes", dict(missing="ml.x")),
    "studyx_ml": (STUDY_ONE, "study_x_holes", dict(missing="ml")),
    # 16 rows, 13 variables: the unrestricted model has no estimate; the model is fitted without it
    "few_ml": (FEW, "few_rows", dict(missing="ml", without_h1=True)),
    "few_mlr": (FEW, "few_rows", dict(missing="ml", estimator="MLR", without_h1=True)),
    "few_mlr_cluster": (FEW, "few_rows", dict(missing="ml", estimator="MLR", cluster="clu", without_h1=True)),
    # 12 rows for 13 variables: refused without ``without_h1`` (no unrestricted model), fitted with it
    "few12_ml": (FEW, "fewer_rows_than_variables", dict(missing="ml", without_h1=True)),
    "few12_mlr": (FEW, "fewer_rows_than_variables", dict(missing="ml", estimator="MLR", without_h1=True)),
}
WITHOUT_H1 = [c for c in CASES if CASES[c][2].get("without_h1")]
ML_MEASURES = ["chisq", "df", "baseline.chisq", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "logl",
               "unrestricted.logl"]
MLR_MEASURES = ["chisq.scaled", "chisq.scaling.factor", "baseline.chisq.scaled", "cfi.scaled", "tli.scaled",
                "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "cfi.robust", "tli.robust",
                "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust"]


def _data(name):
    return pd.read_csv(HERE / f"{name}.csv")


_FITS = {}


def _fit(case):
    if case not in _FITS:
        spec, data, kw = CASES[case]
        _FITS[case] = sem.fit(spec, _data(data), **kw)
    return _FITS[case]


def _merged(case):
    ref = EST[EST.fit == case].copy()
    ref["rhs"] = np.where(ref.op == ":=", "", ref.rhs)
    mine = _fit(case).estimates.copy()
    mine["rhs"] = np.where(mine.op == ":=", "", mine.rhs)
    merged = ref.merge(mine[["lhs", "op", "rhs", "group", "est", "se"]], on=["lhs", "op", "rhs", "group"],
                       suffixes=("_lav", ""))
    assert len(merged) == len(ref), f"{case}: {len(ref) - len(merged)} lavaan rows not matched"
    return merged


@pytest.mark.parametrize("case", list(CASES))
def test_estimates_and_standard_errors_match_lavaan(case):
    fit = _fit(case)
    assert fit.converged, fit.message
    m = _merged(case)
    assert np.max(np.abs(m.est - m.est_lav)) < 1e-4
    free = m.se_lav > 0
    rel = np.abs(m.se[free] - m.se_lav[free]) / m.se_lav[free]
    assert rel.max() < 1e-3, m[free][rel >= 1e-3]


@pytest.mark.parametrize("case", [c for c in CASES if c not in WITHOUT_H1])
def test_fit_measures_match_lavaan(case):
    fit = _fit(case)
    ref = FIT[FIT.fit == case].set_index("measure").value
    newer = FIT07[FIT07.fit == case].set_index("measure").value
    ref.update(newer[list(X_HOLES_LOGL.get(case, ()))])
    kw = CASES[case][2]
    names = ML_MEASURES + (MLR_MEASURES if kw.get("estimator") == "MLR" else
                           ["cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust",
                            "rmsea.ci.upper.robust"] if kw.get("missing") else [])
    checked = 0
    for name in names:
        if name not in ref.index:
            continue
        checked += 1
        mine, theirs = fit.fit_indices[name], ref[name]
        assert abs(mine - theirs) <= 1e-3 * max(abs(theirs), 1e-3), (name, mine, theirs)
    assert checked >= 8


def test_the_log_likelihood_with_a_covariates_holes_is_lavaan_07s():
    """missing = "ml.x" with a covariate with holes: the conditional log-likelihood subtracts the
    covariates' own FIML log-likelihood, as lavaan >= 0.7 (issue #226), within 1e-9 of lavaan 0.7-2.
    lavaan 0.6.14 subtracted a complete-data one: its logl and unrestricted.logl (hence AIC and
    BIC) are off by about 49 here (and not by quite the same amount: their difference is not
    minus half the chi-square, which both versions compute alike). Every other number of these
    reference fits is the same in both versions."""
    fit = _fit("studyx_mlx")
    old = FIT[FIT.fit == "studyx_mlx"].set_index("measure").value
    new = FIT07[FIT07.fit == "studyx_mlx"].set_index("measure").value
    for name in X_HOLES_LOGL["studyx_mlx"]:
        assert fit.fit_indices[name] == pytest.approx(new[name], rel=1e-9), name
    assert min(old["logl"] - new["logl"], old["unrestricted.logl"] - new["unrestricted.logl"]) > 40
    assert fit.fit_indices["chisq"] == pytest.approx(old["chisq"], rel=1e-6) == new["chisq"]
    assert fit.fit_indices["unrestricted.logl"] - fit.fit_indices["logl"] == pytest.approx(new["chisq"] / 2)
    both = FIT.merge(FIT07, on=["fit", "measure"], suffixes=("", "_07"))
    assert len(both) == len(FIT) == len(FIT07)
    other = ~((both.fit == "studyx_mlx") & both.measure.isin(X_HOLES_LOGL["studyx_mlx"] + ("bic2",)))
    np.testing.assert_allclose(both.value_07[other], both.value[other], rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("case", WITHOUT_H1)
def test_without_an_unrestricted_model_the_likelihood_matches_lavaan_and_the_rest_is_absent(case):
    """Too few rows for the unrestricted model: by default an error (as in
    test_too_few_rows_for_the_unrestricted_model_say_so); with ``without_h1`` the model is
    fitted anyway, as lavaan does, its estimates and SEs matching lavaan's (the test above)
    and its log-likelihood too, while everything that compares with the unrestricted model
    is NaN (lavaan's chi-square comes from its EM's last iterate) and the warnings say why."""
    spec, data, kw = CASES[case]
    with pytest.raises(ValueError, match=r"unrestricted \(h1\) model has no estimate|12 rows for 13 variables: too few"):
        sem.fit(spec, _data(data), **{k: v for k, v in kw.items() if k != "without_h1"})
    fit = _fit(case)
    ref = FIT[FIT.fit == case].set_index("measure").value
    for name in ("logl", "aic", "bic"):
        assert fit.fit_indices[name] == pytest.approx(ref[name], rel=1e-6), name
    assert fit.fit_indices["npar"] == ref["npar"] and fit.fit_indices["nobs"] == ref["ntotal"]
    for name in ("chisq", "pvalue", "cfi", "tli", "rmsea", "srmr", "baseline.chisq", "unrestricted.logl"):
        assert np.isnan(fit.fit_indices[name]), name
    assert not any(k.endswith((".scaled", ".robust", ".scaling.factor")) for k in fit.fit_indices)
    assert fit.warnings[0].startswith("no unrestricted (h1) model, so no chi-square, scaled test, fit indices or "
                                      "SRMR: the unrestricted (h1) model has no estimate")
    # the call that gives these numbers in lavaan (its MLR stops in the scaled test)
    call = fit.lavaan_call()
    if kw.get("estimator") == "MLR":
        se = "robust.cluster" if kw.get("cluster") else "robust.huber.white"
        assert f'estimator = "ML", missing = "ml"' in call and f'se = "{se}", test = "standard"' in call
    with pytest.raises(ValueError, match="has no chi-square"):
        sem.lr_test(fit, fit)


def test_without_an_unrestricted_model_covariates_with_holes_take_their_own_em_moments():
    """missing = "ml.x" with holes in a fixed covariate and no unrestricted model: the covariate's
    fixed moments are the EM estimates of the covariates alone (lavaan's come from its joint EM's
    last iterate, so there the two differ), the stand-in moments are positive definite, and the
    model is fitted on every row."""
    from lwo.sem.fiml import em_h1, missing_patterns

    data = _data("few_rows").copy()
    data.loc[[2, 9], "x"] = np.nan
    fit = sem.fit(FEW, data, missing="ml.x", without_h1=True)
    assert fit.converged and fit.warnings[0].startswith("no unrestricted (h1) model")
    assert fit.n_used["total"] == len(data)
    mom = fit._model.moments[0]
    x = list(fit.partable.ov_names).index("x")
    mu_x, sigma_x, _, _ = em_h1(missing_patterns(data[["x"]].dropna().to_numpy()))
    assert mom.mean[x] == pytest.approx(mu_x[0]) and mom.cov[x, x] == pytest.approx(sigma_x[0, 0])
    assert np.linalg.eigvalsh(mom.cov).min() > 0
    row = fit.estimates.query("lhs == 'x' and op == '~~' and rhs == 'x'").iloc[0]
    assert row.est == pytest.approx(sigma_x[0, 0]) and row.se == 0  # fixed at it


def test_scaled_difference_and_wald_tests_match_lavaan():
    ref = FIT[FIT.fit.isin(["study_lrt", "study_wald"])].set_index(["fit", "measure"]).value
    lrt = sem.lr_test(_fit("study_eq"), _fit("study_free"))
    assert lrt["method"] == "satorra.bentler.2001"
    assert lrt["df_diff"] == ref["study_lrt", "df_diff"]
    assert lrt["chisq_diff"] == pytest.approx(ref["study_lrt", "chisq_diff"], rel=1e-3)
    wald = sem.wald_test(_fit("study_free"), "b_black == b_white")
    assert wald["df"] == 1
    assert wald["stat"] == pytest.approx(ref["study_wald", "stat"], rel=1e-3)


def test_a_refit_on_the_same_data_reuses_the_unrestricted_model_with_the_same_numbers():
    """h1= shares the EM estimates, h1 information and score summaries of a fit on the
    same values (a multi-group model's equality refits); on other rows it is ignored."""
    spec, data, kw = CASES["study_eq"]
    free, fresh = _fit("study_free"), _fit("study_eq")
    reused = sem.fit(spec, _data(data), **kw, h1=free)
    assert reused._model._h1_cache is free._model._h1_cache
    # the baseline (independence) model and its scaled statistics come with the h1 model
    assert baseline_model(reused._model)[0] is baseline_model(free._model)[0]
    assert np.allclose(reused.estimates[["est", "se"]], fresh.estimates[["est", "se"]], rtol=1e-12, atol=0)
    for name, value in fresh.fit_indices.items():
        assert reused.fit_indices[name] == pytest.approx(value, rel=1e-12, nan_ok=True), name
    other = sem.fit(spec, _data(data).iloc[1:], **kw, h1=free)
    assert other._model._h1_cache is not free._model._h1_cache
    # started at the free model's estimates: the same optimum, to the convergence tolerance
    warm = sem.fit(spec, _data(data), **kw, h1=free, start=free)
    assert np.allclose(warm.estimates[["est", "se"]], fresh.estimates[["est", "se"]], rtol=1e-7, atol=1e-10)
    assert warm.fit_indices["chisq.scaled"] == pytest.approx(fresh.fit_indices["chisq.scaled"], rel=1e-9)


@pytest.mark.parametrize("case", ["study_eq", "hs_mar_ml"])
def test_leaving_out_the_robust_indices_changes_nothing_else(case):
    """robust_indices=False (constrained refits, bootstrap resamples) drops cfi/tli/rmsea.robust
    and nothing more: the estimates, SEs, other indices and scaled difference test are the same."""
    spec, data, kw = CASES[case]
    full, lean = _fit(case), sem.fit(spec, _data(data), **kw, robust_indices=False)
    robust = {"cfi.robust", "tli.robust", "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust"}
    assert robust <= set(full.fit_indices) and not robust & set(lean.fit_indices)
    assert lean.fit_indices == {k: v for k, v in full.fit_indices.items() if k not in robust}
    pd.testing.assert_frame_equal(lean.estimates, full.estimates)
    if case == "study_eq":
        assert sem.lr_test(lean, _fit("study_free")) == sem.lr_test(full, _fit("study_free"))


def test_mlr_with_the_standard_test_has_the_same_estimates_and_ses_without_the_scaling():
    """test="standard" (lavaan's option): the MLR sandwich SEs without the Yuan-Bentler scaling.
    The estimates table is the same; the scaled statistics and robust indices are absent, the
    lavaan call says so, and a scaled difference test is refused rather than computed unscaled."""
    spec, data, kw = CASES["study_free"]
    full, standard = _fit("study_free"), sem.fit(spec, _data(data), **kw, test="standard")
    pd.testing.assert_frame_equal(standard.estimates, full.estimates)
    assert not [k for k in standard.fit_indices if k.endswith((".scaled", ".robust")) or "scaling" in k]
    assert standard.fit_indices == {k: v for k, v in full.fit_indices.items() if k in standard.fit_indices}
    assert 'test = "standard"' in standard.spec_full and "test =" not in full.spec_full
    with pytest.raises(ValueError, match="scaled difference test"):
        sem.lr_test(_fit("study_eq"), standard)
    with pytest.raises(ValueError, match="test must be"):
        sem.fit(spec, _data(data), **kw, test="satorra.bentler")


def test_crossed_clusters_differ_from_lavaan_where_clusters_cross_groups():
    """Classrooms hold students of both groups. lavaan (crossed_clusters=False) treats
    each group's part of a classroom as its own cluster: the two groups' estimates get
    zero covariance. The default sums a classroom's scores over groups."""
    lavaan_like = _fit("study_free")
    crossed = sem.fit(STUDY, _data("study"), **STUDY_KW)
    names = list(crossed.vcov.index)
    i, j = names.index("b_black"), names.index("b_white")
    assert lavaan_like.vcov.iloc[i, j] == 0.0
    assert crossed.vcov.iloc[i, j] != 0.0
    se_lav = _merged("study_free").query("lhs == 'diff'").se_lav.iloc[0]
    se_lav_like = lavaan_like.estimates.query("lhs == 'diff'").se.iloc[0]
    se_crossed = crossed.estimates.query("lhs == 'diff'").se.iloc[0]
    assert se_lav_like == pytest.approx(se_lav, rel=1e-3)
    assert abs(se_crossed - se_lav) > 1e-3 * se_lav
    # the estimates are the same; only the (co)variances differ
    assert np.allclose(crossed.estimates.est, lavaan_like.estimates.est)


def test_missing_covariates_ml_drops_rows_and_ml_x_keeps_them():
    data = _data("study_x_holes")
    assert _fit("studyx_ml").n_used["total"] == int(data.grades.notna().sum())
    assert _fit("studyx_mlx").n_used["total"] == len(data)


def test_rows_missing_everything_are_dropped_and_n_used_reported():
    data = _data("hs_mcar")
    data.loc[:4, [f"x{k}" for k in range(1, 10)]] = np.nan
    fit = sem.fit(HS_CFA, data, missing="ml")
    assert fit.n_used == {"all": len(data) - 5, "total": len(data) - 5}
    listwise = sem.fit(HS_CFA, data, missing="listwise")
    assert listwise.n_used["total"] == int(data[[f"x{k}" for k in range(1, 10)]].notna().all(axis=1).sum())
    with pytest.raises(ValueError, match="missing values"):
        sem.fit(HS_CFA, data)


def test_a_variable_without_answers_is_a_clear_error():
    data = _data("hs_mcar")
    data["x3"] = np.nan
    with pytest.raises(ValueError, match=r"x3 \(0 observed\)"):
        sem.fit(HS_CFA, data, missing="ml")


def test_variables_never_observed_together_are_a_clear_error():
    """Two survey forms, each asking one of x1 and x2: no row identifies their covariance, so
    the unrestricted model (chi-square, scaled test) has no estimate. The error names the pair
    (lavaan only warns, and its EM then ignores the pair)."""
    data = _data("hs_mcar")
    form_a = np.arange(len(data)) % 2 == 0
    data.loc[form_a, "x1"] = np.nan
    data.loc[~form_a, "x2"] = np.nan
    for options in ({"missing": "ml"}, {"missing": "ml", "estimator": "MLR"}):
        with pytest.raises(ValueError, match=r"never observed together \(zero coverage.*\): x1 & x2$"):
            sem.fit(HS_CFA, data, **options)
    # one row with both: identified, but the unrestricted ML estimate is on the boundary
    data.loc[0, ["x1", "x2"]] = [data["x1"].mean(), data["x2"].mean()]
    with pytest.raises(ValueError, match=r"h1\) model has no estimate.*observed together least: x1 & x2 \(1 row of"):
        sem.fit(HS_CFA, data, missing="ml")
    data.loc[:19, ["x1", "x2"]] = data.loc[:19, ["x1", "x2"]].fillna(data[["x1", "x2"]].mean())  # twenty rows
    assert sem.fit(HS_CFA, data, missing="ml").converged


def test_a_variable_constant_in_a_group_is_a_clear_error():
    data = _data("study")
    data.loc[data.index % 7 == 0, "i1"] = np.nan
    data.loc[data["race"] == "Black", "i2"] = 4.0  # every Black student at the ceiling
    for options in ({"missing": "ml"}, {"missing": "ml", "estimator": "MLR", "cluster": "classroom"},
                    {"missing": "listwise"}):
        with pytest.raises(ValueError, match=r"no variation in group 'Black': i2 \(every value 4\)$"):
            sem.fit(STUDY, data, group="race", **options)


def test_too_few_rows_for_the_unrestricted_model_say_so():
    """40 rows, 12 variables, 30% of the values missing: the EM of the unrestricted model ends
    on a singular covariance matrix. The error gives the counts behind it, not collinearity alone
    (lavaan warns, then reports a chi-square from the EM's last iterate); its row count is one
    that suppress_row_counts hides."""
    rng = np.random.default_rng(3)
    p, n = 12, 40
    cols = [f"y{i}" for i in range(p)]
    values = rng.normal(size=(n, 2))[:, [i % 2 for i in range(p)]] * 0.7 + rng.normal(scale=0.7, size=(n, p))
    values[rng.random((n, p)) < 0.3] = np.nan
    data = pd.DataFrame(values, columns=cols)
    spec = "F1 =~ " + " + ".join(cols[0::2]) + "\nF2 =~ " + " + ".join(cols[1::2])
    for options in ({"missing": "ml"}, {"missing": "ml", "estimator": "MLR"}):
        with pytest.raises(ValueError, match=r"h1\) model has no estimate.*; 12 variables with 30% of their values "
                                             r"missing \(40 rows\) do not determine the unrestricted model's 90 "):
            sem.fit(spec, data, **options)
    # where counts of few students must not be shown, they are not
    with pytest.raises(ValueError) as info:
        sem.fit(spec, data, missing="ml")
    assert "(n < 50 rows)" in sem.suppress_row_counts(str(info.value), 50)
    assert "(n = 40 rows)" in sem.suppress_row_counts(str(info.value), 10)
    assert "40" not in sem.suppress_row_counts(str(info.value), None)
    # no more rows than variables (a sample of 8 students, fitted as the build fits, without_h1):
    # said as such, its count hidden too
    with pytest.raises(ValueError, match=r"fewer rows than its 12 variables \(8 rows\)") as info:
        sem.fit("y0 ~ " + " + ".join(cols[1:]), data.head(8).fillna(0.0), missing="ml", without_h1=True)
    assert "fewer rows than its 12 variables (n < 10 rows)" in sem.suppress_row_counts(str(info.value), 10)


def test_collinear_variables_are_named():
    """A variable that is the sum of two others (as a scale score saved beside its items): the
    error names the three, with complete data, FIML and MLR, and not the unrelated ones."""
    data = _data("hs_mcar").copy()
    data["x9"] = data["x7"] + data["x8"]
    complete = data.dropna()
    for frame, options in ((complete, {"missing": "listwise"}), (complete, {"missing": "listwise", "estimator": "MLR"}),
                           (data, {"missing": "ml"}), (data, {"missing": "ml", "estimator": "MLR"})):
        with pytest.raises(ValueError, match=r"collinear model variables: x7, x8, x9 \(one is a linear combination"):
            sem.fit(HS_CFA, frame, **options)
    # an exact relation whose rounding leaves the sample covariance a tiny positive eigenvalue
    # (here 7e-16): the same error at once, not a fit that chases a zero residual variance
    x = np.random.default_rng(1).normal(size=60)
    exact = pd.DataFrame({"x": x, "y": 0.25 * x + x})
    assert np.linalg.slogdet(np.cov(exact.T))[0] > 0
    with pytest.raises(ValueError, match=r"collinear model variables: y, x \(one is a linear combination"):
        sem.fit("y ~ x", exact)


def test_lavaan_call_states_every_option():
    call = _fit("study_free").lavaan_call()
    for part in ['estimator = "MLR"', 'missing = "ml"', 'cluster = "classroom"', 'group = "race"',
                 'group.label = c("Black", "White")', "fixed.x = TRUE"]:
        assert part in call


def test_delta_method_is_public_and_matches_defined_parameters():
    fit = _fit("study_free")
    row = fit.estimates.query("lhs == 'ind_black'").iloc[0]
    model = fit._model
    a1 = model.pt.label_index["a1"]
    b = model.pt.label_index["b_black"]
    est, se, _ = sem.delta_method(lambda t: t[a1] * t[b], fit._theta, fit.vcov.to_numpy())
    assert est == pytest.approx(row.est) and se == pytest.approx(row.se, rel=1e-6)


@pytest.mark.slow
def test_reference_values_regenerate(tmp_path, lavaan_r):
    """The committed reference values are what the R script writes."""
    copy = tmp_path / "make_reference.R"
    copy.write_text((HERE / "make_reference.R").read_text())
    subprocess.run(["Rscript", str(copy)], check=True, capture_output=True)
    new = pd.read_csv(tmp_path / "reference_fit.csv")
    assert np.allclose(new.value, FIT.value, rtol=1e-6, equal_nan=True)


def test_scores_in_chunks_equal_scores_at_once():
    """Chunked accumulation (used at large N) gives the same scores and score summaries."""
    from lwo.sem.fiml import moment_score_summary, pattern_terms

    fit = _fit("hs_mar_mlr")
    model, theta = fit._model, fit._theta
    whole, rows = (np.full((model.data[0].nobs, model.npar), np.nan) for _ in range(2))
    for idx, s in model.casewise_score_chunks(theta, 0):
        whole[idx] = s
    for idx, s in model.casewise_score_chunks(theta, 0, chunk=7):
        rows[idx] = s
    assert np.allclose(rows, whole, rtol=0, atol=1e-12)
    md, mom = model.data[0], model.moments[0]
    t = pattern_terms(md, mom.mean, mom.cov, keep=True)
    root = moment_score_summary(md, t, chunk=11)  # N > moments: a root of the cross-product
    codes = np.arange(md.nobs)  # one cluster per row: the casewise scores themselves
    casewise = moment_score_summary(md, t, codes, md.nobs, chunk=13)
    assert np.allclose(root.T @ root, casewise.T @ casewise, rtol=1e-9, atol=1e-9)
    assert np.allclose(casewise.sum(axis=0), 0, atol=1e-6)  # scores of the h1 MLE sum to zero


def test_both_forms_of_the_fiml_hessian_equal_a_numeric_one():
    """The observed information in moment coordinates (`moment_information`: the h1 information
    of the Yuan-Bentler trace and of the FIML-corrected indices) and the same Hessian contracted
    with derivative columns (`param_hessian`: the SEs' bread) against central second differences
    of -loglik, at a point that is not a maximum (every term of the Hessian counts there), with
    patterns of one to three holes."""
    from lwo.sem.fiml import missing_patterns, moment_information, param_hessian, pattern_terms, vech_indices

    rng = np.random.default_rng(11)
    p, n = 5, 300
    root = rng.normal(size=(p, p)) / 2 + np.eye(p)
    values = rng.normal(size=(n, p)) @ root.T + rng.normal(size=p)
    holes = rng.random((n, p)) < 0.2
    holes[holes.sum(axis=1) == p, 0] = False
    values[holes] = np.nan
    md = missing_patterns(values)
    assert len(md.patterns) > 10 and max(md.by_missing) >= 3  # keys: the number of holes
    mu, sigma = np.nanmean(values, axis=0) + 0.1, np.cov(np.nan_to_num(values).T) + 0.3 * np.eye(p)
    A, B, _ = vech_indices(p)
    q = p + A.size

    def minus_loglik(x):
        s = np.zeros((p, p))
        s[A, B] = s[B, A] = x[p:]
        return 0.5 * pattern_terms(md, x[:p], s)["m2ll"]

    x0 = np.concatenate([mu, sigma[A, B]])
    h = 1e-4
    steps = np.eye(q) * h
    numeric = np.array([[(minus_loglik(x0 + a + b) - minus_loglik(x0 + a - b) - minus_loglik(x0 - a + b)
                          + minus_loglik(x0 - a - b)) / (4 * h * h) for b in steps] for a in steps])
    lower = moment_information(md, pattern_terms(md, mu, sigma, keep=True), np.ones(q, dtype=bool))
    moments = np.tril(lower) + np.tril(lower, -1).T
    # derivative columns of the moments themselves: dSigma = u v' + v u', dmu = Dmu
    U, V, Dmu = np.zeros((p, q)), np.zeros((p, q)), np.zeros((p, q))
    Dmu[np.arange(p), np.arange(p)] = 1.0
    U[A, p + np.arange(A.size)] = 1.0
    V[B, p + np.arange(A.size)] = np.where(A == B, 0.5, 1.0)
    contracted = 0.5 * param_hessian(md, pattern_terms(md, mu, sigma), U, V, Dmu)  # of -2 loglik
    scale = np.abs(numeric).max()
    assert np.abs(moments - numeric).max() < 1e-5 * scale
    assert np.abs(contracted - numeric).max() < 1e-5 * scale
    assert np.abs(contracted - moments).max() < 1e-10 * scale
