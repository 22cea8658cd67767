# Research question 1, structural models: each model fitted once per sample; exhibits read the saved fits (Exhibits 12-31).
#
#   results/models/<sample>/<model>/       rule sem_fit (sample: all, Black, White)
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
MODEL_FILES = {"spec": "spec.lavaan", "data": "model_data.csv.gz", "estimates": "estimates.csv",
               "standardized": "standardized.csv", "correlations": "correlations.csv", "fit": "fit.json",
               "refit": "refit_in_lavaan.R"}
MULTIGROUP_FILES = {**MODEL_FILES, "lr_tests": "lr_tests.csv", "constrained": "constrained_estimates.csv",
                    "constrained_specs": "constrained_specs.lavaan", "contrasts": "group_contrasts.csv"}
BOOTSTRAP = config["bootstrap"]
BOOTSTRAP_BATCHES = -(-int(BOOTSTRAP["resamples"]) // int(BOOTSTRAP["batch_size"]))


# the saved-fit files an exhibit reads, and the bootstrap summaries when the config asks
fit_files = functools.partial(saved_fit_files, MODELS_DIR)
bootstrap_files = functools.partial(bootstrap_summary_files, MODELS_DIR, enabled=bool(BOOTSTRAP["enabled"]),
                                    bootstrapped=RQ1_MEDIATION_MODELS)


SEM_EXHIBIT_INPUTS = dict(codebook=config["codebook"], published=config["published_values"],
                          summary=analysis_data()["summary"])


rule rq1_model_fits:
    """Every structural RQ1 model on every sample, and the Black-White multi-group models."""
    input:
        expand(f"{MODELS_DIR}/{{sample}}/{{model}}/fit.json", sample=SAMPLES, model=RQ1_MODELS),
        expand(f"{MULTIGROUP_DIR}/{{model}}/fit.json", model=_MULTIGROUP_MODELS),


rule sem_fit:
    """One RQ1 model on one sample, fitted once: spec, the data fitted, estimates (lavaan
    parameterEstimates columns, std.all, classroom-clustered SEs), standardized solution with
    delta-method CIs, implied correlations, fit indices and status."""
    input:
        students=analysis_data()["students"],
        codebook=config["codebook"],
        code=shared_code("sem_fit.py"),
    output:
        **{k: f"{MODELS_DIR}/{{sample}}/{{model}}/{v}" for k, v in MODEL_FILES.items()},
    wildcard_constraints:
        sample="|".join(SAMPLES),
        model="|".join(RQ1_MODELS),
    params:
        max_iter=1000,
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/sem_fit/{{sample}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sem_fit/{{sample}}/{{model}}.tsv"
    conda:
        CONDA_ENV
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
    wildcard_constraints:
        model="|".join(_MULTIGROUP_MODELS),
    params:
        max_iter=1000,
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/sem_fit_multigroup/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sem_fit_multigroup/{{model}}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/sem_fit_multigroup.py"


rule bootstrap_batch:
    """One batch of bootstrap resamples of a saved fit (students resampled with replacement,
    the model refitted): independent jobs, so they spread over a cluster."""
    input:
        spec=f"{MODELS_DIR}/{{sample}}/{{model}}/spec.lavaan",
        data=f"{MODELS_DIR}/{{sample}}/{{model}}/model_data.csv.gz",
        fit=f"{MODELS_DIR}/{{sample}}/{{model}}/fit.json",
        code=shared_code("bootstrap_batch.py"),
    output:
        f"{MODELS_DIR}/{{sample}}/{{model}}/bootstrap/batch_{{batch}}.csv",
    wildcard_constraints:
        sample="|".join(SAMPLES),
        model="|".join(RQ1_MEDIATION_MODELS),
        batch=r"\d+",
    params:
        seed=BOOTSTRAP["seed"],
        resamples=BOOTSTRAP["resamples"],
        batch_size=BOOTSTRAP["batch_size"],
    log:
        f"{RESULTS}/logs/bootstrap/{{sample}}/{{model}}/batch_{{batch}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/bootstrap/{{sample}}/{{model}}/batch_{{batch}}.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/bootstrap_batch.py"


rule bootstrap_gather:
    """Percentile 95% CIs and bootstrap SEs from all batches of one saved fit."""
    input:
        batches=expand(f"{MODELS_DIR}/{{{{sample}}}}/{{{{model}}}}/bootstrap/batch_{{batch}}.csv",
                       batch=range(BOOTSTRAP_BATCHES)),
        code=shared_code("bootstrap_gather.py"),
    output:
        f"{MODELS_DIR}/{{sample}}/{{model}}/bootstrap.csv",
    wildcard_constraints:
        sample="|".join(SAMPLES),
        model="|".join(RQ1_MEDIATION_MODELS),
    params:
        resamples=BOOTSTRAP["resamples"],
    log:
        f"{RESULTS}/logs/bootstrap/{{sample}}/{{model}}/gather.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/bootstrap_gather.py"


# ------------------------------------------------------------------ RQ1a: all students
rule ex12_hqc_classroom_environment:
    """Standardized HQC effects on the 7 classroom-environment measures, all students."""
    input:
        fits=fit_files("all", "hqc_to_classroom_environment"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex12_hqc_classroom_environment.py"),
    output:
        **exhibit_outputs("12"),
    log:
        f"{RESULTS}/logs/ex12.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex12.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex12_hqc_classroom_environment.py"


rule ex13_hqc_mindsets_grades:
    """Standardized HQC effects on the 6 mind-sets, absences and grades, all students."""
    input:
        fits=fit_files("all", "hqc_to_mindsets", "hqc_to_grades"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex13_hqc_mindsets_grades.py"),
    output:
        **exhibit_outputs("13"),
    log:
        f"{RESULTS}/logs/ex13.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex13.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex13_hqc_mindsets_grades.py"


GRADE_MODELS = ["hqc_to_grades", "hqc_grades_via_engagement", "hqc_grades_via_intrinsic_motivation",
                "hqc_grades_via_self_efficacy", "hqc_grades_via_mindsets"]


rule ex15_grades_via_mindsets:
    """HQC -> grades before and after the mind-sets, all students (prior grades controlled)."""
    input:
        fits=fit_files("all", *GRADE_MODELS),
        boot=bootstrap_files("all", *GRADE_MODELS),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex15_grades_via_mindsets.py"),
    output:
        **exhibit_outputs("15"),
    log:
        f"{RESULTS}/logs/ex15.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex15.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex15_grades_via_mindsets.py"


rule ex16_mindsets_via_personalization:
    """HQC -> mind-sets before and after personalization, all students."""
    input:
        fits=fit_files("all", "hqc_mindsets_via_personalization"),
        boot=bootstrap_files("all", "hqc_mindsets_via_personalization"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex16_mindsets_via_personalization.py"),
    output:
        **exhibit_outputs("16"),
    log:
        f"{RESULTS}/logs/ex16.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex16.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex16_mindsets_via_personalization.py"


rule ex17_mindsets_via_teacher_expectations:
    """HQC -> mind-sets before and after teacher expectations, all students."""
    input:
        fits=fit_files("all", "hqc_mindsets_via_teacher_expectations"),
        boot=bootstrap_files("all", "hqc_mindsets_via_teacher_expectations"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex17_mindsets_via_teacher_expectations.py"),
    output:
        **exhibit_outputs("17"),
    log:
        f"{RESULTS}/logs/ex17.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex17.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex17_mindsets_via_teacher_expectations.py"


rule ex18_mindsets_via_social_comparison:
    """HQC -> mind-sets before and after social comparison concerns, all students."""
    input:
        fits=fit_files("all", "hqc_mindsets_via_social_comparison"),
        boot=bootstrap_files("all", "hqc_mindsets_via_social_comparison"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex18_mindsets_via_social_comparison.py"),
    output:
        **exhibit_outputs("18"),
    log:
        f"{RESULTS}/logs/ex18.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex18.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex18_mindsets_via_social_comparison.py"


rule ex19_mindsets_via_peer_learning:
    """HQC -> mind-sets before and after learning from and with peers, all students."""
    input:
        fits=fit_files("all", "hqc_mindsets_via_learning_from_peers"),
        boot=bootstrap_files("all", "hqc_mindsets_via_learning_from_peers"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex19_mindsets_via_peer_learning.py"),
    output:
        **exhibit_outputs("19"),
    log:
        f"{RESULTS}/logs/ex19.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex19.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex19_mindsets_via_peer_learning.py"


# ------------------------------------------------------------------ RQ1b: Black students
rule ex21_classroom_environment_black:
    """Exhibit 12 for all students beside Black students."""
    input:
        fits=fit_files("all", "hqc_to_classroom_environment") + fit_files("Black", "hqc_to_classroom_environment"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex21_classroom_environment_black.py"),
    output:
        **exhibit_outputs("21"),
    log:
        f"{RESULTS}/logs/ex21.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex21.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex21_classroom_environment_black.py"


rule ex22_mindsets_grades_black:
    """Exhibit 13 for all students beside Black students."""
    input:
        fits=fit_files("all", "hqc_to_mindsets", "hqc_to_grades") + fit_files("Black", "hqc_to_mindsets", "hqc_to_grades"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex22_mindsets_grades_black.py"),
    output:
        **exhibit_outputs("22"),
    log:
        f"{RESULTS}/logs/ex22.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex22.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex22_mindsets_grades_black.py"


rule ex23_grades_via_mindsets_black:
    """HQC -> grades before and after the mind-sets, Black students."""
    input:
        fits=fit_files("Black", *GRADE_MODELS),
        boot=bootstrap_files("Black", *GRADE_MODELS),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex23_grades_via_mindsets_black.py"),
    output:
        **exhibit_outputs("23"),
    log:
        f"{RESULTS}/logs/ex23.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex23.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex23_grades_via_mindsets_black.py"


rule ex24_personalization_black:
    """Exhibit 16 for Black students."""
    input:
        fits=fit_files("Black", "hqc_mindsets_via_personalization"),
        boot=bootstrap_files("Black", "hqc_mindsets_via_personalization"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex24_personalization_black.py"),
    output:
        **exhibit_outputs("24"),
    log:
        f"{RESULTS}/logs/ex24.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex24.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex24_personalization_black.py"


rule ex25_teacher_expectations_black:
    """Exhibit 17 for Black students."""
    input:
        fits=fit_files("Black", "hqc_mindsets_via_teacher_expectations"),
        boot=bootstrap_files("Black", "hqc_mindsets_via_teacher_expectations"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex25_teacher_expectations_black.py"),
    output:
        **exhibit_outputs("25"),
    log:
        f"{RESULTS}/logs/ex25.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex25.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex25_teacher_expectations_black.py"


rule ex26_social_comparison_black:
    """Exhibit 18 for Black students."""
    input:
        fits=fit_files("Black", "hqc_mindsets_via_social_comparison"),
        boot=bootstrap_files("Black", "hqc_mindsets_via_social_comparison"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex26_social_comparison_black.py"),
    output:
        **exhibit_outputs("26"),
    log:
        f"{RESULTS}/logs/ex26.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex26.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex26_social_comparison_black.py"


rule ex27_peer_learning_black:
    """Exhibit 19 for Black students."""
    input:
        fits=fit_files("Black", "hqc_mindsets_via_learning_from_peers"),
        boot=bootstrap_files("Black", "hqc_mindsets_via_learning_from_peers"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex27_peer_learning_black.py"),
    output:
        **exhibit_outputs("27"),
    log:
        f"{RESULTS}/logs/ex27.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex27.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex27_peer_learning_black.py"


# ------------------------------------------------------------------ RQ1c: Black and White students
rule ex29_black_white_personalization:
    """Black vs White (one multi-group model) before and after personalization; the HQC -
    social self-efficacy correlations and ratio; HQC -> grades for White students."""
    input:
        fits=fit_files("Black_vs_White", "hqc_mindsets_via_personalization", "hqc_to_mindsets", "hqc_to_grades"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex29_black_white_personalization.py"),
    output:
        **exhibit_outputs("29"),
    log:
        f"{RESULTS}/logs/ex29.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex29.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex29_black_white_personalization.py"


rule ex30_black_white_teacher_expectations:
    """Black vs White before and after teacher expectations, with equality tests of its paths."""
    input:
        fits=fit_files("Black_vs_White", "hqc_mindsets_via_teacher_expectations"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex30_black_white_teacher_expectations.py"),
    output:
        **exhibit_outputs("30"),
    log:
        f"{RESULTS}/logs/ex30.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex30.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex30_black_white_teacher_expectations.py"


rule ex31_black_white_social_comparison:
    """Black vs White before and after social comparison concerns, with equality tests."""
    input:
        fits=fit_files("Black_vs_White", "hqc_mindsets_via_social_comparison"),
        **SEM_EXHIBIT_INPUTS,
        code=shared_code("ex31_black_white_social_comparison.py"),
    output:
        **exhibit_outputs("31"),
    log:
        f"{RESULTS}/logs/ex31.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex31.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex31_black_white_social_comparison.py"
