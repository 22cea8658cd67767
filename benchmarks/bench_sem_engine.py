"""Timing of the SEM engine (lwo.sem) on a study-shaped 40-variable model.

Model: a latent predictor (6 indicators), three latent mediators and two latent
outcomes (4 indicators each), four observed outcomes and six observed covariates
(40 observed variables). Fitted at N = 892 (the study's cohort) and N = 100,000;
covariance-based fitting should cost about the same at both sizes. Also times the
cluster-robust variant (30 clusters) and a two-group fit.

Run:  python benchmarks/bench_sem_engine.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from lwo import sem  # noqa: E402

COVARIATES = ["school2", "school3", "school4", "grade", "female", "ell"]
MEDIATORS = ["med1", "med2", "med3", "med4"]
LATENT_OUTCOMES = ["out1", "out2"]
OBSERVED_OUTCOMES = ["gpa", "absences", "obs3", "obs4"]


def study_model_spec() -> str:
    lines = ["pred =~ " + " + ".join(f"p{k}" for k in range(1, 7))]
    for name in MEDIATORS + LATENT_OUTCOMES:
        lines.append(f"{name} =~ " + " + ".join(f"{name}_{k}" for k in range(1, 5)))
    cov = " + ".join(COVARIATES)
    lines.append(f"pred ~ {cov}")
    for m in MEDIATORS:
        lines.append(f"{m} ~ pred + {cov}")
    for y in LATENT_OUTCOMES + OBSERVED_OUTCOMES:
        lines.append(f"{y} ~ pred + {' + '.join(MEDIATORS)} + {cov}")
    return "\n".join(lines)


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 4, n)
    cov = {
        "school2": (school == 1).astype(float),
        "school3": (school == 2).astype(float),
        "school4": (school == 3).astype(float),
        "grade": rng.integers(9, 13, n).astype(float),
        "female": rng.integers(0, 2, n).astype(float),
        "ell": (rng.random(n) < 0.15).astype(float),
    }
    cmat = np.column_stack([cov[c] for c in COVARIATES])
    cmat = (cmat - cmat.mean(0)) / cmat.std(0)
    pred = cmat @ rng.uniform(-0.2, 0.2, 6) + rng.normal(size=n)
    lat = {"pred": pred}
    for m in MEDIATORS:
        lat[m] = 0.4 * pred + cmat @ rng.uniform(-0.1, 0.1, 6) + rng.normal(size=n)
    outcomes = {}
    for y in LATENT_OUTCOMES + OBSERVED_OUTCOMES:
        outcomes[y] = (
            0.1 * pred + sum(0.2 * lat[m] for m in MEDIATORS) + cmat @ rng.uniform(-0.1, 0.1, 6) + rng.normal(size=n)
        )
    data = dict(cov)
    for k in range(1, 7):
        data[f"p{k}"] = rng.uniform(0.6, 0.9) * pred + rng.normal(scale=0.6, size=n)
    for name in MEDIATORS + LATENT_OUTCOMES:
        source = lat.get(name, outcomes.get(name))
        for k in range(1, 5):
            data[f"{name}_{k}"] = rng.uniform(0.6, 0.9) * source + rng.normal(scale=0.6, size=n)
    for y in OBSERVED_OUTCOMES:
        data[y] = outcomes[y]
    frame = pd.DataFrame(data)
    frame["classroom"] = rng.integers(0, 30, n)
    frame["race"] = np.where(rng.random(n) < 0.5, "Black", "White")
    return frame


def timed(label: str, func, repeat: int = 3):
    best = np.inf
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    fi = result.fit_indices
    print(
        f"{label:<38s} {best * 1000:8.1f} ms  converged={result.converged} iter={result.iterations:3d} "
        f"npar={fi['npar']} chisq={fi['chisq']:.2f} df={fi['df']}"
    )
    return best


def main() -> None:
    spec = study_model_spec()
    n_observed = len(sem.fit(spec, simulate(500)).partable.ov_names)
    print(f"model: {n_observed} observed variables")
    total = 0.0
    for n in (892, 100_000):
        data = simulate(n)
        total += timed(f"single group, N={n}", lambda: sem.fit(spec, data))
        total += timed(f"cluster-robust SEs, N={n}", lambda: sem.fit(spec, data, cluster="classroom"), repeat=1)
        total += timed(f"two groups (joint likelihood), N={n}", lambda: sem.fit(spec, data, group="race"))
    print(f"sum of best times: {total:.2f} s")


if __name__ == "__main__":
    main()
