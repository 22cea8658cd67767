"""Exhibit 7: teacher sample by data source.

Per site: teachers in the study, survey respondents by subject (mathematics, ELA, other),
interviewed teachers by subject and observed classrooms by subject. A survey respondent is a
teacher with at least one teacher-survey answer.

Teacher counts below the minimum cell size are suppressed by block (subject counts add up to
the site's teachers; interviewed teachers add up to the published total), so that no hidden
count follows from a shown total. Observed classrooms are settings and are shown.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_7


def main(sm):
    build_exhibit_7(
        teachers=sm.input.teachers,
        classrooms=sm.input.classrooms,
        observations=sm.input.observations,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
