"""Exhibit 15: HQC -> current grade (prior grade controlled) before and after the mind-sets,
all students: each mind-set domain, then all six mind-sets together."""
from lwo.exhibit import write_exhibit
from lwo.runner import run
from lwo.sem_exhibits import (MEDIATION_COLUMNS, SECTIONS, SHARE_NOTE, before_after_figure, compare_estimate,
                              exhibit_inputs, grades_before_after, model_notes, significance_statement, status_of,
                              table_from_rows)


def main(sm):
    ex = exhibit_inputs(sm.input, "15")
    rows, results = grades_before_after(ex, "all")
    direct = rows[0]
    after_all = [r for r in rows if r["mediators"].startswith("All six") and r.get("status") == "ok"]
    comparison = [
        compare_estimate(ex.pub("std_effect:current_grade:all"), direct, "before",
                         what="HQC -> grade, prior grade controlled, direct-effects model"),
        significance_statement(ex.pub("direct_after_mindsets:current_grade:all"),
                               [{"p": r["p_after"]} for r in after_all], expect_significant=False,
                               what="direct HQC -> grade with all six mind-sets in the model"),
    ]
    table = table_from_rows(rows, MEDIATION_COLUMNS)
    title = ("Relationships between high-quality collaboration (HQC) and grades, before and after accounting for "
             "mind-set and dispositional outcomes")
    fig = before_after_figure(table, title="HQC and grades before and after mind-sets: all students",
                              source=ex.source, category="mediators")
    write_exhibit(sm.output, exhibit="15", title=title, section=SECTIONS["all"], table=table, comparison=comparison,
                  figure=fig,
                  caption=("Standardized effect of HQC on current grade (prior grade controlled), all students: the "
                           "direct-effects model, then before (total) and after (direct) each set of mind-sets."),
                  notes=model_notes(results, bootstrap=any(r.bootstrap is not None for r in results)) + [SHARE_NOTE],
                  status=status_of(results))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
