"""Fitted RQ1 models: fit once, save, read back, bootstrap (the models layer: no figures,
no exhibit code; the exhibits built from these files are in lwo.sem_exhibits).

A model is fitted once per sample by the `sem_fit` rule (Black and White jointly by
`sem_fit_multigroup`) and saved under results/models/<sample>/<model>/:

  spec.lavaan        every parameter written out, with the `:=` definitions (lavaan syntax)
  model_data.csv.gz  the exact rows and columns fitted, plus classroom_id (never in the report)
  estimates.csv      lavaan parameterEstimates() columns, std.all, cluster-robust columns
  standardized.csv   every labelled path and `:=` parameter on the std.all scale with
                     delta-method SE, z, p and 95% CI (ordinary and cluster-robust): lavaan's
                     standardizedSolution() for those rows
  correlations.csv   model-implied correlations of HQC with each outcome and mediator (delta method)
  fit.json           status (ok / failed / not estimable), message, iterations, estimator,
                     missing, cluster, N used and surveyed, exclusions, dropped controls, outcomes
                     left out (no student had data on them), fit indices (scaled and robust with
                     MLR), the lavaan call
  refit_in_lavaan.R  how to refit the model in R (the lavaan call, also in spec.lavaan's header)
  first_stage.csv.gz a one-group WLSMV fit's DWLS weights and classrooms' influence sums, which
                     lavaan takes as WLS.V and NACOV to give its clustered numbers (header only
                     for other fits; OrdinalFit.first_stage_table)

How a model is estimated comes from the config `estimation` block (`estimation_options`):
FIML + MLR with classroom clusters by default. With `items: ordinal` a structural model's
survey items are ordered categories: WLSMV (lwo.sem.fit_ordinal; lavaan's
sem(..., ordered =, estimator = "WLSMV", conditional.x = FALSE, fixed.x = TRUE)), pairwise
deletion where the block asks for FIML and listwise where it asks for listwise
(ordinal_estimation), clustered as the block says (cluster-robust SEs and scaled test, lavaan >=
0.7-2); a model without items (HQC's parcels and grades only) stays continuous. The
Black-White fits then test equal paths by lavTestLRT's scaled-shifted difference
(lr_test_ordinal) and the Wald test.

Multi-group fits add lr_tests.csv (equality of paths: Wald and (scaled) likelihood-ratio
tests, `verdict_test` naming the one the exhibits use; see fit_multigroup), constrained_estimates.csv,
constrained_specs.lavaan and group_contrasts.csv (White minus Black, White / Black - 1).
Exhibit scripts only read these files (lwo.saved_fits.read_model); nothing here refits a saved model
except the bootstrap, which refits it on resamples of its saved data.
"""
from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri  # not scipy.stats: its import costs a fit job ~1 s

from lwo import sem
from lwo.io import write_csv, write_json, write_text
from lwo.model_data import ModelData, cluster_ids, model_ready, model_syntax, select_sample
from lwo.sem.expr import compile_expression, expression_names
from lwo.specs import (GROUPS_COMPARED, MULTIGROUP_EQUAL, MULTIGROUP_PARTIAL, MULTIGROUP_SAMPLE, OBSERVED_OUTCOMES,
                       ModelSpec, equality_tests, group_label, multigroup_syntax, without_outcomes)

CLUSTER = "classroom_id"
GROUP_COLUMN = "race"
# config `estimation` (config/config.yaml): the pipeline's default is FIML + MLR with classroom
# clusters; without a config (the measurement CFAs, tests) a fit is today's listwise ML with
# classroom-clustered sensitivity SEs.
LISTWISE_ML = {"missing": "listwise", "estimator": "ML", "cluster": CLUSTER, "items": "continuous"}
ITEMS_CHOICES = ("continuous", "ordinal")
ENGINE_MISSING = {"fiml": "ml.x", "fiml_fixed_x": "ml", "listwise": None}
MISSING_TEXT = {"fiml": "full-information ML (lavaan missing = \"ml.x\"): every student with at least one answered "
                        "item in the model; missing answers and missing controls are integrated over, not deleted",
                "fiml_fixed_x": "full-information ML (lavaan missing = \"ml\"): every student with at least one "
                                "answered item in the model; students missing a control left out (listwise on "
                                "covariates, as lavaan fixed.x)",
                "listwise": "listwise deletion over the model's columns"}
ESTIMATOR_TEXT = {"MLR": "MLR (ML estimates; Huber-White sandwich SEs; Yuan-Bentler scaled chi-square)",
                  "ML": "ML (normal-theory SEs and chi-square)"}
ORDINAL_TEXT = ("WLSMV with the survey items as ordered categories (polychoric correlations; DWLS estimates, "
                "robust SEs, scaled-shifted chi-square; delta parameterization; controls as continuous "
                "variables with their moments fixed at the sample values, lavaan conditional.x = FALSE, "
                "fixed.x = TRUE); {missing}; {cluster}")
# lavaan 0.6 ignores cluster = with ordered items; 0.7-2 clusters the first stage's Gamma (Mplus TYPE = COMPLEX)
ORDINAL_CLUSTER_TEXT = ("SEs and scaled chi-square clustered by {cluster} (the first stage's scores summed per "
                        "{cluster}, as lavaan >= 0.7-2 and Mplus TYPE = COMPLEX)")
ORDINAL_MISSING_TEXT = {
    "listwise": "listwise deletion over the model's columns (lavaan's default with WLSMV)",
    "pairwise": "pairwise deletion (lavaan missing = \"pairwise\"): every student with at least one answered item "
                "in the model, each threshold and correlation from the students who answered its items; students "
                "missing a control left out (their moments are fixed)"}


def ordinal_estimation(estimation: dict | None) -> dict:
    """What a structural fit with ordinal items uses instead of the block's missing / estimator:
    WLSMV; pairwise deletion where the block asks for FIML (every answer used, as FIML would),
    listwise where it asks for listwise; the block's cluster."""
    options = estimation_options(estimation)
    missing = "listwise" if options["missing"] == "listwise" else "pairwise"
    return {"missing": missing, "estimator": "WLSMV", "cluster": options["cluster"], "items": "ordinal"}
Z975 = float(ndtri(0.975))
# numbers in saved tables: enough digits to match lavaan's output and to refit exactly
ESTIMATE_FORMAT = "%.10g"
DATA_FORMAT = "%.17g"
STD_COLUMNS = ["lhs", "op", "rhs", "group", "group_label", "label", "est.std", "se", "z", "pvalue",
               "ci.lower", "ci.upper", "se.cluster", "z.cluster", "pvalue.cluster", "ci.lower.cluster",
               "ci.upper.cluster"]
INFERENCE_COLUMNS = ["se", "z", "pvalue", "ci.lower", "ci.upper"]


