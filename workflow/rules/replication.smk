# Monte Carlo replication study (target: replication; not in the default build).
#
#   snakemake --cores 2 replication                                            this machine
#   snakemake --profile profiles/slurm replication                             a Slurm cluster
#   (profiles/slurm/README.md)
#
# Scatter: one replicate_batch job per cell of the grid (cohort size x share of Black students)
# and batch of `replication.batch_size` replicates. Gather: one replication_summary job. A
# replicate's cohort depends only on the seed, its cell and its index (lwo.replication), so the
# results do not depend on the batching or on where the jobs ran.
import lwo.replication_grid as lwo_replication

REPLICATION = config["replication"]
REPLICATION_DIR = f"{RESULTS}/replication"
REPLICATION_EXHIBIT_DIR = f"{RESULTS}/exhibits/replication"

# The report shows the study when its exhibit exists: its registry entry (workflow/exhibits.yaml)
# has `target: replication`, so it is not registered with exhibit_outputs() (the default build).


REPLICATION_OUTPUTS = {
    "summary": f"{REPLICATION_DIR}/summary.csv",
    "cohort_size": f"{REPLICATION_DIR}/cohort_size_for_power.csv",
    "power_png": f"{REPLICATION_DIR}/power_by_n.png",
    "power_svg": f"{REPLICATION_DIR}/power_by_n.svg",
    "coverage_png": f"{REPLICATION_DIR}/coverage_by_n.png",
    "coverage_svg": f"{REPLICATION_DIR}/coverage_by_n.svg",
    # the exhibit layout of lwo.exhibit, for the report
    "table": f"{REPLICATION_EXHIBIT_DIR}/table.csv",
    "tex": f"{REPLICATION_EXHIBIT_DIR}/table.tex",
    "comparison": f"{REPLICATION_EXHIBIT_DIR}/comparison.csv",
    "meta": f"{REPLICATION_EXHIBIT_DIR}/meta.json",
    "png": f"{REPLICATION_EXHIBIT_DIR}/figure.png",
    "svg": f"{REPLICATION_EXHIBIT_DIR}/figure.svg",
}


rule replication:
    """The Monte Carlo replication study: power, bias, RMSE, CI coverage and convergence of the
    key RQ1 findings by cohort size and share of Black students."""
    input:
        **REPLICATION_OUTPUTS,
    localrule: True


rule replicate_batch:
    """Draw the batch's cohorts from the population model and estimate every key finding on
    each: one row per replicate and finding (non-converged fits included, flagged)."""
    input:
        population_model=config["synthetic"]["population_model"],
        codebook=config["codebook"],
        code=shared_code("replicate_batch.py"),
    output:
        f"{REPLICATION_DIR}/batches/{{cell}}/batch{{batch}}.csv",
    log:
        f"{RESULTS}/logs/replication/{{cell}}/batch{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/replication/{{cell}}/batch{{batch}}.tsv"
    wildcard_constraints:
        cell=r"n\d+-black[0-9.]+",
        batch=r"\d+",
    conda:
        CONDA_ENV
    threads: 1
    params:
        # what this batch computes: a change reruns it; more replicates only add batches
        design=lambda wildcards: lwo_replication.batch_design(REPLICATION, int(wildcards.batch)),
        # each replicate is analysed as the build analyses the study's data
        estimation=config_slice("estimation"),
    script:
        "../scripts/replicate_batch.py"


rule replication_summary:
    """Per finding and cell: power, bias, RMSE, coverage, convergence (with Monte Carlo SEs);
    the cohort size for the target power; figures; the exhibit."""
    input:
        batches=lwo_replication.batch_files(REPLICATION, REPLICATION_DIR),
        population_model=config["synthetic"]["population_model"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("replication_summary.py"),
    output:
        **REPLICATION_OUTPUTS,
    log:
        f"{RESULTS}/logs/replication/summary.log",
    benchmark:
        f"{RESULTS}/benchmarks/replication/summary.tsv"
    conda:
        CONDA_ENV
    params:
        replication=config_slice("replication"),
        estimation=config_slice("estimation"),
    script:
        "../scripts/replication_summary.py"
