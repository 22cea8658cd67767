"""Tests of lwo.measurement: reliability against hand computation and published R values,
omega against semTools and against simulated truth, EFA against an independent CFA, and
measurement invariance against the non-invariance built into the synthetic population."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from semopy.examples import holzinger39

from lwo import measurement as M
from lwo import sem
from lwo.measurement_exhibits import block_measurement, structure_comparison
from lwo import sem
from textbook_models import HS_CFA

HS_FACTORS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
# R 4.6.0 on lavaan's HolzingerSwineford1939: psych::alpha()$total$raw_alpha per factor's items;
# with fit <- lavaan::cfa(HS.model): semTools::compRelSEM(fit) (observed variance of the sum in the
# denominator, its default).
HS_ALPHA = {"visual": 0.6261171319, "textual": 0.8827069129, "speed": 0.6884550230}
HS_OMEGA_OBSERVED = {"visual": 0.6120051511, "textual": 0.8850607732, "speed": 0.6858416922}


@pytest.fixture(scope="module")
def hs_data():
    return holzinger39.get_data()


@pytest.fixture(scope="module")
def hs_fit(hs_data):
    return sem.fit(HS_CFA, hs_data)


# --------------------------------------------------------------------------- alpha
def test_alpha_by_hand():
    # three items, five people; each item is a permutation of 1..5 (variance 2.5); the sums
    # 4, 6, 9, 12, 14 have variance 68 / 4 = 17; alpha = 3/2 * (1 - 7.5/17) = 14.25/17
    items = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 1, 4, 3, 5], "c": [1, 3, 2, 5, 4]})
    assert M.cronbach_alpha(items) == pytest.approx(14.25 / 17, abs=1e-12)
    # Feldt's CI by hand: 1 - (1 - alpha) F quantiles on (4, 8) df
    lo, hi = M.alpha_confidence_interval(14.25 / 17, 5, 3)
    assert lo == pytest.approx(1 - (2.75 / 17) * stats.f.ppf(0.975, 4, 8), abs=1e-12)
    assert hi == pytest.approx(1 - (2.75 / 17) * stats.f.ppf(0.025, 4, 8), abs=1e-12)
    assert lo < 14.25 / 17 < hi


def test_alpha_matches_psych_and_pingouin(hs_data):
    for factor, items in HS_FACTORS.items():
        rel = M.reliability(hs_data[items])
        assert rel["alpha"] == pytest.approx(HS_ALPHA[factor], abs=1e-9)
        theirs, ci = pingouin.cronbach_alpha(data=hs_data[items])
        assert rel["alpha"] == pytest.approx(theirs, abs=1e-12)
        # pingouin rounds its interval to 3 decimals
        assert rel["alpha_ci_lower"] == pytest.approx(ci[0], abs=5.1e-4)
        assert rel["alpha_ci_upper"] == pytest.approx(ci[1], abs=5.1e-4)


def test_alpha_is_listwise_and_matches_r_complete_obs():
    data = pingouin.read_dataset("cronbach_wide_missing")
    # pingouin's documentation: R psych::alpha(data, use = "complete.obs") = 0.8016949...
    rel = M.reliability(data)
    assert rel["alpha"] == pytest.approx(0.8016949152542373, abs=1e-12)
    assert rel["n"] == len(data.dropna()) == 9


def test_alpha_refuses_degenerate_input():
    with pytest.raises(ValueError, match="at least two items"):
        M.reliability(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="complete rows"):
        M.reliability(pd.DataFrame({"a": [1, np.nan, 3], "b": [np.nan, 2, 3]}))


def test_item_statistics_against_direct_computation(hs_data):
    items = hs_data[HS_FACTORS["textual"]]
    table = M.item_statistics(items).set_index("item")
    rest = items[["x5", "x6"]].sum(axis=1)
    assert table.loc["x4", "item_rest_r"] == pytest.approx(np.corrcoef(items["x4"], rest)[0, 1], abs=1e-12)
    assert table.loc["x4", "alpha_if_deleted"] == pytest.approx(M.cronbach_alpha(items[["x5", "x6"]]), abs=1e-12)
    assert table.loc["x6", "mean"] == pytest.approx(items["x6"].mean())
    assert table.loc["x6", "sd"] == pytest.approx(items["x6"].std(ddof=1))


def test_an_item_everybody_answered_alike_has_no_item_rest_correlation_and_no_warning():
    items = pd.DataFrame({"a": [4.0] * 6, "b": [1, 2, 3, 4, 2, 3], "c": [2, 2, 3, 4, 1, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy warning would land in the build's log
        table = M.item_statistics(items).set_index("item")
    assert np.isnan(table.loc["a", "item_rest_r"])
    assert table.loc["b", "item_rest_r"] == pytest.approx(np.corrcoef(items["b"], items["a"] + items["c"])[0, 1])


def test_an_efa_with_an_item_everybody_answered_alike_names_it():
    rng = np.random.default_rng(1)
    items = pd.DataFrame(rng.integers(1, 5, (200, 6)).astype(float), columns=list("abcdef"))
    items["c"] = 4.0
    with pytest.raises(ValueError, match=r"answered alike: c \(every value 4\)"):
        M.exploratory_factor_analysis(items, 2)


# --------------------------------------------------------------------------- omega
def test_omega_formula():
    lam, theta = np.array([0.8, 0.7, 0.6, 0.5]), 1 - np.array([0.8, 0.7, 0.6, 0.5]) ** 2
    assert M.mcdonald_omega(lam, theta) == pytest.approx(2.6 ** 2 / (2.6 ** 2 + theta.sum()))
    # a factor variance of 4 is the same as loadings twice as large
    assert M.mcdonald_omega(lam, theta, 4.0) == pytest.approx(M.mcdonald_omega(2 * lam, theta))
    # correlated errors lower omega
    assert M.mcdonald_omega(lam, theta, residual_covariance_sum=0.2) < M.mcdonald_omega(lam, theta)


def test_factor_parts_match_semtools(hs_data, hs_fit):
    """The unit-variance loadings of factor_parts (read from std.all) against semTools'
    compRelSEM, whose default omega has the observed variance of the sum in the denominator,
    and the exhibit's omega (model-implied denominator) against one from the raw estimates."""
    for factor, items in HS_FACTORS.items():
        parts = M.factor_parts(hs_fit.estimates, factor, items)
        cov = np.cov(hs_data[items].to_numpy(float), rowvar=False, bias=True)  # lavaan's N divisor
        assert parts.loadings.sum() ** 2 / cov.sum() == pytest.approx(HS_OMEGA_OBSERVED[factor], abs=2e-6)
        e = hs_fit.estimates
        lam = e[(e.lhs == factor) & (e.op == "=~")]["est"].to_numpy()
        psi = e[(e.lhs == factor) & (e.op == "~~") & (e.rhs == factor)]["est"].iloc[0]
        theta = np.array([e[(e.lhs == i) & (e.op == "~~") & (e.rhs == i)]["est"].iloc[0] for i in items])
        omega = M.mcdonald_omega(parts.loadings, parts.theta)
        assert omega == pytest.approx(M.mcdonald_omega(lam, theta, psi), abs=1e-10)


