"""Monte Carlo replication study (lwo.replication): power against a closed form, the summary
statistics, the cohort size for a target power, seeding independent of batching, and
non-converged replicates counted rather than dropped."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from lwo import replication as rp
from lwo import sem

REPO = Path(__file__).resolve().parents[1]
ALPHA = 0.05


@pytest.fixture(scope="module")
def estimation() -> dict:
    """The default config's estimation block: what the replication study runs with."""
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["estimation"]


# ------------------------------------------------------------- power against a closed form
def simple_regression_study(n: int, beta: float, sigma: float = 1.0):
    """y = beta * x + e, e ~ N(0, sigma^2), with x fixed across replicates (drawn once), fitted
    as the SEM `y ~ b*x` and reported through the study's own result builder."""
    x = np.random.default_rng(12345).normal(size=n)
    sxx = float(((x - x.mean()) ** 2).sum())

    def replicate(seed: int) -> list[dict]:
        e = np.random.default_rng(seed).normal(scale=sigma, size=n)
        fit = sem.fit("y ~ b*x", pd.DataFrame({"x": x, "y": beta * x + e}))
        return [{"finding": "slope", **rp.path_result(fit, "b", ALPHA, standardized=False)}]

    return replicate, sxx


def exact_power(beta: float, sxx: float, n: int, sigma: float = 1.0, alpha: float = ALPHA) -> float:
    """Power of the ML Wald z test of the slope with fixed x. The ML SE divides the residual sum
    of squares by n, so z = t * sqrt(n / (n - 2)) with t the OLS t statistic, which is noncentral
    t with n - 2 df and noncentrality beta * sqrt(Sxx) / sigma."""
    crit = stats.norm.ppf(1 - alpha / 2) * math.sqrt((n - 2) / n)
    ncp = beta * math.sqrt(sxx) / sigma
    return float(stats.nct.sf(crit, n - 2, ncp) + stats.nct.cdf(-crit, n - 2, ncp))


def exact_coverage(n: int, alpha: float = ALPHA) -> float:
    """Coverage of est +/- z * SE_ML: P(|t| < z * sqrt((n - 2) / n)), t central with n - 2 df."""
    crit = stats.norm.ppf(1 - alpha / 2) * math.sqrt((n - 2) / n)
    return float(1 - 2 * stats.t.sf(crit, n - 2))


def monte_carlo(n: int, beta: float, replicates: int) -> tuple[pd.Series, float]:
    replicate, sxx = simple_regression_study(n, beta)
    cell = rp.Cell(n, 0.5)
    table = rp.run_replicates(replicate, cell, range(replicates), seed=99)
    truths = pd.DataFrame([{"cell": cell.id, "finding": "slope", "population_value": beta}])
    return rp.summarise(table, truths).iloc[0], sxx


def test_power_of_a_regression_slope_matches_the_noncentral_t_closed_form():
    n, beta, replicates = 60, 0.25, 600
    row, sxx = monte_carlo(n, beta, replicates)
    expected = exact_power(beta, sxx, n)
    assert 0.35 < expected < 0.65  # where the Monte Carlo SE is largest: the hardest case
    assert row["replicates"] == replicates and row["convergence_rate"] == 1.0
    assert row["power_mcse"] == pytest.approx(math.sqrt(row["power"] * (1 - row["power"]) / replicates))
    assert abs(row["power"] - expected) < 3 * row["power_mcse"], (row["power"], expected)
    # the check is sharp enough to see a wrong power: 30% more signal, or a one-sided test
    assert abs(row["power"] - exact_power(1.3 * beta, sxx, n)) > 3 * row["power_mcse"]
    assert abs(row["power"] - exact_power(beta, sxx, n, alpha=2 * ALPHA)) > 2 * row["power_mcse"]
    assert abs(row["bias"]) < 3 * row["bias_mcse"]
    assert abs(row["coverage"] - exact_coverage(n)) < 3 * math.sqrt(0.95 * 0.05 / replicates)


