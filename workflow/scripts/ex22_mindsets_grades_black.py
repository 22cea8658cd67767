"""Exhibit 22: Exhibit 13 for all students beside Black students (separate fits per sample)."""
from lwo.codebook import Codebook
from lwo.runner import run
from lwo.sem_exhibits import direct_effects_exhibit, similar_pattern


def comparisons(ex, rows):
    mind = set(ex.codebook.constructs_in_block("mindset"))
    pick = {s: [r for r in rows[s] if r.get("outcome") in mind or r.get("status") != "ok"] for s in rows}
    return [similar_pattern(ex.pub("pattern:mindset:black"), pick["all"], pick["Black"])]


def main(sm):
    mind = Codebook.load(sm.input.codebook).constructs_in_block("mindset")
    direct_effects_exhibit(
        sm.input, sm.output, exhibit="22", models={"hqc_to_mindsets": [*mind, "absences"], "hqc_to_grades": ["current_grade"]},
        samples=["all", "Black"], comparisons=comparisons,
        title=("Strength of relationships between high-quality collaboration and mind-set and dispositional "
               "outcomes among all students and among Black students"),
        caption=("Standardized effect of HQC on each mind-set, absences and current grade (prior grade controlled), "
                 "all and Black students (95% CI)."),
        figure_title="HQC, mind-sets, absences and grades: all and Black students")


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
