"""The project's SEM engine (lwo.sem) against semopy 2.3.11, an independent implementation, on
single-group models: a CFA, a structural model of latent variables with residual covariances,
a mediation model with observed covariates, and an RQ1 model of lwo.specs on the synthetic
cohort.

semopy is given the engine's `spec_full` (every parameter written out), so both estimate the
same parameters, and a tight tolerance (`ftol` 1e-12: its default stops early, errors up to
~0.5%). Conventions that differ, and are checked as such:
* semopy writes a loading `f =~ x` as `x ~ f`; the tables are matched in lavaan's form.
* A residual covariance's std.all: lavaan (and the engine) divide by the residual SDs (a
  residual correlation; lavaan's Political Democracy y1 ~~ y5 is .296); semopy divides by the
  variables' total SDs (.092). Both are checked.
* semopy has no defined parameters (`:=`): an indirect effect computed from semopy's
  estimates is compared with the engine's.
* With observed covariates, both fix the covariates' moments at their sample values, so the
  estimates, SEs and chi-square agree, but semopy's degrees of freedom count the covariates'
  px(px+1)/2 moments as data (lavaan's and the engine's do not).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import semopy
from semopy.examples import holzinger39, political_democracy

from lwo import sem
from textbook_models import HS_CFA, PD_SEM
from lwo.codebook import Codebook
from lwo.model_data import model_ready
from lwo.specs import rq1_models

EST_TOL = 1e-4
SE_TOL = 1e-4



MEDIATION = """
M =~ m1 + m2 + m3
Y =~ y1 + y2 + y3
M ~ a*x + z1 + z2
Y ~ b*M + c*x + z1 + z2
"""


def simulated_mediation(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    z1 = 0.3 * x + rng.normal(size=n)
    z2 = rng.binomial(1, 0.4, size=n).astype(float)
    m = 0.5 * x + 0.2 * z1 - 0.3 * z2 + rng.normal(size=n)
    y = 0.4 * m + 0.15 * x + 0.1 * z1 + rng.normal(size=n)
    data = {"x": x, "z1": z1, "z2": z2}
    for k, lam in enumerate((1.0, 0.8, 0.7), start=1):
        data[f"m{k}"] = lam * m + rng.normal(scale=0.6, size=n)
        data[f"y{k}"] = lam * y + rng.normal(scale=0.6, size=n)
    return pd.DataFrame(data)


def fit_semopy(spec_full: str, data: pd.DataFrame) -> semopy.Model:
    # semopy has no defined parameters (`:=`): they are left out and checked separately
    model = semopy.Model("\n".join(line for line in spec_full.splitlines() if ":=" not in line))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.fit(data, options={"ftol": 1e-12, "maxiter": 20000})
    assert result.success, result.message
    return model


def semopy_table(model: semopy.Model, spec: str) -> pd.DataFrame:
    """semopy's estimates in lavaan's form: lhs, op, rhs, est, se, std.all (free parameters)."""
    loadings = {(s.lhs, s.rhs) for s in sem.parse_spec(spec).statements if s.op == "=~"}
    ins = model.inspect(std_est=True)
    ins = ins[ins["Std. Err"] != "-"]  # fixed parameters (marker loadings) have no SE
    rows = []
    for _, r in ins.iterrows():
        if r["op"] == "~" and (r["rval"], r["lval"]) in loadings:
            lhs, op, rhs = r["rval"], "=~", r["lval"]
        else:
            lhs, op, rhs = r["lval"], r["op"], r["rval"]
        rows.append({"lhs": lhs, "op": op, "rhs": rhs, "est": float(r["Estimate"]),
                     "se": float(r["Std. Err"]), "std.all": float(r["Est. Std"])})
    return pd.DataFrame(rows)


def matched(fit: sem.SEMFit, theirs: pd.DataFrame) -> pd.DataFrame:
    """Rows of both tables for the same parameter (covariances matched in either order)."""
    ours = fit.estimates[(fit.estimates["free"] > 0) & (fit.estimates["op"] != ":=")]
    ours = ours[["lhs", "op", "rhs", "est", "se", "std.all"]]
    flipped = theirs[theirs["op"] == "~~"].rename(columns={"lhs": "rhs", "rhs": "lhs"})
    both = pd.concat([theirs, flipped[flipped["lhs"] != flipped["rhs"]]], ignore_index=True)
    out = ours.merge(both, on=["lhs", "op", "rhs"], suffixes=("", "_semopy"), how="left")
    missing = out[out["est_semopy"].isna()]
    assert missing.empty, f"parameters semopy did not estimate: {missing[['lhs', 'op', 'rhs']].values.tolist()}"
    assert len(out) == len(theirs), "semopy estimates parameters the engine does not"
    return out


def assert_agree(fit: sem.SEMFit, model: semopy.Model, spec: str) -> pd.DataFrame:
    table = matched(fit, semopy_table(model, spec))
    assert np.max(np.abs(table["est"] - table["est_semopy"])) < EST_TOL
    assert np.max(np.abs(table["se"] - table["se_semopy"])) < SE_TOL
    covariance = (table["op"] == "~~") & (table["lhs"] != table["rhs"])
    same = table[~covariance]
    assert np.max(np.abs(same["std.all"] - same["std.all_semopy"])) < EST_TOL
    if covariance.any():
        # semopy: cov_ij / sqrt(sigma_ii sigma_jj) with total variances sigma = (residual) variance /
        # its std.all, from the engine's numbers; for exogenous variables the two conventions coincide
        var = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"])].set_index("lhs")
        total_var = var["est"] / var["std.all"]
        cov = table[covariance]
        semopy_convention = cov["est"] / np.sqrt(total_var[cov["lhs"]].to_numpy() * total_var[cov["rhs"]].to_numpy())
        assert np.max(np.abs(semopy_convention - cov["std.all_semopy"])) < EST_TOL
    return table


def semopy_chisq(model: semopy.Model) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = semopy.calc_stats(model).T["Value"]
    return float(stats["chi2"]), int(stats["DoF"])


def test_holzinger_swineford_cfa():
    data = holzinger39.get_data()
    fit = sem.fit(HS_CFA, data)
    model = fit_semopy(fit.spec_full, data)
    table = assert_agree(fit, model, HS_CFA)
    assert len(table) == 21
    chisq, df = semopy_chisq(model)
    assert chisq == pytest.approx(fit.fit_indices["chisq"], abs=1e-3)
    assert df == fit.fit_indices["df"] == 24


def test_political_democracy_sem_with_residual_covariances():
    data = political_democracy.get_data()
    fit = sem.fit(PD_SEM, data)
    model = fit_semopy(fit.spec_full, data)
    table = assert_agree(fit, model, PD_SEM)
    assert len(table) == fit.fit_indices["npar"] == 31
    y1y5 = table[(table["lhs"] == "y1") & (table["rhs"] == "y5")].iloc[0]
    assert y1y5["std.all"] == pytest.approx(0.296, abs=5e-4)  # lavaan's published residual correlation
    assert y1y5["std.all_semopy"] == pytest.approx(0.092, abs=5e-4)
    chisq, df = semopy_chisq(model)
    assert chisq == pytest.approx(38.125, abs=1e-3)  # lavaan's published value
    assert df == fit.fit_indices["df"] == 35


def test_mediation_with_observed_covariates():
    data = simulated_mediation()
    fit = sem.fit(MEDIATION, data)
    model = fit_semopy(fit.spec_full, data)
    table = assert_agree(fit, model, MEDIATION)
    # the covariates' moments are fixed by both: no parameter of x, z1, z2 among the estimated
    assert not table[(table["op"] == "~~") & table["lhs"].isin(["x", "z1", "z2"])].shape[0]
    chisq, df = semopy_chisq(model)
    assert chisq == pytest.approx(fit.fit_indices["chisq"], abs=1e-3)
    px = 3
    assert df - fit.fit_indices["df"] == px * (px + 1) // 2  # semopy counts the covariates' moments
    # a defined parameter computed from semopy's estimates equals the engine's
    est = table.set_index(["lhs", "op", "rhs"])["est_semopy"]
    ind = sem.defined(fit, "ind", "a*b")
    assert ind["est"] == pytest.approx(est[("M", "~", "x")] * est[("Y", "~", "M")], abs=EST_TOL)


def test_rq1_model_on_synthetic_cohort(cohort, codebook: Codebook):
    spec = rq1_models(codebook)["hqc_grades_via_engagement"]
    ready = model_ready(cohort["students"], codebook, spec, "all")
    fit = sem.fit(spec.syntax, ready.data)
    assert fit.converged, fit.message
    model = fit_semopy(fit.spec_full, ready.data)
    table = assert_agree(fit, model, spec.syntax)
    assert len(table) == fit.fit_indices["npar"]
    chisq, df = semopy_chisq(model)
    assert chisq == pytest.approx(fit.fit_indices["chisq"], abs=1e-2)
    px = len(spec.controls) - len(ready.dropped_controls)
    assert df - fit.fit_indices["df"] == px * (px + 1) // 2
    # the spec's indirect effect (a := line) from semopy's estimates
    est = table.set_index(["lhs", "op", "rhs"])["est_semopy"]
    ours = fit.estimates[(fit.estimates["op"] == ":=") & (fit.estimates["lhs"] == "indirect_current_grade")]
    theirs = sum(est[(m, "~", "hqc")] * est[("current_grade", "~", m)]
                 for m in ("emotional_engagement", "behavioral_engagement"))
    assert float(ours["est"].iloc[0]) == pytest.approx(theirs, abs=EST_TOL)
