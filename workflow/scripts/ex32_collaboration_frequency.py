"""Exhibit 32: student reports of the frequency of collaboration across the four sites.

The distribution of answers by site (small cells suppressed), the share collaborating at
least weekly with its exact 95% CI, and the published "no difference between mathematics and
ELA" tested by a chi-square test of subject x frequency; the weekly share's subject
difference is repeated with classroom-clustered standard errors as a sensitivity check
(subject is constant within a classroom, so clustering matters). A chi-square test of site x
frequency describes the variation across sites.
"""
from lwo.descriptive_exhibits import build_exhibit_32
from lwo.runner import run


def main(sm):
    build_exhibit_32(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
