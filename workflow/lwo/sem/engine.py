"""Maximum-likelihood engine over sample moments (RAM / McArdle–McDonald form).

All variables (observed first, then latent) form one vector ``v = A v + e`` with
``Cov(e) = S`` and ``E(v) = (I - A)^{-1} m``; the observed block gives
``Sigma = F B S B' F'`` and ``mu = F B m`` with ``B = (I - A)^{-1}``.

The discrepancy minimised is lavaan's ML fit function, summed over groups with
weights ``N_g / N``::

    F_g = log|Sigma_g| + tr(S_g Sigma_g^{-1}) - log|S_g| - p + (m_g - mu_g)' Sigma_g^{-1} (m_g - mu_g)

(``S_g`` with divisor ``N_g``), so ``chisq = sum_g N_g F_g``. Cost per iteration
depends on the number of variables and parameters only, not on N.

Derivatives: every free element contributes ``dSigma = u v' + v u'`` with ``u, v``
columns of ``F B`` or ``F C`` (``C = B S B'``), which gives the gradient and the
expected information in closed form (Fisher scoring).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

from .partable import ParTable

KIND_A, KIND_S, KIND_M = 0, 1, 2


@dataclass
class GroupMoments:
    """Sample moments of one group (covariance with divisor N, as lavaan's ML)."""

    nobs: int
    cov: np.ndarray
    mean: np.ndarray
    logdet_cov: float
    data: np.ndarray | None = None  # raw rows (only kept when casewise scores are needed)
    cluster: np.ndarray | None = None  # integer cluster codes per row


# a correlation matrix whose smallest eigenvalue is below this share of its largest is singular
# (an exact linear dependence, whatever rounding leaves of it)
SINGULAR_RATIO = 1e-10


def moments_from_data(values: np.ndarray, keep_data: bool = False, cluster=None) -> GroupMoments:
    nobs = values.shape[0]
    mean = values.mean(axis=0)
    centred = values - mean
    cov = centred.T @ centred / nobs
    sign, logdet = np.linalg.slogdet(cov)
    # an exact linear dependence that rounding leaves a tiny positive eigenvalue is singular too
    # (else the optimiser chases a zero residual variance for thousands of iterations): judged
    # on the correlation matrix, scale free
    sd = np.sqrt(np.diag(cov))
    if sign > 0 and np.all(sd > 0):
        eig = np.linalg.eigvalsh(cov / np.outer(sd, sd))
        sign = sign if eig[0] > SINGULAR_RATIO * eig[-1] else 0
    if sign <= 0:
        raise ValueError(
            "the sample covariance matrix is singular (collinear or constant variables); "
            "the model cannot be fitted by maximum likelihood"
        )
    return GroupMoments(nobs, cov, mean, logdet, values if keep_data else None, cluster)


class _GroupStructure:
    """Index arrays of one group's parameter rows in the RAM matrices."""

    def __init__(self, partable: ParTable, group: int, var_index: dict[str, int], n_obs: int):
        self.n_obs = n_obs
        self.n_all = len(var_index)
        kinds, ii, jj, index, value, row_ids = [], [], [], [], [], []
        for rid, r in enumerate(partable.rows):
            if r.group != group:
                continue
            if r.op == "=~":
                kind, i, j = KIND_A, var_index[r.rhs], var_index[r.lhs]
            elif r.op == "~":
                kind, i, j = KIND_A, var_index[r.lhs], var_index[r.rhs]
            elif r.op == "~~":
                kind, i, j = KIND_S, var_index[r.lhs], var_index[r.rhs]
            elif r.op == "~1":
                kind, i, j = KIND_M, var_index[r.lhs], 0
            else:  # pragma: no cover - parser rejects other operators
                raise ValueError(r.op)
            kinds.append(kind)
            ii.append(i)
            jj.append(j)
            index.append(r.index)
            value.append(r.value)
            row_ids.append(rid)
        self.kind = np.array(kinds, dtype=int)
        self.i = np.array(ii, dtype=int)
        self.j = np.array(jj, dtype=int)
        self.index = np.array(index, dtype=int)
        self.value = np.array(value, dtype=float)
        self.row_ids = np.array(row_ids, dtype=int)
        self.free = self.index >= 0
        # free rows, split by kind, for derivatives
        f = self.free
        self.f_kind = self.kind[f]
        self.f_i = self.i[f]
        self.f_j = self.j[f]
        self.f_index = self.index[f]
        self.f_diag = (self.f_kind == KIND_S) & (self.f_i == self.f_j)
        # free rows sharing a parameter (equality constraints), for summing into parameters
        self.f_order = np.argsort(self.f_index, kind="stable")
        ordered = self.f_index[self.f_order]
        unique = ordered.size == 0 or np.all(ordered[1:] != ordered[:-1])
        self.f_starts = None if unique else np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.topo = _topological_order(self.n_all, self.i[self.kind == KIND_A], self.j[self.kind == KIND_A])
        # the index sets of the Hessian's second-order part (_second_order_rows), formed once: a
        # fit evaluates the Hessian at every step
        a, sidx, midx = (np.flatnonzero(self.f_kind == k) for k in (KIND_A, KIND_S, KIND_M))
        ia, ja, ss, tt = self.f_i[a], self.f_j[a], self.f_i[sidx], self.f_j[sidx]
        self.so = {"a": a, "ia": ia, "ja": ja, "s": sidx, "m": midx, "s_diag": self.f_diag[sidx],
                   "ja_ia": np.ix_(ja, ia), "ja_ja": np.ix_(ja, ja), "ia_ia": np.ix_(ia, ia), "a_a": np.ix_(a, a),
                   "ia_tt": np.ix_(ia, tt), "ja_ss": np.ix_(ja, ss), "ia_ss": np.ix_(ia, ss), "ja_tt": np.ix_(ja, tt),
                   "a_s": np.ix_(a, sidx), "s_a": np.ix_(sidx, a), "ja_im": np.ix_(ja, self.f_i[midx]),
                   "a_m": np.ix_(a, midx), "m_a": np.ix_(midx, a),
                   "f_f": np.ix_(self.f_index, self.f_index) if unique else None}


def _topological_order(n: int, heads: np.ndarray, tails: np.ndarray) -> np.ndarray | None:
    """An order of the variables in which every path (tail -> head) points forward, so
    that I - A is unit lower triangular in it; None when the paths form a cycle."""
    succ = [[] for _ in range(n)]
    indegree = [0] * n
    for h, t in set(zip(heads.tolist(), tails.tolist())):
        succ[t].append(h)
        indegree[h] += 1
    ready = [v for v in range(n) if indegree[v] == 0]
    order = []
    while ready:
        v = ready.pop()
        order.append(v)
        for w in succ[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                ready.append(w)
    return np.array(order) if len(order) == n else None


@dataclass
class Implied:
    sigma: np.ndarray
    mu: np.ndarray
    full_cov: np.ndarray  # C = B S B' (all variables)
    full_mean: np.ndarray  # B m
    B: np.ndarray
    S: np.ndarray
    A: np.ndarray
    m: np.ndarray


class RAMModel:
    """ML estimation machinery for one parameter table and one set of group moments."""

    def __init__(self, partable: ParTable, moments: list[GroupMoments]):
        self.pt = partable
        self.moments = moments
        self.ngroups = partable.ngroups
        self.meanstructure = partable.meanstructure
        self.var_names = list(partable.ov_names) + list(partable.lv_names)
        self.var_index = {v: k for k, v in enumerate(self.var_names)}
        self.n_obs = len(partable.ov_names)
        self.n_all = len(self.var_names)
        self.npar = partable.npar
        self.ntotal = sum(m.nobs for m in moments)
        self.weights = np.array([m.nobs / self.ntotal for m in moments])
        self.groups = [_GroupStructure(partable, g, self.var_index, self.n_obs) for g in range(self.ngroups)]
        # exogenous (fixed.x) rows take their values from the sample moments
        x_pos = {v: k for k, v in enumerate(partable.ov_names)}
        for g, gs in enumerate(self.groups):
            for k, rid in enumerate(gs.row_ids):
                r = partable.rows[rid]
                if r.exo:
                    if r.op == "~~":
                        value = moments[g].cov[x_pos[r.lhs], x_pos[r.rhs]]
                    else:
                        value = moments[g].mean[x_pos[r.lhs]]
                    gs.value[k] = value
                    r.value = float(value)

    # ------------------------------------------------------------------ matrices
    def matrices(self, theta: np.ndarray, g: int):
        gs = self.groups[g]
        vals = gs.value.copy()
        vals[gs.free] = theta[gs.index[gs.free]]
        n = self.n_all
        A = np.zeros((n, n))
        S = np.zeros((n, n))
        m = np.zeros(n)
        ka, ks, km = gs.kind == KIND_A, gs.kind == KIND_S, gs.kind == KIND_M
        A[gs.i[ka], gs.j[ka]] = vals[ka]
        S[gs.i[ks], gs.j[ks]] = vals[ks]
        S[gs.j[ks], gs.i[ks]] = vals[ks]
        m[gs.i[km]] = vals[km]
        return A, S, m

    def implied(self, theta: np.ndarray, g: int) -> Implied:
        A, S, m = self.matrices(theta, g)
        o = self.groups[g].topo
        if o is None:  # paths with a cycle
            B = np.linalg.solve(np.eye(self.n_all) - A, np.eye(self.n_all))
        else:  # recursive model: a triangular inverse in the paths' order
            T, info = lapack.dtrtri(np.eye(self.n_all) - A[np.ix_(o, o)], lower=1)
            if info != 0:  # pragma: no cover - a unit triangular matrix is invertible
                raise np.linalg.LinAlgError("I - A is singular")
            B = np.empty_like(T)
            B[np.ix_(o, o)] = T
        C = B @ S @ B.T
        C = 0.5 * (C + C.T)
        Bm = B @ m
        p = self.n_obs
        return Implied(C[:p, :p], Bm[:p], C, Bm, B, S, A, m)

    # ------------------------------------------------------------ objective etc.
    def _group_terms(self, theta, g, want_grad, want_info, want_hess=False):
        mom = self.moments[g]
        gs = self.groups[g]
        p = self.n_obs
        try:
            imp = self.implied(theta, g)
        except np.linalg.LinAlgError:
            return None
        sigma = imp.sigma
        try:
            chol = sla.cho_factor(sigma, lower=True, check_finite=True)
        except (np.linalg.LinAlgError, ValueError):
            return None
        logdet = 2.0 * np.sum(np.log(np.diag(chol[0])))
        W = sla.cho_solve(chol, np.eye(p))
        W = 0.5 * (W + W.T)
        F = logdet + np.sum(W * mom.cov) - mom.logdet_cov - p
        if self.meanstructure:
            d = mom.mean - imp.mu
            w = W @ d
            F += d @ w
        if not np.isfinite(F):
            return None
        out = {"F": F, "implied": imp, "W": W}
        if not (want_grad or want_info or want_hess):
            return out
        U, V, Dmu = self._derivative_columns(imp, gs)
        out["U"], out["V"], out["Dmu"] = U, V, Dmu
        if want_grad or want_hess:
            T = mom.cov
            if self.meanstructure:
                T = T + np.outer(d, d)
            P = W @ T @ W
            M = W - P
            g_rows = 2.0 * np.einsum("ar,ar->r", U, M @ V)
            if self.meanstructure:
                g_rows -= 2.0 * (w @ Dmu)
            out["g_rows"] = g_rows
        if want_info:
            WU, WV = W @ U, W @ V
            Guu, Gvv, Guv = U.T @ WU, V.T @ WV, U.T @ WV
            info_rows = Guu * Gvv + Guv * Guv.T
            if self.meanstructure:
                info_rows = info_rows + Dmu.T @ W @ Dmu
            out["info_rows"] = info_rows
        if want_hess:
            out["hess_rows"] = self._hessian_rows(imp, gs, W, M, P, U, V, Dmu, w if self.meanstructure else None)
        return out

    def _hessian_rows(self, imp, gs, W, M, P, U, V, Dmu, w):
        """Exact Hessian of F_g with respect to the free rows (R x R).

        F_kl = tr(M S_kl) - 2 w'mu_kl - tr(W S_l W S_k) + 2 tr(W S_l P S_k)
               + 2 mu_l' W S_k w + 2 w' S_l W mu_k + 2 mu_l' W mu_k,
        with M = W - P, P = W T W, T = S + dd', w = W d (S_k: derivative of Sigma).
        """
        WU, WV, PU, PV = W @ U, W @ V, P @ U, P @ V
        Xuu, Xvv, Xuv = U.T @ WU, V.T @ WV, U.T @ WV
        Yuu, Yvv, Yuv = U.T @ PU, V.T @ PV, U.T @ PV
        tr_wsws = 2.0 * (Xuu * Xvv + Xuv * Xuv.T)
        tr_wsps = Xuv.T * Yuv + Xuu * Yvv + Xvv * Yuu + Xuv * Yuv.T
        H = -tr_wsws + 2.0 * tr_wsps
        if w is not None:
            E1 = Dmu.T @ WU  # [l, k] = mu_l' W u_k
            E2 = Dmu.T @ WV
            Z = E1.T * (V.T @ w)[:, None] + E2.T * (U.T @ w)[:, None]  # [k, l] = mu_l' W S_k w
            H += 2.0 * (Z + Z.T) + 2.0 * (Dmu.T @ W @ Dmu)
        H += self._second_order_rows(imp, gs, M, w)
        return 0.5 * (H + H.T)

    def _second_order_rows(self, imp, gs, M, w):
        """sum_ab M_ab d2Sigma_ab - 2 sum_a w_a d2mu_a over pairs of free rows: the part of
        the Hessian that is linear in the gradient matrices (M = dF/dSigma, -2w = dF/dmu);
        only pairs involving A (paths, loadings) have second derivatives."""
        p = self.n_obs
        FB = imp.B[:p, :]
        FC = imp.full_cov[:p, :]
        B, C, Bm = imp.B, imp.full_cov, imp.full_mean
        H = np.zeros((gs.f_kind.size, gs.f_kind.size))
        so = gs.so
        if so["a"].size:
            X = FC.T @ M @ FB
            Y = FB.T @ M @ FB
            ia, ja = so["ia"], so["ja"]
            XJI = X[so["ja_ia"]]
            BJI = B[so["ja_ia"]]
            HAA = 2.0 * (XJI * BJI.T + XJI.T * BJI) + 2.0 * C[so["ja_ja"]] * Y[so["ia_ia"]]
            if w is not None:
                wFB = FB.T @ w
                HAA -= 2.0 * (BJI.T * wFB[ia][None, :] * Bm[ja][:, None] + BJI * wFB[ia][:, None] * Bm[ja][None, :])
            H[so["a_a"]] += HAA
            if so["s"].size:
                HAS = 2.0 * (Y[so["ia_tt"]] * B[so["ja_ss"]] + Y[so["ia_ss"]] * B[so["ja_tt"]])
                HAS[:, so["s_diag"]] *= 0.5
                H[so["a_s"]] += HAS
                H[so["s_a"]] += HAS.T
            if so["m"].size and w is not None:
                wFB = FB.T @ w
                HAM = -2.0 * wFB[ia][:, None] * B[so["ja_im"]]
                H[so["a_m"]] += HAM
                H[so["m_a"]] += HAM.T
        return H

    def moment_jacobian(self, imp: Implied, gs: _GroupStructure) -> np.ndarray:
        """d(mu, vech Sigma) / d(free rows): (p + p(p+1)/2) x R (vech: np.tril_indices order)."""
        U, V, Dmu = self._derivative_columns(imp, gs)
        a, b = np.tril_indices(self.n_obs)
        return np.vstack([Dmu, U[a] * V[b] + V[a] * U[b]])

    def _derivative_columns(self, imp: Implied, gs: _GroupStructure):
        p = self.n_obs
        FB = imp.B[:p, :]
        FC = imp.full_cov[:p, :]
        kind, i, j = gs.f_kind, gs.f_i, gs.f_j
        R = kind.size
        U = np.zeros((p, R))
        V = np.zeros((p, R))
        Dmu = np.zeros((p, R))
        a = kind == KIND_A
        U[:, a] = FB[:, i[a]]
        V[:, a] = FC[:, j[a]]
        Dmu[:, a] = FB[:, i[a]] * imp.full_mean[j[a]]
        s = kind == KIND_S
        U[:, s] = FB[:, i[s]]
        V[:, s] = FB[:, j[s]]
        V[:, gs.f_diag] *= 0.5
        mm = kind == KIND_M
        Dmu[:, mm] = FB[:, i[mm]]
        return U, V, Dmu

    @staticmethod
    def _accumulate(target: np.ndarray, gs: _GroupStructure, rows_matrix: np.ndarray) -> None:
        """target += K' rows_matrix K, K mapping free rows to parameters."""
        if gs.so["f_f"] is not None:  # no equality constraint within the group
            target[gs.so["f_f"]] += rows_matrix
        else:
            idx = gs.f_index
            np.add.at(target, (idx[:, None], idx[None, :]), rows_matrix)

    def _to_params(self, gs: _GroupStructure, X: np.ndarray) -> np.ndarray:
        """X K: columns of free rows summed into their parameters (K maps free rows to
        parameters; column sums instead of a product with the 0/1 matrix)."""
        out = np.zeros((X.shape[0], self.npar))
        if gs.f_starts is None:
            out[:, gs.f_index] = X
        else:
            out[:, gs.f_index[gs.f_order[gs.f_starts]]] = np.add.reduceat(X[:, gs.f_order], gs.f_starts, axis=1)
        return out

    def objective(self, theta: np.ndarray) -> float:
        total = 0.0
        for g in range(self.ngroups):
            t = self._group_terms(theta, g, False, False)
            if t is None:
                return np.inf
            total += self.weights[g] * t["F"]
        return total

    def evaluate(self, theta: np.ndarray, want_info: bool = True, want_hess: bool = False):
        """Objective f = sum_g w_g F_g, its gradient, the expected information
        (per observation, weighted; E[d2f] = 2 * info) and optionally the exact Hessian of f."""
        f = 0.0
        grad = np.zeros(self.npar)
        info = np.zeros((self.npar, self.npar)) if want_info else None
        hess = np.zeros((self.npar, self.npar)) if want_hess else None
        for g in range(self.ngroups):
            t = self._group_terms(theta, g, True, want_info, want_hess)
            if t is None:
                return (np.inf, None, None, None) if want_hess else (np.inf, None, None)
            gs = self.groups[g]
            w = self.weights[g]
            f += w * t["F"]
            grad += w * np.bincount(gs.f_index, weights=t["g_rows"], minlength=self.npar)
            if want_info:
                self._accumulate(info, gs, w * t["info_rows"])
            if want_hess:
                self._accumulate(hess, gs, w * t["hess_rows"])
        if want_hess:
            return f, grad, info, hess
        return f, grad, info

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.evaluate(theta, want_info=False)[1]

    def fisher_information(self, theta: np.ndarray) -> np.ndarray:
        """Total expected information sum_g N_g I_g (inverse = ML covariance of estimates)."""
        _, _, info = self.evaluate(theta, want_info=True)
        return self.ntotal * info

    def observed_information(self, theta: np.ndarray) -> np.ndarray:
        """Total observed information: Hessian of -loglik = (N/2) d2f (analytic)."""
        _, _, _, hess = self.evaluate(theta, want_info=False, want_hess=True)
        return 0.5 * self.ntotal * hess

    # ---------------------------------------------------------------- scores
    def cluster_scores(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per group: (clusters x npar) sums of casewise loglik scores."""
        out = []
        for g in range(self.ngroups):
            mom = self.moments[g]
            if mom.data is None or mom.cluster is None:
                raise ValueError("casewise data and cluster codes are needed for cluster-robust SEs")
            gs = self.groups[g]
            t = self._group_terms(theta, g, False, False)
            imp, W = t["implied"], t["W"]
            U, V, Dmu = self._derivative_columns(imp, gs)
            centre = imp.mu if self.meanstructure else mom.mean
            const = np.einsum("ar,ar->r", U, W @ V)
            codes = mom.cluster
            ncl = int(codes.max()) + 1
            sums = np.zeros((ncl, U.shape[1]))
            if ncl * self.n_obs < mom.nobs:
                # few clusters: sum z z' within each cluster first, then contract
                order = np.argsort(codes, kind="stable")
                bounds = np.searchsorted(codes[order], np.arange(ncl + 1))
                for c in range(ncl):
                    Z = (mom.data[order[bounds[c]:bounds[c + 1]]] - centre) @ W
                    Mc = Z.T @ Z
                    sums[c] = np.einsum("ar,ar->r", U, Mc @ V) - Z.shape[0] * const
                    if self.meanstructure:
                        sums[c] += Z.sum(axis=0) @ Dmu
            else:
                chunk = 20000
                for start in range(0, mom.nobs, chunk):
                    Z = (mom.data[start:start + chunk] - centre) @ W
                    s = (Z @ U) * (Z @ V) - const
                    if self.meanstructure:
                        s += Z @ Dmu
                    np.add.at(sums, codes[start:start + chunk], s)
            out.append(self._to_params(gs, sums))
        return out

    # -------------------------------------------------------- standardisation
    def standardized_rows(self, theta: np.ndarray) -> np.ndarray:
        """lavaan std.all for every parameter-table row (cov.std = TRUE):
        loadings and regressions est * sd(source) / sd(target) with model-implied
        total SDs; variances est / total variance; covariances est / sqrt of the two
        (residual) variance parameters; intercepts and means est / sd."""
        out = np.full(len(self.pt.rows), np.nan)
        for g in range(self.ngroups):
            out[self.groups[g].row_ids] = self.standardized_group(theta, g)
        return out

    def standardized_group(self, theta: np.ndarray, g: int, imp: Implied | None = None) -> np.ndarray:
        """std.all (:meth:`standardized_rows`) of group g's rows, in table order; ``imp``:
        the group's implied moments at theta, where the caller has them."""
        imp = self.implied(theta, g) if imp is None else imp
        total_var = np.diag(imp.full_cov).copy()
        total_var[np.abs(total_var) < np.finfo(float).eps] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.where(total_var < 0, np.nan, total_var))
            par_sd = np.sqrt(np.abs(np.diag(imp.S)))
            gs = self.groups[g]
            est = gs.value.copy()
            est[gs.free] = theta[gs.index[gs.free]]
            i, j = gs.i, gs.j
            std = np.full(est.size, np.nan)
            a = gs.kind == KIND_A  # '=~' (i indicator, j factor) and '~' (i outcome, j predictor)
            std[a] = est[a] * sd[j[a]] / sd[i[a]]
            var = (gs.kind == KIND_S) & (i == j)
            std[var] = est[var] / total_var[i[var]]
            cov = (gs.kind == KIND_S) & (i != j)
            std[cov] = est[cov] / (par_sd[i[cov]] * par_sd[j[cov]])
            m = gs.kind == KIND_M
            std[m] = est[m] / sd[i[m]]
        return std

    def row_values(self, theta: np.ndarray) -> np.ndarray:
        out = np.array([r.value for r in self.pt.rows], dtype=float)
        idx = np.array([r.index for r in self.pt.rows])
        free = idx >= 0
        out[free] = theta[idx[free]]
        return out


def _solve_step(H: np.ndarray, grad: np.ndarray) -> np.ndarray | None:
    try:
        chol = sla.cho_factor(H, lower=True, check_finite=True)
    except (np.linalg.LinAlgError, ValueError):
        return None
    step = -sla.cho_solve(chol, grad)
    return step if np.all(np.isfinite(step)) else None


def _line_search(model: RAMModel, theta, f, step, decrement):
    t = 1.0
    while t > 1e-12:
        candidate = theta + t * step
        f_new = model.objective(candidate)
        if np.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement + 1e-15 * max(1.0, abs(f)):
            return candidate, f_new, t
        t *= 0.5
    return None, f, 0.0


def fisher_scoring(model: RAMModel, start: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-10,
                   curvature: np.ndarray | None = None, slow: float | None = None, fisher: bool = False):
    """Minimise the ML discrepancy: Newton steps with the exact Hessian where it is
    positive definite, Fisher-scoring steps (expected Hessian 2*I) otherwise, with
    backtracking line search.

    Converged when the Newton decrement g' H^{-1} g is below tol^2 (scale free).
    ``curvature``: one fixed Hessian of f for every step instead (chord method: from a
    start close to the optimum, gradient-only steps converge at a rate set by how much
    the Hessian moves, which is cheaper where the exact Hessian is costly). ``slow``: with
    ``curvature``, stop (message "slow") when an iteration shrinks the decrement by less
    than this factor, so that the caller can refresh the curvature. ``fisher``: Fisher-scoring
    steps throughout (the expected Hessian 2*I as the curvature: no second derivatives).
    Returns (theta, converged, iterations, message).
    """
    def state(theta):
        if fisher:
            f, grad, info = model.evaluate(theta, want_info=True)
            return f, grad, info, None if info is None else 2.0 * info
        if curvature is None:
            return model.evaluate(theta, want_info=True, want_hess=True)
        f, grad, _ = model.evaluate(theta, want_info=False)
        return f, grad, None, curvature

    theta = start.astype(float).copy()
    f, grad, info, hess = state(theta)
    if not np.isfinite(f):
        return theta, False, 0, "the implied covariance matrix is not positive definite at the starting values"
    previous = np.inf
    for iteration in range(1, max_iter + 1):
        def scoring(info=info, grad=grad):
            step = _solve_step(2.0 * info, grad)
            return step if step is not None else -np.linalg.lstsq(2.0 * info, grad, rcond=1e-12)[0]

        newton = _solve_step(hess, grad)
        if newton is None and info is None:
            return theta, False, iteration, "the fixed curvature is not positive definite"
        # the scoring step is the fallback when the Newton step fails (formed only then)
        candidates = [lambda: newton, scoring] if newton is not None else [scoring]
        if info is None:
            candidates = candidates[:1]
        first = candidates[0]()
        decrement = -grad @ first
        if newton is not None and decrement < tol**2:
            return theta, True, iteration - 1, "converged"
        if newton is not None and decrement < 1e-16 and decrement > 0.5 * previous:
            # rounding noise floor reached; 1e-16 bounds the error of every estimate
            # below 1e-4 standard errors for N up to 1e8
            return theta, True, iteration - 1, "converged (at rounding precision)"
        if slow is not None and curvature is not None and decrement > slow * previous:
            return theta, False, iteration - 1, "slow"
        previous = decrement if newton is not None else np.inf
        if newton is not None and decrement < 1e-10:
            # inside the region of quadratic convergence the predicted decrease is at the
            # level of rounding noise in f, so a line search cannot judge the step: take it
            candidate = theta + newton
            if np.isfinite(model.objective(candidate)):
                theta = candidate
                f, grad, info, hess = state(theta)
                continue
        accepted = False
        for k, make in enumerate(candidates):
            step = first if k == 0 else make()
            dec = -grad @ step
            if dec <= 0:
                continue
            new_theta, f_new, t = _line_search(model, theta, f, step, dec)
            if new_theta is not None:
                accepted = True
                break
        if not accepted:
            if newton is not None and decrement < 1e-16:
                return theta, True, iteration - 1, "converged (objective flat to machine precision)"
            return theta, False, iteration, "line search failed: no decrease of the ML discrepancy"
        theta = new_theta
        f, grad, info, hess = state(theta)
        if not np.isfinite(f):  # pragma: no cover - line search guarantees a finite value
            return theta, False, iteration, "the implied covariance matrix became singular"
    return theta, False, max_iter, f"no convergence within {max_iter} iterations"
