"""Cluster-robust WLSMV (Mplus TYPE = COMPLEX) against lavaan >= 0.7-2, and against the spread of
estimates over replicates of clustered data.

Reference values: tests/lavaan/ordinal/reference_cluster.R, made with lavaan 0.7-2 installed from
source (lavaan 0.6, Debian's, ignores ``cluster =`` with ordered data; the script says how to
regenerate them). Clusters: runs of ten consecutive rows of hs_ordinal.csv.
"""

import subprocess

import numpy as np
import pandas as pd
import pytest

from lwo.sem import wald_test
from lwo.sem.ordinal import fit_ordinal, lr_test_ordinal
from lwo.sem.polychoric import ordinal_stats

from test_sem_ordinal import (HS_CFA, HS_ITEMS, HS_MIXED, HS_MODEL, HS_SEM, HS_SEM_MG, MG_OPTIONS, REF,
                              assert_matches_lavaan, reference_tables)

CLUSTER = dict(cluster="cls")


@pytest.fixture(scope="module")
def hs():
    data = pd.read_csv(REF / "hs_ordinal.csv")
    data["cls"] = np.arange(len(data)) // 10  # as reference_cluster.R
    return data


@pytest.fixture(scope="module")
def ref():
    return reference_tables("ref_cluster")


@pytest.fixture(scope="module")
def fits(hs):
    within = dict(CLUSTER, crossed_clusters=False)  # lavaan numbers clusters within each group
    out = {"c_hs1": fit_ordinal(HS_MODEL, hs, ordered=HS_ITEMS, **CLUSTER),
           "c_hs_mixed": fit_ordinal(HS_MIXED, hs, ordered=HS_ITEMS[:6], **CLUSTER),
           "c_hs_sem": fit_ordinal(HS_SEM, hs, ordered=HS_ITEMS[:6], **CLUSTER),
           "c_hs_sem_mg": fit_ordinal(HS_SEM_MG, hs, ordered=HS_ITEMS[:6], **MG_OPTIONS, **within),
           "c_hs_sem_mg_a": fit_ordinal(HS_SEM_MG.replace("c(a1, a2)", "c(a, a)"), hs, ordered=HS_ITEMS[:6],
                                        **MG_OPTIONS, **within)}
    for step, equal in (("configural", ()), ("loadings", ("loadings",))):
        out[f"c_hs2_{step}"] = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", group_equal=equal, **within)
    return out


MODELS = ["c_hs1", "c_hs_mixed", "c_hs_sem", "c_hs_sem_mg", "c_hs_sem_mg_a", "c_hs2_configural", "c_hs2_loadings"]


@pytest.mark.parametrize("name, ordered, others", [("c_hs1", HS_ITEMS, []),
                                                   ("c_hs_mixed", HS_ITEMS[:6], ["c7", "c8", "c9"])])
def test_clustered_first_stage_matches_lavaan(hs, name, ordered, others):
    """lavaan's clustered Gamma: the case-wise scores summed per cluster, times G/(G-1)."""
    st = ordinal_stats(hs, ordered + others, ordered=ordered, cluster=hs["cls"].to_numpy())
    V = st.cluster_sums
    G = len(V)
    gamma = pd.read_csv(REF / f"ref_{name}_gamma.csv").to_numpy()
    np.testing.assert_allclose(st.nobs * V.T @ V * G / (G - 1), gamma, atol=1e-6 * np.abs(gamma).max())
    # one cluster per row gives back the unclustered NACOV (without the factor)
    single = ordinal_stats(hs, ordered + others, ordered=ordered, cluster=np.arange(len(hs)))
    np.testing.assert_allclose(st.nobs * single.cluster_sums.T @ single.cluster_sums, st.nacov,
                               atol=1e-10 * np.abs(st.nacov).max())


