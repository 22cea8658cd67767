"""Exhibit 13: standardized effects of HQC on the six mind-sets, absences and current grade
(prior grade controlled), all students."""
from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_exhibits import compare_estimate, count_significant, direct_effects_exhibit, significance_statement


def comparisons(ex, rows):
    mind = set(ex.codebook.constructs_in_block("mindset"))
    by_outcome = {r.get("outcome"): r for r in rows["all"]}
    mind_rows = [r for r in rows["all"] if r.get("outcome") in mind or r.get("status") != "ok"]
    return [
        compare_estimate(ex.pub("std_effect:social_self_efficacy:all"), by_outcome.get("social_self_efficacy"),
                         "std_effect", what="HQC -> social self-efficacy"),
        count_significant(ex.pub("all_significant:mindset:all"), mind_rows[:len(mind)]),
        significance_statement(ex.pub("std_effect:absences:all"), [r for r in rows["all"] if r.get("outcome") == "absences"],
                               expect_significant=False, what="HQC -> absences"),
    ]


def main(sm):
    mind = Codebook.load(sm.input.codebook).constructs_in_block("mindset")
    direct_effects_exhibit(
        sm.input, sm.output, exhibit="13", models={"hqc_to_mindsets": [*mind, "absences"], "hqc_to_grades": ["current_grade"]},
        samples=["all"], comparisons=comparisons,
        title=("Strength of relationships between high-quality collaboration and mind-set and dispositional outcomes "
               "and grades"),
        caption=("Standardized effect of HQC on each mind-set, absences and current grade (prior grade controlled), "
                 "all students (95% CI)."),
        figure_title="HQC, mind-sets, absences and grades: all students")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
