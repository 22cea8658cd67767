"""Exhibit 5: self-reported race of the student survey sample.

Counts and shares of each self-reported group among surveyed students, each share with its
exact (Clopper-Pearson) 95% CI; the published share of Black students is compared with the
reproduced share's CI. Small cells are suppressed (with a second cell, since the total is
shown), and so are their shares.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_5


def main(sm):
    build_exhibit_5(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