@pytest.mark.parametrize("name", MODELS)
def test_clustered_estimates_and_fit_match_lavaan(fits, ref, name):
    # (1e-4: the two-group models' 0/1 covariate split exactly in half in one school, whose
    # weight lavaan takes from rounding error, moves their estimates by up to 6e-5)
    assert_matches_lavaan(fits[name], ref, name)


def test_clustered_difference_and_wald_tests_match_lavaan(fits, ref):
    lrt = ref[2].set_index(["sequence", "model"])
    for free, restricted, sequence in (("c_hs2_configural", "c_hs2_loadings", "c_hs2"),
                                       ("c_hs_sem_mg", "c_hs_sem_mg_a", "c_hs_sem_mg")):
        out = lr_test_ordinal(fits[restricted], fits[free])
        key = (sequence, restricted.removeprefix("c_hs2_"))
        assert out["df_diff"] == lrt.loc[key, "df.diff"]
        assert out["chisq_diff"] == pytest.approx(lrt.loc[key, "chisq.diff"], rel=1e-3)
        assert out["pvalue"] == pytest.approx(lrt.loc[key, "pvalue"], rel=1e-3)
    wald = wald_test(fits["c_hs_sem_mg"], "a1 == a2")
    assert wald["stat"] == pytest.approx(lrt.loc[("c_hs_sem_mg", "wald"), "Chisq"], rel=1e-3)


def test_clusters_change_only_the_sampling_variability(fits, hs):
    """The DWLS weights stay the unclustered ones: estimates and the unscaled chi-square are
    those of the fit without clusters; the call states the cluster."""
    plain = fit_ordinal(HS_MODEL, hs, ordered=HS_ITEMS)
    clustered = fits["c_hs1"]
    np.testing.assert_array_equal(clustered.estimates["est"], plain.estimates["est"])
    assert clustered.fit_indices["chisq"] == plain.fit_indices["chisq"]
    assert not np.allclose(clustered.estimates["se"], plain.estimates["se"])
    assert clustered.lavaan_call().endswith(', estimator = "WLSMV", cluster = "cls")')
    assert 'cluster = "cls"' in clustered.spec_full


def test_crossed_clusters_join_the_groups_statistics(fits, hs):
    """Crossed (the default): a cluster holding students of both groups is one cluster, and the
    groups' statistics covary through it; with every cluster inside one group it is lavaan's
    within-group numbering except for G/(G-1) over all clusters."""
    crossed = fit_ordinal(HS_CFA, hs, ordered=HS_ITEMS, group="school", **CLUSTER)
    within = fits["c_hs2_configural"]
    np.testing.assert_array_equal(crossed.estimates["est"], within.estimates["est"])
    assert crossed.crossed_clusters and not within.crossed_clusters
    g = crossed._ord.gamma.full()
    k = len(crossed._ord.groups[0].w)
    assert np.abs(g[:k, k:]).max() > 0  # the cluster spanning both schools
    inside = hs.assign(cls=hs["cls"].astype(str) + hs["school"])  # no cluster spans both schools
    a = fit_ordinal(HS_CFA, inside, ordered=HS_ITEMS, group="school", **CLUSTER)
    b = fit_ordinal(HS_CFA, inside, ordered=HS_ITEMS, group="school", crossed_clusters=False, **CLUSTER)
    G = inside["cls"].nunique()
    ga = [len(inside[inside["school"] == s]["cls"].unique()) for s in b.group_labels]
    within_gamma, crossed_gamma = b._ord.gamma.full(), a._ord.gamma.full()
    np.testing.assert_allclose(crossed_gamma[:k, :k], within_gamma[:k, :k] * (G / (G - 1)) / (ga[0] / (ga[0] - 1)),
                               rtol=1e-10)
    assert np.abs(crossed_gamma[:k, k:]).max() == 0 == np.abs(within_gamma[:k, k:]).max()