# ============================================================================ fitting
@dataclass
class FitRun:
    """One model fitted (or not) on one sample: what `save_fit` writes."""

    model: str
    sample: str
    syntax: str
    data: ModelData
    fit: sem.SEMFit | None
    status: str                      # "ok", "failed" or "not estimable"
    message: str
    cluster: str | None = CLUSTER
    group: str | None = None
    groups: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    # the spec's `:=` lines, (name, expression): computed here, not by the engine (see split_definitions)
    definitions: list[tuple[str, str]] = field(default_factory=list)
    estimates: pd.DataFrame | None = None      # fit.estimates with the `:=` rows added
    spec_full: str = ""                        # fit.spec_full with the `:=` lines added
    estimation: dict = field(default_factory=lambda: dict(LISTWISE_ML))
    ordered: tuple[str, ...] = ()              # items fitted as ordered categories (WLSMV)
    min_cell: int = 10                         # row counts below it are not written into messages
    left_out: dict[str, str] = field(default_factory=dict)  # outcomes without data: outcome -> why

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def read_students(path) -> pd.DataFrame:
    """The analysis students table (results/data/analysis/students.csv), ids as text."""
    return pd.read_csv(path, dtype={"student_id": "string", "classroom_id": "string"})


def estimation_options(estimation: dict | None) -> dict:
    """The config `estimation` block completed and checked: missing, estimator, cluster (a
    column name or None)."""
    est = {**LISTWISE_ML, **(estimation or {})}
    if est["missing"] not in ENGINE_MISSING:
        raise ValueError(f"estimation.missing must be one of {sorted(ENGINE_MISSING)}, not {est['missing']!r}")
    if est["estimator"] not in ESTIMATOR_TEXT:
        raise ValueError(f"estimation.estimator must be one of {sorted(ESTIMATOR_TEXT)}, not {est['estimator']!r}")
    if est["items"] not in ITEMS_CHOICES:
        raise ValueError(f"estimation.items must be one of {list(ITEMS_CHOICES)}, not {est['items']!r}")
    if est["cluster"] in (None, "", "none"):
        est["cluster"] = None
    return est


def frame_with_clusters(md: ModelData) -> pd.DataFrame:
    """The fitted data with the classroom of each student; a student without a recorded
    classroom is a cluster of their own (never pooled into a shared 'missing' classroom)."""
    data = md.data.copy()
    data[md.cluster_name] = cluster_ids(md.clusters)
    return data


def split_definitions(syntax: str) -> tuple[str, list[tuple[str, str]]]:
    """The spec without its `:=` lines, and those lines as (name, expression).

    The defined parameters are computed from the fit here (`defined_estimates`): one
    Jacobian serves all of them, where fitting them in the engine costs a numeric gradient
    per definition (seconds per model, minutes per multi-group model)."""
    kept, defs = [], []
    for line in syntax.splitlines():
        text = line.split("#", 1)[0].strip()
        if ":=" in text:
            name, expr = (part.strip() for part in text.split(":=", 1))
            defs.append((name, expr))
        else:
            kept.append(line)
    return "\n".join(kept), defs


def ordinal_items(spec: ModelSpec, codebook, estimation: dict) -> list[str]:
    """The survey items a structural model fits as ordered categories: its items when the
    config says `items: ordinal`, none otherwise (and none for a measurement CFA, whose
    continuous fit is the sensitivity analysis beside its own WLSMV fit)."""
    if estimation_options(estimation)["items"] != "ordinal" or not spec.outcomes:
        return []
    items = {i.id for i in codebook.all_items()}
    return [v for v in spec.observed if v in items]


def _fit_checked(model: str, sample: str, syntax: str, md: ModelData, *, group=None, groups=(),
                 max_iter: int = 1000, with_inference: bool = True, min_cell: int = 10, estimation=None,
                 ordered=(), **fit_kwargs) -> FitRun:
    """Fit, turning an empty sample, too few rows, a data error or non-convergence into a
    status with its message (the exhibit then shows it instead of numbers).
    `with_inference=False` (models that only enter a likelihood-ratio test) skips the `:=`
    parameters and the robust CFI/TLI/RMSEA, and with ML also the cluster-robust SEs (MLR
    keeps the clusters: the scaled chi-square difference needs the clustered scaling factor).
    `ordered`: items to fit as ordered categories (WLSMV; `estimation` is then
    :func:`ordinal_estimation`'s)."""
    est = dict(estimation) if ordered else estimation_options(estimation)
    data = frame_with_clusters(md)
    n = len(data)
    fit_syntax, definitions = split_definitions(syntax)
    if not with_inference:
        definitions = []
    # the scaled tests of MLR and WLSMV need the clusters in the refits too
    cluster = est["cluster"] if (with_inference or est["estimator"] in ("MLR", "WLSMV")) else None
    run = FitRun(model, sample, syntax, md, None, "ok", "", cluster, group,
                 tuple(groups), definitions=definitions, estimation=est, ordered=tuple(ordered), min_cell=min_cell)
    who = f"{model} ({sample})"
    usable = "with complete data" if est["missing"] == "listwise" else "with an answered item"
    if group is not None:
        counts = data[group].value_counts()
        empty = [g for g in groups if counts.get(g, 0) == 0]
        if empty:
            run.status, run.message = "not estimable", f"not estimable: n = 0 {', '.join(empty)} students {usable}"
            return run
    elif n == 0:
        run.status, run.message = "not estimable", f"not estimable: n = 0 students {usable} in sample {sample}"
        return run
    classrooms = (0 if not run.cluster else
                  data.groupby(group)[run.cluster].nunique().min() if group else data[run.cluster].nunique())
    if run.cluster and classrooms < 2:
        run.cluster = None
        run.notes.append("fewer than two classrooms (in a group): no cluster-robust standard errors")
    try:
        if ordered:
            fit = sem.fit_ordinal(fit_syntax, data, ordered=list(ordered), group=group,
                                  group_order=list(groups) if group else None, missing=est["missing"],
                                  cluster=run.cluster, **fit_kwargs)
        else:
            fit = sem.fit(fit_syntax, data, group=group, group_order=list(groups) if group else None,
                          cluster=run.cluster, max_iter=max_iter, missing=ENGINE_MISSING[est["missing"]],
                          estimator=est["estimator"], robust_indices=with_inference, without_h1=True,
                          **fit_kwargs)
        _check_definitions(fit, definitions)
    except ValueError as err:  # too few rows, a constant column, an unusable spec
        text = str(err)
        if "too few" in text:  # the engine's text gives the count, which may be below min_cell
            smallest = int(data[group].value_counts().min()) if group else n
            run.status = "not estimable"
            run.message = (f"not estimable: {who}: too few students {usable} "
                           f"({sem.count_text(smallest, min_cell)}{' in a group' if group else ''}) for this model")
        elif isinstance(err, sem.ModelDataError):  # its message names the variables; small counts hidden
            run.status = "not estimable"
            run.message = f"not estimable: {who}: {sem.suppress_row_counts(text, min_cell)}"
        elif isinstance(err, np.linalg.LinAlgError) or "positive definite" in text or "singular" in text:
            # few students for many variables: their (EM) covariance matrix does not determine the model
            smallest = int(data[group].value_counts().min()) if group else n
            run.status = "not estimable"
            run.message = (f"not estimable: {who}: the answers of {sem.count_text(smallest, min_cell)} students"
                           f"{' in a group' if group else ''} do not determine this model's covariance matrix "
                           "(singular); too few students for this model")
        else:
            run.status, run.message = "failed", f"failed: {who}: {text}"
        return run
    run.fit = fit
    run.spec_full = fit.spec_full
    if definitions:
        if "# defined parameters" not in run.spec_full:
            run.spec_full += "# defined parameters\n"
        run.spec_full += "".join(f"{name} := {expr}\n" for name, expr in definitions)
    smallest, pt = min(fit.nobs.values()), fit.partable
    # no more students than variables (FIML fits them), or fewer than free parameters of a group (a
    # district's 50 Black students for a 190-parameter model): no convergence is the sample's doing
    if not fit.converged and (smallest <= len(pt.ov_names) or smallest < pt.npar / pt.ngroups):
        fewer = ("" if smallest <= len(pt.ov_names)
                 else f", fewer than its {round(pt.npar / pt.ngroups)} free parameters")
        run.status = "not estimable"
        run.message = (f"not estimable: {who}: too few students {usable} ({sem.count_text(smallest, min_cell)}"
                       f"{' in a group' if group else ''}) for this model{fewer} ({fit.message})")
        run.estimates = fit.estimates
    elif not fit.converged:
        run.status, run.message = "failed", f"failed: {who}: {fit.message}"
        run.estimates = fit.estimates
    else:
        run.message = sem.suppress_row_counts(fit.message, min_cell)
        run.estimates = pd.concat([fit.estimates, defined_estimates(fit, definitions)], ignore_index=True)
    return run


