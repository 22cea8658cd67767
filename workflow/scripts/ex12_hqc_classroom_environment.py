"""Exhibit 12: standardized effects of HQC on the seven classroom-environment measures, all
students, with delta-method 95% CIs and classroom-clustered SEs beside them."""
from lwo.runner import run
from lwo.sem_exhibits import build_exhibit_12


def main(sm):
    build_exhibit_12(inputs=dict(sm.input.items()), outputs=dict(sm.output.items()))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
