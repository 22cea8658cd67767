"""Robust ML (lavaan ``estimator = "MLR"``): sandwich covariance, Yuan-Bentler scaled
chi-square (``test = "yuan.bentler.mplus"``) and lavaan's scaled / robust fit indices,
for complete data and FIML, with or without clusters (Mplus ``TYPE = COMPLEX``).

As lavaan 0.6 (``lav_test_yuan_bentler``, ``lav_model_information_firstorder``,
``lav_fit_cfi_lavobject``, ``lav_fit_rmsea_lavobject``, ``lav_fit_fiml_corrected``):

* bread E = observed information (Hessian of -loglik) at the estimates; meat B0 = sum of
  outer products of the casewise scores, or of their cluster sums times G/(G-1);
  vcov = E^-1 B0 E^-1;
* trace(U Gamma) = sum_g tr(A1_g^-1 B1_g) - tr(E^-1 B0), with A1_g the observed
  information and B1_g the first-order information of the unrestricted model of group
  g at its (EM) estimates, in moment coordinates without the fixed covariate moments;
  scaling factor c = trace / df, chisq.scaled = chisq / c;
* the baseline (independence) model gets its own scaling factor the same way;
* cfi/tli/rmsea ``.scaled`` use the scaled statistics; ``.robust`` use c-hat
  (complete data: Brosseau-Liard & Savalei) or, with FIML, the FIML-corrected
  statistics of Zhang & Savalei (lavaan's "V3").
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
from scipy import special

from .fiml import FIMLModel, add_by_code
from .partable import ParRow, ParTable


def _meat(model: FIMLModel, theta: np.ndarray, crossed: bool) -> np.ndarray:
    key = (crossed, theta.tobytes())
    if model._meat_cache.get("key") != key:
        model._meat_cache.update(key=key, meat=_meat_uncached(model, theta, crossed))
    return model._meat_cache["meat"]


def _meat_uncached(model: FIMLModel, theta: np.ndarray, crossed: bool) -> np.ndarray:
    """Sum of outer products of the casewise scores, or of their cluster sums times
    G/(G-1) (crossed: a cluster's scores summed over all groups first), accumulated
    over chunks of rows."""
    meat = np.zeros((model.npar, model.npar))
    total = None
    for g in range(model.ngroups):
        ncl = _n_clusters(model, g, crossed)
        if ncl is not None and ncl < 2:
            raise ValueError("cluster-robust SEs need at least two clusters" + ("" if crossed else " per group"))
        sums = None if ncl is None else np.zeros((ncl, model.npar))
        for idx, s in model.casewise_score_chunks(theta, g):
            if sums is None:
                meat += s.T @ s
            else:
                add_by_code(sums, model.data[g].cluster[idx], s)
        if sums is None:
            continue
        sums *= _cluster_factor(model, g, crossed)
        if crossed:
            total = sums if total is None else total + sums
        else:
            meat += sums.T @ sums
    if total is not None:
        meat += total.T @ total
    return meat


def sandwich(model: FIMLModel, theta: np.ndarray, info_inv: np.ndarray, crossed: bool = True) -> np.ndarray:
    """E^-1 B0 E^-1 (``info_inv``: the inverse of the bread E, the observed information)."""
    v = info_inv @ _meat(model, theta, crossed) @ info_inv
    return 0.5 * (v + v.T)


def _h1_keep(model: FIMLModel) -> np.ndarray:
    """Moment coordinates (mu, vech Sigma) that are not fixed covariate moments."""
    p = model.n_obs
    fixed = any(r.exo for r in model.pt.rows)
    x = np.zeros(p, dtype=bool)
    if fixed:
        x[[model.pt.ov_names.index(v) for v in model.pt.ov_x]] = True
    a, b = np.tril_indices(p)
    keep = np.concatenate([~x, ~(x[a] & x[b])])
    if not model.meanstructure:
        keep[:p] = False
    return keep


def _h1_chol(model: FIMLModel) -> list:
    """Per group: Cholesky factor of A1 without the fixed covariate moments."""
    return model.h1_factor(_h1_keep(model))


def _n_clusters(model: FIMLModel, g: int, crossed: bool) -> int | None:
    codes = [md.cluster for md in model.data]
    if codes[0] is None:
        return None
    return max(int(c.max()) + 1 for c in codes) if crossed else int(codes[g].max()) + 1


def _cluster_factor(model: FIMLModel, g: int, crossed: bool) -> float:
    ncl = _n_clusters(model, g, crossed)
    return 1.0 if ncl is None else math.sqrt(ncl / (ncl - 1))


def _trace_h1(model: FIMLModel, crossed: bool) -> float:
    """sum_g tr(A1_g^-1 B1_g) (only the diagonal blocks of a crossed-cluster B1 enter,
    A1 being block diagonal over groups)."""
    keep = _h1_keep(model)
    total = 0.0
    for g in range(model.ngroups):
        S, X = model.h1_solved(g, _n_clusters(model, g, crossed), keep)  # B1 = f^2 S'S, X = A1^-1 S'
        total += _cluster_factor(model, g, crossed) ** 2 * float(np.sum(S.T * X))
    return total


def _trace_h0(model: FIMLModel, theta: np.ndarray, info_inv: np.ndarray, crossed: bool) -> float:
    return float(np.sum(_meat(model, theta, crossed) * info_inv.T))


def mlr(model: FIMLModel, theta: np.ndarray, info_inv: np.ndarray, crossed: bool = True) -> dict:
    """Sandwich covariance and the pieces of the Yuan-Bentler scaling (``info_inv``: the
    inverse of the observed information at theta)."""
    return {
        "vcov": sandwich(model, theta, info_inv, crossed),
        "trace_h1": _trace_h1(model, crossed),
        "trace_h0": _trace_h0(model, theta, info_inv, crossed),
        "crossed": crossed,
    }


# ------------------------------------------------------------------ baseline
def baseline_model(model: FIMLModel) -> tuple[FIMLModel, np.ndarray]:
    """lavaan's independence model on the same data (means and variances of the
    non-covariates free, covariate block fixed at the unrestricted estimates) and its ML
    estimates (closed form: each variable's observed mean and variance). It depends on the
    data and the variables only, so it is kept with the unrestricted model: refits that reuse
    that (equality-constrained models on the same rows) share the baseline and what is
    derived from it (``base.derived``: its scaling factor and FIML-corrected statistic)."""
    pt = model.pt
    fixed = any(r.exo for r in pt.rows)
    key = ("baseline", tuple(pt.ov_names), tuple(pt.ov_x) if fixed else (), model.meanstructure)
    if key in model._h1_cache:
        return model._h1_cache[key]
    xs = list(pt.ov_x) if fixed else []
    rows: list[ParRow] = []
    npar = 0
    for g in range(model.ngroups):
        for v in pt.ov_names:
            if v in xs:
                continue
            rows.append(ParRow(v, "~~", v, g, False, True, 0.0, index=npar))
            npar += 1
        for k, a in enumerate(xs):
            for b in xs[k:]:
                rows.append(ParRow(a, "~~", b, g, False, False, 0.0, exo=True))
        if model.meanstructure:
            for v in pt.ov_names:
                if v in xs:
                    rows.append(ParRow(v, "~1", "", g, False, False, 0.0, exo=True))
                else:
                    rows.append(ParRow(v, "~1", "", g, False, True, 0.0, index=npar))
                    npar += 1
    bpt = ParTable(rows=rows, ngroups=model.ngroups, meanstructure=model.meanstructure, ov_names=list(pt.ov_names),
                   lv_names=[], ov_x=xs, ov_y=[], lv_x=[], lv_y=[], npar=npar)
    base = FIMLModel.__new__(FIMLModel)
    base.data, base.h1_m2ll, base.h1_errors = model.data, model.h1_m2ll, model.h1_errors
    base.exact_hessian, base._h1_cache, base._meat_cache, base._last_terms = False, model._h1_cache, {}, {}
    FIMLModel.__bases__[0].__init__(base, bpt, model.moments)
    theta = np.zeros(npar)
    for r in rows:
        if r.index < 0:
            continue
        j = pt.ov_names.index(r.lhs)
        col = model.data[r.group].values[:, j]
        col = col[~np.isnan(col)]
        theta[r.index] = col.var() if r.op == "~~" else col.mean()
    base.derived = {}
    model._h1_cache[key] = (base, theta)
    return base, theta


# ------------------------------------------------------------ fit indices
def _cfi(x2, df, x2n, dfn, c=1.0, cn=1.0, robust=False):
    if robust and df > 0 and c != 1 and cn != 1:
        t1 = max(x2 - c * df, 0.0)
        t2 = max(x2 - c * df, x2n - cn * dfn, 0.0)
    else:
        t1 = max(x2 - df, 0.0)
        t2 = max(x2 - df, x2n - dfn, 0.0)
    if abs(t1) < 1.5e-8 and abs(t2) < 1.5e-8:
        return 1.0
    return 1 - t1 / t2


def _tli(x2, df, x2n, dfn, c=1.0, cn=1.0, robust=False):
    if robust and df > 0 and c != 1 and cn != 1:
        t1 = (x2 - c * df) * dfn
        t2 = (x2n - cn * dfn) * df
    else:
        t1 = (x2 - df) * dfn
        t2 = (x2n - dfn) * df
    return 1 - t1 / t2 if (df > 0 and abs(t2) > 0) else 1.0


def _rmsea(x2, df, n, g, c=1.0):
    if not df > 0:
        return 0.0
    return math.sqrt(max(x2 / n / df - c / n, 0.0)) * math.sqrt(g)


def brentq(f, xa: float, xb: float, xtol: float = 2e-12, rtol: float = 8.881784197001252e-16,
           maxiter: int = 100) -> float:
    """A root of f in [xa, xb] (f(xa), f(xb) of opposite signs) by Brent's method, step for
    step as scipy.optimize.brentq (scipy's brentq.c; a test checks that both give the same
    number), so that the RMSEA interval does not import scipy.optimize."""
    xpre, xcur = float(xa), float(xb)
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    xblk = fblk = spre = scur = 0.0
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and math.copysign(1.0, fpre) != math.copysign(1.0, fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise RuntimeError(f"brentq: no convergence in {maxiter} iterations")


def rmsea_ci(x2: float, df: float, n: int, ngroups: int, c_hat: float = 1.0, level: float = 0.90):
    """lavaan's ``lav_fit_rmsea_ci``: the RMSEA's confidence interval from the noncentral
    chi-square of x2 with df degrees of freedom; the robust RMSEA's takes the scaled statistic
    and its scaling factor ``c_hat``. (0, 0) when df < 1, NaN where x2 or df is not finite."""
    if not (math.isfinite(x2) and math.isfinite(df)):
        return float("nan"), float("nan")
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2
    if df < 1:
        return 0.0, 0.0

    def cdf(lam):
        return special.chdtr(df, x2) if lam <= 0 else special.chndtr(x2, df, lam)

    if cdf(0.0) - upper_p < 0:
        lower = 0.0
    else:
        lam_l = brentq(lambda x: cdf(x) - upper_p, 0.0, x2, xtol=1e-12)
        lower = math.sqrt(c_hat * lam_l / (n * df)) * math.sqrt(ngroups)
    n_rmsea = max(n, x2 * 4)
    if cdf(n_rmsea) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        upper = 0.0
    else:
        lam_u = brentq(lambda x: cdf(x) - lower_p, 0.0, n_rmsea, xtol=1e-12)
        upper = math.sqrt(c_hat * lam_u / (n * df)) * math.sqrt(ngroups)
    return lower, upper


def _robust_fit_indices(x3, df, df3, c3, x3n, dfn, c3n, n, g) -> dict:
    """lavaan's robust CFI, TLI and RMSEA with its CI (from the scaled statistic x3 / c3 and c3;
    NaN without a positive scaling factor), from the (FIML-corrected) statistics of the model
    (x3, df3, c3) and the baseline (x3n, c3n)."""
    lower, upper = rmsea_ci(x3 / c3, df3, n, g, c_hat=c3) if c3 > 0 else (float("nan"), float("nan"))
    return {"cfi.robust": _cfi(x3, df, x3n, dfn, c3, c3n, robust=True),
            "tli.robust": _tli(x3, df, x3n, dfn, c3, c3n, robust=True),
            "rmsea.robust": _rmsea(x3, df3, n, g, c3), "rmsea.ci.lower.robust": lower, "rmsea.ci.upper.robust": upper}


def _scaling_factor(model: FIMLModel, theta: np.ndarray, df: int, crossed: bool) -> float:
    """Yuan-Bentler (Mplus) scaling factor of a fitted model: trace(U Gamma) / df."""
    info = model.observed_information(theta)
    return (_trace_h1(model, crossed) - _trace_h0(model, theta, np.linalg.inv(info), crossed)) / df


def robust_indices(model: FIMLModel, theta: np.ndarray, fi: dict, robust: dict, with_robust: bool = True) -> dict:
    """The scaled statistics of an MLR fit and, `with_robust`, lavaan's robust CFI/TLI/RMSEA
    (FIML-corrected with FIML)."""
    N, G = fi["nobs"], fi["ngroups"]
    chisq, df = fi["chisq"], fi["df"]
    crossed = robust["crossed"]
    trace = robust["trace_h1"] - robust["trace_h0"]
    c = trace / df if df > 0 else float("nan")
    if df > 0 and c < 0:
        c = float("nan")
    out = {"chisq.scaled": chisq / c if df > 0 else float("nan"), "df.scaled": df,
           "chisq.scaling.factor": c}
    out["pvalue.scaled"] = float(special.chdtrc(df, out["chisq.scaled"])) if df > 0 else float("nan")
    base, btheta = baseline_model(model)
    x2n, dfn = fi["baseline.chisq"], fi["baseline.df"]
    if ("scaling", crossed) not in base.derived:
        base.derived["scaling", crossed] = _scaling_factor(base, btheta, dfn, crossed)
    cn = base.derived["scaling", crossed]
    out.update({"baseline.chisq.scaled": x2n / cn, "baseline.df.scaled": dfn,
                "baseline.pvalue.scaled": float(special.chdtrc(dfn, x2n / cn)),
                "baseline.chisq.scaling.factor": cn})
    out["cfi.scaled"] = _cfi(out["chisq.scaled"], df, x2n / cn, dfn)
    out["tli.scaled"] = _tli(out["chisq.scaled"], df, x2n / cn, dfn)
    out["rmsea.scaled"] = _rmsea(chisq, trace, N, G) if trace > 0 else float("nan")
    # lavaan's convention: the unscaled statistic against a chi-square with tr(U Gamma) df
    out["rmsea.ci.lower.scaled"], out["rmsea.ci.upper.scaled"] = (
        rmsea_ci(chisq, trace, N, G) if trace > 0 else (float("nan"), float("nan")))
    if not with_robust:
        return out
    if getattr(model, "fiml", False):  # lavaan: by the missing option, holes or not
        x3, df3, c3, x3n, c3n = fiml_corrected(model, theta, base, btheta)
    else:
        x3, df3, c3, x3n, c3n = chisq, df, c, x2n, cn
    out.update(_robust_fit_indices(x3, df, df3, c3, x3n, dfn, c3n, N, G))
    return out


def robust_indices_ml(model: FIMLModel, theta: np.ndarray, fi: dict) -> dict:
    """lavaan's robust CFI/TLI/RMSEA of an ML fit with FIML (``lav_fit_fiml_corrected``
    version "V6", which needs no first-order information)."""
    base, btheta = baseline_model(model)
    x3, df3, c3, x3n, c3n = fiml_corrected(model, theta, base, btheta, version="V6")
    return _robust_fit_indices(x3, fi["df"], df3, c3, x3n, fi["baseline.df"], c3n, fi["nobs"], fi["ngroups"])


def _complete_information(Si: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Complete-data information (per observation) in (mu, vech Sigma) coordinates at
    Sigma^-1 = Si, kept coordinates only."""
    p = Si.shape[0]
    a, b = np.tril_indices(p)
    km, ks = keep[:p], keep[p:]
    a, b = a[ks], b[ks]
    f = np.where(a == b, 0.5, 1.0)
    m = int(km.sum())
    out = np.zeros((keep.sum(), keep.sum()))
    out[:m, :m] = Si[np.ix_(km, km)]
    out[m:, m:] = np.outer(f, f) * (Si[np.ix_(a, a)] * Si[np.ix_(b, b)] + Si[np.ix_(a, b)] * Si[np.ix_(b, a)])
    return out


