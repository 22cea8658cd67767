"""Exhibit 16: HQC -> mind-sets before and after personalization (teacher support, learning
needs met), all students. The report: personalization explains "much" of HQC -> mind-sets,
read here as a mean share mediated of at least one half across the six mind-sets."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_16


def main(sm):
    build_exhibit_16(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
