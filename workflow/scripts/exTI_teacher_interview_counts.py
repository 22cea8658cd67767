"""Teacher-interview findings: coded counts as shares, with exact CIs and tests.

The report's interview counts (data/published/qualitative_totals.csv) are "k of n teachers"
statements, e.g. "the majority of teachers interviewed (17 out of 28)". Each is shown as a
share with its exact (Clopper-Pearson) 95% CI and an exact binomial test of one half, which
says how far "a majority" of these teachers is from an even split. They are published
counts, so there is no separate reproduction to agree or disagree with: the comparison is
context, and the caveat says what the numbers cannot show.
"""
import pandas as pd

from lwo.descriptives import NOT_APPLICABLE, p_text, share_test
from lwo.exhibit import write_exhibit
from lwo.group_stats import COUNTS_COLUMNS
from lwo.runner import run


def main(sm):
    totals = pd.read_csv(sm.input.totals, dtype=str, keep_default_na=False)
    need = {"source_type", "theme", "count", "of"}
    if need - set(totals.columns):
        raise ValueError(f"{sm.input.totals}: missing column(s) "
                         f"{sorted(need - set(totals.columns))}")
    rows = []
    for _, rec in totals[totals["source_type"] == "teacher interviews"].iterrows():
        t = share_test(int(rec["count"]), int(rec["of"]), unit="teachers")
        side = ("a majority" if t["estimate_a"] > 0.5 else "half" if t["estimate_a"] == 0.5
                else "a minority")
        finding = (f"{t['estimate_a']:.0%} (exact 95% CI {t['ci_low']:.0%}-{t['ci_high']:.0%}), "
                   f"{side} of those asked; exact {p_text(t['p_exact'])} vs one half")
        rows.append({**t, "label": rec["theme"], "group_a": "teachers interviewed", "note": "",
                     "published": f"{rec['count']} of {rec['of']}", "reproduced": finding,
                     "agrees": NOT_APPLICABLE})
    table = pd.DataFrame(rows)
    table = table.reindex(columns=[*COUNTS_COLUMNS, "note", "published", "reproduced", "agrees"])
    notes = [
        "Shares of the teachers asked about each theme (the denominators differ: e.g. 8 of the "
        "20 facilitators; 18 of the 22 naming the school context).",
        "Tests: exact binomial test of a share of one half (two-sided) with the exact 95% CI; "
        "each row carries its caveat. The interviewed teachers were not a random sample of "
        "teachers, and a theme's count depends on what each interview happened to cover.",
        "Agreement: not applicable; the published counts are the data, so the table shows what "
        "a test can say about them rather than a reproduction.",
        "Missing data: none (published counts, used as published).",
        "Multiple comparisons: none applied; the counts are descriptive evidence, each its own "
        "question.",
        "Small cells: published counts of interview themes, shown as published.",
        "Data: published counts from the report (no microdata).",
    ]
    write_exhibit(sm.output, exhibit="TI", title="Teacher-interview findings: coded counts",
                  section="Qualitative evidence", table=table.round(6), comparison=[],
                  caption="The report's coded teacher-interview counts as shares with exact "
                  "CIs and tests.", notes=notes)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
