"""Exhibit 1: multiple domains for personalizing learning.

The figure did not survive the report's text extraction; its domains are the ones the text
beside it names ("from the right academic difficulty level; to appropriate modality and pace;
to a topical focus that taps into their personal interests, culture, and goals; to students'
needs for social-emotional support and exchange"). They are written as a one-factor spec
(personalized learning and its facets) and drawn from it. The social-emotional domain is
highlighted: it is the one the study links to collaboration.
"""
from lwo.diagram_exhibits import build_exhibit_1
from lwo.runner import run


def main(sm):
    build_exhibit_1(
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
