"""An exhibit the run's data cannot support (it needs a table that data.files does not name):
its table, comparison and meta.json state so, with the tables it needs, so that the report and
the exhibit index show it as not available rather than failed or absent."""
import pandas as pd

from lwo.exhibit import published_rows, write_exhibit
from lwo.runner import run


def main(sm):
    exhibit, status = sm.wildcards.exhibit, sm.params.status
    table = pd.DataFrame([{"exhibit": exhibit, "status": status}])
    comparison = [{"exhibit": exhibit, "key": row["key"], "statement": row["statement"], "published": row["value"],
                   "reproduced": None, "ci_lower": None, "ci_upper": None, "agrees": "not estimable",
                   "basis": status} for _, row in published_rows(sm.input.published, exhibit).iterrows()]
    write_exhibit(sm.output, exhibit=exhibit, title=sm.params.title, section=sm.params.section, table=table,
                  comparison=comparison, status=status,
                  notes=[f"This exhibit is {status}: the run's data (config data.files) do not include it."])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
