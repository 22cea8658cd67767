"""Exhibit 16: HQC -> mind-sets before and after personalization (teacher support, learning
needs met), all students. The report: personalization explains "much" of HQC -> mind-sets,
read here as a mean share mediated of at least one half across the six mind-sets."""
import numpy as np

from lwo.exhibit import compare_statement
from lwo.runner import run
from lwo.sem_exhibits import mindset_mediation_exhibit

MUCH = 0.5  # "much of the relationship": at least half, on average over the six mind-sets


def comparisons(ex, rows):
    pub = ex.pub("personalization_mediates:all")
    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok:
        return [compare_statement(pub, "not estimable", None, rows[0].get("status", ""))]
    shares = np.array([r["share_mediated"] for r in ok])
    text = f"mean share mediated {shares.mean():.2f} (range {shares.min():.2f} to {shares.max():.2f})"
    return [compare_statement(pub, text, bool(shares.mean() >= MUCH),
                              f"'much' read as a mean share mediated >= {MUCH} over the six mind-sets")]


def main(sm):
    mindset_mediation_exhibit(
        sm.input, sm.output, exhibit="16", sample="all", mediator_set="personalization", comparisons=comparisons,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes, before and "
               "after accounting for perceptions of personalization"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
