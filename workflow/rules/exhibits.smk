# The exhibit rules, one per entry of the exhibit registry (workflow/exhibits.yaml), defined by
# exhibit_rule() of common.smk: inputs, outputs, params, log and benchmark follow from the entry,
# the script is workflow/scripts/<rule>.py. An exhibit needing a table the run's data lack
# (available_tables()) gets no rule of its own: rule exhibit_not_available writes its files,
# saying so. Entries with a `target` (the replication study) have hand-written rules elsewhere
# and are not built by default.
import re

from lwo.registry import load_registry

EXHIBITS = [ex for ex in load_registry() if not ex.target]
NOT_AVAILABLE = {ex.id: ex for ex in EXHIBITS if ex.missing_tables(available_tables())}


for ex in EXHIBITS:
    if ex.id not in NOT_AVAILABLE:
        exhibit_rule(ex)


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
        log:
            f"{RESULTS}/logs/not_available/{{exhibit}}.log",
        wildcard_constraints:
            exhibit="|".join(re.escape(i) for i in NOT_AVAILABLE),
        conda:
            CONDA_ENV
        params:
            title=lambda wildcards: NOT_AVAILABLE[wildcards.exhibit].title,
            section=lambda wildcards: NOT_AVAILABLE[wildcards.exhibit].section,
            needs=lambda wildcards: NOT_AVAILABLE[wildcards.exhibit].missing_tables(available_tables()),
        script:
            "../scripts/exhibit_not_available.py"
