"""Full-information ML with missing data (lavaan ``missing = "ml"``): the building blocks.

Rows are grouped by missing-data pattern. The padded inverse of a pattern's observed
covariance is Sigma^-1 minus a term of rank = its number of missing variables, so the
likelihood, gradient, Hessian and scores cost a pass over the rows plus small work per
pattern.

Moment coordinates of one group are ``(mu, vech(Sigma))`` (``vech``: lower triangle,
row-major ``np.tril_indices`` order). In these coordinates the module gives, for any
``(mu, Sigma)``:

* ``-2 loglik`` and its gradient as matrices (``M`` with ``d(-2ll) = tr(M dSigma)`` and
  ``w`` with ``d(-2ll) = -2 w' dmu``), which the RAM engine maps to parameters;
* the exact Hessian of ``-2 loglik`` (observed information, ``H / 2``);
* casewise scores;
* the unrestricted (h1) model by EM.

Sums over patterns or rows are formed as one matrix product over stacked pattern
matrices or vectors (the h1 moment Hessian over the zero-padded pattern inverses; the
parameter Hessian over the low-rank terms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from .syntax import ModelDataError

LOG2PI = math.log(2 * math.pi)


@dataclass
class Pattern:
    obs: np.ndarray  # indices of the observed variables
    rows: np.ndarray  # row indices (into the group's data) with this pattern
    n: int


@dataclass
class MissingData:
    """One group's data (NaN = missing) grouped by missing-data pattern."""

    values: np.ndarray
    patterns: list[Pattern]
    nobs: int
    cluster: np.ndarray | None = None  # integer cluster codes per row

    def __post_init__(self):
        # stacked, zero-padded pattern statistics for batched linear algebra
        p, k = self.values.shape[1], len(self.patterns)
        self.mask = np.zeros((k, p), dtype=bool)
        self.n = np.zeros(k)
        for j, pat in enumerate(self.patterns):
            self.mask[j, pat.obs] = True
            self.n[j] = pat.n
        self.n_observed = self.mask.sum(axis=1)
        self.mask2 = self.mask[:, :, None] & self.mask[:, None, :]
        # rows sorted by pattern (contiguous blocks), NaN as 0
        self.order = np.concatenate([pat.rows for pat in self.patterns])
        self.bounds = np.concatenate([[0], np.cumsum([pat.n for pat in self.patterns])])
        self.sorted = np.nan_to_num(self.values[self.order])
        self.row_mask = np.repeat(self.mask, self.n.astype(int), axis=0)
        # patterns by number of missing variables (in order of first occurrence), for the
        # rank-|m| inverse updates
        n_missing = p - self.n_observed
        _, first = np.unique(n_missing, return_index=True)
        self.by_missing = {}
        for r in n_missing[np.sort(first)]:
            js = np.flatnonzero(n_missing == r)
            self.by_missing[int(r)] = (js, np.nonzero(~self.mask[js])[1].reshape(js.size, r))
        # sorted rows of each group of patterns (pattern position within the group per row)
        pattern_of_row = np.repeat(np.arange(k), self.n.astype(int))
        self.rows_by_missing = {}
        for r, (js, _) in self.by_missing.items():
            local = np.full(k, -1)
            local[js] = np.arange(js.size)
            rows = np.flatnonzero(local[pattern_of_row] >= 0)
            self.rows_by_missing[r] = (rows, local[pattern_of_row[rows]])

    @property
    def p(self) -> int:
        return self.values.shape[1]


def missing_patterns(values: np.ndarray) -> MissingData:
    """Group rows by pattern (rows with every variable missing must be removed first)."""
    observed = ~np.isnan(values)
    # rows in lexicographic order of their patterns (packed bits, first variable most
    # significant: the order of the boolean rows), rows of one pattern in data order
    packed = np.packbits(observed, axis=1)
    order = np.lexsort(packed.T[::-1])
    key = packed[order]
    starts = np.flatnonzero(np.r_[True, np.any(key[1:] != key[:-1], axis=1)])
    bounds = np.r_[starts, order.size]
    patterns = [Pattern(np.flatnonzero(observed[order[a]]), order[a:b], int(b - a))
                for a, b in zip(bounds[:-1], bounds[1:])]
    return MissingData(values, patterns, values.shape[0])


