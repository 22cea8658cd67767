"""The data contract: reading the four tables (students, classrooms, teachers, observations)
from CSV, SPSS (.sav) or Stata (.dta) and validating them against the codebook.

Every problem raises :class:`DataError` naming the file, the column, the first offending rows
and what to do, so a researcher with a messy file can fix it without reading code. Rows are
file line numbers for CSV (the header is line 1; blank lines count, so the number is the one an
editor shows) and case numbers (1 = first case) for .sav/.dta. Column types and value ranges are
checked with pandera schemas built from the codebook; checks across tables (unknown classroom or
teacher, a student's school differing from the classroom's) follow.

Refused, with a DataError: a missing, empty or unreadable file; a header without rows; another
delimiter than the comma; text that is not UTF-8 (Latin-1/Windows-1252, UTF-16); an Excel or
SPSS file saved under a .csv name; duplicated or unnamed header columns; rows with more or fewer
fields than the header; missing or unknown columns; text (dates, "NA", decimal commas) in a
numeric column; fractions in a whole-number column; values outside the codebook's range or list;
empty or duplicated ids (ids that differ only in case or surrounding spaces are duplicates);
references to unknown classrooms or teachers.

Accepted, and how (documented handling):
- a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped;
- blank lines and rows whose every cell is empty (left by spreadsheets) are skipped;
- spaces around a cell are dropped; an empty cell is a missing value (where the codebook allows);
- in .sav/.dta files, value labels are applied to category columns, numeric codes are kept for
  numeric columns, and user-defined missing codes (e.g. -99 declared missing in SPSS) are missing;
- conditions that are legal data but limit the analyses (a constant item, all grades missing, no
  Black or no White students, a school smaller than the privacy minimum, students whose scale
  score is missing because fewer than the codebook's share of items is answered) are returned
  by :func:`data_notes`, for the data summary and the report's data section.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from lwo.codebook import Codebook
from lwo.errors import DataError

TABLES = ("students", "classrooms", "teachers", "observations")
RECORD_SPECS = {"students": "student_records", "classrooms": "classrooms",
                "teachers": "teacher_records", "observations": "observation_records"}
MAX_VALUES_SHOWN = 3
CSV_SUFFIXES = (".csv", ".txt")
STATS_SUFFIXES = {".sav": "SPSS", ".dta": "Stata"}
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# words that spreadsheets and statistics packages write for "no value"
MISSING_WORDS = {"na", "n/a", "nan", "null", "none", ".", "-", "--", "missing", "#n/a", "#value!", "?", "n.a."}
# numeric codes that surveys commonly use for "no answer"
MISSING_CODES = {-1, -7, -8, -9, -77, -88, -99, -999, 9, 99, 999, 9999}
# Excel stores dates as days since 1899-12-30: these serials are the years 1970-2064
EXCEL_SERIALS = (25569, 60000)
DATE_LIKE = re.compile(
    r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}([ T].*)?$"
    r"|^(\d{1,2}[- ])?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*([- ]\d{1,4})?$",
    re.IGNORECASE)
DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def _examples(values) -> str:
    values = list(dict.fromkeys(values))  # unique, in order of appearance
    shown = ", ".join(repr(v) for v in values[:MAX_VALUES_SHOWN])
    return shown + (", ..." if len(values) > MAX_VALUES_SHOWN else "")


def _number_text(v) -> object:
    """A number as it would be typed: 3.0 -> 3."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


