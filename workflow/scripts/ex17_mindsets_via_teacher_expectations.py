"""Exhibit 17: HQC -> mind-sets before and after teacher expectations, all students."""
from lwo.runner import run
from lwo.sem_exhibits import mindset_mediation_exhibit


def main(sm):
    mindset_mediation_exhibit(
        dict(sm.input.items()), dict(sm.output.items()),
        exhibit="17", sample="all", mediator_set="teacher_expectations",
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes, before and "
               "after accounting for perceptions of teacher expectations"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