def _check_definitions(fit: sem.SEMFit, definitions) -> None:
    pt = fit.partable
    known = set(pt.label_index) | set(pt.label_fixed)
    for name, expr in definitions:
        compile_expression(expr)  # a syntax error raises ValueError
        unknown = [n for n in expression_names(expr) if n not in known]
        if unknown:
            raise ValueError(f"defined parameter {name!r} uses unknown label(s) {unknown}")
        known.add(name)


def outcomes_without_data(spec: ModelSpec, students: pd.DataFrame, codebook, samples) -> dict[str, str]:
    """The outcomes of a structural model, or the constructs of a block CFA, that no surveyed
    student of a sample (or of one of `samples`) has a value of: an export without absences, a
    survey without one of the scales. {outcome: why}, empty where every outcome has data or none
    has (the model then has none to fit, and says so)."""
    out = {}
    outcomes = spec.outcomes or spec.factors
    for sample in samples:
        rows = select_sample(students, sample)
        for o in outcomes:
            columns = [o] if o in OBSERVED_OUTCOMES else list(codebook.item_ids(o))
            if o not in out and not rows[columns].notna().to_numpy().any():
                what = "a value of" if o in OBSERVED_OUTCOMES else "an answer to an item of"
                who = "no student of this sample" if len(samples) == 1 else f"no {sample} student"
                out[o] = f"{who} has {what} {o}, so it is left out of the model"
    return out if len(out) < len(outcomes) else {}


def with_outcomes_that_have_data(spec: ModelSpec, students, codebook, samples) -> tuple[ModelSpec, dict]:
    """`spec` without its outcomes_without_data, and those ({outcome: why})."""
    left_out = outcomes_without_data(spec, students, codebook, samples)
    return (without_outcomes(spec, codebook, left_out) if left_out else spec), left_out


def fit_model(spec: ModelSpec, students: pd.DataFrame, codebook, sample: str, *, max_iter: int = 1000,
              syntax: str | None = None, min_cell: int = 10, estimation: dict | None = None) -> FitRun:
    """Fit one RQ1 model on one sample ('all' or a race) of the analysis students table.
    `syntax` replaces the spec's (e.g. a deliberately broken one, in tests); `min_cell`: student
    counts below it are not written into messages; `estimation`: the config block (missing,
    estimator, cluster; default `LISTWISE_ML`). Outcomes no student of the sample has data on
    are left out (`outcomes_without_data`; the run's `left_out`)."""
    left_out = {}
    if syntax is None:
        spec, left_out = with_outcomes_that_have_data(spec, students, codebook, [sample])
    est = estimation_options(estimation)
    ordered = ordinal_items(spec, codebook, est)
    if ordered:
        est = ordinal_estimation(est)
    md = model_ready(students, codebook, spec, sample, missing=est["missing"], cluster=est["cluster"])
    text = model_syntax(syntax if syntax is not None else spec.syntax, md)
    run = _fit_checked(spec.name, sample, text, md, max_iter=max_iter, min_cell=min_cell, estimation=est,
                       ordered=ordered)
    run.left_out = left_out
    return run


@dataclass
class MultiGroupRun:
    free: FitRun
    constrained: dict[str, FitRun]
    tests: dict[str, list[str]]
    lr_tests: pd.DataFrame


