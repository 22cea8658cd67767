"""Public SEM interface: fit, defined parameters, delta method, likelihood-ratio and Wald tests,
invariance, the reproducing lavaan call."""

from __future__ import annotations

import contextlib
import functools
import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from . import robust as robust_mod
from .engine import SINGULAR_RATIO, GroupMoments, RAMModel, fisher_scoring, moments_from_data
from .fiml import FIMLModel, H1Error, missing_patterns, pattern_terms, same_data
from .expr import compile_expression, expression_names
from .partable import ParTable, build_partable, full_spec_text
from .syntax import ModelDataError, parse_spec

__all__ = ["SEMFit", "fit", "defined", "delta_method", "lr_test", "wald_test", "lavaan_call", "invariance",
           "invariance_models", "invariance_table"]

ESTIMATE_COLUMNS = ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.all"]
FIT_INDEX_NAMES = [
    "npar", "nobs", "ngroups", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "baseline.pvalue",
    "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr",
    "logl", "unrestricted.logl", "aic", "bic", "bic2",
]
_Z975 = float(special.ndtri(0.975))


def _optimize():
    # scipy.optimize costs a fit job a fifth of a second of imports; only the quasi-Newton
    # fallback needs it
    from scipy import optimize

    return optimize


try:  # pinned in requirements.txt
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None


@functools.lru_cache(maxsize=1)
def _controller():
    # inspecting the loaded BLAS libraries costs ~20 ms: do it once per process
    return ThreadpoolController()


def _single_thread_blas():
    """The matrices are small (tens to hundreds of rows): a multi-threaded BLAS spends
    more time synchronising than computing (about 5x slower on 2 cores), so fits run
    with one BLAS thread; parallelism belongs to the workflow (one fit per job)."""
    if ThreadpoolController is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")


