"""Exhibit 28: differences between Black and White students' ratings.

For each of the eight quality areas of collaboration and the seven classroom-environment
measures: OLS of the rating on race (Black vs White) with the study's controls (school fixed
effects, grade level, gender, ELL status, special-education status and the subject the
survey asked about), adjusted means at the covariate means, the difference with its 95% CI,
a standardized difference, a Holm correction within each of the two families, and the same
model with classroom-clustered standard errors as a sensitivity check. The published
direction of each area ("Black higher" or "no difference") is compared with the reproduced
difference on direction and significance.

Only measures that are comparable across the two groups are compared as means: each row states
the invariance exhibit's verdict (WLSMV, table.csv of results/exhibits/invariance), and the
measures the study collected and set aside (perceived exclusion) are not compared; the notes say
why, from that verdict.
"""
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (RACES, add_agreement, cluster_note, correction_note, data_source_label, exclusion_note,
                              missing_data_note, read_analysis_table, small_group_note, two_group_display)
from lwo.descriptive_exhibits import two_group_means_figure
from lwo.exhibit import published_rows, write_exhibit
from lwo.group_stats import many_ols_group_differences
from lwo.plotting import GROUP_COLOURS
from lwo.runner import run

CATEGORICAL_CONTROLS = ["school_id", "grade_level", "gender", "subject"]
NUMERIC_CONTROLS = ["ell", "special_education"]
FAMILIES = {"hqc": "the 8 quality areas of collaboration",
            "classroom_environment": "the 7 classroom-environment measures"}
SIGN = {"higher": 1, "lower": -1, "no difference": 0}


def invariance_notes(invariance: pd.DataFrame, codebook: Codebook) -> list[str]:
    """Why each set-aside measure is not compared, from the invariance exhibit's verdicts."""
    verdict = invariance.set_index("id")
    notes = []
    for c in codebook.constructs_in_block("set_aside"):
        if c not in verdict.index:
            raise ValueError(f"the invariance table has no row for {c}")
        r = verdict.loc[c]
        items = r["noninvariant_items"] if isinstance(r["noninvariant_items"], str) else "none named"
        notes.append(f"{codebook.label(c)} is not compared: the invariance exhibit finds it {r['comparable']} "
                     f"across Black and White students (thresholds {r['thresholds_verdict']}, loadings "
                     f"{r['loadings_verdict']}; items responsible: {items}). The report, for the same reason, "
                     "compares perceived inclusion and not exclusion.")
    return notes


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "28")
    students = read_analysis_table(sm.input.students)
    invariance = pd.read_csv(sm.input.invariance)
    min_n = int(sm.params.min_cell)

    surveyed = students[students["surveyed"] == 1]
    sample = surveyed[surveyed["race"].isin(RACES)]
    key_of, sign_of = {}, {}
    for _, pub in published.iterrows():
        construct = pub["key"].split(":", 1)[1]
        if pub["value"] not in SIGN:
            raise ValueError(f"{sm.input.published}: exhibit 28, key {pub['key']}: value "
                             f"{pub['value']!r} is not one of {sorted(SIGN)}")
        key_of[construct], sign_of[construct] = pub["key"], SIGN[pub["value"]]

    tables, comparison, correction_notes = [], [], []
    for block, family in FAMILIES.items():
        outcomes = codebook.constructs_in_block(block)
        raw = many_ols_group_differences(
            sample, outcomes, "race", NUMERIC_CONTROLS, categorical=CATEGORICAL_CONTROLS,
            cluster="classroom_id", groups=RACES, min_n=min_n)
        display = two_group_display(
            raw, RACES, label_of={c: codebook.label(c) for c in outcomes},
            extra=["adjusted_mean_a", "adjusted_mean_b", "standardized_difference"])
        display, rows = add_agreement(display, raw, published, key_of, sign_of, RACES)
        display.insert(0, "family", family)
        display.insert(3, "domain", [codebook.student_constructs[c]["domain"] for c in outcomes])
        display["measurement_invariance"] = display["variable"].map(invariance.set_index("id")["comparable"])
        tables.append(display)
        comparison += rows
        correction_notes.append(correction_note(raw, family))
    table = pd.concat(tables, ignore_index=True)

    n_other = int((~surveyed["race"].isin(RACES) & surveyed["race"].notna()).sum())
    n_no_race = int(surveyed["race"].isna().sum())
    notes = [
        "Model: OLS of each rating on race with controls for school (fixed effects), grade "
        "level, gender, subject surveyed (categorical) and ELL and special-education status; "
        "adjusted means are at the covariate means of the analysed students; the standardized "
        "difference divides by the pooled within-group SD. Ratings: 1 = never/rarely to 4 = "
        "all of the time.",
        missing_data_note(table) + "; "
        + exclusion_note(n_no_race, "race not reported") + "; "
        + f"surveyed students of other groups ({n_other}) are not part of this comparison",
        *correction_notes,
        cluster_note(table["n_clusters"].max()),
        small_group_note(min_n, "students"),
        "Agreement: a published difference agrees with a Holm-significant difference in the "
        "same direction; a published 'no difference' with a non-significant one.",
        "measurement_invariance: each measure's verdict in the invariance exhibit (WLSMV, thresholds "
        "and loadings); 'means and relations': its means may be compared across the groups.",
        *invariance_notes(invariance, codebook),
    ]
    source = data_source_label(sm.input.summary)
    figure = two_group_means_figure(
        table["label"].tolist(),
        {"Black": table["adjusted_mean_Black"].astype(float).tolist(),
         "White": table["adjusted_mean_White"].astype(float).tolist()},
        {"Black": GROUP_COLOURS["Black"], "White": GROUP_COLOURS["White"]},
        significant=table["significant"].astype(bool).tolist(),
        xlabel="Adjusted mean rating (1 = never/rarely, 4 = all of the time)",
        title="Black and White students' ratings, adjusted for the study's controls",
        source=source, note="* Holm-adjusted p < .05 within its family")
    write_exhibit(sm.output, exhibit="28",
                  title="Rating differences between Black and White students",
                  section="RQ1c: Black and White students", table=table, comparison=comparison,
                  figure=figure, caption="Adjusted mean ratings of Black and White students on "
                  "the quality areas and the classroom environment (OLS with controls).",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
