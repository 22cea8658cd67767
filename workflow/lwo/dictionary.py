"""The data template and data dictionary, generated from the codebook: what a district fills in.

template_columns(codebook)  the columns of each table, in the order validation expects them
data_dictionary(...)        one row per column: wording, allowed values and labels, reverse
                            coding, the scale and its minimum answered items, the exhibits using it
dictionary_html(...)        the dictionary as one self-contained HTML page
"""
from __future__ import annotations

import html

import pandas as pd

from lwo.codebook import Codebook
from lwo.data import TABLES, _column_specs
from lwo.scoring import min_items_answered

RECORDS = {"students": "student_records", "classrooms": "classrooms", "teachers": "teacher_records",
           "observations": "observation_records"}
# model variables built from a record column (the models' control dummies)
MODEL_VARIABLE_SOURCES = {"female": "gender", "nonbinary": "gender", "ela": "subject", "other_subject": "subject"}
MODEL_VARIABLE_PREFIXES = {"school_": "school_id", "grade_": "grade_level"}
# what the teacher rating items' 1-4 answers mean (config/codebook.yaml, teacher_rating_items)
RATING_LABELS = "1 = not at all ... 4 = to a great extent"
DICTIONARY_COLUMNS = ("table", "position", "column", "wording", "type", "required", "allowed_values",
                      "value_labels", "reverse_coded", "scale", "scale_items", "min_items_answered",
                      "references", "note", "exhibits")


def template_columns(codebook: Codebook) -> dict[str, list[str]]:
    """Each table's columns in the order validation reads them (the codebook's order)."""
    return {t: list(_column_specs(t, codebook)) for t in TABLES}


def _source_column(variable: str) -> str:
    for prefix, column in MODEL_VARIABLE_PREFIXES.items():
        if variable.startswith(prefix) and variable[len(prefix):].isdigit():
            return column
    return MODEL_VARIABLE_SOURCES.get(variable, variable)


def model_exhibits_by_column(codebook: Codebook, model_columns: dict[str, list[str]],
                             exhibit_models: dict[str, list[tuple[str, str]]]) -> dict[str, set[str]]:
    """Column -> the exhibits whose saved model fits use it. `model_columns`: model name -> its
    observed variables; `exhibit_models`: exhibit -> the (sample, model) fits it reads. A parcel
    p_<construct> stands for the construct's items; a race-specific sample uses race."""
    out: dict[str, set[str]] = {}
    for exhibit, fits in exhibit_models.items():
        for sample, model in fits:
            columns = set()
            for variable in model_columns.get(model, ()):
                if variable.startswith("p_") and variable[2:] in codebook.student_constructs:
                    columns.update(codebook.item_ids(variable[2:]))
                else:
                    columns.add(_source_column(variable))
            if sample != "all":
                columns.add("race")
            for column in columns:
                out.setdefault(column, set()).add(exhibit)
    return out


def _exhibit_key(exhibit: str) -> tuple:
    return (0, int(exhibit), "") if str(exhibit).isdigit() else (1, 0, str(exhibit))


