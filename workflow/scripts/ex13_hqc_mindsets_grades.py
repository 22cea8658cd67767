"""Exhibit 13: standardized effects of HQC on the six mind-sets, absences and current grade
(prior grade controlled), all students."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_13


def main(sm):
    build_exhibit_13(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
