"""Rule example_district: the worked example's student export (see workflow/lwo/example.py)."""
import pandas as pd

from lwo.codebook import Codebook
from lwo.example import worked_example
from lwo.io import write_csv
from lwo.runner import run


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    students = pd.read_csv(sm.input.students, dtype={"student_id": str, "classroom_id": str})
    write_csv(worked_example({"students": students}, codebook, seed=sm.params.seed), sm.output.students)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
