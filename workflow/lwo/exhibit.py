"""One exhibit's outputs, written the same way by every exhibit builder.

Layout, under results/exhibits/<exhibit>/:
  table.csv        the reproduced table (tidy; no student-level rows)
  table.tex        the same table as LaTeX booktabs, for papers
  comparison.csv   every published value of the exhibit beside the reproduced one
  meta.json        title, research question, caption, notes, status
  figure.png/.svg  where the exhibit has a chart
The report reads only these files.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from lwo.io import write_csv, write_json, write_text

COMPARISON_COLUMNS = ["exhibit", "key", "statement", "published", "reproduced", "ci_lower", "ci_upper",
                      "agrees", "basis"]


def load_published(path) -> pd.DataFrame:
    """The published values (data/published/published_values.csv), one row per statement,
    checked by check_published_values."""
    return check_published_values(path)


# kinds of published value; count and number are compared numerically, so must parse as numbers
PUBLISHED_KINDS = ("count", "number", "direction", "text")
PUBLISHED_COLUMNS = ("exhibit", "key", "statement", "value", "kind", "source")


def check_published_values(path) -> pd.DataFrame:
    """Read and check the published-values file; return it as text columns (empty cells as "").

    Raises DataError (file, column, line numbers, what to do) for: a missing column, an empty
    exhibit/key/value/kind cell, an unknown kind, a count or number that is not a number (a count
    must be a whole number >= 0), and a duplicated (exhibit, key)."""
    from lwo.data import DataError, read_table  # reading checks encoding, delimiter, header, ragged rows

    table = read_table(path)
    lines = table.attrs["source_lines"]
    df = table.fillna("").astype(str)
    df.index = lines
    missing = [c for c in PUBLISHED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(path, f"missing column(s) {missing}", column=missing[0], rows=[table.attrs["header_line"]],
                        fix=f"The file needs the columns {list(PUBLISHED_COLUMNS)}")
    for column in ("exhibit", "key", "value", "kind"):
        empty = df[column].str.strip() == ""
        if empty.any():
            raise DataError(path, "empty cell(s)", column=column, rows=df.index[empty], fix="Fill them in")
    unknown = ~df["kind"].isin(PUBLISHED_KINDS)
    if unknown.any():
        raise DataError(path, f"unknown kind(s) {sorted(set(df.loc[unknown, 'kind']))[:3]}; kinds are "
                        f"{list(PUBLISHED_KINDS)}", column="kind", rows=df.index[unknown],
                        fix="Use one of the kinds (direction/text for worded findings)")
    numeric = df["kind"].isin(["count", "number"])
    values = pd.to_numeric(df["value"].where(numeric), errors="coerce")
    not_number = numeric & (values.isna() | values.abs().eq(float("inf")))
    if not_number.any():
        raise DataError(path, f"value(s) {list(df.loc[not_number, 'value'])[:3]} of kind count/number are "
                        "not numbers", column="value", rows=df.index[not_number],
                        fix="Write the number (0.69, not '.69 (p<.05)'), or use kind direction/text")
    bad_count = (df["kind"] == "count") & ((values < 0) | (values != values.round()))
    if bad_count.any():
        raise DataError(path, f"count(s) {list(df.loc[bad_count, 'value'])[:3]} are not whole numbers >= 0",
                        column="value", rows=df.index[bad_count], fix="Use kind number for shares and means")
    dup = df.duplicated(["exhibit", "key"], keep=False)
    if dup.any():
        pairs = list(dict.fromkeys(zip(df.loc[dup, "exhibit"], df.loc[dup, "key"])))[:3]
        raise DataError(path, f"duplicated (exhibit, key) {pairs}", column="key", rows=df.index[dup],
                        fix="Each exhibit's keys must be unique")
    return df.reset_index(drop=True)


def published_rows(path, exhibit: str) -> pd.DataFrame:
    df = load_published(path)
    return df[df["exhibit"] == str(exhibit)].reset_index(drop=True)


def compare_number(pub: pd.Series, estimate: float, ci_lower: float | None = None,
                   ci_upper: float | None = None) -> dict:
    """A published number beside its reproduced estimate; agrees = inside the reproduced 95% CI."""
    value = float(pub["value"])
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        agrees, basis = "not estimable", "no estimate"
    elif ci_lower is not None and ci_upper is not None and not math.isnan(ci_lower):
        agrees = "yes" if ci_lower <= value <= ci_upper else "no"
        basis = "published value inside reproduced 95% CI"
    else:
        agrees = "yes" if round(float(estimate), 2) == round(value, 2) else "no"
        basis = "equal to two decimals"
    return {"exhibit": pub["exhibit"], "key": pub["key"], "statement": pub["statement"],
            "published": pub["value"], "reproduced": estimate, "ci_lower": ci_lower, "ci_upper": ci_upper,
            "agrees": agrees, "basis": basis}


def compare_statement(pub: pd.Series, reproduced: str, agrees: bool | None, basis: str) -> dict:
    """A published statement (direction, significance, count) beside the reproduced finding."""
    return {"exhibit": pub["exhibit"], "key": pub["key"], "statement": pub["statement"],
            "published": pub["value"], "reproduced": reproduced, "ci_lower": None, "ci_upper": None,
            "agrees": {True: "yes", False: "no", None: "not estimable"}[agrees], "basis": basis}


def _escape_latex(text: str) -> str:
    """pandas' LaTeX escaping (pandas.io.formats.style_render._escape_latex), step for step."""
    return (text.replace("\\", "ab2§=§8yz").replace("ab2§=§8yz ", "ab2§=§8yz\\space ")
            .replace("&", "\\&").replace("%", "\\%").replace("$", "\\$").replace("#", "\\#")
            .replace("_", "\\_").replace("{", "\\{").replace("}", "\\}")
            .replace("~ ", "~\\space ").replace("~", "\\textasciitilde ")
            .replace("^ ", "^\\space ").replace("^", "\\textasciicircum ")
            .replace("ab2§=§8yz", "\\textbackslash "))


