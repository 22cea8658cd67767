"""Exhibit 39: classroom observations, ratings during collaborative groups vs other activities.

Each observed segment is rated on 16 items (two per quality area, 1-4). For each area (the
mean of its two items) and each item: a one-way ANCOVA of the rating on segment type
(collaborative vs other) with the visit's pre-rating as covariate, adjusted means, partial
eta squared, a Holm correction within each family (8 areas; 16 items), and a Wald F test
with classroom-clustered errors as the sensitivity check (segments are nested in
classrooms). The overall means rank the areas and items (the published "lowest" statements,
with the gap to the next one tested on classroom means). Classrooms with at least one
collaborative segment, by site, go to a second table (classrooms_by_site.csv).
"""
import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.descriptives import (ALPHA, CORRECTION, annotate_rows, cluster_note, correction_note, data_source_label,
                              describe_difference, direction_agreement, exclusion_note, number_row, p_text,
                              published_row, read_analysis_table, share_with_ci, small_group_note)
from lwo.descriptive_exhibits import footnote
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.group_stats import ancova_family, cluster_paired_gap
from lwo.io import write_csv
from lwo.plotting import GROUP_COLOURS, PALETTE, mark_data_source, new_figure
from lwo.runner import run

LEVELS = ("collaborative", "other")
# each rating: ANCOVA by segment type, the pre-visit rating as covariate; Holm over the family
FAMILY = dict(group="segment_type", covariate="pre_rating", levels=LEVELS, cluster="classroom_id",
              correction=CORRECTION, alpha=ALPHA)


def figure_of(areas: pd.DataFrame, sites: pd.DataFrame, source: str):
    fig, (ax, bx) = new_figure(1, 2, figsize=(10.5, 4.6), width_ratios=[2.2, 1])
    y = np.arange(len(areas))[::-1]
    for i in range(len(areas)):
        vals = [areas[f"adjusted_mean_{lv}"].iloc[i] for lv in LEVELS]
        if np.all(np.isfinite(vals)):
            ax.plot(vals, [y[i]] * 2, color="#bbbbbb", lw=2, zorder=1)
    for lv in LEVELS:
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


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    published = published_rows(sm.input.published, "39")
    segments = read_analysis_table(sm.input.observations)
    classrooms = read_analysis_table(sm.input.classrooms)
    min_n = int(sm.params.min_cell)

    items = codebook.observation_items
    area_names = [a for a in codebook.hqc_subscales()
                  if any(spec["area"] == a for spec in items.values())]
    items_of = {a: [i for i, spec in items.items() if spec["area"] == a] for a in area_names}
    for a, cols in items_of.items():
        # an area's score needs all its items: with two items, one alone is not the area
        segments[a] = segments[cols].astype(float).mean(axis=1, skipna=False)
    domain_of = {a: codebook.student_constructs[a]["domain"] for a in area_names}
    label_of = {a: codebook.label(a) for a in area_names} | {i: f"{i}: {items[i]['text']}"
                                                            for i in items}

    areas = ancova_family(segments, area_names, unit="area", label_of=label_of, min_n=min_n, **FAMILY)
    item_rows = ancova_family(segments, list(items), unit="item", label_of=label_of, min_n=min_n, **FAMILY)
    areas.insert(3, "domain", [domain_of[a] for a in area_names])
    item_rows.insert(3, "domain", [domain_of[items[i]["area"]] for i in items])
    overall = segments[area_names + list(items)].mean()
    areas["overall_mean"] = overall[area_names].to_numpy()
    item_rows["overall_mean"] = overall[list(items)].to_numpy()
    areas["rank_in_domain"] = (areas.groupby("domain")["overall_mean"].rank(method="min")
                               .astype("Int64"))
    item_rows["rank_of_16"] = item_rows["overall_mean"].rank(method="min").astype("Int64")

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
    second, third = dynamic["variable"].iloc[1], dynamic["variable"].iloc[2]
    gap, p_gap, g = cluster_paired_gap(segments, second, third, "classroom_id")
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
    source = data_source_label(sm.input.summary)
    write_csv(by_site.round(6), sm.output.classrooms_by_site)
    write_exhibit(sm.output, exhibit="39", title="Classroom observations: ratings during "
                  "collaborative groups versus other classroom activities",
                  section="RQ2: Opportunities for collaboration", table=table,
                  comparison=comparison, figure=figure_of(areas, sites, source),
                  caption="Adjusted mean observation ratings by segment type (ANCOVA), and the "
                  "share of observed classrooms with collaboration by site.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