def _complete_quadratic(rows: np.ndarray, Si: np.ndarray, keep: np.ndarray) -> float:
    """sum_i x_i' Wc x_i over the rows x_i (kept coordinates) with Wc from
    :func:`_complete_information`, without forming Wc: x = (m, vech X) gives m' Si m +
    tr(X Si X Si) / 2 with X the symmetric matrix whose lower triangle is vech X."""
    p = Si.shape[0]
    full = np.zeros((rows.shape[0], keep.size))
    full[:, keep] = rows
    m = full[:, :p]
    a, b = np.tril_indices(p)
    X = np.zeros((rows.shape[0], p, p))
    X[:, a, b] = full[:, p:]
    X[:, b, a] = full[:, p:]
    XS = (X.reshape(-1, p) @ Si).reshape(-1, p, p)
    return float(np.sum((m @ Si) * m) + 0.5 * np.sum(XS * XS.transpose(0, 2, 1)))


def fiml_corrected(model: FIMLModel, theta, base: FIMLModel, btheta, version: str = "V3"):
    """lavaan's ``lav_fit_fiml_corrected(version = "V3")``: the complete-data ML
    statistic of the estimates against the EM moments and its FIML-corrected scaling,
    for the model and the baseline. Returns (XX3, df3, c3, XX3.null, c3.null).

    With Wm, Jm the observed and first-order h1 information (per observation, group
    weights fg), Wc the complete-data h1 information at the EM moments, D the model
    Jacobian and E = D' Wm D: k = tr(U Wm^-1 Wc Wm^-1 U Gamma), U = Wm - Wm D E^-1 D' Wm,
    Gamma = Wm^-1 Jm Wm^-1. With Jm = J'J this is tr(J Q Wc Q J') where
    Q = Wm^-1 U Wm^-1 = Wm^-1 - D E^-1 D', computed through J (rank: clusters or rows).
    The baseline's part depends on the data only: computed once per baseline."""
    keep = _h1_keep(model)
    blocks = _fiml_corrected_blocks(model, keep, version)
    x3, df3, c3 = _fiml_corrected_part(model, theta, blocks, keep, version)
    if ("fiml_corrected", version) not in base.derived:
        base.derived["fiml_corrected", version] = _fiml_corrected_part(base, btheta, blocks, keep, version)
    x3n, _, c3n = base.derived["fiml_corrected", version]
    return x3, df3, c3, x3n, c3n


