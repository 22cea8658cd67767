# Research question 1c: Black vs White ratings with controls (Exhibit 28).


rule ex28_black_white_ratings:
    """Black vs White ratings of the quality areas and the classroom environment: OLS with
    the study's controls, adjusted means, Holm correction, classroom-clustered sensitivity."""
    input:
        students=analysis_data()["students"],
        summary=analysis_data()["summary"],
        codebook=config["codebook"],
        published=config["published_values"],
        code=shared_code("ex28_black_white_ratings.py"),
    output:
        **exhibit_outputs("28"),
    params:
        min_cell=config["privacy"]["min_cell"],
    log:
        f"{RESULTS}/logs/ex28.log",
    benchmark:
        f"{RESULTS}/benchmarks/ex28.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/ex28_black_white_ratings.py"