def _with_single_thread_blas(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _single_thread_blas():
            return func(*args, **kwargs)

    return wrapper


@dataclass
class SEMFit:
    """Result of :func:`fit`. Numbers are NaN when ``converged`` is False.

    ``estimator`` ("ML"/"MLR") and ``missing`` (None, "listwise", "ml", "ml.x") as
    requested; ``nobs`` / ``n_used``: rows used per group (and in total); ``options``:
    the fit options :meth:`lavaan_call` writes out. With MLR, ``vcov`` and the ``se``
    column are robust (cluster-robust with a cluster) and ``fit_indices`` add lavaan's
    ``chisq.scaled``, ``chisq.scaling.factor``, ``*.scaled`` and ``*.robust`` indices."""

    estimates: pd.DataFrame
    fit_indices: dict
    converged: bool
    iterations: int
    message: str
    vcov: pd.DataFrame
    spec_full: str
    spec: str = ""
    nobs: dict = field(default_factory=dict)
    group: str | None = None
    group_labels: list = field(default_factory=list)
    cluster: str | None = None
    vcov_cluster: pd.DataFrame | None = None
    warnings: list = field(default_factory=list)
    estimator: str = "ML"
    missing: str | None = None
    options: dict = field(default_factory=dict)
    _model: RAMModel | None = field(default=None, repr=False)
    _theta: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_used(self) -> dict:
        """Rows used by the fit: per group (as ``nobs``) and ``total``."""
        return {**self.nobs, "total": int(sum(self.nobs.values()))}

    def lavaan_call(self, model: str = "model", data: str = "data") -> str:
        """The lavaan call that reproduces this fit."""
        return lavaan_call(self, model=model, data=data)

    @property
    def partable(self) -> ParTable | None:
        return None if self._model is None else self._model.pt

    def summary(self) -> str:
        """Short text summary (fit line and the estimates table)."""
        fi = self.fit_indices
        head = (
            f"converged={self.converged} iterations={self.iterations} N={fi.get('nobs')} "
            f"chisq={fi.get('chisq'):.3f} df={fi.get('df')} p={fi.get('pvalue'):.4f} "
            f"CFI={fi.get('cfi'):.3f} TLI={fi.get('tli'):.3f} RMSEA={fi.get('rmsea'):.3f} SRMR={fi.get('srmr'):.3f}"
        )
        return head + "\n" + self.estimates.to_string(index=False)


# ------------------------------------------------------------------------- data
def _check_data(data: pd.DataFrame, columns: list[str]) -> None:
    absent = [c for c in columns if c not in data.columns]
    if absent:
        raise ValueError(f"variables in the model are not columns of the data: {absent}")
    counts = data[columns].isna().sum()
    missing = counts[counts > 0]
    if len(missing):
        detail = ", ".join(f"{k} ({v} missing)" for k, v in missing.items())
        raise ValueError(
            f"missing values in {detail}; delete incomplete rows first (listwise) and report the counts"
        )


def _numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    bad = [c for c in columns if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    if bad:
        raise ValueError(f"model variables must be numeric; not numeric: {bad}")
    return frame[columns].to_numpy(dtype=float)


# ---------------------------------------------------------------- start values
def _start_values(model: RAMModel, simple: bool = False) -> np.ndarray:
    """Starting values: loadings by least squares on covariances with the marker
    indicator (a light FABIN), factor variances from the marker's covariances,
    residual variances half the observed variance (as lavaan), intercepts at the
    sample means, everything else 0. ``simple``: loadings 1, factor variances 0.05."""
    pt = model.pt
    q = pt.npar
    theta = np.full(q, np.nan)
    ov_pos = {v: k for k, v in enumerate(pt.ov_names)}
    lv_set = set(pt.lv_names)
    for g in range(pt.ngroups):
        mom = model.moments[g]
        s = mom.cov
        rows = pt.group_rows(g)
        loadings: dict[str, list] = {}
        for r in rows:
            if r.op == "=~":
                loadings.setdefault(r.lhs, []).append(r)
        lam: dict[tuple[str, str], float] = {}
        psi: dict[str, float] = {}
        for f, lrows in loadings.items():
            obs = [r for r in lrows if r.rhs in ov_pos]
            marker = next((r for r in obs if not r.free and r.value != 0), None)
            for r in lrows:
                if not r.free:
                    lam[(f, r.rhs)] = r.value
                    continue
                if r.rhs in lv_set or simple:
                    lam[(f, r.rhs)] = 1.0
                    continue
                i = ov_pos[r.rhs]
                if marker is None:
                    lam[(f, r.rhs)] = math.sqrt(0.5 * s[i, i])
                    continue
                m = ov_pos[marker.rhs]
                others = [ov_pos[o.rhs] for o in obs if o.rhs not in (r.rhs, marker.rhs)]
                if others:
                    num = sum(s[i, j] * s[m, j] for j in others)
                    den = sum(s[m, j] ** 2 for j in others)
                    value = marker.value * num / den if den > 0 else 1.0
                else:
                    value = marker.value * s[i, m] / (0.5 * s[m, m])
                lam[(f, r.rhs)] = value if np.isfinite(value) and value != 0 else 1.0
            if marker is not None and not simple:
                m = ov_pos[marker.rhs]
                vals = [
                    s[m, ov_pos[o.rhs]] / (marker.value * lam[(f, o.rhs)])
                    for o in obs
                    if o is not marker and lam.get((f, o.rhs), 0) != 0
                ]
                vals = [v for v in vals if np.isfinite(v) and v > 0]
                psi[f] = float(np.mean(vals)) if vals else 0.5 * s[m, m] / marker.value**2
            else:
                psi[f] = 0.05
        for r in rows:
            if not r.free or not np.isnan(theta[r.index]):
                continue
            if r.start is not None:
                value = r.start
            elif r.op == "=~":
                value = lam[(r.lhs, r.rhs)]
            elif r.op == "~~" and r.lhs == r.rhs:
                if r.lhs in lv_set:
                    value = psi.get(r.lhs, 0.05)
                else:
                    value = 0.5 * s[ov_pos[r.lhs], ov_pos[r.lhs]]
            elif r.op == "~1":
                value = mom.mean[ov_pos[r.lhs]] if r.lhs in ov_pos else 0.0
            else:
                value = 0.0
            theta[r.index] = value
    theta[np.isnan(theta)] = 0.0
    return theta


def _start_from(model: RAMModel, previous: SEMFit) -> np.ndarray | None:
    """Start values from another fit's estimates: each free parameter takes the mean of
    the estimates of its rows there (None when a row has no counterpart)."""
    if previous._model is None or previous._theta is None:
        return None
    est = {(r.lhs, r.op, r.rhs, r.group): v
           for r, v in zip(previous._model.pt.rows, previous._model.row_values(previous._theta))}
    sums, counts = np.zeros(model.npar), np.zeros(model.npar)
    for r in model.pt.rows:
        if r.index >= 0:
            value = est.get((r.lhs, r.op, r.rhs, r.group))
            if value is None:
                return None
            sums[r.index] += value
            counts[r.index] += 1
    return sums / counts


def _optimise(model: RAMModel, max_iter: int, tol: float, warm: np.ndarray | None = None):
    attempts = []
    start = warm if warm is not None and np.isfinite(model.objective(warm)) else _start_values(model)
    if not np.isfinite(model.objective(start)):
        start = _start_values(model, simple=True)
    if isinstance(model, FIMLModel):
        # two-stage start: the complete-data ML fit to the EM moments is close to the FIML
        # estimates; Fisher-scoring steps (no second derivatives) to a decrement of 1e-6
        # (closer than that, it is its distance from the FIML estimates that counts)
        two_stage = RAMModel(model.pt, model.moments)
        theta0, ok0, _, _ = fisher_scoring(two_stage, start, max_iter=50, tol=1e-3, fisher=True)
        if ok0 and np.isfinite(model.objective(theta0)):
            start = theta0
            # chord steps, gradient-only iterations with one fixed curvature: first the exact
            # Hessian of the two-stage fit at its estimates (the FIML Hessian but for the
            # information the holes take away: cheap, and as fast here), then, where the steps
            # stop shrinking the decrement fast, the exact FIML Hessian at the current point
            used = 0
            hess0 = two_stage.evaluate(start, want_info=False, want_hess=True)[3]
            for _ in range(5):
                if hess0 is None:
                    break
                theta, ok, iters, msg = fisher_scoring(model, start, max_iter=min(max_iter, 100) - used, tol=tol,
                                                       curvature=hess0, slow=0.5)
                used += iters
                if ok:
                    return theta, True, used, msg
                if msg not in ("slow", "the fixed curvature is not positive definite") or used >= min(max_iter, 100):
                    break
                start = theta
                model.exact_hessian = True
                try:
                    hess0 = model.evaluate(start, want_info=False, want_hess=True)[3]
                finally:
                    model.exact_hessian = False
    theta, ok, iters, msg = fisher_scoring(model, start, max_iter=max_iter, tol=tol)
    attempts.append(msg)
    if ok:
        return theta, True, iters, msg
    if max_iter < 20:  # an explicit tiny cap is a request, not a difficulty
        return theta, False, iters, msg
    # fallback: quasi-Newton from the start values, then polish by Fisher scoring
    def fun(x):
        f = model.objective(x)
        return f if np.isfinite(f) else 1e10

    def jac(x):
        g = model.gradient(x)
        return g if g is not None else np.zeros_like(x)

    res = _optimize().minimize(fun, start, jac=jac, method="BFGS", options={"maxiter": max_iter, "gtol": 1e-9})
    theta2, ok2, iters2, msg2 = fisher_scoring(model, res.x, max_iter=max_iter, tol=tol)
    if ok2:
        return theta2, True, iters + res.nit + iters2, msg2 + " (after quasi-Newton restart)"
    return theta2, False, iters + res.nit + iters2, f"{attempts[0]}; restart: {msg2}"


# -------------------------------------------------------------- fit indices
def _ndat(model: RAMModel) -> int:
    p = model.n_obs
    px = len(model.pt.ov_x) if any(r.exo for r in model.pt.rows) else 0
    per = p * (p + 1) // 2 - px * (px + 1) // 2
    if model.meanstructure:
        per += p - px
    return per * model.ngroups


def _rescale_bentler(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    # lavaan leaves (near) zero elements unscaled (lav_residuals_rescale)
    out = x * scale
    near_zero = np.abs(x) < 1e-5
    out[near_zero] = x[near_zero]
    return out


def _fit_indices(model: RAMModel, theta: np.ndarray) -> dict:
    pt = model.pt
    N = model.ntotal
    G = model.ngroups
    p = model.n_obs
    fixed_x = any(r.exo for r in pt.rows)
    # the covariate block is saturated in lavaan's baseline model with or without fixed.x
    x_idx = [pt.ov_names.index(v) for v in pt.ov_x]
    px = len(pt.ov_x)
    chisq = 0.0
    base_chisq = 0.0
    logl = 0.0
    logl_h1 = 0.0
    srmr_total = 0.0
    llx_total = 0.0
    log2pi = math.log(2 * math.pi)
    for g in range(G):
        mom = model.moments[g]
        imp = model.implied(theta, g)
        sigma, mu = imp.sigma, imp.mu
        sign, logdet = np.linalg.slogdet(sigma)
        W = np.linalg.inv(sigma)
        d = mom.mean - mu if model.meanstructure else np.zeros(p)
        F = logdet + np.sum(W * mom.cov) - mom.logdet_cov - p + d @ W @ d
        chisq += mom.nobs * F
        # baseline: independence among non-covariates, covariate block at sample values
        base = np.diag(np.diag(mom.cov))
        if x_idx:
            base[np.ix_(x_idx, x_idx)] = mom.cov[np.ix_(x_idx, x_idx)]
        _, logdet_b = np.linalg.slogdet(base)
        base_chisq += mom.nobs * (logdet_b + np.trace(np.linalg.solve(base, mom.cov)) - mom.logdet_cov - p)
        # log-likelihood, conditional on fixed covariates as in lavaan
        ll = -mom.nobs / 2 * (p * log2pi + logdet + np.sum(W * mom.cov) + d @ W @ d)
        ll1 = -mom.nobs / 2 * (p * log2pi + mom.logdet_cov + p)
        if x_idx and fixed_x:
            if isinstance(model, FIMLModel):
                llx = _covariates_loglik(model.data[g], x_idx, mom.mean, mom.cov)
            else:
                sxx = mom.cov[np.ix_(x_idx, x_idx)]
                llx = -mom.nobs / 2 * (px * log2pi + np.linalg.slogdet(sxx)[1] + px)
            ll -= llx
            ll1 -= llx
            llx_total += llx
        logl += ll
        logl_h1 += ll1
        # SRMR (Bentler): residuals scaled by the sample standard deviations
        sd = np.sqrt(np.diag(mom.cov))
        scale = np.outer(1 / sd, 1 / sd)
        res_cov = _rescale_bentler(mom.cov, scale) - _rescale_bentler(sigma, scale)
        lower = res_cov[np.tril_indices(p)]
        if model.meanstructure:
            res_mean = _rescale_bentler(mom.mean, 1 / sd) - _rescale_bentler(mu, 1 / sd)
            srmr_g = math.sqrt((np.sum(lower**2) + np.sum(res_mean**2)) / (p * (p + 1) / 2 + p))
        else:
            srmr_g = math.sqrt(np.sum(lower**2) / (p * (p + 1) / 2))
        srmr_total += mom.nobs / N * srmr_g
    base_df = G * (p * (p + 1) // 2 - px * (px + 1) // 2 - (p - px))
    if isinstance(model, FIMLModel) and not model.has_h1:  # nothing to compare the model with
        logl = -sum(model._terms(theta, g)[1]["m2ll"] for g in range(G)) / 2 - llx_total
        return _without_h1_indices(model, logl, base_df)
    if isinstance(model, FIMLModel):  # casewise likelihood; the moments above are the EM estimates
        chisq = sum(model._terms(theta, g)[1]["m2ll"] - h1 for g, h1 in enumerate(model.h1_m2ll))
        base, btheta = robust_mod.baseline_model(model)
        base_chisq = model.ntotal * base.objective(btheta)
        logl_h1 = -sum(model.h1_m2ll) / 2 - llx_total  # conditional on fixed covariates, as lavaan
        logl = logl_h1 - chisq / 2
    npar = pt.npar
    df = _ndat(model) - npar
    if abs(chisq) < 1e-9:  # saturated model: rounding noise around 0
        chisq = 0.0
    pvalue = float(special.chdtrc(df, chisq)) if df > 0 else float("nan")
    base_p = float(special.chdtrc(base_df, base_chisq)) if base_df > 0 else float("nan")
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, base_chisq - base_df, 0.0)
    cfi = 1.0 if (t1 < 1.5e-8 and t2 < 1.5e-8) else 1 - t1 / t2  # lavaan: all.equal(t, 0)
    tl1 = (chisq - df) * base_df
    tl2 = (base_chisq - base_df) * df
    tli = 1 - tl1 / tl2 if (df > 0 and abs(tl2) > 0) else 1.0
    rmsea = math.sqrt(max(chisq / N / df - 1 / N, 0.0)) * math.sqrt(G) if df > 0 else 0.0
    ci_low, ci_up = robust_mod.rmsea_ci(chisq, df, N, G)
    rmsea_p = float(1.0 - special.chndtr(chisq, df, N * df * 0.05**2 / G)) if df > 0 else float("nan")
    aic = -2 * logl + 2 * npar
    bic = -2 * logl + npar * math.log(N)
    bic2 = -2 * logl + npar * math.log((N + 2) / 24)
    return {
        "npar": int(npar), "nobs": int(N), "ngroups": int(G),
        "chisq": float(chisq), "df": int(df), "pvalue": pvalue,
        "baseline.chisq": float(base_chisq), "baseline.df": int(base_df), "baseline.pvalue": base_p,
        "cfi": float(cfi), "tli": float(tli),
        "rmsea": float(rmsea), "rmsea.ci.lower": float(ci_low), "rmsea.ci.upper": float(ci_up),
        "rmsea.pvalue": rmsea_p, "srmr": float(srmr_total),
        "logl": float(logl), "unrestricted.logl": float(logl_h1),
        "aic": float(aic), "bic": float(bic), "bic2": float(bic2),
    }


def _covariates_loglik(md, x_idx: list[int], mean: np.ndarray, cov: np.ndarray) -> float:
    """Log-likelihood of the fixed covariates alone at their fixed moments: what the
    conditional log-likelihood (fixed.x) subtracts from the joint one. By FIML over the
    covariates' own missing-data patterns, as lavaan >= 0.7 (issue #226); lavaan 0.6 used the
    complete-data formula, which differs where a covariate has holes (the chi-square does not:
    the term cancels)."""
    values = md.values[:, x_idx]
    values = values[~np.isnan(values).all(axis=1)]
    terms = pattern_terms(missing_patterns(values), mean[x_idx], cov[np.ix_(x_idx, x_idx)])
    return -terms["m2ll"] / 2


def _without_h1_indices(model: RAMModel, logl: float, base_df: int) -> dict:
    """The fit indices of a FIML fit whose unrestricted model has no estimate: the counts,
    the log-likelihood and the information criteria; NaN for whatever compares with the
    unrestricted or the baseline model."""
    npar, N = model.pt.npar, model.ntotal
    nan = float("nan")
    out = {"npar": int(npar), "nobs": int(N), "ngroups": int(model.ngroups), "chisq": nan,
           "df": int(_ndat(model) - npar), "pvalue": nan, "baseline.chisq": nan, "baseline.df": int(base_df),
           "baseline.pvalue": nan}
    out.update(dict.fromkeys(("cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue", "srmr"), nan))
    out.update({"logl": float(logl), "unrestricted.logl": nan, "aic": float(-2 * logl + 2 * npar),
                "bic": float(-2 * logl + npar * math.log(N)), "bic2": float(-2 * logl + npar * math.log((N + 2) / 24))})
    return out


# ------------------------------------------------------------ names, values
def _parameter_names(pt: ParTable) -> list[str]:
    names: list[str | None] = [None] * pt.npar
    for r in pt.rows:
        if r.index >= 0 and names[r.index] is None:
            names[r.index] = r.label if r.label else r.name
    return [str(n) for n in names]


def _label_values(model: RAMModel, theta: np.ndarray, std: np.ndarray | None = None, group: int | None = None) -> dict:
    """Label -> value (unstandardised from theta, or std.all of its first row)."""
    out: dict[str, float] = {}
    for rid, r in enumerate(model.pt.rows):
        if not r.label or r.label in out:
            continue
        if group is not None and r.group != group:
            continue
        if std is None:
            out[r.label] = theta[r.index] if r.index >= 0 else r.value
        else:
            out[r.label] = std[rid]
    return out


def _evaluate_definitions(model: RAMModel, values: dict) -> dict:
    """Add spec ':=' definitions (in order, each may use the earlier ones)."""
    values = dict(values)
    for d in model.pt.definitions:
        values[d.name] = compile_expression(d.expr)(values)
    return values


def delta_method(func, theta: np.ndarray, vcov: np.ndarray, indices=None) -> tuple[float, float, np.ndarray]:
    """Delta method: value, standard error and gradient (central differences) of a
    scalar ``func(theta)`` given the covariance ``vcov`` of ``theta``. ``indices``: the
    only elements of theta that func depends on (the others get a zero derivative)."""
    theta = np.asarray(theta, dtype=float)
    vcov = np.asarray(vcov, dtype=float)
    est = func(theta)
    grad = np.zeros(theta.size)
    for k in range(theta.size) if indices is None else indices:
        h = 1e-6 * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        grad[k] = (func(tp) - func(tm)) / (2 * h)
    var = float(grad @ vcov @ grad)
    return est, math.sqrt(var) if var >= 0 else float("nan"), grad


def _inference(est: float, se: float, prefix: str = "") -> dict:
    if se is None or not np.isfinite(se) or se <= 0:
        return {f"se{prefix}": se if se is not None else float("nan"), f"z{prefix}": float("nan"),
                f"pvalue{prefix}": float("nan"), f"ci.lower{prefix}": est if se == 0 else float("nan"),
                f"ci.upper{prefix}": est if se == 0 else float("nan")}
    z = est / se
    return {
        f"se{prefix}": se,
        f"z{prefix}": z,
        f"pvalue{prefix}": math.erfc(abs(z) / math.sqrt(2.0)),  # 2 * (1 - Phi(|z|)), without scipy per row
        f"ci.lower{prefix}": est - _Z975 * se,
        f"ci.upper{prefix}": est + _Z975 * se,
    }


# ---------------------------------------------------------------- spec_full
def _spec_full(pt: ParTable, group: str | None, group_labels: list, call: str) -> str:
    return full_spec_text(pt.rows, pt.ngroups, title=f"Every parameter written out; fit with {call}",
                          group_labels=group_labels if group is not None else None, covariates=pt.ov_x,
                          names=set(pt.ov_names) | set(pt.lv_names), latents=set(pt.lv_names),
                          definitions=pt.definitions)


# --------------------------------------------------------------------- fit
MISSING_CHOICES = (None, "listwise", "ml", "ml.x")
NO_H1 = "no unrestricted (h1) model"  # how a fit's warnings begin that say why it has no chi-square


def _usable_rows(data: pd.DataFrame, pt: ParTable, missing: str | None, fixed_x: bool) -> np.ndarray:
    """Rows the fit uses (lavaan's rules): listwise = complete rows; "ml" = rows with at
    least one model variable observed and (with fixed.x) every exogenous covariate
    observed; "ml.x" = rows with at least one model variable observed."""
    na = data[list(pt.ov_names)].isna().to_numpy()
    if missing is None:
        return np.ones(len(data), dtype=bool)
    if missing == "listwise":
        return ~na.any(axis=1)
    keep = ~na.all(axis=1)
    if missing == "ml" and fixed_x and pt.ov_x:
        keep &= ~data[list(pt.ov_x)].isna().to_numpy().any(axis=1)
    return keep


def _observed_together(values: np.ndarray) -> np.ndarray:
    """Rows observing each pair of variables (lavaan's coverage, as counts)."""
    observed = (~np.isnan(values)).astype(float)
    return observed.T @ observed


def _check_coverage(values: np.ndarray, columns: list, where: str) -> None:
    """Refuse two variables that no row observes together (zero coverage, as from survey
    forms that never ask both): nothing in the data identifies their covariance, so the
    unrestricted model and what rests on it (chi-square, scaled tests, fit indices) have no
    estimate. lavaan warns and fits anyway; its EM then ignores the pair."""
    a, b = np.nonzero(np.triu(_observed_together(values) == 0, 1))
    if a.size:
        pairs = [f"{columns[i]} & {columns[j]}" for i, j in zip(a[:5], b[:5])]
        more = f" and {a.size - 5} more pairs" if a.size > 5 else ""
        raise ModelDataError(f"model variables never observed together{where} (zero coverage: their covariance is "
                         f"not identified): {', '.join(pairs)}{more}")


_ROW_COUNTS = re.compile(r" \((\d+) observed\)| \((\d+) rows? of (\d+)\)| \((\d+) rows( in group '[^']*')?\)")


def count_text(n: int, min_cell: int) -> str:
    """A count of rows (students) for a message: counts below the privacy threshold are not shown."""
    return f"n = {n}" if n == 0 or n >= min_cell else f"n < {min_cell}"


def suppress_row_counts(text: str, min_cell: int | None) -> str:
    """A data error of :func:`fit` with its row counts ("x3 (1 observed)", "x1 & x2 (3 rows of
    301)") below ``min_cell`` written "n < min_cell", or, with None, every count left out: the
    message can then be shown where counts of few students must not be."""
    def replace(m: re.Match) -> str:
        if min_cell is None:
            return ""
        if m[1] is not None:
            return f" ({count_text(int(m[1]), min_cell)} observed)"
        if m[4] is not None:
            return f" ({count_text(int(m[4]), min_cell)} rows{m[5] or ''})"
        return f" ({count_text(int(m[2]), min_cell)} of {count_text(int(m[3]), min_cell)} rows)"

    return _ROW_COUNTS.sub(replace, text)


def _least_covered(values: np.ndarray, columns: list) -> tuple[int, str]:
    """The pair of variables the fewest rows observe together, as (rows, text)."""
    together = _observed_together(values)
    together[np.tril_indices(len(columns))] = np.inf
    i, j = np.unravel_index(np.argmin(together), together.shape)
    k = int(together[i, j])
    return k, f"{columns[i]} & {columns[j]} ({k} row{'s' if k != 1 else ''} of {len(values)})"


def _collinear(values: np.ndarray, columns: list) -> list[str]:
    """The variables of an exact linear dependence among the complete rows (those with a
    weight in the eigenvector of the smallest eigenvalue of their correlation matrix), or []
    when there is none or too few complete rows to tell."""
    rows = values[~np.isnan(values).any(axis=1)]
    if len(rows) <= len(columns):
        return []
    sd = rows.std(axis=0)
    if np.any(sd == 0):
        return []
    z = (rows - rows.mean(axis=0)) / sd
    eigenvalues, vectors = np.linalg.eigh(z.T @ z / len(rows))
    if eigenvalues[0] > SINGULAR_RATIO * eigenvalues[-1]:
        return []
    weight = np.abs(vectors[:, 0])
    return [c for c, w in zip(columns, weight) if w > 1e-3 * weight.max()]


def _collinear_text(values: np.ndarray, columns: list, where: str) -> str:
    names = _collinear(values, columns)
    return (f"collinear model variables{where}: {', '.join(names)} (one is a linear combination of the "
            "others)") if names else ""


@_with_single_thread_blas
def fit(
    spec: str,
    data: pd.DataFrame,
    *,
    group: str | None = None,
    cluster: str | None = None,
    meanstructure: bool | None = None,
    group_order: list | None = None,
    group_equal: tuple[str, ...] | list[str] = (),
    group_partial: tuple[str, ...] | list[str] = (),
    fixed_x: bool = True,
    missing: str | None = None,
    estimator: str = "ML",
    crossed_clusters: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-10,
    cluster_information: str = "observed",
    h1: SEMFit | None = None,
    start: SEMFit | None = None,
    robust_indices: bool = True,
    test: str | None = None,
    without_h1: bool = False,
) -> SEMFit:
    """Fit a structural equation model by maximum likelihood (lavaan ``sem()`` defaults).

    Parameters
    ----------
    spec : lavaan model syntax.
    data : the data; by default every model variable must be observed (a ValueError
        names the columns with missing values), see ``missing``.
    group : column defining groups: one joint likelihood over the groups; parameters
        are free per group unless they share a label or ``group_equal`` says otherwise.
    group_order : groups to use, in this order (lavaan ``group.label``); default: all
        groups in order of first appearance, as lavaan.
    missing : None (complete data required), "listwise" (incomplete rows dropped),
        "ml" (full-information ML, lavaan ``missing = "ml"``: every row with at least one
        observed model variable; with ``fixed_x`` rows missing an exogenous covariate are
        dropped, as lavaan does, because the covariate moments are fixed at their sample
        values), or "ml.x" (lavaan ``missing = "ml.x"``: covariates with holes stay in the
        joint likelihood; their moments are fixed at the EM estimates of the unrestricted
        model). FIML has a mean structure; its standard errors use the observed
        information (lavaan's default for ``missing = "ml"``: ``information = "observed"``,
        ``observed.information = "hessian"``, ``h1.information = "structured"``); the
        chi-square compares with the unrestricted model fitted by EM; the fit indices add
        lavaan's FIML-corrected ``cfi.robust``, ``tli.robust`` and ``rmsea.robust`` (with its CI).
    estimator : "ML", or "MLR" (lavaan ``estimator = "MLR"``): ML estimates, Huber-White
        sandwich SEs in ``se`` (observed-information bread, first-order meat; clustered
        when ``cluster`` is given: Mplus ``TYPE = COMPLEX``), and the Yuan-Bentler scaled
        chi-square (``yuan.bentler.mplus``) with lavaan's scaled and robust CFI, TLI, RMSEA.
    cluster : column of cluster ids. With "ML": adds cluster-robust sandwich SEs
        (``se.cluster`` etc.: bread = observed information, or expected with
        ``cluster_information="expected"``). With "MLR": ``se`` is the cluster-robust SE
        (also in ``se.cluster``) and the chi-square scaling uses the cluster sums.
    crossed_clusters : how clusters meet groups in a multi-group fit (default True).
        A cluster id is one cluster whatever the groups of its members: each cluster's
        casewise scores are summed over all groups before the outer product, and the
        small-sample factor is G/(G-1) over all G clusters. lavaan instead numbers
        clusters within each group and adds one meat matrix per group, which treats
        the Black and White students of one classroom as two independent clusters:
        the covariance between the groups' estimates is then exactly zero and the SE of
        a between-group contrast ignores the classroom effect both groups share (too
        large when classroom effects are positively correlated across groups). False
        reproduces lavaan.
    meanstructure : default as lavaan: True with groups, ``~ 1`` in the spec or FIML.
    group_equal, group_partial : lavaan's ``group.equal`` / ``group.partial``.
    fixed_x : lavaan's ``fixed.x`` (True = covariate moments fixed, not estimated: at their sample
        values, or with FIML where covariates have holes at their EM estimates).
    max_iter, tol : iteration cap and convergence tolerance (Newton decrement).
    h1 : a FIML or MLR fit whose unrestricted (h1) model is reused when it was fitted to
        the same values (rows, model variables, groups): the EM estimates, the h1
        information and score summaries depend on the data only, so nested models on the
        same data (constrained refits, invariance levels) compute them once. Ignored
        when the values differ. The results are those of a fit without it.
    start : a fit whose estimates start this one (e.g. the free model of a constrained
        refit; parameters shared by several of its rows start at their mean). The
        estimates agree with a fit from the default start values to the convergence
        tolerance; where a parameter has no counterpart the default start values are used.
    robust_indices : False leaves ``cfi.robust``, ``tli.robust`` and ``rmsea.robust`` (and its CI) out of
        ``fit_indices``, for fits nobody reads them from (a constrained refit that only enters a
        scaled difference test, a bootstrap resample). With FIML they take a second pass over
        the missing-data patterns, a tenth to a fifth of the fit's time (lavaan, too, computes
        them only when ``fitMeasures()`` asks). Everything else is the same.
    test : None (the estimator's own: the standard chi-square with ML, the Yuan-Bentler scaled
        one with MLR) or "standard" (lavaan ``test = "standard"``): with MLR, the sandwich SEs
        without the scaled test, for fits whose test nobody reads (a Monte Carlo replicate
        decided by a Wald test). The scaling needs the unrestricted model's information and
        scores, about a third of a FIML + MLR fit's time; the ``.scaled`` statistics and the
        robust indices are then absent, and ``lr_test`` refuses the fit.
    without_h1 : with FIML, what to do when a group's unrestricted (h1) model has no
        estimate (its EM meets a singular covariance matrix or does not converge, as with
        about as many students as variables, or fewer): False raises H1Error with the likely cause
        (and refuses fewer rows than variables outright);
        True fits the model anyway, as lavaan does (it warns): the estimates and their SEs
        (observed information; MLR's sandwich) do not involve the unrestricted model, but
        the chi-square, the scaled test, the fit indices and SRMR compare with it, so they
        are NaN and the fit's ``warnings`` say why. lavaan's call then gives the same
        estimates and SEs (its chi-square comes from the EM's last iterate). With ``"ml.x"``
        the fixed covariate moments are the EM estimates of the covariates alone (lavaan's
        come from its joint EM's last iterate). Collinear variables (one a combination of
        others) are refused all the same: they leave no model a proper likelihood.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if cluster_information not in ("observed", "expected"):
        raise ValueError("cluster_information must be 'observed' or 'expected'")
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be one of {MISSING_CHOICES}, not {missing!r}")
    if estimator not in ("ML", "MLR"):
        raise ValueError(f"estimator must be 'ML' or 'MLR', not {estimator!r}")
    if test not in (None, "standard"):
        raise ValueError(f"test must be None (the estimator's own) or 'standard', not {test!r}")
    fiml = missing in ("ml", "ml.x")
    parsed = parse_spec(spec)
    group_labels: list = [None]
    if group is not None:
        _check_data(data, [group])
        present = list(pd.unique(data[group]))
        if group_order is None:
            group_labels = present  # lavaan: order of first appearance
        else:
            group_labels = list(group_order)
            absent = [g for g in group_labels if g not in present]
            if absent:
                raise ValueError(f"groups {absent} do not occur in column {group!r}")
            data = data[data[group].isin(group_labels)]
        if len(group_labels) < 2:
            raise ValueError(f"group column {group!r} has fewer than two groups")
    ngroups = len(group_labels)
    pt = build_partable(
        parsed,
        ngroups=ngroups,
        meanstructure=True if fiml else (bool(meanstructure) if meanstructure is not None else False),
        group_equal=tuple(group_equal),
        group_partial=tuple(group_partial),
        fixed_x=fixed_x,
    )
    if meanstructure is False and pt.meanstructure and (ngroups > 1 or fiml or any(r.op == "~1" for r in pt.rows)):
        warnings.warn("meanstructure=False ignored: groups, FIML or '~ 1' terms need a mean structure", stacklevel=2)
    columns = list(pt.ov_names)
    absent = [c for c in columns + ([cluster] if cluster else []) if c not in data.columns]
    if absent:
        raise ValueError(f"variables in the model are not columns of the data: {absent}")
    if cluster:
        _check_data(data, [cluster])
    if missing is None:
        _check_data(data, columns)
    data = data[_usable_rows(data, pt, missing, fixed_x)]
    values = _numeric_matrix(data, columns)
    if np.any(np.isinf(values)):
        bad = [c for k, c in enumerate(columns) if np.any(np.isinf(values[:, k]))]
        raise ValueError(f"non-finite values (inf) in {bad}")
    for d in pt.definitions:
        for name in expression_names(d.expr):
            known = set(pt.label_index) | set(pt.label_fixed) | {x.name for x in pt.definitions}
            if name not in known:
                raise ValueError(f"defined parameter {d.name!r} uses unknown label {name!r}")
    codes_all = pd.factorize(data[cluster])[0] if cluster else None

    def in_group(label) -> str:  # where a data error is, for its message
        return "" if group is None else f" in group {label!r}"

    moments: list[GroupMoments] = []
    missing_data = []
    nobs: dict = {}
    for label in group_labels:
        mask = np.ones(len(data), dtype=bool) if group is None else (data[group] == label).to_numpy()
        codes = None
        if cluster:
            codes = codes_all[mask] if crossed_clusters else pd.factorize(data.loc[mask, cluster])[0]
        # the sample covariance matrix (and FIML's unrestricted model) needs more rows than variables;
        # FIML's casewise likelihood of a structured model does not
        if mask.sum() <= len(columns) and not (fiml and without_h1):
            where = "the data have" if group is None else f"group {label!r} has"
            raise ValueError(f"{where} {mask.sum()} rows for {len(columns)} variables: too few to fit")
        where = in_group(label)
        if fiml or estimator == "MLR":
            observed = (~np.isnan(values[mask])).sum(axis=0)
            few = [f"{c} ({k} observed)" for c, k in zip(columns, observed) if k < 2]
            if few:
                raise ModelDataError(f"model variables with fewer than two observed values{where}: {', '.join(few)}")
        lo, hi = np.nanmin(values[mask], axis=0), np.nanmax(values[mask], axis=0)
        constant = [f"{c} (every value {v:g})" for c, v, w in zip(columns, lo, hi) if v == w]
        if constant:  # e.g. every student of a small group at a 4-point item's ceiling
            raise ModelDataError(f"model variables with no variation{where}: {', '.join(constant)}")
        if fiml or estimator == "MLR":
            _check_coverage(values[mask], columns, where)
            md = missing_patterns(values[mask])
            md.cluster = codes
            missing_data.append(md)
        else:
            try:
                moments.append(moments_from_data(values[mask], keep_data=bool(cluster), cluster=codes))
            except ValueError as err:  # a singular covariance matrix: say which variables, where one can
                named = _collinear_text(values[mask], columns, where)
                if named:
                    raise ModelDataError(f"{named}: {err}") from None
                raise
        nobs[str(label) if label is not None else "all"] = int(mask.sum())
    if missing_data:
        previous = h1._model if h1 is not None and isinstance(h1._model, FIMLModel) else None
        reuse = previous if previous and same_data(previous.data, missing_data) else None
        try:
            model = FIMLModel(pt, missing_data, h1=reuse, without_h1=without_h1)
        except H1Error as err:
            raise H1Error(_h1_reason(err, missing_data[err.group], columns, in_group(group_labels[err.group]))) \
                from None
        h1_notes = []
        for g, err in sorted(model.h1_errors.items()):
            where = in_group(group_labels[g])
            named = _collinear_text(missing_data[g].values, columns, where)
            if named:  # collinear data leave no model a likelihood to maximise
                raise H1Error(f"{err}; {named}")
            h1_notes.append(f"{NO_H1}{where}, so no chi-square, scaled test, fit indices or SRMR: "
                            f"{_h1_reason(err, missing_data[g], columns, where)}")
    else:
        model = RAMModel(pt, moments)
        h1_notes = []
    model.fiml = fiml
    options = {"missing": missing, "estimator": estimator, "fixed_x": fixed_x, "group_equal": tuple(group_equal),
               "group_partial": tuple(group_partial), "crossed_clusters": crossed_clusters,
               "meanstructure": pt.meanstructure, "group_order": [str(x) for x in group_labels] if group else []}
    if test is not None:
        options["test"] = test
    if h1_notes:
        options["without_h1"] = True
    spec_full = _spec_full(pt, group, [str(x) for x in group_labels],
                           call=_call_string(estimator, missing, cluster, group, options["group_order"], options))
    names = _parameter_names(pt)

    def failed(message, iterations):
        out = _failed(model, spec, spec_full, names, nobs, group, group_labels, cluster, message, iterations)
        out.estimator, out.missing, out.options = estimator, missing, options
        return out

    df = _ndat(model) - pt.npar
    if df < 0:
        return failed(f"model not identified: {pt.npar} free parameters for {_ndat(model)} sample moments "
                      f"(df = {df})", 0)
    warm = _start_from(model, start) if start is not None and start.converged else None
    theta, converged, iterations, message = _optimise(model, max_iter, tol, warm)
    if not converged:
        # An unidentified model drifts along its flat ridge instead of converging; where the
        # information is singular at the last iterate, that (not the iteration count) is the cause.
        if _smallest_scaled_eigenvalue(model.fisher_information(theta)) <= 1e-8:
            return failed("the information matrix is singular: the model is not identified "
                          f"(no convergence within {iterations} iterations)", iterations)
        return failed(f"not converged: {message}", iterations)
    observed = fiml or estimator == "MLR"
    info = model.observed_information(theta) if observed else model.fisher_information(theta)
    eig_min = _smallest_scaled_eigenvalue(info)
    if eig_min <= 1e-10:
        return failed("the information matrix is singular: the model is not identified "
                      f"(smallest scaled eigenvalue {eig_min:.3g})", iterations)
    info_inv = np.linalg.inv(info)
    vcov = 0.5 * (info_inv + info_inv.T)
    notes = h1_notes + _admissibility(model, theta)

    vcov_cluster = None
    robust = None
    if estimator == "MLR" and (test == "standard" or h1_notes):
        vcov = robust_mod.sandwich(model, theta, info_inv, crossed=crossed_clusters)
        if cluster:
            vcov_cluster = vcov
    elif estimator == "MLR":
        robust = robust_mod.mlr(model, theta, info_inv, crossed=crossed_clusters)
        vcov = robust["vcov"]
        if cluster:
            vcov_cluster = vcov
    elif cluster:
        if fiml:
            vcov_cluster = robust_mod.sandwich(model, theta, info_inv, crossed=crossed_clusters)
        else:
            vcov_cluster = _cluster_vcov(model, theta, cluster_information, info, crossed_clusters)

    estimates = _estimates_table(model, theta, vcov, vcov_cluster)
    fit_indices = _fit_indices(model, theta)
    if robust is not None:
        fit_indices.update(robust_mod.robust_indices(model, theta, fit_indices, robust, with_robust=robust_indices))
    elif fiml and robust_indices and estimator == "ML" and not h1_notes:
        fit_indices.update(robust_mod.robust_indices_ml(model, theta, fit_indices))
    text = f"converged after {iterations} iterations"
    if notes:
        text += "; " + "; ".join(notes)
    return SEMFit(
        estimates=estimates,
        fit_indices=fit_indices,
        converged=True,
        iterations=iterations,
        message=text,
        vcov=pd.DataFrame(vcov, index=names, columns=names),
        spec_full=spec_full,
        spec=spec,
        nobs=nobs,
        group=group,
        group_labels=[str(x) for x in group_labels] if group else [],
        cluster=cluster,
        vcov_cluster=None if vcov_cluster is None else pd.DataFrame(vcov_cluster, index=names, columns=names),
        warnings=notes,
        estimator=estimator,
        missing=missing,
        options=options,
        _model=model,
        _theta=theta,
    )


def _h1_reason(err: H1Error, md, columns: list, where: str) -> str:
    """Why a group's unrestricted model has no estimate: the EM's failure and its usual
    causes, a pair of variables seldom observed together or collinear variables."""
    k, text = _least_covered(md.values, columns)
    if k < 0.1 * md.nobs:  # lavaan warns below 10% coverage
        return f"{err}; the pair of variables observed together least{where}: {text}"
    named = _collinear_text(md.values, columns, where)
    if named:
        return f"{err}; {named}"
    p = len(columns)
    if md.nobs <= p:  # no more rows than variables: singular whatever the holes
        return (f"{err}; fewer rows than its {p} variables ({md.nobs} rows{where}), which then do not "
                "determine the unrestricted model's covariance matrix (singular whatever the holes)")
    # otherwise: few rows with many holes for the unrestricted model's moments (lavaan only
    # warns, and reports a chi-square from the EM's last iterate)
    return (f"{err}; {p} variables with {np.isnan(md.values).mean():.0%} of their values missing "
            f"({md.nobs} rows{where}) do not determine the unrestricted model's "
            f"{p * (p + 3) // 2:,} means, variances and covariances, or collinear variables (one a "
            "combination of others) do this")


def _smallest_scaled_eigenvalue(info: np.ndarray) -> float:
    """Scale-free identification check: the smallest eigenvalue of the information in
    correlation form."""
    diag = np.sqrt(np.clip(np.abs(np.diag(info)), 1e-300, None))
    return float(np.linalg.eigvalsh(info / np.outer(diag, diag)).min())


def _admissibility(model: RAMModel, theta: np.ndarray) -> list[str]:
    notes = []
    for g in range(model.ngroups):
        imp = model.implied(theta, g)
        variances = np.diag(imp.S)
        neg = [model.var_names[k] for k in range(model.n_all) if variances[k] < 0]
        if neg:
            notes.append(f"negative (residual) variances{'' if model.ngroups == 1 else f' in group {g + 1}'}: {neg}")
        lv = slice(model.n_obs, model.n_all)
        if model.n_all > model.n_obs:
            ev = np.linalg.eigvalsh(imp.full_cov[lv, lv])
            if ev.min() < 0:
                notes.append("implied covariance matrix of the latent variables is not positive definite")
    return notes


def _cluster_vcov(model: RAMModel, theta: np.ndarray, information: str, expected_info: np.ndarray,
                  crossed: bool = True) -> np.ndarray:
    scores = model.cluster_scores(theta)
    if crossed:  # one cluster id = one cluster across groups (see fit)
        ncl = max(s.shape[0] for s in scores)
        total = np.zeros((ncl, model.npar))
        for s in scores:
            total[:s.shape[0]] += s
        scores = [total]
    meat = np.zeros((model.npar, model.npar))
    for s in scores:
        ncl = s.shape[0]
        if ncl < 2:
            raise ValueError("cluster-robust SEs need at least two clusters" + ("" if crossed else " per group"))
        centred = s - s.mean(axis=0)
        meat += ncl / (ncl - 1) * centred.T @ centred
    bread = model.observed_information(theta) if information == "observed" else expected_info
    bread_inv = np.linalg.inv(bread)
    v = bread_inv @ meat @ bread_inv
    return 0.5 * (v + v.T)


def cluster_rank_bound(model: RAMModel, crossed: bool = True) -> int | None:
    """The largest rank a cluster-robust covariance of ``model`` can have: its meat sums outer
    products of cluster score sums, centred, so G clusters give at most G - 1 directions (the
    sum of G_g - 1 over groups with clusters numbered within each group). None for a model
    without cluster codes."""
    if isinstance(model, FIMLModel):
        codes = [md.cluster for md in model.data]
    elif isinstance(model, RAMModel):
        codes = [m.cluster for m in model.moments]
    else:  # an ordinal fit's view: the first stage's cluster codes, where it has them
        codes = getattr(model, "cluster_codes", None)
    if codes is None or any(c is None for c in codes):
        return None
    if crossed:
        return int(np.unique(np.concatenate(codes)).size) - 1
    return sum(int(np.unique(c).size) - 1 for c in codes)


def _estimates_table(model: RAMModel, theta: np.ndarray, vcov: np.ndarray, vcov_cluster: np.ndarray | None):
    pt = model.pt
    est = model.row_values(theta)
    std = model.standardized_rows(theta)
    records = []
    for rid, r in enumerate(pt.rows):
        rec = {"lhs": r.lhs, "op": r.op, "rhs": r.rhs, "group": r.group + 1, "label": r.label, "est": est[rid]}
        se = math.sqrt(vcov[r.index, r.index]) if r.index >= 0 else 0.0
        rec.update(_inference(est[rid], se))
        rec["std.all"] = std[rid]
        if vcov_cluster is not None:
            sec = math.sqrt(vcov_cluster[r.index, r.index]) if r.index >= 0 else 0.0
            rec.update(_inference(est[rid], sec, ".cluster"))
        rec["free"] = r.index + 1
        rec["exo"] = int(r.exo)
        rec["user"] = int(r.user)
        records.append(rec)
    for d in pt.definitions:
        res = _defined_values(model, theta, vcov, vcov_cluster, d.expr)
        rec = {"lhs": d.name, "op": ":=", "rhs": d.expr, "group": 0, "label": d.name, "est": res["est"]}
        rec.update(_inference(res["est"], res["se"]))
        rec["std.all"] = res["std"]
        if vcov_cluster is not None:
            rec.update(_inference(res["est"], res["se.cluster"], ".cluster"))
        rec["free"] = 0
        rec["exo"] = 0
        rec["user"] = 1
        records.append(rec)
    table = pd.DataFrame.from_records(records)
    first = ESTIMATE_COLUMNS + ([c for c in ("se.cluster", "z.cluster", "pvalue.cluster", "ci.lower.cluster",
                                            "ci.upper.cluster") if vcov_cluster is not None])
    return table[first + [c for c in table.columns if c not in first]]


def _involved(model: RAMModel, expr: str) -> list[int]:
    """Free-parameter indices an expression of labels and ':=' names depends on."""
    definitions = {d.name: d.expr for d in model.pt.definitions}
    seen, todo, out = set(), list(expression_names(expr)), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in definitions:
            todo += expression_names(definitions[name])
        elif name in model.pt.label_index:
            out.add(model.pt.label_index[name])
    return sorted(out)


def _definitions_needed(model: RAMModel, expr: str) -> list:
    """The spec's ':=' definitions an expression uses (directly or through others), in order."""
    definitions = {d.name: d.expr for d in model.pt.definitions}
    seen, todo = set(), list(expression_names(expr))
    while todo:
        name = todo.pop()
        if name in definitions and name not in seen:
            seen.add(name)
            todo += expression_names(definitions[name])
    return [(d.name, compile_expression(d.expr)) for d in model.pt.definitions if d.name in seen]


def _unstandardized(model: RAMModel, theta: np.ndarray, expr: str):
    """``expr`` of labels and ':=' names as a function of the free parameters (near
    ``theta``: the label table is read once, only free labels follow the argument)."""
    func = compile_expression(expr)
    needed = _definitions_needed(model, expr)
    base = _label_values(model, theta)
    free_labels = [(name, model.pt.label_index[name]) for name in base if name in model.pt.label_index]

    def unstd(t):
        values = dict(base)
        for name, k in free_labels:
            values[name] = t[k]
        for name, f in needed:
            values[name] = f(values)
        return func(values)

    return unstd


def _defined_values(model, theta, vcov, vcov_cluster, expr, standardized=False, group=None):
    func = compile_expression(expr)
    unstd = _unstandardized(model, theta, expr)

    def stdz(t):
        std = model.standardized_rows(t)
        return func(_evaluate_definitions(model, _label_values(model, t, std=std, group=group)))

    out = {}
    target = stdz if standardized else unstd
    est, se, grad = delta_method(target, theta, vcov, None if standardized else _involved(model, expr))
    out["est"], out["se"] = est, se
    if vcov_cluster is not None:
        var = float(grad @ vcov_cluster @ grad)
        out["se.cluster"] = math.sqrt(var) if var >= 0 else float("nan")
    if not standardized:
        try:
            out["std"] = stdz(theta)
        except (KeyError, ValueError):
            out["std"] = float("nan")
    return out


def _failed(model, spec, spec_full, names, nobs, group, group_labels, cluster, message, iterations) -> SEMFit:
    pt = model.pt
    records = []
    for r in pt.rows:
        rec = {"lhs": r.lhs, "op": r.op, "rhs": r.rhs, "group": r.group + 1, "label": r.label}
        for c in ESTIMATE_COLUMNS[5:]:
            rec[c] = float("nan")
        if cluster:
            for c in ("se.cluster", "z.cluster", "pvalue.cluster", "ci.lower.cluster", "ci.upper.cluster"):
                rec[c] = float("nan")
        rec["free"] = r.index + 1
        rec["exo"] = int(r.exo)
        rec["user"] = int(r.user)
        records.append(rec)
    fit_indices = {k: float("nan") for k in FIT_INDEX_NAMES}
    fit_indices.update({"npar": pt.npar, "nobs": model.ntotal, "ngroups": model.ngroups, "df": _ndat(model) - pt.npar})
    return SEMFit(
        estimates=pd.DataFrame.from_records(records),
        fit_indices=fit_indices,
        converged=False,
        iterations=int(iterations),
        message=message,
        vcov=pd.DataFrame(np.full((pt.npar, pt.npar), np.nan), index=names, columns=names),
        spec_full=spec_full,
        spec=spec,
        nobs=nobs,
        group=group,
        group_labels=[str(x) for x in group_labels] if group else [],
        cluster=cluster,
        vcov_cluster=None,
        warnings=[],
        _model=model,
        _theta=None,
    )


# ------------------------------------------------------------ public helpers
@_with_single_thread_blas
def defined(fit: SEMFit, name: str, expr: str, *, standardized: bool = False, group: int | None = None) -> dict:
    """lavaan ``:=``: a function of labelled parameters with delta-method inference.

    ``expr`` uses parameter labels (and ``:=`` names of the spec) with R arithmetic
    (``+ - * / ^``, exp, log, sqrt, abs). With ``standardized=True`` the labels take
    their std.all values (of the first row with that label, or of 1-based ``group``)
    and the SE is the delta method on that function of the free parameters.
    """
    if not fit.converged or fit._model is None or fit._theta is None:
        raise ValueError(f"the model did not converge ({fit.message}); no defined parameter")
    model = fit._model
    known = set(model.pt.label_index) | set(model.pt.label_fixed) | {d.name for d in model.pt.definitions}
    unknown = [n for n in expression_names(expr) if n not in known]
    if unknown:
        raise ValueError(f"unknown labels in {expr!r}: {unknown}; labels: {sorted(known)}")
    vcov = fit.vcov.to_numpy()
    vcov_cluster = None if fit.vcov_cluster is None else fit.vcov_cluster.to_numpy()
    res = _defined_values(model, fit._theta, vcov, vcov_cluster, expr, standardized=standardized,
                          group=None if group is None else group - 1)
    out = {"name": name, "expr": expr, "standardized": standardized, "est": res["est"]}
    out.update(_inference(res["est"], res["se"]))
    if vcov_cluster is not None:
        out.update(_inference(res["est"], res["se.cluster"], ".cluster"))
    if not standardized:
        out["std.all"] = res["std"]
    return out


def lr_test(restricted: SEMFit, free: SEMFit) -> dict:
    """Likelihood-ratio (chi-square difference) test of nested models.

    When both fits are MLR the difference is scaled as lavaan's ``lavTestLRT`` does by
    default for them (``method = "satorra.bentler.2001"``): with statistics T, degrees
    of freedom r and scaling factors c of the restricted (0) and free (1) model,
    ``cd = (r0 c0 - r1 c1) / (r0 - r1)`` and ``chisq_diff = (T0 - T1) / cd``
    (``scaling_factor`` = cd; NaN when cd < 0). ``cfi_diff`` and ``rmsea_diff``: restricted minus
    free, of the scaled CFI and RMSEA when both fits are MLR."""
    for f, role in ((restricted, "restricted"), (free, "free")):
        if not f.converged:
            raise ValueError(f"the {role} model did not converge: {f.message}")
        if not np.isfinite(f.fit_indices["chisq"]):
            raise ValueError(f"the {role} model has no chi-square (no unrestricted model: see its warnings)")
    if restricted.fit_indices["nobs"] != free.fit_indices["nobs"]:
        raise ValueError("models were fitted to different numbers of observations")
    chisq_diff = restricted.fit_indices["chisq"] - free.fit_indices["chisq"]
    df_diff = restricted.fit_indices["df"] - free.fit_indices["df"]
    if df_diff <= 0:
        raise ValueError(f"the restricted model must have more degrees of freedom (df difference {df_diff})")
    scaled = restricted.estimator == "MLR" and free.estimator == "MLR"
    suffix = ".scaled" if scaled else ""
    scaling = float("nan")
    if scaled and any("chisq.scaling.factor" not in f.fit_indices for f in (restricted, free)):
        raise ValueError("an MLR fit without its scaled test (test = 'standard') has no scaling factor for "
                         "the scaled difference test: fit both models with the default test")
    if scaled:
        r0, r1 = restricted.fit_indices["df"], free.fit_indices["df"]
        c0 = restricted.fit_indices["chisq.scaling.factor"]
        c1 = free.fit_indices["chisq.scaling.factor"] if r1 > 0 else 1.0
        scaling = (r0 * c0 - r1 * c1) / df_diff
        chisq_diff = chisq_diff / scaling if scaling >= 0 else float("nan")
        if scaling < 0:
            scaling = float("nan")
    return {
        "chisq_diff": float(chisq_diff),
        "df_diff": int(df_diff),
        "pvalue": float(special.chdtrc(df_diff, max(chisq_diff, 0.0))) if np.isfinite(chisq_diff) else float("nan"),
        "method": "satorra.bentler.2001" if scaled else "standard",
        "scaling_factor": float(scaling),
        # the changes in the indices the fits report: scaled with MLR (as lr_test_ordinal's)
        "cfi_diff": float(restricted.fit_indices.get(f"cfi{suffix}", np.nan)
                          - free.fit_indices.get(f"cfi{suffix}", np.nan)),
        "rmsea_diff": float(restricted.fit_indices.get(f"rmsea{suffix}", np.nan)
                            - free.fit_indices.get(f"rmsea{suffix}", np.nan)),
    }


def wald_test(fit: SEMFit, constraints: str | list[str], clustered: bool = False) -> dict:
    """Wald test of linear or nonlinear equality constraints on labelled parameters
    (lavaan ``lavTestWald``), e.g. ``"b_black == b_white"``; several constraints as a
    list or separated by newlines or ';'. Uses ``fit.vcov`` (the robust, clustered
    covariance with MLR and a cluster), or with ``clustered`` the cluster-robust
    ``fit.vcov_cluster`` (the same with MLR; with ML the sandwich beside the normal-theory
    covariance). Returns stat (chi-square), df, pvalue, as lavaan's ``lavTestWald``; where the
    covariance is cluster-robust also the small-sample adjusted Wald F (:func:`adjusted_wald_f`:
    f_stat, f_df1, f_df2, f_pvalue). Raises ValueError where the test has no
    value: more constraints than a cluster-robust covariance has directions (clusters - 1), or
    a singular covariance of the constrained differences."""
    if not fit.converged or fit._model is None or fit._theta is None:
        raise ValueError(f"the model did not converge ({fit.message}); no Wald test")
    if clustered and fit.vcov_cluster is None:
        raise ValueError("the fit has no cluster-robust covariance (no cluster); no clustered Wald test")
    if isinstance(constraints, str):
        constraints = [c for part in constraints.replace(";", "\n").splitlines() if (c := part.strip())]
    model = fit._model
    known = set(model.pt.label_index) | set(model.pt.label_fixed) | {d.name for d in model.pt.definitions}
    funcs = []
    for c in constraints:
        if c.count("==") != 1:
            raise ValueError(f"constraint {c!r} must have the form 'lhs == rhs'")
        lhs, rhs = (s.strip() for s in c.split("=="))
        expr = f"({lhs}) - ({rhs})"
        unknown = [n for n in expression_names(expr) if n not in known]
        if unknown:
            raise ValueError(f"unknown labels in constraint {c!r}: {unknown}; labels: {sorted(known)}")
        funcs.append((_unstandardized(model, fit._theta, expr), _involved(model, expr)))
    # an ordinal (WLSMV) fit with a cluster has cluster codes, and its SEs are cluster-robust
    cluster_robust = clustered or (fit.cluster is not None and (fit.estimator == "MLR"
                                                               or getattr(model, "cluster_codes", None) is not None))
    if cluster_robust:
        crossed = fit.options.get("crossed_clusters", getattr(fit, "crossed_clusters", True))
        rank = cluster_rank_bound(model, bool(crossed))
        if rank is not None and len(funcs) > rank:
            raise ValueError(f"{len(funcs)} constraints, but the cluster-robust covariance has at most {rank} "
                             f"independent directions ({rank + 1} clusters, their score sums summing to zero): "
                             f"a Wald test of more than {rank} constraints has no value")
    vcov = (fit.vcov_cluster if clustered else fit.vcov).to_numpy()
    values, grads = [], []
    for func, involved in funcs:
        est, _, grad = delta_method(func, fit._theta, vcov, involved)
        values.append(est)
        grads.append(grad)
    r, J = np.array(values), np.array(grads)
    cov = J @ vcov @ J.T
    eig = np.linalg.eigvalsh(0.5 * (cov + cov.T))
    if not eig[-1] > 0 or eig[0] <= SINGULAR_RATIO * eig[-1]:
        raise ValueError("the covariance of the constrained differences is singular (the constraints are "
                         "redundant, or the covariance has fewer directions than constraints): no Wald test")
    stat = float(r @ np.linalg.solve(cov, r))
    out = {"stat": stat, "df": len(r), "pvalue": float(special.chdtrc(len(r), stat)), "constraints": list(constraints)}
    if cluster_robust and rank is not None:
        out.update(adjusted_wald_f(stat, len(r), rank))
    return out


def adjusted_wald_f(stat: float, q: int, design_df: int) -> dict:
    """The adjusted Wald F of a cluster-robust Wald statistic (Korn & Graubard 1990; Stata's
    ``svy: test`` default): F = (d - q + 1) W / (d q) on (q, d - q + 1) degrees of freedom, with d
    the design degrees of freedom (clusters less one, :func:`cluster_rank_bound`). The meat of a
    cluster-robust covariance is itself estimated from d + 1 cluster sums, so W is Hotelling's T^2
    rather than a chi-square; the chi-square reference rejects far too often when q is a sizeable
    share of d (benchmarks/bench_fiml.py --wald-size: with 30 classrooms and 12 equal paths it
    rejects 56% at 5%, the adjusted F 12%: better, not exact, the sandwich being biased down)."""
    d = int(design_df)
    df2 = d - q + 1
    f = (df2 * stat) / (d * q)
    return {"f_stat": float(f), "f_df1": int(q), "f_df2": int(df2), "f_pvalue": float(special.fdtrc(q, df2, f))}


def _r_value(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (list, tuple)):
        return "c(" + ", ".join(_r_value(v) for v in value) + ")"
    return f'"{value}"' if isinstance(value, str) else str(value)


def lavaan_call(fit: SEMFit, model: str = "model", data: str = "data") -> str:
    """The lavaan call that reproduces ``fit`` on ``model`` (its spec, or ``spec_full``)
    and ``data`` (the rows and columns it was given), e.g. ``lavaan::sem(model, data =
    data, estimator = "MLR", missing = "ml", cluster = "classroom_id", group = "race",
    group.label = c("Black", "White"), ...)``. With a multi-group clustered fit and
    ``crossed_clusters`` (the default) lavaan's SEs differ by design (see :func:`fit`)."""
    return _call_string(fit.estimator, fit.missing, fit.cluster, fit.group, fit.group_labels, fit.options, model, data)


def _call_string(estimator, missing, cluster, group, group_labels, o, model="model", data="data") -> str:
    # without an unrestricted model lavaan's scaled test (MLR, or any cluster) stops on the
    # singular h1 information: MLR's sandwich SEs alone, the same numbers, as lavaan names them
    sandwich_only = estimator == "MLR" and o.get("without_h1")
    args = [model, f"data = {data}", f"estimator = {_r_value('ML' if sandwich_only else estimator)}"]
    if missing is not None:
        args.append(f"missing = {_r_value(missing)}")
    if cluster:
        args.append(f"cluster = {_r_value(cluster)}")
    if group:
        args += [f"group = {_r_value(group)}", f"group.label = {_r_value(list(group_labels))}"]
    if o.get("group_equal"):
        args.append(f"group.equal = {_r_value(list(o['group_equal']))}")
    if o.get("group_partial"):
        args.append(f"group.partial = {_r_value(list(o['group_partial']))}")
    args.append(f"fixed.x = {_r_value(bool(o.get('fixed_x', True)))}")
    args.append(f"meanstructure = {_r_value(bool(o.get('meanstructure', False)))}")
    if estimator == "ML" and missing not in ("ml", "ml.x"):
        args.append('information = "expected"')
    if sandwich_only:
        args.append(f"se = {_r_value('robust.cluster' if cluster else 'robust.huber.white')}")
    if o.get("without_h1"):
        args.append('test = "standard"')
    elif o.get("test"):
        args.append(f"test = {_r_value(o['test'])}")
    return "lavaan::sem(" + ", ".join(args) + ")"


INVARIANCE_LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
}


def invariance_models(cfa_spec: str, data: pd.DataFrame, group: str, **kwargs) -> dict[str, SEMFit]:
    """Fit configural, metric and scalar models (lavaan ``group.equal``), sharing one
    unrestricted model (FIML / MLR)."""
    fits: dict[str, SEMFit] = {}
    for level, equal in INVARIANCE_LEVELS.items():
        fits[level] = fit(cfa_spec, data, group=group, group_equal=equal,
                          h1=fits.get("configural"), **kwargs)
    return fits


def invariance_table(fits: dict[str, SEMFit]) -> pd.DataFrame:
    """Fit and difference statistics of nested invariance models (each vs the previous)."""
    rows = []
    previous = None
    for level, f in fits.items():
        fi = f.fit_indices
        row = {"model": level, "converged": f.converged, "chisq": fi["chisq"], "df": fi["df"], "pvalue": fi["pvalue"],
               "cfi": fi["cfi"], "tli": fi["tli"], "rmsea": fi["rmsea"], "srmr": fi["srmr"],
               "chisq.diff": np.nan, "df.diff": np.nan, "pvalue.diff": np.nan, "cfi.diff": np.nan,
               "rmsea.diff": np.nan}
        if previous is not None and f.converged and previous.converged:
            test = lr_test(f, previous)
            row.update({"chisq.diff": test["chisq_diff"], "df.diff": test["df_diff"], "pvalue.diff": test["pvalue"],
                        "cfi.diff": test["cfi_diff"], "rmsea.diff": test["rmsea_diff"]})
        rows.append(row)
        previous = f
    return pd.DataFrame(rows).set_index("model")


def invariance(cfa_spec: str, data: pd.DataFrame, group: str, **kwargs) -> pd.DataFrame:
    """Configural / metric / scalar invariance table (chisq, df, CFI, RMSEA, and
    chi-square difference, df difference, p and CFI change vs the previous level)."""
    return invariance_table(invariance_models(cfa_spec, data, group, **kwargs))
