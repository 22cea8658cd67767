"""Monte Carlo replication study: would the key RQ1 findings replicate, and how many students
would a replication need?

For each cell of a design grid (cohort size x share of Black students among the surveyed), R
cohorts are drawn from the population model (lwo.population, lwo.synthetic), each is analysed
as the study's data are: the RQ1 models (lwo.specs) with the config `estimation` block's
missing-data handling, estimator and clusters (the config's default: FIML + MLR with classroom
clusters; the items as continuous, see `CohortStudy`), and every key finding of a replicate
becomes one row: estimate, SE, CI, p-value, significant, converged. `summarise` turns those rows
into power, bias, RMSE, CI coverage and convergence rate per finding and cell, the first four
with their Monte Carlo SEs (Morris, White & Crowther 2019, Stat Med 38:2074, Table 6), and
`cohort_size_for_power` reads the cohort size needed for a target power off the grid.

Random numbers: replicate r of a cell draws from numpy SeedSequence(seed, spawn_key=(cohort
size, share Black in basis points, r)). So a replicate's data depend only on the seed, its cell's
design and its index: not on how replicates are batched into jobs, on which machine a batch
runs, or on which other cells the grid has.

The generic parts (`Cell`, `run_replicates`, `summarise`, `cohort_size_for_power`, the result
builders) take any replicate function, so the closed-form power check in the tests runs through
the same code as the study.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from lwo import sem
from lwo.codebook import Codebook
from lwo.model_data import model_ready, model_syntax
from lwo.population import PopulationModel, build_population
from lwo.replication_grid import Cell, batch_design, batch_files, batch_ranges, grid  # noqa: F401 (the study's grid)
from lwo.sem_results import ENGINE_MISSING, estimation_options, frame_with_clusters, verdict_test
from lwo.specs import (GROUPS_COMPARED, MULTIGROUP_EQUAL, MULTIGROUP_PARTIAL, group_label, indirect_expressions,
                       multigroup_syntax, rq1_models)
from lwo.synthetic import generate_cohort

SECTION = "Replication: Monte Carlo study"
HEADLINE = "grade_black_minus_white"

# One row per replicate and finding (the batch files); NaN numbers where a fit failed.
RESULT_COLUMNS = ["estimate", "se", "ci_lower", "ci_upper", "pvalue", "significant", "converged",
                  "improper", "n_used", "message"]
REPLICATE_COLUMNS = ["cell", "n_students", "share_black", "replicate", "seed", "finding", *RESULT_COLUMNS]

SUMMARY_COLUMNS = ["cell", "n_students", "share_black", "finding", "population_value", "replicates",
                   "converged", "convergence_rate", "power", "power_mcse", "mean_estimate", "bias",
                   "bias_mcse", "empirical_se", "empirical_se_mcse", "mean_model_se", "rmse", "rmse_mcse",
                   "coverage", "coverage_mcse", "improper_rate"]


def replicate_seed(seed: int, cell: Cell, replicate: int) -> int:
    """The integer seed of one replicate's cohort (see the module docstring)."""
    sequence = np.random.SeedSequence(seed, spawn_key=(*cell.seed_key, replicate))
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


# ---------------------------------------------------------------------------- result builders
def failed_result(message: str, n_used: int | float = math.nan) -> dict:
    """A finding that could not be estimated in a replicate: counted, never dropped."""
    return {"estimate": math.nan, "se": math.nan, "ci_lower": math.nan, "ci_upper": math.nan,
            "pvalue": math.nan, "significant": False, "converged": False, "improper": False,
            "n_used": n_used, "message": message}


def _result(estimate: float, se: float, pvalue: float, alpha: float, fit: sem.SEMFit, n_used: int,
            message: str = "") -> dict:
    z = float(stats.norm.ppf(1 - alpha / 2))
    return {"estimate": float(estimate), "se": float(se), "ci_lower": float(estimate - z * se),
            "ci_upper": float(estimate + z * se), "pvalue": float(pvalue),
            "significant": bool(pvalue < alpha), "converged": True, "improper": bool(fit.warnings),
            "n_used": int(n_used), "message": message or "; ".join(fit.warnings)}