def add_by_code(out: np.ndarray, codes: np.ndarray, rows: np.ndarray) -> None:
    """out[c] += sum of the rows with code c (sorted segment sums; np.add.at is slow)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    out[sorted_codes[starts]] += np.add.reduceat(rows[order], starts, axis=0)


def vech_indices(p: int):
    a, b = np.tril_indices(p)
    f = np.where(a == b, 0.5, 1.0)
    return a, b, f


# --------------------------------------------------------------------- likelihood
def _pattern_pieces(md: MissingData, sigma: np.ndarray) -> dict:
    """K = Sigma^-1 and, per number r of missing variables, K_.m and K_mm^-1 of each
    pattern: Sigma_oo^-1 = (K - K_.m K_mm^-1 K_m.)_oo and log|Sigma_oo| = log|Sigma| +
    log|K_mm|. Raises LinAlgError when Sigma or some Sigma_oo is not positive definite."""
    p = md.p
    chol = sla.cho_factor(sigma, lower=True, check_finite=True)
    logdet_sigma = 2.0 * float(np.sum(np.log(np.diag(chol[0]))))
    K = sla.cho_solve(chol, np.eye(p))
    K = 0.5 * (K + K.T)
    logdet = np.full(len(md.patterns), logdet_sigma)
    groups = {}
    for r, (js, miss) in md.by_missing.items():
        if r == 0:
            continue
        Kmm = K[miss[:, :, None], miss[:, None, :]]
        sign, ld = np.linalg.slogdet(Kmm)
        if np.any(sign <= 0):
            raise np.linalg.LinAlgError("not positive definite")
        logdet[js] += ld
        groups[r] = (js, miss, K[:, miss].transpose(1, 0, 2), np.linalg.inv(Kmm))
    return {"K": K, "logdet": logdet, "groups": groups}


def _pattern_inverses(md: MissingData, pieces: dict) -> np.ndarray:
    """Per pattern: Sigma_oo^-1 zero-padded to p x p (stacked)."""
    K = pieces["K"]
    W = np.broadcast_to(K, (len(md.patterns), md.p, md.p)).copy()
    for js, miss, Km, Kinv in pieces["groups"].values():
        W[js] -= Km @ Kinv @ np.swapaxes(Km, 1, 2)
    return np.where(md.mask2, W, 0.0)


def _pattern_rows(md: MissingData, pieces: dict, mu: np.ndarray):
    """Centred rows (0 where missing), z = W_p (y - mu), sum_p n_p W_p and the part of
    it that the holes take off, sum_p n_p (K - W_p) (rows sorted by pattern), without
    forming the pattern inverses."""
    K = pieces["K"]
    Yc = np.where(md.row_mask, md.sorted - mu, 0.0)
    Z = Yc @ K
    L = np.zeros_like(K)
    for r, (js, miss, Km, Kinv) in pieces["groups"].items():
        rows, local = md.rows_by_missing[r]
        zm = np.take_along_axis(Z[rows], miss[local], axis=1)
        c = np.einsum("nrs,ns->nr", Kinv[local], zm)
        Z[rows] -= np.einsum("npr,nr->np", Km[local], c)
        G = (Km @ Kinv) * md.n[js][:, None, None]  # sum_k n_k Km_k Kinv_k Km_k' as one product
        L += G.transpose(1, 0, 2).reshape(md.p, -1) @ Km.transpose(1, 0, 2).reshape(md.p, -1).T
    Z[~md.row_mask] = 0.0
    L = 0.5 * (L + L.T)
    return Yc, Z, md.nobs * K - L, L


def pattern_terms(md: MissingData, mu: np.ndarray, sigma: np.ndarray, keep: bool = False):
    """-2 loglik (with constants), M = sum_p n_p W_p - sum_i z_i z_i' (= sum n_p (W_p -
    W_p T_p W_p)), w = sum_i z_i, with z_i = W_p (y_i - mu) zero-padded. ``keep``: also
    the padded per-pattern W, P = W T W and w_p = W_p d_p for Hessians and scores.
    Returns None when Sigma (or some Sigma_oo) is not positive definite."""
    try:
        pieces = _pattern_pieces(md, sigma)
    except (np.linalg.LinAlgError, ValueError):
        return None
    Yc, Z, SW, L = _pattern_rows(md, pieces, mu)
    n = md.n
    m2ll = float(n @ (md.n_observed * LOG2PI + pieces["logdet"]) + np.sum(Z * Yc))
    if not np.isfinite(m2ll):
        return None
    M = SW - Z.T @ Z
    out = {"m2ll": m2ll, "M": 0.5 * (M + M.T), "w": Z.sum(axis=0), "Z": Z, "pieces": pieces, "L": L}
    if keep:
        P = np.empty((len(md.patterns), md.p, md.p))
        for k in range(len(md.patterns)):
            Zk = Z[md.bounds[k]:md.bounds[k + 1]]
            P[k] = Zk.T @ Zk / n[k]
        wp = np.add.reduceat(Z, md.bounds[:-1], axis=0) / n[:, None]
        out.update({"W": _pattern_inverses(md, pieces), "P": P, "wp": wp})
    return out


def _vech_lookup(p: int) -> np.ndarray:
    """p x p table of the vech position of (a, b) = (b, a)."""
    A, B, _ = vech_indices(p)
    table = np.zeros((p, p), dtype=int)
    table[A, B] = np.arange(A.size)
    table[B, A] = np.arange(A.size)
    return table


def moment_information(md: MissingData, terms: dict, keep: np.ndarray) -> np.ndarray:
    """Observed information (total: the Hessian of -loglik) in (mu, vech Sigma)
    coordinates, the ``keep`` ones only (``terms`` from :func:`pattern_terms` with
    ``keep=True``): its lower triangle (the upper one is not set), as
    :func:`cholesky_upper` reads it.

    The sums over patterns of products of two padded pattern matrices (W_ac W_bd,
    W_ac P_bd) are one symmetric rank-2k update over the stacked vech's of the patterns'
    W and P, of which one triangle is formed."""
    p = md.p
    n = md.n
    W, P, wp = terms["W"], terms["P"], terms["wp"]
    K = len(n)
    km, ks = keep[:p], keep[p:]
    pk = int(km.sum())
    A, B, f = vech_indices(p)
    OW = W[:, A, B]
    # X[vech(a,c), vech(b,d)] = sum n (W_ac P_bd + P_ac W_bd - W_ac W_bd) = Y + Y', Y = (nW)' (P - W/2)
    X = sla.blas.dsyr2k(1.0, (OW * n[:, None]).T, (P[:, A, B] - 0.5 * OW).T)
    X = X.T.ravel()  # C order, no copy: the Fortran upper triangle set by dsyr2k is its lower one
    q = pk + int(ks.sum())
    out = np.zeros((q, q))
    _gather_covariance_block(X, p, ks, out[pk:, pk:])
    out[:pk, :pk] = (n @ W.reshape(K, p * p)).reshape(p, p)[np.ix_(km, km)]
    nW = (W * n[:, None, None]).reshape(K, p * p)
    TWw = (nW.T @ wp).reshape(p, p, p)[km]  # [a, c, d] = sum n W_ac w_d, as one product
    a, b = A[ks], B[ks]
    out[pk:, :pk] = (f[ks][None, :] * (TWw[:, a, b] + TWw[:, b, a])).T
    return out


def _gather_covariance_block(X: np.ndarray, p: int, ks: np.ndarray, out: np.ndarray, block: int = 1 << 15) -> None:
    """The covariance block of :func:`moment_information` (rows and columns the kept vech
    coordinates (a,b), (c,d)): f_ab f_cd (X[vech(a,c), vech(b,d)] + X[vech(a,d), vech(b,c)])
    from the lower triangle of X (flat, C order), written on and below the diagonal of
    ``out`` (and at a few places above it, which nothing reads). Done in bands of rows of
    about ``block`` elements: the index arrays stay small and in cache, and none is kept."""
    A, B, f = vech_indices(p)
    A, B, f = A[ks], B[ks], f[ks]
    look = _vech_lookup(p)
    q = p * (p + 1) // 2
    lookA, lookB = look[A], look[B]  # rows: look[a, .] and look[b, .] of each kept (a,b)
    n = A.size
    step = max(1, block // max(n, 1))
    for s in range(0, n, step):
        e = min(n, s + step)
        vals = None
        for u, v in ((A, B), (B, A)):  # X[vech(a,c), vech(b,d)], then X[vech(a,d), vech(b,c)]
            x, y = lookA[s:e][:, u[:e]], lookB[s:e][:, v[:e]]
            got = np.take(X, np.maximum(x, y) * q + np.minimum(x, y))
            vals = got if vals is None else vals + got
        vals *= f[s:e, None] * f[None, :e]
        out[s:e, :e] = vals


def cholesky_upper(a: np.ndarray):
    """Cholesky factor of a symmetric positive definite matrix, in place, as
    ``scipy.linalg.cho_solve`` takes it (the C-ordered lower triangle is the Fortran
    upper one: no copy)."""
    c, info = sla.lapack.dpotrf(a.T, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        raise np.linalg.LinAlgError("the information matrix is not positive definite")
    return c, False


def _pattern_roots(pieces: dict) -> dict:
    """Per number r of missing variables: A (patterns, p, r) with A A' = K_.m K_mm^-1 K_m.,
    so that the padded pattern inverse is K - A A' (computed once per pieces)."""
    if "roots" not in pieces:
        pieces["roots"] = {r: Km @ np.linalg.cholesky(Kinv) for r, (_, _, Km, Kinv) in pieces["groups"].items()}
    return pieces["roots"]


