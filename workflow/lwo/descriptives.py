"""Shared pieces of the descriptive, group-comparison and qualitative exhibits
(Exhibits 3-7, 11, 28, 32-44 and the focus-group and interview counts).

The statistics themselves live in :mod:`lwo.group_stats`; this module holds what the exhibit
builders would otherwise repeat: reading the analysis tables, the wording of the notes every
table carries (missing data, multiple comparisons, suppression, clustering), count tables by
site with small-cell suppression, subject comparisons, the agreement rule between a
published statement and a reproduced test, and the two figure layouts the family uses.

Conventions:

* Subject comparisons are ``ELA − mathematics`` (a positive difference: higher in ELA);
  race comparisons are ``Black − White``.
* "Significant" means a multiple-comparison adjusted p below :data:`ALPHA`, with the
  :data:`CORRECTION` method applied within each family of tests the exhibit states.
* A published directional statement ("higher", "no difference") agrees with the reproduced
  test when both the direction and the significance match (:func:`direction_agreement`).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

CORRECTION = "holm"
ALPHA = 0.05
SUBJECTS = ("ela", "math")  # group a, group b: differences are ELA − mathematics
SUBJECT_NAMES = {"ela": "ELA", "math": "mathematics"}
SUBJECT_LEGEND = {"ela": "ELA", "math": "Mathematics"}
RACES = ("Black", "White")  # differences are Black − White
MARKER = "‡"
NOT_APPLICABLE = "not applicable"

# Identifiers are text, whatever they look like; everything else is typed by pandas.
_ID_COLUMNS = {"student_id": "string", "classroom_id": "string", "teacher_id": "string",
               "segment_id": "string"}


# --------------------------------------------------------------------------- inputs
def read_analysis_table(path) -> pd.DataFrame:
    """One of results/data/analysis/*.csv (already validated by the analysis_data rule)."""
    head = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, dtype={c: t for c, t in _ID_COLUMNS.items() if c in head})


def data_source_label(summary_path) -> str:
    """The data-source line stamped on every figure (from data_summary.json)."""
    with open(summary_path, encoding="utf-8") as fh:
        return json.load(fh)["label"]


def math_and_ela_teachers(teachers: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The teachers of the subject comparisons and the note on who is left out."""
    keep = teachers["subject"].isin(SUBJECTS)
    n_other = int((teachers["subject"] == "other").sum())
    n_missing = int(teachers["subject"].isna().sum())
    parts = [exclusion_note(n_other, "teaches a subject other than mathematics or ELA "
                                     "(not part of the subject comparison)")]
    if n_missing:
        parts.append(exclusion_note(n_missing, "subject missing"))
    return teachers[keep].copy(), "; ".join(parts)


def other_subject_count(students: pd.DataFrame) -> int:
    """Surveyed students whose class is in a subject other than mathematics or ELA (a district's
    export; none in the study's data)."""
    return int((students["surveyed"].eq(1) & students["subject"].eq("other")).sum())


def other_subject_note(students: pd.DataFrame) -> str:
    """"; n excluded: k, reason: ..." for the students of :func:`other_subject_count`, left out of
    a subject comparison; "" where there are none."""
    n = other_subject_count(students)
    return ("; " + exclusion_note(n, "surveyed in a class of another subject (not part of the subject "
                                     "comparison)")) if n else ""


# --------------------------------------------------------------------------- notes
def exclusion_note(n: int, reason: str) -> str:
    """The missing-data line every table carries, e.g. "n excluded: 23, reason: no survey"."""
    return f"n excluded: {int(n)}, reason: {reason}"


def missing_data_note(table: pd.DataFrame, unit: str = "students",
                      column: str = "n_excluded_missing") -> str:
    """Listwise deletion summary of a group_stats result (largest count over its rows)."""
    counts = pd.to_numeric(table[column], errors="coerce").fillna(0).astype(int)
    lo, hi = int(counts.min()), int(counts.max())
    span = f"{hi}" if lo == hi else f"{lo}-{hi} (by outcome)"
    return (f"Missing data: listwise deletion over the variables of each test; "
            f"n excluded: {span}, reason: a missing value in a variable the test uses ({unit})")


def correction_note(table: pd.DataFrame, family: str) -> str:
    """Which multiple-comparison correction was applied, to which family, of what size."""
    label = str(table["correction"].iloc[0]) if len(table) else f"{CORRECTION} (m = 0)"
    return (f"Multiple comparisons: {label} over {family} (m counts the estimable tests); "
            f"'significant' means an adjusted p below {ALPHA:g}.")


def cluster_note(n_clusters, unit: str = "students", check: str | None = None) -> str:
    """The clustered sensitivity's note: `check` names what is repeated with clustered SEs where
    it is not the table's own comparison (a chi-square's clustered check is one share's test)."""
    g = 0 if pd.isna(n_clusters) else int(n_clusters)  # NaN or pd.NA: no estimable test
    where = "columns ending in _cluster" if check is None else "in this note"
    return (f"Sensitivity for nested data: {unit} are nested in classrooms, so "
            f"{check or 'the same comparison'} is repeated with classroom-clustered (CR1) standard errors, t "
            f"with G - 1 = {max(g - 1, 0)} df (G = {g} classrooms): {where}.")


def no_cluster_note(unit: str) -> str:
    return (f"No clustered sensitivity: {unit} are the unit of analysis and are not nested in "
            "classrooms (with only 4 schools, school-clustered errors are not estimable "
            "reliably).")


# --------------------------------------------------------------------------- agreement
def direction_agreement(expected_sign: int, difference: float, significant) -> bool | None:
    """Does a reproduced two-group test agree with a published directional statement?

    ``expected_sign`` +1: group a higher; -1: group a lower; 0: no difference. Agreement
    needs the same direction *and* significance: a published difference agrees with a
    significant difference of that sign; a published "no difference" with a
    non-significant result. A test that could not be estimated gives None.
    """
    if difference is None or (isinstance(difference, float) and math.isnan(difference)):
        return None
    significant = bool(significant)
    if expected_sign == 0:
        return not significant
    return bool(significant and np.sign(difference) == np.sign(expected_sign))


def describe_difference(difference: float, p_adjusted: float, names: tuple[str, str],
                        significant=None) -> str:
    """A reproduced finding in words, e.g. "ELA higher (ELA - mathematics = 0.21, adjusted
    p = 0.003)"."""
    if difference is None or (isinstance(difference, float) and math.isnan(difference)):
        return "not estimable"
    sig = (p_adjusted < ALPHA) if significant is None else bool(significant)
    a, b = names
    numbers = f"{a} - {b} = {difference:.2f}, adjusted {p_text(p_adjusted)}"
    if not sig:
        return f"no significant difference ({numbers})"
    return f"{a} {'higher' if difference > 0 else 'lower'} ({numbers})"


def p_text(p: float) -> str:
    """"p = 0.012", "p < 0.001" or "p n/a"."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def number_row(pub: pd.Series, estimate: float, ci_lower: float | None = None,
               ci_upper: float | None = None) -> dict:
    """:func:`lwo.exhibit.compare_number` with the numbers rounded to six decimals (whole
    counts as integers), as the CSV writer would print them had the column one type."""
    from lwo.exhibit import compare_number

    def tidy(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return x
        x = float(x)
        return int(x) if pub.get("kind") == "count" and x.is_integer() else round(x, 6)

    return compare_number(pub, tidy(estimate), tidy(ci_lower), tidy(ci_upper))


def teacher_scale_label(codebook, scale: str) -> str:
    """A teacher quality area's label: the student construct's label where the area is the
    same (the teacher survey asks the student survey's areas)."""
    base = scale[2:] if scale.startswith("t_") else scale
    if base in codebook.student_constructs:
        return codebook.label(base)
    return codebook.label(scale)


def p_band(p: float) -> str:
    """"p < 0.001", "p < 0.01", "p < 0.05", "p >= 0.05" or "p n/a": a p-value coarse enough that,
    beside a table with suppressed cells, it does not give their counts back."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p n/a"
    return next((f"p < {cut:g}" for cut in (0.001, 0.01, 0.05) if p < cut), "p >= 0.05")


def chi_square_text(row: pd.Series, exact: bool = True) -> str:
    """One chi-square result of lwo.group_stats in words, or why it was not estimable. Not
    `exact` (the test's table is shown with suppressed cells): its p-value band only, since the
    statistic, Cramer's V or an exact p, a function of every cell, would leave only a handful of
    counts (often one) for the hidden cells beside the shown ones."""
    if not row["p"] == row["p"]:
        return f"chi-square not estimable ({row['note']})"
    if not exact:
        return f"chi-square({int(row['dof'])}): {p_band(row['p'])} (statistic withheld: suppressed cells)"
    return (f"chi-square({int(row['dof'])}) = {row['chi2']:.2f}, {p_text(row['p'])}, "
            f"Cramer's V = {row['cramers_v']:.2f}")


def suppressed_comparison(row: dict, min_cell: int, unit: str = "students") -> dict:
    """A compared value that is a hidden count, or would give one back (a share of it, a total
    that a shown count leaves it by difference): the marker instead of the value, not compared."""
    row.update(reproduced=MARKER, ci_lower=None, ci_upper=None, agrees="not applicable",
               basis=f"suppressed: fewer than {min_cell} {unit}, or hidden with such a count")
    return row


def context_row(pub: pd.Series, reproduced: str, basis: str) -> dict:
    """A published value shown as context (site descriptors, published counts analysed as
    they are): there is no independent reproduction to agree or disagree with."""
    from lwo.exhibit import compare_statement

    row = compare_statement(pub, reproduced, None, basis)
    row["agrees"] = NOT_APPLICABLE
    return row


def published_row(published: pd.DataFrame, key: str) -> pd.Series:
    """The published row of an exhibit with this key (clear error when it is missing)."""
    hit = published[published["key"] == key]
    if hit.empty:
        raise ValueError(f"data/published/published_values.csv: no row with key {key!r} for "
                         f"exhibit {published['exhibit'].iloc[0] if len(published) else '?'}; "
                         "the exhibit builder and the published values are out of step.")
    return hit.iloc[0]


# --------------------------------------------------------------------------- proportions
def share_with_ci(count: int, n: int) -> tuple[float, float, float]:
    """A proportion with its exact (Clopper-Pearson) 95% CI; NaNs when n is 0."""
    from lwo.group_stats import clopper_pearson

    if n <= 0:
        return math.nan, math.nan, math.nan
    low, high = clopper_pearson(int(count), int(n))
    return count / n, low, high


def mean_with_ci(values: pd.Series) -> dict:
    """n, mean, SD and the t-based 95% CI of the mean of the non-missing values."""
    from lwo.group_stats import t_quantile

    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    n = len(x)
    if n < 2:
        return {"n": n, "mean": float(x.mean()) if n else math.nan, "sd": math.nan,
                "ci_low": math.nan, "ci_high": math.nan}
    sd = float(x.std(ddof=1))
    half = float(t_quantile(0.975, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": float(x.mean()), "sd": sd, "ci_low": float(x.mean()) - half,
            "ci_high": float(x.mean()) + half}


def share_test(count: int, n: int, *, unit: str) -> dict:
    """A published "k of n" as a share: exact (Clopper-Pearson) 95% CI and the exact binomial
    test of a share of one half, with the smallest p any result could reach at this n and a
    caveat on what the test can say. Columns as :func:`lwo.group_stats.compare_counts`."""
    from lwo.group_stats import binomial_test

    count, n = int(count), int(n)
    if n <= 0 or not 0 <= count <= n:
        raise ValueError(f"share_test: need 0 <= count <= n and n > 0, got {count} of {n}")
    share, lo, hi = share_with_ci(count, n)
    min_p = min(binomial_test(0, n), binomial_test(n, n))
    return {"kind": "share", "count_a": count, "n_a": n, "estimate_a": share,
            "ci_low": lo, "ci_high": hi, "p_exact": binomial_test(count, n),
            "min_attainable_p": min_p, "test": "exact binomial test of a share of one half",
            "caveat": (f"The {n} {unit} are not a random sample, so the CI and test describe "
                       f"how lopsided {count} of {n} is, not a population; with {n} {unit} "
                       f"the smallest attainable p is {min_p:.3g}.")}


# --------------------------------------------------------------------------- count tables
def with_totals_row_statement(statement: str, total_statement: str, *, min_cell: int, unit: str,
                              label: str) -> str:
    """A table's suppression statement with what its separately suppressed totals row adds (the
    further cells it hid), so that one statement counts every hidden cell."""
    from lwo.group_stats import small_cell_rule

    extra = total_statement.removeprefix(small_cell_rule(min_cell, unit, MARKER))
    return statement + (f" In the {label} row:" + extra if extra else "")


def suppress_blocks(table: pd.DataFrame, blocks: Sequence[Sequence[str]], *, min_cell: int,
                    unit: str, complementary: str = "both") -> tuple[pd.DataFrame, str]:
    """Small-cell suppression applied separately to blocks of count columns that add up to a
    shown total (e.g. surveys by subject; focus-group students by kind of group), with one
    statement for the whole table."""
    from lwo.group_stats import small_cell_rule, suppress_small_cells

    out = table
    n_primary = n_hidden = 0
    for block in blocks:
        block = list(block)
        values = table[block].apply(pd.to_numeric, errors="coerce")
        n_primary += int((values < min_cell).sum().sum())
        out, _ = suppress_small_cells(out, block, min_cell=min_cell, complementary=complementary,
                                      marker=MARKER, unit=unit)
        n_hidden += int(out[block].eq(MARKER).sum().sum())
    statement = small_cell_rule(min_cell, unit, MARKER)
    extra = n_hidden - n_primary
    if extra:
        statement += (f" {extra} further cell{'s are' if extra > 1 else ' is'} suppressed so "
                      "that no hidden count can be recovered from a shown total.")
    return out, statement

def count_table(df: pd.DataFrame, row: str, col: str, *, row_levels: Sequence,
                col_levels: Sequence[str], min_cell: int, unit: str, row_name: str,
                row_labels: Mapping | None = None, total_label: str = "All sites"
                ) -> tuple[pd.DataFrame, str]:
    """Counts of ``col`` categories within each ``row`` level, with small cells suppressed.

    Returns a long table (one row per row level x category, plus the totals over all row
    levels): ``row_name, category, n, row_total, percent`` (percent of the row), and the
    suppression statement. Counts below ``min_cell`` are replaced by :data:`MARKER`, and
    further cells are suppressed so that no hidden count can be recovered from a row or
    column total; the percent of a hidden count is hidden too (:data:`MARKER`). Rows with a
    missing ``row`` or ``col`` value are not counted (the caller states how many).
    """
    from lwo.group_stats import suppress_small_cells

    col_levels = list(col_levels)
    data = df[[row, col]].dropna()
    counts = (pd.crosstab(data[row], data[col])
              .reindex(index=list(row_levels), columns=col_levels, fill_value=0))
    wide = counts.copy()
    wide["row_total"] = counts.sum(axis=1)
    wide.loc[total_label] = wide.sum(axis=0)
    # suppression is decided on the row levels; the totals row is public, so every column
    # must hide none or at least two of its cells ("both")
    body, statement = suppress_small_cells(
        wide.drop(index=total_label).reset_index(drop=True), col_levels + ["row_total"],
        min_cell=min_cell, complementary="both", marker=MARKER, unit=unit)
    total, total_statement = suppress_small_cells(wide.loc[[total_label]].reset_index(drop=True),
                                                  col_levels + ["row_total"], min_cell=min_cell,
                                                  complementary="rows", marker=MARKER, unit=unit)
    statement = with_totals_row_statement(statement, total_statement, min_cell=min_cell, unit=unit,
                                          label=total_label)
    shown = pd.concat([body, total], ignore_index=True)
    labels = [(row_labels or {}).get(r, r) for r in row_levels] + [total_label]
    shown.insert(0, row_name, labels)
    raw = wide.reset_index(drop=True)

    rows = []
    for i in range(len(shown)):
        total_shown = shown.at[i, "row_total"]
        for c in col_levels:
            n_shown = shown.at[i, c]
            hidden = n_shown == MARKER
            total_n = raw.at[i, "row_total"]
            percent = (MARKER if hidden or total_shown == MARKER
                       else np.nan if total_n == 0 else round(100.0 * raw.at[i, c] / total_n, 6))
            rows.append({row_name: shown.at[i, row_name], "category": c,
                         "n": MARKER if hidden else int(raw.at[i, c]),
                         "row_total": MARKER if total_shown == MARKER else int(total_n),
                         "percent": percent})
    return pd.DataFrame(rows), statement


# --------------------------------------------------------------------------- comparisons
TWO_GROUP_COLUMNS = ["n_a", "n_b", "mean_a", "sd_a", "mean_b", "sd_b", "difference", "ci_low",
                     "ci_high", "t", "df", "p", "p_adjusted", "significant", "hedges_g"]
CLUSTER_COLUMNS = ["n_clusters", "se_cluster", "p_cluster", "p_cluster_adjusted",
                   "significant_cluster"]


def two_group_display(result: pd.DataFrame, names: tuple[str, str], *,
                      label_of: Mapping[str, str] | None = None,
                      extra: Sequence[str] = ()) -> pd.DataFrame:
    """The reader's columns of a many_welch_ttests / many_ols_group_differences result, with
    ``_a``/``_b`` renamed after the groups (e.g. ``mean_ela``) and the variable's label."""
    a, b = names
    cols = [c for c in TWO_GROUP_COLUMNS + list(extra) if c in result.columns]
    if "p_cluster" in result.columns:
        cols += [c for c in CLUSTER_COLUMNS if c in result.columns]
    cols += ["n_excluded_missing", "correction", "note"]
    out = result[["variable", *cols]].copy()
    out.insert(1, "label", [(label_of or {}).get(v, v.replace("_", " ")) for v in out["variable"]])

    def rename(c: str) -> str:
        for suffix, name in (("_a", a), ("_b", b)):
            if c.endswith(suffix) and c[: -len(suffix)] in ("n", "mean", "sd", "adjusted_mean",
                                                            "adjusted_mean_se"):
                return f"{c[: -len(suffix)]}_{name}"
        return c

    out = out.rename(columns={c: rename(c) for c in out.columns})
    return out.rename(columns={"difference": f"difference_{a}_minus_{b}"})


def subject_comparison(df: pd.DataFrame, columns: Sequence[str], *, min_n: int,
                       label_of: Mapping[str, str] | None = None, cluster: str | None = None,
                       correction: str = CORRECTION) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Welch t-tests ELA vs mathematics for each column, with the family's correction.

    ``min_n``: a subject group with fewer cases is not tested and its mean is withheld (the
    exhibits pass the privacy minimum cell size). Returns ``(raw, display)``: the full
    group_stats result and the reader's columns.
    """
    from lwo.group_stats import many_welch_ttests

    raw = many_welch_ttests(df, list(columns), "subject", groups=SUBJECTS, cluster=cluster,
                            min_n=min_n, correction=correction, alpha=ALPHA)
    return raw, two_group_display(raw, SUBJECTS, label_of=label_of)


def shared_quality_areas(codebook) -> list[str]:
    """The quality areas asked of both students and teachers (the report's "seven quality
    areas"; perceived inclusion is the student's own feeling and is not asked of teachers)."""
    return [c for c in codebook.hqc_subscales() if f"t_{c}" in codebook.teacher_scales]


def quality_by_subject(df: pd.DataFrame, columns: Sequence[str], *, domain_of: Mapping[str, str],
                       label_of: Mapping[str, str], family: str, min_n: int,
                       cluster: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`subject_comparison` of a family of quality areas, with each row's domain and
    family in the display table."""
    raw, display = subject_comparison(df, columns, min_n=min_n, label_of=label_of,
                                      cluster=cluster)
    display.insert(0, "family", family)
    display.insert(3, "domain", [domain_of[c] for c in raw["variable"]])
    return raw, display


RATING_SCALE = "1 = never/rarely, 4 = all of the time"


def add_family_correction(table: pd.DataFrame, correction: str = CORRECTION) -> pd.DataFrame:
    """Holm (or ``correction``) over the rows of a table of separate tests, as
    many_welch_ttests adds it; non-estimable rows stay out of the family."""
    from lwo.group_stats import multiple_comparison

    adj = multiple_comparison(table["p"].to_numpy(dtype=float), correction, alpha=ALPHA)
    table = table.copy()
    for col in ("p_adjusted", "significant", "correction", "n_tests", "n_significant"):
        table[col] = adj[col].to_numpy()
    return table[[c for c in table.columns if c != "note"] + ["note"]]


def composite_score(df: pd.DataFrame, items: Sequence[str], min_share: float) -> pd.Series:
    """Mean of the answered items, missing where fewer than ``min_share`` of them are answered
    (the codebook's scoring rule for scales)."""
    values = df[list(items)].astype(float)
    enough = values.notna().sum(axis=1) >= math.ceil(min_share * len(items))
    return values.mean(axis=1).where(enough)


def items_and_composite_by_subject(teachers: pd.DataFrame, items: Sequence[str], *,
                                   label_of: Mapping[str, str], composite: str,
                                   min_share: float, min_n: int, by_site: bool = True
                                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ELA vs mathematics teachers on each item (one Holm family), on the composite (the mean
    of the items; a test of its own) and, with ``by_site``, on the composite within each site
    (one Holm family over the sites: a check that the pooled difference is not one site's).

    Returns ``(raw, display)`` with a ``scope`` column ("item", "composite", "site N"); a site
    whose subject groups are below ``min_n`` gets a "not estimable: n = ..." row.
    """
    from lwo.group_stats import many_welch_ttests, welch_ttest

    data = teachers.copy()
    data["composite"] = composite_score(data, items, min_share)
    parts = []
    raw_items = many_welch_ttests(data, list(items), "subject", groups=SUBJECTS, min_n=min_n,
                                  correction=CORRECTION, alpha=ALPHA)
    parts.append(raw_items.assign(scope="item"))
    raw_comp = many_welch_ttests(data, ["composite"], "subject", groups=SUBJECTS, min_n=min_n,
                                 correction=CORRECTION, alpha=ALPHA)
    parts.append(raw_comp.assign(scope="composite"))
    if by_site:
        sites = sorted(data["school_id"].dropna().astype(int).unique())
        site_rows = pd.concat([welch_ttest(data[data["school_id"] == s], "composite", "subject",
                                           groups=SUBJECTS, min_n=min_n) for s in sites],
                              ignore_index=True)
        site_rows = add_family_correction(site_rows)
        parts.append(site_rows.assign(scope=[f"site {s}" for s in sites]))
    raw = pd.concat(parts, ignore_index=True)
    display = two_group_display(raw, SUBJECTS,
                                label_of=dict(label_of) | {"composite": composite})
    display.insert(0, "scope", raw["scope"])
    return raw, display



SEGMENT_TYPES = ("collaborative", "other")  # group a, group b: differences are collaborative − other


def observation_ratings(segments: pd.DataFrame, codebook, *, min_n: int
                        ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The tests of the classroom observations (Exhibit 39). Each quality area's score is the
    mean of its observation items (all of them needed: with two items, one alone is not the
    area); each area and each item gets a one-way ANCOVA of the rating on segment type with the
    visit's pre-rating as covariate and the classroom as cluster, Holm-corrected within its
    family (the areas; the items), its overall mean over all segments and its rank by that mean
    (areas within their domain, items among all).

    Returns the segments with the area scores added, the area rows, the item rows and the
    label of every area and item."""
    from lwo.group_stats import ancova_family

    family = dict(group="segment_type", covariate="pre_rating", levels=SEGMENT_TYPES, cluster="classroom_id",
                  correction=CORRECTION, alpha=ALPHA)
    items = codebook.observation_items
    area_names = [a for a in codebook.hqc_subscales()
                  if any(spec["area"] == a for spec in items.values())]
    items_of = {a: [i for i, spec in items.items() if spec["area"] == a] for a in area_names}
    segments = segments.copy()
    for a, cols in items_of.items():
        segments[a] = segments[cols].astype(float).mean(axis=1, skipna=False)
    domain_of = {a: codebook.student_constructs[a]["domain"] for a in area_names}
    label_of = {a: codebook.label(a) for a in area_names} | {i: f"{i}: {items[i]['text']}"
                                                            for i in items}

    areas = ancova_family(segments, area_names, unit="area", label_of=label_of, min_n=min_n, **family)
    item_rows = ancova_family(segments, list(items), unit="item", label_of=label_of, min_n=min_n, **family)
    areas.insert(3, "domain", [domain_of[a] for a in area_names])
    item_rows.insert(3, "domain", [domain_of[items[i]["area"]] for i in items])
    overall = segments[area_names + list(items)].mean()
    areas["overall_mean"] = overall[area_names].to_numpy()
    item_rows["overall_mean"] = overall[list(items)].to_numpy()
    areas["rank_in_domain"] = (areas.groupby("domain")["overall_mean"].rank(method="min")
                               .astype("Int64"))
    item_rows["rank_of_16"] = item_rows["overall_mean"].rank(method="min").astype("Int64")
    return segments, areas, item_rows, label_of


TEACHER_RATING_SCALE = "1 = not at all, 4 = to a great extent"


def small_group_note(min_n: int, unit: str) -> str:
    return (f"Small groups: a group with fewer than {min_n} {unit} is not tested and its mean "
            "is not shown (the row says 'not estimable' and why); group sizes are shown with "
            "every test.")


def hide_small_groups(table: pd.DataFrame, counts: Sequence[str], min_n: int, unit: str,
                      complementary: str = "rows") -> tuple[pd.DataFrame, str]:
    """Group sizes of ``unit`` below ``min_n`` are not shown: a marker stands in their column,
    and in the other group's of that row (the two add up to totals shown elsewhere; with
    ``complementary="both"`` also in a second row of a column, where rows add up to a shown row),
    and the row's not-estimable note says "fewer than <min_n> <unit> in a group" instead of the
    sizes. Such a row's count of excluded records is hidden too: the sample less it is the two
    hidden sizes' sum, which with the other rows' sizes can leave one value for the small one.
    Returns the table and the suppression statement ("" when nothing was hidden)."""
    from lwo.group_stats import suppress_small_cells

    table, statement = suppress_small_cells(table, list(counts), min_cell=min_n, marker=MARKER, unit=unit,
                                            complementary=complementary)
    hidden = table[list(counts)].eq(MARKER).any(axis=1)
    table.loc[hidden, "note"] = table.loc[hidden, "note"].str.replace(
        r"n = \d+ \([^)]*\)(?:, \d+ \([^)]*\))*", f"fewer than {min_n} {unit} in a group", regex=True)
    if not hidden.any():
        return table, ""
    if "n_excluded_missing" in table.columns:
        table["n_excluded_missing"] = table["n_excluded_missing"].astype(object).mask(hidden, MARKER)
        table.loc[hidden, "note"] = table.loc[hidden, "note"].str.replace(
            r"\b\d+ (rows? excluded)", rf"{MARKER} \1", regex=True)
        statement += " A row with a hidden size hides its count of excluded records too."
    return table, statement


def annotate_rows(table: pd.DataFrame, rows, comparison_row: dict) -> pd.DataFrame:
    """Put a published statement, the reproduced finding and their agreement on the table
    rows it concerns (``rows``: a boolean mask or index labels). A row that already carries
    a statement gets the second one after " | " in each of the three columns."""
    table = table.copy()
    for col in ("published", "reproduced", "agrees"):
        if col not in table.columns:
            table[col] = ""
        table[col] = table[col].fillna("").astype(str)
    values = {"published": f"{comparison_row['statement']}: {comparison_row['published']}",
              "reproduced": str(comparison_row["reproduced"]),
              "agrees": str(comparison_row["agrees"])}
    for col, value in values.items():
        old = table.loc[rows, col]
        table.loc[rows, col] = [f"{o} | {value}" if o else value for o in old]
    return table


def add_agreement(display: pd.DataFrame, raw: pd.DataFrame, published: pd.DataFrame,
                  key_of: Mapping[str, str], sign_of: Mapping[str, int],
                  names: tuple[str, str]) -> tuple[pd.DataFrame, list[dict]]:
    """``names``: the two groups as the reader sees them, e.g. ("ELA", "mathematics");
    ``sign_of[variable]``: the published direction, +1 (first group higher), -1 or 0."""
    """Put the published statement, the reproduced finding and their agreement beside each
    row whose variable has a published key; return the table and the comparison rows."""
    from lwo.exhibit import compare_statement

    display = display.copy()
    for col in ("published", "reproduced", "agrees"):
        if col not in display.columns:
            display[col] = ""
    comparison = []
    for i, var in enumerate(raw["variable"]):
        if var not in key_of:
            continue
        pub = published_row(published, key_of[var])
        r = raw.iloc[i]
        finding = describe_difference(r["difference"], r["p_adjusted"], names,
                                      r["significant"])
        agrees = direction_agreement(sign_of[var], r["difference"], r["significant"])
        row = compare_statement(pub, finding, agrees,
                                "direction and significance (adjusted p < 0.05) must both match")
        comparison.append(row)
        display = annotate_rows(display, [display.index[i]], row)
    return display, comparison


def leader_support_judge(key: str):
    """The agreement rule of Exhibits 43 and 44: the mean of the items significantly higher
    for ELA teachers and ELA higher on all items but at most one (\"nearly all areas\")."""
    from lwo.exhibit import compare_statement

    def judge(raw, display, published):
        composite = (raw["scope"] == "composite").to_numpy()
        r = raw[composite].iloc[0]
        items = raw[raw["scope"] == "item"]
        positive = int((items["difference"] > 0).sum())
        finding = (describe_difference(r["difference"], r["p_adjusted"],
                                       (SUBJECT_NAMES["ela"], SUBJECT_NAMES["math"]),
                                       r["significant"])
                   + f" on the mean of the items; ELA higher on {positive} of {len(items)} items "
                   f"({int(items['n_significant'].iloc[0])} significant after Holm)")
        estimable = r["difference"] == r["difference"]
        agrees = (bool(r["significant"] and r["difference"] > 0 and positive >= len(items) - 1)
                  if estimable else None)
        row = compare_statement(published_row(published, key), finding, agrees,
                                "mean of the items significantly higher for ELA (p < 0.05) and "
                                "ELA higher on all items but at most one")
        return annotate_rows(display, composite, row), [row]

    return judge
