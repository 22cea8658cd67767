# Exhibits 3-7 and 11: the study's sites and samples.
# Counts come from the analysis data; the site descriptors (type, location, enrollment) are
# the report's own and are shown as published context (the data files have none).


rule ex03_site_characteristics:
    """Sites: published type, location and enrollment beside the sample counts per site."""
    input:
        students=analysis_data()["students"],
        teachers=analysis_data()["teachers"],
        classrooms=analysis_data()["classrooms"],
        observations=analysis_data()["observations"],
        summary=analysis_data()["summary"],
        published=config["published_values"],
        code=shared_code("ex03_site_characteristics.py"),
    output:
        **exhibit_outputs("3", figure=False),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex03.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex03.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex03_site_characteristics.py"


rule ex04_site_race_composition:
    """Self-reported race of the participating students at each site."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex04_site_race_composition.py"),
    output:
        **exhibit_outputs("4"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex04.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex04.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex04_site_race_composition.py"


rule ex05_survey_sample_race:
    """Self-reported race of the survey sample."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex05_survey_sample_race.py"),
    output:
        **exhibit_outputs("5"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex05.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex05.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex05_survey_sample_race.py"


rule ex06_student_sample:
    """Students by data source (consent, survey by subject, focus groups) and site."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        published=config["published_values"],
        code=shared_code("ex06_student_sample.py"),
    output:
        **exhibit_outputs("6", figure=False),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex06.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex06.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex06_student_sample.py"


rule ex07_teacher_sample:
    """Teachers by data source (survey, interview, observation) and site."""
    input:
        teachers=analysis_data()["teachers"],
        classrooms=analysis_data()["classrooms"],
        observations=analysis_data()["observations"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex07_teacher_sample.py"),
    output:
        **exhibit_outputs("7", figure=False),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex07.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex07.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex07_teacher_sample.py"


rule ex11_analytic_approaches:
    """The report's analytic approaches by data source, with where each is done here."""
    input:
        summary=analysis_data()["summary"],
        code=shared_code("ex11_analytic_approaches.py"),
    output:
        **exhibit_outputs("11", figure=False),
    log:
        f"{RESULTS}/logs/ex11.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex11.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex11_analytic_approaches.py"
