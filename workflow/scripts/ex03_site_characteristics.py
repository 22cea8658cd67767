"""Exhibit 3: characteristics of the participating school sites.

The type, location and approximate enrollment of each site are the report's (published
context: the data files carry no site descriptors); the counts of students, surveys,
teachers and observed classrooms per site, and whether each site's study sample meets the
demographic selection criterion (at least 20% Black and 20% White), come from the data.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_3


def main(sm):
    build_exhibit_3(
        students=sm.input.students,
        teachers=sm.input.teachers,
        classrooms=sm.input.classrooms,
        observations=sm.input.observations,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
