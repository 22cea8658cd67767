"""Exhibits 14a and 14b: the two theorized links between high-quality collaboration and
outcomes, drawn from their path specs.

14a: HQC is linked to classroom experiences (thick arrow) and directly to outcomes, whatever
the classroom experiences (no path from experiences to outcomes: fixed at 0).
14b: HQC has a weak direct link to outcomes (thin arrow); its strongest path to outcomes runs
through students' perceptions of the classroom.
A fixed coefficient in the spec is the theorized strength of a path (1 strong, 0.25 weak, 0
none); it sets the arrow's width. The models that test this (Exhibits 15-19) are fitted by
rule sem_fit.
"""
from lwo.diagram_exhibits import build_exhibit_14
from lwo.runner import run


def main(sm):
    build_exhibit_14(
        codebook=sm.input.codebook,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
