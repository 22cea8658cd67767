"""Summary of the Monte Carlo replication study: per key finding and cell of the grid, power,
bias, RMSE, CI coverage and convergence rate with their Monte Carlo SEs (against the population
model of the cell's design); the cohort size needed for the target power to detect the Black vs
White difference in HQC -> grades; power and coverage figures; the exhibit for the report."""
import json

import pandas as pd

from lwo.exhibit import load_published, write_exhibit
from lwo.io import read_yaml, write_csv
from lwo.plotting import save_figure
from lwo.population import build_population
from lwo.replication import (FINDINGS, HEADLINE, SECTION, check_complete, cohort_size_for_power,
                             group_difference_test, grid, population_values, summarise, with_share_black)
from lwo.replication_figures import coverage_figure, power_figure
from lwo.codebook import Codebook
from lwo.sem_results import continuous_estimation_text, estimation_options
from lwo.runner import run

EXHIBIT_KEYS = ("table", "tex", "comparison", "meta", "png", "svg")


def read_batches(paths) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={"seed": "string", "message": "string"}, keep_default_na=True)
              for p in paths]
    table = pd.concat(frames, ignore_index=True)
    for column in ("significant", "converged", "improper"):
        if table[column].dtype != bool:
            raise ValueError(f"results/replication/batches: column {column} is not True/False; rerun the batches")
    return table


def published_values(path) -> dict[str, str]:
    published = load_published(path)
    lookup = {(r.exhibit, r.key): r.value for r in published.itertuples()}
    return {f.key: lookup.get(f.published, "") if f.published else "" for f in FINDINGS}


def exhibit_table(summary: pd.DataFrame, published: dict[str, str], estimation: dict) -> pd.DataFrame:
    titles = {f.key: f.title for f in FINDINGS}
    tests = {f.key: f.test(estimation) for f in FINDINGS}
    table = pd.DataFrame({
        "finding": summary["finding"].map(titles),
        "cohort_size": summary["n_students"],
        "share_black": summary["share_black"],
        "population_value": summary["population_value"],
        "published": summary["finding"].map(published),
        "test": summary["finding"].map(tests),
        "power": summary["power"],
        "power_mcse": summary["power_mcse"],
        "bias": summary["bias"],
        "rmse": summary["rmse"],
        "coverage": summary["coverage"],
        "convergence_rate": summary["convergence_rate"],
        "replicates": summary["replicates"],
    })
    # the headline first: the report shows a long table's first rows only
    order = {f.key: (-1 if f.key == HEADLINE else i) for i, f in enumerate(FINDINGS)}
    table["_order"] = summary["finding"].map(order)
    return (table.sort_values(["_order", "share_black", "cohort_size"], ascending=[True, False, True], kind="stable")
            .drop(columns="_order").reset_index(drop=True))


def size_sentence(row) -> str:
    share = f"{100 * row.share_black:g}% Black"
    if row.status.startswith("interpolated"):
        return (f"{share}: about {row.n_required:,.0f} students (power {row.power_below:.2f} at "
                f"{row.n_below:,.0f}, {row.power_above:.2f} at {row.n_above:,.0f})")
    return f"{share}: {row.status}"


