# The exhibit rules, one per entry of the exhibit registry (workflow/exhibits.yaml): inputs,
# outputs, params, log and benchmark follow from the entry, the script is
# workflow/scripts/<rule>.py. An exhibit needing a table the run's data lack (available_tables())
# gets no rule of its own: rule exhibit_not_available writes its files, saying so. Entries with a
# `target` (the replication study) have hand-written rules elsewhere and are not built by default.
import re

from lwo.registry import load_registry, not_available_status

EXHIBITS = [ex for ex in load_registry() if not ex.target]
NOT_AVAILABLE = {ex.id: ex for ex in EXHIBITS if ex.missing_tables(available_tables())}


def exhibit_inputs(ex):
    """The named inputs of an exhibit's rule, in the order of its `inputs` (see the registry)."""
    samples = SAMPLES if ex.samples == "config" else ex.samples
    paths = {
        **{t: analysis_data()[t] for t in ("students", "classrooms", "teachers", "observations", "summary")},
        "codebook": config["codebook"],
        "published": config["published_values"],
        **ex.files,
    }
    named = {}
    for name in ex.inputs:
        if name == "fits":
            named[name] = [f for s in samples for f in fit_files(s, *ex.models)]
        elif name == "boot":
            named[name] = [f for s in samples for f in bootstrap_files(s, *ex.models)]
        elif name == "fits_by_sample":
            d = {s: f"{MODELS_DIR}/{s}/{ex.models[0]}" for s in samples}
            named |= {f"estimates_{s}": f"{d[s]}/estimates.csv" for s in samples}
            named |= {f"fit_{s}": f"{d[s]}/fit.json" for s in samples}
        elif name == "saved_fit":
            d = f"{MODELS_DIR}/{samples[0]}/{ex.models[0]}"
            named |= {k: f"{d}/{k}.{'json' if k == 'fit' else 'csv'}" for k in ("estimates", "standardized", "fit")}
        else:
            named[name] = paths[name]
    return {**named, "code": shared_code(ex.script)}


def exhibit_files(ex):
    """Its outputs: the standard files (exhibit_outputs) and its extra ones."""
    d = f"{RESULTS}/exhibits/{ex.id}"
    extra = {k: f"{d}/{f}" for k, f in ex.extra_outputs.items()}
    return {**exhibit_outputs(ex.id, figure=ex.figure, tex=ex.tex), **extra}


EXHIBIT_PARAMS = {"min_cell": config["privacy"]["min_cell"]}


for ex in EXHIBITS:
    if ex.id in NOT_AVAILABLE:
        continue

    rule:
        name:
            ex.rule
        input:
            **exhibit_inputs(ex),
        output:
            **exhibit_files(ex),
        params:
            **{p: EXHIBIT_PARAMS[p] for p in ex.params},
        log:
            f"{RESULTS}/logs/{ex.job_name}.log",
        benchmark:
            f"{RESULTS}/benchmarks/{ex.job_name}.tsv"
        conda:
            CONDA_ENV
        script:
            f"../scripts/{ex.script}"

    # a generated rule cannot have a docstring of its own; `snakemake --list-rules` shows this one
    workflow.get_rule(ex.rule).docstring = ex.title


if NOT_AVAILABLE:
    for ex in NOT_AVAILABLE.values():
        # its files are targets of rule all and read by the report, like any exhibit's
        exhibit_outputs(ex.id, figure=False, tex=False)

    rule exhibit_not_available:
        """An exhibit whose tables the data lack: its table, comparison and meta.json say which."""
        input:
            published=config["published_values"],
            code=shared_code("exhibit_not_available.py"),
        output:
            **{
                k: f"{RESULTS}/exhibits/{{exhibit}}/{v}"
                for k, v in (
                    ("table", "table.csv"),
                    ("comparison", "comparison.csv"),
                    ("meta", "meta.json"),
                )
            },
        wildcard_constraints:
            exhibit="|".join(re.escape(i) for i in NOT_AVAILABLE),
        params:
            title=lambda wildcards: NOT_AVAILABLE[wildcards.exhibit].title,
            section=lambda wildcards: NOT_AVAILABLE[wildcards.exhibit].section,
            status=lambda wildcards: not_available_status(
                NOT_AVAILABLE[wildcards.exhibit].missing_tables(available_tables())
            ),
        log:
            f"{RESULTS}/logs/not_available/{{exhibit}}.log",
        conda:
            CONDA_ENV
        script:
            "../scripts/exhibit_not_available.py"
