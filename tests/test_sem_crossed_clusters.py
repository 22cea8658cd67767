"""Crossed clusters: classrooms shared by both groups of a multi-group model.

Monte Carlo: 30 classrooms, Black and White students mixed within each (600 students),
clustered x, a classroom random intercept and a classroom random slope shared by both
groups, a known Black-White difference of slopes. The 95% CI of the difference from the
default (crossed) cluster-robust covariance covers the truth in 93-97% of the
replicates. With 30 clusters the sandwich is nearly unbiased but its own sampling
variation puts the expected coverage near 0.94, not 0.95. Numbering clusters within
groups (lavaan's way, crossed_clusters=False) ignores the covariance the shared slope
creates between the groups' estimates: its SE of the difference is about 40% too large
and its CI covers about 99% (benchmarks/bench_fiml.py --crossed prints both).
"""

import numpy as np
import pandas as pd
import pytest

from lwo import sem

SPEC = "y ~ c(b_black, b_white)*x\ndiff := b_black - b_white"
B_BLACK, B_WHITE = 0.5, 0.3
N_CLASSROOMS, N_STUDENTS = 30, 600
REPLICATES = 1000  # Monte Carlo SE of a 95% coverage: sqrt(.95 * .05 / 1000) = 0.0069


def simulate(rng) -> pd.DataFrame:
    c = rng.integers(0, N_CLASSROOMS, size=N_STUDENTS)
    black = rng.random(N_STUDENTS) < 0.45
    x_room = rng.normal(scale=0.5, size=N_CLASSROOMS)
    u = rng.normal(scale=0.5, size=N_CLASSROOMS)  # classroom intercepts
    v = rng.normal(scale=0.3, size=N_CLASSROOMS)  # classroom slopes, shared by both groups
    x = x_room[c] + rng.normal(size=N_STUDENTS)
    slope = np.where(black, B_BLACK, B_WHITE) + v[c]
    y = slope * x + u[c] + rng.normal(size=N_STUDENTS)
    return pd.DataFrame({"y": y, "x": x, "race": np.where(black, "Black", "White"), "classroom": c})


def coverage(replicates: int, seed: int, crossed: bool = True) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    hits, widths = 0, []
    for _ in range(replicates):
        fit = sem.fit(SPEC, simulate(rng), group="race", group_order=["Black", "White"], cluster="classroom",
                      estimator="MLR", crossed_clusters=crossed)
        row = fit.estimates.query("lhs == 'diff'").iloc[0]
        hits += row["ci.lower"] <= B_BLACK - B_WHITE <= row["ci.upper"]
        widths.append(row["ci.upper"] - row["ci.lower"])
    return hits / replicates, float(np.mean(widths))


def simulate_equal_paths(rng, n_paths: int) -> pd.DataFrame:
    """As `simulate`, with `n_paths` predictors whose slopes are the same in both groups (each with
    its own shared classroom random slope): the null of a Black-White equality test."""
    c = rng.integers(0, N_CLASSROOMS, size=N_STUDENTS)
    black = rng.random(N_STUDENTS) < 0.45
    X = rng.normal(size=(N_STUDENTS, n_paths)) + rng.normal(scale=0.5, size=(N_CLASSROOMS, n_paths))[c]
    slopes = np.linspace(0.1, 0.5, n_paths) + rng.normal(scale=0.3, size=(N_CLASSROOMS, n_paths))[c]
    y = np.sum(X * slopes, axis=1) + rng.normal(scale=0.5, size=N_CLASSROOMS)[c] + rng.normal(size=N_STUDENTS)
    return pd.DataFrame({"y": y, **{f"x{j}": X[:, j] for j in range(n_paths)},
                         "race": np.where(black, "Black", "White"), "classroom": c})


def equality_test_sizes(n_paths: int, replicates: int, seed: int, alpha: float = 0.05) -> dict:
    """Rejection rates at `alpha` of the tests of equal paths under the null (simulate_equal_paths):
    the cluster-robust Wald test with its chi-square reference and as the adjusted Wald F, and the
    scaled likelihood-ratio difference of the model with the paths equal (benchmarks/bench_fiml.py
    --wald-size)."""
    rng = np.random.default_rng(seed)
    free = "y ~ " + " + ".join(f"c(a{j}, b{j})*x{j}" for j in range(n_paths))
    equal = "y ~ " + " + ".join(f"c(a{j}, a{j})*x{j}" for j in range(n_paths))
    kw = dict(group="race", group_order=["Black", "White"], cluster="classroom", estimator="MLR")
    p = {"Wald chi-square": [], "adjusted Wald F": [], "scaled LR": []}
    for _ in range(replicates):
        data = simulate_equal_paths(rng, n_paths)
        fit = sem.fit(free, data, **kw)
        wald = sem.wald_test(fit, [f"a{j} == b{j}" for j in range(n_paths)])
        p["Wald chi-square"].append(wald["pvalue"])
        p["adjusted Wald F"].append(wald["f_pvalue"])
        p["scaled LR"].append(sem.lr_test(sem.fit(equal, data, h1=fit, start=fit, **kw), fit)["pvalue"])
    return {name: float(np.mean(np.array(v) < alpha)) for name, v in p.items()}


