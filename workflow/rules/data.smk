# Input data: the calibrated synthetic cohort (default) or real files, validated against the codebook.


rule synthetic_cohort:
    """Draw the synthetic cohort from the calibrated population model."""
    input:
        population_model=config["synthetic"]["population_model"],
        codebook=config["codebook"],
        code=shared_code("synthetic_cohort.py"),
    output:
        students=f"{RESULTS}/data/synthetic/students.csv",
        classrooms=f"{RESULTS}/data/synthetic/classrooms.csv",
        teachers=f"{RESULTS}/data/synthetic/teachers.csv",
        observations=f"{RESULTS}/data/synthetic/observations.csv",
        # diagnostic only: the latent variables behind the answers; never read by the report
        latents=f"{RESULTS}/diagnostics/synthetic_latents.csv.gz",
        calibration=f"{RESULTS}/diagnostics/population_calibration.json",
    log:
        f"{RESULTS}/logs/synthetic_cohort.log",
    benchmark:
        f"{RESULTS}/benchmarks/synthetic_cohort.tsv"
    conda:
        CONDA_ENV
    params:
        seed=config["synthetic"]["seed"],
        n_students=config["synthetic"]["n_students"],
    script:
        "../scripts/synthetic_cohort.py"


rule analysis_data:
    """Validate the tables given against the codebook and add scale scores."""
    input:
        **raw_tables(),
        codebook=config["codebook"],
        code=shared_code("analysis_data.py"),
    output:
        **{k: v for k, v in analysis_data().items() if k in available_tables() or k == "summary"},
    log:
        f"{RESULTS}/logs/analysis_data.log",
    benchmark:
        f"{RESULTS}/benchmarks/analysis_data.tsv"
    conda:
        CONDA_ENV
    params:
        source=config["data"]["source"],
        # the data source the report's front page names (config data.label, or the files)
        label=config["data"].get("label"),
        example=config["data"].get("example", False),
        seed=config["synthetic"]["seed"] if synthetic() else None,
        min_cell=config["privacy"]["min_cell"],
    script:
        "../scripts/analysis_data.py"


rule example_district:
    """The worked example's export: a messy district-like student file (every student, a fifth of
    the item answers blank) made from the synthetic cohort; config/example_district.yaml reads it."""
    input:
        students=f"{RESULTS}/data/synthetic/students.csv",
        codebook=config["codebook"],
        code=shared_code("example_district.py"),
    output:
        students="results/example/example_district_students.csv",
    log:
        f"{RESULTS}/logs/example_district.log",
    conda:
        CONDA_ENV
    params:
        seed=config["synthetic"]["seed"],
    script:
        "../scripts/example_district.py"
