"""Fit one RQ1 model to Black and White students jointly (one likelihood) and save it
(results/models/Black_vs_White/<model>/): the free model, the models with sets of key paths
equal across the groups, and their likelihood-ratio tests."""
import json
from pathlib import Path

from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_results import fit_multigroup, read_students, save_multigroup
from lwo.specs import rq1_models


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    spec = rq1_models(codebook)[sm.wildcards.model]
    students = read_students(sm.input.students)
    result = fit_multigroup(spec, students, codebook, max_iter=int(sm.params.max_iter),
                            min_cell=int(sm.params.min_cell), estimation=json.loads(sm.params.estimation))
    labels = [f"a_{m}" for m in spec.mediators] + [f"c_{o}" for o in spec.outcomes]
    save_multigroup(result, Path(sm.output.fit).parent, correlation_targets=[*spec.mediators, *spec.outcomes],
                    contrast_labels=labels)
    with open(sm.log[0], "w", encoding="utf-8") as fh:
        fh.write(f"{spec.name} (Black vs White): {result.free.status}; {result.free.message}\n"
                 f"{result.free.data.note()}\n{result.lr_tests.to_string(index=False)}\n")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
