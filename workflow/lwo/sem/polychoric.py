"""Thresholds, polychoric (and polyserial) correlations and their asymptotic covariance, as
lavaan 0.6.14.

Two-step estimation as lavaan's ``muthen1984()`` (``lav_samplestats_step1/2``):

1. thresholds of each ordered variable by univariate probit ML (the normal quantiles of
   the cumulative proportions);
2. each polychoric correlation by bivariate-normal ML on the pair's contingency table with
   the thresholds held at their step-1 values (lavaan's ``zero.add = c(0.5, 0)`` changes
   nothing for tables larger than 2 x 2; the special cases of 2 x 2 tables with empty cells
   are not reproduced); for a continuous variable, its ML mean and variance (divisor N) in
   step 1, and polyserial (continuous-ordered) or Pearson (continuous-continuous)
   correlations in step 2, as lavaan's ``lav_bvmix`` / ``lav_bvreg``.

The asymptotic covariance (lavaan's ``NACOV`` / ``Gamma``, of ``sqrt(N)`` times the sample
statistics) is the sandwich ``N * A^-1 B A^-T`` built from case-wise scores exactly as in
``muthen1984()``: ``B`` is the cross-product of all scores, ``A`` is block lower-triangular
with outer-product blocks (thresholds per variable; correlations on the diagonal; the
correlation-threshold block from cross-products of the correlation score with the bivariate
threshold scores).

Statistics are ordered as lavaan's ``wls.obs``: all thresholds (variable by variable; minus
the mean for a continuous variable), the continuous variables' variances, then the
correlations (covariances where a continuous variable is involved) below the diagonal,
column by column.

With ``missing = "listwise"`` (lavaan's default) the data must be complete on the items (the
callers drop incomplete rows). With ``missing = "pairwise"`` (lavaan's, and Mplus' default for
WLSMV) each statistic uses the rows that answered its variables: thresholds, means and variances
the rows with that variable, each correlation the rows with both; a case-wise score is zero
where its variables are missing (lavaan's ``na.rm`` sums), and N is every row with an answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import ndtr

from .syntax import ModelDataError

__all__ = ["OrdinalStats", "bvn_cdf", "ordinal_stats", "polychoric_matrix", "rows_used"]

_SQRT2PI = np.sqrt(2.0 * np.pi)


def _gl_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(2 * n)
    keep = x < 0
    return x[keep], w[keep]


_GL = {3: _gl_nodes(3), 6: _gl_nodes(6), 10: _gl_nodes(10)}


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQRT2PI


def _bvnu(h: np.ndarray, k: np.ndarray, r: float) -> np.ndarray:
    """P(X > h, Y > k) for a standard bivariate normal with correlation r (finite h, k).

    Genz's (2004) ``bvnu`` algorithm, vectorised over h and k for one r (double precision)."""
    ar = abs(r)
    x, w = _GL[3 if ar < 0.3 else 6 if ar < 0.75 else 10]
    h = np.asarray(h, float)[..., None]
    k = np.asarray(k, float)[..., None]
    hk = h * k
    if ar < 0.925:
        hs = (h * h + k * k) / 2
        asr = np.arcsin(r) / 2
        sn = np.sin(asr * (1 - x))
        bvn = np.sum(w * np.exp((sn * hk - hs) / (1 - sn * sn)), axis=-1)
        sn = np.sin(asr * (1 + x))
        bvn = bvn + np.sum(w * np.exp((sn * hk - hs) / (1 - sn * sn)), axis=-1)
        return bvn * asr / (2 * np.pi) + (ndtr(-h) * ndtr(-k))[..., 0]
    if r < 0:
        k = -k
        hk = -hk
    bvn = np.zeros(np.broadcast(h, k).shape[:-1])
    if ar < 1:
        as_ = (1 - r) * (1 + r)
        a = np.sqrt(as_)
        bs = (h - k) ** 2
        c = (4 - hk) / 8
        d = (12 - hk) / 16
        asr = -(bs / as_ + hk) / 2
        t = a * np.exp(asr) * (1 - c * (bs - as_) * (1 - d * bs / 5) / 3 + c * d * as_ * as_ / 5)
        bvn = np.where(asr > -100, t, 0.0)[..., 0]
        b = np.sqrt(bs)
        sp = _SQRT2PI * ndtr(-b / a)
        t = np.exp(-hk / 2) * sp * b * (1 - c * bs * (1 - d * bs / 5) / 3)
        bvn = bvn - np.where(hk > -100, t, 0.0)[..., 0]
        a = a / 2
        for sgn in (-1.0, 1.0):
            xs = (a + a * sgn * x) ** 2
            rs = np.sqrt(1 - xs)
            asr = -(bs / xs + hk) / 2
            spp = 1 + c * xs * (1 + d * xs)
            ep = np.exp(-hk * (1 - rs) / (2 * (1 + rs))) / rs
            term = np.where(asr > -100, w * np.exp(np.maximum(asr, -700)) * (ep - spp), 0.0)
            bvn = bvn + a * np.sum(term, axis=-1)
        bvn = -bvn / (2 * np.pi)
    h, k = h[..., 0], k[..., 0]
    if r > 0:
        return bvn + ndtr(-np.maximum(h, k))
    lower = np.where(h < 0, ndtr(k) - ndtr(h), ndtr(-h) - ndtr(-k))
    return np.where(h >= k, -bvn, np.maximum(lower, 0) - bvn)