def _n_used(fit: sem.SEMFit) -> int:
    return int(sum(fit.nobs.values()))


def path_result(fit: sem.SEMFit, label: str, alpha: float, standardized: bool = True) -> dict:
    """A labelled path. Estimate, SE and Wald CI on the standardized (std.all, delta-method SE,
    as lavaan's standardizedSolution) or raw scale; the test of 'path = 0' is always the Wald
    z test of the raw path, the test the study reports."""
    if not fit.converged:
        return failed_result(fit.message, _n_used(fit))
    est = fit.estimates
    row = est[(est["label"] == label) & (est["op"] == "~")]
    if len(row) != 1:
        raise ValueError(f"the model has {len(row)} regression paths labelled {label!r}; expected one")
    pvalue = float(row["pvalue"].iloc[0])
    if standardized:
        std = sem.defined(fit, label, label, standardized=True)
        return _result(std["est"], std["se"], pvalue, alpha, fit, _n_used(fit))
    return _result(row["est"].iloc[0], row["se"].iloc[0], pvalue, alpha, fit, _n_used(fit))


def percent_mediated_result(fit: sem.SEMFit, mediators: list[str], outcome: str, alpha: float) -> dict:
    """Share of HQC's total effect on `outcome` carried by `mediators` (delta-method CI);
    'significant' = the indirect effect differs from 0 (Wald z, delta method). The ratio is
    the same on the raw and standardized scales."""
    if not fit.converged:
        return failed_result(fit.message, _n_used(fit))
    expr = indirect_expressions(mediators, outcome)
    share = sem.defined(fit, f"percent_mediated_{outcome}", expr[f"percent_mediated_{outcome}"])
    indirect = sem.defined(fit, f"indirect_{outcome}", expr[f"indirect_{outcome}"])
    return _result(share["est"], share["se"], indirect["pvalue"], alpha, fit, _n_used(fit))


def group_difference_result(free: sem.SEMFit, restricted: sem.SEMFit | None, labels: tuple[str, str],
                            alpha: float) -> dict:
    """Difference of a path between two groups: estimate and CI of the difference of the
    within-group standardized paths (delta method); 'significant' = the test the study's
    Black-White exhibits base their verdict on (lwo.sem_results.fit_multigroup): the Wald test
    of equal raw paths from the free fit's cluster-robust covariance, as an adjusted Wald F, when
    the fit is clustered (`restricted` is then None), else the (with MLR scaled) likelihood-ratio
    test against `restricted`."""
    for fit, role in ((free, "model with free paths"), (restricted, "model with equal paths")):
        if fit is not None and not fit.converged:
            return failed_result(f"{role}: {fit.message}", _n_used(fit))
    if restricted is None:
        try:
            test = sem.wald_test(free, f"{labels[0]} == {labels[1]}", clustered=True)
        except ValueError as err:  # a singular covariance of the difference: no test, as no fit
            return failed_result(f"Wald test: {err}", _n_used(free))
        pvalue, text = test["f_pvalue"], f"adjusted Wald F(1, {test['f_df2']}) = {test['f_stat']:.3f}"
    else:
        test = sem.lr_test(restricted, free)
        pvalue, scaled = test["pvalue"], "scaled " if free.estimator == "MLR" else ""
        text = f"{scaled}LR chi-square({test['df_diff']}) = {test['chisq_diff']:.3f}"
    diff = sem.defined(free, "difference", f"{labels[0]} - {labels[1]}", standardized=True)
    return _result(diff["est"], diff["se"], pvalue, alpha, free, _n_used(free),
                   message=text + ("; " + "; ".join(free.warnings) if free.warnings else ""))


def group_difference_test(estimation: dict | None) -> str:
    """The test of equal paths that the estimation gives a group difference (see above)."""
    est = estimation_options(estimation)
    if verdict_test(est["cluster"]) == "Wald":
        return "cluster-robust Wald test of equal paths (adjusted Wald F)"
    return f"{'scaled ' if est['estimator'] == 'MLR' else ''}LR test of equal paths"


