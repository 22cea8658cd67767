"""Exhibit 12: standardized effects of HQC on the seven classroom-environment measures, all
students, with delta-method 95% CIs and classroom-clustered SEs beside them."""
from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_exhibits import compare_estimate, count_significant, direct_effects_exhibit


def comparisons(ex, rows):
    by_outcome = {r.get("outcome"): r for r in rows["all"]}
    return [
        compare_estimate(ex.pub("std_effect:peer_support:all"), by_outcome.get("peer_support"), "std_effect",
                         what="HQC -> perceived peer support"),
        compare_estimate(ex.pub("std_effect:social_comparison:all"), by_outcome.get("social_comparison"),
                         "std_effect", what="HQC -> social comparison concerns"),
        count_significant(ex.pub("all_significant:classroom_environment:all"), rows["all"]),
    ]


def main(sm):
    outcomes = Codebook.load(sm.input.codebook).constructs_in_block("classroom_environment")
    direct_effects_exhibit(
        sm.input, sm.output, exhibit="12", models={"hqc_to_classroom_environment": outcomes}, samples=["all"], comparisons=comparisons,
        title=("Strength of relationships between high-quality collaboration and perceptions of the classroom "
               "environment"),
        caption="Standardized effect of HQC on each classroom-environment measure, all students (95% CI).",
        figure_title="HQC and the classroom environment: all students")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
