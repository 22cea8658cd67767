"""The catalogue of bad (or awkward) inputs, over every input the pipeline reads: the four data
tables (CSV, SPSS, Stata), the codebook, the config and the published-values file.

Each case builds its input from a small synthetic cohort (drawn once per test session) or from
the repository's own codebook/config/published values, corrupts it the way real files go wrong,
and runs the real reading function. An `error` case must raise DataError whose one-line message
names the file, the column (or key) and the first offending rows exactly as expected, and says
what to do. An `accepted` case must load, and its handling is checked (and documented in
`handling`). tests/test_bad_inputs.py runs every case; tests/test_bad_input_catalogue_summary.py
writes the table of outcomes to results/tests/bad_input_catalogue.csv.
"""
from __future__ import annotations

import atexit
import copy
import functools
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from lwo.codebook import Codebook
from lwo.config_check import check_config
from lwo.data import TABLES, DataError, data_notes, load_tables
from lwo.exhibit import check_published_values
from lwo.scoring import score_constructs
from lwo.synthetic import generate_cohort

ROOT = Path(__file__).resolve().parents[2]
CODEBOOK = ROOT / "config" / "codebook.yaml"
CONFIG = ROOT / "config" / "config.yaml"
POPULATION = ROOT / "config" / "population_model.yaml"
PUBLISHED = ROOT / "data" / "published" / "published_values.csv"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SEED, N_STUDENTS = 2018, 240


@dataclass(frozen=True)
class Expect:
    """What an error must say: the file's name, the column/key, the first offending rows."""
    file: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    says: tuple[str, ...] = ()
    unit: str = "line"


@dataclass(frozen=True)
class Case:
    name: str
    input: str  # which input: "students table", "codebook", "config", ...
    expected: str  # "error" or "accepted"
    act: Callable
    expect: Expect | None = None
    handling: str = ""  # for accepted cases: what the pipeline does with such data


@dataclass
class Result:
    case: Case
    outcome: str  # "error", "accepted", or "check failed"
    error: Exception | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


CASES: list[Case] = []


def case(name, input, expected, expect=None, handling=""):
    def register(act):
        CASES.append(Case(name, input, expected, act, expect, handling))
        return act
    return register