# ------------------------------------------------------------------------------- the findings
@dataclass(frozen=True)
class Finding:
    """A key RQ1 finding: the model and sample it is estimated in, what is estimated and
    tested, and where it was published.

    kind 'path': the standardized path labelled `parameter`, Wald z test of the raw path.
    kind 'percent_mediated': share of HQC -> `parameter` (an outcome) carried by `mediators`,
    Wald z test of the indirect effect. kind 'group_difference': Black minus White standardized
    path labelled `parameter` in one two-group model, test of equal raw paths
    (`group_difference_test`)."""

    key: str
    title: str
    model: str
    sample: str
    kind: str
    parameter: str
    mediators: tuple[str, ...] = ()
    published: tuple[str, str] | None = None  # (exhibit, key) of data/published/published_values.csv

    def test(self, estimation: dict | None) -> str:
        if self.kind == "group_difference":
            return group_difference_test(estimation)
        return {"path": "Wald z of the path", "percent_mediated": "Wald z of the indirect effect"}[self.kind]


FINDINGS = (
    Finding("peer_support", "HQC -> peer support", "hqc_to_classroom_environment", "all", "path",
            "c_peer_support", published=("12", "std_effect:peer_support:all")),
    Finding("social_comparison", "HQC -> social comparison concerns", "hqc_to_classroom_environment", "all",
            "path", "c_social_comparison", published=("12", "std_effect:social_comparison:all")),
    Finding("social_self_efficacy", "HQC -> social self-efficacy", "hqc_to_mindsets", "all", "path",
            "c_social_self_efficacy", published=("13", "std_effect:social_self_efficacy:all")),
    Finding("grade_all", "HQC -> grade (all students)", "hqc_to_grades", "all", "path", "c_current_grade",
            published=("15", "std_effect:current_grade:all")),
    Finding("grade_black", "HQC -> grade (Black students)", "hqc_to_grades", "Black", "path", "c_current_grade",
            published=("23", "std_effect:current_grade:Black")),
    Finding("grade_white", "HQC -> grade (White students)", "hqc_to_grades", "White", "path", "c_current_grade",
            published=("29", "std_effect:current_grade:White")),
    Finding("percent_mediated_peer_learning", "Share of HQC -> social self-efficacy via learning from peers",
            "hqc_mindsets_via_learning_from_peers", "all", "percent_mediated", "social_self_efficacy",
            mediators=("peer_learning",), published=("19", "percent_mediated:social_self_efficacy:peer_learning:all")),
    Finding(HEADLINE, "HQC -> grade: Black minus White", "hqc_to_grades", "+".join(GROUPS_COMPARED),
            "group_difference", "c_current_grade"),
)
FINDING_KEYS = tuple(f.key for f in FINDINGS)


def with_share_black(population_model: dict, share_black: float) -> dict:
    """The population model with another share of Black students among the surveyed."""
    model = copy.deepcopy(population_model)
    model["design"]["share_black_among_surveyed"] = float(share_black)
    return model


def population_values(population: PopulationModel) -> dict[str, float]:
    """The population value of every finding (standardized effects with the study's controls)."""
    black = population.std_effect("current_grade", "Black")
    white = population.std_effect("current_grade", "White")
    return {
        "peer_support": population.std_effect("peer_support", "all"),
        "social_comparison": population.std_effect("social_comparison", "all"),
        "social_self_efficacy": population.std_effect("social_self_efficacy", "all"),
        "grade_all": population.std_effect("current_grade", "all"),
        "grade_black": black,
        "grade_white": white,
        "percent_mediated_peer_learning": population.percent_mediated("social_self_efficacy", "peer_learning", "all"),
        HEADLINE: black - white,
    }


def without_defined_parameters(syntax: str) -> str:
    """The spec without its `:=` lines: the findings compute the few defined parameters they
    need with sem.defined, and the fit need not compute all of them."""
    return "\n".join(line for line in syntax.splitlines() if ":=" not in line)


