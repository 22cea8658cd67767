"""Exhibit 28: differences between Black and White students' ratings.

For each of the eight quality areas of collaboration and the seven classroom-environment
measures: OLS of the rating on race (Black vs White) with the study's controls (school fixed
effects, grade level, gender, ELL status, special-education status and the subject the
survey asked about), adjusted means at the covariate means, the difference with its 95% CI,
a standardized difference, a Holm correction within each of the two families, and the same
model with classroom-clustered standard errors as a sensitivity check. The published
direction of each area ("Black higher" or "no difference") is compared with the reproduced
difference on direction and significance.

Only measures that are comparable across the two groups are compared as means: each row states
the invariance exhibit's verdict (WLSMV, table.csv of results/exhibits/invariance), and the
measures the study collected and set aside (perceived exclusion) are not compared; the notes say
why, from that verdict.
"""
from lwo.descriptive_exhibits import build_exhibit_28
from lwo.runner import run


def main(sm):
    build_exhibit_28(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        invariance=sm.input.invariance,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
