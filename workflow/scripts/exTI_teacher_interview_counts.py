"""Teacher-interview findings: coded counts as shares, with exact CIs and tests.

The report's interview counts (data/published/qualitative_totals.csv) are "k of n teachers"
statements, e.g. "the majority of teachers interviewed (17 out of 28)". Each is shown as a
share with its exact (Clopper-Pearson) 95% CI and an exact binomial test of one half, which
says how far "a majority" of these teachers is from an even split. They are published
counts, so there is no separate reproduction to agree or disagree with: the comparison is
context, and the caveat says what the numbers cannot show.
"""
from lwo.qualitative_exhibits import build_exhibit_ti
from lwo.runner import run


def main(sm):
    build_exhibit_ti(
        totals=sm.input.totals,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
