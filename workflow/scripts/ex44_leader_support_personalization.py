"""Exhibit 44: teacher survey mean ratings of school-leader support for personalization, by subject.

Welch t-tests of ELA vs mathematics teachers on each support item (Holm over the items), on
the mean of the items and on that mean within each site. The published "ELA teachers
perceived greater support in nearly all areas" agrees when the mean of the items is
significantly higher for ELA teachers and the ELA - mathematics difference is positive on
all items but at most one ("nearly all").
"""
from lwo.descriptives import leader_support_judge
from lwo.descriptive_exhibits import teacher_items_exhibit
from lwo.runner import run

KEY = "ela_leader_support_personalization_higher"


def main(sm):
    teacher_items_exhibit(
        dict(sm.input.items()), dict(sm.output.items()),
        min_cell=sm.params.min_cell, exhibit="44", group="leader_support_personalization",
        composite="all personalization support items (mean)", judge=leader_support_judge(KEY),
        title="Teacher survey mean ratings: school leader support for personalization",
        caption="Mean ratings of school-leader support for personalization, ELA and mathematics "
                "teachers.",
        figure_title="School-leader support for personalization, by subject")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