@pytest.mark.slow
# (0.25, the middle of the curve, is the sharper test above)
@pytest.mark.parametrize("beta", [0.12, 0.38])
def test_power_curve_of_a_regression_slope_matches_the_closed_form(beta):
    n, replicates = 60, 1000
    row, sxx = monte_carlo(n, beta, replicates)
    expected = exact_power(beta, sxx, n)
    assert abs(row["power"] - expected) < 3 * math.sqrt(expected * (1 - expected) / replicates)
    assert abs(row["coverage"] - exact_coverage(n)) < 3 * math.sqrt(0.95 * 0.05 / replicates)
    # the model SE is right on average: its mean is close to the spread of the estimates
    assert row["mean_model_se"] == pytest.approx(row["empirical_se"], rel=0.1)


# ------------------------------------------------------------------------ summary statistics
def _rows(cell: rp.Cell, finding: str, estimates, se=0.1, significant=None, converged=None) -> pd.DataFrame:
    k = len(estimates)
    est = np.asarray(estimates, float)
    conv = np.ones(k, bool) if converged is None else np.asarray(converged, bool)
    est = np.where(conv, est, np.nan)
    sig = np.zeros(k, bool) if significant is None else np.asarray(significant, bool) & conv
    return pd.DataFrame({
        "cell": cell.id, "n_students": cell.n_students, "share_black": cell.share_black,
        "replicate": range(k), "seed": 0, "finding": finding, "estimate": est, "se": np.where(conv, se, np.nan),
        "ci_lower": est - 1.96 * se, "ci_upper": est + 1.96 * se, "pvalue": np.nan, "significant": sig,
        "converged": conv, "improper": False, "n_used": 100, "message": ""})


def test_summary_statistics_follow_their_definitions():
    cell = rp.Cell(500, 0.46)
    rng = np.random.default_rng(3)
    est = 0.5 + rng.normal(scale=0.1, size=200)
    table = _rows(cell, "f", est, significant=est > 0.55)
    truths = pd.DataFrame([{"cell": cell.id, "finding": "f", "population_value": 0.48}])
    row = rp.summarise(table, truths).iloc[0]
    n = len(est)
    assert row["bias"] == pytest.approx(est.mean() - 0.48)
    assert row["bias_mcse"] == pytest.approx(est.std(ddof=1) / math.sqrt(n))
    # independent identity: MSE = bias^2 + variance (divisor n)
    assert row["rmse"] ** 2 == pytest.approx(row["bias"] ** 2 + est.var(ddof=0))
    assert row["power"] == pytest.approx((est > 0.55).mean())
    covered = (est - 1.96 * 0.1 <= 0.48) & (0.48 <= est + 1.96 * 0.1)
    assert row["coverage"] == pytest.approx(covered.mean())
    assert row["empirical_se_mcse"] == pytest.approx(est.std(ddof=1) / math.sqrt(2 * (n - 1)))
    # the RMSE's Monte Carlo SE agrees with a bootstrap of the replicates
    errors = est - 0.48
    boot = [math.sqrt(np.mean(rng.choice(errors, n) ** 2)) for _ in range(2000)]
    assert row["rmse_mcse"] == pytest.approx(np.std(boot), rel=0.15)


def test_non_converged_replicates_are_counted_not_dropped():
    cell = rp.Cell(500, 0.46)
    converged = [True] * 7 + [False] * 3
    table = _rows(cell, "f", np.linspace(0.4, 0.6, 10), significant=[True] * 10, converged=converged)
    truths = pd.DataFrame([{"cell": cell.id, "finding": "f", "population_value": 0.5}])
    row = rp.summarise(table, truths).iloc[0]
    assert row["replicates"] == 10 and row["converged"] == 7
    assert row["convergence_rate"] == pytest.approx(0.7)
    # a replicate that did not converge detected nothing: power is over all 10
    assert row["power"] == pytest.approx(0.7)
    assert row["mean_estimate"] == pytest.approx(np.linspace(0.4, 0.6, 10)[:7].mean())