def _bvnu_moderate(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``_bvnu`` for |r| < 0.925 with r an array broadcast against h and k (Genz's first
    branch with his largest, 20-point Gauss-Legendre rule)."""
    x, w = _GL[10]
    h, k = h[..., None], k[..., None]
    asr = np.arcsin(np.asarray(r, float))[..., None] / 2
    hk, hs = h * k, (h * h + k * k) / 2
    sn = np.sin(asr * (1 - x))
    bvn = np.sum(w * np.exp((sn * hk - hs) / (1 - sn * sn)), axis=-1)
    sn = np.sin(asr * (1 + x))
    bvn = bvn + np.sum(w * np.exp((sn * hk - hs) / (1 - sn * sn)), axis=-1)
    return bvn * asr[..., 0] / (2 * np.pi) + (ndtr(-h) * ndtr(-k))[..., 0]


def _fit_pairs(t1: np.ndarray, t2: np.ndarray, freq: np.ndarray, start: np.ndarray):
    """Polychoric ML for Q pairs with the same table shape at once (Fisher scoring).

    ``t1`` (Q, A-1), ``t2`` (Q, B-1), ``freq`` (Q, A, B). Returns the estimates and a mask of
    the pairs that converged with |rho| < 0.925 (the others are refitted one by one)."""
    Q, A, B = freq.shape
    r = np.clip(start, -0.9, 0.9)
    n = freq.sum(axis=(1, 2))
    done = np.zeros(Q, bool)
    ok = np.ones(Q, bool)
    H, K = -t1[:, :, None], -t2[:, None, :]
    for _ in range(50):
        F = np.zeros((Q, A + 1, B + 1))
        F[:, 1:A, 1:B] = _bvnu_moderate(H, K, r[:, None, None])
        F[:, A, 1:B] = ndtr(t2)
        F[:, 1:A, B] = ndtr(t1)
        F[:, A, B] = 1.0
        f = np.zeros((Q, A + 1, B + 1))
        s2 = 1 - r * r
        f[:, 1:A, 1:B] = (np.exp(-0.5 * (H * H - 2 * r[:, None, None] * H * K + K * K) / s2[:, None, None])
                          / (2 * np.pi * np.sqrt(s2)[:, None, None]))
        P = np.maximum(F[:, 1:, 1:] - F[:, :-1, 1:] - F[:, 1:, :-1] + F[:, :-1, :-1], 1e-300)
        dP = f[:, 1:, 1:] - f[:, :-1, 1:] - f[:, 1:, :-1] + f[:, :-1, :-1]
        info = n * np.sum(np.where(P > 1e-12, dP * dP / P, 0.0), axis=(1, 2))
        step = np.sum(freq * dP / P, axis=(1, 2)) / info
        ok &= np.isfinite(step)
        step = np.where(ok, step, 0.0)
        r_new = r + step
        ok &= np.abs(r_new) < 0.925
        r = np.where(ok, r_new, r)
        done = ok & (np.abs(step) < 1e-11)
        if np.all(done | ~ok):
            break
    return r, done


def bvn_cdf(h, k, r: float) -> np.ndarray:
    """P(X <= h, Y <= k), standard bivariate normal with correlation r; h, k may be +-inf."""
    h = np.asarray(h, float)
    k = np.asarray(k, float)
    h, k = np.broadcast_arrays(h, k)
    out = np.empty(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    out[fin] = _bvnu(-h[fin], -k[fin], r)
    nf = ~fin
    # an infinite bound: the other margin, or zero
    out[nf] = np.where((h[nf] == -np.inf) | (k[nf] == -np.inf), 0.0,
                       np.where(h[nf] == np.inf, ndtr(k[nf]), ndtr(h[nf])))
    return np.clip(out, 0.0, 1.0)


def _bvn_pdf(h, k, r):
    """Standard bivariate normal density (finite h, k)."""
    s = 1 - r * r
    return np.exp(-0.5 * (h * h - 2 * r * h * k + k * k) / s) / (2 * np.pi * math.sqrt(s))


class _Pair:
    """One pair's bivariate table with fixed thresholds (cells indexed [a, b])."""

    def __init__(self, t1: np.ndarray, t2: np.ndarray, freq: np.ndarray):
        self.g1 = np.concatenate(([-np.inf], t1, [np.inf]))
        self.g2 = np.concatenate(([-np.inf], t2, [np.inf]))
        self.freq = freq

    def cells(self, r: float):
        """Cell probabilities P[a,b] and dP/drho."""
        t1, t2 = self.g1[1:-1], self.g2[1:-1]
        A, B = len(t1) + 1, len(t2) + 1
        F = np.zeros((A + 1, B + 1))
        F[1:A, 1:B] = _bvnu(-t1[:, None], -t2[None, :], r)
        F[A, 1:B] = ndtr(t2)
        F[1:A, B] = ndtr(t1)
        F[A, B] = 1.0
        f = np.zeros((A + 1, B + 1))
        f[1:A, 1:B] = _bvn_pdf(t1[:, None], t2[None, :], r)
        P = F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]
        dP = f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]
        return np.maximum(P, 1e-300), dP

    def negll(self, r: float) -> float:
        P, _ = self.cells(r)
        return -float(np.sum(self.freq * np.log(P)))

    def score(self, r: float) -> float:
        P, dP = self.cells(r)
        return float(np.sum(self.freq * dP / P))

    def fit(self, start: float = 0.0) -> float:
        """ML estimate of rho: Fisher scoring, bracketed root of the score as fallback."""
        r = float(np.clip(start, -0.9, 0.9))
        n = self.freq.sum()
        for _ in range(50):
            P, dP = self.cells(r)
            score = float(np.sum(self.freq * dP / P))
            # expected information; cells of (numerically) zero probability carry none
            info = n * float(np.sum(np.where(P > 1e-12, dP * dP / P, 0.0)))
            if not (np.isfinite(score) and info > 0):
                break
            step = score / info
            r_new = r + step
            if not -0.999 < r_new < 0.999:
                break
            r = r_new
            if abs(step) < 1e-11:
                return r
        lo, hi = -0.999, 0.999
        if self.score(lo) > 0 > self.score(hi):
            return optimize.brentq(self.score, lo, hi, xtol=1e-13, rtol=1e-14)
        res = optimize.minimize_scalar(self.negll, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12})
        return float(res.x)

    def threshold_derivatives(self, r: float):
        """dP[a,b]/dtau1_m (shape m,a,b) and dP[a,b]/dtau2_m."""
        s = np.sqrt(1 - r * r)
        t1, t2 = self.g1[1:-1], self.g2[1:-1]
        # d F(t1_m, g2_b)/d t1_m = phi(t1_m) Phi((g2_b - r t1_m)/s)
        d1 = _phi(t1)[:, None] * ndtr((self.g2[None, :] - r * t1[:, None]) / s)  # (m, b+1)
        d2 = _phi(t2)[:, None] * ndtr((self.g1[None, :] - r * t2[:, None]) / s)  # (m, a+1)
        A, B = len(self.g1) - 1, len(self.g2) - 1
        D1 = np.zeros((len(t1), A, B))
        D2 = np.zeros((len(t2), A, B))
        col1 = d1[:, 1:] - d1[:, :-1]  # (m, B): derivative of the row-m strip
        col2 = d2[:, 1:] - d2[:, :-1]  # (m, A)
        for m in range(len(t1)):
            D1[m, m, :] += col1[m]  # cell row a = m has upper bound t1_m
            D1[m, m + 1, :] -= col1[m]  # cell row a = m+1 has lower bound t1_m
        for m in range(len(t2)):
            D2[m, :, m] += col2[m]
            D2[m, :, m + 1] -= col2[m]
        return D1, D2


