# Research question 1, measurement: reliability, CFA, measurement invariance (Exhibits 8-10),
# and the diagrams of the study's model (Exhibits 1, 2, 14, 20).
#
# The three measurement models are fitted here, once per sample, into the same layout as the
# structural models of rq1_models.smk (lwo.sem_results.save_fit): results/models/{sample}/{model}/.
# Exhibits 8-10 read those files.

MEASUREMENT_MODELS = {"8": "hqc_second_order", "9": "classroom_environment_cfa", "10": "mindset_cfa"}


rule measurement_cfa:
    """Fit one measurement model to one sample and save spec, data, estimates and fit."""
    input:
        students=analysis_data()["students"],
        codebook=config["codebook"],
        code=shared_code("measurement_cfa.py"),
    output:
        **{k: f"{RESULTS}/models/{{sample}}/{{model}}/{v}" for k, v in (
            ("spec", "spec.lavaan"), ("data", "model_data.csv.gz"), ("estimates", "estimates.csv"),
            ("fit", "fit.json"), ("refit", "refit_in_lavaan.R"))},
    wildcard_constraints:
        model="|".join(MEASUREMENT_MODELS.values()),
        sample="|".join(SAMPLES),
    log:
        f"{RESULTS}/logs/measurement_cfa/{{sample}}_{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measurement_cfa/{{sample}}_{{model}}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/measurement_cfa.py"


# Exhibits 8-10 read the saved fits of their model for every sample (estimates_<sample>,
# fit_<sample>) and write, beside the usual exhibit files, item statistics, the CFA fit by
# sample and the EFA loadings.
MEASUREMENT_INPUTS = {
    exhibit: {
        "students": analysis_data()["students"], "summary": analysis_data()["summary"],
        "codebook": config["codebook"], "published": config["published_values"],
        **{f"estimates_{s}": f"{RESULTS}/models/{s}/{model}/estimates.csv" for s in SAMPLES},
        **{f"fit_{s}": f"{RESULTS}/models/{s}/{model}/fit.json" for s in SAMPLES},
    }
    for exhibit, model in MEASUREMENT_MODELS.items()
}
MEASUREMENT_OUTPUTS = {
    exhibit: {
        **exhibit_outputs(exhibit),
        "item_statistics": f"{RESULTS}/exhibits/{exhibit}/item_statistics.csv",
        "cfa_fit": f"{RESULTS}/exhibits/{exhibit}/cfa_fit.csv",
        "efa": f"{RESULTS}/exhibits/{exhibit}/efa_loadings.csv",
    }
    for exhibit in MEASUREMENT_MODELS
}


rule ex08_hqc_measurement:
    """The 8 HQC subscales: items, alpha, omega, item statistics, second-order CFA, EFA."""
    input:
        **MEASUREMENT_INPUTS["8"],
        code=shared_code("ex08_hqc_measurement.py"),
    output:
        **MEASUREMENT_OUTPUTS["8"],
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex08.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex08.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex08_hqc_measurement.py"


rule ex09_classroom_environment_measurement:
    """The 7 classroom-environment measures: items, alpha, omega, item statistics, CFA, EFA."""
    input:
        **MEASUREMENT_INPUTS["9"],
        code=shared_code("ex09_classroom_environment_measurement.py"),
    output:
        **MEASUREMENT_OUTPUTS["9"],
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex09.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex09.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex09_classroom_environment_measurement.py"


rule ex10_mindset_measurement:
    """The 6 mind-set and disposition outcomes: items, alpha, omega, item statistics, CFA, EFA."""
    input:
        **MEASUREMENT_INPUTS["10"],
        code=shared_code("ex10_mindset_measurement.py"),
    output:
        **MEASUREMENT_OUTPUTS["10"],
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex10.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex10.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex10_mindset_measurement.py"


rule exInvariance_measurement_invariance:
    """Configural, metric and scalar invariance across Black and White students, per
    construct and per block, with the items responsible where a level fails."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("exInvariance_measurement_invariance.py"),
    output:
        **exhibit_outputs("invariance"),
        models=f"{RESULTS}/exhibits/invariance/models.csv",
    log:
        f"{RESULTS}/logs/exInvariance.log",
    benchmark:
        f"{RESULTS}/benchmarks/exInvariance.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/exInvariance_measurement_invariance.py"


# ---------------------------------------------------------------- diagrams
rule ex01_personalization_domains:
    """Exhibit 1: the domains for personalizing learning, drawn from a one-factor spec."""
    input:
        code=shared_code("ex01_personalization_domains.py"),
    output:
        **exhibit_outputs("1", tex=False),
    log:
        f"{RESULTS}/logs/ex01.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex01.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex01_personalization_domains.py"


rule ex02_theorized_model:
    """Exhibit 2: the theorized model, drawn from its path spec; boxes list the codebook's domains."""
    input:
        codebook=config["codebook"],
        code=shared_code("ex02_theorized_model.py"),
    output:
        **exhibit_outputs("2", tex=False),
    log:
        f"{RESULTS}/logs/ex02.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex02.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex02_theorized_model.py"


rule ex14_direct_vs_mediated:
    """Exhibits 14a and 14b: the direct and the mediated theorized links, from their specs."""
    input:
        codebook=config["codebook"],
        code=shared_code("ex14_direct_vs_mediated.py"),
    output:
        **exhibit_outputs("14", tex=False),
    log:
        f"{RESULTS}/logs/ex14.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex14.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex14_direct_vs_mediated.py"


# Exhibit 20 reads the saved fit of rule sem_fit (rq1_models.smk).
rule ex20_personalization_mediation_diagram:
    """Exhibit 20: HQC -> personalization -> mind-sets, with the standardized estimates of the
    saved fit (rule sem_fit) on the arrows."""
    input:
        estimates=f"{RESULTS}/models/all/hqc_mindsets_via_personalization/estimates.csv",
        standardized=f"{RESULTS}/models/all/hqc_mindsets_via_personalization/standardized.csv",
        fit=f"{RESULTS}/models/all/hqc_mindsets_via_personalization/fit.json",
        codebook=config["codebook"],
        summary=analysis_data()["summary"],
        code=shared_code("ex20_personalization_mediation_diagram.py"),
    output:
        **exhibit_outputs("20"),
    log:
        f"{RESULTS}/logs/ex20.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex20.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex20_personalization_mediation_diagram.py"