def test_omega_recovers_simulated_truth():
    rng = np.random.default_rng(5)
    lam = np.array([0.8, 0.7, 0.6, 0.5])
    n = 100_000
    eta = rng.standard_normal(n)
    x = eta[:, None] * lam + rng.standard_normal((n, 4)) * np.sqrt(1 - lam ** 2)
    data = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    data["d"] = -data["d"]  # a reverse-worded item: its raw loading is negative
    fit = sem.fit("f =~ a + b + c + d", data)
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam ** 2).sum())
    parts = M.factor_parts(fit.estimates, "f", ["a", "b", "c", "d"])
    signs = np.array([1, 1, 1, -1])  # as the exhibit flips reverse-worded items
    assert M.mcdonald_omega(parts.loadings * signs, parts.theta) == pytest.approx(truth, abs=0.004)
    # without flipping the reverse-worded item, the composite is wrong and omega far lower
    assert M.mcdonald_omega(parts.loadings, parts.theta) < truth - 0.2


def test_factor_parts_of_a_second_order_model():
    """First-order factors of a second-order CFA: the loading in the unit-variance metric is
    lambda * sqrt(gamma^2 phi + zeta), read here from std.all without the factor variances."""
    rng = np.random.default_rng(8)
    n = 20_000
    g = rng.standard_normal(n)
    cols = {}
    for k, f in enumerate(("f1", "f2", "f3")):
        eta = 0.7 * g + math.sqrt(1 - 0.49) * rng.standard_normal(n)
        for j, lam in enumerate((0.8, 0.7, 0.6)):
            cols[f"{f}_{j}"] = lam * eta + math.sqrt(1 - lam ** 2) * rng.standard_normal(n)
    data = pd.DataFrame(cols)
    spec = "\n".join(f"{f} =~ {f}_0 + {f}_1 + {f}_2" for f in ("f1", "f2", "f3")) + "\ng =~ f1 + f2 + f3"
    fit = sem.fit(spec, data)
    e = fit.estimates
    parts = M.factor_parts(e, "f2", ["f2_0", "f2_1", "f2_2"])
    gamma = e[(e.lhs == "g") & (e.op == "=~") & (e.rhs == "f2")]["est"].iloc[0]
    phi = e[(e.lhs == "g") & (e.op == "~~") & (e.rhs == "g")]["est"].iloc[0]
    zeta = e[(e.lhs == "f2") & (e.op == "~~") & (e.rhs == "f2")]["est"].iloc[0]
    lam = e[(e.lhs == "f2") & (e.op == "=~")]["est"].to_numpy()
    assert parts.loadings == pytest.approx(lam * math.sqrt(gamma ** 2 * phi + zeta), abs=1e-6)
    assert parts.loadings == pytest.approx([0.8, 0.7, 0.6], abs=0.03)


