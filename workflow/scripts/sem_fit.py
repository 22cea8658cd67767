"""Fit one RQ1 model on each sample and save it (results/models/<sample>/<model>/).

A model that does not converge, or a sample without students, is saved with its status and
message (fit.json) instead of estimates: the exhibits then show it as failed or not estimable.
"""
import json
from pathlib import Path

from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_results import fit_model, read_students, save_fit
from lwo.specs import rq1_models


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    spec = rq1_models(codebook)[sm.wildcards.model]
    students = read_students(sm.input.students)
    for i, sample in enumerate(sm.params.samples):
        result = fit_model(spec, students, codebook, sample, max_iter=int(sm.params.max_iter),
                           min_cell=int(sm.params.min_cell), estimation=json.loads(sm.params.estimation))
        save_fit(result, Path(sm.output[f"fit_{i}"]).parent, correlation_targets=[*spec.mediators, *spec.outcomes])
        with open(sm.log[f"log_{i}"], "w", encoding="utf-8") as fh:
            fh.write(f"{spec.name} ({sample}): {result.status}; {result.message}\n{result.data.note()}\n")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