def param_hessian(md: MissingData, terms: dict, U: np.ndarray, V: np.ndarray, Dmu: np.ndarray | None) -> np.ndarray:
    """D' H D: the exact Hessian of -2 loglik in (mu, vech Sigma) coordinates (``terms``
    from :func:`pattern_terms`) contracted with the model's derivative columns (dSigma_r
    = u_r v_r' + v_r u_r', dmu_r = Dmu_r; Dmu None without a mean structure), without
    forming H.

    Per row, with z = W_p (y - mu): H_rs = -tr(W dS_r W dS_s) + 2 z' dS_r W dS_s z
    + 2 (z' dS_r W dmu_s + z' dS_s W dmu_r) + 2 dmu_r' W dmu_s. The padded pattern inverse
    is W_p = K - A_p A_p' (K = Sigma^-1, A_p = K_.m chol(K_mm^-1): rank = number of
    missing variables), so every sum over rows is the complete-data expression in K
    minus Gram matrices of a few vectors (a_j' dS_r ...) per missing variable of a row
    or pattern, each stacked into one matrix product; the terms linear in A_p A_p' use
    their sum over patterns, ``terms["L"]``."""
    pieces, Z = terms["pieces"], terms["Z"]
    K, N, R = pieces["K"], md.nobs, U.shape[1]
    KU, KV = K @ U, K @ V
    Xuu, Xvv, Xuv = U.T @ KU, V.T @ KV, U.T @ KV
    P = Z.T @ Z
    PU, PV = P @ U, P @ V
    Yuu, Yvv, Yuv = U.T @ PU, V.T @ PV, U.T @ PV
    H = -2.0 * N * (Xuu * Xvv + Xuv * Xuv.T) + 2.0 * (Xuv.T * Yuv + Xuu * Yvv + Xvv * Yuu + Xuv * Yuv.T)
    if Dmu is not None:
        w = terms["w"]
        E = (KU.T @ Dmu) * (V.T @ w)[:, None] + (KV.T @ Dmu) * (U.T @ w)[:, None]
        H += 2.0 * (E + E.T) + 2.0 * N * (Dmu.T @ K @ Dmu)
        wsum = np.add.reduceat(Z, md.bounds[:-1], axis=0)  # per pattern: sum of z
        wU, wV = wsum @ U, wsum @ V
    minus = _GramSum()
    EL = np.zeros((R, R))
    roots = _pattern_roots(pieces)
    for r, (js, *_) in pieces["groups"].items():
        At = roots[r].transpose(0, 2, 1).reshape(-1, md.p)
        alpha, beta = (At @ U).reshape(len(js), r, R), (At @ V).reshape(len(js), r, R)  # a_j' u, a_j' v
        root_n = np.sqrt(md.n[js])[:, None, None]
        # tr(L dS_r L dS_s) = sum_jl g_jl,r g_jl,s, g_jl = a_j' dS a_l = g_lj: pairs j <= l, in
        # blocks of one j (slices, not gathers: these are the largest arrays of a fit with many holes)
        gam = np.empty((len(js), r * (r + 1) // 2, R))
        start = 0
        for j in range(r):
            block = gam[:, start:start + r - j]
            np.multiply(alpha[:, j:j + 1], beta[:, j:], out=block)
            block += beta[:, j:j + 1] * alpha[:, j:]
            block *= root_n * np.where(np.arange(j, r) == j, 1.0, math.sqrt(2.0))[None, :, None]
            start += r - j
        minus.add(gam.reshape(-1, R))
        # 2 sum_i z' dS_r L dS_s z over the rows of these patterns (in chunks of rows: memory)
        rows, local = md.rows_by_missing[r]
        step = max(1, _GramSum.BUDGET // (r * R))
        for start in range(0, rows.size, step):
            Zr, loc = Z[rows[start:start + step]], local[start:start + step]
            x = alpha[loc] * (Zr @ V)[:, None, :] + beta[loc] * (Zr @ U)[:, None, :]
            minus.add(math.sqrt(2.0) * x.reshape(-1, R))
        if Dmu is not None:
            y = (At @ Dmu) * np.repeat(np.sqrt(md.n[js]), r)[:, None]  # a_j' dmu
            x = (alpha * wV[js][:, None, :] + beta * wU[js][:, None, :]).reshape(-1, R)
            EL += (x / np.repeat(np.sqrt(md.n[js]), r)[:, None]).T @ y
    if pieces["groups"]:
        L = terms["L"]  # sum_p n_p A_p A_p'
        LU, LV = L @ U, L @ V
        Gbb, Gba, Gaa = V.T @ LV, V.T @ LU, U.T @ LU
        T = Xuv * Gba
        H += 2.0 * (Xuu * Gbb + T + T.T + Xvv * Gaa)  # 2 tr(L dS_r K dS_s) (symmetric in r, s)
        H -= minus.total()
        if Dmu is not None:
            EL += 0.5 * (Dmu.T @ L @ Dmu)
            H -= 2.0 * (EL + EL.T)
    return 0.5 * (H + H.T)


class _GramSum:
    """Sum of x'x over stacked blocks x: blocks are gathered into one matrix product up to
    BUDGET elements (few large products are fast; the bound keeps memory flat in N)."""

    BUDGET = 1 << 21

    def __init__(self):
        self.parts, self.size, self.sum = [], 0, None

    def add(self, x: np.ndarray) -> None:
        self.parts.append(x)
        self.size += x.size
        if self.size >= self.BUDGET:
            self._flush()

    def _flush(self) -> None:
        if self.parts:
            x = np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]
            self.sum = x.T @ x if self.sum is None else self.sum + x.T @ x
            self.parts, self.size = [], 0

    def total(self) -> np.ndarray:
        self._flush()
        return self.sum


def moment_score_summary(md: MissingData, terms: dict, codes: np.ndarray | None = None, ncl: int = 0,
                         chunk: int = 20000) -> np.ndarray:
    """Casewise scores of loglik in (mu, vech Sigma) coordinates, summarised without
    holding all N x (p + p(p+1)/2) of them: with cluster ``codes``, their sums per
    cluster (ncl rows); otherwise a matrix R with R'R = sum_i s_i s_i' (the scores
    themselves when that is smaller)."""
    A, B, f = vech_indices(md.p)
    Z = terms["Z"]
    d = md.p + A.size
    casewise = codes is None and md.nobs <= d
    out = np.zeros((ncl, d)) if codes is not None else (np.zeros((md.nobs, d)) if casewise else np.zeros((d, d)))
    Wv = terms["W"][:, A, B]
    pattern_of_row = np.repeat(np.arange(len(md.patterns)), md.n.astype(int))
    for start in range(0, md.nobs, chunk):
        sl = slice(start, start + chunk)
        Zc = Z[sl]
        S = np.hstack([Zc, f * (Zc[:, A] * Zc[:, B] - Wv[pattern_of_row[sl]])])
        if codes is not None:
            add_by_code(out, codes[md.order[sl]], S)
        elif casewise:
            out[md.order[sl]] = S
        else:
            out += S.T @ S
    if codes is None and not casewise:  # a square root of the cross-product
        vals, vecs = np.linalg.eigh(out)
        out = (vecs * np.sqrt(np.clip(vals, 0.0, None))).T
    return out


# ----------------------------------------------------------------------- EM for h1
def _em_step(md: MissingData, mu: np.ndarray, sigma: np.ndarray):
    """One EM update. With z_i = W_p (y_i - mu) the completed row is ``mu + Sigma z_i``
    and the conditional covariance of a pattern is ``Sigma - Sigma W_p Sigma``, so an
    update costs one pass over the rows. Raises LinAlgError when Sigma is not positive
    definite."""
    N = md.nobs
    _, Z, SW, _ = _pattern_rows(md, _pattern_pieces(md, sigma), mu)
    Yhat = mu + Z @ sigma
    new_mu = Yhat.mean(axis=0)
    Yd = Yhat - new_mu
    new_sigma = (Yd.T @ Yd + N * sigma - sigma @ SW @ sigma) / N
    return new_mu, 0.5 * (new_sigma + new_sigma.T)


class H1Error(ModelDataError):
    """The unrestricted (h1) model has no estimate: its EM reached a covariance matrix that is
    not positive definite (the ML estimate on the boundary, as when two variables are seldom
    observed together, or collinear variables) or did not converge. ``group``: the index of
    the group whose unrestricted model it is."""

    group = 0


def em_h1(md: MissingData, *, max_iter: int = 1000, tol: float = 1e-9):
    """Unrestricted ML estimates of (mu, Sigma) by EM, accelerated by SQUAREM (Varadhan
    & Roland 2008, scheme S3: an extrapolation along two EM steps, then one EM step; the
    fixed point is EM's, in a third of its iterations). Converged when an EM step moves
    no element by more than tol (relative to the largest variance).
    Returns (mu, sigma, -2 loglik, EM steps). Raises H1Error when a step meets a covariance
    matrix that is not positive definite or max_iter steps do not converge (the study's
    models take 10-20 steps at 5-20% of the answers blank, about 200 at 50%)."""
    p = md.p
    mu = np.nanmean(md.values, axis=0)
    var = np.nanvar(md.values, axis=0)
    sigma = np.diag(np.where(var > 0, var, 1.0))
    x = np.concatenate([mu, sigma.ravel()])

    def step(x, extrapolated=False):
        try:
            m, s = _em_step(md, x[:p], x[p:].reshape(p, p))
        except (np.linalg.LinAlgError, ValueError):
            if extrapolated:
                raise
            raise H1Error("the unrestricted (h1) model has no estimate: its EM reached a covariance matrix "
                          "that is not positive definite") from None
        return np.concatenate([m, s.ravel()])

    def done(x, fx):
        return np.max(np.abs(fx - x)) < tol * max(1.0, np.max(np.abs(fx[p:])))

    it = 0
    while it < max_iter:
        x1 = step(x)
        it += 1
        if md.mask.all() or done(x, x1):
            x = x1
            break
        x2 = step(x1)
        it += 1
        if done(x1, x2):
            x = x2
            break
        r, v = x1 - x, x2 - 2 * x1 + x
        alpha = min(-1.0, -math.sqrt((r @ r) / (v @ v))) if v @ v > 0 else -1.0
        x_new = x2
        if alpha < -1.0:  # extrapolate, keep it only if Sigma stays positive definite
            try:
                x_new = step(x - 2 * alpha * r + alpha * alpha * v, extrapolated=True)
                it += 1
            except (np.linalg.LinAlgError, ValueError):
                x_new = x2
        x = x_new
    else:
        raise H1Error(f"the unrestricted (h1) model has no estimate: its EM did not converge in {max_iter} steps")
    mu, sigma = x[:p], x[p:].reshape(p, p)
    terms = pattern_terms(md, mu, sigma)
    if terms is None:
        raise H1Error("the unrestricted (h1) model has no estimate: its EM covariance matrix is not positive definite")
    return mu, sigma, terms["m2ll"], it


def same_data(a: list[MissingData], b: list[MissingData]) -> bool:
    """Whether two lists of groups hold the same values (NaN where the other has NaN)."""
    return len(a) == len(b) and all(x.values.shape == y.values.shape
                                    and np.array_equal(x.values, y.values, equal_nan=True) for x, y in zip(a, b))


# ------------------------------------------------------------------ the model
from .engine import GroupMoments, RAMModel  # noqa: E402  (engine has no dependency on this module)


def h1_moments(md: MissingData) -> tuple[GroupMoments, float]:
    """EM estimates as the group's 'sample' moments (start values, fixed.x values, SRMR)
    and -2 loglik of the unrestricted model."""
    mu, sigma, m2ll, _ = em_h1(md)
    sign, logdet = np.linalg.slogdet(sigma)
    if sign <= 0:
        raise H1Error("the unrestricted (h1) covariance matrix is singular")
    return GroupMoments(md.nobs, sigma, mu, logdet), m2ll


def moments_without_h1(md: MissingData, x_idx: list[int]) -> GroupMoments:
    """Stand-in 'sample' moments of a group whose unrestricted model has no estimate (see
    :class:`FIMLModel`): start values only, from pairwise-complete means and covariances,
    except for the fixed covariates (``x_idx``), whose moments are fixed values of the model:
    the EM estimates of the covariates' block alone (their sample moments when they have no
    holes, as with lavaan's ``missing = "ml"``; with ``"ml.x"`` lavaan takes them from its
    joint EM's last iterate). The other variables' residual covariance given the covariates
    gets its eigenvalues floored, so the whole matrix is positive definite with the
    covariates' block unchanged. Raises H1Error when the covariates' own EM fails."""
    v = md.values
    obs = ~np.isnan(v)
    mean = np.nanmean(v, axis=0)
    c = np.where(obs, v - mean, 0.0)
    cov = (c.T @ c) / np.maximum(obs.T.astype(float) @ obs, 1.0)
    x = np.asarray(x_idx, dtype=int)
    y = np.setdiff1d(np.arange(md.p), x)
    if x.size:
        keep = obs[:, x].any(axis=1)
        try:
            mx, sxx, _, _ = em_h1(missing_patterns(v[keep][:, x]))
        except H1Error:
            raise H1Error("the unrestricted (h1) model has no estimate, nor have the moments of its fixed "
                          "covariates alone (their own EM failed)") from None
        mean[x] = mx
        B = np.linalg.solve(sxx, cov[np.ix_(x, y)]).T  # pairwise regression of the others on the covariates
        resid = cov[np.ix_(y, y)] - B @ sxx @ B.T
    else:
        B, sxx, resid = np.zeros((y.size, 0)), np.zeros((0, 0)), cov
    vals, vecs = np.linalg.eigh(0.5 * (resid + resid.T))
    resid = (vecs * np.maximum(vals, 1e-3 * max(float(vals.max()), 1e-12))) @ vecs.T
    cov = np.empty_like(cov)
    cov[np.ix_(x, x)] = sxx
    cov[np.ix_(y, x)] = B @ sxx
    cov[np.ix_(x, y)] = (B @ sxx).T
    cov[np.ix_(y, y)] = B @ sxx @ B.T + resid
    cov = 0.5 * (cov + cov.T)
    return GroupMoments(md.nobs, cov, mean, float(np.linalg.slogdet(cov)[1]))


class FIMLModel(RAMModel):
    """RAM model whose discrepancy is the casewise (FIML) likelihood:
    ``F_g = (-2 loglik_g - (-2 loglik_h1,g)) / N_g``, so ``chisq = sum_g N_g F_g`` as for
    complete data. Without a mean structure (complete data only) the means are the
    sample means."""

    def __init__(self, partable, data: list[MissingData], h1: FIMLModel | None = None, without_h1: bool = False):
        """``h1``: a model on the same data (row for row) whose unrestricted model (EM
        estimates, information, score summaries) is reused instead of computed again:
        it depends on the data only, not on the structural model.

        ``without_h1``: where a group's unrestricted model has no estimate (H1Error), go on
        without it, as lavaan does (it warns, and computes its chi-square from the EM's last
        iterate): the casewise likelihood, its estimates and their SEs do not involve the
        unrestricted model; its place in the discrepancy is taken by 0 (``h1_m2ll`` NaN,
        ``h1_errors`` the group's reason) and the start values and fixed covariate moments
        by :func:`moments_without_h1`. Nothing that compares the model with it (chi-square,
        scaled test, fit indices, SRMR) can then be computed."""
        if h1 is not None and not same_data(h1.data, data):
            raise ValueError("the unrestricted model to reuse was fitted to other data")
        if h1 is None:
            fitted, errors = [], {}
            exo = any(r.exo for r in partable.rows)
            x_idx = [list(partable.ov_names).index(v) for v in partable.ov_x] if exo else []
            for g, md in enumerate(data):
                try:
                    fitted.append(h1_moments(md))
                except H1Error as err:
                    err.group = g
                    if not without_h1:
                        raise
                    errors[g] = err
                    try:
                        fitted.append((moments_without_h1(md, x_idx), float("nan")))
                    except H1Error as x_err:
                        x_err.group = g
                        raise
            moments, m2ll = zip(*fitted)
            cache = {}
        else:
            moments, m2ll, cache, errors = h1.moments, h1.h1_m2ll, h1._h1_cache, h1.h1_errors
        self.data = data
        self.h1_m2ll = list(m2ll)
        self.h1_errors: dict[int, H1Error] = errors
        self.exact_hessian = False  # optimisation steps use the cheap scoring matrix
        self._h1_cache: dict = cache  # depends on the data only (shared with a reusing model)
        self._meat_cache: dict = {}
        self._last_terms: dict = {}
        super().__init__(partable, list(moments))
        if not self.meanstructure and any(len(md.patterns) > 1 for md in data):
            raise ValueError("full-information ML with missing values needs a mean structure")

    @property
    def has_h1(self) -> bool:
        """Whether every group's unrestricted model has an estimate."""
        return not self.h1_errors

    def _mu(self, imp, g):
        return imp.mu if self.meanstructure else self.moments[g].mean

    def _terms(self, theta, g):
        """Implied moments and pattern terms of group g at theta (None where Sigma is not
        positive definite), kept for the last theta: the line search evaluates f at the
        point whose gradient is asked for next, the fit indices and scores at the estimates."""
        key = theta.tobytes()
        last = self._last_terms.get(g)
        if last is None or last[0] != key:
            try:
                imp = self.implied(theta, g)
            except np.linalg.LinAlgError:
                return None, None
            last = self._last_terms[g] = (key, imp, pattern_terms(self.data[g], self._mu(imp, g), imp.sigma))
        return last[1], last[2]

    def _group_terms(self, theta, g, want_grad, want_info, want_hess=False):
        gs = self.groups[g]
        md = self.data[g]
        imp, t = self._terms(theta, g)
        if t is None:
            return None
        N = md.nobs
        offset = self.h1_m2ll[g] if g not in self.h1_errors else 0.0
        out = {"F": (t["m2ll"] - offset) / N, "implied": imp, "terms": t}
        if not (want_grad or want_info or want_hess):
            return out
        U, V, Dmu = self._derivative_columns(imp, gs)
        M, w = t["M"] / N, t["w"] / N
        if want_grad or want_hess:
            g_rows = 2.0 * np.einsum("ar,ar->r", U, M @ V)
            if self.meanstructure:
                g_rows -= 2.0 * (w @ Dmu)
            out["g_rows"] = g_rows
        if want_info:  # complete-data expected information: a cheap scoring matrix
            W = np.linalg.inv(imp.sigma)
            WU, WV = W @ U, W @ V
            Guu, Gvv, Guv = U.T @ WU, V.T @ WV, U.T @ WV
            info_rows = Guu * Gvv + Guv * Guv.T
            if self.meanstructure:
                info_rows = info_rows + Dmu.T @ W @ Dmu
            out["info_rows"] = info_rows
        if want_hess and not self.exact_hessian:
            # scoring step: complete-data expected information as the curvature (the
            # exact observed information costs a pass over pattern pairs; it is formed
            # once, at the estimates)
            info_rows = out.get("info_rows")
            if info_rows is None:
                W = np.linalg.inv(imp.sigma)
                WU, WV = W @ U, W @ V
                Guu, Gvv, Guv = U.T @ WU, V.T @ WV, U.T @ WV
                info_rows = Guu * Gvv + Guv * Guv.T
                if self.meanstructure:
                    info_rows = info_rows + Dmu.T @ W @ Dmu
            out["hess_rows"] = 2.0 * info_rows
        elif want_hess:
            hess = param_hessian(md, t, U, V, Dmu if self.meanstructure else None) / N
            hess = hess + self._second_order_rows(imp, gs, M, w if self.meanstructure else None)
            out["hess_rows"] = 0.5 * (hess + hess.T)
        return out

    def casewise_score_chunks(self, theta: np.ndarray, g: int, chunk: int = 20000):
        """Scores of the casewise loglik of group g (rows x npar) in chunks of rows:
        yields (row indices in the group's data, scores)."""
        gs, md = self.groups[g], self.data[g]
        imp, t = self._terms(theta, g)
        U, V, Dmu = self._derivative_columns(imp, gs)
        # per pattern u_r' W_p v_r with W_p = K - A A' (see param_hessian)
        const = np.empty((len(md.patterns), U.shape[1]))
        const[:] = np.einsum("ar,ar->r", U, t["pieces"]["K"] @ V)
        for r, A in _pattern_roots(t["pieces"]).items():
            js = t["pieces"]["groups"][r][0]
            At = A.transpose(0, 2, 1).reshape(-1, md.p)
            const[js] -= ((At @ U) * (At @ V)).reshape(len(js), r, -1).sum(axis=1)
        pattern_of_row = np.repeat(np.arange(len(md.patterns)), md.n.astype(int))
        for start in range(0, md.nobs, chunk):
            sl = slice(start, start + chunk)
            Z = t["Z"][sl]
            s = (Z @ U) * (Z @ V) - const[pattern_of_row[sl]]
            if self.meanstructure:
                s += Z @ Dmu
            yield md.order[sl], self._to_params(gs, s)

    def observed_information(self, theta: np.ndarray) -> np.ndarray:
        self.exact_hessian = True
        try:
            return super().observed_information(theta)
        finally:
            self.exact_hessian = False

    def h1_terms(self, g: int) -> dict:
        """Pattern terms of group g at the EM estimates (unrestricted model)."""
        if g not in self._h1_cache:
            mom = self.moments[g]
            self._h1_cache[g] = pattern_terms(self.data[g], mom.mean, mom.cov, keep=True)
        return self._h1_cache[g]

    def h1_factor(self, keep: np.ndarray) -> list:
        """Per group: Cholesky factor (``cho_solve`` form) of the observed information
        (total) of the unrestricted model at its EM estimates, in the ``keep`` moment
        coordinates."""
        key = ("factor", keep.tobytes())
        if key not in self._h1_cache:
            self._h1_cache[key] = [cholesky_upper(moment_information(self.data[g], self.h1_terms(g), keep))
                                   for g in range(self.ngroups)]
        return self._h1_cache[key]

    def h1_scores(self, g: int, ncl: int | None = None) -> np.ndarray:
        """A summary of the casewise scores of the unrestricted model of group g in
        (mu, vech Sigma) coordinates (:func:`moment_score_summary`: their sums over the
        ``ncl`` clusters of the group's cluster codes when ncl is given, else a root of
        their cross-product)."""
        md = self.data[g]
        key = ("scores", g, ncl, None if ncl is None else md.cluster.tobytes())
        if key not in self._h1_cache:
            codes = md.cluster if ncl is not None else None
            self._h1_cache[key] = moment_score_summary(md, self.h1_terms(g), codes, ncl or 0)
        return self._h1_cache[key]

    def h1_solved(self, g: int, ncl: int | None, keep: np.ndarray):
        """(S, A1^-1 S'): the score summary of :meth:`h1_scores` in the ``keep``
        coordinates and its solve with the h1 information (the Yuan-Bentler trace and the
        FIML-corrected robust indices both need it)."""
        md = self.data[g]
        key = ("solved", g, ncl, keep.tobytes(), None if ncl is None else md.cluster.tobytes())
        if key not in self._h1_cache:
            S = self.h1_scores(g, ncl)[:, keep]
            self._h1_cache[key] = (S, sla.cho_solve(self.h1_factor(keep)[g], S.T))
        return self._h1_cache[key]
