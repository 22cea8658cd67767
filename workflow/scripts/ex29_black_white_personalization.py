"""Exhibit 29: Black and White students in one multi-group model, HQC -> mind-sets before and
after personalization; with the text around Exhibits 29-31: the HQC - social self-efficacy
correlation by group (note h: 0.73 White, 0.57 Black), the "about 34 percent stronger"
relation among White students, and HQC -> grades for White students (prior grade controlled).

The report does not say which quantity is 34 percent stronger; its two correlations differ by
28 percent (0.73 / 0.57 - 1). The comparison uses the standardized HQC -> social self-efficacy
path (White / Black - 1, delta-method CI); the correlation ratio is in the notes."""
from lwo.exhibit import compare_number
from lwo.runner import run
from lwo.sem_exhibits import compare_estimate, multigroup_exhibit, significance_statement

SSE = "social_self_efficacy"


def comparisons(ex, result, others):
    mindsets, grades = others
    rows, notes = [], []
    for group in ("White", "Black"):
        pub = ex.pub(f"correlation:{SSE}:{group}")
        if mindsets.ok:
            c = mindsets.correlation(SSE, group)
            row = {"status": "ok", "corr": c["est"], "corr_ci_lower": c["ci.lower"], "corr_ci_upper": c["ci.upper"]}
        else:
            row = {"status": mindsets.message}
        rows.append(compare_estimate(pub, row, "corr", what=f"model-implied correlation of HQC and social "
                                                            f"self-efficacy, {group} students (multi-group model)"))
    pub = ex.pub(f"stronger_white:{SSE}")
    if mindsets.ok and mindsets.contrasts is not None and len(mindsets.contrasts):
        k = mindsets.contrasts
        path = k[(k["name"] == f"c_{SSE}") & (k["contrast"] == "ratio minus 1")].iloc[0]
        corr = k[(k["name"] == f"hqc ~~ {SSE}") & (k["contrast"] == "ratio minus 1")].iloc[0]
        row = compare_number(pub, path["est"], path["ci.lower"], path["ci.upper"])
        row["basis"] = ("published value inside the 95% CI of White / Black - 1 of the standardized HQC -> social "
                        "self-efficacy path (delta method)")
        rows.append(row)
        notes.append(f"HQC - social self-efficacy: standardized path Black {path['first']:.3f}, White {path['second']:.3f} "
                     f"(White / Black - 1 = {path['est']:.3f} [{path['ci.lower']:.3f}, {path['ci.upper']:.3f}]); "
                     f"correlation Black {corr['first']:.3f}, White {corr['second']:.3f} (White / Black - 1 = "
                     f"{corr['est']:.3f} [{corr['ci.lower']:.3f}, {corr['ci.upper']:.3f}]). The report's 0.73 and "
                     "0.57 give 0.28, so its 'about 34 percent' is not the correlation ratio.")
    else:
        rows.append(compare_estimate(pub, {"status": mindsets.message}, "est", what=""))
    white = []
    if grades.ok:
        s = grades.std("c_current_grade_White")
        b = grades.std("c_current_grade_Black")
        white = [{"p": s["pvalue"], "status": "ok"}]
        notes.append(f"HQC -> current grade (prior grade controlled), multi-group model: White {s['est.std']:.3f} "
                     f"(p = {s['pvalue']:.3f}), Black {b['est.std']:.3f} (p = {b['pvalue']:.3f}).")
    rows.append(significance_statement(ex.pub("std_effect:current_grade:White"), white, expect_significant=False,
                                       what="HQC -> grade, prior grade controlled, White students (multi-group model)"))
    return rows, notes


def main(sm):
    multigroup_exhibit(
        sm.input, sm.output, exhibit="29", mediator_set="personalization", comparisons=comparisons,
        extra_models=("hqc_to_mindsets", "hqc_to_grades"),
        title=("Relationships between high-quality collaboration and mind-set and dispositional outcomes among Black "
               "and White students, before and after accounting for perceptions of personalization"))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
