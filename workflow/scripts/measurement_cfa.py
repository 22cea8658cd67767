"""Rule measurement_cfa: fit one measurement model (the HQC second-order CFA, or the
correlated-factor CFA of the classroom-environment or mind-set measures) to each sample, once,
and save it in the layout of the RQ1 fits (lwo.sem_results): spec.lavaan (every parameter
written out), model_data.csv.gz (the rows fitted, with their classroom; results/ only),
estimates.csv (lavaan parameterEstimates columns, std.all, classroom-clustered SEs), fit.json
(status, message, N and exclusions, fit indices) and refit_in_lavaan.R. A CFA has no labelled
paths and no HQC correlations, so standardized.csv and correlations.csv are not written
(std.all is in estimates.csv).

Items are analysed as answered (reverse-worded items keep their negative loadings). The fit above
treats the 1-4 answers as continuous, estimated as the config's `estimation:` block says (as the
RQ1 fits: by default FIML + MLR with classroom clusters; the exhibits' sensitivity analysis). The primary analysis of Exhibits 8-10 treats them as ordered categories: the same
model by WLSMV (lwo.sem.fit_ordinal, lavaan's cfa(..., ordered = items, estimator = "WLSMV")),
on every student with an answered item by pairwise deletion (lavaan missing = "pairwise") when the
continuous fit uses FIML, listwise when it is listwise, clustered as the config says; saved as
wlsmv_estimates.csv, wlsmv_fit.json and wlsmv_first_stage.csv.gz (its DWLS weights and each
classroom's summed influences: lavaan's NACOV and WLS.V, with which any lavaan gives its numbers;
refit_in_lavaan.R). WLSMV
here has no second-order factors, so for the HQC second-order model it fits the first-order
correlated-factor CFA of the eight subscales (lwo.specs.block_cfa). A model that does not
converge is saved with its status and message instead of numbers.
"""
import json

import pandas as pd

from lwo import sem
from lwo.codebook import Codebook
from lwo.io import write_csv, write_json, write_text
from lwo.runner import run
from lwo.sem_results import (DATA_FORMAT, ESTIMATE_FORMAT, clustered_wlsmv_refit, fit_info, fit_model,
                             frame_with_clusters, ordinal_cluster_note, ordinal_estimation, ordinal_estimation_text,
                             read_students, refit_instructions)
from lwo.specs import block_cfa, rq1_models

# the WLSMV fit's first stage (weights, classrooms' influences) as lavaan's NACOV and WLS.V need it
WLSMV_FIRST_STAGE = "wlsmv_first_stage.csv.gz"
# the model WLSMV fits for each measurement model (no second-order factors: the first-order CFA)
WLSMV_MODEL = {"hqc_second_order": "hqc"}


def wlsmv_fit(spec, codebook, result) -> tuple["sem.OrdinalFit | None", dict]:
    """The model (or its first-order CFA) by WLSMV on the sample's rows (every row with an
    answered item, by pairwise deletion, where the continuous fit uses FIML; else the rows with
    every item answered): the fit (None where there is none), and fit.json's status, N, lavaan
    call and fit indices."""
    block = WLSMV_MODEL.get(spec.name)
    # the model as fitted: without the constructs no student answered (fit_model's left_out)
    syntax = block_cfa(codebook, block).syntax if block else result.syntax
    items = [s.rhs for s in sem.parse_spec(syntax).statements if s.op == "=~" and s.rhs in {i.id for i in codebook.all_items()}]
    missing = ordinal_estimation(result.estimation)["missing"]
    cluster = result.cluster  # the continuous fit's: none where the sample has fewer than two classrooms
    data = sem.rows_used(frame_with_clusters(result.data)[items + ([cluster] if cluster else [])], items, missing)
    info = {"model": spec.name, "sample": result.sample, "estimator": "WLSMV (ordered items, delta parameterization)",
            "missing": missing, "cluster": cluster, "estimation_text": ordinal_estimation_text(missing, cluster),
            "fitted": "first-order correlated-factor CFA" if block else "the model as written",
            "n_used": int(len(data)), "status": "failed", "message": "", "fit_indices": {}}
    if result.status == "not estimable":  # the continuous fit says why
        info.update(status="not estimable", message=result.message)
        return None, info
    if len(data) <= len(items):
        answered = "every one of its" if missing == "listwise" else "any of its"
        info.update(status="not estimable",
                    message=f"not estimable: {spec.name} ({result.sample}): no more students answered {answered} "
                            f"{len(items)} items than it has items (WLSMV, {missing} deletion)")
        return None, info
    try:
        fit = sem.fit_ordinal(syntax, data, ordered=items, missing=missing, cluster=cluster)
    except sem.ModelDataError as exc:  # e.g. an answer category nobody in the sample chose
        info.update(status="not estimable",
                    message=f"not estimable: {spec.name} ({result.sample}): "
                            f"{sem.suppress_row_counts(str(exc), result.min_cell)}")
        return None, info
    except ValueError as exc:
        info["message"] = str(exc)
        return None, info
    info.update({"status": "ok" if fit.converged else "failed", "message": "" if fit.converged else fit.message,
                 "lavaan_call": fit.lavaan_call(), "spec": syntax,
                 "fit_indices": {k: (None if v is None or v != v else float(v)) for k, v in fit.fit_indices.items()}})
    return (fit if fit.converged else None), info