def fit_multigroup(spec: ModelSpec, students: pd.DataFrame, codebook, groups=GROUPS_COMPARED, *,
                   max_iter: int = 1000, min_cell: int = 10, estimation: dict | None = None) -> MultiGroupRun:
    """Black and White students in one likelihood: the free model (every labelled path per
    group) and, per test of `equality_tests`, the model with those paths equal.

    Two tests per set of paths (lr_tests.csv): the chi-square difference of the constrained
    and the free model (scaled, lavaan lavTestLRT's satorra.bentler.2001, when both are MLR)
    and the Wald test of the paths' equality in the free model from its covariance (the
    crossed-cluster-robust one when the fit has a cluster, ML or MLR). `verdict_test` and
    `pvalue` name the one the exhibits use: the Wald test when the fit is clustered, since it
    refers its statistic to the full crossed-cluster covariance of the tested differences, where
    the scaled LR difference (from the same crossed-cluster scores) corrects only its mean, and
    then its p-value is the adjusted Wald F's (lwo.sem.api.adjusted_wald_f: the chi-square reference
    rejects too often with 30 classrooms and several paths); the (scaled) LR test otherwise,
    unless it
    has no p-value (a constrained model not estimated, no chi-square without the unrestricted
    model, a negative scaling factor): then the Wald test, and the row's message says why. The
    Wald test has no value where the paths outnumber the classrooms less one (a cluster-robust
    covariance has no more directions); then the LR test decides, and where neither has a value
    the row is "not estimable" with both reasons. Outcomes that no student of one of the groups
    has data on are left out (`outcomes_without_data`; the free run's `left_out`)."""
    spec, left_out = with_outcomes_that_have_data(spec, students, codebook, list(groups))
    est = estimation_options(estimation)
    ordered = ordinal_items(spec, codebook, est)
    if ordered:
        est = ordinal_estimation(est)
    md = model_ready(students, codebook, spec, "+".join(groups), constant_within=GROUP_COLUMN,
                     missing=est["missing"], cluster=est["cluster"])
    base = model_syntax(spec.syntax, md)
    kwargs = dict(group=GROUP_COLUMN, groups=groups, max_iter=max_iter, min_cell=min_cell,
                  group_equal=MULTIGROUP_EQUAL, group_partial=MULTIGROUP_PARTIAL, estimation=est, ordered=ordered)
    free = _fit_checked(spec.name, MULTIGROUP_SAMPLE, multigroup_syntax(base, groups), md, **kwargs)
    free.left_out = left_out
    tests = equality_tests(spec)
    constrained: dict[str, FitRun] = {}
    rows = []
    for name, labels in tests.items():
        row = {"test": name, "paths": " ".join(labels), "n_paths": len(labels)}
        if not free.ok:
            row.update(status=free.status, message=free.message)
            rows.append(row)
            continue
        reuse = {} if ordered else {"h1": free.fit, "start": free.fit}  # same data (ML / MLR engine)
        run = _fit_checked(spec.name, MULTIGROUP_SAMPLE, multigroup_syntax(base, groups, shared=labels), md,
                           with_inference=False, **reuse, **kwargs)
        constrained[name] = run
        # clustered: from the cluster-robust covariance, with ML too (its `vcov` is normal-theory)
        try:
            wald = sem.wald_test(free.fit, [f"{group_label(lab, groups[0])} == {group_label(lab, groups[1])}"
                                            for lab in labels], clustered=free.cluster is not None)
            row.update(wald_chisq=wald["stat"], wald_df=wald["df"], wald_pvalue=wald["pvalue"])
            if "f_stat" in wald:  # cluster-robust: the adjusted Wald F
                row.update(wald_f=wald["f_stat"], wald_f_df2=wald["f_df2"], wald_f_pvalue=wald["f_pvalue"])
            no_wald = ""
        except ValueError as err:  # e.g. more paths than classrooms - 1
            no_wald = f"Wald test not available: {err}"
        if run.ok and not (has_chisq(free.fit) and has_chisq(run.fit)):
            row.update(status="ok", message=f"likelihood-ratio test not available: {NO_CHISQ}")
        elif run.ok:
            lrt = (sem.lr_test_ordinal if ordered else sem.lr_test)(run.fit, free.fit)
            row.update(status="ok", message="", chisq_diff=lrt["chisq_diff"], df_diff=lrt["df_diff"],
                       lr_pvalue=lrt["pvalue"], lr_method=lrt["method"], scaling_factor=lrt.get("scaling_factor"),
                       cfi_diff=lrt["cfi_diff"], rmsea_diff=lrt["rmsea_diff"])
            if not np.isfinite(lrt["pvalue"]):  # lavaan gives NaN too
                row["message"] = ("likelihood-ratio test not available: the scaled difference's scaling factor is "
                                  "negative (small samples)")
        else:  # the Wald test needs only the free model
            row.update(status="ok", message=f"likelihood-ratio test not available: {run.message}")
        wald_first = not no_wald and (verdict_test(free.cluster) == "Wald" or not pd.notna(row.get("lr_pvalue")))
        if wald_first or pd.notna(row.get("lr_pvalue")):
            # clustered, the adjusted Wald F (its chi-square rejects too often with 30 classrooms)
            wald_p = row.get("wald_f_pvalue", row.get("wald_pvalue"))
            row.update(verdict_test="Wald" if wald_first else "LR", pvalue=wald_p if wald_first else row["lr_pvalue"])
        else:  # neither test has a value
            row.update(status="not estimable")
        row["message"] = "; ".join(m for m in (no_wald, row.get("message")) if m)
        rows.append(row)
    return MultiGroupRun(free, constrained, tests, pd.DataFrame(rows).reindex(columns=LR_TEST_COLUMNS))


# why a Black-White fit has no LR test (FIML without an unrestricted model: sem.fit(without_h1=True))
NO_CHISQ = ("no chi-square: too few students for the unrestricted model's means, variances and covariances "
            "(the Wald test needs only the estimates and their covariance)")


def has_chisq(fit: sem.SEMFit) -> bool:
    """Whether the fit has a chi-square (FIML without an unrestricted model has none)."""
    return bool(np.isfinite(fit.fit_indices.get("chisq", np.nan)))


def verdict_test(cluster: str | None) -> str:
    """The test of equal paths the Black-White verdicts use (see fit_multigroup): "Wald" (from the
    crossed-cluster-robust covariance) when the fits are clustered, else "LR" (scaled with MLR)."""
    return "Wald" if cluster else "LR"


LR_TEST_COLUMNS = ["test", "paths", "n_paths", "verdict_test", "pvalue", "wald_chisq", "wald_df", "wald_pvalue",
                   "wald_f", "wald_f_df2", "wald_f_pvalue", "chisq_diff", "df_diff", "lr_pvalue", "lr_method",
                   "scaling_factor", "cfi_diff", "rmsea_diff", "status", "message"]


# ======================================================= standardized inference (delta method)
def _engine_state(fit: sem.SEMFit):
    """The fitted model and its parameter vector: the std.all values and implied moments are
    functions of them. SEMFit has no public accessor for these two, so this is the one place
    that reads them."""
    return fit._model, fit._theta