class CohortStudy:
    """The key RQ1 findings, estimated on cohorts drawn from the population model of one cell.

    `estimation`: the config `estimation` block (the workflow passes it; None gives
    lwo.sem_results.estimation_options's listwise ML), so that a replicate is analysed as the
    build analyses the study's data: the same missing-data handling, estimator and clusters,
    and a fit whose unrestricted model has no estimate keeps its paths (without_h1). Its `items`
    is not used: the replicates' items are continuous (WLSMV fits are unclustered, and would multiply the
    study's cost)."""

    def __init__(self, population_model: dict, codebook: Codebook, cell: Cell, alpha: float = 0.05,
                 max_iter: int = 1000, estimation: dict | None = None):
        self.cell = cell
        self.alpha = alpha
        self.max_iter = max_iter
        self.codebook = codebook
        self.estimation = estimation_options(estimation)
        self.model = with_share_black(population_model, cell.share_black)
        self.population = build_population(self.model, codebook)
        self.specs = rq1_models(codebook)

    def _data(self, students: pd.DataFrame, model: str, sample: str, **kwargs):
        """The model's rows (with their clusters) and its syntax without dropped controls."""
        spec = self.specs[model]
        est = self.estimation
        ready = model_ready(students, self.codebook, spec, sample, missing=est["missing"], cluster=est["cluster"],
                            **kwargs)
        data = frame_with_clusters(ready) if est["cluster"] else ready.data
        return data, without_defined_parameters(model_syntax(spec.syntax, ready))

    def _fit(self, syntax: str, data: pd.DataFrame, scaled_test: bool = False, **kwargs) -> sem.SEMFit | str:
        """A fit, or the reason there is none (too few rows, ...). Only a likelihood-ratio test
        reads the fit's test statistic (`scaled_test`); paths and Wald tests need its SEs alone,
        so the other fits leave out the Yuan-Bentler scaling (lavaan test = "standard")."""
        est = self.estimation
        try:
            return sem.fit(syntax, data, max_iter=self.max_iter, missing=ENGINE_MISSING[est["missing"]],
                           estimator=est["estimator"], cluster=est["cluster"], robust_indices=False,
                           test=None if scaled_test else "standard", without_h1=True, **kwargs)
        except (ValueError, np.linalg.LinAlgError) as err:
            return f"not fitted: {err}"

    def replicate(self, seed: int) -> list[dict]:
        """One cohort and every finding of it, in FINDINGS order; each model is fitted once."""
        cohort = generate_cohort(self.model, self.codebook, seed=seed, n_students=self.cell.n_students,
                                 population=self.population)
        students = cohort["students"]
        fits: dict[tuple[str, str], tuple] = {}
        rows = []
        for finding in FINDINGS:
            if finding.kind == "group_difference":
                result = self._group_difference(students, finding)
            else:
                if (finding.model, finding.sample) not in fits:
                    data, syntax = self._data(students, finding.model, finding.sample)
                    fits[finding.model, finding.sample] = (self._fit(syntax, data), len(data))
                fit, n_used = fits[finding.model, finding.sample]
                if isinstance(fit, str):
                    result = failed_result(fit, n_used)
                elif finding.kind == "path":
                    result = path_result(fit, finding.parameter, self.alpha)
                else:
                    result = percent_mediated_result(fit, list(finding.mediators), finding.parameter, self.alpha)
            rows.append({"finding": finding.key, **result})
        return rows

    def _group_difference(self, students: pd.DataFrame, finding: Finding) -> dict:
        """A two-group (Black, White) model with the measurement constraints of the study's
        Black-White comparisons (lwo.specs: equal loadings except the non-invariant
        perceived-inclusion parcel), so that the test of equal paths compares the structural
        path only: clustered, the Wald test from the free fit; else the model with the path
        equal too, for the likelihood-ratio test."""
        groups = finding.sample.split("+")
        data, syntax = self._data(students, finding.model, finding.sample, constant_within="race")
        options = {"group": "race", "group_order": groups, "group_equal": MULTIGROUP_EQUAL,
                   "group_partial": MULTIGROUP_PARTIAL}
        lr = verdict_test(self.estimation["cluster"]) == "LR"
        free = self._fit(multigroup_syntax(syntax, groups), data, scaled_test=lr, **options)
        if isinstance(free, str):
            return failed_result(free, len(data))
        equal = None
        if lr:
            equal = self._fit(multigroup_syntax(syntax, groups, shared=(finding.parameter,)), data, scaled_test=True,
                              **options, h1=free, start=free)
            if isinstance(equal, str):
                return failed_result(equal, len(data))
        labels = tuple(group_label(finding.parameter, g) for g in groups)
        return group_difference_result(free, equal, labels, self.alpha)


