"""Exhibit 36: student survey reports of the structural quality features, by subject.

Welch t-tests of ELA vs mathematics students' ratings of the four structural areas, part of
the family of seven areas asked of both students and teachers (Holm correction over the
seven, as in Exhibit 35), with classroom-clustered sensitivity columns. The published
"student-centered, culturally relevant activities rated far lowest" is checked on the pooled
means (lowest, and lower than the next-lowest area by a paired t-test); "lower in math" on the
subject test (direction and significance).
"""
from lwo.descriptive_exhibits import build_exhibit_36
from lwo.runner import run


def main(sm):
    build_exhibit_36(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
