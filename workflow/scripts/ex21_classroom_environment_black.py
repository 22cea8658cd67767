"""Exhibit 21: Exhibit 12 for all students beside Black students (separate fits per sample)."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_21


def main(sm):
    build_exhibit_21(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
