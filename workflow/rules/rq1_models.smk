# Research question 1, structural models: each model fitted once per sample; the exhibits
# (Exhibits 12-31, rules generated in exhibits.smk from workflow/exhibits.yaml) read the saved fits.
#
#   results/models/<sample>/<model>/       rule sem_fit (one job per model: samples all, Black, White)
#   results/models/Black_vs_White/<model>/ rule sem_fit_multigroup (one likelihood over both groups)
#   results/models/<sample>/<model>/bootstrap.csv   bootstrap_batch + bootstrap_gather, when
#                                           config bootstrap.enabled (independent batch jobs)
# `snakemake rq1_model_fits` fits every structural model for every sample, whether an exhibit reads it or not.
import functools

from lwo.codebook import Codebook as _Codebook
from lwo.specs import MULTIGROUP_MODELS as _MULTIGROUP_MODELS
from lwo.specs import MULTIGROUP_SAMPLE, bootstrap_summary_files, saved_fit_files
from lwo.specs import rq1_models as _rq1_model_specs

_RQ1_SPECS = _rq1_model_specs(_Codebook.load(config["codebook"]))
# the structural models; the three measurement models (CFAs) are fitted by rule measurement_cfa
RQ1_MODELS = [name for name, spec in _RQ1_SPECS.items() if spec.outcomes]
# models with `:=` parameters (indirect, total, share mediated): the bootstrapped ones
RQ1_MEDIATION_MODELS = [name for name, spec in _RQ1_SPECS.items() if spec.mediators]
MODELS_DIR = f"{RESULTS}/models"
MULTIGROUP_DIR = f"{MODELS_DIR}/{MULTIGROUP_SAMPLE}"
MODEL_FILES = {
    "spec": "spec.lavaan",
    "data": "model_data.csv.gz",
    "estimates": "estimates.csv",
    "standardized": "standardized.csv",
    "correlations": "correlations.csv",
    "fit": "fit.json",
    "refit": "refit_in_lavaan.R",
    "first_stage": "first_stage.csv.gz",
}
MULTIGROUP_FILES = {
    **MODEL_FILES,
    "lr_tests": "lr_tests.csv",
    "constrained": "constrained_estimates.csv",
    "constrained_specs": "constrained_specs.lavaan",
    "contrasts": "group_contrasts.csv",
}
BOOTSTRAP = config["bootstrap"]
BOOTSTRAP_BATCHES = -(-int(BOOTSTRAP["resamples"]) // int(BOOTSTRAP["batch_size"]))


# the saved-fit files an exhibit reads, and the bootstrap summaries when the config asks
fit_files = functools.partial(saved_fit_files, MODELS_DIR)
bootstrap_files = functools.partial(
    bootstrap_summary_files, MODELS_DIR, enabled=bool(BOOTSTRAP["enabled"]), bootstrapped=RQ1_MEDIATION_MODELS
)


rule rq1_model_fits:
    """Every structural RQ1 model on every sample, and the Black-White multi-group models."""
    input:
        expand(f"{MODELS_DIR}/{{sample}}/{{model}}/fit.json", sample=SAMPLES, model=RQ1_MODELS),
        expand(f"{MULTIGROUP_DIR}/{{model}}/fit.json", model=_MULTIGROUP_MODELS),


rule sem_fit:
    """One RQ1 model on every sample (config samples), each fitted once: spec, the data fitted,
    estimates (lavaan parameterEstimates columns, std.all, classroom-clustered SEs), standardized
    solution with delta-method CIs, implied correlations, fit indices and status. One job per
    model: its samples share the spec and the data, and a job's start-up costs more than most
    fits."""
    input:
        students=analysis_data()["students"],
        codebook=config["codebook"],
        code=shared_code("sem_fit.py"),
    output:
        **per_sample({k: f"{MODELS_DIR}/{{sample}}/{{model}}/{v}" for k, v in MODEL_FILES.items()}),
    log:
        **per_sample({"log": f"{RESULTS}/logs/sem_fit/{{sample}}/{{model}}.log"}),
    benchmark:
        f"{RESULTS}/benchmarks/sem_fit/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(RQ1_MODELS),
    conda:
        CONDA_ENV
    params:
        samples=SAMPLES,
        max_iter=1000,
        min_cell=config["privacy"]["min_cell"],
        estimation=config_slice("estimation"),
    script:
        "../scripts/sem_fit.py"


rule sem_fit_multigroup:
    """Black and White students in one likelihood: the free model and, per set of key paths,
    the model with those paths equal across groups; likelihood-ratio tests."""
    input:
        students=analysis_data()["students"],
        codebook=config["codebook"],
        code=shared_code("sem_fit_multigroup.py"),
    output:
        **{k: f"{MULTIGROUP_DIR}/{{model}}/{v}" for k, v in MULTIGROUP_FILES.items()},
    log:
        f"{RESULTS}/logs/sem_fit_multigroup/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sem_fit_multigroup/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(_MULTIGROUP_MODELS),
    conda:
        CONDA_ENV
    params:
        max_iter=1000,
        min_cell=config["privacy"]["min_cell"],
        estimation=config_slice("estimation"),
    script:
        "../scripts/sem_fit_multigroup.py"


rule bootstrap_batch:
    """One batch of bootstrap resamples of a saved fit (classrooms resampled with replacement,
    with all their students; the model refitted): independent jobs, so they spread over a cluster."""
    input:
        spec=f"{MODELS_DIR}/{{sample}}/{{model}}/spec.lavaan",
        data=f"{MODELS_DIR}/{{sample}}/{{model}}/model_data.csv.gz",
        fit=f"{MODELS_DIR}/{{sample}}/{{model}}/fit.json",
        code=shared_code("bootstrap_batch.py"),
    output:
        f"{MODELS_DIR}/{{sample}}/{{model}}/bootstrap/batch_{{batch}}.csv",
    log:
        f"{RESULTS}/logs/bootstrap/{{sample}}/{{model}}/batch_{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/bootstrap/{{sample}}/{{model}}/batch_{{batch}}.tsv"
    wildcard_constraints:
        sample="|".join(SAMPLES),
        model="|".join(RQ1_MEDIATION_MODELS),
        batch=r"\d+",
    conda:
        CONDA_ENV
    params:
        seed=BOOTSTRAP["seed"],
        resamples=BOOTSTRAP["resamples"],
        batch_size=BOOTSTRAP["batch_size"],
        estimation=config_slice("estimation"),
    script:
        "../scripts/bootstrap_batch.py"


rule bootstrap_gather:
    """Percentile 95% CIs and bootstrap SEs from all batches of one saved fit."""
    input:
        batches=expand(
            f"{MODELS_DIR}/{{{{sample}}}}/{{{{model}}}}/bootstrap/batch_{{batch}}.csv", batch=range(BOOTSTRAP_BATCHES)
        ),
        code=shared_code("bootstrap_gather.py"),
    output:
        f"{MODELS_DIR}/{{sample}}/{{model}}/bootstrap.csv",
    log:
        f"{RESULTS}/logs/bootstrap/{{sample}}/{{model}}/gather.log",
    wildcard_constraints:
        sample="|".join(SAMPLES),
        model="|".join(RQ1_MEDIATION_MODELS),
    conda:
        CONDA_ENV
    params:
        resamples=BOOTSTRAP["resamples"],
    script:
        "../scripts/bootstrap_gather.py"