def wlsmv_refit_instructions(info: dict) -> str:
    """refit_in_lavaan.R's lines for the WLSMV fit (wlsmv_estimates.csv), where there is one."""
    if not info.get("lavaan_call"):
        return ""
    call = info["lavaan_call"].replace("(model, ", "(wlsmv_model, ", 1)
    spec = info["spec"].replace("'", "\\'")
    text = (f"\n# The primary fit with the items ordered ({info['estimator']}; {info['fitted']}): the same "
            f"estimates, SEs and\n# fit indices as wlsmv_estimates.csv and wlsmv_fit.json, on the same rows.\n"
            f"wlsmv_model <- '{spec}'\n")
    if not info["cluster"]:
        return text + f"wlsmv <- {call}\nsummary(wlsmv, fit.measures = TRUE, standardized = TRUE)\n"
    return (text + ordinal_cluster_note(info["cluster"], info["missing"]).lstrip("\n") + "\n"
            + clustered_wlsmv_refit("wlsmv", call, info["cluster"], WLSMV_FIRST_STAGE)
            + "\nsummary(wlsmv, fit.measures = TRUE, standardized = TRUE)\n")


def save_measurement_fit(spec, codebook, students, sample, estimation, out, log) -> None:
    """Fit `spec` to `sample` (continuous, then WLSMV) and write its files (`out`: file key -> path)."""
    result = fit_model(spec, students, codebook, sample, estimation=estimation)
    header = f"# {result.model}, sample {result.sample}: {result.status}" + (
        f" ({result.message})" if result.message else "") + "\n"
    write_text(header + (result.spec_full or "# not fitted; the spec as written:\n" + result.syntax + "\n"),
               out["spec"])
    # as the RQ1 fits save it: a student without a recorded classroom is a classroom of their own
    write_csv(frame_with_clusters(result.data), out["data"], float_format=DATA_FORMAT)
    estimates = result.estimates if result.estimates is not None else pd.DataFrame(columns=sem.api.ESTIMATE_COLUMNS)
    write_csv(estimates, out["estimates"], float_format=ESTIMATE_FORMAT)
    write_json(fit_info(result), out["fit"])
    wlsmv, wlsmv_info = wlsmv_fit(spec, codebook, result)
    write_text(refit_instructions(result) + wlsmv_refit_instructions(wlsmv_info), out["refit"])
    write_csv(wlsmv.estimates if wlsmv else pd.DataFrame(columns=sem.api.ESTIMATE_COLUMNS), out["wlsmv_estimates"],
              float_format=ESTIMATE_FORMAT)
    write_csv(wlsmv.first_stage_table() if wlsmv else pd.DataFrame(columns=["kind"]), out["wlsmv_first_stage"],
              float_format=ESTIMATE_FORMAT)
    write_json(wlsmv_info, out["wlsmv_fit"])
    with open(log, "w", encoding="utf-8") as fh:
        fh.write(f"{spec.name} ({sample}): {result.status}; {result.message}\n{result.data.note()}\n")


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    spec = rq1_models(codebook)[sm.wildcards.model]
    students = read_students(sm.input.students)
    estimation = json.loads(sm.params.estimation)
    for i, sample in enumerate(sm.params.samples):
        out = {key.rsplit("_", 1)[0]: path for key, path in sm.output.items() if key.rsplit("_", 1)[1] == str(i)}
        save_measurement_fit(spec, codebook, students, sample, estimation, out, sm.log[f"log_{i}"])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