# Scalar quantities (the `:=` definitions) go through the engine's `sem.delta_method`. The
# std.all values and implied correlations of a fit are vectors: one Jacobian serves all of
# them (a scalar delta method per row would recompute the standardized solution rows x npar times).
def _numeric_jacobian(func, theta: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """d func(theta) / d theta[columns] by central differences (the step of `sem.delta_method`)."""
    base = np.asarray(func(theta), dtype=float)
    jac = np.empty((base.size, len(columns)))
    for c, k in enumerate(columns):
        h = 1e-6 * max(1.0, abs(theta[k]))
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        jac[:, c] = (np.asarray(func(tp)) - np.asarray(func(tm))) / (2 * h)
    return jac


@dataclass
class _Derivatives:
    """std.all of every row and the implied correlations of `source` with `targets` per group,
    with one Jacobian: the standardized solution, the correlations and the group contrasts of
    a saved fit all read it."""

    fit: object
    source: str
    targets: tuple
    std: np.ndarray
    std_jac: np.ndarray
    corr: dict  # (group, target) -> (value, gradient)


_LAST_DERIVATIVES: list[_Derivatives] = []  # the last fit's (save_fit primes it)


def _derivatives(fit: sem.SEMFit, source: str = "hqc", targets=()) -> _Derivatives:
    cached = _LAST_DERIVATIVES[0] if _LAST_DERIVATIVES else None
    if cached is not None and cached.fit is fit and (not targets or cached.source == source) \
            and set(targets) <= set(cached.targets):
        return cached
    model, theta = _engine_state(fit)
    names = model.var_names
    targets = tuple(t for t in targets if t in names)
    i, js = (names.index(source), [names.index(t) for t in targets]) if targets else (0, [])
    rows = model.pt.rows
    nrows = len(rows)

    def group_values(t, g):  # std.all of the group's rows, then its correlations of source with targets
        imp = model.implied(t, g)
        c = imp.full_cov
        return np.concatenate([model.standardized_group(t, g, imp),
                               [c[i, j] / math.sqrt(c[i, i] * c[j, j]) for j in js]])

    # a parameter moves only the groups whose rows hold it: each group's values are
    # differentiated in its own parameters (the other columns are exactly 0)
    base = np.full(nrows + model.ngroups * len(js), np.nan)
    jac = np.zeros((base.size, theta.size))
    for g in range(model.ngroups):
        out = np.concatenate([np.array([k for k, r in enumerate(rows) if r.group == g], dtype=int),
                              nrows + g * len(js) + np.arange(len(js))])
        columns = np.array(sorted({r.index for r in rows if r.group == g and r.index >= 0}), dtype=int)
        base[out] = group_values(theta, g)
        jac[np.ix_(out, columns)] = _numeric_jacobian(lambda t: group_values(t, g), theta, columns)
    corr = {(g, t): (base[nrows + g * len(js) + k], jac[nrows + g * len(js) + k])
            for g in range(model.ngroups if js else 0) for k, t in enumerate(targets)}
    _LAST_DERIVATIVES[:] = [_Derivatives(fit, source, targets, base[:nrows], jac[:nrows], corr)]
    return _LAST_DERIVATIVES[0]


def _inference(est: float, grad: np.ndarray, vcov: np.ndarray | None, suffix: str = "") -> dict:
    keys = [c + suffix for c in INFERENCE_COLUMNS]
    if vcov is None or not np.all(np.isfinite(grad)):
        return dict.fromkeys(keys, float("nan"))
    var = float(grad @ vcov @ grad)
    se = math.sqrt(var) if var > 0 else float("nan")
    if not np.isfinite(se) or se <= 0:
        return dict.fromkeys(keys, float("nan"))
    z = est / se
    return dict(zip(keys, [se, z, float(2 * ndtr(-abs(z))), est - Z975 * se, est + Z975 * se]))


def _group_of_name(name: str, group_labels: list[str]) -> int | None:
    """0-based group of a group-suffixed label or definition name (multi-group specs)."""
    for g, lab in enumerate(group_labels):
        if name.endswith("_" + lab):
            return g
    return None


def _label_rows(pt, g: int | None) -> dict[str, int]:
    """label -> parameter-table row: its row in group g (0-based) when it has one, else its first."""
    out: dict[str, int] = {}
    for rid, r in enumerate(pt.rows):
        if r.label and (r.label not in out or (g is not None and r.group == g and pt.rows[out[r.label]].group != g)):
            out[r.label] = rid
    return out


@functools.lru_cache(maxsize=4096)
def _compiled(expr: str):
    return compile_expression(expr)


def _evaluate(definitions, values: dict[str, float], upto: str | None = None) -> dict[str, float]:
    """Add the `:=` values in order (each may use the earlier ones), up to `upto` (default: all)."""
    values = dict(values)
    for name, expr in definitions:
        values[name] = _compiled(expr)(values)
        if name == upto:
            break
    return values


def defined_estimates(fit: sem.SEMFit, definitions) -> pd.DataFrame:
    """lavaan's `:=` rows of parameterEstimates(): est, delta-method se, z, pvalue, CI (and the
    cluster-robust versions), std.all = the expression on the labels' std.all values."""
    if not definitions or not fit.converged:
        return pd.DataFrame(columns=fit.estimates.columns)
    model, theta = _engine_state(fit)
    pt = model.pt
    vcov = fit.vcov.to_numpy()
    vcov_cl = None if fit.vcov_cluster is None else fit.vcov_cluster.to_numpy()
    fixed = {lab: float(v) for lab, v in pt.label_fixed.items()}

    def definition(t, name):
        return _evaluate(definitions, {**fixed, **{lab: float(t[i]) for lab, i in pt.label_index.items()}}, name)[name]

    values = _evaluate(definitions, {**fixed, **{lab: float(theta[i]) for lab, i in pt.label_index.items()}})
    std_rows = model.standardized_rows(theta)
    records = []
    for name, expr in definitions:
        used = [pt.label_index[lab] for lab in _names_used(name, definitions) if lab in pt.label_index]
        _, _, grad = sem.delta_method(functools.partial(definition, name=name), theta, vcov, indices=sorted(used))
        g = _group_of_name(name, fit.group_labels) if fit.group_labels else None
        std_values = {lab: float(std_rows[rid]) for lab, rid in _label_rows(pt, g).items()}
        rec = {"lhs": name, "op": ":=", "rhs": expr, "group": 0, "label": name, "est": values[name]}
        rec.update(_inference(values[name], grad, vcov))
        rec["std.all"] = _evaluate(definitions, std_values)[name]
        if vcov_cl is not None:
            rec.update(_inference(values[name], grad, vcov_cl, ".cluster"))
        rec.update({"free": 0, "exo": 0, "user": 1})
        records.append(rec)
    return pd.DataFrame(records).reindex(columns=fit.estimates.columns)


def standardized_solution(fit: sem.SEMFit, definitions=()) -> pd.DataFrame:
    """std.all of every labelled parameter and every `:=` definition (the definition's
    labels at their std.all values), with delta-method SE, z, p and CI: ordinary and, when the
    fit has them, cluster-robust. One numeric Jacobian of all std.all values serves every row
    (the same numbers as `sem.defined(..., standardized=True)`, computed once)."""
    if not fit.converged or fit.partable is None:
        return pd.DataFrame(columns=STD_COLUMNS)
    model, theta = _engine_state(fit)
    pt = model.pt
    groups = fit.group_labels or [None]
    vcov = fit.vcov.to_numpy()
    vcov_cl = None if fit.vcov_cluster is None else fit.vcov_cluster.to_numpy()
    d = _derivatives(fit)
    std, jac = d.std, d.std_jac

    records = []
    for rid, r in enumerate(pt.rows):
        if not r.label:
            continue
        rec = {"lhs": r.lhs, "op": r.op, "rhs": r.rhs, "group": r.group + 1,
               "group_label": groups[r.group] if fit.group_labels else "", "label": r.label,
               "est.std": float(std[rid])}
        rec.update(_inference(rec["est.std"], jac[rid], vcov))
        rec.update(_inference(rec["est.std"], jac[rid], vcov_cl, ".cluster"))
        records.append(rec)
    std_cov = {}  # covariance of the std.all values of a group's labels, J V J' (once per group)
    for name, expr in definitions:
        g = _group_of_name(name, fit.group_labels) if fit.group_labels else None
        rows_of = _label_rows(pt, g)
        labs = list(rows_of)
        rids = [rows_of[lab] for lab in labs]
        if g not in std_cov:
            std_cov[g] = jac[rids] @ vcov @ jac[rids].T

        def on_std_scale(v, _name=name, _labs=labs):
            return _evaluate(definitions, dict(zip(_labs, v)), _name)[_name]

        # delta method on the std.all values, whose covariance is J V J' (the chain rule)
        names_used = _names_used(name, definitions)
        used = [k for k, lab in enumerate(labs) if lab in names_used]
        est, _, g_std = sem.delta_method(on_std_scale, std[rids], std_cov[g], indices=used)
        grad = g_std @ jac[rids]
        rec = {"lhs": name, "op": ":=", "rhs": expr, "group": 0 if g is None else g + 1,
               "group_label": "" if g is None else groups[g], "label": name, "est.std": float(est)}
        rec.update(_inference(rec["est.std"], grad, vcov))
        rec.update(_inference(rec["est.std"], grad, vcov_cl, ".cluster"))
        records.append(rec)
    return pd.DataFrame(records, columns=STD_COLUMNS)


def _names_used(name: str, definitions) -> set[str]:
    """Labels a definition uses, through the definitions it refers to."""
    by_name = dict(definitions)
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        for n in expression_names(by_name[current]):
            if n in seen:
                continue
            seen.add(n)
            if n in by_name:
                todo.append(n)
    return seen


def implied_correlations(fit: sem.SEMFit, source: str, targets: list[str]) -> pd.DataFrame:
    """Model-implied correlations of `source` with each target (latent or observed), per
    group, with delta-method SEs and CIs (ordinary and cluster-robust)."""
    columns = ["lhs", "rhs", "group", "group_label", "est", *INFERENCE_COLUMNS,
               *[c + ".cluster" for c in INFERENCE_COLUMNS]]
    if not fit.converged or fit.partable is None:
        return pd.DataFrame(columns=columns)
    model, _ = _engine_state(fit)
    names = model.var_names
    targets = [t for t in targets if t in names and t != source]
    vcov = fit.vcov.to_numpy()
    vcov_cl = None if fit.vcov_cluster is None else fit.vcov_cluster.to_numpy()
    d = _derivatives(fit, source, targets) if targets else None
    records = []
    for g in range(model.ngroups):
        for t in targets:
            est, grad = d.corr[g, t]
            rec = {"lhs": source, "rhs": t, "group": g + 1,
                   "group_label": fit.group_labels[g] if fit.group_labels else "", "est": float(est)}
            rec.update(_inference(rec["est"], grad, vcov))
            rec.update(_inference(rec["est"], grad, vcov_cl, ".cluster"))
            records.append(rec)
    return pd.DataFrame(records, columns=columns)


def group_contrasts(fit: sem.SEMFit, labels: list[str], correlations_of: list[str] = (),
                    source: str = "hqc") -> pd.DataFrame:
    """Second group vs first on the std.all scale, for each label (group-specific copies in a
    multi-group spec) and each model-implied correlation of `source`: the difference
    (second - first) and the relative difference (second / first - 1), delta method."""
    columns = ["quantity", "name", "first_group", "second_group", "first", "second", "contrast", "est",
               *INFERENCE_COLUMNS, *[c + ".cluster" for c in INFERENCE_COLUMNS]]
    if not fit.converged or len(fit.group_labels) != 2:
        return pd.DataFrame(columns=columns)
    model, _ = _engine_state(fit)
    first, second = fit.group_labels
    vcov = fit.vcov.to_numpy()
    vcov_cl = None if fit.vcov_cluster is None else fit.vcov_cluster.to_numpy()
    row_of = {r.label: rid for rid, r in enumerate(model.pt.rows) if r.label}
    missing = [v for v in (source, *correlations_of) if correlations_of and v not in model.var_names]
    if missing:
        raise ValueError(f"group_contrasts: {missing} are not variables of the model")
    d = _derivatives(fit, source, correlations_of)
    rows = [row_of[group_label(lab, g)] for lab in labels for g in (first, second)]
    pairs = [d.corr[g, target] for target in correlations_of for g in range(2)]
    base = np.concatenate([d.std[rows], [v for v, _ in pairs]])
    jac = np.vstack([d.std_jac[rows], *[grad for _, grad in pairs]]) if rows or pairs else np.empty((0, 0))
    items = [("std.all", lab) for lab in labels] + [("correlation", f"{source} ~~ {t}") for t in correlations_of]
    records = []
    for k, (quantity, name) in enumerate(items):
        a, b = base[2 * k], base[2 * k + 1]
        ga, gb = jac[2 * k], jac[2 * k + 1]
        for contrast, est, grad in (("difference", b - a, gb - ga),
                                    ("ratio minus 1", b / a - 1, gb / a - b * ga / a**2)):
            rec = {"quantity": quantity, "name": name, "first_group": first, "second_group": second,
                   "first": float(a), "second": float(b), "contrast": contrast, "est": float(est)}
            rec.update(_inference(rec["est"], grad, vcov))
            rec.update(_inference(rec["est"], grad, vcov_cl, ".cluster"))
            records.append(rec)
    return pd.DataFrame(records, columns=columns)


# ============================================================================ saving
def _clean(obj):
    """JSON-safe: NaN and inf as null, numpy numbers as Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def fit_info(run: FitRun) -> dict:
    """The content of fit.json."""
    md = run.data
    fit = run.fit
    warnings = [sem.suppress_row_counts(w, run.min_cell) for w in fit.warnings] if fit is not None else []
    info = {
        "model": run.model,
        "sample": run.sample,
        "status": run.status,
        "message": run.message,
        "converged": bool(fit.converged) if fit is not None else False,
        "iterations": int(fit.iterations) if fit is not None else 0,
        "n_used": int(len(md.data)),
        "n_sample": int(md.n_sample),
        "n_surveyed": int(md.n_sample),
        "n_by_group": dict(fit.nobs) if fit is not None else {},
        "exclusions": dict(md.exclusions),
        "exclusion_note": md.note(),
        "dropped_controls": list(md.dropped_controls),
        "outcomes_left_out": dict(run.left_out),
        "cluster": run.cluster,
        "n_clusters": int(md.clusters.nunique()) if run.cluster else None,
        "group": run.group,
        "groups": list(run.groups),
        # the warnings that say why there is no chi-square are its fit_note (below)
        "warnings": [w for w in warnings if not w.startswith(sem.api.NO_H1)],
        "notes": list(run.notes),
        "estimator": run.estimation["estimator"],
        "missing": run.estimation["missing"],
        "estimation_text": estimation_text(run),
        "lavaan_call": lavaan_call(run),
        "fit_indices": dict(fit.fit_indices) if fit is not None else {},
    }
    if fit is not None and fit.converged and not has_chisq(fit):
        info["fit_note"] = "; ".join(w for w in warnings if w.startswith(sem.api.NO_H1))
    return _clean(info)


def estimation_text(run: FitRun) -> str:
    """Estimator, missing-data handling and clustering in words (fit.json, the exhibit notes)."""
    if run.ordered:
        return ordinal_estimation_text(run.estimation["missing"], run.cluster)
    return continuous_estimation_text(run.estimation, run.cluster, across_groups=bool(run.group))


def ordinal_estimation_text(missing: str, cluster: str | None) -> str:
    """:func:`estimation_text` of a WLSMV fit (also Exhibits 8-10's)."""
    return ORDINAL_TEXT.format(missing=ORDINAL_MISSING_TEXT[missing],
                               cluster=ORDINAL_CLUSTER_TEXT.format(cluster=cluster) if cluster else
                               "no cluster-robust SEs")


def continuous_estimation_text(estimation: dict, cluster: str | None, across_groups: bool = False) -> str:
    """:func:`estimation_text` of a fit with continuous items (also the replication study's)."""
    text = f"{ESTIMATOR_TEXT[estimation['estimator']]}; {MISSING_TEXT[estimation['missing']]}"
    if cluster:  # with ML the SEs stay normal-theory, the clustered ones are reported beside them
        text += (f"; SEs clustered by {cluster}" if estimation["estimator"] == "MLR" else
                 f"; cluster-robust SEs by {cluster} beside them")
        text += " (one cluster across groups)" if across_groups else ""
    return text


def lavaan_call(run: FitRun) -> str:
    """The lavaan call that reproduces the fit on spec.lavaan (`model`) and model_data.csv.gz
    (`data`); the spec as written when the model was not fitted."""
    if run.fit is not None:
        return run.fit.lavaan_call()
    est = run.estimation
    args = ["model", "data = data", f'estimator = "{est["estimator"]}"']
    if run.ordered:
        args[2:2] = ["ordered = c(" + ", ".join(f'"{v}"' for v in run.ordered) + ")"]
        args += ["conditional.x = FALSE", "fixed.x = TRUE"]
    missing = "pairwise" if est["missing"] == "pairwise" else ENGINE_MISSING[est["missing"]]
    if missing:
        args.append(f'missing = "{missing}"')
    if run.cluster:
        args.append(f'cluster = "{run.cluster}"')
    if run.group:
        args += [f'group = "{run.group}"', "group.label = c(" + ", ".join(f'"{g}"' for g in run.groups) + ")"]
    return "lavaan::sem(" + ", ".join(args) + ")"


def ordinal_cluster_note(cluster: str, missing: str) -> str:
    """refit_in_lavaan.R's lines on how far lavaan reproduces a clustered WLSMV fit."""
    note = ("\n# Clustered WLSMV needs lavaan >= 0.7-2: lavaan 0.6 ignores cluster = with ordered items (the "
            "same estimates\n# and chi-square, unclustered SEs).")
    if missing == "pairwise":
        note += (f" With missing = \"pairwise\", lavaan 0.7-2 leaves every {cluster} with an\n# unanswered "
                 f"item out of its clustered Gamma (SEs near 0); this pipeline sums the answered items' scores\n"
                 f"# of every {cluster}, and equals lavaan 0.7-2 where no item is unanswered.")
    return note


# a saved fit's first stage: a one-group WLSMV fit's DWLS weights and classrooms' influences (header
# only for the other fits)
FIRST_STAGE = "first_stage.csv.gz"
# R lines that read a saved WLSMV fit's first stage (OrdinalFit.first_stage_table): the DWLS weights w
# and the classrooms' scaled influence sums V, whose cross-product is the clustered Gamma
FIRST_STAGE_R = ('parts <- read.csv(gzfile("{file}"), check.names = FALSE)\n'
                 'w <- unlist(parts[parts$kind == "weight", -1]); V <- as.matrix(parts[parts$kind == "cluster", -1])\n')


def first_stage_call(call: str, cluster: str) -> str:
    """A clustered WLSMV fit's lavaan call with its clustered Gamma and weights given
    (FIRST_STAGE_R's V and w) instead of the cluster: the fit's numbers in any lavaan."""
    return call.replace(f', cluster = "{cluster}"', ", NACOV = list(crossprod(V)), WLS.V = list(diag(w))")


def clustered_wlsmv_refit(target: str, call: str, cluster: str, first_stage: str) -> str:
    """refit_in_lavaan.R's lines that fit a one-group clustered WLSMV fit into `target`: its
    lavaan >= 0.7-2 call as a comment, then the call that gives its numbers in any lavaan from
    its saved first stage (the file `first_stage`)."""
    return (f"# In lavaan >= 0.7-2: {target} <- {call}\n# In any lavaan, this fit's numbers from its clustered "
            f"Gamma and weights ({first_stage}):\n" + FIRST_STAGE_R.format(file=first_stage)
            + f"{target} <- {first_stage_call(call, cluster)}")


def refit_instructions(run: FitRun) -> str:
    crossed = ("\n# Multi-group with clusters: lavaan numbers clusters within each group, this pipeline counts a "
               "classroom once\n# across groups (README, Estimation): lavaan's SEs differ by design, estimates "
               "and chi-square agree." if run.group and run.cluster else "")
    call = f"fit <- {lavaan_call(run)}"
    if run.ordered and run.cluster:
        crossed += ordinal_cluster_note(run.cluster, run.estimation["missing"])
        if not run.group:  # lavaan's NACOV is per group: no covariance between groups through a classroom
            call = clustered_wlsmv_refit("fit", lavaan_call(run), run.cluster, FIRST_STAGE)
    return f"""# Refit {run.model} ({run.sample}) in lavaan: the same estimates, SEs and fit indices as estimates.csv.
# Run in this directory. spec.lavaan writes out every parameter; model_data.csv.gz holds the exact rows fitted.{crossed}
library(lavaan)
data <- read.csv(gzfile("model_data.csv.gz"))
model <- paste(readLines("spec.lavaan"), collapse = "\\n")
{call}
summary(fit, fit.measures = TRUE, standardized = TRUE)
parameterEstimates(fit)            # est, se, z, pvalue, ci.lower, ci.upper (estimates.csv)
standardizedSolution(fit)          # std.all with delta-method SEs (standardized.csv)
"""


def save_fit(run: FitRun, directory, *, correlation_targets=()) -> None:
    """Write a fit's files (see the module docstring) into `directory`."""
    d = Path(directory)
    fit = run.fit
    header = (f"# {run.model}, sample {run.sample}: {run.status}"
              + (f" ({run.message})" if run.message else "") + "\n")
    if fit is not None:
        spec_text = header + run.spec_full
    else:
        spec_text = (header + f"# not fitted; the spec as written, for {lavaan_call(run)}:\n"
                     + run.syntax + "\n")
    write_text(spec_text, d / "spec.lavaan")
    write_csv(frame_with_clusters(run.data), d / "model_data.csv.gz", float_format=DATA_FORMAT)
    estimates = run.estimates if run.estimates is not None else pd.DataFrame(columns=sem.api.ESTIMATE_COLUMNS)
    write_csv(estimates, d / "estimates.csv", float_format=ESTIMATE_FORMAT)
    if run.ok:  # one Jacobian for the standardized solution, the correlations (and group contrasts)
        _derivatives(fit, "hqc", list(correlation_targets))
    std = standardized_solution(fit, run.definitions) if run.ok else pd.DataFrame(columns=STD_COLUMNS)
    write_csv(std, d / "standardized.csv", float_format=ESTIMATE_FORMAT)
    corr = implied_correlations(fit, "hqc", list(correlation_targets)) if run.ok else implied_correlations(
        _NOT_FITTED, "hqc", [])
    write_csv(corr, d / "correlations.csv", float_format=ESTIMATE_FORMAT)
    write_json(fit_info(run), d / "fit.json")
    write_text(refit_instructions(run), d / "refit_in_lavaan.R")
    first_stage = (fit.first_stage_table() if run.ok and run.ordered and not run.group
                   else pd.DataFrame(columns=["kind"]))
    write_csv(first_stage, d / FIRST_STAGE, float_format=ESTIMATE_FORMAT)


class _NotFitted:
    converged = False
    partable = None


_NOT_FITTED = _NotFitted()


def save_multigroup(mg: MultiGroupRun, directory, *, correlation_targets=(), contrast_labels=()) -> None:
    """The free multi-group fit (as `save_fit`) plus the equality tests and the constrained fits."""
    d = Path(directory)
    save_fit(mg.free, d, correlation_targets=correlation_targets)
    # outcomes left out have no paths or correlations to contrast (save_fit's lookups skip them)
    correlation_targets = [t for t in correlation_targets if t not in mg.free.left_out]
    contrast_labels = [lab for lab in contrast_labels if lab not in {f"c_{o}" for o in mg.free.left_out}]
    write_csv(mg.lr_tests, d / "lr_tests.csv", float_format=ESTIMATE_FORMAT)
    frames, specs = [], []
    for name, run in mg.constrained.items():
        if run.fit is not None:
            frames.append(run.estimates.assign(test=name))
            specs.append(f"# ===== equal across groups: {name} ({run.status})\n{run.spec_full}")
    est = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["test"])
    write_csv(est, d / "constrained_estimates.csv", float_format=ESTIMATE_FORMAT)
    write_text("\n".join(specs) if specs else "# no constrained model was fitted\n", d / "constrained_specs.lavaan")
    contrasts = (group_contrasts(mg.free.fit, list(contrast_labels), list(correlation_targets))
                 if mg.free.ok else group_contrasts(_NOT_FITTED, [], []))
    write_csv(contrasts, d / "group_contrasts.csv", float_format=ESTIMATE_FORMAT)


# ============================================================================ bootstrap
def bootstrap_seed(base_seed: int, model: str, sample: str, batch: int) -> np.random.SeedSequence:
    """Independent, reproducible streams per model, sample and batch (names hashed with CRC-32,
    which is stable across Python runs, unlike hash())."""
    return np.random.SeedSequence([int(base_seed), zlib.crc32(model.encode()), zlib.crc32(sample.encode()), int(batch)])


def bootstrap_draws(syntax: str, data: pd.DataFrame, *, seed: np.random.SeedSequence, n_resamples: int,
                    first_resample: int = 0, max_iter: int = 1000, cluster: str = CLUSTER,
                    estimation: dict | None = None) -> pd.DataFrame:
    """Refit the model on `n_resamples` cluster bootstrap resamples; one row per resample and
    parameter: every labelled parameter and `:=` definition, raw (est) and on the std.all
    scale (std). A resample that does not converge gives one row with converged False and its
    message.

    A resample draws classrooms, not students: as many classrooms as `data[cluster]` holds,
    with replacement, each bringing all its students (a classroom drawn twice is in the
    resample twice). Students of one classroom share a teacher and peers, so resampling
    students one by one would treat them as independent and understate the sampling
    variability, as the classroom-clustered SEs beside the estimates do not. A student without
    a recorded classroom is a classroom of their own (`frame_with_clusters`). Classrooms are
    numbered in the sorted order of their ids and drawn from `seed` alone, so a batch is
    reproducible. `estimation` (the config block): with FIML the resamples are fitted by FIML
    too; the estimator does not matter, since only the point estimates are kept."""
    missing = ENGINE_MISSING[estimation_options(estimation)["missing"]]
    if cluster not in data.columns:
        raise ValueError(f"bootstrap: the data have no cluster column {cluster!r} (see frame_with_clusters)")
    rng = np.random.default_rng(seed)
    fit_syntax, definitions = split_definitions(syntax)
    codes, classrooms = pd.factorize(data[cluster], sort=True)
    members = [np.flatnonzero(codes == k) for k in range(len(classrooms))]
    records = []
    for r in range(n_resamples):
        drawn = rng.integers(0, len(members), len(members))
        resample = data.iloc[np.concatenate([members[k] for k in drawn])].reset_index(drop=True)
        try:
            # without_h1: as the saved fit, a resample whose unrestricted model has no estimate (classrooms
            # drawn twice repeat their students) still has the model's estimates, all that is kept
            fit = sem.fit(fit_syntax, resample, max_iter=max_iter, missing=missing, robust_indices=False,
                          without_h1=True)
            ok, message = fit.converged, ("" if fit.converged else fit.message)
        except ValueError as err:  # e.g. a control constant in the resample
            ok, message = False, str(err)
        if not ok:
            records.append({"resample": first_resample + r, "converged": False, "message": message,
                            "parameter": "", "est": np.nan, "std": np.nan})
            continue
        pt = fit.partable
        model, theta = _engine_state(fit)
        raw = {lab: float(theta[i]) for lab, i in pt.label_index.items()}
        raw.update({lab: float(v) for lab, v in pt.label_fixed.items()})
        std_rows = model.standardized_rows(theta)
        std = {lab: float(std_rows[rid]) for lab, rid in _label_rows(pt, None).items()}
        raw, std = _evaluate(definitions, raw), _evaluate(definitions, std)
        for name in raw:
            records.append({"resample": first_resample + r, "converged": True, "message": "",
                            "parameter": name, "est": raw[name], "std": std[name]})
    return pd.DataFrame(records, columns=["resample", "converged", "message", "parameter", "est", "std"])


def bootstrap_summary(draws: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Percentile CIs and bootstrap SEs per parameter, raw and std.all, over the converged
    resamples; n_failed counts the resamples that did not converge."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    n_total = draws["resample"].nunique()
    failed = draws.loc[~draws["converged"].astype(bool), "resample"].nunique()
    ok = draws[draws["converged"].astype(bool)]
    rows = []
    for name, d in ok.groupby("parameter", sort=False):
        est, std = d["est"].to_numpy(float), d["std"].to_numpy(float)
        rows.append({"parameter": name, "n_resamples": n_total, "n_failed": failed, "n_used": len(d),
                     "boot.se": est.std(ddof=1), "boot.ci.lower": np.quantile(est, lo),
                     "boot.ci.upper": np.quantile(est, hi), "std.boot.se": std.std(ddof=1),
                     "std.boot.ci.lower": np.quantile(std, lo), "std.boot.ci.upper": np.quantile(std, hi)})
    return pd.DataFrame(rows, columns=["parameter", "n_resamples", "n_failed", "n_used", "boot.se", "boot.ci.lower",
                                       "boot.ci.upper", "std.boot.se", "std.boot.ci.lower", "std.boot.ci.upper"])
