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
    files = {t: sm.input[t] for t in TABLES if t in sm.input.keys()}
    tables = load_tables(files, codebook)
    students = tables["students"]
    students = students.join(score_constructs(students, codebook))
    write_csv(students, sm.output.students)
    if "teachers" in tables:
        tables["teachers"] = tables["teachers"].join(score_teacher_scales(tables["teachers"], codebook))
    for name in ("teachers", "observations", "classrooms"):
        if name in tables:
            write_csv(tables[name], sm.output[name])
    synthetic = sm.params.source == "synthetic"
    surveyed = students[students["surveyed"] == 1]
    counts = {"students": int(len(students)), "surveys": int(len(surveyed)),
              "teachers": int(len(tables["teachers"])) if "teachers" in tables else None,
              # without a classrooms table, the students' own classroom column defines the classrooms
              "classrooms": int(len(tables["classrooms"]) if "classrooms" in tables
                                else students["classroom_id"].nunique()),
              "observation_segments": int(len(tables["observations"])) if "observations" in tables else None,
              "schools": int(students["school_id"].nunique())}
    counts = {k: v for k, v in counts.items() if v is not None}  # no count for a table not given
    label = sm.params.label or (
        f"Synthetic cohort (seed {sm.params.seed}): numbers test the pipeline, not the study's claims"
        if synthetic else "Real data: " + ", ".join(files.values()))
    write_json({
        "source": sm.params.source,
        "label": label,
        # the data source the report's front page names
        "data_source": label,
        # a worked example (generated files): the report does not call its numbers a reanalysis
        "example": bool(sm.params.example),
        "tables": [t for t in TABLES if t in tables],
        "files": {t: {"path": p, "sha256": sha256(p)} for t, p in files.items()},
        "counts": counts,
        # conditions the contract accepts but every analysis must show (counts, handling)
        "notes": data_notes(tables, codebook, sm.params.min_cell),
    }, sm.output.summary)


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
