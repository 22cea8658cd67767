"""Exhibit 33: teacher reports of the frequency of collaboration across the four sites.

The distribution of teacher-survey answers by site (all teachers who answered; small cells
suppressed). The published "17 of 28 interviewed teachers offer collaboration at least 2-3
days a week" comes from the interviews; it is set beside the same count from the survey
answers of the interviewed teachers. A chi-square test of mathematics vs ELA teachers'
answers repeats the student exhibit's subject test for teachers.
"""
from lwo.descriptive_exhibits import build_exhibit_33
from lwo.runner import run


def main(sm):
    build_exhibit_33(
        teachers=sm.input.teachers,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
