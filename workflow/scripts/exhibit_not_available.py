"""An exhibit the run's data cannot support (it needs a table that data.files does not name):
its table, comparison and meta.json state so, with the tables it needs, so that the report and
the exhibit index show it as not available rather than failed or absent."""
import pandas as pd

from lwo.exhibit import published_rows, write_exhibit
from lwo.registry import not_available_status
from lwo.runner import run


def main(sm):
    exhibit, needs = sm.wildcards.exhibit, list(sm.params.needs)
    status = not_available_status(needs)
    tables = " and ".join([", ".join(needs[:-1]), needs[-1]] if len(needs) > 1 else needs)
    table = pd.DataFrame([{"exhibit": exhibit, "status": status}])
    comparison = [{"exhibit": exhibit, "key": row["key"], "statement": row["statement"], "published": row["value"],
                   "reproduced": None, "ci_lower": None, "ci_upper": None, "agrees": "not estimable",
                   "basis": status} for _, row in published_rows(sm.input.published, exhibit).iterrows()]
    write_exhibit(sm.output, exhibit=exhibit, title=sm.params.title, section=sm.params.section, table=table,
                  comparison=comparison, status=status,
                  notes=[f"Not built: it reads the {tables} table{'s' if len(needs) > 1 else ''}, which the run's "
                         "data (config data.files) do not include."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