# -- reading -------------------------------------------------------------------------------
def read_table(path) -> pd.DataFrame:
    """Read one table as text columns; types are checked afterwards against the codebook.

    The frame's attrs carry where each row came from ("source_lines", "source_unit",
    "header_line") so that validation reports rows as the file numbers them."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found", fix="Check the path given in config/config.yaml")
    if path.is_dir():
        raise DataError(path, "this is a folder, not a file", fix="Give the path of the table's file")
    if path.stat().st_size == 0:
        raise DataError(path, "the file is empty (0 bytes)", fix="Export the table again, with its header row")
    suffix = path.suffix.lower()
    if suffix in STATS_SUFFIXES:
        return _read_stats_file(path, suffix)
    if suffix not in CSV_SUFFIXES:
        raise DataError(path, f"unsupported file type '{suffix}'", fix="Use .csv (UTF-8), .sav (SPSS) or .dta (Stata)")
    raw = path.read_bytes()
    _refuse_binary(path, raw)
    return _parse_csv(path, _decode(path, raw))


def _refuse_binary(path: Path, raw: bytes) -> None:
    save_csv = "Save it as CSV UTF-8 (comma delimited)"
    if raw.startswith(b"PK\x03\x04"):
        raise DataError(path, "this is a zip archive, most likely an Excel workbook (.xlsx) renamed .csv",
                        fix=f"Open it in Excel and {save_csv[0].lower()}{save_csv[1:]}")
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(path, "this is an old Excel workbook (.xls), not CSV text", fix=save_csv)
    if raw.startswith((b"$FL2", b"$FL3")):
        raise DataError(path, "this is an SPSS data file, not CSV text", fix="Name it .sav, or export it as CSV")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(path, "the file is UTF-16 text (Excel's 'Unicode Text'), not UTF-8", rows=[1],
                        fix=save_csv)
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(path, "the file contains NUL bytes: UTF-16 text without a byte-order mark, "
                        "or not a text file", rows=[raw[:nul].count(b"\n") + 1], fix=save_csv)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is accepted and dropped
    except UnicodeDecodeError:
        pass
    bad_lines, first = [], None
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            bad_lines.append(number)
            first = first or (number, line, err.start)
    number, line, pos = first
    header = next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")]))
    column_index = len(next(csv.reader([line[:pos].decode("latin-1")]), [""])) - 1
    column = header[column_index] if number > 1 and column_index < len(header) else None
    fields = next(csv.reader([line.decode("cp1252", errors="replace").rstrip("\r")]), [""])
    value = fields[column_index] if column_index < len(fields) else ""
    raise DataError(path, f"the file is not UTF-8 text: byte {line[pos]:#04x} in {value!r} "
                    "(it looks like Latin-1/Windows-1252)", column=column, rows=bad_lines,
                    fix="Save it as CSV UTF-8 (Excel: File > Save As > CSV UTF-8), "
                        "or convert it with: iconv -f WINDOWS-1252 -t UTF-8")


def _parse_csv(path: Path, text: str) -> pd.DataFrame:
    reader = csv.reader(io.StringIO(text, newline=""))
    records, starts, end = [], [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if all(not cell.strip() for cell in record):
                continue  # a blank line, or a row of empty cells left by a spreadsheet
            records.append(record)
            starts.append(start)
    except csv.Error as err:
        raise DataError(path, f"the file cannot be read as CSV ({err})", rows=[end + 1]) from None
    if not records:
        raise DataError(path, "the file has no header row", fix="The first line must name the columns")
    header, header_line = records[0], starts[0]
    if len(header) == 1:
        for delim, name in OTHER_DELIMITERS.items():
            if delim in header[0]:
                raise DataError(path, f"the columns are separated by {name} ({delim!r}), not commas",
                                rows=[header_line],
                                fix="Save the table as comma-separated CSV (Excel: CSV UTF-8 (comma delimited))")
    # spaces around a name are a spreadsheet's, not part of it
    header = records[0] = [h.strip() for h in header]
    unnamed = [i for i, h in enumerate(header) if not h]
    if unnamed:
        # a column with neither name nor values (a trailing comma on every line, an empty
        # spreadsheet column) is dropped; one with values is an error
        filled = [(s, i) for s, r in zip(starts[1:], records[1:]) for i in unnamed if i < len(r) and r[i].strip()]
        if filled:
            positions = sorted({i + 1 for _, i in filled})
            raise DataError(path, f"header position(s) {positions[:MAX_VALUES_SHOWN]} have no column name "
                            "but hold values", rows=sorted({s for s, _ in filled}),
                            fix="Name these columns or delete them")
        records = [[v for i, v in enumerate(r) if i not in unnamed] for r in records]
        header = records[0]
    normal = [h.strip().lower() for h in header]
    dupes = [h for i, h in enumerate(header) if normal.index(normal[i]) != i]
    if dupes:
        first = header[normal.index(dupes[0].strip().lower())]
        positions = [i + 1 for i, n in enumerate(normal) if n == dupes[0].strip().lower()]
        same = "" if first == dupes[0] else " (they differ only in case or spaces)"
        raise DataError(path, f"column name {first!r} appears {len(positions)} times in the header, at "
                        f"positions {positions}{same}", column=first, rows=[header_line],
                        fix="Each column may appear once: rename or delete the copies")
    if len(records) == 1:
        raise DataError(path, f"the file has a header (line {header_line}) but no data rows",
                        rows=[header_line], fix="Export the table again, with its rows")
    ragged = [(s, r) for s, r in zip(starts[1:], records[1:]) if len(r) != len(header)]
    if ragged:
        start, record = ragged[0]
        column = header[len(record)] if len(record) < len(header) else None
        raise DataError(path, f"line {start} has {len(record)} fields but the header has {len(header)}",
                        column=column, rows=[s for s, _ in ragged],
                        fix="Every row needs one value per column (empty cells as ,,); "
                            "a value containing a comma must be in double quotes")
    df = pd.DataFrame(records[1:], columns=header, dtype="string")
    df.attrs.update(source_lines=SourceLines(starts[1:]), source_unit="line", header_line=header_line)
    return df


class SourceLines(tuple):
    """Where each row of a table came from. Immutable, so the deep copy of ``attrs`` that
    pandas makes for every derived frame can share it: a list was copied number by number,
    a third of the time of validating a table."""

    def __deepcopy__(self, memo):
        return self


def _read_stats_file(path: Path, suffix: str) -> pd.DataFrame:
    import pyreadstat
    reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
    kind = STATS_SUFFIXES[suffix]
    try:
        # codes, not labels: a labelled 1-4 item stays numeric; labels are applied to category
        # columns during validation. User-defined missing codes are read as missing.
        df, meta = reader(str(path), apply_value_formats=False)
    except Exception as err:  # pyreadstat raises its own error types for every unreadable file
        raise DataError(path, f"the file cannot be read as a {kind} file ({err})",
                        fix=f"Save it again from {kind}, or export it as CSV UTF-8") from None
    if df.empty:
        raise DataError(path, "the file has variables but no cases", fix="Export the table again, with its rows")
    text = pd.DataFrame({c: _stats_column_text(df[c]) for c in df.columns}, index=df.index)
    labels = {col: {_stats_code_text(k): v for k, v in m.items()}
              for col, m in (meta.variable_value_labels or {}).items()}
    text.attrs.update(source_lines=SourceLines(range(1, len(df) + 1)), source_unit="row", header_line=None,
                      value_labels=labels)
    return text


def _stats_code_text(value) -> str:
    return str(_number_text(float(value))) if isinstance(value, (int, float)) else str(value)


def _stats_column_text(col: pd.Series) -> pd.Series:
    """A .sav/.dta column as text; whole numbers without '.0' so ids match CSV ids."""
    if pd.api.types.is_numeric_dtype(col):
        return pd.Series([None if pd.isna(v) else str(_number_text(float(v))) for v in col],
                         index=col.index, dtype="string")
    return col.astype(object).where(col.notna(), None).astype("string")


# -- validation ----------------------------------------------------------------------------
def _numeric(spec: dict) -> bool:
    return spec.get("type") in ("integer", "float")


def _column_specs(table: str, codebook: Codebook) -> dict[str, dict]:
    specs = dict(codebook.record_columns(RECORD_SPECS[table]))
    likert = {"type": "integer", "min": codebook.scale_min, "max": codebook.scale_max, "nullable": True,
              "answer_codes": codebook.scale_label_text}
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


def _pandera_schema(specs: dict[str, dict]) -> "pa.DataFrameSchema":
    import pandera.pandas as pa  # imported here: every script imports this module, few validate

    columns = {}
    for name, spec in specs.items():
        checks = []
        if "values" in spec:
            checks.append(pa.Check.isin(spec["values"]))
        if "min" in spec:
            checks.append(pa.Check.ge(spec["min"]))
        if "max" in spec:
            checks.append(pa.Check.le(spec["max"]))
        dtype = float if _numeric(spec) else object
        columns[name] = pa.Column(dtype, checks=checks, nullable=bool(spec.get("nullable", False)), coerce=False)
    return pa.DataFrameSchema(columns, strict=False)


def _source_rows(df: pd.DataFrame) -> tuple[list[int], str, int | None]:
    """Row numbers as the file numbers them (see read_table), or positions + 2 for a frame
    built in memory (as if written to CSV with a header)."""
    lines = df.attrs.get("source_lines")
    if lines is not None and len(lines) == len(df):
        return list(lines), df.attrs.get("source_unit", "line"), df.attrs.get("header_line")
    return list(range(2, len(df) + 2)), "line", 1


def _check_columns(df: pd.DataFrame, table: str, specs: dict, codebook: Codebook, file, header_line) -> None:
    found = [str(c) for c in df.columns]
    missing = [c for c in specs if c not in found]
    unknown = [c for c in found if c not in specs]
    rows = [header_line] if header_line else []

    def near(name, candidates):
        lowered = {c.strip().lower(): c for c in candidates}
        if name.strip().lower() in lowered:
            return lowered[name.strip().lower()]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.8)
        return close[0] if close else None

    if missing:
        hints = [f"{c!r} looks like {near(c, unknown)!r}" for c in missing if near(c, unknown)]
        hint = f" ({'; '.join(hints[:MAX_VALUES_SHOWN])})" if hints else ""
        raise DataError(file, f"missing column(s) {_examples(missing)}{hint}", column=missing[0], rows=rows,
                        fix=f"The {table} table needs every column the codebook lists ({codebook.path}); "
                            "rename the column to the codebook's id")
    if unknown:
        hints = [f"{c!r} looks like {near(c, list(specs))!r}" for c in unknown if near(c, list(specs))]
        hint = f" ({'; '.join(hints[:MAX_VALUES_SHOWN])})" if hints else ""
        raise DataError(file, f"unknown column(s) {_examples(unknown)}{hint}", column=unknown[0], rows=rows,
                        fix=f"Rename them to codebook ids ({codebook.path}) or delete them")


def _coerce(df: pd.DataFrame, specs: dict[str, dict], file, unit: str, labels: dict) -> pd.DataFrame:
    """Text columns to numbers, with the file's own words when a cell is not a number.

    The numeric columns are converted together, as one long column (a survey export has a
    hundred of them: column by column, pandas' per-call overhead was most of a table's
    validation); where some cell is not a number, or not a whole one in an integer column,
    the columns are taken one by one, which names the first such column and its rows."""
    numeric = [name for name, spec in specs.items() if _numeric(spec)]
    converted = _numbers_together(df, numeric, [n for n in numeric if specs[n]["type"] == "integer"])
    if converted is None:
        return _coerce_by_column(df, specs, file, unit, labels)
    out = {}
    for name, spec in specs.items():
        if name in converted:
            out[name] = converted[name]
            continue
        col = df[name].astype("string").str.strip().replace("", pd.NA)
        if name in labels:
            col = col.map(lambda v: labels[name].get(v, v) if pd.notna(v) else v).astype("string")
        out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=df.index)


def _numbers_together(df: pd.DataFrame, columns: list[str], integer: list[str]) -> pd.DataFrame | None:
    """The text columns as floats (blank: NaN), or None where a cell is not a finite number or
    an integer column has a fraction."""
    if not columns:
        return pd.DataFrame(index=df.index)
    text = pd.Series(df[columns].to_numpy(dtype=object).ravel(order="F"), dtype="string").str.strip()
    text = text.where(text != "", pd.NA)
    num = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
    given = text.notna().to_numpy()
    if np.any(given & ~np.isfinite(num)):
        return None
    values = num.reshape(len(df), len(columns), order="F")
    whole = values[:, [columns.index(c) for c in integer]]
    if np.any(np.isfinite(whole) & (whole != np.round(whole))):
        return None
    return pd.DataFrame(values, columns=columns, index=df.index)


def _coerce_by_column(df: pd.DataFrame, specs: dict[str, dict], file, unit: str, labels: dict) -> pd.DataFrame:
    """:func:`_coerce` column by column, raising at the first column with a cell that is not a
    (whole) number."""
    out = {}
    for name, spec in specs.items():
        col = df[name].astype("string").str.strip().replace("", pd.NA)
        if name in labels and not _numeric(spec):
            col = col.map(lambda v: labels[name].get(v, v) if pd.notna(v) else v).astype("string")
        if not _numeric(spec):
            out[name] = col.astype(object).where(col.notna(), None)
            continue
        num = pd.to_numeric(col, errors="coerce").astype(float)
        bad = col.notna() & (num.isna() | num.abs().eq(float("inf")))
        if bad.any():
            texts = col[bad]
            hint = ""
            if texts.str.match(DATE_LIKE).any():
                hint = (" (they look like dates: Excel turns entries such as 3-4 or 1/2 into dates; "
                        "format the column as Number and re-enter the values)")
            elif texts.str.match(DECIMAL_COMMA).any():
                hint = " (a decimal comma: write 3.5, not 3,5)"
            elif texts.str.lower().isin(MISSING_WORDS).any():
                hint = " (a missing value is an empty cell, not a word)"
            elif spec.get("answer_codes") and texts.str.contains("[a-zA-Z]").all():  # a survey's text export
                hint = f" (answers as words: this item's answers are their codes, {spec['answer_codes']})"
            blank = ", or leave them empty if the value is missing" if spec.get("nullable") else ""
            raise DataError(file, f"expected numbers, found text {_examples(texts)}{hint}", column=name,
                            rows=col.index[bad], unit=unit, fix=f"Correct these cells{blank}")
        if spec["type"] == "integer":
            frac = num.notna() & (num != num.round())
            if frac.any():
                raise DataError(file, f"expected whole numbers, found {_examples(num[frac])}", column=name,
                                rows=num.index[frac], unit=unit,
                                fix="Correct these cells: this column holds whole-number codes")
        out[name] = num
    return pd.DataFrame(out, index=df.index)


def _check_ids(typed: pd.DataFrame, specs: dict, file, unit: str) -> None:
    for name, spec in specs.items():
        if not spec.get("unique"):
            continue
        empty = typed[name].isna()
        if empty.any():
            raise DataError(file, "empty id", column=name, rows=typed.index[empty], unit=unit,
                            fix="Every row needs its id")
        # ids that differ only in case or surrounding spaces are the same id to a reader
        norm = typed[name].astype(str).str.strip().str.lower()
        dup = norm.duplicated(keep=False)
        if dup.any():
            raise DataError(file, f"duplicated id(s) {_examples(typed[name][dup])} (ids are compared "
                            "ignoring case and surrounding spaces)", column=name, rows=typed.index[dup],
                            unit=unit, fix="Each id may appear once: remove the duplicate rows or correct the ids")


def _values_pass(typed: pd.DataFrame, specs: dict) -> bool:
    """Whether every column passes :func:`_pandera_schema`'s checks (its dtype; no empty cell
    where the codebook requires a value; the others among the allowed values, within min and
    max), checked with numpy: pandera's per-column machinery was most of a valid table's
    validation, so it runs only where a check fails, for its report of the failing cells."""
    for name, spec in specs.items():
        col = typed[name]
        if col.dtype != (np.float64 if _numeric(spec) else object):
            return False
        present = col.notna().to_numpy()
        if not spec.get("nullable", False) and not present.all():
            return False
        values = col.to_numpy()[present]
        try:
            if "values" in spec and not pd.Series(values, dtype=col.dtype).isin(spec["values"]).all():
                return False
            if "min" in spec and not np.all(values >= spec["min"]):
                return False
            if "max" in spec and not np.all(values <= spec["max"]):
                return False
        except TypeError:  # values that do not compare with the bounds: pandera says which
            return False
    return True


def _check_values(typed: pd.DataFrame, specs: dict, file, unit: str) -> None:
    import pandera.pandas as pa

    if _values_pass(typed, specs):
        return
    try:
        _pandera_schema(specs).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"])
        if cases.empty:  # a whole-column failure (a type), which the coercion above should prevent
            first = err.failure_cases.iloc[0]
            raise DataError(file, f"column check failed: {first['check']}", column=str(first["column"]),
                            unit=unit, fix="Correct the column's values") from None
        column = next(c for c in specs if c in set(cases["column"]))
        sub = cases[cases["column"] == column]
        spec = specs[column]
        rows = sorted({int(i) for i in sub["index"]})
        nulls = sub["check"].astype(str).eq("not_nullable")
        if nulls.all():
            raise DataError(file, "empty cell(s) where the codebook requires a value", column=column, rows=rows,
                            unit=unit, fix="Fill in these cells") from None
        values = [_number_text(v) for v in sub.loc[~nulls, "failure_case"]]
        rows = sorted({int(i) for i in sub.loc[~nulls, "index"]})
        hint = ""
        if "values" in spec:
            what = f"allowed values are {spec['values']}"
            allowed = {str(a).lower() for a in spec["values"]}
            if any(str(v).lower() in allowed for v in values):
                hint = " (they differ from allowed values only in upper/lower case)"
        else:
            what = (f"values must lie between {spec['min']} and {spec['max']}" if "min" in spec and "max" in spec
                    else f"values must be at least {spec['min']}" if "min" in spec else f"values must be at most {spec['max']}")
            numbers = [v for v in values if isinstance(v, (int, float))]
            if any(v in MISSING_CODES for v in numbers):
                hint = " (codes such as 9, 99 or -99 often mean 'no answer': if so, leave these cells empty)"
            elif numbers and all(EXCEL_SERIALS[0] <= v <= EXCEL_SERIALS[1] for v in numbers):
                hint = " (they look like Excel date serial numbers: Excel turned the entries into dates)"
        blank = ", or leave them empty if the value is missing" if spec.get("nullable") else ""
        raise DataError(file, f"invalid value(s) {_examples(values)}; {what}{hint}", column=column, rows=rows,
                        unit=unit, fix=f"Correct these cells{blank}") from None


def _validate(df: pd.DataFrame, table: str, codebook: Codebook, file) -> pd.DataFrame:
    """validate_table, keeping the file's row numbers as the index (for the checks across tables)."""
    lines, unit, header_line = _source_rows(df)
    specs = _column_specs(table, codebook)
    _check_columns(df, table, specs, codebook, file, header_line)
    work = df[list(specs)].copy()
    work.index = pd.Index(lines)
    typed = _coerce(work, specs, file, unit, df.attrs.get("value_labels") or {})
    _check_ids(typed, specs, file, unit)
    _check_values(typed, specs, file, unit)
    for name, spec in specs.items():
        if spec.get("type") == "integer":
            typed[name] = typed[name].astype("Int64")
    typed.attrs = {"source_unit": unit}
    return typed


