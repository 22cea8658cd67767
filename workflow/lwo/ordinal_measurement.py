"""Reliability and exploratory factor analysis of ordinal (4-point) items on the scale of
their latent responses, from polychoric correlations.

* Ordinal alpha (Zumbo, Gadermann & Zeisser, 2007): coefficient alpha of the polychoric
  correlation matrix, ``k/(k-1) * (1 - k / sum(R))``.
* Ordinal omega: McDonald's omega of the one-factor WLSMV solution (lwo.sem.ordinal, lavaan's
  ``cfa(..., ordered = TRUE, estimator = "WLSMV")``) with standardized loadings ``l``:
  ``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))``, the reliability of the sum of the latent
  responses (semTools ``compRelSEM(..., obs.var = FALSE)`` on the latent-response scale; not
  Green & Yang's 2009 observed-score coefficient).
* Polychoric EFA: statsmodels' factor analysis (ML or iterated principal axis) of the
  polychoric correlation matrix, with the rotation, sign and order conventions of
  :func:`lwo.measurement.exploratory_factor_analysis`; eigenvalues are those of the
  polychoric matrix.

Reverse-worded items are to be flipped by the caller before, as for the raw coefficients.
Rows with a missing item are dropped (listwise), except with ``missing = "pairwise"``
(lavaan's, for WLSMV): each polychoric correlation and threshold then uses the rows that
answered its items. A pairwise matrix need not be positive definite; the EFA then factors it
smoothed as psych's ``cor.smooth`` (where an eigenvalue is below machine epsilon: those below
1e-12 set to 1e-10, all rescaled to sum to the number of items, back to a correlation matrix), and its N is the number of rows with an answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.measurement import EFAResult, rotated_efa
from lwo.sem.ordinal import fit_ordinal
from lwo.sem.polychoric import polychoric_matrix, rows_used

__all__ = ["ordinal_alpha", "ordinal_omega", "polychoric_efa"]


def _check(data: pd.DataFrame, items: list[str], missing: str = "listwise") -> pd.DataFrame:
    """The rows used: those with every item ("listwise") or with any ("pairwise")."""
    absent = [c for c in items if c not in data.columns]
    if absent:
        raise ValueError(f"items not in the data: {absent}")
    if len(items) < 2:
        raise ValueError(f"ordinal reliability needs at least two items; got {items}")
    used = rows_used(data[items], items, missing)
    if len(used) < 3:
        raise ValueError(f"{len(used)} of {len(data)} rows have {'every' if missing == 'listwise' else 'an'} "
                         f"item of {items}")
    return used


def ordinal_alpha(data: pd.DataFrame, items: list[str], missing: str = "listwise") -> float:
    """Alpha of the polychoric correlation matrix of ``items`` (``missing``: see the module notes)."""
    corr, _ = polychoric_matrix(_check(data, items, missing), items, missing=missing)
    k = len(items)
    return float(k / (k - 1) * (1 - k / corr.to_numpy().sum()))


def ordinal_omega(data: pd.DataFrame, items: list[str], missing: str = "listwise") -> float:
    """Omega of the one-factor WLSMV solution of ``items`` (latent-response scale; ``missing``:
    see the module notes)."""
    used = _check(data, items, missing)
    if len(items) < 3:
        raise ValueError(f"a one-factor model needs at least three items; got {items}")
    fit = fit_ordinal("f =~ " + " + ".join(items), used, ordered=items, missing=missing)
    if not fit.converged:
        raise ValueError(f"the one-factor WLSMV model of {items} did not converge: {fit.message}")
    e = fit.estimates
    lam = e[e["op"] == "=~"].set_index("rhs").loc[items, "std.all"].to_numpy()
    common = lam.sum() ** 2
    return float(common / (common + np.sum(1 - lam**2)))


def polychoric_efa(data: pd.DataFrame, items: list[str], n_factors: int, method: str = "ml",
                   rotation: str | None = "oblimin", seed: int = 0, missing: str = "listwise") -> EFAResult:
    """EFA of the polychoric correlations of ``items`` (``missing``: see the module notes)."""
    from statsmodels.multivariate.factor import Factor

    if rotation not in ("oblimin", "varimax", None):
        raise ValueError(f"rotation must be 'oblimin', 'varimax' or None, not {rotation!r}")
    used = _check(data, items, missing)
    if n_factors < 1 or n_factors >= len(items):
        raise ValueError(f"n_factors must be between 1 and {len(items) - 1}")
    if len(used) <= len(items):
        raise ValueError(f"{len(used)} students answered {'all' if missing == 'listwise' else 'any'} of the "
                         f"{len(items)} items: too few for an EFA")
    corr, _ = polychoric_matrix(used, items, missing=missing)
    R = smoothed(corr.to_numpy())
    model = Factor(corr=R, n_factor=n_factors, method=method, nobs=len(used), endog_names=items)
    eig = np.sort(np.linalg.eigvalsh(R))[::-1]
    label = f"{method} (polychoric{', pairwise' if missing == 'pairwise' else ''})"
    return rotated_efa(model, items, n_factors, method, rotation, seed, eig, label, len(used))


def smoothed(R: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """``R`` if it is positive definite, else psych's ``cor.smooth`` of it."""
    vals, vecs = np.linalg.eigh(R)
    if vals.min() >= np.finfo(float).eps:
        return R
    vals = np.where(vals < tol, 100 * tol, vals)
    vals *= len(vals) / vals.sum()
    S = (vecs * vals) @ vecs.T
    d = np.sqrt(np.diag(S))
    return S / np.outer(d, d)
