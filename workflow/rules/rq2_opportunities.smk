# Research question 2: frequency, duration and quality of collaboration (Exhibits 32-39).
# Exhibits 35/36 and 37/38 each show one domain of the same family of seven tests (the
# quality areas asked of both students and teachers), so the Holm correction and the count
# of areas that differ are the same in both exhibits of a pair.


rule ex32_collaboration_frequency:
    """Student-reported frequency of collaboration by site; subject difference (chi-square)."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex32_collaboration_frequency.py"),
    output:
        **exhibit_outputs("32"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex32.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex32.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex32_collaboration_frequency.py"


rule ex33_teacher_collaboration_frequency:
    """Teacher-reported frequency of collaboration by site."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex33_teacher_collaboration_frequency.py"),
    output:
        **exhibit_outputs("33"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex33.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex33.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex33_teacher_collaboration_frequency.py"


rule ex34_collaboration_length:
    """Length of collaborative activities, mathematics vs ELA (chi-square, Cramer's V, adjusted residuals)."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex34_collaboration_length.py"),
    output:
        **exhibit_outputs("34"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex34.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex34.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex34_collaboration_length.py"


rule ex35_student_dynamic_quality:
    """Student ratings of the dynamic quality areas by subject (Welch t-tests, Holm)."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex35_student_dynamic_quality.py"),
    output:
        **exhibit_outputs("35"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex35.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex35.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex35_student_dynamic_quality.py"


rule ex36_student_structural_quality:
    """Student ratings of the structural quality areas by subject (Welch t-tests, Holm)."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex36_student_structural_quality.py"),
    output:
        **exhibit_outputs("36"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex36.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex36.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex36_student_structural_quality.py"


rule ex37_teacher_structural_quality:
    """Teacher ratings of the structural quality areas by subject (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex37_teacher_structural_quality.py"),
    output:
        **exhibit_outputs("37"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex37.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex37.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex37_teacher_structural_quality.py"


rule ex38_teacher_dynamic_quality:
    """Teacher ratings of the dynamic quality areas by subject (Welch t-tests, Holm)."""
    input:
        teachers=analysis_data()["teachers"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex38_teacher_dynamic_quality.py"),
    output:
        **exhibit_outputs("38"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex38.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex38.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex38_teacher_dynamic_quality.py"


rule ex39_observation_ratings:
    """Observation ratings during collaborative vs other segments (ANCOVA on the pre-visit
    rating, classroom-clustered sensitivity); lowest-rated areas and items; classrooms with
    collaboration by site (an extra table beside the exhibit's)."""
    input:
        observations=analysis_data()["observations"],
        classrooms=analysis_data()["classrooms"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex39_observation_ratings.py"),
    output:
        **exhibit_outputs("39"),
        classrooms_by_site=f"{RESULTS}/exhibits/39/classrooms_by_site.csv",
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex39.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex39.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex39_observation_ratings.py"