def test_a_study_whose_fits_fail_reports_every_replicate_as_not_converged(codebook, population_model, estimation):
    cell = rp.Cell(300, 0.46)
    study = rp.CohortStudy(population_model, codebook, cell, max_iter=1, estimation=estimation)
    table = rp.run_replicates(study.replicate, cell, range(2), seed=5)
    assert len(table) == 2 * len(rp.FINDINGS)
    assert not table["converged"].any() and not table["significant"].any()
    assert table["estimate"].isna().all()
    assert table["message"].str.contains("not converged").all()
    truths = pd.DataFrame([{"cell": cell.id, "finding": k, "population_value": v}
                           for k, v in rp.population_values(study.population).items()])
    summary = rp.summarise(table, truths)
    assert (summary["convergence_rate"] == 0).all() and (summary["power"] == 0).all()
    assert (summary["replicates"] == 2).all()


def test_incomplete_or_doubled_batches_are_refused():
    cell = rp.Cell(500, 0.46)
    table = _rows(cell, "f", [0.1, 0.2, 0.3])
    rp.check_complete(table, [cell], 3, findings=["f"])
    with pytest.raises(ValueError, match=r"missing \[2\]"):
        rp.check_complete(table[table["replicate"] != 2], [cell], 3, findings=["f"])
    with pytest.raises(ValueError, match=r"doubled \[1\]"):
        rp.check_complete(pd.concat([table, table[table["replicate"] == 1]]), [cell], 3, findings=["f"])


# -------------------------------------------------------------- cohort size for a target power
def _power_curve(sizes, delta, shares=(0.46,), replicates=10**6):
    z = stats.norm.ppf(1 - ALPHA / 2)
    return pd.DataFrame([{"finding": rp.HEADLINE, "share_black": s, "n_students": n, "replicates": replicates,
                          "power": float(stats.norm.cdf(delta * math.sqrt(n) - z))}
                         for s in shares for n in sizes])


def test_cohort_size_for_power_recovers_a_wald_power_curve():
    delta = 0.09
    expected = ((stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(0.8)) / delta) ** 2  # about 969
    result = rp.cohort_size_for_power(_power_curve([400, 892, 2000, 5000], delta)).iloc[0]
    assert result["status"] == "interpolated between grid sizes"
    assert result["n_required"] == pytest.approx(expected, rel=1e-9)
    assert (result["n_below"], result["n_above"]) == (892, 2000)


def test_cohort_size_for_power_says_when_the_grid_does_not_bracket_it():
    never = rp.cohort_size_for_power(_power_curve([400, 892], 0.02)).iloc[0]
    assert math.isnan(never["n_required"]) and never["status"].startswith("not reached within the grid")
    always = rp.cohort_size_for_power(_power_curve([2000, 5000], 0.2)).iloc[0]
    assert math.isnan(always["n_required"]) and always["status"].startswith("reached at the smallest cohort")


# ------------------------------------------------------------------ seeds, batching, the grid
def test_replicate_seeds_depend_on_design_and_index_only():
    a, b = rp.Cell(892, 0.46), rp.Cell(892, 0.3)
    # pinned: a change of the seeding scheme changes every published replication number
    assert rp.replicate_seed(20180902, a, 0) == 1339925025034223665
    seeds = {rp.replicate_seed(20180902, c, r) for c in (a, b, rp.Cell(400, 0.46)) for r in range(50)}
    assert len(seeds) == 150
    assert rp.replicate_seed(1, a, 0) != rp.replicate_seed(2, a, 0)
    assert rp.Cell.from_id(a.id) == a and rp.Cell.from_id("n5000-black0.3") == b.__class__(5000, 0.3)
    with pytest.raises(ValueError, match="not a replication cell id"):
        rp.Cell.from_id("n892_black46")


