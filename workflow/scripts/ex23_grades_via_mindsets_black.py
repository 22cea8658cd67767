"""Exhibit 23: HQC -> current grade (prior grade controlled) before and after the mind-sets,
Black students; the shares explained by each domain (the report's note f)."""
from lwo.exhibit import write_exhibit
from lwo.runner import run
from lwo.sem_exhibits import (MEDIATION_COLUMNS, MEDIATOR_SET_NAMES, SECTIONS, SHARE_NOTE, before_after_figure,
                              compare_estimate, compare_share, exhibit_inputs, grades_before_after, model_notes,
                              status_of, table_from_rows)


def main(sm):
    ex = exhibit_inputs(sm.input, "23")
    rows, results = grades_before_after(ex, "Black")
    by_set = {r["mediators"]: r for r in rows}
    comparison = [compare_estimate(ex.pub("std_effect:current_grade:Black"), rows[0], "before",
                                   what="HQC -> grade, prior grade controlled, direct-effects model")]
    for domain in ("intrinsic_motivation", "engagement", "self_efficacy"):
        comparison.append(compare_share(ex.pub(f"percent_mediated:current_grade:{domain}:Black"),
                                        by_set.get(MEDIATOR_SET_NAMES[domain])))
    table = table_from_rows(rows, MEDIATION_COLUMNS)
    title = ("Relationships between high-quality collaboration (HQC) and grades among Black students, before and "
             "after accounting for mind-set and dispositional outcomes")
    fig = before_after_figure(table, title="HQC and grades before and after mind-sets: Black students",
                              source=ex.source, category="mediators")
    write_exhibit(sm.output, exhibit="23", title=title, section=SECTIONS["Black"], table=table, comparison=comparison,
                  figure=fig,
                  caption=("Standardized effect of HQC on current grade (prior grade controlled), Black students: the "
                           "direct-effects model, then before (total) and after (direct) each set of mind-sets."),
                  notes=model_notes(results, bootstrap=any(r.bootstrap is not None for r in results)) + [SHARE_NOTE],
                  status=status_of(results))


if __name__ == "__main__":
    run(main, snakemake)  # noqa: F821 (injected by Snakemake)