def test_factor_parts_refuses_residual_covariances(hs_data):
    fit = sem.fit(HS_CFA + "x1 ~~ x2\n", hs_data)
    with pytest.raises(ValueError, match="residual covariances"):
        M.factor_parts(fit.estimates, "visual", HS_FACTORS["visual"])


# --------------------------------------------------------------------------- EFA
def test_one_factor_efa_equals_one_factor_cfa(hs_data):
    """statsmodels' ML factor analysis and the SEM engine are independent implementations of
    the same ML one-factor model: their standardized loadings agree."""
    items = ["x4", "x5", "x6", "x7", "x8", "x9"]
    efa = M.exploratory_factor_analysis(hs_data[items], 1, rotation=None)
    cfa = sem.fit("g =~ " + " + ".join(items), hs_data)
    std = cfa.estimates[cfa.estimates.op == "=~"]["std.all"].to_numpy()
    assert efa.loadings["F1"].to_numpy() == pytest.approx(std, abs=1e-4)


def test_efa_recovers_simulated_structure():
    rng = np.random.default_rng(2)
    n = 5000
    f = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    lam = 0.7
    cols = {f"a{j}": lam * f[:, 0] + math.sqrt(1 - lam ** 2) * rng.standard_normal(n) for j in range(4)}
    cols |= {f"b{j}": lam * f[:, 1] + math.sqrt(1 - lam ** 2) * rng.standard_normal(n) for j in range(4)}
    data = pd.DataFrame(cols)
    efa = M.exploratory_factor_analysis(data, 2)
    match = M.efa_construct_match(efa.loadings, {c: c[0] for c in data.columns})
    assert (match["items_on_own_factor"] == 4).all()
    assert match["mean_own_loading"].to_numpy() == pytest.approx([0.7, 0.7], abs=0.03)
    assert (match["max_cross_loading"] < 0.08).all()
    assert abs(efa.factor_correlations.iloc[0, 1]) == pytest.approx(0.4, abs=0.05)


