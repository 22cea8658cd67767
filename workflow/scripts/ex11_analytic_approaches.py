"""Exhibit 11: approaches to analysing the quantitative and qualitative data.

The report's table of analytic approaches by data source, one row per analysis, with where
this pipeline carries it out and how many units this run's data hold for it. The coding of
interview and focus-group transcripts cannot be redone (the transcripts are not public): the
pipeline analyses the coded counts the report publishes.
"""
from lwo.runner import run
from lwo.sample_exhibits import build_exhibit_11


def main(sm):
    build_exhibit_11(
        summary=sm.input.summary,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
