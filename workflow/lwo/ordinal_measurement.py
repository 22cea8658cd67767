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
Rows with a missing item are dropped (listwise), except where alpha and omega are asked for
``missing = "pairwise"`` (lavaan's, for WLSMV): each polychoric correlation and threshold then
uses the rows that answered its items (the EFA stays listwise: its ML needs one N).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.measurement import EFAResult, rotated_efa
from lwo.sem.ordinal import fit_ordinal
from lwo.sem.polychoric import polychoric_matrix

__all__ = ["ordinal_alpha", "ordinal_omega", "polychoric_efa"]


def _check(data: pd.DataFrame, items: list[str], missing: str = "listwise") -> pd.DataFrame:
    """The rows used: those with every item ("listwise") or with any ("pairwise")."""
    absent = [c for c in items if c not in data.columns]
    if absent:
        raise ValueError(f"items not in the data: {absent}")
    if len(items) < 2:
        raise ValueError(f"ordinal reliability needs at least two items; got {items}")
    used = data[items].dropna(how="any" if missing == "listwise" else "all")
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
                   rotation: str | None = "oblimin", seed: int = 0) -> EFAResult:
    """EFA of the polychoric correlations of ``items`` (complete rows); see the module notes."""
    from statsmodels.multivariate.factor import Factor

    if rotation not in ("oblimin", "varimax", None):
        raise ValueError(f"rotation must be 'oblimin', 'varimax' or None, not {rotation!r}")
    complete = _check(data, items)
    if n_factors < 1 or n_factors >= len(items):
        raise ValueError(f"n_factors must be between 1 and {len(items) - 1}")
    corr, _ = polychoric_matrix(complete, items)
    R = corr.to_numpy()
    model = Factor(corr=R, n_factor=n_factors, method=method, nobs=len(complete), endog_names=items)
    eig = np.sort(np.linalg.eigvalsh(R))[::-1]
    return rotated_efa(model, items, n_factors, method, rotation, seed, eig, f"{method} (polychoric)", len(complete))
