"""Rule data_template: empty CSVs with the codebook's columns and the data dictionary
(see workflow/lwo/dictionary.py)."""
import json

import pandas as pd

from lwo.codebook import Codebook
from lwo.dictionary import data_dictionary, dictionary_html, model_exhibits_by_column, template_columns
from lwo.io import write_csv, write_text
from lwo.runner import run
from lwo.specs import rq1_models


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    for table, columns in template_columns(codebook).items():
        write_csv(pd.DataFrame(columns=columns), sm.output[table])
    models = {name: [*spec.observed, *spec.controls] for name, spec in rq1_models(codebook).items()}
    fits = {exhibit: [tuple(f) for f in reads] for exhibit, reads in json.loads(sm.params.exhibit_models).items()}
    dictionary = data_dictionary(codebook, model_exhibits_by_column(codebook, models, fits))
    write_csv(dictionary, sm.output.dictionary_csv)
    write_text(dictionary_html(dictionary, codebook), sm.output.dictionary_html)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