# ------------------------------------------------------------------------------- running
def run_replicates(replicate: Callable[[int], list[dict]], cell: Cell, replicates: Iterable[int],
                   seed: int) -> pd.DataFrame:
    """Run `replicate(seed_r)` for each replicate index r of `cell`; one row per finding."""
    rows = []
    for r in replicates:
        seed_r = replicate_seed(seed, cell, r)
        for res in replicate(seed_r):
            rows.append({"cell": cell.id, "n_students": cell.n_students, "share_black": cell.share_black,
                         "replicate": int(r), "seed": seed_r, **res})
    table = pd.DataFrame(rows, columns=REPLICATE_COLUMNS)
    return table.astype({"significant": bool, "converged": bool, "improper": bool})


def check_complete(replicates: pd.DataFrame, cells: list[Cell], n_replicates: int,
                   findings: Iterable[str] = FINDING_KEYS) -> None:
    """Every cell must have each replicate 0..R-1 exactly once per finding: a lost or doubled
    batch would bias every number silently."""
    findings = list(findings)
    for cell in cells:
        rows = replicates[replicates["cell"] == cell.id]
        for finding in findings:
            got = sorted(rows.loc[rows["finding"] == finding, "replicate"].astype(int))
            if got != list(range(n_replicates)):
                missing = sorted(set(range(n_replicates)) - set(got))
                doubled = sorted({r for r in got if got.count(r) > 1})
                raise ValueError(f"results/replication: cell {cell.id}, finding {finding}: "
                                 f"{len(got)} replicate rows for {n_replicates} replicates "
                                 f"(missing {missing[:5]}, doubled {doubled[:5]}); rerun its batches")


# ------------------------------------------------------------------------------- summary
def _mcse_rmse(errors: np.ndarray) -> tuple[float, float]:
    """RMSE and its Monte Carlo SE (delta method on the MSE's)."""
    n = len(errors)
    squared = errors ** 2
    mse = float(squared.mean())
    rmse = math.sqrt(mse)
    if n < 2 or rmse == 0:
        return rmse, math.nan
    mse_mcse = math.sqrt(float(((squared - mse) ** 2).sum()) / (n * (n - 1)))
    return rmse, mse_mcse / (2 * rmse)


def summarise_one(rows: pd.DataFrame, population_value: float) -> dict:
    """Performance of one finding in one cell from its replicate rows.

    power: share of ALL replicates with a significant result (a replicate whose model did not
    converge detects nothing); bias, RMSE, SEs and coverage: over the converged replicates."""
    total = len(rows)
    if total == 0:
        raise ValueError("no replicate rows to summarise")
    ok = rows[rows["converged"].astype(bool) & np.isfinite(rows["estimate"].astype(float))]
    n = len(ok)
    power = float(rows["significant"].astype(bool).sum()) / total
    out = {"population_value": population_value, "replicates": total, "converged": n,
           "convergence_rate": n / total, "power": power, "power_mcse": math.sqrt(power * (1 - power) / total)}
    est = ok["estimate"].to_numpy(float)
    if n == 0:
        return out | {k: math.nan for k in SUMMARY_COLUMNS[10:-1]} | {"improper_rate": math.nan}
    sd = float(est.std(ddof=1)) if n > 1 else math.nan
    rmse, rmse_mcse = _mcse_rmse(est - population_value)
    covered = ((ok["ci_lower"].to_numpy(float) <= population_value)
               & (population_value <= ok["ci_upper"].to_numpy(float)))
    coverage = float(covered.mean())
    return out | {
        "mean_estimate": float(est.mean()),
        "bias": float(est.mean()) - population_value,
        "bias_mcse": sd / math.sqrt(n) if n > 1 else math.nan,
        "empirical_se": sd,
        "empirical_se_mcse": sd / math.sqrt(2 * (n - 1)) if n > 1 else math.nan,
        "mean_model_se": float(ok["se"].astype(float).mean()),
        "rmse": rmse,
        "rmse_mcse": rmse_mcse,
        "coverage": coverage,
        "coverage_mcse": math.sqrt(coverage * (1 - coverage) / n),
        "improper_rate": float(ok["improper"].astype(bool).mean()),
    }


