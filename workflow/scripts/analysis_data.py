"""Rule analysis_data: validate the input tables against the codebook, add scale scores, and
summarise the data (counts, checksums) for the report's front page."""
import hashlib

from lwo.codebook import Codebook
from lwo.data import TABLES, data_notes, load_tables
from lwo.io import write_csv, write_json
from lwo.runner import run
from lwo.scoring import score_constructs, score_teacher_scales


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(sm):
    codebook = Codebook.load(sm.input.codebook)
    files = {t: sm.input[t] for t in TABLES}
    tables = load_tables(files, codebook)
    students = tables["students"]
    students = students.join(score_constructs(students, codebook))
    teachers = tables["teachers"].join(score_teacher_scales(tables["teachers"], codebook))
    write_csv(students, sm.output.students)
    write_csv(teachers, sm.output.teachers)
    write_csv(tables["observations"], sm.output.observations)
    write_csv(tables["classrooms"], sm.output.classrooms)
    synthetic = sm.params.source == "synthetic"
    surveyed = students[students["surveyed"] == 1]
    write_json({
        "source": sm.params.source,
        "label": (f"Synthetic cohort (seed {sm.params.seed}): numbers test the pipeline, not the study's claims"
                  if synthetic else "Real data: " + ", ".join(files.values())),
        "files": {t: {"path": p, "sha256": sha256(p)} for t, p in files.items()},
        "counts": {"students": int(len(students)), "surveys": int(len(surveyed)),
                   "teachers": int(len(teachers)), "classrooms": int(len(tables["classrooms"])),
                   "observation_segments": int(len(tables["observations"])),
                   "schools": int(students["school_id"].nunique())},
        # conditions the contract accepts but every analysis must show (counts, handling)
        "notes": data_notes(tables, codebook, sm.params.min_cell),
    }, sm.output.summary)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
