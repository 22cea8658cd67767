# Research question 3: teachers' benefits, challenges and leader support (Exhibits 40-44).
# Subject comparisons are ELA vs mathematics teachers; teachers of other subjects are left
# out of them and counted in each exhibit's notes.


rule ex40_benefits_by_subject:
    """Teacher-perceived benefits of collaboration, ELA vs mathematics teachers (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex40_benefits_by_subject.py"),
    output:
        **exhibit_outputs("40"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex40.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex40.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex40_benefits_by_subject.py"


rule ex41_challenges:
    """Teacher-perceived challenges of collaboration, ranked (all teachers who answered)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex41_challenges.py"),
    output:
        **exhibit_outputs("41"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex41.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex41.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex41_challenges.py"


rule ex42_challenges_by_subject:
    """Teacher-perceived challenges by subject (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex42_challenges_by_subject.py"),
    output:
        **exhibit_outputs("42"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex42.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex42.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex42_challenges_by_subject.py"


rule ex43_leader_support_collaboration:
    """School-leader support for collaboration by subject (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex43_leader_support_collaboration.py"),
    output:
        **exhibit_outputs("43"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex43.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex43.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex43_leader_support_collaboration.py"


rule ex44_leader_support_personalization:
    """School-leader support for personalization by subject (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex44_leader_support_personalization.py"),
    output:
        **exhibit_outputs("44"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex44.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex44.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex44_leader_support_personalization.py"