@dataclass
class OrdinalStats:
    """First-stage statistics of one group (lavaan's ``muthen1984``).

    ``thresholds[j]``: an ordered item's thresholds or, for a continuous one, minus its mean
    (lavaan's convention); ``variances``: the continuous items' ML variances (divisor N);
    ``corr``: polychoric / polyserial / Pearson correlations."""

    items: list[str]
    nobs: int
    thresholds: list[np.ndarray]
    corr: np.ndarray
    nacov: np.ndarray | None  # asymptotic covariance of sqrt(N) * wls_obs (lavaan's Gamma)
    codes: np.ndarray  # (N, p) 0-based category codes (continuous columns: 0)
    numeric: np.ndarray = None  # bool per item
    variances: np.ndarray = None  # per item (1 for ordered items)
    # per cluster code, the sum of its rows' influences on wls_obs: nacov = N * V'V unclustered
    # (one row per case), N * V'V * G/(G-1) clustered (lavaan's NACOV with cluster =)
    cluster_sums: np.ndarray | None = None

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.variances)

    @property
    def cov(self) -> np.ndarray:
        return self.corr * np.outer(self.sd, self.sd)

    @property
    def wls_obs(self) -> np.ndarray:
        """Thresholds (minus means), continuous variances, then the correlations (covariances
        where a continuous variable is involved) below the diagonal, column by column."""
        p = len(self.items)
        rows, cols = _lower_pairs(p)
        return np.concatenate([*self.thresholds, self.variances[self.numeric], self.cov[rows, cols]])

    @property
    def n_univariate(self) -> int:
        """Number of threshold, mean and variance statistics (those first in ``wls_obs``)."""
        return sum(len(t) for t in self.thresholds) + int(self.numeric.sum())


