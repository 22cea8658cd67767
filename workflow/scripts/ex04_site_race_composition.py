"""Exhibit 4: racial/ethnic composition of the participating sites.

Self-reported race of the participating (surveyed) students at each site, with small cells
suppressed. The report shows each school's enrollment composition; the data hold only the
study's students, so the site shares here describe the study sample at each site. The
published selection criterion (each site at least 20% Black and 20% White) is checked on
these shares.
"""
import yaml

from lwo.descriptives import count_table, data_source_label, exclusion_note, published_row, read_analysis_table
from lwo.descriptive_exhibits import stacked_shares_figure
from lwo.exhibit import compare_statement, published_rows, write_exhibit
from lwo.runner import run


def main(sm):
    published = published_rows(sm.input.published, "4")
    with open(sm.input.codebook, encoding="utf-8") as fh:
        races = yaml.safe_load(fh)["student_records"]["race"]["values"]
    students = read_analysis_table(sm.input.students)
    min_cell = int(sm.params.min_cell)

    sample = students[students["surveyed"] == 1]
    sites = sorted(students["school_id"].dropna().astype(int).unique())
    table, suppression = count_table(
        sample, "school_id", "race", row_levels=sites, col_levels=races, min_cell=min_cell,
        unit="students", row_name="site", row_labels={s: f"Site {s}" for s in sites})

    comparison = []
    known = sample.dropna(subset=["race"])
    for race in ("Black", "White"):
        shares = known.groupby("school_id")["race"].apply(lambda r: float((r == race).mean()))
        pub = published_row(published, f"min_share_{race.lower()}_site")
        lowest_site = int(shares.idxmin())
        comparison.append(compare_statement(
            pub, f"lowest site share {race}: {shares.min():.2f} (site {lowest_site})",
            bool(shares.min() >= float(pub["value"])),
            f"every site's share in the study sample at or above {float(pub['value']):.2f}"))

    notes = [
        "Shares are of the study's surveyed students at each site (school enrollment "
        "composition is not in the data).",
        "Missing data: " + exclusion_note(int((students["surveyed"] != 1).sum()),
                                          "no survey (race is self-reported on the survey)")
        + "; " + exclusion_note(int(sample["race"].isna().sum()), "race not reported") + ".",
        suppression + " Percentages of suppressed cells are not shown.",
        "Multiple comparisons: none (no tests in this exhibit).",
    ]
    source = data_source_label(sm.input.summary)
    figure = stacked_shares_figure(table, "site", races,
                                   title="Self-reported race of surveyed students, by site",
                                   source=source, suppression=suppression)
    write_exhibit(sm.output, exhibit="4", title="Racial/ethnic composition of participating sites",
                  section="Study design", table=table, comparison=comparison, figure=figure,
                  caption="Self-reported race of the surveyed students at each site.",
                  notes=notes + ["Data: " + source])


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