def _fiml_corrected_blocks(model: FIMLModel, keep: np.ndarray, version: str) -> list:
    """Per group, the data's part of :func:`fiml_corrected`: (Cholesky factor of Wm, Wm^-1 J',
    Wc, J) for V6 and V3 as they need them."""
    N = model.ntotal
    blocks = []
    for g in range(model.ngroups):
        mom = model.moments[g]
        Ng = model.data[g].nobs
        fg = Ng / N
        # lavaan: per-group cluster sums in the first-order information
        J = JWi = None
        if version == "V3":  # Gamma = Wm^-1 J'J Wm^-1 in the fg-weighted blocks
            S, X = model.h1_solved(g, _n_clusters(model, g, False), keep)  # X = A1^-1 S'
            cf = _cluster_factor(model, g, False)
            J, JWi = cf * math.sqrt(fg / Ng) * S, cf * math.sqrt(Ng / fg) * X.T
        Si = np.linalg.inv(mom.cov)
        Wc = _complete_information(Si, keep) * fg if version == "V6" else (Si, fg)
        chol = None
        if version == "V6":  # Wm = (fg / Ng) A1: its Cholesky factor is a multiple of A1's
            c, lower = _h1_chol(model)[g]
            chol = (c * math.sqrt(fg / Ng), lower)
        blocks.append((chol, JWi, Wc, J))
    return blocks


