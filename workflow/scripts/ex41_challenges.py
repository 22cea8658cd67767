"""Exhibit 41: teacher survey mean ratings of the perceived challenges of collaboration.

The mean rating of each challenge with its 95% CI over all teachers who answered (a ranking,
not a subject comparison, so teachers of every subject count), ranked from the largest
challenge. The published top two challenges agree when they hold the same ranks and each is
rated higher than the next-ranked challenge (paired t-test over teachers who rated both,
p < 0.05).
"""
from lwo.descriptive_exhibits import build_exhibit_41
from lwo.runner import run


def main(sm):
    build_exhibit_41(
        teachers=sm.input.teachers,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
