"""Exhibit 9: students' perceptions of the classroom environment: 7 measures in 3 domains,
with their items, reliability (alpha with 95% CI, omega), item statistics, the
correlated-factor CFA of the 7 measures (fitted once by rule measurement_cfa) and an EFA.
"""
from lwo.measurement_exhibits import measurement_exhibit
from lwo.runner import run


def main(sm):
    measurement_exhibit(
        dict(sm.input.items()), dict(sm.output.items()),
        min_cell=sm.params.min_cell, exhibit="9", block="classroom_environment",
        title="Student perceptions of the classroom environment: reliability and structure",
        caption="The 7 classroom-environment measures in 3 domains: Cronbach's alpha with 95% CI, "
                "McDonald's omega and standardized loadings of the correlated-factor CFA.")


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
