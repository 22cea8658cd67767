"""Builders of the qualitative exhibits (FG and TI): the report's published coded counts of
the focus groups and teacher interviews with exact tests. Each takes plain arguments (input
paths, the output paths by name)."""
from __future__ import annotations

import re

import pandas as pd

from lwo.descriptives import ALPHA, NOT_APPLICABLE, context_row, p_text, published_row, share_test
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import COUNTS_COLUMNS, compare_counts


GROUPS = ("all-Black groups", "mixed-race groups")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def read_counts(path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = {"theme", "kind", "all_black", "mixed_race", "all_black_of", "mixed_race_of"}
    if need - set(df.columns):
        raise ValueError(f"{path}: missing column(s) {sorted(need - set(df.columns))}")
    return df


def describe(r: pd.Series) -> str:
    if r["kind"] == "rate":
        return (f"rate ratio {r['effect_estimate']:.2f} (exact 95% CI {r['ci_low']:.2f}-"
                f"{r['ci_high']:.2f}), exact {p_text(r['p_exact'])}")
    return (f"{int(r['count_a'])} of {int(r['n_a'])} vs {int(r['count_b'])} of {int(r['n_b'])} "
            f"groups; Fisher exact {p_text(r['p_exact'])} (smallest attainable "
            f"{p_text(r['min_attainable_p'])})")


def build_exhibit_fg(*, published, focus_group_counts, totals, outputs) -> None:
    """Focus-group findings: coded remarks in all-Black vs mixed-race focus groups."""
    counts = read_counts(focus_group_counts)
    design = published_rows(published, "6")
    n_groups = (float(published_row(design, "focus_groups_all_black")["value"]),
                float(published_row(design, "focus_groups_mixed")["value"]))

    rows, comparison = [], []
    for i, rec in counts.iterrows():
        a, b = int(rec["all_black"]), int(rec["mixed_race"])
        if rec["kind"] == "coded remarks":
            res = compare_counts(a, n_groups[0], b, n_groups[1], label=rec["theme"], kind="rate",
                                 group_labels=GROUPS, unit="focus groups")
        elif rec["kind"] == "groups reporting":
            res = compare_counts(a, int(rec["all_black_of"]), b, int(rec["mixed_race_of"]),
                                 label=rec["theme"], kind="proportion", group_labels=GROUPS,
                                 unit="focus groups")
        else:
            raise ValueError(f"{focus_group_counts}: line {i + 2}: unknown kind "
                             f"{rec['kind']!r} (use 'coded remarks' or 'groups reporting')")
        r = res.iloc[0]
        more = "all-Black" if a > b else "mixed-race" if b > a else "neither kind of"
        pub = pd.Series({"exhibit": "FG", "key": f"{slug(rec['kind'])}:{slug(rec['theme'])}",
                         "statement": f"{rec['theme']} ({rec['kind']}): more in {more} groups",
                         "value": f"{a} vs {b}"})
        finding = describe(r)
        if rec["kind"] == "coded remarks":
            row = compare_statement(pub, finding, bool(r["p_exact"] < ALPHA and (a > b) ==
                                                       (r["effect_estimate"] > 1)),
                                    "same direction and exact p < 0.05 (the report presents "
                                    "these counts as a difference)")
        else:
            row = context_row(pub, finding, "the report states how many groups raised the "
                                            "theme, not a difference between the two kinds")
        comparison.append(row)
        rows.append(res.assign(source="focus_group_counts.csv", published=pub["value"],
                               reproduced=finding, agrees=row["agrees"]))

    totals = pd.read_csv(totals, dtype=str, keep_default_na=False)
    for _, rec in totals[totals["source_type"] == "focus groups"].iterrows():
        t = share_test(int(rec["count"]), int(rec["of"]), unit="focus groups")
        finding = (f"{t['estimate_a']:.0%} (exact 95% CI {t['ci_low']:.0%}-{t['ci_high']:.0%});"
                   f" exact {p_text(t['p_exact'])} vs one half")
        rows.append(pd.DataFrame([{**t, "label": rec["theme"], "group_a": "focus groups",
                                   "note": "", "source": "qualitative_totals.csv",
                                   "published": f"{rec['count']} of {rec['of']}",
                                   "reproduced": finding, "agrees": NOT_APPLICABLE}]))
    table = pd.concat(rows, ignore_index=True)
    table = table[["source", *COUNTS_COLUMNS, "note", "published", "reproduced", "agrees"]]

    notes = [
        f"Exposure: {n_groups[0]:g} all-Black and {n_groups[1]:g} mixed-race focus groups "
        "(Exhibit 6), each treated as one unit; remark rates are per group.",
        "Tests: coded remarks, exact conditional binomial test of equal rates (as R's "
        "poisson.test); groups reporting, Fisher's exact test; k of 8 groups, exact binomial "
        "test of one half. All two-sided; every row carries its caveat.",
        "What the tests cannot say: remarks from one conversation are not independent and the "
        "amount of talk coded per group is unknown, so a small p for remark counts overstates "
        "the evidence; the groups were not sampled at random, so no result generalizes to "
        "students; with 4 vs 4 groups only the most lopsided splits can reach p < 0.05.",
        "Missing data: none (published counts, used as published).",
        "Multiple comparisons: none applied; each published count is its own question, and "
        "the counts are descriptive evidence, not a family of confirmatory tests.",
        "Small cells: these are the report's published counts of remarks and groups, not "
        "counts of students; they are shown as published.",
        "Data: published counts from the report (no microdata).",
    ]
    write_exhibit(outputs, exhibit="FG", title="Focus-group findings: coded remarks in "
                  "all-Black and mixed-race focus groups", section="Qualitative evidence",
                  table=table.round(6), comparison=comparison,
                  caption="The report's coded focus-group counts with exact tests.", notes=notes)


def build_exhibit_ti(*, totals, outputs) -> None:
    """Teacher-interview findings: coded counts as shares, with exact CIs and tests."""
    counts = pd.read_csv(totals, dtype=str, keep_default_na=False)
    need = {"source_type", "theme", "count", "of"}
    if need - set(counts.columns):
        raise ValueError(f"{totals}: missing column(s) "
                         f"{sorted(need - set(counts.columns))}")
    rows = []
    for _, rec in counts[counts["source_type"] == "teacher interviews"].iterrows():
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
    write_exhibit(outputs, exhibit="TI", title="Teacher-interview findings: coded counts",
                  section="Qualitative evidence", table=table.round(6), comparison=[],
                  caption="The report's coded teacher-interview counts as shares with exact "
                  "CIs and tests.", notes=notes)
