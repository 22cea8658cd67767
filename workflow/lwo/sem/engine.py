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


def moments_from_data(values: np.ndarray, keep_data: bool = False, cluster=None) -> GroupMoments:
    nobs = values.shape[0]
    mean = values.mean(axis=0)
    centred = values - mean
    cov = centred.T @ centred / nobs
    sign, logdet = np.linalg.slogdet(cov)
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
                        gs.value[k] = moments[g].cov[x_pos[r.lhs], x_pos[r.rhs]]
                    else:
                        gs.value[k] = moments[g].mean[x_pos[r.lhs]]
                    r.value = gs.value[k] if g == r.group else r.value
        for rid, r in enumerate(partable.rows):
            if r.exo:
                gs = self.groups[r.group]
                r.value = float(gs.value[np.where(gs.row_ids == rid)[0][0]])

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
        B = np.linalg.solve(np.eye(self.n_all) - A, np.eye(self.n_all))
        C = B @ S @ B.T
        C = 0.5 * (C + C.T)
        Bm = B @ m
        p = self.n_obs
        return Implied(C[:p, :p], Bm[:p], C, Bm, B, S, A, m)

    # ------------------------------------------------------------ objective etc.
    def _group_terms(self, theta, g, want_grad, want_info):
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
        if not (want_grad or want_info):
            return out
        U, V, Dmu = self._derivative_columns(imp, gs)
        out["U"], out["V"], out["Dmu"] = U, V, Dmu
        if want_grad:
            T = mom.cov
            if self.meanstructure:
                T = T + np.outer(d, d)
            M = W - W @ T @ W
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
        return out

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

    def _map_matrix(self, gs: _GroupStructure) -> np.ndarray:
        K = np.zeros((gs.f_index.size, self.npar))
        K[np.arange(gs.f_index.size), gs.f_index] = 1.0
        return K

    def objective(self, theta: np.ndarray) -> float:
        total = 0.0
        for g in range(self.ngroups):
            t = self._group_terms(theta, g, False, False)
            if t is None:
                return np.inf
            total += self.weights[g] * t["F"]
        return total

    def evaluate(self, theta: np.ndarray, want_info: bool = True):
        """Objective, gradient and expected information (per observation, weighted)."""
        f = 0.0
        grad = np.zeros(self.npar)
        info = np.zeros((self.npar, self.npar)) if want_info else None
        for g in range(self.ngroups):
            t = self._group_terms(theta, g, True, want_info)
            if t is None:
                return np.inf, None, None
            gs = self.groups[g]
            w = self.weights[g]
            f += w * t["F"]
            grad += w * np.bincount(gs.f_index, weights=t["g_rows"], minlength=self.npar)
            if want_info:
                K = self._map_matrix(gs)
                info += w * (K.T @ t["info_rows"] @ K)
        return f, grad, info

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.evaluate(theta, want_info=False)[1]

    def fisher_information(self, theta: np.ndarray) -> np.ndarray:
        """Total expected information sum_g N_g I_g (inverse = ML covariance of estimates)."""
        _, _, info = self.evaluate(theta, want_info=True)
        return self.ntotal * info

    def observed_information(self, theta: np.ndarray) -> np.ndarray:
        """Total observed information: Hessian of -loglik = (N/2) d2f, by central
        differences of the analytic gradient."""
        q = self.npar
        H = np.zeros((q, q))
        for k in range(q):
            h = 1e-5 * max(1.0, abs(theta[k]))
            tp, tm = theta.copy(), theta.copy()
            tp[k] += h
            tm[k] -= h
            gp, gm = self.gradient(tp), self.gradient(tm)
            if gp is None or gm is None:
                raise np.linalg.LinAlgError("implied covariance matrix not positive definite near the estimates")
            H[:, k] = (gp - gm) / (2 * h)
        H = 0.5 * (H + H.T)
        return 0.5 * self.ntotal * H

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
            chunk = 20000
            for start in range(0, mom.nobs, chunk):
                Z = (mom.data[start:start + chunk] - centre) @ W
                s = (Z @ U) * (Z @ V) - const
                if self.meanstructure:
                    s += Z @ Dmu
                np.add.at(sums, codes[start:start + chunk], s)
            K = self._map_matrix(gs)
            out.append(sums @ K)
        return out

    # -------------------------------------------------------- standardisation
    def standardized_rows(self, theta: np.ndarray) -> np.ndarray:
        """lavaan std.all for every parameter-table row (cov.std = TRUE)."""
        rows = self.pt.rows
        out = np.full(len(rows), np.nan)
        for g in range(self.ngroups):
            imp = self.implied(theta, g)
            total_var = np.diag(imp.full_cov).copy()
            total_var[np.abs(total_var) < np.finfo(float).eps] = np.nan
            sd = np.sqrt(np.where(total_var < 0, np.nan, total_var))
            par_var = np.abs(np.diag(imp.S))
            gs = self.groups[g]
            vals = gs.value.copy()
            vals[gs.free] = theta[gs.index[gs.free]]
            with np.errstate(invalid="ignore", divide="ignore"):
                for k, rid in enumerate(gs.row_ids):
                    r = rows[rid]
                    est = vals[k]
                    i, j = gs.i[k], gs.j[k]
                    if r.op == "=~":  # i = indicator, j = factor
                        out[rid] = est * sd[j] / sd[i]
                    elif r.op == "~":  # i = outcome, j = predictor
                        out[rid] = est * sd[j] / sd[i]
                    elif r.op == "~~":
                        if i == j:
                            out[rid] = est / total_var[i]
                        else:
                            out[rid] = est / np.sqrt(par_var[i] * par_var[j])
                    elif r.op == "~1":
                        out[rid] = est / sd[i]
        return out

    def row_values(self, theta: np.ndarray) -> np.ndarray:
        out = np.array([r.value for r in self.pt.rows], dtype=float)
        idx = np.array([r.index for r in self.pt.rows])
        free = idx >= 0
        out[free] = theta[idx[free]]
        return out


