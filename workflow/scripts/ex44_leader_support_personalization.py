"""Exhibit 44: teacher survey mean ratings of school-leader support for personalization, by subject.

Welch t-tests of ELA vs mathematics teachers on each support item (Holm over the items), on
the mean of the items and on that mean within each site. The published "ELA teachers
perceived greater support in nearly all areas" agrees when the mean of the items is
significantly higher for ELA teachers and the ELA - mathematics difference is positive on
all items but at most one ("nearly all").
"""
from lwo.descriptives import (SUBJECT_NAMES, annotate_rows, describe_difference,
                              published_row, teacher_items_exhibit)
from lwo.exhibit import compare_statement
from lwo.runner import run

KEY = "ela_leader_support_personalization_higher"


def judge(raw, display, published):
    composite = (raw["scope"] == "composite").to_numpy()
    r = raw[composite].iloc[0]
    items = raw[raw["scope"] == "item"]
    positive = int((items["difference"] > 0).sum())
    finding = (describe_difference(r["difference"], r["p_adjusted"],
                                   (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]),
                                   r["significant"])
               + f" on the mean of the items; ELA higher on {positive} of {len(items)} items "
               f"({int(items['n_significant'].iloc[0])} significant after Holm)")
    estimable = r["difference"] == r["difference"]
    agrees = (bool(r["significant"] and r["difference"] > 0 and positive >= len(items) - 1)
              if estimable else None)
    row = compare_statement(published_row(published, KEY), finding, agrees,
                            "mean of the items significantly higher for ELA (p < 0.05) and "
                            "ELA higher on all items but at most one")
    return annotate_rows(display, composite, row), [row]


def main(sm):
    teacher_items_exhibit(
        sm, exhibit="44", group="leader_support_personalization",
        composite="all personalization support items (mean)", judge=judge,
        title="Teacher survey mean ratings: school leader support for personalization",
        caption="Mean ratings of school-leader support for personalization, ELA and mathematics "
                "teachers.",
        figure_title="School-leader support for personalization, by subject")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