def test_batches_cover_every_replicate_once():
    assert rp.batch_ranges(10, 4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert rp.batch_ranges(3, 25) == [range(0, 3)]
    cfg = {"cohort_sizes": [400, 892], "share_black": [0.46, 0.3], "replicates": 10, "batch_size": 4,
           "seed": 1, "alpha": 0.05}
    assert [c.id for c in rp.grid(cfg)] == ["n400-black0.46", "n892-black0.46", "n400-black0.3", "n892-black0.3"]
    files = rp.batch_files(cfg, "out")
    assert len(files) == 4 * 3 and files[0] == "out/batches/n400-black0.46/batch0000.csv"
    assert json.loads(rp.batch_design(cfg, 2)) == {"seed": 1, "alpha": 0.05, "first_replicate": 8,
                                                   "stop_replicate": 10}
    with pytest.raises(ValueError, match="no batch 3"):
        rp.batch_design(cfg, 3)


def test_results_do_not_depend_on_batching(codebook, population_model, estimation):
    cell = rp.Cell(300, 0.46)
    study = rp.CohortStudy(population_model, codebook, cell, estimation=estimation)
    whole = rp.run_replicates(study.replicate, cell, range(2), seed=11)
    # the second batch in a fresh study object, as in another job
    fresh = rp.CohortStudy(population_model, codebook, cell, estimation=estimation)
    parts = pd.concat([rp.run_replicates(study.replicate, cell, range(0, 1), seed=11),
                       rp.run_replicates(fresh.replicate, cell, range(1, 2), seed=11)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert list(whole["finding"].unique()) == list(rp.FINDING_KEYS)
    assert whole["converged"].all()


# -------------------------------------------------------------------------- the study itself
def test_population_values_are_the_calibration_targets_for_every_share(codebook, population_model):
    from lwo.population import build_population

    expected = {"peer_support": 0.69, "social_comparison": -0.22, "social_self_efficacy": 0.61, "grade_all": 0.12,
                "grade_black": 0.14, "grade_white": 0.02, "percent_mediated_peer_learning": 0.72,
                rp.HEADLINE: 0.12}
    for share in (0.46, 0.3):
        values = rp.population_values(build_population(rp.with_share_black(population_model, share), codebook))
        assert values == pytest.approx(expected, abs=1e-8)


def test_large_cohorts_recover_the_population_values(codebook, population_model, estimation):
    """Each finding reads the right parameter with the right sign and scale: at 5,000 students,
    the mean of two replicates lies near the population value (measurement error in the item
    answers and subscale scores allows a small bias)."""
    import copy
    complete = copy.deepcopy(population_model)
    complete["nonresponse"]["item_rate"] = 0   # FIML's pattern work at 5,000 students: 4x the fit time
    complete["measurement"]["skewed_answer_shares"] = {}   # ceilings bias continuous ML (test_rq1_recovery)
    cell = rp.Cell(5000, 0.46)
    study = rp.CohortStudy(complete, codebook, cell, estimation=estimation)
    table = rp.run_replicates(study.replicate, cell, range(2), seed=21)
    assert table["converged"].all()
    means = table.groupby("finding")["estimate"].mean()
    for key, value in rp.population_values(study.population).items():
        assert means[key] == pytest.approx(value, abs=0.04), key
    n_used = table.pivot(index="replicate", columns="finding", values="n_used")
    assert (n_used["grade_black"] + n_used["grade_white"] == n_used[rp.HEADLINE]).all()
    # at this size the Black-White difference is detected, the White path is not
    sig = table.groupby("finding")["significant"].mean()
    assert sig[rp.HEADLINE] == 1.0 and sig["peer_support"] == 1.0


def test_a_replicate_is_analysed_as_the_build_analyses_the_study(codebook, population_model, estimation):
    """The replicate's fits are the build's (lwo.sem_results) on the same cohort: the same rows
    (with FIML every surveyed student with an answer), the same estimates and (cluster-robust)
    SEs; the Black-White difference is decided by the test the Black-White exhibits use."""
    from lwo.sem_results import fit_model

    cell = rp.Cell(400, 0.46)
    study = rp.CohortStudy(population_model, codebook, cell, estimation=estimation)
    rows = {r["finding"]: r for r in study.replicate(rp.replicate_seed(3, cell, 0))}
    build = fit_model(study.specs["hqc_to_grades"], _cohort(study, cell), codebook, "all", estimation=estimation)
    assert build.ok and estimation["missing"] == "fiml" and estimation["cluster"]
    surveyed_with_an_answer = build.data.n_sample - sum(build.data.exclusions.values())
    assert rows["grade_all"]["n_used"] == build.fit.nobs["all"] == surveyed_with_an_answer
    path = build.estimates[build.estimates["label"] == "c_current_grade"].iloc[0]
    assert rows["grade_all"]["estimate"] == pytest.approx(path["std.all"], rel=1e-9)
    assert rows["grade_all"]["pvalue"] == path["pvalue"]  # the raw path's Wald z, cluster-robust SE
    classrooms = build.data.clusters.nunique()
    assert rows[rp.HEADLINE]["message"].startswith(f"adjusted Wald F(1, {classrooms - 1})")
    assert rp.FINDINGS[-1].test(estimation) == "cluster-robust Wald test of equal paths (adjusted Wald F)"


@pytest.mark.parametrize("estimator, expected", [("ML", "LR chi-square(1)"), ("MLR", "scaled LR chi-square(1)")])
def test_without_clusters_the_group_difference_is_a_likelihood_ratio_test(codebook, population_model, estimator,
                                                                            expected):
    estimation = {"missing": "listwise", "estimator": estimator, "cluster": None}
    cell = rp.Cell(400, 0.46)
    study = rp.CohortStudy(population_model, codebook, cell, estimation=estimation)
    row = study._group_difference(_cohort(study, cell), rp.FINDINGS[-1])
    assert row["converged"] and row["message"].startswith(expected), row["message"]


def _cohort(study: rp.CohortStudy, cell: rp.Cell) -> pd.DataFrame:
    """The students of replicate 0 of `cell` (seed 3), as study.replicate draws them."""
    from lwo.synthetic import generate_cohort
    return generate_cohort(study.model, study.codebook, seed=rp.replicate_seed(3, cell, 0), n_students=cell.n_students,
                           population=study.population)["students"]


# -------------------------------------------------------------------------------- workflow
def _dry_run(*targets: str) -> str:
    result = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--forceall", "--cores", "1", *targets],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def _job_counts(text: str) -> dict[str, int]:
    counts = {}
    table = text.split("Job stats:")[-1].splitlines()
    for line in table:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.mark.slow
def test_replication_is_its_own_target_with_one_job_per_batch():
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)["replication"]
    counts = _job_counts(_dry_run("replication"))
    cells = len(cfg["cohort_sizes"]) * len(cfg["share_black"])
    batches = math.ceil(cfg["replicates"] / cfg["batch_size"])
    assert counts.get("replicate_batch") == cells * batches
    assert counts.get("replication_summary") == 1
    default = _job_counts(_dry_run())
    assert "replicate_batch" not in default and "replication_summary" not in default


def test_every_finding_has_a_population_value_and_its_published_key_exists(population):
    assert list(rp.population_values(population)) == list(rp.FINDING_KEYS)
    published = pd.read_csv(REPO / "data" / "published" / "published_values.csv", dtype=str)
    keys = set(zip(published["exhibit"], published["key"]))
    for finding in rp.FINDINGS:
        assert finding.published is None or finding.published in keys, finding.key


def test_a_replicate_whose_wald_test_has_no_value_counts_as_not_converged(monkeypatch):
    """A group difference whose cluster-robust Wald test has no value (lwo.sem.wald_test refuses a
    singular covariance) is a finding without an estimate in that replicate, counted with the
    reason: the batch goes on."""
    from types import SimpleNamespace

    from lwo import replication

    def refuse(*args, **kwargs):
        raise ValueError("the covariance of the constrained differences is singular")

    monkeypatch.setattr(replication.sem, "wald_test", refuse)
    free = SimpleNamespace(converged=True, nobs={"Black": 40, "White": 60})
    result = replication.group_difference_result(free, None, ("b_black", "b_white"), 0.05)
    assert not result["converged"] and math.isnan(result["estimate"])
    assert "Wald test: the covariance of the constrained differences is singular" in result["message"]
