"""Rule synthetic_cohort: draw the synthetic cohort (see workflow/lwo/synthetic.py)."""

from lwo.codebook import Codebook
from lwo.io import read_yaml, write_csv, write_json
from lwo.population import build_population
from lwo.runner import run
from lwo.synthetic import generate_cohort


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    with open(sm.input.population_model, encoding="utf-8") as fh:
        model = read_yaml(fh)
    population = build_population(model, codebook)
    tables = generate_cohort(model, codebook, seed=sm.params.seed, n_students=sm.params.n_students,
                             population=population)
    for name in ("students", "classrooms", "teachers", "observations"):
        write_csv(tables[name], sm.output[name])
    write_csv(tables["latents"], sm.output.latents)
    write_json({"calibrated_paths": population.calibrated,
                "targets": [{**t, "population_value": population.target_value(t)} for t in population.targets]},
               sm.output.calibration)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