def _lower_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row/column indices of the elements below the diagonal, column by column (lavaan's vech)."""
    rows, cols = [], []
    for j in range(p):
        for i in range(j + 1, p):
            rows.append(i)
            cols.append(j)
    return np.array(rows, int), np.array(cols, int)


def _codes(frame: pd.DataFrame, items: list[str], levels: dict | None):
    """Ordered category codes 0..K-1 per column (sorted observed values, as R's ``ordered``);
    -1 where the answer is missing."""
    codes = np.empty((len(frame), len(items)), int)
    lev = {}
    for j, it in enumerate(items):
        col = frame[it]
        values = levels[it] if levels and it in levels else np.sort(pd.unique(col.dropna()))
        lookup = {v: i for i, v in enumerate(values)}
        for row, v in zip(frame.index, col):
            if v not in lookup and not pd.isna(v):
                raise ValueError(f"column {it!r}, row {row!r}: value {v!r} is not one of the categories "
                                 f"{list(values)}")
        codes[:, j] = [lookup.get(v, -1) for v in col]
        if len(values) < 2:
            what = "no answers" if len(values) == 0 else "a single category"
            raise ModelDataError(f"column {it!r} has {what}; an ordered variable needs two or more categories")
        lev[it] = list(values)
    return codes, lev


class _MixPair:
    """Polyserial pair: continuous y1 (standardized z, mean/variance fixed) and ordered y2."""

    def __init__(self, z: np.ndarray, code: np.ndarray, th: np.ndarray):
        self.z, self.code = z, code
        g = np.concatenate(([-np.inf], th, [np.inf]))
        self.hi, self.lo = g[code + 1], g[code]

    def parts(self, r: float):
        R = math.sqrt(1 - r * r)
        a_hi = (self.hi - r * self.z) / R
        a_lo = (self.lo - r * self.z) / R
        P = np.maximum(ndtr(a_hi) - ndtr(a_lo), 1e-300)
        f_hi = np.where(np.isfinite(self.hi), _phi(np.where(np.isfinite(a_hi), a_hi, 0.0)), 0.0)
        f_lo = np.where(np.isfinite(self.lo), _phi(np.where(np.isfinite(a_lo), a_lo, 0.0)), 0.0)
        return R, P, f_hi, f_lo

    def score(self, r: float) -> np.ndarray:
        R, P, f_hi, f_lo = self.parts(r)
        hi = np.where(np.isfinite(self.hi), self.hi, 0.0)
        lo = np.where(np.isfinite(self.lo), self.lo, 0.0)
        return (f_hi * (r * hi - self.z) - f_lo * (r * lo - self.z)) / (R**3 * P)

    def fit(self, start: float) -> float:
        def total(r):
            return float(self.score(r).sum())

        lo, hi = -0.995, 0.995
        if total(lo) > 0 > total(hi):
            return optimize.brentq(total, lo, hi, xtol=1e-13, rtol=1e-14)
        res = optimize.minimize_scalar(lambda r: -float(np.log(self.parts(r)[1]).sum()), bounds=(lo, hi),
                                       method="bounded", options={"xatol": 1e-12})
        return float(res.x)


def ordinal_stats(frame: pd.DataFrame, items: list[str], *, ordered: list[str] | None = None,
                  levels: dict | None = None, nacov: bool = True, missing: str = "listwise",
                  cluster: np.ndarray | None = None) -> OrdinalStats:
    """Thresholds, polychoric (and, for continuous items, polyserial and Pearson) correlations
    and (optionally) their NACOV for one group. ``ordered``: the ordered items (default: all).

    ``missing = "listwise"``: ``frame`` must be complete on ``items`` (drop incomplete rows
    first); ``"pairwise"``: each statistic from the rows that answered its variables (rows
    without any answer are dropped first).

    ``cluster``: integer cluster codes (0, 1, ...) per row: ``cluster_sums`` then holds each
    cluster's summed case-wise influences (a row per code)."""
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f'missing must be "listwise" or "pairwise", not {missing!r}')
    ordered = list(items) if ordered is None else list(ordered)
    numeric = np.array([it not in ordered for it in items])
    ord_items = [it for it in items if it in ordered]
    n, p = len(frame), len(items)
    observed = frame[items].notna().to_numpy() if p else np.ones((n, 0), bool)
    if missing == "listwise" and not observed.all():
        i, j = np.argwhere(~observed)[0]
        raise ValueError(f"column {items[j]!r}, row {frame.index[i]!r}: no answer; listwise deletion needs "
                         "complete rows (drop them first, or use missing = \"pairwise\")")
    if missing == "pairwise" and not observed.any(axis=1).all():
        raise ValueError("pairwise deletion needs every row to answer at least one item (drop empty rows first)")
    codes = np.zeros((n, p), int)
    if ord_items:
        oc, _ = _codes(frame, ord_items, levels)
        codes[:, ~numeric] = oc
    Y = np.zeros((n, p))
    ths, var = [], np.ones(p)
    for j, it in enumerate(items):
        obs = observed[:, j]
        if not obs.any():
            raise ModelDataError(f"column {it!r} has no answers")
        if numeric[j]:
            y = pd.to_numeric(frame[it], errors="coerce").to_numpy(float)
            if not np.all(np.isfinite(y[obs])):
                row = frame.index[np.flatnonzero(obs & ~np.isfinite(y))[0]]
                raise ValueError(f"column {it!r}, row {row!r}: value {frame[it].loc[row]!r} is not a number "
                                 "(continuous item)")
            Y[obs, j] = y[obs]
            mean = y[obs].mean()
            var[j] = np.mean((y[obs] - mean) ** 2)
            ths.append(np.array([-mean]))
            continue
        ncat = len(levels[it]) if levels and it in levels else int(codes[:, j].max()) + 1
        counts = np.bincount(codes[obs, j], minlength=ncat)
        if np.any(counts == 0):
            raise ModelDataError(f"column {it!r}: category {list(counts).index(0) + 1} is empty; "
                                 "thresholds are not identified")
        ths.append(optimize_thresholds(counts))
    # standardized continuous values; 0 where missing (every score of a missing value is 0)
    Z = np.where(numeric & observed, (Y + np.array([t[0] if nu else 0.0 for t, nu in zip(ths, numeric)]))
                 / np.sqrt(var), 0.0)
    corr = np.eye(p)
    rows, cols = _lower_pairs(p)
    both = [observed[:, i] & observed[:, j] for i, j in zip(rows, cols)]  # the rows of each pair
    for q, (i, j) in enumerate(zip(rows, cols)):
        if not both[q].any():
            raise ModelDataError(f"columns {items[i]!r} and {items[j]!r}: no row answered both, so their "
                                 "correlation has no estimate")
    start = _start_correlations(np.where(numeric, Z, codes), observed)
    # ordered pairs: Fisher scoring for all pairs of a table shape at once
    ncat = {j: len(ths[j]) + 1 for j in range(p) if not numeric[j]}
    by_shape: dict = {}
    for q, (i, j) in enumerate(zip(rows, cols)):
        if not (numeric[i] or numeric[j]):
            by_shape.setdefault((ncat[i], ncat[j]), []).append(q)
    pairs: list = [None] * len(rows)
    fitted = {}
    for (a, b), qs in by_shape.items():
        freq = np.zeros((len(qs), a, b))
        for t, q in enumerate(qs):
            m = both[q]
            np.add.at(freq[t], (codes[m, rows[q]], codes[m, cols[q]]), 1.0)
            pairs[q] = _Pair(ths[rows[q]], ths[cols[q]], freq[t])
        est, done = _fit_pairs(np.array([ths[rows[q]] for q in qs]), np.array([ths[cols[q]] for q in qs]),
                               freq, np.array([start[rows[q], cols[q]] for q in qs]))
        fitted.update({q: float(e) for q, e, d in zip(qs, est, done) if d})
    for q, (i, j) in enumerate(zip(rows, cols)):
        m = both[q]
        if numeric[i] and numeric[j]:
            r = _pearson_fixed_moments(Z[m, i], Z[m, j], complete=bool(m.all()))
        elif numeric[i] or numeric[j]:
            c, o = (i, j) if numeric[i] else (j, i)
            pairs[q] = _MixPair(Z[m, c], codes[m, o], ths[o])
            r = pairs[q].fit(start[i, j])
        else:
            r = fitted[q] if q in fitted else pairs[q].fit(start=start[i, j])
        corr[i, j] = corr[j, i] = r
    G, V = (_nacov(codes, Z, numeric, var, ths, corr, pairs, rows, cols, observed, both, cluster) if nacov
            else (None, None))
    return OrdinalStats(list(items), n, ths, corr, G, codes, numeric, var, V)