def test_an_efa_that_does_not_converge_is_an_error_not_a_solution():
    """Few students and as many factors as the block has constructs: statsmodels' ML fit runs a
    uniqueness to 0 (a Heywood case) and stops without converging, with warnings only. That is no
    EFA to show; the exhibit then says why (block_measurement falls back or reports it)."""
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(rng.integers(1, 5, size=(15, 10)).astype(float), columns=[f"i{j}" for j in range(10)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing of statsmodels' warnings reaches the build's log
        with pytest.raises(ValueError, match="EFA did not converge .*Heywood"):
            M.exploratory_factor_analysis(noise, 5)


# --------------------------------------------------------------------------- invariance
def test_verdict_rules():
    assert M.level_verdict(-0.002, 0.30) == "holds"
    assert M.level_verdict(-0.002, 0.001) == "holds approximately"
    assert M.level_verdict(-0.011, 0.30) == "fails"
    assert M.level_verdict(float("nan"), 0.3) == "not estimable"
    assert M.comparability("holds", "holds approximately") == "means and relations"
    assert M.comparability("holds", "fails") == "relations only (intercepts differ)"
    assert M.comparability("fails", "fails") == "not comparable (loadings differ)"
    # loadings that differ decide; equal loadings allow relations whatever the scalar level
    assert M.comparability("fails", "not estimable") == "not comparable (loadings differ)"
    assert M.comparability("holds", "not estimable") == "relations only (scalar level not estimable)"
    assert M.comparability("not estimable", "holds") == "not estimable"
    assert M.ordinal_comparability("fails", "not estimable") == "not comparable (thresholds differ)"
    assert M.ordinal_comparability("holds", "not estimable") == "not estimable"


def test_a_verdict_that_is_not_estimable_says_why():
    table = pd.DataFrame({"converged": [True, True, False], "cfi": [0.99, 0.98, np.nan],
                          "pvalue.diff": [np.nan, np.nan, np.nan]},
                         index=pd.Index(["configural", "metric", "scalar"], name="model"))
    why = M.why_not_estimable
    assert why(table, {"metric": "not estimable", "scalar": "not estimable"}, "cfi") == (
        "not estimable: the metric model's scaled difference test against the configural model has no value")
    assert why(table, {"metric": "holds", "scalar": "not estimable"}, "cfi") == (
        "not estimable: the scalar model did not converge")
    table.loc["scalar", "converged"] = True
    assert why(table, {"metric": "holds", "scalar": "not estimable"}, "cfi") == (
        "not estimable: the scalar model has no CFI")


def test_holzinger_swineford_invariance_verdicts(hs_data):
    """lavaan's published HS invariance across schools: metric chi-square 124.044 / 54 vs
    configural 115.851 / 48 (p = .224, CFI .923 -> .921: holds); scalar 164.103 / 60 (CFI
    .882: fails)."""
    res = M.invariance_analysis("hs", HS_CFA, hs_data, "school")
    assert res.table.loc["scalar", "chisq"] == pytest.approx(164.103, abs=1e-3)
    assert (res.metric, res.scalar) == ("holds", "fails")
    assert res.comparable == "relations only (intercepts differ)"
    # the search names x3 and x7, the items usually freed in this example
    assert {f["item"] for f in res.freed} == {"x3", "x7"}
    assert all(f["p_holm"] < 0.05 for f in res.freed)
    # with MLR the levels and the search read the scaled statistics (here the metric model's scaled
    # CFI rises), and the search names the same two items
    robust = M.invariance_analysis("hs", HS_CFA, hs_data, "school", estimator="MLR")
    assert (robust.metric, robust.scalar) == ("holds", "fails") and robust.table.loc["metric", "cfi.diff"] > 0
    assert [f["item"] for f in robust.freed] == ["x3", "x7"] and all(f["p_holm"] < 0.05 for f in robust.freed)


def test_invariance_the_data_cannot_give_is_not_estimable_with_the_reason(hs_data):
    """FIML + MLR as the invariance exhibit fits it: an item every student of one school answered
    alike (a ceiling) leaves no configural model; the verdicts say why, with no count of students."""
    data = hs_data.copy()
    data.loc[data.index % 9 == 0, "x1"] = np.nan
    data.loc[data["school"] == "Pasteur", "x2"] = 4.0
    res = M.invariance_analysis("hs", HS_CFA, data, "school", ["Pasteur", "Grant-White"], missing="ml",
                                estimator="MLR")
    assert (res.metric, res.scalar) == ("not estimable", "not estimable")
    assert res.comparable == "not estimable: model variables with no variation in group 'Pasteur': x2 (every value 4)"
    assert res.row()["n_Pasteur"] is res.row()["n_Grant-White"] is None


def test_holm_adjustment_changes_verdicts_only_through_p():
    table = pd.DataFrame({"cfi.diff": [np.nan, -0.001, -0.002], "pvalue.diff": [np.nan, 0.02, 0.03]},
                         index=["configural", "metric", "scalar"])
    results = [M.InvarianceResult(f"c{k}", table.copy(), "", "", "", {}) for k in range(3)]
    holm = M.holm_adjusted_verdicts(results)
    assert holm["metric_p_holm"].to_numpy() == pytest.approx([0.06, 0.06, 0.06])
    assert all(r.metric == "holds" for r in results)  # 0.02 alone would be 'holds approximately'


@pytest.fixture(scope="module")
def large_black_white(population_model, codebook, population):
    import copy

    from lwo.model_data import analysis_columns, select_sample
    from lwo.synthetic import generate_cohort

    complete = copy.deepcopy(population_model)
    complete["nonresponse"]["item_rate"] = 0   # these CFAs need complete answers
    students = generate_cohort(complete, codebook, seed=404, n_students=20_000,
                               population=population)["students"]
    chosen = pd.concat([select_sample(students, g) for g in ("Black", "White")])
    race = pd.Series(chosen["race"].astype(str).to_numpy(), name="race")
    return pd.concat([race, analysis_columns(chosen, codebook).reset_index(drop=True)], axis=1)


def one_factor(codebook, construct):
    return f"{construct} =~ " + " + ".join(codebook.item_ids(construct))


def test_detects_built_in_non_invariance(large_black_white, codebook, population_model):
    """config/population_model.yaml makes the perceived-exclusion item exc_pe3 load more and the
    race and gender items sit at other levels for Black students (the report's finding): the
    analysis must fail metric and scalar invariance and name the named item among those."""
    built_in = set(population_model["measurement"]["non_invariant_items"])
    assert built_in == {"exc_pe3", "exc_pe4", "exc_pe5"}
    res = M.invariance_analysis("perceived_exclusion", one_factor(codebook, "perceived_exclusion"),
                                large_black_white, "race", ["Black", "White"])
    assert res.nobs["Black"] > 7000 and res.nobs["White"] > 6000
    assert (res.metric, res.scalar) == ("fails", "fails")
    assert res.comparable == "not comparable (loadings differ)"
    freed = {f["item"] for f in res.freed}
    assert "exc_pe3" in freed and freed <= built_in


@pytest.mark.parametrize("construct", ["respectful_interactions", "peer_support", "microaggression",
                                       "perceived_inclusion"])
def test_does_not_flag_invariant_constructs(large_black_white, codebook, construct):
    """Constructs measured the same way in both groups, including two on which the groups'
    means differ by 0.3 SD and one with a strong floor effect, are not flagged."""
    res = M.invariance_analysis(construct, one_factor(codebook, construct), large_black_white, "race",
                                ["Black", "White"])
    assert res.metric != "fails" and res.scalar != "fails"
    assert res.comparable == "means and relations"
    assert abs(res.table.loc["scalar", "cfi.diff"]) < 0.002


# --------------------------------------------------------------------------- Exhibits 8-10
@pytest.fixture(scope="module")
def mindset_block(cohort, codebook):
    from lwo.scoring import score_constructs
    from lwo.sem_results import fit_info, fit_model
    from lwo.specs import rq1_models

    students = pd.concat([cohort["students"], score_constructs(cohort["students"], codebook)], axis=1)
    spec = rq1_models(codebook)["mindset_cfa"]
    estimates, fits = {}, {}
    for sample in ("all", "Black"):
        run = fit_model(spec, students, codebook, sample)  # what rule measurement_cfa saves
        estimates[sample], fits[sample] = run.estimates, fit_info(run)
        if sample == "all":
            items = [i for c in codebook.constructs_in_block("mindset") for i in codebook.item_ids(c)]
            wlsmv = sem.fit_ordinal(spec.syntax, run.data.data[items].dropna(), ordered=items)
            wlsmv_fit = {"status": "ok", "estimator": "WLSMV", "n_used": len(run.data.data[items].dropna()),
                         "fit_indices": wlsmv.fit_indices}
    return block_measurement(students, codebook, "mindset", estimates, fits, wlsmv_estimates=wlsmv.estimates,
                               wlsmv_fit=wlsmv_fit), students


def test_block_measurement_table(mindset_block, codebook):
    result, students = mindset_block
    t = result.constructs.set_index("id")
    assert list(t.index) == codebook.constructs_in_block("mindset")
    assert ((t["alpha_ci_lower"] < t["alpha"]) & (t["alpha"] < t["alpha_ci_upper"])).all()
    # items loading about equally (the population's design): omega close to alpha
    assert np.abs(t["omega"] - t["alpha"]).max() < 0.02
    assert (t["efa_items_on_own_factor"] == "4 of 4").all()
    assert t["n_Black"].min() >= 10 and t["alpha_White"].notna().all()
    # the table's alpha is the alpha of the scored items of the surveyed students
    from lwo.scoring import reverse_coded
    surveyed = students[students["surveyed"] == 1]
    c = "academic_self_efficacy"
    assert t.loc[c, "alpha"] == pytest.approx(M.cronbach_alpha(reverse_coded(surveyed, codebook, c)), abs=1e-12)
    # loadings in the scoring direction are all positive, reverse-worded items included
    items = result.items
    assert (items["std_loading"] > 0.3).all() and items["reverse_coded"].any()
    assert (items["std_loading_ml"] > 0.3).all()
    # on the latent-response scale the 4-point items load more than as continuous answers
    assert (items["std_loading"] > items["std_loading_ml"]).mean() > 0.9
    assert (t["ordinal_alpha"] > t["alpha"]).all() and (t["ordinal_omega"] > t["omega"]).all()
    # an item's statistics are of the students who answered every item of its construct (alpha's n):
    # its mean the answer as given, its sd that of those answers
    for c in codebook.constructs_in_block("mindset"):
        ids = codebook.item_ids(c)
        complete = surveyed[ids].dropna().astype(float)
        assert len(complete) == t.loc[c, "n"] < surveyed[ids].notna().any(axis=1).sum()
        rows = items[items["item"].isin(ids)].set_index("item").loc[ids]
        assert rows["mean_answer"].to_numpy() == pytest.approx(complete.mean().to_numpy(), abs=1e-12)
        assert rows["sd"].to_numpy() == pytest.approx(complete.std().to_numpy(), abs=1e-12)
    assert list(result.cfa_fit["estimator"]) == ["WLSMV", "ML", "ML"]
    assert list(result.cfa_fit["sample"]) == ["all", "all", "Black"]
    assert result.cfa_fit["scaled"].iloc[0]
    assert any("CFA fit" in n and "CFI" in n for n in result.notes)


def test_structure_comparison(codebook):
    published = pd.DataFrame([
        {"exhibit": "8", "key": "constructs", "statement": "subscales", "value": "8", "kind": "count"},
        {"exhibit": "8", "key": "constructs_in_domain:structural", "statement": "structural", "value": "4", "kind": "count"},
        {"exhibit": "8", "key": "domain:perceived_inclusion", "statement": "inclusion", "value": "dynamic", "kind": "text"},
        {"exhibit": "8", "key": "domains", "statement": "domains", "value": "3", "kind": "count"},
    ])
    rows = structure_comparison(published, codebook, "hqc")
    assert [r["agrees"] for r in rows] == ["yes", "yes", "yes", "no"]
    bad = published.iloc[[0]].assign(key="subscales")
    with pytest.raises(ValueError, match="unknown key"):
        structure_comparison(bad, codebook, "hqc")


def test_block_measurement_shows_a_failed_fit_without_numbers(cohort, codebook):
    from lwo.scoring import score_constructs

    students = pd.concat([cohort["students"], score_constructs(cohort["students"], codebook)], axis=1)
    failed = {"status": "failed", "message": "failed: mindset_cfa (all): not converged", "n_used": 869}
    result = block_measurement(students, codebook, "mindset", {"all": pd.DataFrame()}, {"all": failed})
    assert result.constructs["omega"].isna().all() and result.constructs["std_loading_min"].isna().all()
    assert result.constructs["alpha"].notna().all()  # reliability does not need the CFA
    assert result.cfa_fit.loc[0, "status"] == "failed" and np.isnan(result.cfa_fit.loc[0, "cfi"])
    assert any("no estimates (failed: mindset_cfa (all): not converged)" in n for n in result.notes)


def test_block_measurement_without_complete_answers_says_so(cohort, codebook):
    """Two items of a construct on different survey forms: no student answered all its items, so
    its alpha and item statistics are not estimable, and the notes say which construct and why."""
    from lwo.scoring import score_constructs

    students = cohort["students"].copy()
    form_a = np.arange(len(students)) % 2 == 0
    students.loc[form_a, "ms_ee1"] = np.nan
    students.loc[~form_a, "ms_ee2"] = np.nan
    students = pd.concat([students, score_constructs(students, codebook)], axis=1)
    failed = {"status": "failed", "message": "failed: mindset_cfa (all): not converged", "n_used": 869}
    result = block_measurement(students, codebook, "mindset", {"all": pd.DataFrame()}, {"all": failed})
    t = result.constructs.set_index("id")
    assert t.loc["emotional_engagement", ["alpha", "n", "item_rest_r_min"]].isna().all()
    assert t.drop(index="emotional_engagement")["alpha"].notna().all()
    assert result.items.loc[result.items["item"] == "ms_ee3", "item_rest_r"].isna().all()
    assert any("Not estimable here, with the item statistics: Emotional engagement (fewer than 10 students "
               "answered every item)" in n for n in result.notes)


def test_a_scale_the_survey_did_not_field_is_left_out_of_the_block(cohort, codebook):
    """A district's survey without one scale of a block: the block's CFAs (continuous and WLSMV)
    and its EFA are of the other constructs, with as many factors; the scale's row has no numbers
    and a note names it. Before, one unfielded scale left the whole block without a CFA."""
    from lwo.scoring import score_constructs
    from lwo.sem_results import fit_info, fit_model
    from lwo.specs import rq1_models

    students = cohort["students"].copy()
    students[codebook.item_ids("social_self_efficacy")] = np.nan
    students = pd.concat([students, score_constructs(students, codebook)], axis=1)
    run = fit_model(rq1_models(codebook)["mindset_cfa"], students, codebook, "all")
    assert run.ok, run.message
    assert list(run.left_out) == ["social_self_efficacy"]
    fitted = sorted({r for r in run.estimates.loc[run.estimates["op"] == "=~", "lhs"]})
    others = [c for c in codebook.constructs_in_block("mindset") if c != "social_self_efficacy"]
    assert fitted == sorted(others)
    items = [i for c in others for i in codebook.item_ids(c)]
    wlsmv = sem.fit_ordinal(run.syntax, run.data.data[items].dropna(), ordered=items)
    result = block_measurement(students, codebook, "mindset", {"all": run.estimates}, {"all": fit_info(run)},
                               wlsmv_estimates=wlsmv.estimates, wlsmv_fit={"status": "ok", "fit_indices": wlsmv.fit_indices})
    t = result.constructs.set_index("id")
    assert list(t.index) == codebook.constructs_in_block("mindset")
    numbers = ["alpha", "omega", "ordinal_alpha", "std_loading_min", "std_loading_ml_min"]
    assert t.loc["social_self_efficacy", numbers].isna().all()
    assert t.loc["social_self_efficacy", "efa_items_on_own_factor"] == "not estimable"
    assert t.loc[others, numbers].notna().all().all()
    assert (t.loc[others, "efa_items_on_own_factor"] == "4 of 4").all()
    assert result.efa.loadings.shape == (len(items), len(others))
    assert any(n.startswith("Not in these data (no surveyed student answered an item of it): Social self-efficacy; "
                            "the EFA and the CFAs are of the other 5 constructs.") for n in result.notes)
    assert any("EFA: " in n and "5 factors" in n for n in result.notes)
    assert not any("Not estimable here, with the item statistics" in n for n in result.notes)


def test_ordinal_verdicts_use_holm_adjusted_p_and_skip_unestimable_models():
    """Three constructs whose thresholds tests have p .02, .03, .04 (each 'holds approximately'
    alone) all hold after Holm (adjusted p .06); a model that could not be fitted keeps its
    verdicts."""
    from statsmodels.stats.multitest import multipletests

    def result(name, p, reason=""):
        table = pd.DataFrame({"pvalue.diff": [np.nan, p, 0.5], "cfi.diff": [np.nan, -0.002, 0.0]},
                             index=["configural", "thresholds", "loadings"])
        return M.OrdinalInvarianceResult(name, table, "not estimable", "not estimable", "not estimable", {},
                                         reason=reason)

    results = [result("a", 0.02), result("b", 0.03), result("c", 0.04), result("d", np.nan, reason="too few")]
    assert M.level_verdict(-0.002, 0.02) == "holds approximately"
    # every level holds: the item search has nothing to free, so it needs no data
    fitted = {n: (f"{n} =~ x1 + x2 + x3", None) for n in "abc"}
    adjusted = M.ordinal_holm_adjusted_verdicts(results, fitted, "race", ["Black", "White"])
    expected = multipletests([0.02, 0.03, 0.04], method="holm")[1]
    assert adjusted["thresholds_p_holm"].iloc[:3].to_numpy() == pytest.approx(expected)
    assert np.isnan(adjusted.loc["d", "thresholds_p_holm"])
    assert [r.thresholds for r in results] == ["holds", "holds", "holds", "not estimable"]
    assert [r.comparable for r in results[:3]] == ["means and relations"] * 3
    assert [r.freed for r in results[:3]] == [[], [], []]
    assert results[3].comparable == "not estimable" and results[3].freed == []
