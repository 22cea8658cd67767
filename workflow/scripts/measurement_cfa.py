"""Rule measurement_cfa: fit one measurement model (the HQC second-order CFA, or the
correlated-factor CFA of the classroom-environment or mind-set measures) to one sample, once,
and save it in the layout of the RQ1 fits (lwo.sem_results): spec.lavaan (every parameter
written out), model_data.csv.gz (the rows fitted, with their classroom; results/ only),
estimates.csv (lavaan parameterEstimates columns, std.all, classroom-clustered SEs), fit.json
(status, message, N and exclusions, fit indices) and refit_in_lavaan.R. A CFA has no labelled
paths and no HQC correlations, so standardized.csv and correlations.csv are not written
(std.all is in estimates.csv).

Items are analysed as answered (reverse-worded items keep their negative loadings), 1-4
answers treated as continuous, ML, listwise deletion over the model's items. A model that
does not converge is saved with its status and message instead of numbers.
"""
import pandas as pd

from lwo import sem
from lwo.codebook import Codebook
from lwo.io import write_csv, write_json, write_text
from lwo.runner import run
from lwo.sem_results import (CLUSTER, DATA_FORMAT, ESTIMATE_FORMAT, fit_info, fit_model, read_students,
                             refit_instructions)
from lwo.specs import rq1_models


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    spec = rq1_models(codebook)[sm.wildcards.model]
    students = read_students(sm.input.students)
    result = fit_model(spec, students, codebook, sm.wildcards.sample)
    header = f"# {result.model}, sample {result.sample}: {result.status}" + (
        f" ({result.message})" if result.message else "") + "\n"
    write_text(header + (result.spec_full or "# not fitted; the spec as written:\n" + result.syntax + "\n"),
               sm.output.spec)
    # as the RQ1 fits save it: a student without a recorded classroom is a classroom of their own
    clusters = result.data.clusters.astype("string").reset_index(drop=True)
    missing = clusters.isna()
    clusters[missing] = [f"no classroom {i + 1}" for i in range(int(missing.sum()))]
    data = result.data.data.assign(**{CLUSTER: clusters.to_numpy()})
    write_csv(data, sm.output.data, float_format=DATA_FORMAT)
    estimates = result.estimates if result.estimates is not None else pd.DataFrame(columns=sem.api.ESTIMATE_COLUMNS)
    write_csv(estimates, sm.output.estimates, float_format=ESTIMATE_FORMAT)
    write_json(fit_info(result), sm.output.fit)
    write_text(refit_instructions(result), sm.output.refit)
    with open(sm.log[0], "w", encoding="utf-8") as fh:
        fh.write(f"{spec.name} ({sm.wildcards.sample}): {result.status}; {result.message}\n{result.data.note()}\n")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
