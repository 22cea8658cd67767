"""Exhibit 20: the finding that the relation of high-quality collaboration (HQC) with the
mind-sets runs largely through students' perceptions of personalization.

Drawn from the spec of model hqc_mindsets_via_personalization (controls left out of the
drawing) with the standardized estimates (std.all) of its saved fit for all students on the
arrows: HQC -> teacher support and learning needs met (a), each of those -> the six mind-sets
(b), and HQC -> each mind-set directly (c). The model is fitted once, by rule sem_fit; this
script only reads results/models/all/hqc_mindsets_via_personalization/ (fit.json and
standardized.csv: std.all with delta-method SEs and CIs). The table adds the indirect and
total effects and the percent mediated (the spec's defined parameters).
"""
from lwo.diagram_exhibits import build_exhibit_20
from lwo.runner import run


def main(sm):
    build_exhibit_20(
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        fit=sm.input.fit,
        standardized=sm.input.standardized,
        estimates=sm.input.estimates,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
