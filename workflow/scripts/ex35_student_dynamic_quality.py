"""Exhibit 35: student survey reports of the dynamic quality features, by subject.

Welch t-tests of ELA vs mathematics students' ratings with Hedges' g. The family is the
seven quality areas asked of both students and teachers (the report counts differences "in
two of the seven quality areas"; Exhibit 36 shows the structural four of the same family), so
the Holm correction and the count of areas that differ are over those seven. Perceived
inclusion, asked of students only, is tested on its own. Every test is repeated with
classroom-clustered standard errors (subject is constant within a classroom).
"""
from lwo.descriptive_exhibits import build_exhibit_35
from lwo.runner import run


def main(sm):
    build_exhibit_35(
        students=sm.input.students,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