def test_bad_cluster_column(hs):
    with pytest.raises(ValueError, match="not columns of the data.*'room'"):
        fit_ordinal(HS_MODEL, hs, ordered=HS_ITEMS, cluster="room")
    holes = hs.assign(cls=hs["cls"].where(hs.index != 7))
    with pytest.raises(ValueError, match="column 'cls', row 7: no cluster id"):
        fit_ordinal(HS_MODEL, holes, ordered=HS_ITEMS, cluster="cls")
    with pytest.raises(ValueError, match="fewer than two clusters"):
        fit_ordinal(HS_MODEL, hs.assign(cls=1), ordered=HS_ITEMS, cluster="cls")


def simulate_clustered(n_clusters: int, size: int, seed: int, icc: float = 0.3) -> pd.DataFrame:
    """One factor, four 4-category items (standardized y*, loadings 0.7), a share ``icc`` of the
    factor's variance between clusters."""
    rng = np.random.default_rng(seed)
    cls = np.repeat(np.arange(n_clusters), size)
    eta = np.sqrt(icc) * rng.standard_normal(n_clusters)[cls] + np.sqrt(1 - icc) * rng.standard_normal(len(cls))
    ystar = {f"y{k}": 0.7 * eta + np.sqrt(1 - 0.49) * rng.standard_normal(len(cls)) for k in range(1, 5)}
    cols = {k: np.searchsorted([-0.8, 0.0, 0.9], y) + 1 for k, y in ystar.items()}
    return pd.DataFrame(cols).assign(cls=cls)


def test_clustered_ses_match_the_spread_of_estimates_over_replicates():
    """200 replicates of 30 clusters of 20 students (a third of the factor's variance between
    clusters), a tenth of the answers blank at random, pairwise deletion (the listwise
    clustered fit is lavaan 0.7-2's, checked above against it). The clustered SEs of the
    thresholds average the SD of the estimates over the replicates within 10-15% (the Monte Carlo
    error of an SD from 200 replicates is 5%), where the unclustered ones fall short by a quarter
    or more; those of the loadings, which the clusters hardly touch, within 20% (they overstate
    it by up to 15% at this N with or without clusters). lavaan 0.7-2 cannot do this: it leaves
    out every cluster with a hole."""
    items = [f"y{k}" for k in range(1, 5)]
    est, se, naive = [], [], []
    for r in range(200):
        data = simulate_clustered(30, 20, seed=1000 + r)
        rng = np.random.default_rng(5000 + r)
        data[items] = data[items].astype(float).mask(rng.random((len(data), 4)) < 0.1)
        clustered = fit_ordinal("f =~ y1 + y2 + y3 + y4", data, ordered=items, missing="pairwise", cluster="cls")
        plain = fit_ordinal("f =~ y1 + y2 + y3 + y4", data, ordered=items, missing="pairwise")
        free = clustered.estimates["free"] > 0
        thresholds = (clustered.estimates.loc[free, "op"] == "|").to_numpy()
        est.append(clustered.estimates.loc[free, "est"].to_numpy())
        se.append(clustered.estimates.loc[free, "se"].to_numpy())
        naive.append(plain.estimates.loc[free, "se"].to_numpy())
    sd = np.std(est, axis=0, ddof=1)
    ratio, naive_ratio = np.mean(se, axis=0) / sd, np.mean(naive, axis=0) / sd
    assert np.all((ratio[thresholds] > 0.9) & (ratio[thresholds] < 1.15)), ratio
    assert np.all((ratio > 0.85) & (ratio < 1.2)), ratio
    assert np.median(naive_ratio[thresholds]) < 0.75, naive_ratio