def _fiml_corrected_part(m: FIMLModel, theta, blocks: list, keep: np.ndarray, version: str):
    """(XX3, df3, c3) of :func:`fiml_corrected` for model ``m`` (the fitted model or its
    baseline) at ``theta``."""
    from .api import _ndat  # the data-moment count of the fit indices

    p, N = m.n_obs, m.ntotal
    x3 = 0.0
    D_all, E = [], 0.0
    for g in range(m.ngroups):
        mom = m.moments[g]
        Ng = m.data[g].nobs
        gs = m.groups[g]
        imp = m.implied(theta, g)
        D = m._to_params(gs, m.moment_jacobian(imp, gs)[keep])
        D_all.append(D)
        fg = Ng / N
        # D' Wm D = (fg / Ng) (C D)'(C D) with A1 = C'C, the factor the trace already needed
        CD = sla.blas.dtrmm(1.0, m.h1_factor(keep)[g][0], D, lower=0)
        E = E + fg / Ng * (CD.T @ CD)
        sig, mu = imp.sigma, (imp.mu if m.meanstructure else mom.mean)
        Wi = np.linalg.inv(sig)
        d = mom.mean - mu
        x3 += Ng * (np.linalg.slogdet(sig)[1] + np.sum(Wi * mom.cov) - mom.logdet_cov - p + d @ Wi @ d)
    df3 = _ndat(m) - m.npar
    E_inv = np.linalg.inv(E)
    if version == "V6":  # tr(Wc Wm^-1 U Wm^-1) = sum_g tr(Wc_g Q_gg)
        k = float(sum(np.sum(blk[2] * sla.cho_solve(blk[0], np.eye(blk[2].shape[0])))
                      - np.sum((blk[2] @ D) * (D @ E_inv)) for blk, D in zip(blocks, D_all)))
        return x3, df3, k / df3
    # rows of J Q per group block, where Q = Wm^-1 - D E^-1 D' couples the groups through E
    JD = [blk[3] @ D for blk, D in zip(blocks, D_all)]
    k = 0.0
    for g in range(len(blocks)):
        for j, blk_j in enumerate(blocks):
            # J_g Q_gj with Q_gj = delta_gj Wm_g^-1 - D_g E^-1 D_j'
            left = -(JD[g] @ E_inv) @ D_all[j].T
            if g == j:
                left = left + blocks[g][1]
            Si, fg = blk_j[2]
            k += fg * _complete_quadratic(left, Si, keep)
    return x3, df3, k / df3
