"""Exhibit 19: HQC -> mind-sets before and after learning from and with peers, all students;
the report: peers explain 72 percent of HQC -> social self-efficacy."""
from lwo.runner import run
from lwo.sem_exhibits import compare_share, mindset_mediation_exhibit


def comparisons(ex, rows):
    row = next((r for r in rows if r.get("outcome_id") == "social_self_efficacy"), rows[0])
    return [compare_share(ex.pub("percent_mediated:social_self_efficacy:peer_learning:all"), row)]


def main(sm):
    mindset_mediation_exhibit(
        sm.input, sm.output, exhibit="19", sample="all", mediator_set="learning_from_peers", comparisons=comparisons,
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes, before and "
               "after accounting for perceptions of learning from and with peers"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