def validate_table(df: pd.DataFrame, table: str, codebook: Codebook, file) -> pd.DataFrame:
    """Check one table's columns, types, values and ids; return it typed (integers as Int64,
    other numbers as float, text as str with None for missing)."""
    typed = _validate(df, table, codebook, file).reset_index(drop=True)
    typed.attrs = {}
    return typed


def _references(codebook: Codebook) -> list[tuple[str, str, str, str]]:
    """(table, column, referenced table, referenced column), as the codebook declares them."""
    out = []
    for table, record in RECORD_SPECS.items():
        for column, spec in codebook.record_columns(record).items():
            if spec.get("references"):
                other, other_column = spec["references"].split(".")
                out.append((table, column, other, other_column))
    return out


def _check_references(tables: dict[str, pd.DataFrame], files: dict[str, str], codebook: Codebook) -> None:
    for table, column, other, other_column in _references(codebook):
        if table not in tables or other not in tables:
            continue  # a partial export: only the references between tables given are checked
        df, known = tables[table], set(tables[other][other_column])
        bad = ~df[column].isin(known)
        if bad.any():
            values = list(dict.fromkeys(df.loc[bad, column]))
            folded = {str(k).strip().lower(): k for k in known}
            near = [f"{v!r} is {folded[str(v).strip().lower()]!r} in other case"
                    for v in values if str(v).strip().lower() in folded]
            hint = f" ({'; '.join(near[:MAX_VALUES_SHOWN])})" if near else ""
            raise DataError(files[table], f"unknown {column} {_examples(values)}: not in the {other} table "
                            f"({files[other]}){hint}", column=column, rows=df.index[bad],
                            unit=df.attrs.get("source_unit", "line"),
                            fix=f"Correct these ids, or add the missing rows to the {other} table")
    # a classroom lies in one school: its students and its teacher belong to that school
    for table, key, other, what in (("students", "classroom_id", "classrooms", "their classroom's"),
                                    ("classrooms", "teacher_id", "teachers", "their teacher's")):
        if table not in tables or other not in tables:
            continue
        lookup = tables[other].set_index(key)["school_id"]
        df = tables[table]
        expected = df[key].map(lookup)
        bad = df["school_id"] != expected
        if bad.any():
            pairs = [f"{_number_text(float(a))} vs {_number_text(float(b))}"
                     for a, b in zip(df.loc[bad, "school_id"], expected[bad])]
            raise DataError(files[table], f"school_id differs from {what} school (given vs "
                            f"{what} school: {_examples(pairs)})",
                            column="school_id", rows=df.index[bad], unit=df.attrs.get("source_unit", "line"),
                            fix=f"Correct school_id or {key}")
    # so is a classroom of a students table given alone: an export that numbers each school's
    # sections alike would otherwise merge classrooms of different schools (clusters, classroom means)
    students = tables["students"]
    first = students.groupby("classroom_id", sort=False)["school_id"].transform("first")
    bad = students["school_id"] != first
    if bad.any():
        pairs = list(dict.fromkeys(f"{c!r}: schools {_number_text(float(a))} and {_number_text(float(b))}" for c, a, b
                                   in zip(students.loc[bad, "classroom_id"], first[bad], students.loc[bad, "school_id"])))
        shown = "; ".join(pairs[:MAX_VALUES_SHOWN]) + ("; ..." if len(pairs) > MAX_VALUES_SHOWN else "")
        raise DataError(files["students"], f"classroom_id in more than one school ({shown}); the lines "
                        "shown are those in a school other than the classroom's first", column="classroom_id",
                        rows=students.index[bad], unit=students.attrs.get("source_unit", "line"),
                        fix="A classroom lies in one school: give each school's classrooms their own ids (prefix "
                            "the school, as 'S1-MATH1') or correct school_id")


