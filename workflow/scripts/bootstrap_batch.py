"""One batch of bootstrap resamples of a saved fit: classrooms resampled with replacement
(each with all its students; lwo.sem_results.bootstrap_draws), the saved spec refitted on each resample; the estimates of every labelled and `:=` parameter.

Seeds: numpy SeedSequence of (config bootstrap.seed, model, sample, batch), so each batch is
reproducible on its own and independent of the others, wherever it runs."""
import json

import pandas as pd

from lwo.io import write_csv
from lwo.runner import run
from lwo.sem_results import CLUSTER, ESTIMATE_FORMAT, bootstrap_draws, bootstrap_seed


def main(sm):
    batch = int(sm.wildcards.batch)
    size, total = int(sm.params.batch_size), int(sm.params.resamples)
    first = batch * size
    n = max(0, min(size, total - first))
    with open(sm.input.spec, encoding="utf-8") as fh:
        spec = fh.read()
    data = pd.read_csv(sm.input.data)
    seed = bootstrap_seed(sm.params.seed, sm.wildcards.model, sm.wildcards.sample, batch)
    with open(sm.input.fit, encoding="utf-8") as fh:
        status = json.load(fh)["status"]
    if status == "ok" and n and len(data):
        estimation = json.loads(sm.params.estimation)
        draws = bootstrap_draws(spec, data, seed=seed, n_resamples=n, first_resample=first, estimation=estimation,
                                cluster=estimation.get("cluster") if estimation.get("cluster") not in (None, "none")
                                else CLUSTER)
    else:  # the model itself was not estimated: nothing to resample
        draws = pd.DataFrame(columns=["resample", "converged", "message", "parameter", "est", "std"])
    write_csv(draws, sm.output[0], float_format=ESTIMATE_FORMAT)
    with open(sm.log[0], "w", encoding="utf-8") as fh:
        fh.write(f"batch {batch}: resamples {first}..{first + n - 1}, "
                 f"{draws.loc[~draws['converged'].astype(bool), 'resample'].nunique()} not converged\n")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
