# The data template (`snakemake --cores 1 data_template`): one empty CSV per table with the
# codebook's columns in order, and the data dictionary (HTML and CSV) generated from the codebook.
import re as _re

DATA_TEMPLATE_DIR = f"{RESULTS}/data_template"
_EXHIBIT_META = _re.compile(rf"^{RESULTS}/exhibits/([^/]+)/meta\.json$")
_MODEL_FILE = _re.compile(rf"^{RESULTS}/models/([^/]+)/([^/]+)/")


def exhibit_model_fits():
    """Exhibit id -> the (sample, model) fits its rule reads, from the rules' inputs: the
    dictionary's 'exhibits' column for the columns that the models use."""
    out = {}
    for r in workflow.rules:
        ids = [m.group(1) for f in r.output if (m := _EXHIBIT_META.match(str(f)))]
        fits = sorted({m.groups() for f in r.input if (m := _MODEL_FILE.match(str(f)))})
        for exhibit in ids:
            if fits:
                out[exhibit] = fits
    return out


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
    params:
        # a function: evaluated once every rule file is included
        exhibit_models=lambda wildcards: json.dumps(exhibit_model_fits(), sort_keys=True),
    log:
        f"{RESULTS}/logs/data_template.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/data_template.py"