def _latex_cell(value) -> str:
    if pd.isna(value) is True:
        return "--"
    if isinstance(value, str):
        return _escape_latex(value)
    if isinstance(value, (float, complex)):
        return "%.3f" % value
    return str(value)


def to_latex(table: pd.DataFrame, caption: str) -> str:
    """The table as a booktabs tabular: the bytes of ``table.to_latex(index=False,
    float_format="%.3f", na_rep="--", escape=True)``, written out because that goes through
    pandas' Styler and jinja2 (0.05 s of CPU an exhibit job)."""
    if isinstance(table.columns, pd.MultiIndex):
        raise TypeError(f"to_latex({caption!r}): an exhibit table has one header row; flatten "
                        "its MultiIndex columns first.")
    align = "".join("r" if pd.api.types.is_numeric_dtype(dtype) else "l" for dtype in table.dtypes)
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule"]
    if len(table.columns):
        lines.append(" & ".join(_latex_cell(c) for c in table.columns) + " \\\\")
    lines.append("\\midrule")
    lines += [" & ".join(_latex_cell(v) for v in row) + " \\\\"
              for row in table.itertuples(index=False, name=None)]
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return f"% {caption}\n" + "\n".join(lines)


# below this many clusters the exhibits note that cluster-robust SEs run small and their tests reject
# too often, the more so the more constraints a test has (Cameron & Miller 2015, "A practitioner's
# guide to cluster-robust inference", J. Human Resources 50(2), section VI); the study had 30 classrooms
FEW_CLUSTERS = 20


def cluster_unit(cluster: str) -> str:
    """What the clusters of the column `cluster` are called in notes: "classrooms", or "clusters (school_id)"."""
    return "classrooms" if cluster == "classroom_id" else f"clusters ({cluster})"


def few_clusters_notes(n_clusters: int, cluster: str) -> list[str]:
    """The note on few clusters, if `n_clusters` (of the column `cluster`) are few; else none."""
    if n_clusters >= FEW_CLUSTERS:
        return []
    return [f"Few clusters: {n_clusters} {cluster_unit(cluster)}. With fewer than about {FEW_CLUSTERS}, cluster-robust SEs tend to be "
            "too small and their tests to reject too often, the more so the more constraints a test has (Cameron & "
            "Miller, 2015): read their p-values as approximate."]


def status_of_rows(row_statuses, what: str) -> str:
    """An exhibit's status from its rows': "ok" while any row has an estimate; when none has
    (data without Black students, say), "not estimable" with the first row's reason, so that the
    report says so for the exhibit and not only in its rows."""
    texts = [str(t) for t in row_statuses]
    if not texts or not all(t.startswith("not estimable") for t in texts):
        return "ok"
    first = texts[0].removeprefix("not estimable").lstrip(": ")
    return f"not estimable: no {what} has an estimate (the first: {first})"


def write_exhibit(output, *, exhibit: str, title: str, section: str, table: pd.DataFrame,
                  comparison: list[dict] | pd.DataFrame | None = None, figure=None,
                  caption: str = "", notes: list[str] | None = None, status: str = "ok",
                  count_units: dict[str, str] | None = None) -> None:
    """Write an exhibit's files. `output` maps names (table, tex, comparison, meta, png, svg)
    to paths, as Snakemake's `snakemake.output` does.

    `count_units` says what the count columns of the exhibit's tables count, where their names do
    not say it, e.g. {"n": "teachers"} or {"count_a": "coded remarks (published)"}; "*" stands for
    every count column. Counts of students below privacy.min_cell must be suppressed; counts of
    anything else need not be (tests/test_privacy.py states the rule)."""
    out = dict(output.items()) if hasattr(output, "items") else dict(output)
    comp = pd.DataFrame(comparison if comparison is not None else [], columns=COMPARISON_COLUMNS)
    write_csv(table, out["table"])
    if "tex" in out:
        write_text(to_latex(table, title), out["tex"])
    write_csv(comp, out["comparison"])
    if figure is not None:
        from lwo.plotting import save_figure  # here: exhibits without a figure need no matplotlib

        for key in ("png", "svg", "pdf"):
            if key in out:
                save_figure(figure, out[key], close=False)
    meta = {"exhibit": str(exhibit), "title": title, "section": section, "caption": caption,
            "notes": list(notes or []), "status": status,
            "figure": Path(out["png"]).name if "png" in out and figure is not None else None}
    if count_units:
        meta["count_units"] = {str(k): str(v) for k, v in count_units.items()}
    write_json(meta, out["meta"])