def data_dictionary(codebook: Codebook, column_exhibits: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """One row per column of each table (DICTIONARY_COLUMNS). Exhibits: those the codebook names
    for the column's scale or item group, and those in `column_exhibits` (model_exhibits_by_column)."""
    column_exhibits = column_exhibits or {}
    likert_labels = codebook.scale_label_text
    info: dict[tuple[str, str], dict] = {}
    for construct, c in codebook.student_constructs.items():
        n = len(c["items"])
        for item in c["items"]:
            info[("students", item["id"])] = dict(
                wording=item["text"], value_labels=likert_labels, reverse_coded="yes" if item.get("reverse") else "no",
                scale=f"{construct} ({c['label']})", scale_items=n, min_items_answered=min_items_answered(codebook, n),
                exhibits={str(c["exhibit"])} if "exhibit" in c else set())
    for table, group in (("students", codebook.student_collaboration_items),
                         ("teachers", codebook.teacher_collaboration_items)):
        for item, spec in group.items():
            info[(table, item)] = dict(wording=spec["text"], exhibits={str(spec["exhibit"])})
    for name, spec in codebook.teacher_scales.items():
        n = len(spec["items"])
        for item in spec["items"]:
            info[("teachers", item)] = dict(
                wording=f"{spec['label']} (item {spec['items'].index(item) + 1} of {n})", value_labels=likert_labels,
                reverse_coded="no", scale=f"{name} ({spec['label']})", scale_items=n,
                min_items_answered=min_items_answered(codebook, n), exhibits={str(spec["exhibit"])})
    for group in codebook.teacher_rating_items.values():
        for item, text in group["items"].items():
            info[("teachers", item)] = dict(wording=text, value_labels=RATING_LABELS, reverse_coded="no",
                                            exhibits={str(group["exhibit"])})
    for item, spec in codebook.observation_items.items():
        info[("observations", item)] = dict(
            wording=spec["text"], reverse_coded="no", exhibits={"39"},
            scale=f"quality area {spec['area']} ({codebook.label(spec['area'])})")
    rows = []
    for table, columns in template_columns(codebook).items():
        specs = _column_specs(table, codebook)
        records = codebook.record_columns(RECORDS[table])
        for position, column in enumerate(columns, start=1):
            spec, extra = specs[column], info.get((table, column), {})
            record = records.get(column, {})
            if "values" in spec:
                allowed = ", ".join(str(v) for v in spec["values"])
            elif "min" in spec and "max" in spec:
                allowed = f"{spec['min']} to {spec['max']}"
            elif "min" in spec or "max" in spec:  # a whole number from 1 (school_id)
                allowed = f"at least {spec['min']}" if "min" in spec else f"at most {spec['max']}"
            else:
                allowed = "any text" if spec.get("type") == "string" else ""
            exhibits = set(extra.get("exhibits", set()))
            if table == "students":
                exhibits |= column_exhibits.get(column, set())
            rows.append({
                "table": table, "position": position, "column": column,
                "wording": extra.get("wording", ""), "type": spec.get("type", ""),
                "required": "no (may be empty)" if spec.get("nullable") else "yes",
                "allowed_values": allowed, "value_labels": extra.get("value_labels", ""),
                "reverse_coded": extra.get("reverse_coded", ""), "scale": extra.get("scale", ""),
                "scale_items": extra.get("scale_items", ""), "min_items_answered": extra.get("min_items_answered", ""),
                "references": record.get("references", ""),
                "note": ("unique: one row per id" if spec.get("unique") else record.get("note", "")),
                "exhibits": ", ".join(sorted(exhibits, key=_exhibit_key)),
            })
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def dictionary_html(dictionary: pd.DataFrame, codebook: Codebook) -> str:
    """The dictionary as one HTML page, a section per table."""
    share = codebook.min_share_items_answered
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Learning With Others: data dictionary</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:90%}"
             "th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}"
             "th{background:#eee}</style></head><body>",
             "<h1>Data dictionary</h1>",
             f"<p>Generated from <code>{html.escape(codebook.path)}</code>. Fill in one CSV (UTF-8, comma "
             "separated) per table with these columns in this order; the templates under "
             "<code>results/data_template/</code> have the header rows. Only the students table is required; "
             "exhibits that need another table are not built without it. An empty cell is a missing value "
             "where the column may be empty. A scale score is the mean of the answered items (reverse-coded "
             f"items flipped first), computed when at least {share:.0%} of the scale's items are answered "
             "(column min_items_answered).</p>"]
    for table, rows in dictionary.groupby("table", sort=False):
        parts.append(f'<h2 id="{table}">{table}.csv ({len(rows)} columns)</h2>')
        parts.append(rows.drop(columns="table").to_html(index=False, escape=True, na_rep="", border=0))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
