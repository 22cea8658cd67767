"""The builders of the descriptive exhibits (28 and 32-44) and their figures. Each builder takes
plain arguments (input paths, min_cell, the output paths by name); the tables and tests they
show come from lwo.descriptives and lwo.group_stats."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, MARKER, RACES, RATING_SCALE, SEGMENT_TYPES, SUBJECT_LEGEND, SUBJECT_NAMES,
                              SUBJECTS, TEACHER_RATING_SCALE, add_agreement, annotate_rows, chi_square_text,
                              cluster_note, correction_note, count_table, data_source_label, describe_difference,
                              direction_agreement, exclusion_note, hide_small_groups,
                              items_and_composite_by_subject,
                              math_and_ela_teachers, mean_with_ci, missing_data_note, no_cluster_note, number_row,
                              observation_ratings, other_subject_note, p_band, p_text, published_row,
                              quality_by_subject, read_analysis_table,
                              share_with_ci, shared_quality_areas, small_group_note, subject_comparison,
                              suppressed_comparison,
                              teacher_scale_label, two_group_display)
from lwo.exhibit import compare_statement, published_rows, status_of_rows, write_exhibit
from lwo.group_stats import (chi_square_table, cluster_paired_gap, gap_to_next, many_ols_group_differences,
                             rank_by_mean, suppress_small_cells, welch_ttest)
from lwo.io import write_csv
from lwo.plotting import GROUP_COLOURS, PALETTE, mark_data_source, new_figure


def subject_means_figure(display: pd.DataFrame, *, title: str, source: str,
                         scale: str = RATING_SCALE):
    """ELA and mathematics means of each row of a subject comparison (dot plot)."""
    return two_group_means_figure(
        display["label"].tolist(),
        {SUBJECT_LEGEND[s]: pd.to_numeric(display[f"mean_{s}"], errors="coerce").tolist()
         for s in SUBJECTS},
        {SUBJECT_LEGEND[s]: GROUP_COLOURS[s] for s in SUBJECTS},
        significant=display["significant"].astype(bool).tolist(),
        xlabel=f"Mean rating ({scale})", title=title, source=source,
        note="* Holm-adjusted p < .05 within the exhibit's family")


def teacher_items_exhibit(inputs, output, *, min_cell: int, exhibit: str, group: str, title: str, caption: str,
                          figure_title: str, judge, composite: str | None = None) -> None:
    """The body of Exhibits 40 and 42-44: ELA vs mathematics teachers on one group of
    teacher_rating_items (and, with ``composite``, on their mean, overall and by site).

    ``judge(raw, display, published)`` compares the published statement(s) with the result
    and returns ``(display, comparison_rows)``.
    """
    inputs, output = dict(inputs.items()), dict(output.items())
    codebook = Codebook.load(inputs["codebook"])
    published = published_rows(inputs["published"], exhibit)
    teachers, excluded = math_and_ela_teachers(read_analysis_table(inputs["teachers"]))
    min_n = int(min_cell)
    items = codebook.teacher_rating_items[group]["items"]
    if composite:
        raw, display = items_and_composite_by_subject(
            teachers, list(items), label_of=items, composite=composite,
            min_share=codebook.min_share_items_answered, min_n=min_n)
    else:
        raw, display = subject_comparison(teachers, list(items), min_n=min_n, label_of=items)
        raw = raw.assign(scope="item")
        display.insert(0, "scope", "item")
    display, comparison = judge(raw, display, published)
    # teacher counts below min_cell are hidden as Exhibit 7 hides them; the site rows add up to
    # the composite's, so a column hides none or two of its counts
    display, hidden = hide_small_groups(display, [f"n_{s}" for s in SUBJECTS], min_n, "teachers", "both")

    families = [correction_note(raw[raw["scope"] == "item"], f"the {len(items)} items")]
    if composite:
        families.append(f"The composite ({composite}: the mean of the answered items, at least "
                        f"{codebook.min_share_items_answered:.0%} of them) is a test of its own.")
        sites = raw["scope"].str.startswith("site")
        testable = int(pd.to_numeric(raw.loc[sites, "p"], errors="coerce").notna().sum())
        families.append(correction_note(raw[sites], f"the {int(sites.sum())} sites") + " The site rows "
                        f"check that a pooled difference is not one site's alone; {testable} of the "
                        f"{int(sites.sum())} {'has' if testable == 1 else 'have'} a test (a site needs at "
                        f"least {min_n} teachers of each subject).")
    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics teachers; difference = ELA - "
        f"mathematics; Hedges' g (pooled SD). Ratings: {TEACHER_RATING_SCALE}.",
        missing_data_note(raw, unit="teachers") + "; " + excluded,
        *families,
        no_cluster_note("teachers"),
        small_group_note(min_n, "teachers"),
        *([hidden] if hidden else []),
    ]
    source = data_source_label(inputs["summary"])
    shown = display[display["scope"].isin(["item", "composite"])]
    figure = subject_means_figure(shown, title=figure_title, source=source,
                                  scale=TEACHER_RATING_SCALE)
    write_exhibit(output, exhibit=exhibit, title=title, section="RQ3: School context",
                  table=display, comparison=comparison, figure=figure, caption=caption,
                  notes=notes + ["Data: " + source])


def two_group_means_figure(labels: Sequence[str], means: Mapping[str, Sequence[float]],
                           colours: Mapping[str, str], *, significant: Sequence[bool],
                           xlabel: str, title: str, source: str, xlim=(1, 4),
                           note: str = "* adjusted p < .05"):
    """Dot plot of two groups' means per row (one line per area or item), with a star on
    rows whose difference is significant after correction."""
    n = len(labels)
    fig, ax = new_figure(figsize=(8.0, 1.4 + 0.42 * n))
    y = np.arange(n)[::-1]
    groups = list(means)
    for i in range(n):
        vals = [means[g][i] for g in groups]
        if all(np.isfinite(vals)):
            ax.plot(vals, [y[i]] * len(vals), color="#bbbbbb", lw=2, zorder=1)
    for g in groups:
        ax.scatter(means[g], y, s=46, color=colours[g], label=g, zorder=2)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{lab} *" if sig else lab for lab, sig in zip(labels, significant)])
    ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    # legend in one row between the title and the plot, where it can hide no point
    ax.set_title(title, loc="left", fontsize=10, pad=24)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(groups), frameon=False,
              fontsize=9, borderaxespad=0.2)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    footnote(fig, note)
    mark_data_source(fig, source)
    return fig


def footnote(fig, text: str) -> None:
    """A note under the plot, on its own line above the data-source stamp."""
    fig.text(0.01, 0.035, text, ha="left", va="bottom", fontsize=7, color="#666666", wrap=True)


def stacked_shares_figure(long: pd.DataFrame, row_name: str, categories: Sequence[str], *,
                          title: str, source: str, suppression: str):
    """Horizontal stacked bars: the percent of each category within each row, as published
    in a count table; hidden (suppressed) cells are drawn together as one hatched grey
    segment, which discloses nothing the table's totals do not."""
    rows = list(dict.fromkeys(long[row_name]))
    fig, ax = new_figure(figsize=(7.4, 1.6 + 0.45 * len(rows)))
    y = np.arange(len(rows))[::-1]
    colours = dict(zip(categories, [PALETTE[i] for i in (4, 0, 2, 1, 5, 3, 6)]))
    left = np.zeros(len(rows))
    for c in categories:
        part = long[long["category"] == c].set_index(row_name).reindex(rows)
        widths = pd.to_numeric(part["percent"], errors="coerce").fillna(0).to_numpy()
        ax.barh(y, widths, left=left, color=colours[c], label=c, height=0.62)
        for yi, l0, w in zip(y, left, widths):
            if w >= 7:
                ax.text(l0 + w / 2, yi, f"{w:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if c != categories[0] else "black")
        left += widths
    hidden = 100 - left
    if (hidden > 0.05).any():
        ax.barh(y, np.where(hidden > 0.05, hidden, 0), left=left, color="#dddddd",
                hatch="///", edgecolor="#999999", height=0.62, label=f"suppressed ({MARKER})")
    ax.set_yticks(y)
    ax.set_yticklabels(rows)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Percent of responses")
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(axis="y", alpha=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.3 / len(rows)), ncol=3,
              frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    footnote(fig, suppression)
    mark_data_source(fig, source)
    return fig


def teacher_quality_exhibit(inputs, output, *, min_cell: int, exhibit: str, domain: str) -> None:
    """Exhibits 37 and 38: ELA vs mathematics teachers on one domain of the seven teacher-survey
    quality areas; the Holm family and the count of areas that differ span all seven (the
    report publishes that count once, with Exhibit 37)."""
    inputs, output = dict(inputs.items()), dict(output.items())
    count_exhibit, count_key = "37", "teacher_subject_differences"
    codebook = Codebook.load(inputs["codebook"])
    published = published_rows(inputs["published"], count_exhibit)
    teachers, excluded = math_and_ela_teachers(read_analysis_table(inputs["teachers"]))
    min_n = int(min_cell)

    scales = codebook.teacher_scales
    family = list(scales)
    family_name = f"the {len(family)} quality areas of the teacher survey"
    raw, display = quality_by_subject(
        teachers, family, domain_of={c: scales[c]["domain"] for c in family},
        label_of={c: teacher_scale_label(codebook, c) for c in family}, family=family_name,
        min_n=min_n)
    n_differ = int(raw["n_significant"].iloc[0])
    count = number_row(published_row(published, count_key), float(n_differ))
    table = annotate_rows(display[display["domain"] == domain].reset_index(drop=True),
                          slice(None), count)

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics teachers; difference = ELA - "
        "mathematics; Hedges' g (pooled SD). Ratings: 1 = never/rarely, 4 = all of the time.",
        missing_data_note(table, unit="teachers") + "; " + excluded,
        correction_note(raw, family_name + " (Exhibits 37 and 38)"),
        f"Areas that differ (Holm-adjusted p < 0.05) among the {len(family)}: {n_differ} "
        f"(published in Exhibit {count_exhibit}, shown in both exhibits).",
        no_cluster_note("teachers"),
        small_group_note(min_n, "teachers"),
    ]
    source = data_source_label(inputs["summary"])
    figure = subject_means_figure(table, title=f"Teacher ratings of {domain} quality, by subject",
                                  source=source)
    write_exhibit(output, exhibit=exhibit, title=f"Teacher survey reports of the {domain} "
                  "quality features of collaborative groups, by subject",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=[count], figure=figure, caption="Mean teacher ratings of the "
                  f"{domain} quality areas, mathematics and ELA teachers.",
                  notes=notes + ["Data: " + source])


