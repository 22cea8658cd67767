"""FIML recovers a study-like model under MAR item nonresponse (slow: N = 100,000).

Population: prior grade x1 and a second covariate x2; a latent HQC-like factor F
(4 items) regressed on both; a latent mind-set M (3 items) on F and x1; an observed
outcome y on M, F and x1. 15% of the item answers and outcomes are blank, more often
for students with low prior grades (missing at random given x1, which is always
observed). The listwise bias of the same data is printed by benchmarks/bench_fiml.py.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

from lwo import sem

SPEC = """
F =~ f1 + f2 + f3 + f4
M =~ m1 + m2 + m3
F ~ x1 + x2
M ~ F + x1
y ~ M + F + x1
"""
LOADINGS = {"F": {"f1": 1.0, "f2": 0.8, "f3": 0.9, "f4": 0.7}, "M": {"m1": 1.0, "m2": 1.1, "m3": 0.8}}
PATHS = {("F", "x1"): 0.4, ("F", "x2"): 0.25, ("M", "F"): 0.5, ("M", "x1"): 0.2,
         ("y", "M"): 0.35, ("y", "F"): 0.2, ("y", "x1"): 0.3}
RESIDUAL = {"F": 0.6, "M": 0.5, "y": 0.6}
ITEM_RESIDUAL = 0.5
X_COV = np.array([[1.0, 0.3], [0.3, 1.0]])
HOLE_RATE = 0.15


def population_std() -> dict:
    """Standardized population values of the structural paths (exact, from the RAM form)."""
    names = ["x1", "x2", "F", "M", "y"]
    k = {v: i for i, v in enumerate(names)}
    A = np.zeros((5, 5))
    for (lhs, rhs), b in PATHS.items():
        A[k[lhs], k[rhs]] = b
    S = np.zeros((5, 5))
    S[:2, :2] = X_COV
    for v, r in RESIDUAL.items():
        S[k[v], k[v]] = r
    B = np.linalg.inv(np.eye(5) - A)
    sd = np.sqrt(np.diag(B @ S @ B.T))
    return {(lhs, rhs): b * sd[k[rhs]] / sd[k[lhs]] for (lhs, rhs), b in PATHS.items()}


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([0, 0], X_COV, size=n)
    d = {"x1": x[:, 0], "x2": x[:, 1]}
    F = PATHS["F", "x1"] * d["x1"] + PATHS["F", "x2"] * d["x2"] + rng.normal(scale=np.sqrt(RESIDUAL["F"]), size=n)
    M = PATHS["M", "F"] * F + PATHS["M", "x1"] * d["x1"] + rng.normal(scale=np.sqrt(RESIDUAL["M"]), size=n)
    d["y"] = (PATHS["y", "M"] * M + PATHS["y", "F"] * F + PATHS["y", "x1"] * d["x1"]
              + rng.normal(scale=np.sqrt(RESIDUAL["y"]), size=n))
    for factor, values in (("F", F), ("M", M)):
        for item, lam in LOADINGS[factor].items():
            d[item] = lam * values + rng.normal(scale=np.sqrt(ITEM_RESIDUAL), size=n)
    data = pd.DataFrame(d)
    # MAR: the chance of a blank falls with prior grade (logistic in x1), 15% on average
    answered = [c for c in data.columns if c not in ("x1", "x2")]
    grid = np.linspace(-8, 8, 4001)
    weight = np.exp(-grid**2 / 2) / np.sum(np.exp(-grid**2 / 2))
    intercept = brentq(lambda a: weight @ (1 / (1 + np.exp(-(a - 0.8 * grid)))) - HOLE_RATE, -10, 10)
    prob = 1 / (1 + np.exp(-(intercept - 0.8 * data["x1"].to_numpy())))
    for c in answered:
        data.loc[rng.random(n) < prob, c] = np.nan
    return data


def structural_std(fit) -> dict:
    e = fit.estimates
    return {(r.lhs, r.rhs): r["std.all"] for _, r in e[e.op == "~"].iterrows()}


@pytest.mark.slow
def test_fiml_recovers_standardized_paths_under_mar_nonresponse():
    data = simulate(100_000, seed=3)
    rate = data.drop(columns=["x1", "x2"]).isna().to_numpy().mean()
    assert 0.13 < rate < 0.17
    fit = sem.fit(SPEC, data, missing="ml")
    assert fit.converged, fit.message
    assert fit.n_used["total"] == 100_000
    truth = population_std()
    got = structural_std(fit)
    errors = {k: got[k] - v for k, v in truth.items()}
    assert max(abs(e) for e in errors.values()) < 0.01, errors
