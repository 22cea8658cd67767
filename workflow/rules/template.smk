# The data template (`snakemake --cores 1 data_template`): one empty CSV per table with the
# codebook's columns in order, and the data dictionary (HTML and CSV) generated from the codebook.
rule data_template:
    """Empty CSVs with the codebook's columns, and the data dictionary."""
    input:
        codebook=config["codebook"],
        code=shared_code("data_template.py"),
    output:
        students=f"{DATA_TEMPLATE_DIR}/students.csv",
        classrooms=f"{DATA_TEMPLATE_DIR}/classrooms.csv",
        teachers=f"{DATA_TEMPLATE_DIR}/teachers.csv",
        observations=f"{DATA_TEMPLATE_DIR}/observations.csv",
        dictionary_csv=f"{DATA_TEMPLATE_DIR}/data_dictionary.csv",
        dictionary_html=f"{DATA_TEMPLATE_DIR}/data_dictionary.html",
    log:
        f"{RESULTS}/logs/data_template.log",
    conda:
        CONDA_ENV
    params:
        # a function: evaluated once every rule file is included
        exhibit_models=lambda wildcards: json.dumps(exhibit_model_fits(), sort_keys=True),
    script:
        "../scripts/data_template.py"