CATEGORICAL_CONTROLS = ["school_id", "grade_level", "gender", "subject"]
NUMERIC_CONTROLS = ["ell", "special_education"]
RACE_FAMILIES = {"hqc": "the 8 quality areas of collaboration",
            "classroom_environment": "the 7 classroom-environment measures"}
DIRECTION_SIGN = {"higher": 1, "lower": -1, "no difference": 0}


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


def build_exhibit_28(*, students, summary, codebook, published, invariance, min_cell, outputs) -> None:
    """Exhibit 28: differences between Black and White students' ratings."""
    codebook = Codebook.load(codebook)
    statements = published_rows(published, "28")
    students = read_analysis_table(students)
    invariance = pd.read_csv(invariance)
    min_n = int(min_cell)

    surveyed = students[students["surveyed"] == 1]
    sample = surveyed[surveyed["race"].isin(RACES)]
    key_of, sign_of = {}, {}
    for _, pub in statements.iterrows():
        construct = pub["key"].split(":", 1)[1]
        if pub["value"] not in DIRECTION_SIGN:
            raise ValueError(f"{published}: exhibit 28, key {pub['key']}: value "
                             f"{pub['value']!r} is not one of {sorted(DIRECTION_SIGN)}")
        key_of[construct], sign_of[construct] = pub["key"], DIRECTION_SIGN[pub["value"]]

    tables, comparison, correction_notes = [], [], []
    for block, family in RACE_FAMILIES.items():
        outcomes = codebook.constructs_in_block(block)
        raw = many_ols_group_differences(
            sample, outcomes, "race", NUMERIC_CONTROLS, categorical=CATEGORICAL_CONTROLS,
            cluster="classroom_id", groups=RACES, min_n=min_n)
        display = two_group_display(
            raw, RACES, label_of={c: codebook.label(c) for c in outcomes},
            extra=["adjusted_mean_a", "adjusted_mean_b", "standardized_difference"])
        display, rows = add_agreement(display, raw, statements, key_of, sign_of, RACES)
        display.insert(0, "family", family)
        display.insert(3, "domain", [codebook.student_constructs[c]["domain"] for c in outcomes])
        display["measurement_invariance"] = display["variable"].map(invariance.set_index("id")["comparable"])
        tables.append(display)
        comparison += rows
        correction_notes.append(correction_note(raw, family))
    table = pd.concat(tables, ignore_index=True)
    table, suppression = hide_small_groups(table, [f"n_{g}" for g in RACES], min_n, "students")

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
        small_group_note(min_n, "students") + (f" {suppression}" if suppression else ""),
        "Agreement: a published difference agrees with a Holm-significant difference in the "
        "same direction; a published 'no difference' with a non-significant one.",
        "measurement_invariance: each measure's verdict in the invariance exhibit (WLSMV, thresholds "
        "and loadings); 'means and relations': its means may be compared across the groups.",
        *invariance_notes(invariance, codebook),
    ]
    source = data_source_label(summary)
    figure = two_group_means_figure(
        table["label"].tolist(),
        {"Black": table["adjusted_mean_Black"].astype(float).tolist(),
         "White": table["adjusted_mean_White"].astype(float).tolist()},
        {"Black": GROUP_COLOURS["Black"], "White": GROUP_COLOURS["White"]},
        significant=table["significant"].astype(bool).tolist(),
        xlabel="Adjusted mean rating (1 = never/rarely, 4 = all of the time)",
        title="Black and White students' ratings, adjusted for the study's controls",
        source=source, note="* Holm-adjusted p < .05 within its family")
    write_exhibit(outputs, exhibit="28",
                  title="Rating differences between Black and White students",
                  section="RQ1c: Black and White students", table=table, comparison=comparison,
                  figure=figure, caption="Adjusted mean ratings of Black and White students on "
                  "the quality areas and the classroom environment (OLS with controls).",
                  notes=notes + ["Data: " + source], status=status_of_rows(table["note"], "Black-White comparison"))


