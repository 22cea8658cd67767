"""Percentile 95% CIs and bootstrap SEs of a saved fit's parameters, from all its batches."""
import pandas as pd

from lwo.io import write_csv
from lwo.runner import run
from lwo.sem_results import ESTIMATE_FORMAT, bootstrap_summary


def main(sm):
    draws = pd.concat([pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in sm.input.batches], ignore_index=True)
    summary = bootstrap_summary(draws)
    write_csv(summary, sm.output[0], float_format=ESTIMATE_FORMAT)
    with open(sm.log[0], "w", encoding="utf-8") as fh:
        fh.write(f"{draws['resample'].nunique()} resamples of {sm.params.resamples} requested; "
                 f"{int(summary['n_failed'].max()) if len(summary) else 0} not converged\n")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
