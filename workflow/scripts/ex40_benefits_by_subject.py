"""Exhibit 40: teacher survey mean ratings of the perceived benefits of collaboration, by
subject.

Welch t-tests of ELA vs mathematics teachers on each benefit item (Holm over the items), on
the mean of the items (the published "ELA teachers had a stronger belief in the benefits")
and on that mean within each site. The published statement agrees with a significant
positive ELA - mathematics difference on the mean of the items.
"""
from lwo.descriptives import SUBJECT_NAMES, annotate_rows, describe_difference, direction_agreement, published_row
from lwo.descriptive_exhibits import teacher_items_exhibit
from lwo.exhibit import compare_statement
from lwo.runner import run


def judge(raw, display, published):
    composite = (raw["scope"] == "composite").to_numpy()
    r = raw[composite].iloc[0]
    row = compare_statement(
        published_row(published, "ela_benefits_higher"),
        describe_difference(r["difference"], r["p_adjusted"],
                            (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]), r["significant"]),
        direction_agreement(1, r["difference"], r["significant"]),
        "ELA - mathematics difference on the mean of the benefit items: direction and "
        "significance (p < 0.05) must both match")
    return annotate_rows(display, composite, row), [row]


def main(sm):
    teacher_items_exhibit(
        sm.input, sm.output, min_cell=sm.params.min_cell, exhibit="40", group="benefits", composite="all benefit items (mean)", judge=judge,
        title="Teacher survey mean ratings: perceived benefits of collaboration",
        caption="Mean ratings of the benefits of collaboration, ELA and mathematics teachers.",
        figure_title="Perceived benefits of collaboration, by subject")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