def build_exhibit_32(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 32: student reports of the frequency of collaboration across the four sites."""
    codebook = Codebook.load(codebook)
    published = published_rows(published, "32")
    item = codebook.student_collaboration_items["collab_frequency"]
    categories = item["categories"]
    weekly = categories[categories.index(item["at_least_weekly_from"]):]
    students = read_analysis_table(students)
    min_cell = int(min_cell)

    surveyed = students[students["surveyed"] == 1]
    answered = surveyed.dropna(subset=["collab_frequency"]).copy()
    answered["at_least_weekly"] = answered["collab_frequency"].isin(weekly).astype(float)
    sites = sorted(students["school_id"].dropna().astype(int).unique())
    table, suppression = count_table(
        answered, "school_id", "collab_frequency", row_levels=sites, col_levels=categories,
        min_cell=min_cell, unit="students", row_name="site",
        row_labels={s: f"Site {s}" for s in sites})
    table["at_least_weekly"] = table["category"].isin(weekly)

    k, n = int(answered["at_least_weekly"].sum()), len(answered)
    share, lo, hi = share_with_ci(k, n)
    comparison = [number_row(published_row(published, "share_at_least_weekly"), share, lo, hi)]
    # the weekly count (or its share of the shown total) less the shown all-sites counts of its
    # answers would give a hidden one back, as n - k would of the other answers
    totals_hidden = bool((table["site"].eq("All sites") & table["n"].eq(MARKER)).any())
    if totals_hidden:
        suppressed_comparison(comparison[0], min_cell)

    by_subject = answered[answered["subject"].isin(SUBJECTS)]
    chi = chi_square_table(by_subject, "subject", "collab_frequency").iloc[0]
    weekly_test = welch_ttest(by_subject, "at_least_weekly", "subject", groups=SUBJECTS,
                              cluster="classroom_id", min_n=min_cell).iloc[0]
    finding = (f"{chi_square_text(chi)}; weekly share ELA - mathematics = "
               f"{weekly_test['difference']:.2f} ({p_text(weekly_test['p'])}, classroom-clustered "
               f"{p_text(weekly_test['p_cluster'])})")
    agrees = None if chi["p"] != chi["p"] else bool(chi["p"] >= ALPHA)
    comparison.append(compare_statement(
        published_row(published, "subject_difference:frequency"), finding, agrees,
        "published 'no difference' agrees with a chi-square p at or above 0.05"))
    across = chi_square_table(answered, "school_id", "collab_frequency").iloc[0]

    notes = [
        f"At least weekly: {', '.join(weekly)}; "
        + ("the count and share are not shown, since with the shown all-sites counts they would give a "
           "hidden one back." if totals_hidden else
           f"{k} of {n} students ({100 * share:.0f}%, exact 95% CI {100 * lo:.0f}%-{100 * hi:.0f}%)."),
        f"Across sites: {chi_square_text(across, exact=not table['n'].eq(MARKER).any())}.",
        "Subject: chi-square test of mathematics vs ELA over the five answers (no Yates "
        f"correction); {chi['note'] or 'all expected counts at least 5'}.",
        "Missing data: "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey") + "; "
        + exclusion_note(int(surveyed["collab_frequency"].isna().sum()),
                         "frequency question not answered") + "; "
        + exclusion_note(int(answered["subject"].isna().sum()),
                         "no subject recorded (subject test only)") + other_subject_note(answered) + ".",
        "Multiple comparisons: none; one test per published statement (site and subject "
        "questions are separate).",
        cluster_note(weekly_test["n_clusters"], check="the subject comparison, as a difference in the "
                     "weekly share (linear probability),")
        + f" Subject difference: {p_text(weekly_test['p_cluster'])} clustered vs "
        f"{p_text(weekly_test['p'])} Welch.",
        suppression + " Percentages of suppressed cells are not shown.",
    ]
    source = data_source_label(summary)
    figure = stacked_shares_figure(table, "site", categories,
                                   title="How often do you work in groups in this class? "
                                         "(students)", source=source, suppression=suppression)
    write_exhibit(outputs, exhibit="32", title="Student reports of the frequency of "
                  "collaboration across the four study sites", section="RQ2: Opportunities for "
                  "collaboration", table=table, comparison=comparison, figure=figure,
                  caption="Percent of students by how often they work in groups, by site.",
                  notes=notes + ["Data: " + source])


OFTEN_FROM = "2-3 days a week"  # the interviews' threshold: "at least 2-3 days a week"


def build_exhibit_33(*, teachers, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 33: teacher reports of the frequency of collaboration across the four sites."""
    codebook = Codebook.load(codebook)
    published = published_rows(published, "33")
    item = codebook.teacher_collaboration_items["t_collab_frequency"]
    categories = item["categories"]
    often = categories[categories.index(OFTEN_FROM):]
    teachers = read_analysis_table(teachers)
    min_cell = int(min_cell)

    answered = teachers.dropna(subset=["t_collab_frequency"])
    sites = sorted(teachers["school_id"].dropna().astype(int).unique())
    table, suppression = count_table(
        answered, "school_id", "t_collab_frequency", row_levels=sites, col_levels=categories,
        min_cell=min_cell, unit="teachers", row_name="site",
        row_labels={s: f"Site {s}" for s in sites})

    interviewed = answered[answered["interviewed"] == 1]
    k = int(interviewed["t_collab_frequency"].isin(often).sum())
    comparison = [number_row(published_row(published, "teachers_2_3_days_interviewed"),
                                 float(k))]
    share, lo, hi = share_with_ci(k, len(interviewed))

    by_subject = answered[answered["subject"].isin(SUBJECTS)]
    chi = chi_square_table(by_subject, "subject", "t_collab_frequency").iloc[0]
    notes = [
        "All teachers who answered the frequency question, whatever their subject.",
        f"Interviewed teachers answering at least {OFTEN_FROM} on the survey: {k} of "
        f"{len(interviewed)} ({100 * share:.0f}%, exact 95% CI {100 * lo:.0f}%-{100 * hi:.0f}%); "
        "the published 17 of 28 is from the interviews themselves.",
        f"Mathematics vs ELA teachers: {chi_square_text(chi)}"
        + (f"; {chi['note']}" if chi["note"] else "")
        + (f" (small-sample p = {chi['p_small_sample']:.3f})"
           if chi["p_small_sample"] == chi["p_small_sample"] else "") + ".",
        "Missing data: " + exclusion_note(int(teachers["t_collab_frequency"].isna().sum()),
                                          "frequency question not answered") + "; "
        + exclusion_note(int((~answered["subject"].isin(SUBJECTS)).sum()),
                         "subject other than mathematics or ELA (subject test only)") + ".",
        "Multiple comparisons: none; one test (subject).",
        no_cluster_note("teachers"),
        suppression + " Percentages of suppressed cells are not shown.",
    ]
    source = data_source_label(summary)
    figure = stacked_shares_figure(table, "site", categories,
                                   title="How often do students in your class work in "
                                         "collaborative groups? (teachers)",
                                   source=source, suppression=suppression)
    write_exhibit(outputs, exhibit="33", title="Teacher reports of the frequency of "
                  "collaboration across the four study sites", section="RQ2: Opportunities for "
                  "collaboration", table=table, comparison=comparison, figure=figure,
                  caption="Percent of teachers by how often their students work in groups, "
                          "by site.",
                  notes=notes + ["Data: " + source])


LENGTH_COLUMNS = ["subject", "length", "observed", "expected", "row_percent", "adjusted_residual",
           "residual_beyond_1_96", "n", "n_excluded_missing", "chi2", "dof", "p", "cramers_v",
           "cramers_v_bias_corrected", "min_expected", "p_small_sample", "small_sample_method",
           "test", "note"]


def suppress_length_cells(res: pd.DataFrame, min_cell: int) -> tuple[pd.DataFrame, str]:
    """Exhibit 34's subject x length cells with counts below `min_cell` hidden, with what would
    give them away: their percent, expected count and adjusted residual (from which, with the
    public subject totals, the count follows), and further cells until no subject and no length
    has exactly one hidden cell (the subject totals and, through the shown expected counts, the
    length totals are public). With any cell hidden, the test's statistics (chi-square, Cramer's V,
    the smallest expected count, the small-sample p) are hidden too and its p is shown as a band:
    each is a function of the hidden counts, and beside the shown cells an exact one leaves a
    handful of candidates for them, often one."""
    table = res[LENGTH_COLUMNS].copy()
    table[["expected", "row_percent", "adjusted_residual"]] = (
        table[["expected", "row_percent", "adjusted_residual"]].astype(float).round(6))
    grid = res.pivot(index="subject", columns="length", values="observed")
    shown, suppression = suppress_small_cells(grid.reset_index(), list(grid.columns), min_cell=min_cell,
                                              complementary="both", marker=MARKER, unit="students")
    hidden = shown.set_index("subject").eq(MARKER).stack()
    hidden = hidden.reindex(pd.MultiIndex.from_frame(res[["subject", "length"]])).to_numpy()
    derived = ["observed", "row_percent", "expected", "adjusted_residual", "residual_beyond_1_96"]
    table[derived] = table[derived].astype(object)
    table.loc[hidden, derived] = MARKER
    if hidden.any():
        statistics = ["chi2", "cramers_v", "cramers_v_bias_corrected", "min_expected", "p_small_sample"]
        table[statistics + ["p"]] = table[statistics + ["p"]].astype(object)
        table[statistics] = MARKER
        table["p"] = table["p"].map(lambda p: p_band(p).removeprefix("p "))
    return table, suppression


def length_figure(table: pd.DataFrame, categories: list[str], source: str, suppression: str):
    fig, ax = new_figure(figsize=(6.8, 3.8))
    x = np.arange(len(categories))
    width = 0.38
    for i, subject in enumerate(SUBJECTS):
        part = table[table["subject"] == subject].set_index("length").reindex(categories)
        pct = pd.to_numeric(part["row_percent"], errors="coerce").to_numpy()
        bars = ax.bar(x + (i - 0.5) * width, np.nan_to_num(pct), width,
                      color=GROUP_COLOURS[subject], label=SUBJECT_LEGEND[subject])
        for b, v in zip(bars, pct):
            ax.text(b.get_x() + b.get_width() / 2, (0 if np.isnan(v) else v) + 1,
                    MARKER if np.isnan(v) else f"{v:.0f}%", ha="center", fontsize=8)
    shown = pd.to_numeric(table["row_percent"], errors="coerce")
    ax.set_ylim(0, 1.15 * (shown.max() if shown.notna().any() else 100.0))
    ax.set_xticks(x)
    ax.set_xticklabels(categories)
    ax.set_ylabel("Percent of the subject's students")
    ax.set_title("How long does a typical group activity last?", loc="left", fontsize=10)
    ax.legend(frameon=False)
    ax.grid(axis="x", alpha=0)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    footnote(fig, suppression)
    mark_data_source(fig, source)
    return fig


def build_exhibit_34(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 34: length of collaborative activities in mathematics and ELA classes."""
    codebook = Codebook.load(codebook)
    published = published_rows(published, "34")
    categories = codebook.student_collaboration_items["collab_length"]["categories"]
    short, long_ = categories[0], categories[-1]
    students = read_analysis_table(students)
    min_cell = int(min_cell)

    surveyed = students[students["surveyed"] == 1]
    sample = surveyed[surveyed["subject"].isin(SUBJECTS) | surveyed["subject"].isna()]
    res = chi_square_table(sample, "subject", "collab_length")
    res = res.rename(columns={"row_level": "subject", "col_level": "length"})
    order = {c: i for i, c in enumerate(categories)}
    res = (res.assign(_s=res["subject"].map({s: i for i, s in enumerate(SUBJECTS)}),
                      _l=res["length"].map(order))
           .sort_values(["_s", "_l"]).drop(columns=["_s", "_l"]).reset_index(drop=True))
    table, suppression = suppress_length_cells(res, min_cell)
    head = res.iloc[0]
    hidden = set(map(tuple, table.loc[table["observed"].eq(MARKER), ["subject", "length"]].to_numpy()))

    def cell(subject: str, column: str) -> float:
        hit = res[(res["subject"] == subject) & (res["length"] == long_)]
        return float(hit[column].iloc[0]) if len(hit) else float("nan")

    share_long = {s: cell(s, "row_percent") for s in SUBJECTS}
    residual = cell("ela", "adjusted_residual")
    answered = sample.dropna(subset=["collab_length", "subject"]).copy()
    answered["long_activity"] = (answered["collab_length"] == long_).astype(float)
    long_test = welch_ttest(answered, "long_activity", "subject", groups=SUBJECTS,
                            cluster="classroom_id", min_n=min_cell).iloc[0]
    # with a cell hidden, nothing that is a function of the hidden counts is shown exactly
    # (suppress_length_cells hides their own columns): a hidden cell's percent and residual, the
    # chi-square, and the long share's difference and test (p bands instead)
    shown_pct = {s: MARKER if (s, long_) in hidden else f"{share_long[s]:.0f}%" for s in SUBJECTS}
    p_shown = p_band if hidden else p_text
    finding = (f"{long_}: ELA {shown_pct['ela']} vs mathematics {shown_pct['math']}; "
               f"{chi_square_text(head, exact=not hidden)}; adjusted residual (ELA, {long_}) = "
               f"{MARKER if ('ela', long_) in hidden else f'{residual:.2f}'}; "
               f"classroom-clustered {p_shown(long_test['p_cluster'])}")
    agrees = (None if not head["p"] == head["p"] else
              bool(head["p"] < ALPHA and share_long["ela"] > share_long["math"]
                   and residual > 1.96))
    comparison = [compare_statement(
        published_row(published, "longer_in_ela"), finding, agrees,
        "ELA share higher, chi-square p < 0.05 and the ELA x long cell's adjusted residual > 1.96")]

    all_answers = surveyed.dropna(subset=["collab_length"])
    k_short = int((all_answers["collab_length"] == short).sum())
    k_long = int((all_answers["collab_length"] == long_).sum())
    s, lo, hi = share_with_ci(k_short, k_short + k_long)
    comparison.append(compare_statement(
        published_row(published, "short_more_likely"),
        # a share, not the two counts: with the table's subject cells they would give away a
        # suppressed cell by difference
        f"share of '{short}' among the answers '{short}' or '{long_}': {s:.2f} "
        f"(exact 95% CI {lo:.2f}-{hi:.2f})", None if s != s else bool(lo > 0.5),
        "short share among short-or-long answers above one half (exact CI lower limit > 0.5)"))

    notes = [
        "Chi-square test of independence of subject and length (Pearson, no Yates "
        "correction); adjusted residuals beyond +/-1.96 mark the cells that drive the "
        "association (uncorrected for the number of cells).",
        "Missing data: " + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey")
        + "; " + exclusion_note(int(head["n_excluded_missing"]),
                                "length not answered or no subject recorded (listwise)")
        + other_subject_note(surveyed) + ".",
        "Multiple comparisons: none; one test per published statement.",
        cluster_note(long_test["n_clusters"], check=f"the subject comparison, as a difference in the "
                     f"share of activities of {long_} (linear probability),")
        + (f" ELA - mathematics = {long_test['difference']:.2f}," if not hidden else " ELA - mathematics:")
        + f" {p_shown(long_test['p_cluster'])} clustered vs {p_shown(long_test['p'])} Welch.",
        suppression + " A suppressed count's percent, expected count and adjusted residual are "
        "suppressed too" + ("; so are the test statistics (chi-square, Cramer's V, the long share's "
                            "difference), a function of every count, and p-values are shown as bands "
                            "(p < 0.001, < 0.01, < 0.05, >= 0.05)." if hidden else "."),
    ]
    source = data_source_label(summary)
    write_exhibit(outputs, exhibit="34", title="Student survey reports of the length of "
                  "collaborative activities in mathematics and English classes",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=length_figure(table, categories, source, suppression),
                  caption="Percent of students by typical length of group activities, by subject.",
                  notes=notes + ["Data: " + source])


def build_exhibit_35(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 35: student survey reports of the dynamic quality features, by subject."""
    domain = "dynamic"
    codebook = Codebook.load(codebook)
    published = published_rows(published, "35")
    students = read_analysis_table(students)
    min_n = int(min_cell)

    surveyed = students[students["surveyed"] == 1]
    family = shared_quality_areas(codebook)
    family_name = f"the {len(family)} quality areas asked of students and teachers"
    student_only = [c for c in codebook.hqc_subscales(domain) if c not in family]
    domain_of = {c: codebook.student_constructs[c]["domain"] for c in codebook.hqc_subscales()}
    label_of = {c: codebook.label(c) for c in codebook.hqc_subscales()}
    raw, display = quality_by_subject(surveyed, family, domain_of=domain_of, label_of=label_of,
                                      family=family_name, min_n=min_n, cluster="classroom_id")
    n_differ = int(raw["n_significant"].iloc[0])
    count = number_row(published_row(published, "student_subject_differences"),
                           float(n_differ))
    notes = [correction_note(raw, family_name + " (Exhibits 35 and 36)")]
    tables = [annotate_rows(display[display["domain"] == domain], slice(None), count)]
    if student_only:
        raw_only, only = quality_by_subject(surveyed, student_only, domain_of=domain_of,
                                            label_of=label_of, family="asked of students only",
                                            min_n=min_n, cluster="classroom_id")
        tables.append(only)
        notes.append(correction_note(raw_only, "the area(s) asked of students only ("
                                     + ", ".join(label_of[c] for c in student_only) + ")"))
    table = pd.concat(tables, ignore_index=True).fillna({"published": "", "reproduced": "",
                                                         "agrees": ""})
    table, suppression = hide_small_groups(table, [f"n_{s}" for s in SUBJECTS], min_n, "students")

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics students; difference = ELA - "
        "mathematics; Hedges' g (pooled SD). Ratings: 1 = never/rarely, 4 = all of the time.",
        missing_data_note(table) + "; "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey") + other_subject_note(surveyed),
        *notes,
        f"Areas that differ (Holm-adjusted p < 0.05) among the {len(family)}: {n_differ}; with "
        f"classroom-clustered errors: {int(raw['n_significant_cluster'].iloc[0])}.",
        cluster_note(table["n_clusters"].max()),
        small_group_note(min_n, "students") + (f" {suppression}" if suppression else ""),
    ]
    source = data_source_label(summary)
    figure = subject_means_figure(table, title="Student ratings of dynamic quality, by subject",
                                  source=source)
    write_exhibit(outputs, exhibit="35", title="Student survey reports of the dynamic quality "
                  "features of collaborative groups, by subject",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=[count], figure=figure, caption="Mean student ratings of the "
                  "dynamic quality areas in mathematics and ELA classes.",
                  notes=notes + ["Data: " + source])


def build_exhibit_36(*, students, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 36: student survey reports of the structural quality features, by subject."""
    domain, focus = "structural", "student_centered"
    codebook = Codebook.load(codebook)
    published = published_rows(published, "36")
    students = read_analysis_table(students)
    min_n = int(min_cell)

    surveyed = students[students["surveyed"] == 1]
    family = shared_quality_areas(codebook)
    family_name = f"the {len(family)} quality areas asked of students and teachers"
    domain_of = {c: codebook.student_constructs[c]["domain"] for c in codebook.hqc_subscales()}
    label_of = {c: codebook.label(c) for c in codebook.hqc_subscales()}
    raw, display = quality_by_subject(surveyed, family, domain_of=domain_of, label_of=label_of,
                                      family=family_name, min_n=min_n, cluster="classroom_id")
    mine = (display["domain"] == domain).to_numpy()
    table, comparison = add_agreement(
        display[mine], raw[mine], published, {focus: "student_centered_math_lower"}, {focus: 1},
        (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]))

    # pooled means over all surveyed students; "far lowest": lowest and below the next one
    areas = codebook.hqc_subscales(domain)
    means = rank_by_mean(surveyed, areas)
    gap = gap_to_next(surveyed, means.index)
    lowest, runner_up = gap["variable"], gap["next"]
    finding = (f"lowest: {label_of[lowest]} (mean {means.iloc[0]:.2f}); next: "
               f"{label_of[runner_up]} ({means.iloc[1]:.2f}); paired difference "
               f"{means.iloc[0] - means.iloc[1]:.2f}, t({gap['df']}) = {gap['t']:.2f}, "
               f"{p_text(gap['p'])}")
    lowest_row = compare_statement(published_row(published, "student_centered_lowest"), finding,
                                   bool(lowest == focus and gap['p'] < ALPHA),
                                   "lowest pooled mean and below the next-lowest area (paired "
                                   "t-test p < 0.05)")
    comparison.append(lowest_row)
    table = annotate_rows(table, (table["variable"] == focus).to_numpy(), lowest_row)
    pooled = pd.DataFrame({"variable": means.index, "pooled_mean": means.to_numpy().round(6)})
    table = table.merge(pooled, on="variable", how="left")
    table, suppression = hide_small_groups(table, [f"n_{s}" for s in SUBJECTS], min_n, "students")

    notes = [
        "Welch t-tests (unequal variances) of ELA vs mathematics students; difference = ELA - "
        "mathematics; Hedges' g (pooled SD); pooled_mean: all surveyed students. Ratings: "
        "1 = never/rarely, 4 = all of the time.",
        f"Lowest structural area: {finding} (paired t-test over students with both scores).",
        missing_data_note(table) + "; "
        + exclusion_note(int((students["surveyed"] != 1).sum()), "no survey") + other_subject_note(surveyed),
        correction_note(raw, family_name + " (Exhibits 35 and 36)"),
        cluster_note(table["n_clusters"].max()),
        small_group_note(min_n, "students") + (f" {suppression}" if suppression else ""),
    ]
    source = data_source_label(summary)
    figure = subject_means_figure(table, title="Student ratings of structural quality, by subject",
                                  source=source)
    write_exhibit(outputs, exhibit="36", title="Student survey reports of the structural "
                  "quality features of collaboration in mathematics and English classes",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=figure, caption="Mean student ratings of the "
                  "structural quality areas in mathematics and ELA classes.",
                  notes=notes + ["Data: " + source])


def observation_figure(areas: pd.DataFrame, sites: pd.DataFrame, source: str):
    fig, (ax, bx) = new_figure(1, 2, figsize=(10.5, 4.6), width_ratios=[2.2, 1])
    y = np.arange(len(areas))[::-1]
    for i in range(len(areas)):
        vals = [areas[f"adjusted_mean_{lv}"].iloc[i] for lv in SEGMENT_TYPES]
        if np.all(np.isfinite(vals)):
            ax.plot(vals, [y[i]] * 2, color="#bbbbbb", lw=2, zorder=1)
    for lv in SEGMENT_TYPES:
        ax.scatter(areas[f"adjusted_mean_{lv}"].astype(float), y, s=46, zorder=2,
                   color=GROUP_COLOURS[lv], label=f"{lv} segments")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{lab} *" if sig else lab
                        for lab, sig in zip(areas["label"], areas["significant"].astype(bool))])
    ax.set_xlim(1, 4)
    ax.set_xlabel("Adjusted mean observation rating (1-4)")
    ax.set_title("Ratings during collaborative vs other segments", loc="left", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0)
    x = np.arange(len(sites))
    bx.bar(x, 100 * sites["share"], color=PALETTE[0], width=0.6)
    for xi, (k, n) in enumerate(zip(sites["with_collaboration"], sites["classrooms_observed"])):
        bx.text(xi, 100 * k / n + 2, f"{k} of {n}", ha="center", fontsize=8)
    bx.set_xticks(x)
    bx.set_xticklabels(sites["site"])
    bx.set_ylim(0, 110)
    bx.set_ylabel("Percent of observed classrooms")
    bx.set_title("Classrooms with a collaborative segment", loc="left", fontsize=10)
    bx.grid(axis="x", alpha=0)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    footnote(fig, "* Holm-adjusted p < .05 (8 areas); means adjusted for the pre-visit rating")
    mark_data_source(fig, source)
    return fig


def build_exhibit_39(*, classrooms, observations, summary, codebook, published, min_cell, outputs) -> None:
    """Exhibit 39: classroom observations, ratings during collaborative groups vs other activities."""
    codebook = Codebook.load(codebook)
    published = published_rows(published, "39")
    segments = read_analysis_table(observations)
    classrooms = read_analysis_table(classrooms)
    min_n = int(min_cell)

    segments, areas, item_rows, label_of = observation_ratings(segments, codebook, min_n=min_n)
    items = codebook.observation_items

    comparison = []
    ce = areas["variable"] == "constructive_exchange"
    r = areas[ce].iloc[0]
    row = compare_statement(
        published_row(published, "constructive_exchange_collab_higher"),
        describe_difference(r["difference_adjusted"], r["p_adjusted"],
                            ("collaborative", "other"), r["significant"])
        + f"; classroom-clustered {p_text(r['p_cluster_adjusted'])} (adjusted)",
        direction_agreement(1, r["difference_adjusted"], r["significant"]),
        "direction and significance (Holm-adjusted ANCOVA p < 0.05) must both match")
    comparison.append(row)
    areas = annotate_rows(areas, ce.to_numpy(), row)

    dynamic = areas[areas["domain"] == "dynamic"].sort_values("overall_mean")
    named = {"shared_leadership", "constructive_exchange"}
    two_lowest = list(dynamic["variable"].iloc[:2])
    behind = gap_to_next(segments, dynamic["variable"], 1, cluster="classroom_id")
    third, gap, p_gap, g = behind["next"], behind["gap"], behind["p"], behind["n_clusters"]
    row = compare_statement(
        published_row(published, "lowest_dynamic"),
        f"two lowest dynamic areas: {', '.join(label_of[v] for v in two_lowest)}; next "
        f"{label_of[third]} higher by {gap:.2f} over {g} classrooms "
        f"({p_text(p_gap)})", bool(set(two_lowest) == named and p_gap < ALPHA),
        "the two named areas have the lowest overall means of the dynamic areas and the next "
        "area is higher (classroom-level paired t-test p < 0.05)")
    comparison.append(row)
    areas = annotate_rows(areas, areas["variable"].isin(named).to_numpy(), row)

    ranked = item_rows.sort_values("overall_mean")
    lowest = ranked["variable"].iloc[0]
    outside = ranked[ranked["variable"].map(lambda i: items[i]["area"]) != "student_centered"]
    gap, p_gap, g = cluster_paired_gap(segments, lowest, outside["variable"].iloc[0], "classroom_id")
    row = compare_statement(
        published_row(published, "student_centered_lowest_item"),
        f"lowest of {len(items)} items: {label_of[lowest]} "
        f"(mean {ranked['overall_mean'].iloc[0]:.2f}); lowest item of another area "
        f"{outside['variable'].iloc[0]} higher by {gap:.2f} over "
        f"{g} classrooms ({p_text(p_gap)})",
        bool(items[lowest]["area"] == "student_centered" and p_gap < ALPHA),
        "lowest item is a student-centered item and the lowest item of any other area is "
        "higher (classroom-level paired t-test p < 0.05)")
    comparison.append(row)
    item_rows = annotate_rows(item_rows, (item_rows["variable"] == lowest).to_numpy(), row)

    # classrooms with at least one collaborative segment, by site
    seen = (segments.assign(collab=segments["segment_type"] == "collaborative")
            .groupby("classroom_id")["collab"].any())
    rooms = classrooms.set_index("classroom_id").loc[seen.index].assign(collab=seen)
    site_rows = []
    for s, grp in rooms.groupby("school_id"):
        share, lo, hi = share_with_ci(int(grp["collab"].sum()), len(grp))
        site_rows.append({"site": f"Site {int(s)}", "classrooms_observed": len(grp),
                          "with_collaboration": int(grp["collab"].sum()), "share": share,
                          "ci_low": lo, "ci_high": hi})
    share, lo, hi = share_with_ci(int(rooms["collab"].sum()), len(rooms))
    sites = pd.DataFrame(site_rows)
    by_site = pd.concat([sites, pd.DataFrame([{
        "site": "All sites", "classrooms_observed": len(rooms),
        "with_collaboration": int(rooms["collab"].sum()), "share": share, "ci_low": lo,
        "ci_high": hi}])], ignore_index=True)
    comparison += [
        number_row(published_row(published, "classrooms_with_collaboration"), share, lo, hi),
        number_row(published_row(published, "min_site_share_collaboration"), sites["share"].min()),
        number_row(published_row(published, "max_site_share_collaboration"), sites["share"].max()),
    ]

    table = pd.concat([areas, item_rows], ignore_index=True)
    subject_of = classrooms.set_index("classroom_id")["subject"]
    sc_by_subject = (segments.groupby(segments["classroom_id"].map(subject_of))
                     ["student_centered"].mean())
    notes = [
        "ANCOVA (type II) of each rating on segment type with the pre-visit rating as "
        "covariate; adjusted means at the mean pre-rating; difference_adjusted = "
        "collaborative - other.",
        "Overall means over all segments rank the areas (rank_in_domain) and items "
        "(rank_of_16); the gaps behind the published 'lowest' statements are tested on "
        "classroom means (one-sample t-test of the within-classroom difference).",
        "Student-centered activities by classroom subject (mean area rating): "
        + ", ".join(f"{k}: {v:.2f}" for k, v in sc_by_subject.items()) + ".",
        "Missing data: listwise deletion over the rating, segment type, pre-rating and "
        "classroom of each test; "
        + exclusion_note(int(table["n_excluded_missing"].max()),
                         "a missing value in a variable the test uses (segments)")
        + "; an area score needs both of its items.",
        correction_note(areas, f"the {len(areas)} quality areas"),
        correction_note(item_rows, f"the {len(item_rows)} observation items"),
        cluster_note(table["n_clusters"].max(), unit="observed segments")
        + " Clustered F: Wald test with CR1 covariance, F(1, G - 1).",
        small_group_note(min_n, "segments"),
        "Classrooms with collaboration by site: classrooms_by_site.csv (classrooms are "
        "settings, not people, so their counts are shown); "
        + "; ".join(f"{r.site}: {r.with_collaboration} of {r.classrooms_observed}"
                    for r in by_site.itertuples()) + ".",
    ]
    source = data_source_label(summary)
    write_csv(by_site.round(6), outputs["classrooms_by_site"])
    write_exhibit(outputs, exhibit="39", title="Classroom observations: ratings during "
                  "collaborative groups versus other classroom activities",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=observation_figure(areas, sites, source),
                  caption="Adjusted mean observation ratings by segment type (ANCOVA), and the "
                  "share of observed classrooms with collaboration by site.",
                  notes=notes + ["Data: " + source])


CHALLENGE_RANK_KEYS = {1: "top_challenge_1", 2: "top_challenge_2"}


def challenges_figure(table: pd.DataFrame, source: str):
    fig, ax = new_figure(figsize=(7.2, 3.9))
    y = np.arange(len(table))[::-1]
    means = table["mean"].astype(float).to_numpy()
    err = [means - table["ci_low"].astype(float), table["ci_high"].astype(float) - means]
    colours = [PALETTE[5] if r <= 2 else PALETTE[0] for r in table["rank"]]
    ax.barh(y, means, color=colours, height=0.6)
    ax.errorbar(means, y, xerr=err, fmt="none", ecolor="#333333", capsize=3, lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels(table["label"])
    ax.set_xlim(1, 4)
    ax.set_xlabel(f"Mean rating, 95% CI ({TEACHER_RATING_SCALE})")
    ax.set_title("Perceived challenges of collaboration (all teachers), largest first",
                 loc="left", fontsize=10)
    ax.grid(axis="y", alpha=0)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    mark_data_source(fig, source)
    return fig


def build_exhibit_41(*, teachers, summary, codebook, published, outputs) -> None:
    """Exhibit 41: teacher survey mean ratings of the perceived challenges of collaboration."""
    codebook = Codebook.load(codebook)
    published = published_rows(published, "41")
    teachers = read_analysis_table(teachers)
    items = codebook.teacher_rating_items["challenges"]["items"]

    rows = [{"item": i, "label": text, **mean_with_ci(teachers[i])} for i, text in items.items()]
    table = pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table["n_excluded_missing"] = len(teachers) - table["n"]
    table = table.reset_index(drop=True)

    comparison = []
    for rank, key in CHALLENGE_RANK_KEYS.items():
        pub = published_row(published, key)
        here, below = table.iloc[rank - 1], table.iloc[rank]
        gap = gap_to_next(teachers, table["item"], rank - 1)
        finding = (f"rank {rank}: {here['item']} ({here['label']}, mean {here['mean']:.2f}); "
                   f"next: {below['item']} ({below['mean']:.2f}), paired t({gap['df']}) = "
                   f"{gap['t']:.2f}, {p_text(gap['p'])}")
        row = compare_statement(pub, finding,
                                bool(here["item"] == pub["value"] and gap["p"] < ALPHA),
                                f"the published item holds rank {rank} and is rated higher "
                                "than the next-ranked item (paired t-test p < 0.05)")
        comparison.append(row)
        target = (table["item"] == pub["value"]).to_numpy()
        table = annotate_rows(table, target if target.any() else [rank - 1], row)

    notes = [
        "All teachers who answered (every subject): a ranking, not a subject comparison "
        "(Exhibit 42 compares ELA and mathematics teachers).",
        "Missing data: each item's mean uses the teachers who rated it; "
        + exclusion_note(int(table["n_excluded_missing"].max()), "item not answered (largest "
                                                                   "over the items)") + ".",
        "Multiple comparisons: none; the two published ranks are each checked by one paired "
        "t-test against the next-ranked item.",
        no_cluster_note("teachers"),
        "Small cells: n is the number of teachers answering each item over the whole sample; "
        "no counts by group are shown, so nothing is suppressed.",
    ]
    source = data_source_label(summary)
    write_exhibit(outputs, exhibit="41", title="Teacher survey mean ratings: perceived "
                  "challenges associated with collaboration", section="RQ3: School context",
                  table=table.round(6), comparison=comparison,
                  figure=challenges_figure(table, source), caption="Mean teacher ratings of the "
                  "challenges of collaboration, largest first.", notes=notes + ["Data: " + source])


def _benefits_judge(raw, display, published):
    composite = (raw["scope"] == "composite").to_numpy()
    r = raw[composite].iloc[0]
    row = compare_statement(
        published_row(published, "ela_benefits_higher"),
        describe_difference(r["difference"], r["p_adjusted"],
                            (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]), r["significant"]),
        direction_agreement(1, r["difference"], r["significant"]),
        "ELA - mathematics difference on the mean of the benefit items: direction and "
        "significance (p < 0.05) must both match")
    return annotate_rows(display, composite, row), [row]


def build_exhibit_40(*, inputs, outputs, min_cell) -> None:
    """Exhibit 40: teacher survey mean ratings of the perceived benefits of collaboration, by
    subject; the published "ELA teachers had a stronger belief in the benefits" agrees with a
    significant positive ELA - mathematics difference on the mean of the items."""
    teacher_items_exhibit(
        inputs, outputs, min_cell=min_cell, exhibit="40", group="benefits", composite="all benefit items (mean)",
        judge=_benefits_judge,
        title="Teacher survey mean ratings: perceived benefits of collaboration",
        caption="Mean ratings of the benefits of collaboration, ELA and mathematics teachers.",
        figure_title="Perceived benefits of collaboration, by subject")


CONTENT_CHALLENGE = "t_chal_content"


def _challenges_judge(raw, display, published):
    return add_agreement(display, raw, published, {CONTENT_CHALLENGE: "content_math_higher"},
                         {CONTENT_CHALLENGE: -1}, (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]))


def build_exhibit_42(*, inputs, outputs, min_cell) -> None:
    """Exhibit 42: teacher survey mean ratings of the perceived challenges of collaboration, by
    subject; the published "too much content to cover is a larger challenge in mathematics"
    agrees with a significant negative ELA - mathematics difference on that item."""
    teacher_items_exhibit(
        inputs, outputs, min_cell=min_cell, exhibit="42", group="challenges", judge=_challenges_judge,
        title="Teacher survey mean ratings: perceived challenges of collaboration, by subject",
        caption="Mean ratings of the challenges of collaboration, ELA and mathematics teachers.",
        figure_title="Perceived challenges of collaboration, by subject")
