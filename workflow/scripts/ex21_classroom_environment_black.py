"""Exhibit 21: Exhibit 12 for all students beside Black students (separate fits per sample)."""
from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_exhibits import direct_effects_exhibit, similar_pattern


def comparisons(ex, rows):
    return [similar_pattern(ex.pub("pattern:classroom_environment:black"), rows["all"], rows["Black"])]


def main(sm):
    outcomes = Codebook.load(sm.input.codebook).constructs_in_block("classroom_environment")
    direct_effects_exhibit(
        sm.input, sm.output, exhibit="21", models={"hqc_to_classroom_environment": outcomes}, samples=["all", "Black"],
        comparisons=comparisons,
        title=("Strength of relationships between high-quality collaboration and perceptions of classroom "
               "environment among all students and among Black students"),
        caption="Standardized effect of HQC on each classroom-environment measure, all and Black students (95% CI).",
        figure_title="HQC and the classroom environment: all and Black students")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