@pytest.mark.slow
def test_crossed_cluster_ci_of_a_group_contrast_has_nominal_coverage():
    rate, _ = coverage(REPLICATES, seed=20180901)
    assert 0.93 <= rate <= 0.97, rate


def _four_paths(n_classrooms: int, seed: int = 7) -> pd.DataFrame:
    """Four predictors, their paths free in each group, students of both groups in every classroom."""
    rng = np.random.default_rng(seed)
    n = 240
    c = np.arange(n) % n_classrooms
    X = rng.normal(size=(n, 4)) + rng.normal(scale=0.5, size=(n_classrooms, 4))[c]
    y = X @ np.array([0.4, 0.3, 0.2, 0.1]) + rng.normal(scale=0.5, size=n_classrooms)[c] + rng.normal(size=n)
    race = np.where(np.arange(n) // n_classrooms % 2 == 0, "Black", "White")
    return pd.DataFrame({"y": y, **{f"x{k}": X[:, k] for k in range(4)}, "race": race, "classroom": c})


FOUR_PATHS = "y ~ c(a1, a2)*x0 + c(b1, b2)*x1 + c(c1, c2)*x2 + c(d1, d2)*x3"
EQUAL_PATHS = ["a1 == a2", "b1 == b2", "c1 == c2", "d1 == d2"]


def test_a_cluster_robust_wald_test_of_more_paths_than_classrooms_less_one_has_no_value():
    """Four classrooms: the cluster score sums add up to zero, so the cluster-robust covariance
    has three directions and the covariance of four path differences is singular. A Wald test of
    four equalities then refuses with the reason (the number it would give is noise: 1e15 in a
    small district's export); three have a value, and so have four without clusters."""
    data = _four_paths(4)
    fit = sem.fit(FOUR_PATHS, data, group="race", group_order=["Black", "White"], cluster="classroom",
                  estimator="MLR")
    names = list(fit.vcov.index)
    J = np.zeros((4, len(names)))
    for k, (first, second) in enumerate(c.split(" == ") for c in EQUAL_PATHS):
        J[k, names.index(first)], J[k, names.index(second)] = 1.0, -1.0
    eig = np.linalg.eigvalsh(J @ fit.vcov_cluster.to_numpy() @ J.T)
    assert eig[0] < 1e-12 * eig[-1]  # the singular covariance the refusal rests on
    with pytest.raises(ValueError, match=r"4 constraints, but the cluster-robust covariance has at most 3 "
                                         r"independent directions \(4 clusters"):
        sem.wald_test(fit, EQUAL_PATHS, clustered=True)
    three = sem.wald_test(fit, EQUAL_PATHS[:3], clustered=True)
    assert three["df"] == 3 and 0.0 < three["stat"] < 1e3
    plain = sem.fit(FOUR_PATHS, data, group="race", group_order=["Black", "White"], estimator="MLR")
    assert np.isfinite(sem.wald_test(plain, EQUAL_PATHS)["stat"])
    with pytest.raises(ValueError, match="singular"):
        sem.wald_test(plain, ["a1 == a2", "a2 == a1"])


HOTELLING_MEANS = "y1 ~ m1*1\ny2 ~ m2*1\ny3 ~ m3*1\ny1 ~~ y2 + y3\ny2 ~~ y3"
ZERO_MEANS = ["m1 == 0", "m2 == 0", "m3 == 0"]


def test_the_adjusted_wald_f_is_hotellings_t2_test_where_that_is_exact():
    """Three means of normal data, each of 10 students its own cluster: the cluster-robust (sandwich)
    Wald statistic of "the means are 0" is Hotelling's T^2 (n ybar' S^-1 ybar with the unbiased S, the
    G/(G-1) of the meat giving S's n-1), and (n-q) T^2 / (q (n-1)) is exactly F(q, n-q). So under
    the null the adjusted Wald F rejects 5% at 5%, where the chi-square reference rejects about
    20% (P(F(3, 7) > 7.81 * 7 / 27))."""
    rng = np.random.default_rng(20181001)
    n, reps = 10, 800
    root = np.array([[1.0, 0.5, 0.2], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    f_p, chi_p = [], []
    for _ in range(reps):
        Y = rng.normal(size=(n, 3)) @ root
        fit = sem.fit(HOTELLING_MEANS, pd.DataFrame(Y, columns=["y1", "y2", "y3"]).assign(student=np.arange(n)),
                      cluster="student")
        test = sem.wald_test(fit, ZERO_MEANS, clustered=True)
        ybar = Y.mean(axis=0)
        assert test["stat"] == pytest.approx(n * ybar @ np.linalg.solve(np.cov(Y, rowvar=False), ybar), rel=1e-6)
        assert (test["f_df1"], test["f_df2"]) == (3, n - 3)
        f_p.append(test["f_pvalue"])
        chi_p.append(test["pvalue"])
    mcse = (0.05 * 0.95 / reps) ** 0.5
    assert abs(np.mean(np.array(f_p) < 0.05) - 0.05) < 2 * mcse
    assert np.mean(np.array(chi_p) < 0.05) > 0.15
