"""Exhibit 40: teacher survey mean ratings of the perceived benefits of collaboration, by
subject.

Welch t-tests of ELA vs mathematics teachers on each benefit item (Holm over the items), on
the mean of the items (the published "ELA teachers had a stronger belief in the benefits")
and on that mean within each site. The published statement agrees with a significant
positive ELA - mathematics difference on the mean of the items.
"""
from lwo.descriptive_exhibits import build_exhibit_40
from lwo.runner import run


def main(sm):
    build_exhibit_40(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()),
                     min_cell=sm.params.min_cell)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
