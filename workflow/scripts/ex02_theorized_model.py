"""Exhibit 2: the theorized effect of collaboration on outcomes in student-centered classrooms.

The theory (report, "Theoretical Model for the Study"): high-quality collaborative
opportunities -> students' classroom experiences -> mind-sets and dispositions -> attendance
and grades, each path moderated by race. It is written as a path spec and drawn from it; each
box lists the domains of its measures from the codebook (Exhibits 8-10), and race appears as a
moderator of every path (in the models: Black and White students fitted as two groups).
"""
from lwo.diagram_exhibits import build_exhibit_2
from lwo.runner import run


def main(sm):
    build_exhibit_2(
        codebook=sm.input.codebook,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
