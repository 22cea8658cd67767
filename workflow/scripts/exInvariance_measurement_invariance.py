"""Measurement invariance across Black and White students (report: "our tests of measurement
invariance indicated that we could not use survey measures to compare experiences of exclusion
between White and Black students").

Primary, for every construct (a one-factor CFA of its 4-point items, ordered): the WLSMV sequence
of lavaan's group.equal for ordered items (Wu & Estabrook, 2016): configural -> equal thresholds
-> equal thresholds and loadings, each level tested against the previous by lavTestLRT's
scaled-shifted difference test (Holm-adjusted within each block's constructs) and by the change
in the scaled CFI (a drop of more than .01 fails the level; Cheung & Rensvold, 2002). With every
item ordered, lavaan's "intercepts" step adds no constraint (df difference 0): the table says so.
Where a level does not simply hold, a partial-invariance search (group.partial) names the items
responsible at that level. A construct whose thresholds and loadings hold may be compared across
the groups (means and relations). The WLSMV SEs and tests are clustered by classroom (the config's
estimation.cluster; a classroom with Black and White students is one cluster, so the two groups'
statistics covary through it).

Sensitivity: the answers treated as continuous, configural -> metric -> scalar by robust ML with
full-information ML for missing answers (MLR, FIML; Satorra-Bentler scaled difference tests and
scaled CFI), columns ml_*.
"""
import json

from lwo.invariance_exhibit import build_exhibit_invariance
from lwo.runner import run
from lwo.sem_results import estimation_options


def main(sm):
    build_exhibit_invariance(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        cluster=estimation_options(json.loads(sm.params.estimation))["cluster"],
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
