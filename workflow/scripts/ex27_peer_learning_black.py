"""Exhibit 27: Exhibit 19 for Black students: HQC -> mind-sets before and after perceptions of learning from and with peers."""
from lwo.runner import run
from lwo.sem_exhibits import mindset_mediation_exhibit


def main(sm):
    mindset_mediation_exhibit(
        dict(sm.input.items()), dict(sm.output.items()),
        exhibit="27", sample="Black", mediator_set="learning_from_peers",
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "students, before and after accounting for perceptions of learning from and with peers"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
