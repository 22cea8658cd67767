"""Exhibit 37: teacher survey reports of the structural quality features, by subject.

Welch t-tests of ELA vs mathematics teachers' ratings with Hedges' g. The family is the
seven quality areas of the teacher survey (the report counts subject differences "in five of
the seven quality areas"; Exhibits 37 and 38 show its structural and dynamic parts), so the
Holm correction and the count of areas that differ are over those seven. Teachers of other
subjects are not part of the comparison (counted in the notes). Teachers are the unit of
analysis, so there is no classroom-clustered sensitivity column.
"""
from lwo.descriptive_exhibits import teacher_quality_exhibit
from lwo.runner import run


def main(sm):
    teacher_quality_exhibit(dict(sm.input.items()), dict(sm.output.items()),
                            min_cell=sm.params.min_cell, exhibit="37", domain="structural")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