def load_tables(files: dict[str, str], codebook: Codebook) -> dict[str, pd.DataFrame]:
    """Read and validate the tables given (students required; classrooms, teachers and
    observations optional: a district export often has the student survey alone), and the
    references between the tables given; raise DataError at the first problem."""
    unknown = [t for t in files if t not in TABLES]
    if unknown:
        raise DataError("config/config.yaml", f"unknown table {unknown[0]!r}", column=f"data.files.{unknown[0]}",
                        field="key", fix=f"The tables are {list(TABLES)}")
    if "students" not in files:
        raise DataError("config/config.yaml", "data.files has no path for the students table",
                        column="data.files.students", field="key", fix="Every analysis needs the students table")
    tables = {}
    for table in TABLES:
        if table in files:
            tables[table] = _validate(read_table(files[table]), table, codebook, files[table])
    _check_references(tables, files, codebook)
    out = {}
    for table, df in tables.items():
        out[table] = df.reset_index(drop=True)
        out[table].attrs = {}
    return out


# -- visible handling of legal but limiting data ---------------------------------------------
def data_notes(tables: dict[str, pd.DataFrame], codebook: Codebook, min_cell: int = 10) -> list[dict]:
    """Conditions the contract accepts but the analyses must show: one dict per condition with
    table, column, issue, count and handling. Counts of students below `min_cell` are not given
    (privacy). Meant for data_summary.json and the report's data section."""
    from lwo.scoring import score_constructs

    notes = []

    def note(table, column, issue, handling, count=None):
        notes.append({"table": table, "column": column, "issue": issue, "count": count, "handling": handling})

    students = tables["students"]
    surveyed = students[students["surveyed"] == 1] if "surveyed" in students else students
    item_sets = [("students", surveyed, [i.id for i in codebook.all_items()]),
                 ("teachers", tables.get("teachers"), codebook.teacher_item_ids()),
                 ("observations", tables.get("observations"), list(codebook.observation_items))]
    for table, df, items in item_sets:
        if df is None:
            continue
        for item in items:
            answers = df[item].dropna()
            if answers.empty:
                note(table, item, "no answers", "item left out of scale scores and models; "
                     "its construct's scale score uses the other items")
            elif answers.nunique() == 1:
                note(table, item, f"constant: every answer is {_number_text(float(answers.iloc[0]))}",
                     "kept; the item carries no information: reliability and factor loadings "
                     "involving it are not estimable")
    scores = score_constructs(surveyed, codebook)
    share = codebook.min_share_items_answered
    for construct in scores.columns:
        n_missing = int(scores[construct].isna().sum())
        if n_missing:
            note("students", construct, f"n excluded: {n_missing}, reason: fewer than {share:.0%} of the "
                 "construct's items answered", "scale score missing for these students; models use "
                 "the stated missing-data policy", n_missing)
    for column in ("prior_grade", "current_grade", "absences"):
        if column in students and students[column].isna().all():
            note("students", column, "no values", "models with this variable are reported as not estimable")
    race = surveyed["race"] if "race" in surveyed else pd.Series(dtype=object)
    for group in ("Black", "White"):
        n = int((race == group).sum())
        if n == 0:
            note("students", "race", f"no {group} students", f"{group}-sample estimates and Black-White "
                 "comparisons are reported as not estimable", 0)
        elif n < min_cell:
            note("students", "race", f"fewer than {min_cell} {group} students",
                 f"{group}-sample estimates are reported as not estimable; counts suppressed")
    for school, n in students.groupby("school_id").size().items():
        if n < min_cell:
            note("students", "school_id", f"school {school}: fewer than {min_cell} students",
                 "school-level counts are suppressed; the school stays in pooled analyses")
    return notes