def main(sm):
    cfg = json.loads(sm.params.replication)
    estimation = estimation_options(json.loads(sm.params.estimation))
    cluster = estimation["cluster"]
    difference_test = group_difference_test(estimation)
    cells = grid(cfg)
    replicates = read_batches(sm.input.batches)
    check_complete(replicates, cells, cfg["replicates"])

    with open(sm.input.population_model, encoding="utf-8") as fh:
        population_model = read_yaml(fh)
    codebook = Codebook.load(sm.input.codebook)
    truths, by_share = [], {}
    for cell in cells:
        if cell.share_black not in by_share:
            population = build_population(with_share_black(population_model, cell.share_black), codebook)
            by_share[cell.share_black] = population_values(population)
        truths += [{"cell": cell.id, "finding": k, "population_value": v} for k, v in by_share[cell.share_black].items()]
    summary = summarise(replicates, pd.DataFrame(truths))
    sizes = cohort_size_for_power(summary, HEADLINE, cfg["target_power"])
    write_csv(summary, sm.output.summary)
    write_csv(sizes, sm.output.cohort_size)

    level = 1 - cfg["alpha"]
    source = (f"Monte Carlo: {cfg['replicates']} synthetic cohorts per cell from the population model "
              f"(seed {cfg['seed']})")
    power = power_figure(summary, cfg["target_power"], source)
    save_figure(power, sm.output.power_png, close=False)
    save_figure(power, sm.output.power_svg, close=False)
    coverage = coverage_figure(summary, level, source)
    save_figure(coverage, sm.output.coverage_png, close=False)
    save_figure(coverage, sm.output.coverage_svg)

    classroom_share = population_model["structural"]["hqc"]["classroom_share_of_variance"]
    failed = int((~replicates["converged"]).sum())
    improper = int(replicates["improper"].sum())
    headline = summary[summary["finding"] == HEADLINE]
    share = f"{100 * classroom_share:g}% of HQC's variance lies between classrooms in the population model"
    if cluster and estimation["estimator"] == "MLR":
        nesting = f"SEs are cluster-robust (clusters: {cluster}; {share})"
    else:  # ML keeps normal-theory SEs for the paths even with a cluster
        nesting = (f"The paths' SEs are normal-theory and ignore students' nesting in classrooms ({share}): "
                   "coverage shows what that costs")
    notes = [
        f"Cohort size for {100 * cfg['target_power']:g}% power to detect the Black vs White difference in "
        f"HQC -> grades ({difference_test}, alpha "
        f"{cfg['alpha']:g}): " + "; ".join(size_sentence(r) for r in sizes.itertuples()) + "."
        + (" Interpolated on the probit scale in the square root of the cohort size; never extrapolated."
           if sizes["status"].str.startswith("interpolated").any() else ""),
        f"Design: cohort sizes {', '.join(str(n) for n in cfg['cohort_sizes'])} (all students, as in Exhibit 6) x "
        f"share of Black students among the surveyed {', '.join(f'{s:g}' for s in cfg['share_black'])}; "
        f"{cfg['replicates']} replicates per cell, seed {cfg['seed']}. Each cohort is drawn from the "
        "population model (config/population_model.yaml), recalibrated for the cell's share, and analysed "
        "as the build analyses the study's data: its RQ1 models (HQC latent over its 8 subscale scores, the "
        "study's controls, prior grade for grades), estimated as the config's estimation block says: "
        f"{continuous_estimation_text(estimation, cluster, across_groups=True)}; survey items as continuous.",
        "Power: share of all replicates with a significant result (a replicate whose model did not converge "
        "counts as not significant). Bias, RMSE and coverage of the "
        f"{100 * level:g}% Wald CI: over converged replicates, against the population value of the cell's "
        "design. Estimates are standardized (std.all, delta-method SEs); tests are Wald z tests of the raw "
        "path (of the indirect effect for the percent mediated). Monte Carlo SEs: Morris, White & "
        "Crowther (2019).",
        "Black minus White: difference of the within-group standardized HQC -> grade paths in one "
        "two-group model (equal loadings except the perceived-inclusion parcel), tested as the Black-White "
        f"exhibits decide, by the {difference_test} (raw paths).",
        f"Convergence: {failed} of {len(replicates)} finding estimates have no estimate or no test value (the "
        "model did not converge or could not be fitted, or the test had no value; counted, not dropped; "
        f"lowest rate for the headline {headline['convergence_rate'].min():.2f}); {improper} converged "
        "with an improper solution (kept).",
        "Population values are those of the latent constructs; the models see 1-4 item answers and "
        f"subscale scores, so bias includes measurement error. {nesting}.",
    ]
    figure = power_figure(summary, cfg["target_power"], source)
    write_exhibit({k: sm.output[k] for k in EXHIBIT_KEYS}, exhibit="replication",
                  title="Would the findings replicate? Power, bias and coverage of the key RQ1 findings "
                        "by cohort size",
                  section=SECTION, table=exhibit_table(summary, published_values(sm.input.published), estimation),
                  comparison=None, figure=figure,
                  caption="Monte Carlo study on cohorts drawn from the calibrated population model: power "
                          "of each key finding by cohort size and share of Black students (dashed line: "
                          f"{100 * cfg['target_power']:g}% power; bars: 95% Monte Carlo intervals).",
                  notes=notes, status="ok")


run(main, snakemake)