# -- the shared workspace ----------------------------------------------------------------------
class Workspace:
    """A temporary folder and the clean synthetic cohort, shared by all cases of a session."""

    def __init__(self, root: Path):
        self.root = root
        self.codebook = Codebook.load(CODEBOOK)
        with open(POPULATION, encoding="utf-8") as fh:
            model = yaml.safe_load(fh)
        cohort = generate_cohort(model, self.codebook, seed=SEED, n_students=N_STUDENTS)
        self.cohort = {t: cohort[t] for t in TABLES}
        # as object columns, so any cell can be overwritten with text (in one block: column by
        # column, a case adding a column would fragment the frame)
        self._objects = {t: df.astype(object).where(df.notna(), None).copy() for t, df in self.cohort.items()}

    def folder(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def tables(self) -> dict[str, pd.DataFrame]:
        """Fresh copies of the tables as object columns."""
        return {t: df.copy() for t, df in self._objects.items()}

    def write(self, folder: Path, tables: dict[str, pd.DataFrame] | None = None) -> dict[str, str]:
        tables = tables or self.tables()
        files = {}
        for t, df in tables.items():
            files[t] = str(folder / f"{t}.csv")
            df.to_csv(files[t], index=False, lineterminator="\n")
        return files

    def load(self, files) -> dict[str, pd.DataFrame]:
        return load_tables(files, self.codebook)


@functools.cache
def workspace() -> Workspace:
    """One workspace per test session (the cohort is drawn once)."""
    root = Path(tempfile.mkdtemp(prefix="lwo-bad-inputs-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return Workspace(root)


def line(position: int) -> int:
    """File line of a 0-based data row in a CSV written with a header."""
    return position + 2


def first_line(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the line containing `after`)."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if after in ln) if after else 0
    return next(i for i, ln in enumerate(lines) if i >= start and needle in ln) + 1


def replace_once(text: str, old: str, new: str) -> str:
    """`text` with the first `old` replaced; fails loudly when the clean input has changed."""
    assert old in text, f"the clean input no longer contains {old!r}: update this case"
    return text.replace(old, new, 1)


def edit(path, transform) -> None:
    path = Path(path)
    path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")


def set_cells(ws, folder, table, column, positions, value):
    tables = ws.tables()
    for p in positions:
        tables[table].loc[p, column] = value
    return ws.load(ws.write(folder, tables))


def one_table(ws, folder, table, transform_text=None, data: bytes | None = None):
    """Write the clean cohort, then replace one table's file (by text transform or raw bytes)."""
    files = ws.write(folder)
    if data is not None:
        Path(files[table]).write_bytes(data)
    elif transform_text is not None:
        edit(files[table], transform_text)
    return ws.load(files)


def notes_for(ws, tables, column=None, says=""):
    notes = [n for n in data_notes(tables, ws.codebook) if (column is None or n["column"] == column)
             and says in n["issue"]]
    assert notes, f"data_notes reports nothing for {column!r} with {says!r}"
    return notes


# -- students table: structure -----------------------------------------------------------------
@case("missing column", "students table", "error",
      Expect("students.csv", "hqc_sc3", (1,), ("missing column",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"] = tables["students"].drop(columns="hqc_sc3")
    ws.load(ws.write(folder, tables))


@case("unknown column", "students table", "error",
      Expect("students.csv", "colour", (1,), ("unknown column",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"]["colour"] = "red"
    ws.load(ws.write(folder, tables))


@case("column name in other case", "students table", "error",
      Expect("students.csv", "hqc_sc1", (1,), ("missing column", "looks like 'HQC_SC1'")))
def _(ws, folder):
    tables = ws.tables()
    tables["students"] = tables["students"].rename(columns={"hqc_sc1": "HQC_SC1"})
    ws.load(ws.write(folder, tables))


@case("duplicated header names", "students table", "error",
      Expect("students.csv", "hqc_sc1", (1,), ("appears 2 times",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"] = tables["students"].rename(columns={"hqc_sc2": "hqc_sc1"})
    ws.load(ws.write(folder, tables))


@case("empty file (0 bytes)", "students table", "error", Expect("students.csv", None, (), ("0 bytes",)))
def _(ws, folder):
    one_table(ws, folder, "students", data=b"")


@case("header only", "students table", "error", Expect("students.csv", None, (1,), ("no data rows",)))
def _(ws, folder):
    one_table(ws, folder, "students", lambda t: t.splitlines(keepends=True)[0])


@case("semicolon delimiter", "teachers table", "error", Expect("teachers.csv", None, (1,), ("semicolons",)))
def _(ws, folder):
    files = ws.write(folder)
    ws.cohort["teachers"].to_csv(files["teachers"], index=False, sep=";")
    ws.load(files)


@case("tab delimiter", "students table", "error", Expect("students.csv", None, (1,), ("tabs",)))
def _(ws, folder):
    files = ws.write(folder)
    ws.cohort["students"].to_csv(files["students"], index=False, sep="\t")
    ws.load(files)


@case("row with an extra field", "students table", "error",
      Expect("students.csv", None, (line(6),), ("fields but the header has",)))
def _(ws, folder):
    def extra_field(text):
        lines = text.splitlines(keepends=True)
        lines[line(6) - 1] = lines[line(6) - 1].rstrip("\n") + ",3\n"
        return "".join(lines)
    one_table(ws, folder, "students", extra_field)


@case("trailing comma on every line", "students table", "accepted",
      handling="accepted: a column with neither a name nor a value (a trailing comma on every line, an empty "
               "spreadsheet column) is dropped")
def _(ws, folder):
    tables = one_table(ws, folder, "students", lambda t: "".join(line.rstrip("\n") + ",\n"
                                                                 for line in t.splitlines(keepends=True)))
    pd.testing.assert_frame_equal(tables["students"], ws.load(ws.write(ws.folder("clean")))["students"])


@case("unnamed column with values", "students table", "error",
      Expect("students.csv", None, (line(2),), ("header position(s) [", "have no column name but hold values")))
def _(ws, folder):
    def unnamed_column(text):
        lines = text.splitlines(keepends=True)
        return "".join(text.rstrip("\n") + (",x\n" if k == line(2) - 1 else ",\n") for k, text in enumerate(lines))
    one_table(ws, folder, "students", unnamed_column)


@case("spaces around column names", "students table", "accepted",
      handling="accepted: spaces around a header name are dropped (' hqc_sc1 ' is hqc_sc1)")
def _(ws, folder):
    def padded(text):
        head, rest = text.split("\n", 1)
        return ",".join(f" {h}  " if k % 2 else h for k, h in enumerate(head.split(","))) + "\n" + rest
    tables = one_table(ws, folder, "students", padded)
    assert list(tables["students"].columns) == list(ws.load(ws.write(ws.folder("clean")))["students"].columns)


@case("blank lines keep file line numbers", "students table", "error",
      Expect("students.csv", "hqc_ce2", (line(4) + 2,), ("between 1 and 4",)))
def _(ws, folder):
    # two blank lines after the header: the bad cell of data row 4 is on file line 4 + 2 + 2
    tables = ws.tables()
    tables["students"].loc[4, "hqc_ce2"] = 6
    files = ws.write(folder, tables)
    edit(files["students"], lambda t: t.replace("\n", "\n\n\n", 1))
    ws.load(files)


@case("Excel workbook saved as .csv", "students table", "error",
      Expect("students.csv", None, (), ("Excel workbook",)))
def _(ws, folder):
    one_table(ws, folder, "students", data=b"PK\x03\x04\x14\x00\x06\x00" + bytes(200))


@case("file not found", "students table", "error", Expect("students.csv", None, (), ("file not found",)))
def _(ws, folder):
    files = ws.write(folder)
    Path(files["students"]).unlink()
    ws.load(files)


# -- students table: encoding --------------------------------------------------------------------
@case("latin-1 encoding", "students table", "error",
      Expect("students.csv", "race", (line(3),), ("not UTF-8", "Métis")))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[3, "race"] = "Métis"
    files = ws.write(folder, tables)
    text = Path(files["students"]).read_text(encoding="utf-8")
    Path(files["students"]).write_bytes(text.encode("latin-1"))
    ws.load(files)


@case("UTF-16 encoding", "students table", "error", Expect("students.csv", None, (1,), ("UTF-16",)))
def _(ws, folder):
    files = ws.write(folder)
    text = Path(files["students"]).read_text(encoding="utf-8")
    Path(files["students"]).write_bytes(text.encode("utf-16"))
    ws.load(files)


@case("UTF-8 byte-order mark", "students table", "accepted",
      handling="accepted: the byte-order mark (Excel's 'CSV UTF-8') is dropped")
def _(ws, folder):
    files = ws.write(folder)
    text = Path(files["students"]).read_text(encoding="utf-8")
    Path(files["students"]).write_bytes(text.encode("utf-8-sig"))
    assert Path(files["students"]).read_bytes().startswith(b"\xef\xbb\xbf")
    tables = ws.load(files)
    assert list(tables["students"]["student_id"]) == list(ws.cohort["students"]["student_id"])


# -- students table: cell values -----------------------------------------------------------------
@case("value outside 1-4", "students table", "error",
      Expect("students.csv", "hqc_ri2", (line(3), line(10)), ("between 1 and 4",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[3, "hqc_ri2"] = 5
    tables["students"].loc[10, "hqc_ri2"] = 0
    ws.load(ws.write(folder, tables))


@case("missing-value code -99", "students table", "error",
      Expect("students.csv", "env_ps1", (line(7),), ("-99", "no answer")))
def _(ws, folder):
    set_cells(ws, folder, "students", "env_ps1", [7], -99)


@case("text in a numeric column", "students table", "error",
      Expect("students.csv", "absences", (line(4),), ("expected numbers", "'five'")))
def _(ws, folder):
    set_cells(ws, folder, "students", "absences", [4], "five")


@case("survey answers exported as their words", "students table", "error",
      Expect("students.csv", "env_te2", (line(3), line(8)),
             ("'most of the time'", "answers as words", "3 = most of the time")))
def _(ws, folder):
    tables = ws.tables()
    tables["students"]["env_te2"] = tables["students"]["env_te2"].astype(object)
    tables["students"].loc[3, "env_te2"] = "most of the time"
    tables["students"].loc[8, "env_te2"] = "Never/rarely"
    ws.load(ws.write(folder, tables))


@case("'NA' written for a missing answer", "students table", "error",
      Expect("students.csv", "ms_ss1", (line(2), line(5)), ("'NA'", "empty cell")))
def _(ws, folder):
    set_cells(ws, folder, "students", "ms_ss1", [2, 5], "NA")


@case("Excel-style dates in a numeric column", "students table", "error",
      Expect("students.csv", "prior_grade", (line(3), line(6)), ("look like dates",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[3, "prior_grade"] = "3/4/2017"
    tables["students"].loc[6, "prior_grade"] = "12-Mar"
    ws.load(ws.write(folder, tables))


@case("Excel date serial numbers in an item", "students table", "error",
      Expect("students.csv", "env_te1", (line(8),), ("Excel date serial",)))
def _(ws, folder):
    set_cells(ws, folder, "students", "env_te1", [8], 43163)


@case("decimal comma", "students table", "error",
      Expect("students.csv", "current_grade", (line(5),), ("decimal comma",)))
def _(ws, folder):
    set_cells(ws, folder, "students", "current_grade", [5], "85,5")


@case("fractional value in an integer column", "students table", "error",
      Expect("students.csv", "grade_level", (line(2),), ("whole numbers", "10.5")))
def _(ws, folder):
    set_cells(ws, folder, "students", "grade_level", [2], 10.5)


@case("category in other case", "students table", "error",
      Expect("students.csv", "race", (line(9),), ("'black'", "only in upper/lower case")))
def _(ws, folder):
    set_cells(ws, folder, "students", "race", [9], "black")


@case("empty cell in a required column", "students table", "error",
      Expect("students.csv", "surveyed", (line(11),), ("requires a value",)))
def _(ws, folder):
    set_cells(ws, folder, "students", "surveyed", [11], None)


@case("a third gender (nonbinary)", "students table", "accepted",
      handling="accepted; the models give it a dummy of its own beside female (male the reference of both)")
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[[2, 8], "gender"] = "nonbinary"
    loaded = ws.load(ws.write(folder, tables))
    assert (loaded["students"]["gender"] == "nonbinary").sum() == 2


@case("classes in another subject (other)", "students and classrooms tables", "accepted",
      handling="accepted; the models give it a dummy of its own beside ela (mathematics the reference of both); "
               "the subject comparisons leave those students out and say how many")
def _(ws, folder):
    tables = ws.tables()
    room = tables["classrooms"]["classroom_id"].iloc[0]
    tables["classrooms"].loc[tables["classrooms"]["classroom_id"] == room, "subject"] = "other"
    in_room = (tables["students"]["classroom_id"] == room) & tables["students"]["subject"].notna()
    tables["students"].loc[in_room, "subject"] = "other"
    loaded = ws.load(ws.write(folder, tables))
    assert (loaded["students"]["subject"] == "other").sum() == in_room.sum() > 0


@case("records without gender, grade level, ELL or special education", "students table", "accepted",
      handling="accepted; the models integrate over a control not recorded (FIML, lavaan ml.x) or leave the "
               "student out of that model (listwise, fiml_fixed_x), counted as 'a control not recorded'")
def _(ws, folder):
    tables = ws.tables()
    for column, rows in (("gender", [3, 7]), ("grade_level", [4]), ("ell", [5, 9]), ("special_education", [6])):
        tables["students"].loc[rows, column] = None
    loaded = ws.load(ws.write(folder, tables))
    assert loaded["students"][["gender", "grade_level", "ell", "special_education"]].isna().sum().sum() == 6


# -- students table: ids and references ----------------------------------------------------------
@case("duplicated student id", "students table", "error",
      Expect("students.csv", "student_id", (line(2), line(8)), ("duplicated id",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[8, "student_id"] = tables["students"].loc[2, "student_id"]
    ws.load(ws.write(folder, tables))


@case("ids differing only in case and spaces", "students table", "error",
      Expect("students.csv", "student_id", (line(5), line(9)), ("ignoring case",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[9, "student_id"] = f" {tables['students'].loc[5, 'student_id'].lower()} "
    ws.load(ws.write(folder, tables))


@case("empty student id", "students table", "error",
      Expect("students.csv", "student_id", (line(12),), ("empty id",)))
def _(ws, folder):
    set_cells(ws, folder, "students", "student_id", [12], None)


@case("school id -99 (a missing-value code)", "students table", "error",
      Expect("students.csv", "school_id", (line(5),), ("-99", "at least 1", "'no answer'")))
def _(ws, folder):
    set_cells(ws, folder, "students", "school_id", [5], -99)


@case("a district's own school ids (11-14)", "students, classrooms and teachers tables", "accepted",
      handling="accepted; the models' school dummies are the district's schools (school_12, ...), the first "
               "(11) their reference")
def _(ws, folder):
    tables = ws.tables()
    for t in ("students", "classrooms", "teachers"):
        tables[t]["school_id"] = [10 + int(s) for s in tables[t]["school_id"]]
    loaded = ws.load(ws.write(folder, tables))
    assert sorted(set(loaded["students"]["school_id"])) == [11, 12, 13, 14]


@case("student in an unknown classroom", "students table", "error",
      Expect("students.csv", "classroom_id", (line(6),), ("'S9-MATH1'", "not in the classrooms table")))
def _(ws, folder):
    set_cells(ws, folder, "students", "classroom_id", [6], "S9-MATH1")


@case("classroom id in other case", "students table", "error",
      Expect("students.csv", "classroom_id", (line(3),), ("in other case",)))
def _(ws, folder):
    tables = ws.tables()
    tables["students"].loc[3, "classroom_id"] = tables["students"].loc[3, "classroom_id"].lower()
    ws.load(ws.write(folder, tables))


@case("student's school differs from the classroom's", "students table", "error",
      Expect("students.csv", "school_id", (line(4),), ("classroom's school",)))
def _(ws, folder):
    tables = ws.tables()
    school = tables["students"].loc[4, "school_id"]
    tables["students"].loc[4, "school_id"] = 1 if school != 1 else 2
    ws.load(ws.write(folder, tables))


@case("classroom in two schools (students table alone)", "students table", "error",
      Expect("students.csv", "classroom_id", (line(4),), ("'S4-MATH2': schools 4 and 1", "more than one school")))
def _(ws, folder):
    students = ws.tables()["students"]
    students.loc[4, "school_id"] = 1  # its classroom's first student (line 5) is in school 4
    ws.load(ws.write(folder, {"students": students}))


@case("classroom whose teacher is unknown", "classrooms table", "error",
      Expect("classrooms.csv", "teacher_id", (line(2),), ("'T999'", "not in the teachers table")))
def _(ws, folder):
    set_cells(ws, folder, "classrooms", "teacher_id", [2], "T999")


@case("observation of an unknown classroom", "observations table", "error",
      Expect("observations.csv", "classroom_id", (line(0), line(1)), ("not in the classrooms table",)))
def _(ws, folder):
    set_cells(ws, folder, "observations", "classroom_id", [0, 1], "S5-ELA1")


@case("teacher rating outside 1-4", "teachers table", "error",
      Expect("teachers.csv", "t_chal_focus", (line(20),), ("between 1 and 4",)))
def _(ws, folder):
    set_cells(ws, folder, "teachers", "t_chal_focus", [20], 44)


# -- accepted data that limits the analyses (visible handling) -----------------------------------
@case("constant item column", "students table", "accepted",
      handling="accepted; data_notes: 'constant: every answer is 3' (reliability/loadings not estimable)")
def _(ws, folder):
    tables = ws.tables()
    tables["students"]["hqc_sc1"] = tables["students"]["hqc_sc1"].where(tables["students"]["hqc_sc1"].isna(), 3)
    loaded = ws.load(ws.write(folder, tables))
    notes_for(ws, loaded, "hqc_sc1", "constant: every answer is 3")


@case("all grades missing", "students table", "accepted",
      handling="accepted; data_notes: prior_grade/current_grade 'no values' -> grade models not estimable")
def _(ws, folder):
    tables = ws.tables()
    tables["students"][["prior_grade", "current_grade"]] = None
    loaded = ws.load(ws.write(folder, tables))
    assert loaded["students"]["current_grade"].isna().all()
    notes_for(ws, loaded, "prior_grade", "no values")
    notes_for(ws, loaded, "current_grade", "no values")


@case("school with one student", "students table", "accepted",
      handling="accepted; data_notes: school below privacy.min_cell -> school-level counts suppressed")
def _(ws, folder):
    tables = ws.tables()
    st = tables["students"]
    school4 = st.index[st["school_id"] == 4]
    tables["students"] = st.drop(index=school4[1:]).reset_index(drop=True)
    loaded = ws.load(ws.write(folder, tables))
    assert (loaded["students"]["school_id"] == 4).sum() == 1
    [n] = notes_for(ws, loaded, "school_id", "school 4")
    assert n["count"] is None, "a count below the privacy minimum must not be shown"


@case("no Black students", "students table", "accepted",
      handling="accepted; data_notes: 'no Black students' -> Black-sample and Black-White results not estimable")
def _(ws, folder):
    tables = ws.tables()
    tables["students"] = tables["students"][tables["students"]["race"] != "Black"].reset_index(drop=True)
    loaded = ws.load(ws.write(folder, tables))
    notes_for(ws, loaded, "race", "no Black students")


@case("no White students", "students table", "accepted",
      handling="accepted; data_notes: 'no White students' -> White-sample and Black-White results not estimable")
def _(ws, folder):
    tables = ws.tables()
    tables["students"] = tables["students"][tables["students"]["race"] != "White"].reset_index(drop=True)
    loaded = ws.load(ws.write(folder, tables))
    notes_for(ws, loaded, "race", "no White students")


@case("20% random missingness in item responses", "students table", "accepted",
      handling="accepted; a scale score is missing exactly where fewer than half its items are answered; "
               "data_notes gives 'n excluded' per construct")
def _(ws, folder):
    tables = ws.tables()
    st = tables["students"]
    items = [i.id for i in ws.codebook.all_items()]
    rng = np.random.default_rng(20)
    holes = rng.random((len(st), len(items))) < 0.20
    st[items] = st[items].mask(pd.DataFrame(holes, index=st.index, columns=items))
    loaded = ws.load(ws.write(folder, tables))["students"]
    scores = score_constructs(loaded, ws.codebook)
    n_excluded_total = 0
    for construct in ws.codebook.student_constructs:
        its = ws.codebook.items(construct)
        # independent computation: reverse items flipped on the 1-4 scale, mean of answered items
        # if at least half of them are answered
        for pos in range(len(loaded)):
            answers = []
            for it in its:
                v = loaded.loc[pos, it.id]
                if not pd.isna(v):
                    answers.append(5 - float(v) if it.reverse else float(v))
            got = scores.loc[pos, construct]
            if 2 * len(answers) < len(its):
                assert pd.isna(got), f"{construct} row {pos}: {len(answers)} answers but a score"
                n_excluded_total += loaded.loc[pos, "surveyed"] == 1
            else:
                assert math.isclose(got, sum(answers) / len(answers)), f"{construct} row {pos}"
    notes = [n for n in data_notes({"students": loaded}, ws.codebook) if n["issue"].startswith("n excluded")]
    assert sum(n["count"] for n in notes) == n_excluded_total > 0


@case("SPSS .sav file", "students table (.sav)", "accepted",
      handling="accepted: read with pyreadstat; value labels applied to category columns; same tables as CSV")
def _(ws, folder):
    import pyreadstat
    files = ws.write(folder)
    reference = ws.load(files)
    st = _stats_frame(ws.cohort["students"])
    codes = {"Black": 1, "White": 2, "Hispanic": 3, "Asian": 4, "Multiracial": 5, "Other": 6}
    st["race"] = st["race"].map(codes)  # numeric codes with value labels, as SPSS files usually have
    files["students"] = str(folder / "students.sav")
    pyreadstat.write_sav(st, files["students"], variable_value_labels={"race": {v: k for k, v in codes.items()}})
    loaded = ws.load(files)
    pd.testing.assert_frame_equal(loaded["students"], reference["students"])


@case("SPSS .sav with a declared missing code", "students table (.sav)", "accepted",
      handling="accepted: a code declared missing in SPSS (-99) is a missing value")
def _(ws, folder):
    import pyreadstat
    files = ws.write(folder)
    st = _stats_frame(ws.cohort["students"])
    st.loc[3, "hqc_sc1"] = -99
    files["students"] = str(folder / "students.sav")
    pyreadstat.write_sav(st, files["students"], missing_ranges={"hqc_sc1": [-99]})
    loaded = ws.load(files)
    assert pd.isna(loaded["students"].loc[3, "hqc_sc1"])


@case("bad value in a .sav file", "students table (.sav)", "error",
      Expect("students.sav", "hqc_sc1", (4,), ("between 1 and 4",), unit="row"))
def _(ws, folder):
    import pyreadstat
    files = ws.write(folder)
    st = _stats_frame(ws.cohort["students"])
    st.loc[3, "hqc_sc1"] = 7  # the fourth case
    files["students"] = str(folder / "students.sav")
    pyreadstat.write_sav(st, files["students"])
    ws.load(files)


@case("Stata .dta file", "students table (.dta)", "accepted",
      handling="accepted: read with pyreadstat; same tables as CSV")
def _(ws, folder):
    import pyreadstat
    files = ws.write(folder)
    reference = ws.load(files)
    files["students"] = str(folder / "students.dta")
    pyreadstat.write_dta(_stats_frame(ws.cohort["students"]), files["students"])
    pd.testing.assert_frame_equal(ws.load(files)["students"], reference["students"])


def _stats_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float and text as str, the column types SPSS and Stata store."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(float)
        else:
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


# -- codebook -------------------------------------------------------------------------------------
def codebook_case(folder, transform) -> tuple[Path, str]:
    path = folder / "codebook.yaml"
    text = transform(CODEBOOK.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    return path, text


def _codebook_lines(transform, needle, after=None):
    """Expected line of `needle` in the edited codebook (found by text search, not YAML parsing)."""
    text = transform(CODEBOOK.read_text(encoding="utf-8"))
    return (first_line(text, needle, after),)


def _single_item(t):
    return "".join(ln for ln in t.splitlines(keepends=True) if not any(f"id: hqc_sc{k}," in ln for k in (2, 3, 4)))


@case("construct with a single item", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.student_centered.items",
             _codebook_lines(_single_item, "items:", "student_centered:"), ("at least 2 items",)))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _single_item)[0])


def _reverse_yes(t):
    return replace_once(t, "just as well alone, reverse: true}", "just as well alone, reverse: 'yes'}")


@case("reverse flag not a boolean", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.group_interdependence.items[2]",
             _codebook_lines(_reverse_yes, "id: hqc_gi3"), ("true or false", "'yes'")))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _reverse_yes)[0])


def _reversed_key(t):
    return replace_once(t, "supposed to do, reverse: true}", "supposed to do, reversed: true}")


@case("unknown key in an item entry", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.norms_task_clarity.items[3]",
             _codebook_lines(_reversed_key, "id: hqc_nc4"), ("unknown key 'reversed'", "did you mean 'reverse'")))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _reversed_key)[0])


def _reverse_list(t):
    return replace_once(t, "  constructive_exchange:\n", "  constructive_exchange:\n    reverse: [hqc_ce4, hqc_ce9]\n")


@case("reverse list naming a missing item", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.constructive_exchange.reverse",
             _codebook_lines(_reverse_list, "reverse: [hqc_ce4"), ("hqc_ce9", "not items of")))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _reverse_list)[0])


def _all_reversed(t):
    lines = t.splitlines(keepends=True)
    return "".join(ln.replace("}", ", reverse: true}") if "id: hqc_ce" in ln else ln for ln in lines)


@case("all items reversed", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.constructive_exchange",
             _codebook_lines(_all_reversed, "constructive_exchange:"), ("every item",)))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _all_reversed)[0])


def _duplicate_id(t):
    return replace_once(t, "{id: hqc_sc2,", "{id: hqc_sc1,")


@case("duplicated item id", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.student_centered.items[1]",
             _codebook_lines(_duplicate_id, "connect to my interests"), ("appears twice",)))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _duplicate_id)[0])


def _no_response_scale(t):
    start = t.index("response_scale:")
    return t[:start] + t[t.index("# A scale score is the mean"):]


@case("missing response_scale", "codebook", "error",
      Expect("codebook.yaml", "response_scale", (), ("missing or empty",)))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _no_response_scale)[0])


def _unquoted_comma(t):
    return replace_once(t, "text: We exchange ideas and opinions}", "text: We exchange ideas, opinions}")


@case("unquoted comma in an item text", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.constructive_exchange.items[0]",
             _codebook_lines(_unquoted_comma, "id: hqc_ce1"), ("unknown key 'opinions'", "unquoted comma")))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _unquoted_comma)[0])


def _item_named_like_record(t):
    return replace_once(t, "{id: hqc_sc1,", "{id: absences,")


@case("item id equal to a record column", "codebook", "error",
      Expect("codebook.yaml", "student_constructs.student_centered",
             _codebook_lines(_item_named_like_record, "student_centered:"), ("'absences' is defined twice",)))
def _(ws, folder):
    Codebook.load(codebook_case(folder, _item_named_like_record)[0])


# -- config ---------------------------------------------------------------------------------------
def config_case(folder, mutate, schema_rejects=True, root=None):
    """The repository's config, changed by `mutate`, written to a file; checked by Snakemake's
    validate (the schema) and by check_config (which names file, key and line)."""
    from snakemake.utils import validate
    from snakemake_interface_common.exceptions import WorkflowError

    with open(CONFIG, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    mutate(config)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    try:
        validate(copy.deepcopy(config), str(SCHEMA))
    except WorkflowError:
        assert schema_rejects, "the schema rejects a config that only check_config should"
    else:
        assert not schema_rejects, "snakemake.utils.validate accepted the bad config"
    check_config(config, path, SCHEMA, root=root or folder)


def _config_line(mutate, needle):
    with open(CONFIG, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    mutate(config)
    return (first_line(yaml.safe_dump(config, sort_keys=False), needle),)


def _unknown_key(c):
    c["colour"] = "red"


@case("config: unknown key", "config", "error",
      Expect("config.yaml", "colour", _config_line(_unknown_key, "colour:"), ("unknown key",)))
def _(ws, folder):
    config_case(folder, _unknown_key)


def _seed_text(c):
    c["synthetic"]["seed"] = "abc"


@case("config: seed is text", "config", "error",
      Expect("config.yaml", "synthetic.seed", _config_line(_seed_text, "seed: abc"), ("expected integer", "'abc'")))
def _(ws, folder):
    config_case(folder, _seed_text)


def _files_without_paths(c):
    c["data"] = {"source": "files"}


@case("config: source files without file paths", "config", "error",
      Expect("config.yaml", "data.files.students", _config_line(_files_without_paths, "data:"), ("required",)))
def _(ws, folder):
    config_case(folder, _files_without_paths)


def _few_students(c):
    c["synthetic"]["n_students"] = 50


@case("config: n_students below the minimum", "config", "error",
      Expect("config.yaml", "synthetic.n_students", _config_line(_few_students, "n_students:"), ("at least 200",)))
def _(ws, folder):
    config_case(folder, _few_students)


def _asian_sample(c):
    c["samples"] = ["all", "Asian"]


@case("config: samples contains Asian", "config", "error",
      Expect("config.yaml", "samples[1]", _config_line(_asian_sample, "- Asian"), ("'Asian' is not one of",)))
def _(ws, folder):
    config_case(folder, _asian_sample)


def _no_resamples(c):
    c["bootstrap"]["resamples"] = 0


@case("config: bootstrap.resamples 0", "config", "error",
      Expect("config.yaml", "bootstrap.resamples", _config_line(_no_resamples, "resamples:"), ("at least 10",)))
def _(ws, folder):
    config_case(folder, _no_resamples)


def _big_batches(c):
    c["bootstrap"]["batch_size"] = 5000


@case("config: bootstrap batch larger than resamples", "config", "error",
      Expect("config.yaml", "bootstrap.batch_size", _config_line(_big_batches, "batch_size:"), ("larger than",)))
def _(ws, folder):
    config_case(folder, _big_batches, schema_rejects=False)


def _missing_file(c):
    c["data"]["source"] = "files"
    c["data"]["files"] = {t: f"data/real/{t}.csv" for t in TABLES}


@case("config: data file not found", "config", "error",
      Expect("config.yaml", "data.files.students", _config_line(_missing_file, "students:"), ("file not found",)))
def _(ws, folder):
    config_case(folder, _missing_file, schema_rejects=False)


# -- published values -----------------------------------------------------------------------------
def published_case(folder, transform):
    path = folder / "published_values.csv"
    path.write_text(transform(PUBLISHED.read_text(encoding="utf-8")), encoding="utf-8")
    check_published_values(path)


def _drop_kind(t):
    df = pd.read_csv(PUBLISHED, dtype=str, keep_default_na=False).drop(columns="kind")
    return df.to_csv(index=False, lineterminator="\n")


@case("published: missing column", "published values", "error",
      Expect("published_values.csv", "kind", (1,), ("missing column",)))
def _(ws, folder):
    published_case(folder, _drop_kind)


def _duplicate_row(t):
    lines = t.splitlines(keepends=True)
    return "".join(lines + [lines[5]])


@case("published: duplicated (exhibit, key)", "published values", "error",
      Expect("published_values.csv", "key",
             (6, len(PUBLISHED.read_text(encoding="utf-8").splitlines()) + 1), ("duplicated (exhibit, key)",)))
def _(ws, folder):
    published_case(folder, _duplicate_row)


def _value_not_number(t):
    return replace_once(t, ",0.69,number,", ",.69 (p<.05),number,")


@case("published: number that is not a number", "published values", "error",
      Expect("published_values.csv", "value", (first_line(PUBLISHED.read_text(encoding="utf-8"), ",0.69,number,"),),
             ("not numbers", "'.69 (p<.05)'")))
def _(ws, folder):
    published_case(folder, _value_not_number)


def _unknown_kind(t):
    return replace_once(t, ",0.46,number,", ",46,percent,")


@case("published: unknown kind", "published values", "error",
      Expect("published_values.csv", "kind", (first_line(PUBLISHED.read_text(encoding="utf-8"), ",0.46,number,"),),
             ("unknown kind", "'percent'")))
def _(ws, folder):
    published_case(folder, _unknown_kind)


def _fractional_count(t):
    return replace_once(t, "Consented students,892,count", "Consented students,892.5,count")


@case("published: count that is not a whole number", "published values", "error",
      Expect("published_values.csv", "value",
             (first_line(PUBLISHED.read_text(encoding="utf-8"), "Consented students,892,count"),), ("whole numbers",)))
def _(ws, folder):
    published_case(folder, _fractional_count)


# -- running and judging a case -------------------------------------------------------------------
@functools.cache
def result_of(name: str) -> Result:
    """The result of the named case, run once per session (the per-case tests and the summary
    test share it)."""
    return evaluate(next(c for c in CASES if c.name == name))


def evaluate(case: Case, ws: Workspace | None = None) -> Result:
    ws = ws or workspace()
    folder = ws.folder(case.name.replace(" ", "_").replace("/", "_").replace("'", ""))
    try:
        case.act(ws, folder)
    except DataError as err:
        result = Result(case, "error", err)
    except AssertionError as err:
        return Result(case, "check failed", err, [f"check failed: {err}"])
    else:
        result = Result(case, "accepted")
    if result.outcome != case.expected:
        result.problems.append(f"expected {case.expected}, got {result.outcome}"
                               + (f": {result.error}" if result.error else ""))
        return result
    if case.expected == "error":
        result.problems.extend(_judge_error(case.expect, result.error))
    return result


def _judge_error(expect: Expect, err: DataError) -> list[str]:
    text, problems = str(err), []
    if "\n" in text:
        problems.append("the message spans several lines")
    if Path(err.file).name != expect.file or not text.startswith(err.file):
        problems.append(f"message does not start with the file {expect.file}: {text}")
    if err.column != expect.column:
        problems.append(f"column/key {err.column!r}, expected {expect.column!r}: {text}")
    if expect.column is not None and f"'{expect.column}'" not in text:
        problems.append(f"message does not name {expect.column!r}: {text}")
    if expect.rows:
        shown = f"{expect.unit}(s) " + ", ".join(str(r) for r in expect.rows)
        if tuple(err.rows[:len(expect.rows)]) != expect.rows or shown not in text:
            problems.append(f"rows {err.rows[:5]}, expected to start with {list(expect.rows)}: {text}")
    for fragment in expect.says:
        if fragment.lower() not in text.lower():
            problems.append(f"message lacks {fragment!r}: {text}")
    if not err.fix:
        problems.append(f"message does not say what to do: {text}")
    return problems
