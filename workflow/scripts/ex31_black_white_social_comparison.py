"""Exhibit 31: Black and White students, HQC -> mind-sets before and after social comparison
concerns, with equality tests of the social-comparison paths (the report: accounting for
social comparison concerns changes HQC -> social self-efficacy more for White students)."""
from lwo.runner import run
from lwo.sem_exhibits import multigroup_exhibit


def main(sm):
    multigroup_exhibit(
        dict(sm.input.items()), dict(sm.output.items()), exhibit="31", mediator_set="social_comparison",
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "and White students, before and after accounting for perceptions of social comparison concerns"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