def fisher_scoring(model: RAMModel, start: np.ndarray, *, max_iter: int = 1000, tol: float = 1e-10):
    """Minimise the ML discrepancy by Fisher scoring with backtracking.

    Stops when the Newton decrement g' H^{-1} g falls below tol^2 (scale free) or the
    relative parameter change is below tol. Returns (theta, converged, iterations, message).
    """
    theta = start.astype(float).copy()
    f, grad, info = model.evaluate(theta)
    if not np.isfinite(f):
        return theta, False, 0, "the implied covariance matrix is not positive definite at the starting values"
    for iteration in range(1, max_iter + 1):
        H = 2.0 * info
        try:
            step = -np.linalg.solve(H, grad)
            if not np.all(np.isfinite(step)):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, grad, rcond=1e-12)[0]
        decrement = -grad @ step
        if decrement < 0:  # information not positive definite: fall back to steepest descent
            step = -grad
            decrement = grad @ grad
        if decrement < tol**2:
            return theta, True, iteration - 1, "converged"
        t = 1.0
        accepted = False
        while t > 1e-12:
            candidate = theta + t * step
            f_new = model.objective(candidate)
            if np.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement + 1e-15 * max(1.0, abs(f)):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            return theta, False, iteration, "line search failed: no decrease of the ML discrepancy"
        change = np.max(np.abs(t * step) / (1.0 + np.abs(theta)))
        theta = candidate
        f, grad, info = model.evaluate(theta)
        if change < tol and t == 1.0:
            # one more gradient check to be sure it is a stationary point
            H = 2.0 * info
            try:
                dec = grad @ np.linalg.lstsq(H, grad, rcond=1e-12)[0]
            except np.linalg.LinAlgError:
                dec = np.inf
            if dec < 1e-12:
                return theta, True, iteration, "converged"
    return theta, False, max_iter, f"no convergence within {max_iter} iterations"
