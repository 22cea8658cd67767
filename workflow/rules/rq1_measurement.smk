# Research question 1, measurement: the three measurement models, fitted here once per sample
# into the same layout as the structural models of rq1_models.smk (lwo.sem_results.save_fit):
# results/models/{sample}/{model}/, beside the same model by WLSMV (ordered items; wlsmv_*).
# Exhibits 8-10 (exhibits.smk) read those files.

MEASUREMENT_MODELS = {"8": "hqc_second_order", "9": "classroom_environment_cfa", "10": "mindset_cfa"}


rule measurement_cfa:
    """Fit one measurement model to every sample (config samples) and save spec, data,
    estimates and fit of each. One job per model: its samples share the spec and the data, and
    a job's start-up costs about as much as a fit."""
    input:
        students=analysis_data()["students"],
        codebook=config["codebook"],
        code=shared_code("measurement_cfa.py"),
    output:
        **per_sample(
            {
                k: f"{RESULTS}/models/{{sample}}/{{model}}/{v}"
                for k, v in (
                    ("spec", "spec.lavaan"),
                    ("data", "model_data.csv.gz"),
                    ("estimates", "estimates.csv"),
                    ("fit", "fit.json"),
                    ("refit", "refit_in_lavaan.R"),
                    ("wlsmv_estimates", "wlsmv_estimates.csv"),
                    ("wlsmv_fit", "wlsmv_fit.json"),
                    ("wlsmv_first_stage", "wlsmv_first_stage.csv.gz"),
                )
            }
        ),
    log:
        **per_sample({"log": f"{RESULTS}/logs/measurement_cfa/{{sample}}_{{model}}.log"}),
    benchmark:
        f"{RESULTS}/benchmarks/measurement_cfa/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(MEASUREMENT_MODELS.values()),
    conda:
        CONDA_ENV
    params:
        samples=SAMPLES,
        estimation=config_slice("estimation"),
    script:
        "../scripts/measurement_cfa.py"
