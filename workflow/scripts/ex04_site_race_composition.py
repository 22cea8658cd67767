"""Exhibit 4: racial/ethnic composition of the participating sites.

Self-reported race of the participating (surveyed) students at each site, with small cells
suppressed. The report shows each school's enrollment composition; the data hold only the
study's students, so the site shares here describe the study sample at each site. The
published selection criterion (each site at least 20% Black and 20% White) is checked on
these shares.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_4


def main(sm):
    build_exhibit_4(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
