"""Exhibit 8: the components of high-quality collaboration (HQC): 8 subscales, 4 structural and
4 dynamic, with their items, reliability (alpha with 95% CI, omega), item statistics, the
second-order CFA of HQC over the subscales (fitted once by rule measurement_cfa) and an EFA.
"""
from lwo.measurement_exhibits import measurement_exhibit
from lwo.runner import run


def main(sm):
    measurement_exhibit(
        dict(sm.input.items()), dict(sm.output.items()), min_cell=sm.params.min_cell, exhibit="8", block="hqc",
        title="Components of high-quality collaborative opportunities: reliability and structure",
        caption="The 8 HQC subscales (4 structural, 4 dynamic): Cronbach's alpha with 95% CI, "
                "McDonald's omega, standardized loadings and second-order loadings of the HQC CFA.")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