def summarise(replicates: pd.DataFrame, truths: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and finding (cells, then findings, in order of first appearance).
    `truths`: columns cell, finding, population_value."""
    truth = {(r.cell, r.finding): float(r.population_value) for r in truths.itertuples()}
    rows = []
    for cell in dict.fromkeys(replicates["cell"]):
        in_cell = replicates[replicates["cell"] == cell]
        for finding in dict.fromkeys(in_cell["finding"]):
            if (cell, finding) not in truth:
                raise ValueError(f"no population value for finding {finding!r} in cell {cell!r}")
            sel = in_cell[in_cell["finding"] == finding].sort_values("replicate")
            first = sel.iloc[0]
            rows.append({"cell": cell, "n_students": int(first["n_students"]),
                         "share_black": float(first["share_black"]), "finding": finding,
                         **summarise_one(sel, truth[(cell, finding)])})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def cohort_size_for_power(summary: pd.DataFrame, finding: str = HEADLINE, target: float = 0.8) -> pd.DataFrame:
    """Per share of Black students: the cohort size at which `finding` reaches `target` power.

    Between the two grid sizes where the power curve first crosses the target, probit(power) is
    interpolated linearly in sqrt(N): for a Wald test probit(power) ~ delta * sqrt(N) - z, so
    this is exact for a test whose statistic grows with sqrt(N). Powers of 0 or 1 are moved
    half a replicate inward first. Nothing is extrapolated outside the grid."""
    rows = []
    for share in dict.fromkeys(summary["share_black"]):
        curve = summary[(summary["finding"] == finding) & (summary["share_black"] == share)]
        curve = curve.sort_values("n_students")
        sizes = curve["n_students"].to_numpy(float)
        power = curve["power"].to_numpy(float)
        reps = curve["replicates"].to_numpy(float)
        row = {"finding": finding, "share_black": float(share), "target_power": target,
               "n_required": math.nan, "status": "", "n_below": math.nan, "power_below": math.nan,
               "n_above": math.nan, "power_above": math.nan}
        if len(curve) == 0:
            raise ValueError(f"no summary rows for finding {finding!r}")
        reached = np.flatnonzero(power >= target)
        if len(reached) == 0:
            row["status"] = (f"not reached within the grid: power {power[-1]:.2f} at the largest cohort "
                             f"({int(sizes[-1])} students)")
        elif reached[0] == 0:
            row.update(n_above=sizes[0], power_above=power[0],
                       status=f"reached at the smallest cohort in the grid ({int(sizes[0])} students, "
                              f"power {power[0]:.2f}); a smaller cohort may do")
        else:
            i = reached[0]
            lo, hi = i - 1, i
            p = np.clip(power[[lo, hi]], 0.5 / reps[[lo, hi]], 1 - 0.5 / reps[[lo, hi]])
            q_lo, q_hi = stats.norm.ppf(p)
            q_target = stats.norm.ppf(target)
            x_lo, x_hi = math.sqrt(sizes[lo]), math.sqrt(sizes[hi])
            x = x_lo + (q_target - q_lo) * (x_hi - x_lo) / (q_hi - q_lo) if q_hi != q_lo else x_hi
            row.update(n_required=float(np.clip(x ** 2, sizes[lo], sizes[hi])), n_below=sizes[lo],
                       power_below=power[lo], n_above=sizes[hi], power_above=power[hi],
                       status="interpolated between grid sizes")
        rows.append(row)
    return pd.DataFrame(rows)
