"""The data contract: reading the four tables (students, classrooms, teachers, observations)
from CSV, SPSS (.sav) or Stata (.dta) and validating them against the codebook.

Every problem raises :class:`DataError` naming the file, the column, the first offending rows
(as line numbers of the file, header = line 1) and what to do, so a researcher with a messy
file can fix it without reading code. Column types and value ranges are checked with pandera
schemas built from the codebook; checks across tables (unknown school or classroom) follow.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from lwo.codebook import Codebook

TABLES = ("students", "classrooms", "teachers", "observations")
RECORD_SPECS = {"students": "student_records", "classrooms": "classrooms",
                "teachers": "teacher_records", "observations": "observation_records"}
MAX_ROWS_SHOWN = 5


class DataError(ValueError):
    """A problem with an input file, stated for the person who has to fix it."""

    def __init__(self, file, message: str, column: str | None = None, rows=None, fix: str | None = None):
        self.file, self.column, self.rows = str(file), column, list(rows or [])
        parts = [f"{self.file}"]
        if column is not None:
            parts.append(f"column '{column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
            more = f" (and {len(self.rows) - MAX_ROWS_SHOWN} more)" if len(self.rows) > MAX_ROWS_SHOWN else ""
            parts.append(f"line(s) {shown}{more}")
        text = ": ".join([", ".join(parts), message])
        if fix:
            text += f". {fix}"
        super().__init__(text)


def _line(index) -> int:
    """File line of a 0-based data row (line 1 is the header)."""
    return int(index) + 2


# -- reading -------------------------------------------------------------------------------
def read_table(path) -> pd.DataFrame:
    """Read one table as text columns; types are checked afterwards against the codebook."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found", fix="Check the path under data.files in config/config.yaml")
    if path.stat().st_size == 0:
        raise DataError(path, "the file is empty", fix="Export the table again with its header row")
    suffix = path.suffix.lower()
    if suffix in (".sav", ".dta"):
        import pyreadstat
        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        df, _ = reader(str(path), apply_value_formats=True)
        return df.astype(object).where(df.notna(), None).astype("string")
    if suffix not in (".csv", ".txt"):
        raise DataError(path, f"unsupported file type '{suffix}'", fix="Use .csv (UTF-8), .sav or .dta")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is accepted and dropped
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(path, f"the file is not UTF-8 text (byte {raw[err.start]:#x} at line {line})",
                        fix="Save it as CSV UTF-8") from None
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise DataError(path, "the file has no header row", fix="The first line must name the columns")
    if "," not in first and any(d in first for d in (";", "\t", "|")):
        delim = next(d for d in (";", "\t", "|") if d in first)
        raise DataError(path, f"columns are separated by {delim!r}, not by commas",
                        fix="Save the file as comma-separated CSV")
    header = next(csv.reader([first]))
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(path, f"duplicated column name(s) {dupes} in the header", column=dupes[0],
                        rows=[1], fix="Each column may appear once")
    try:
        df = pd.read_csv(path, dtype="string", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as err:
        raise DataError(path, f"the file cannot be parsed as CSV: {err}") from None
    if df.empty:
        raise DataError(path, "the file has a header but no rows")
    return df


# -- validation ----------------------------------------------------------------------------
def _numeric(spec: dict) -> bool:
    return spec.get("type") in ("integer", "float")


def _column_specs(table: str, codebook: Codebook) -> dict[str, dict]:
    specs = dict(codebook.record_columns(RECORD_SPECS[table]))
    likert = {"type": "integer", "min": codebook.scale_min, "max": codebook.scale_max, "nullable": True}
    if table == "students":
        for item, spec in codebook.student_collaboration_items.items():
            specs[item] = {"type": "category", "values": spec["categories"], "nullable": True}
        specs.update({i.id: likert for i in codebook.all_items()})
    elif table == "teachers":
        for item, spec in codebook.teacher_collaboration_items.items():
            specs[item] = {"type": "category", "values": spec["categories"], "nullable": True}
        specs.update({i: likert for i in codebook.teacher_item_ids()})
    elif table == "observations":
        specs.update({i: likert for i in codebook.observation_items})
    return specs


def _pandera_schema(specs: dict[str, dict]) -> pa.DataFrameSchema:
    columns = {}
    for name, spec in specs.items():
        checks = []
        if "values" in spec:
            checks.append(pa.Check.isin(spec["values"]))
        if "min" in spec:
            checks.append(pa.Check.ge(spec["min"]))
        if "max" in spec:
            checks.append(pa.Check.le(spec["max"]))
        dtype = {"integer": float, "float": float}.get(spec.get("type"), object)
        columns[name] = pa.Column(dtype, checks=checks, nullable=bool(spec.get("nullable", False)),
                                  unique=bool(spec.get("unique", False)), coerce=False)
    return pa.DataFrameSchema(columns, strict=False)


def _coerce(df: pd.DataFrame, specs: dict[str, dict], file) -> pd.DataFrame:
    """Text columns to numbers, with the file's own words when a cell is not a number."""
    out = df.copy()
    for name, spec in specs.items():
        col = out[name].str.strip()
        if _numeric(spec):
            num = pd.to_numeric(col, errors="coerce")
            bad = col.notna() & num.isna()
            if bad.any():
                examples = ", ".join(repr(v) for v in col[bad].head(3))
                hint = " (it looks like a date: Excel may have reformatted the column)" if col[bad].str.contains(r"\d+[/-]\d+[/-]\d+").any() else ""
                raise DataError(file, f"expected numbers, found text {examples}{hint}", column=name,
                                rows=[_line(i) for i in col.index[bad]], fix="Correct or blank these cells")
            if spec["type"] == "integer":
                frac = num.notna() & (num != num.round())
                if frac.any():
                    raise DataError(file, f"expected whole numbers, found {num[frac].iloc[0]}", column=name,
                                    rows=[_line(i) for i in num.index[frac]])
            out[name] = num.astype(float)
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return out


def validate_table(df: pd.DataFrame, table: str, codebook: Codebook, file) -> pd.DataFrame:
    """Check one table's columns, types, values and ids; return it typed."""
    specs = _column_specs(table, codebook)
    expected, found = list(specs), list(df.columns)
    missing = [c for c in expected if c not in found]
    if missing:
        raise DataError(file, f"missing column(s) {missing}", column=missing[0],
                        fix=f"The {table} table needs every column the codebook lists ({codebook.path})")
    unknown = [c for c in found if c not in specs]
    if unknown:
        raise DataError(file, f"unknown column(s) {unknown}", column=unknown[0],
                        fix=f"Rename them to codebook ids ({codebook.path}) or drop them")
    typed = _coerce(df[expected], specs, file)
    # ids that differ only in case or surrounding white space are the same person to a reader
    for name, spec in specs.items():
        if spec.get("unique"):
            norm = typed[name].astype("string").str.strip().str.lower()
            dup = norm.duplicated(keep=False) & norm.notna()
            if dup.any():
                raise DataError(file, f"duplicated id(s) {sorted(set(typed[name][dup].astype(str)))[:3]}"
                                " (ids are compared ignoring case and surrounding spaces)", column=name,
                                rows=[_line(i) for i in typed.index[dup]], fix="Each id may appear once")
            if typed[name].isna().any():
                raise DataError(file, "empty id", column=name, rows=[_line(i) for i in typed.index[typed[name].isna()]])
    try:
        _pandera_schema(specs).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        first = cases.iloc[0]
        column = first["column"]
        sub = cases[cases["column"] == column]
        rows = sorted({_line(i) for i in sub["index"].dropna()})
        spec = specs[column]
        if "values" in spec:
            what = f"allowed values are {spec['values']}"
        elif "min" in spec or "max" in spec:
            what = f"values must lie in [{spec.get('min')}, {spec.get('max')}]"
        else:
            what = str(first["check"])
        values = ", ".join(repr(v) for v in sub["failure_case"].head(3))
        msg = f"missing value(s) where the codebook allows none" if str(first["check"]) == "not_nullable" else f"invalid value(s) {values}; {what}"
        raise DataError(file, msg, column=column, rows=rows, fix="Correct these cells") from None
    for name, spec in specs.items():
        if spec.get("type") == "integer":
            typed[name] = typed[name].astype("Int64")
    return typed


def _check_references(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> None:
    rooms = tables["classrooms"]
    known_rooms = set(rooms["classroom_id"])
    known_teachers = set(tables["teachers"]["teacher_id"])
    checks = [("students", "classroom_id", known_rooms, "classrooms"),
              ("observations", "classroom_id", known_rooms, "classrooms"),
              ("classrooms", "teacher_id", known_teachers, "teachers")]
    for table, column, known, other in checks:
        df = tables[table]
        bad = ~df[column].isin(known)
        if bad.any():
            raise DataError(files[table], f"unknown {column} {sorted(set(df.loc[bad, column]))[:3]} "
                            f"(not in the {other} table, {files[other]})", column=column,
                            rows=[_line(i) for i in df.index[bad]])
    st = tables["students"].merge(rooms[["classroom_id", "school_id"]], on="classroom_id", suffixes=("", "_room"))
    bad = st["school_id"] != st["school_id_room"]
    if bad.any():
        raise DataError(files["students"], "student's school differs from the school of their classroom",
                        column="school_id", rows=[_line(i) for i in tables["students"].index[bad.to_numpy()]])


def load_tables(files: dict[str, str], codebook: Codebook) -> dict[str, pd.DataFrame]:
    """Read and validate the four tables; raise DataError at the first problem."""
    tables = {}
    for table in TABLES:
        if table not in files:
            raise DataError("config/config.yaml", f"data.files has no path for the {table} table", column=table)
        tables[table] = validate_table(read_table(files[table]), table, codebook, files[table])
    _check_references(tables, files)
    return tables
