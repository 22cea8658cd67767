"""Exhibit 19: HQC -> mind-sets before and after learning from and with peers, all students;
the report: peers explain 72 percent of HQC -> social self-efficacy."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_19


def main(sm):
    build_exhibit_19(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
