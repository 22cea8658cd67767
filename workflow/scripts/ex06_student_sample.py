"""Exhibit 6: student sample by data source.

Per site: consented students, surveys (by the subject the survey asked about) and
focus-group students (all-Black and mixed-race groups). Focus groups are counted as the
sites with participants of that kind: the report held one group of each kind per school,
and the data record a student's kind of group, not a group id.

Small cells are suppressed separately in the two blocks whose sums are shown (surveys of
mathematics and ELA add up to a site's surveys, less those of another or no subject, which the
notes count; focus-group students add up to the published totals), so that no hidden count
follows from a total.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_6


def main(sm):
    build_exhibit_6(
        students=sm.input.students,
        summary=sm.input.summary,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
