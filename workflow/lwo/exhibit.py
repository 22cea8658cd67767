"""One exhibit's outputs, written the same way by every exhibit script.

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

from lwo.io import save_figure, write_csv, write_json, write_text

COMPARISON_COLUMNS = ["exhibit", "key", "statement", "published", "reproduced", "ci_lower", "ci_upper",
                      "agrees", "basis"]


def load_published(path) -> pd.DataFrame:
    """The published values (data/published/published_values.csv), one row per statement."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = {"exhibit", "key", "statement", "value", "kind", "source"}
    missing = required - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    dup = df.duplicated(["exhibit", "key"], keep=False)
    if dup.any():
        raise ValueError(f"{path}: duplicated (exhibit, key) at line(s) {[int(i) + 2 for i in df.index[dup]][:5]}")
    return df


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


def to_latex(table: pd.DataFrame, caption: str) -> str:
    body = table.to_latex(index=False, float_format="%.3f", na_rep="--", escape=True)
    # pandas writes booktabs rules (toprule/midrule/bottomrule) by default
    return f"% {caption}\n{body}"


def write_exhibit(output, *, exhibit: str, title: str, section: str, table: pd.DataFrame,
                  comparison: list[dict] | pd.DataFrame | None = None, figure=None,
                  caption: str = "", notes: list[str] | None = None, status: str = "ok") -> None:
    """Write an exhibit's files. `output` maps names (table, tex, comparison, meta, png, svg)
    to paths, as Snakemake's `snakemake.output` does."""
    out = dict(output.items()) if hasattr(output, "items") else dict(output)
    comp = pd.DataFrame(comparison if comparison is not None else [], columns=COMPARISON_COLUMNS)
    write_csv(table, out["table"])
    if "tex" in out:
        write_text(to_latex(table, title), out["tex"])
    write_csv(comp, out["comparison"])
    if figure is not None:
        for key in ("png", "svg", "pdf"):
            if key in out:
                save_figure(figure, out[key], close=False)
        import matplotlib.pyplot as plt
        plt.close(figure)
    write_json({"exhibit": str(exhibit), "title": title, "section": section, "caption": caption,
                "notes": list(notes or []), "status": status,
                "figure": Path(out["png"]).name if "png" in out and figure is not None else None}, out["meta"])

