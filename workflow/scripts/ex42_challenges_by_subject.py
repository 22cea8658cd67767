"""Exhibit 42: teacher survey mean ratings of the perceived challenges of collaboration, by
subject.

Welch t-tests of ELA vs mathematics teachers on each challenge item, Holm over the items.
The published "too much content to cover is a larger challenge in mathematics" agrees with a
significant negative ELA - mathematics difference on that item.
"""
from lwo.descriptive_exhibits import build_exhibit_42
from lwo.runner import run


def main(sm):
    build_exhibit_42(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()),
                     min_cell=sm.params.min_cell)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