def test_crossed_clusters_give_the_se_of_a_group_difference():
    """150 replicates of 30 classrooms of 10 Black and 10 White students sharing a classroom
    effect (a third of the factor's variance): the SE of a threshold's Black-White difference
    (configural model) from the crossed-cluster covariance averages the SD of the difference over
    the replicates within 10% (Monte Carlo error about 6%); numbering clusters within each group,
    as lavaan does, ignores that the shared classroom effect cancels in the difference and
    overstates it by a third or more."""
    items = [f"y{k}" for k in range(1, 5)]
    ses = {True: [], False: []}
    diffs = []
    for r in range(150):
        data = simulate_clustered(30, 20, seed=3000 + r)
        data["race"] = np.where(np.arange(len(data)) % 2 == 0, "Black", "White")
        for crossed in (True, False):
            fit = fit_ordinal("f =~ y1 + y2 + y3 + y4", data, ordered=items, group="race",
                              group_order=["Black", "White"], cluster="cls", crossed_clusters=crossed)
            e = fit.estimates
            k = e.loc[(e["lhs"] == "y1") & (e["rhs"] == "t2")].sort_values("group")["free"].to_numpy() - 1
            V = fit.vcov.to_numpy()
            ses[crossed].append(np.sqrt(V[k[0], k[0]] + V[k[1], k[1]] - 2 * V[k[0], k[1]]))
            if crossed:
                diffs.append(float(np.diff(fit._theta[k])[0]))
    sd = np.std(diffs, ddof=1)
    assert 0.9 < np.mean(ses[True]) / sd < 1.1
    assert np.mean(ses[False]) / sd > 1.3


@pytest.mark.slow
@pytest.mark.parametrize("spec, ordered", [(HS_MODEL, HS_ITEMS), (HS_SEM, HS_ITEMS[:6])], ids=["cfa", "sem"])
def test_lavaan_gives_a_clustered_pairwise_fit_from_its_first_stage_table(tmp_path, spec, ordered, lavaan_r):
    """No lavaan clusters pairwise WLSMV fits correctly, but any lavaan (0.6.14 here) gives the
    same estimates, SEs and scaled chi-square from the data with the fit's first-stage table as
    NACOV and WLS.V (the saved fits' refit_in_lavaan.R does this)."""
    holes = pd.read_csv(REF / "hs_ordinal_holes.csv")
    holes["cls"] = np.arange(len(holes)) // 10
    fit = fit_ordinal(spec, holes, ordered=ordered, missing="pairwise", cluster="cls")
    holes.to_csv(tmp_path / "data.csv", index=False)
    fit.first_stage_table().to_csv(tmp_path / "first_stage.csv", index=False)
    call = fit.lavaan_call().replace(', cluster = "cls"', ", NACOV = list(crossprod(V)), WLS.V = list(diag(w))")
    script = (f'suppressMessages(library(lavaan)); setwd("{tmp_path}")\n'
              'data <- read.csv("data.csv"); parts <- read.csv("first_stage.csv", check.names = FALSE)\n'
              'w <- unlist(parts[parts$kind == "weight", -1]); V <- as.matrix(parts[parts$kind == "cluster", -1])\n'
              f"model <- '{spec}'\n"
              f"fit <- suppressWarnings({call})\n"
              'cat(fitMeasures(fit, c("chisq", "chisq.scaled")), "\\n")\n'
              'write.csv(parameterEstimates(fit)[, c("lhs", "op", "rhs", "est", "se")], "lavaan.csv", row.names = FALSE)\n')
    res = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    chisq, scaled = map(float, res.stdout.split()[-2:])
    assert chisq == pytest.approx(fit.fit_indices["chisq"], rel=1e-5)
    assert scaled == pytest.approx(fit.fit_indices["chisq.scaled"], rel=1e-4)
    lav = pd.read_csv(tmp_path / "lavaan.csv", keep_default_na=False)
    m = lav.merge(fit.estimates.assign(rhs=fit.estimates["rhs"].str.replace(" ", "")),
                  on=["lhs", "op", "rhs"], suffixes=("_lavaan", ""))
    assert len(m) == len(fit.estimates)
    np.testing.assert_allclose(m["est"], m["est_lavaan"], atol=1e-4)
    np.testing.assert_allclose(m["se"], m["se_lavaan"], rtol=1e-3, atol=1e-6)
