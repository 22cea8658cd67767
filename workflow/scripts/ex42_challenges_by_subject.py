"""Exhibit 42: teacher survey mean ratings of the perceived challenges of collaboration, by
subject.

Welch t-tests of ELA vs mathematics teachers on each challenge item, Holm over the items.
The published "too much content to cover is a larger challenge in mathematics" agrees with a
significant negative ELA - mathematics difference on that item.
"""
from lwo.descriptives import SUBJECT_NAMES, add_agreement
from lwo.descriptive_exhibits import teacher_items_exhibit
from lwo.runner import run

CONTENT_ITEM = "t_chal_content"


def judge(raw, display, published):
    return add_agreement(display, raw, published, {CONTENT_ITEM: "content_math_higher"},
                         {CONTENT_ITEM: -1}, (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]))


def main(sm):
    teacher_items_exhibit(
        sm.input, sm.output, min_cell=sm.params.min_cell, exhibit="42", group="challenges", judge=judge,
        title="Teacher survey mean ratings: perceived challenges of collaboration, by subject",
        caption="Mean ratings of the challenges of collaboration, ELA and mathematics teachers.",
        figure_title="Perceived challenges of collaboration, by subject")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