def _start_correlations(X: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns over the rows that answered both (start values)."""
    if observed.all():
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(np.corrcoef(X, rowvar=False))
    return np.nan_to_num(pd.DataFrame(np.where(observed, X, np.nan)).corr().to_numpy())


def _pearson_fixed_moments(z1: np.ndarray, z2: np.ndarray, complete: bool) -> float:
    """ML correlation of two standardized continuous variables with their means and variances
    held at the univariate estimates (lavaan's ``lav_bvreg_cor_twostep_fit``): the score's zero
    in (-1, 1), a root of  -n r^3 + S12 r^2 + (n - S11 - S22) r + S12 = 0 (sums over the
    rows). ``complete``: the rows are those of the univariate estimates, so S11 = S22 = n and
    the root is S12 / n (Pearson's r)."""
    if complete:
        return float(np.mean(z1 * z2))
    n, s11, s22, s12 = len(z1), float(z1 @ z1), float(z2 @ z2), float(z1 @ z2)
    roots = np.roots([-n, s12, n - s11 - s22, s12])
    real = roots[(np.abs(roots.imag) < 1e-10) & (np.abs(roots.real) < 1)].real
    if real.size == 0:
        raise ValueError("no correlation in (-1, 1) maximizes the pair's likelihood")

    def loglik(r):
        s = 1 - r * r
        return -0.5 * n * math.log(s) - 0.5 * (s11 - 2 * r * s12 + s22) / s

    return float(max(real, key=loglik))


def optimize_thresholds(counts: np.ndarray) -> np.ndarray:
    """Univariate probit ML thresholds: normal quantiles of the cumulative proportions."""
    from scipy.special import ndtri

    cum = np.cumsum(counts)[:-1] / counts.sum()
    return ndtri(cum)


def _nacov(codes, Z, numeric, var, ths, corr, pairs, rows, cols, observed, both, cluster=None):
    """lavaan's ``muthen1984`` sandwich, times N, and (with ``cluster``, integer codes per row)
    the per-cluster sums of the case-wise influences, whose cross-product is the clustered
    sandwich. ``observed``: the answered cells; ``both[q]``: the rows of pair q. A score is 0
    where its variables are missing; every sum is over the rows that have it (lavaan: NA
    scores, ``na.rm`` sums; lavaan 0.7-2's cluster sums instead are NA for a cluster with a hole)."""
    n, p = codes.shape
    nth = [len(t) for t in ths]
    start = np.concatenate(([0], np.cumsum(nth))).astype(int)
    T = int(start[-1])
    num_idx = np.flatnonzero(numeric)
    var_col = {j: T + k for k, j in enumerate(num_idx)}  # variance score columns
    U = T + len(num_idx)
    pstar = len(rows)
    sd = np.sqrt(var)
    # univariate scores: thresholds, or mean and variance
    sc_uni = np.zeros((n, U))
    for j in range(p):
        if numeric[j]:
            z = Z[:, j]
            sc_uni[:, start[j]] = z / sd[j]
            sc_uni[:, var_col[j]] = np.where(observed[:, j], (z * z - 1) / (2 * var[j]), 0.0)
            continue
        g = np.concatenate(([-np.inf], ths[j], [np.inf]))
        P = ndtr(g[1:]) - ndtr(g[:-1])
        c = codes[:, j]
        for m in range(nth[j]):
            dens = _phi(ths[j][m])
            sc_uni[:, start[j] + m] = np.where(c == m, dens / P[m], 0.0) - np.where(c == m + 1, dens / P[m + 1], 0.0)
    sc_cor = np.zeros((n, pstar))
    A21 = np.zeros((pstar, U))
    H21 = np.zeros((pstar, U))
    H22 = np.ones(pstar)
    for q, (i, j, pair) in enumerate(zip(rows, cols, pairs)):
        r = corr[i, j]
        m = both[q]
        if numeric[i] and numeric[j]:
            z1, z2 = Z[m, i], Z[m, j]
            s = 1 - r * r
            sc = r / s + (z1 * z2 * s - r * (z1 * z1 - 2 * r * z1 * z2 + z2 * z2)) / s**2
            d_mu1 = (z1 - r * z2) / (s * sd[i])
            d_mu2 = (z2 - r * z1) / (s * sd[j])
            d_v1 = -1 / (2 * var[i]) + (z1 - r * z2) * z1 / (2 * s * var[i])
            d_v2 = -1 / (2 * var[j]) + (z2 - r * z1) * z2 / (2 * s * var[j])
            A21[q, start[i]] = sc @ d_mu1
            A21[q, start[j]] = sc @ d_mu2
            A21[q, var_col[i]] = sc @ d_v1
            A21[q, var_col[j]] = sc @ d_v2
            H21[q, var_col[i]] = sd[j] * r / (2 * sd[i])
            H21[q, var_col[j]] = sd[i] * r / (2 * sd[j])
            H22[q] = sd[i] * sd[j]
        elif numeric[i] or numeric[j]:
            c, o = (i, j) if numeric[i] else (j, i)
            R, P, f_hi, f_lo = pair.parts(r)
            z = pair.z
            sc = pair.score(r)
            # d log P / d z, then the marginal normal part of the continuous variable
            dz = -(f_hi - f_lo) * (r / R) / P
            d_mu = z / sd[c] - dz / sd[c]
            d_v = (z * z - 1) / (2 * var[c]) - dz * z / (2 * var[c])
            A21[q, start[c]] = sc @ d_mu
            A21[q, var_col[c]] = sc @ d_v
            code = codes[m, o]
            for k in range(nth[o]):
                d_th = (np.where(code == k, f_hi, 0.0) - np.where(code == k + 1, f_lo, 0.0)) / (R * P)
                A21[q, start[o] + k] = sc @ d_th
            H21[q, var_col[c]] = r / (2 * sd[c])
            H22[q] = sd[c]
        else:
            P, dP = pair.cells(r)
            a, b = codes[m, i], codes[m, j]
            sc = (dP / P)[a, b]
            D1, D2 = pair.threshold_derivatives(r)
            A21[q, start[i]:start[i + 1]] = (D1 / P)[:, a, b] @ sc
            A21[q, start[j]:start[j + 1]] = (D2 / P)[:, a, b] @ sc
        sc_cor[m, q] = sc
    SC = np.hstack([sc_uni, sc_cor])
    inner = SC.T @ SC
    A11 = np.zeros((U, U))
    for j in range(p):
        idx = list(range(start[j], start[j + 1])) + ([var_col[j]] if numeric[j] else [])
        A11[np.ix_(idx, idx)] = inner[np.ix_(idx, idx)]
    a22 = np.einsum("ij,ij->j", sc_cor, sc_cor)
    # a 0/1 covariate's mean and variance scores are collinear (z^2 is linear in z): lavaan's
    # solve() fails and it takes the Moore-Penrose inverse (MASS::ginv's tolerance)
    if 1.0 / np.linalg.cond(A11, 1) < np.finfo(float).eps:
        A11_inv = np.linalg.pinv(A11, rcond=np.sqrt(np.finfo(float).eps))
    else:
        A11_inv = np.linalg.inv(A11)
    A21_inv = -(A21 / a22[:, None]) @ A11_inv
    B_inv = np.block([[A11_inv, np.zeros((U, pstar))], [A21_inv, np.diag(1.0 / a22)]])
    W = B_inv @ inner @ B_inv.T
    # cluster-robust meat (lavaan >= 0.7-2, Mplus TYPE = COMPLEX): the same bread, the scores
    # summed per cluster before the outer product; kept as the per-cluster sums
    V = rowsum(SC, cluster) @ B_inv.T if cluster is not None else None
    if numeric.any():  # correlations -> covariances; thresholds of continuous items are -means
        H = np.block([[np.eye(U), np.zeros((U, pstar))], [H21, np.diag(H22)]])
        W = H @ W @ H.T
        flip = np.ones(U + pstar)
        flip[start[num_idx]] = -1
        W = W * np.outer(flip, flip)
        if V is not None:
            V = (V @ H.T) * flip
    return n * W, V


def rowsum(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sums of the rows of ``X`` per integer code 0..max (R's ``rowsum``; a code without rows
    gives a row of zeros)."""
    out = np.zeros((int(codes.max()) + 1 if len(codes) else 0, X.shape[1]))
    np.add.at(out, codes, X)
    return out


def rows_used(data: pd.DataFrame, items: list[str], missing: str) -> pd.DataFrame:
    """The rows a first stage uses: those that answered every one of ``items`` (``missing =
    "listwise"``) or any of them ("pairwise")."""
    return data.dropna(subset=items, how="any" if missing == "listwise" else "all")


def polychoric_matrix(data: pd.DataFrame, items: list[str], missing: str = "listwise") -> tuple[pd.DataFrame, dict]:
    """Polychoric correlation matrix of ``items`` and thresholds by item, from the complete rows
    (``missing = "listwise"``) or each from the rows that answered its items ("pairwise")."""
    frame = rows_used(data[items], items, missing)
    st = ordinal_stats(frame, items, nacov=False, missing=missing)
    corr = pd.DataFrame(st.corr, index=items, columns=items)
    return corr, {it: th.copy() for it, th in zip(items, st.thresholds)}
