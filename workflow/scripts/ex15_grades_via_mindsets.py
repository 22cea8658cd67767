"""Exhibit 15: HQC -> current grade (prior grade controlled) before and after the mind-sets,
all students: each mind-set domain, then all six mind-sets together."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_15


def main(sm):
    build_exhibit_15(inputs=dict(sm.input), outputs=dict(sm.output))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
