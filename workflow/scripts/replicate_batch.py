"""One batch of the Monte Carlo replication study: for each replicate of the batch, a cohort
drawn from the population model of the cell's design, and every key RQ1 finding estimated on
it (lwo.replication). One row per replicate and finding; a fit that fails is a row with
converged = False and the reason, never a missing row."""
import json
import time

from lwo.codebook import Codebook
from lwo.io import read_yaml, write_csv
from lwo.replication import Cell, CohortStudy, run_replicates
from lwo.runner import run


def main(sm):
    design = json.loads(sm.params.design)
    cell = Cell.from_id(sm.wildcards.cell)
    with open(sm.input.population_model, encoding="utf-8") as fh:
        population_model = read_yaml(fh)
    codebook = Codebook.load(sm.input.codebook)
    started = time.perf_counter()
    study = CohortStudy(population_model, codebook, cell, alpha=design["alpha"],
                        estimation=json.loads(sm.params.estimation))
    replicates = range(design["first_replicate"], design["stop_replicate"])
    table = run_replicates(study.replicate, cell, replicates, design["seed"])
    # full precision: the summary computes bias and RMSE from these numbers
    write_csv(table, sm.output[0], float_format="%.10g")
    failed = table[~table["converged"]]
    with open(sm.log[0], "w", encoding="utf-8") as fh:
        fh.write(f"cell {cell.id}: replicates {replicates.start}-{replicates.stop - 1}, "
                 f"{len(table)} finding rows, {len(failed)} not converged, "
                 f"{time.perf_counter() - started:.1f} s\n")
        for row in failed.itertuples():
            fh.write(f"  replicate {row.replicate} {row.finding}: {row.message}\n")


run(main, snakemake)
