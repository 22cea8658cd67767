"""Focus-group findings: coded remarks in all-Black vs mixed-race focus groups.

The report's coded counts are published data (data/published/focus_group_counts.csv), and
there are only four groups of each kind (Exhibit 6), so the tests are exact and each row
says what its test can and cannot say:

* coded remarks (e.g. 20 vs 4): exact conditional binomial test of equal remark rates per
  group, with the rate ratio and its exact CI. Agreement with the report's "more in all-Black
  groups" needs the same direction and p < 0.05; the caveat explains why even that p
  overstates the evidence (remarks within a group are not independent);
* groups reporting a theme (e.g. 2 of 4 vs 1 of 4): Fisher's exact test, shown as context
  (the report states the counts, not a difference between them);
* themes raised in k of the 8 groups (data/published/qualitative_totals.csv): the share
  with its exact CI and a binomial test of one half, as context.
"""
from lwo.qualitative_exhibits import build_exhibit_fg
from lwo.runner import run


def main(sm):
    build_exhibit_fg(
        published=sm.input.published,
        focus_group_counts=sm.input.focus_group_counts,
        totals=sm.input.totals,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
