"""Exhibit 23: HQC -> current grade (prior grade controlled) before and after the mind-sets,
Black students; the shares explained by each domain (the report's note f)."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_23


def main(sm):
    build_exhibit_23(inputs=dict(sm.input), outputs=dict(sm.output))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
