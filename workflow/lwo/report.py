"""The report: one self-contained HTML file (results/report.html) and its provenance
(results/provenance.json), assembled from the exhibits' own files (see lwo.exhibit).

Everything in report.html is a function of the exhibits, the data summary, the published values
and the config, so two builds with the same config and seed give the same bytes, except for one
delimited block (PROVENANCE_START ... PROVENANCE_END) holding the run date, git state, package
versions and rule runtimes. `strip_provenance` removes that block for comparisons.

An exhibit whose files are missing (a failed job under `snakemake --keep-going`) is shown as
"not built", with the reason where one is known; it never stops the report. One the run's data
cannot support (its meta.json status "not available: needs <table>") is shown as not available.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import re
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lwo.io import read_yaml, write_json, write_text
from lwo.registry import NOT_AVAILABLE, REGISTRY_FILE, exhibit_sort_key, load_registry

PROVENANCE_START = "<!-- provenance:start -->"
PROVENANCE_END = "<!-- provenance:end -->"
TEMPLATE = "report.html.j2"
SECTIONS_FILE = "sections.yaml"
MAX_TABLE_ROWS = 60
FOLD_FROM_COLUMNS = 8
# a table cell longer than this wraps; shorter ones never do
LONG_CELL = 32
MINUS = "\u2212"
DASH = "\u2014"
# states an exhibit can be in, in the order the front page lists them
STATES = ("ok", "warning", "failed", "not built", NOT_AVAILABLE)
# states whose numbers are not shown, so not compared with the published values either
_NO_NUMBERS = ("failed", "not built", NOT_AVAILABLE)
_FAILED_STATUS = re.compile(r"^\s*(fail|error)|did not converge|not converged", re.IGNORECASE)
_P_COLUMN = re.compile(r"^(p|pvalue|p_value|p\.value|p_adj|p\.adj|p_holm|p_fdr|p_corrected|pr\(>.*\))$|^p[_.]",
                       re.IGNORECASE)
_PERCENT_COLUMN = re.compile(r"percent|pct|%", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------
# Exhibits
# ----------------------------------------------------------------------------------------------
@dataclass
class ExhibitSource:
    """Where one exhibit's files are and which rule makes them (from the workflow)."""

    exhibit: str
    directory: str
    rule: str | None = None
    # built by a separate target (e.g. `snakemake replication`): shown only when present
    optional: bool = False
    # further tables its rule writes beside table.csv (file names in `directory`): the report
    # shows these and no other CSV there (a file an older run left behind is not the exhibit's)
    tables: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> "ExhibitSource":
        return cls(**{k: d.get(k) for k in ("exhibit", "directory", "rule")},
                   optional=bool(d.get("optional", False)), tables=tuple(d.get("tables") or ()))


@dataclass
class Exhibit:
    """One exhibit as the report shows it."""

    exhibit: str
    title: str
    section: str
    state: str                      # one of STATES
    status: str = ""                # the status text the exhibit wrote (meta.json), or why it is missing
    reason: str = ""                # why it failed / is incomplete, for the reader
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    figure_png: bytes | None = None
    # further tables the exhibit's job wrote beside table.csv: (file name, table)
    extra_tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    rule: str | None = None
    directory: str = ""

    @property
    def anchor(self) -> str:
        return "exhibit-" + slug(self.exhibit)


def png_display_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) in CSS pixels at which a PNG shows at its physical size (from its pHYs
    resolution; 96 dpi where it has none), or None for data that are not a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", png[16:24])
    dpi = 96.0
    at = png.find(b"pHYs", 8, 4096)
    if at > 0:
        x_ppu, _, unit = struct.unpack(">IIB", png[at + 4:at + 13])
        if unit == 1 and x_ppu > 0:  # pixels per metre
            dpi = x_ppu * 0.0254
    scale = 96.0 / dpi
    return round(width * scale), round(height * scale)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def classify_status(status: str) -> str:
    """meta.json 'status' -> report state: 'ok', 'failed' (e.g. a model that did not converge),
    'not available' (the data lack a table it needs), or 'warning' (any other text the exhibit
    chose to report, shown as written)."""
    text = (status or "").strip()
    if text.lower() == "ok":
        return "ok"
    if text.lower().startswith(NOT_AVAILABLE):
        return NOT_AVAILABLE
    if not text or _FAILED_STATUS.search(text):
        return "failed"
    return "warning"


def _read_csv(path: Path) -> pd.DataFrame:
    # keep text such as "NA" or "not estimable" as written; only empty cells are missing
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def load_exhibit(source: ExhibitSource, failure: str = "") -> Exhibit:
    """Read one exhibit's files. Never raises for missing or unreadable files: the exhibit is
    then 'not built' (or 'failed'), with the reason."""
    d = Path(source.directory)
    meta_path = d / "meta.json"
    base = dict(exhibit=str(source.exhibit), rule=source.rule, directory=str(d))
    if not meta_path.exists():
        reason = failure or (f"rule {source.rule} did not produce {meta_path}" if source.rule
                             else f"{meta_path} is missing")
        return Exhibit(**base, title=f"Exhibit {source.exhibit}", section="", state="not built",
                       status="not built", reason=reason)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return Exhibit(**base, title=f"Exhibit {source.exhibit}", section="", state="failed",
                       status="unreadable meta.json", reason=f"{meta_path}: {err}")
    status = str(meta.get("status", "ok"))
    state = classify_status(status)
    reasons = []
    if state not in ("ok", NOT_AVAILABLE):
        reasons.append(re.sub(r"^\s*(failed|error)\s*[:\-]\s*", "", status, flags=re.IGNORECASE) or status)
    ex = Exhibit(**base, title=str(meta.get("title") or f"Exhibit {source.exhibit}"),
                 section=str(meta.get("section") or ""), state=state, status=status,
                 caption=str(meta.get("caption") or ""), notes=[str(n) for n in meta.get("notes") or []])

    def read(path: Path) -> pd.DataFrame | None:  # None, with the reason, where it cannot be read
        try:
            return _read_csv(path)
        except FileNotFoundError:
            reasons.append(f"{path} is missing")
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
            reasons.append(f"{path} cannot be read: {err}")
        return None

    ex.table, ex.comparison = read(d / "table.csv"), read(d / "comparison.csv")
    ex.extra_tables = [(name, table) for name in source.tables if (table := read(d / name)) is not None]
    if meta.get("figure"):
        png = d / str(meta["figure"])
        if png.exists() and png.stat().st_size > 0:
            ex.figure_png = png.read_bytes()
        else:
            reasons.append(f"figure {png} is missing")
    if reasons and ex.state == "ok":
        ex.state = "warning"
    ex.reason = "; ".join(reasons)
    return ex


# ----------------------------------------------------------------------------------------------
# Formatting
# ----------------------------------------------------------------------------------------------
def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA or x is pd.NaT


def _as_float(x) -> float | None:
    if _is_missing(x) or isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    try:
        return float(str(x).strip())
    except ValueError:
        return None


def format_number(x, decimals: int = 3, integer: bool | None = None) -> str:
    """A number for a table: integers with thousands separators, others with `decimals`
    decimals, a true minus sign, and an em dash for a missing value."""
    if _is_missing(x):
        return DASH
    v = _as_float(x)
    if v is None:
        return str(x)
    if math.isinf(v):
        return ("" if v > 0 else MINUS) + "\u221e"
    if integer is None:
        integer = v.is_integer() and abs(v) < 1e15
    text = f"{int(round(v)):,}" if integer else f"{v:,.{decimals}f}"
    if text.startswith("-"):
        # -0.000 is zero
        text = text[1:] if float(text[1:].replace(",", "")) == 0 else MINUS + text[1:]
    return text


def format_p(x) -> str:
    v = _as_float(x)
    if v is None:
        return DASH if _is_missing(x) else str(x)
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


@dataclass
class TableView:
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    total_rows: int
    # columns with one value in every row, shown once under the table: (column, value)
    constant: list[tuple[str, str]] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.total_rows > len(self.rows)


def _is_marker(v) -> bool:
    """A short non-numeric cell in a numeric column, e.g. the dagger of a suppressed count."""
    text = str(v).strip()
    return len(text) <= 3 and not any(ch.isalnum() for ch in text)


def table_view(df: pd.DataFrame | None, max_rows: int = MAX_TABLE_ROWS,
               fold_from_columns: int = FOLD_FROM_COLUMNS) -> TableView | None:
    """A table ready for the template, formatted column by column: counts as integers with
    thousands separators, p-values as p-values, percentages to one decimal, other numbers to
    three; text (and markers such as a suppression dagger) as written. In a wide table
    (`fold_from_columns` columns or more, two rows or more) a column with the same value in
    every row is taken out and shown once, under the table (left out if that value is empty)."""
    if df is None:
        return None
    constant = []
    if len(df.columns) >= fold_from_columns and len(df) >= 2:
        constant = [c for c in df.columns[1:] if df[c].astype(str).nunique(dropna=False) == 1]
    shown = df.head(max_rows)
    columns, numeric, cells, folded = [], [], [], []
    for name in df.columns:
        values = [v for v in df[name].tolist() if not _is_missing(v)]
        nums = [n for n in (_as_float(v) for v in values if not isinstance(v, bool)) if n is not None]
        others = [v for v in values if _as_float(v) is None or isinstance(v, bool)]
        is_numeric = bool(nums) and all(_is_marker(v) for v in others)
        if is_numeric and _P_COLUMN.search(str(name)):
            fmt = format_p
        elif nums:
            integer = all(n.is_integer() for n in nums)
            decimals = 1 if _PERCENT_COLUMN.search(str(name)) else 3
            fmt = (lambda v, i=integer, d=decimals: format_number(v, d, i))
        else:
            fmt = (lambda v: DASH if _is_missing(v) else str(v))
        label = str(name).replace("_", " ")
        if name in constant:
            if not _is_missing(df[name].iloc[0]):  # an empty column of a wide table is left out
                folded.append((label, fmt(df[name].iloc[0])))
            continue
        columns.append(label)
        numeric.append(is_numeric)
        cells.append([fmt(v) for v in shown[name].tolist()])
    rows = [list(r) for r in zip(*cells)] if cells else []
    return TableView(columns=columns, rows=rows, numeric=numeric, total_rows=len(df), constant=folded)


# ----------------------------------------------------------------------------------------------
# Published vs reproduced
# ----------------------------------------------------------------------------------------------
def comparison_kind(row: dict) -> str:
    """'interval': a published number against the reproduced 95% CI; 'number': against the
    reproduced estimate (rounded); 'statement': a direction, significance or count."""
    if _as_float(row.get("ci_lower")) is not None and _as_float(row.get("ci_upper")) is not None:
        return "interval"
    if _as_float(row.get("published")) is not None and _as_float(row.get("reproduced")) is not None:
        return "number"
    return "statement"


def comparison_rows(ex: Exhibit) -> list[dict]:
    """The exhibit's comparison.csv as display rows (published value as the report wrote it).
    A failed exhibit has none: its numbers are not shown, so they are not compared either."""
    if ex.state in _NO_NUMBERS or ex.comparison is None or ex.comparison.empty:
        return []
    rows = []
    for rec in ex.comparison.to_dict("records"):
        kind = comparison_kind(rec)
        lo, hi = _as_float(rec.get("ci_lower")), _as_float(rec.get("ci_upper"))
        agrees = str(rec.get("agrees", "")).strip().lower() if not _is_missing(rec.get("agrees")) else ""
        rows.append({
            "exhibit": ex.exhibit, "anchor": ex.anchor, "key": str(rec.get("key", "")),
            # the exhibit whose published value it is (an exhibit may recheck another's)
            "published_exhibit": str(ex.exhibit if _is_missing(rec.get("exhibit")) else rec["exhibit"]),
            "statement": "" if _is_missing(rec.get("statement")) else str(rec["statement"]),
            "published": "" if _is_missing(rec.get("published")) else str(rec["published"]),
            "reproduced": format_number(rec.get("reproduced")) if _as_float(rec.get("reproduced")) is not None
            else ("" if _is_missing(rec.get("reproduced")) else str(rec["reproduced"])),
            "ci": f"[{format_number(lo)}, {format_number(hi)}]" if kind == "interval" else "",
            # "not applicable": published context (e.g. site descriptors) shown, not tested
            "agrees": agrees if agrees in ("yes", "no", "not applicable") else "not estimable",
            "basis": "" if _is_missing(rec.get("basis")) else str(rec["basis"]),
            "kind": kind,
        })
    return rows


def fidelity_summary(exhibits: list[Exhibit], published: pd.DataFrame | None) -> dict:
    """How many published values the reproduction matches, by kind of comparison, and every
    one it does not match; published values no exhibit compared are counted with the reason."""
    all_rows = once_per_published_value([r for ex in exhibits for r in comparison_rows(ex)])
    rows = tested(all_rows)
    kinds = {}
    for kind, label in (("interval", "Published number inside the reproduced 95% CI"),
                        ("number", "Published number or count equal to the reproduced one (two decimals)"),
                        ("statement", "Published statement (direction, significance, pattern) reproduced")):
        sel = [r for r in rows if r["kind"] == kind]
        kinds[kind] = {"label": label, "total": len(sel), "agree": sum(r["agrees"] == "yes" for r in sel),
                       "disagree": sum(r["agrees"] == "no" for r in sel),
                       "not_estimable": sum(r["agrees"] == "not estimable" for r in sel)}
    compared = {(r["published_exhibit"], r["key"]) for r in all_rows}
    listed = set() if published is None else {(str(e), str(k)) for e, k in zip(published["exhibit"], published["key"])}
    by_id = {ex.exhibit: ex for ex in exhibits}
    not_compared = []
    if published is not None:
        for rec in published.to_dict("records"):
            ex_id, key = str(rec["exhibit"]), str(rec["key"])
            if (ex_id, key) in compared:
                continue
            ex = by_id.get(ex_id)
            if ex is None:
                why = "no exhibit in the workflow yet"
            elif ex.state in ("not built", "failed"):
                why = f"exhibit {ex.state}"
            elif ex.state == NOT_AVAILABLE:
                why = f"exhibit {ex.status}"
            else:
                why = "not compared by the exhibit"
            not_compared.append({"exhibit": ex_id, "key": key, "statement": str(rec.get("statement", "")),
                                 "published": str(rec.get("value", "")), "why": why,
                                 "anchor": ex.anchor if ex is not None else None})
    return {
        "total": len(rows),
        "agree": sum(r["agrees"] == "yes" for r in rows),
        "disagree": [r for r in rows if r["agrees"] == "no"],
        "not_estimable": [r for r in rows if r["agrees"] == "not estimable"],
        "kinds": kinds,
        "published_total": None if published is None else int(len(published)),
        # of published_values.csv: tested, or shown beside the reproduction as context (not applicable)
        "published_tested": None if published is None else len(
            {(r["published_exhibit"], r["key"]) for r in rows} & listed),
        "published_context": None if published is None else len(
            {(r["published_exhibit"], r["key"]) for r in all_rows if r["agrees"] == "not applicable"} & listed),
        "not_compared": not_compared,
        "not_compared_reasons": _count_by(not_compared, "why"),
    }


def once_per_published_value(rows: list[dict]) -> list[dict]:
    """One row per published value: where an exhibit rechecks another's value (Exhibit 38 rechecks
    Exhibit 37's count of differences), the row of the value's own exhibit, else the first."""
    best: dict[tuple, dict] = {}
    for r in rows:
        key = (r["published_exhibit"], r["key"])
        if key not in best or (r["exhibit"] == r["published_exhibit"] != best[key]["exhibit"]):
            best[key] = r
    return [r for r in rows if best[(r["published_exhibit"], r["key"])] is r]


def tested(rows: list[dict]) -> list[dict]:
    """The rows that test a published value (not those shown beside it as context)."""
    return [r for r in rows if r["agrees"] != "not applicable"]


def _count_by(rows: list[dict], key: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r[key]] = counts.get(r[key], 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ----------------------------------------------------------------------------------------------
# Parts of the report (research questions)
# ----------------------------------------------------------------------------------------------
def load_parts(path, registry=REGISTRY_FILE) -> list[dict]:
    """The report's parts (sections.yaml), each with the registered exhibits whose `part` it is."""
    with open(path, encoding="utf-8") as fh:
        parts = read_yaml(fh)["parts"]
    exhibits = load_registry(registry)
    unknown = sorted({ex.part for ex in exhibits} - {p["id"] for p in parts})
    if unknown:
        raise ValueError(f"{registry}: part(s) {unknown} are not parts of {path}")
    for p in parts:
        p["_patterns"] = [re.compile(x, re.IGNORECASE) for x in p.get("patterns", [])]
        p["_exhibits"] = {ex.id for ex in exhibits if ex.part == p["id"]}
    return parts


def assign_part(ex: Exhibit, parts: list[dict]) -> str:
    """The part an exhibit belongs to: its registry entry's part; for an exhibit the registry
    does not list, the first part one of whose patterns matches its meta.json 'section', else
    the fallback part (see sections.yaml)."""
    for p in parts:
        if ex.exhibit in p["_exhibits"]:
            return p["id"]
    for p in sorted(parts, key=lambda p: bool(p.get("match_last"))):
        if ex.section and any(rx.search(ex.section) for rx in p["_patterns"]):
            return p["id"]
    return next((p["id"] for p in parts if p.get("fallback")), parts[-1]["id"])


def group_exhibits(exhibits: list[Exhibit], parts: list[dict]) -> list[dict]:
    """Parts in their fixed order, each with its exhibits in exhibit order, grouped into
    subsections by the exhibits' own 'section' text (in order of first appearance)."""
    out = []
    for p in parts:
        members = sorted((ex for ex in exhibits if assign_part(ex, parts) == p["id"]),
                         key=lambda e: exhibit_sort_key(e.exhibit))
        if not members:
            continue
        subsections: list[dict] = []
        for ex in members:
            name = ex.section or p["title"]
            if not subsections or subsections[-1]["name"] != name:
                subsections.append({"name": name, "exhibits": []})
            subsections[-1]["exhibits"].append(ex)
        states = [ex.state for ex in members]
        comps = tested(once_per_published_value([r for ex in members for r in comparison_rows(ex)]))
        out.append({"question": "", "intro": "", **{k: v for k, v in p.items() if not k.startswith("_")},
                    "subsections": subsections,
                    "n_exhibits": len(members), "n_ok": states.count("ok"),
                    "n_compared": len(comps), "n_agree": sum(r["agrees"] == "yes" for r in comps)})
    return out


# ----------------------------------------------------------------------------------------------
# Privacy
# ----------------------------------------------------------------------------------------------
_DATA_URI = re.compile(r"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+")


def read_student_ids(path) -> list[str]:
    if path is None or not Path(path).exists():
        return []
    ids = pd.read_csv(path, usecols=["student_id"], dtype=str, keep_default_na=False)["student_id"]
    return sorted({s.strip() for s in ids if s.strip()})


def checkable_ids(ids) -> list[str]:
    """Ids that can be searched for in text without matching ordinary numbers: at least four
    characters and not purely digits (a purely numeric id such as 432 is also a count)."""
    return [i for i in ids if len(i) >= 4 and not i.isdigit()]


def find_student_ids(text: str, ids) -> list[str]:
    """Student ids that occur in `text` as whole tokens (embedded images excluded)."""
    ids = checkable_ids(ids)
    if not ids:
        return []
    visible = _DATA_URI.sub("", text)
    found = set()
    # one alternation per chunk keeps the regular expression small
    for i in range(0, len(ids), 500):
        chunk = sorted(ids[i:i + 500], key=len, reverse=True)
        rx = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, chunk)) + r")(?![A-Za-z0-9])")
        found.update(m.group(1) for m in rx.finditer(visible))
    return sorted(found)


def redact_ids(text: str, ids) -> str:
    for sid in sorted(checkable_ids(ids), key=len, reverse=True):
        if sid in text:
            text = re.sub(r"(?<![A-Za-z0-9])" + re.escape(sid) + r"(?![A-Za-z0-9])", "[student id]", text)
    return text


class PrivacyError(ValueError):
    """The report would show student-level data; it is not written."""


# ----------------------------------------------------------------------------------------------
# Provenance
# ----------------------------------------------------------------------------------------------
def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_json(obj) -> str:
    """Hash of a JSON value in canonical form (sorted keys, no whitespace)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def git_state(cwd=".") -> dict:
    """Commit and whether the work tree differs from it; None where there is no git."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None, "note": "no git commit (not a git work tree, or nothing committed)"}
        status = git("status", "--porcelain")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()),
                "changed_files": len(status.stdout.splitlines())}
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"commit": None, "dirty": None, "note": f"git unavailable: {err}"}


def pinned_packages(requirements) -> list[tuple[str, str | None]]:
    """(name, pinned version) for every line of a requirements file."""
    out = []
    for line in Path(requirements).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(==\s*([^\s;]+))?", line)
        if m:
            out.append((m.group(1), m.group(4)))
    return out


def package_versions(requirements) -> list[dict]:
    rows = []
    for name, pinned in pinned_packages(requirements):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        rows.append({"package": name, "pinned": pinned, "installed": installed,
                     "matches": pinned is None or installed == pinned})
    return rows


def _pattern_regex(pattern: str) -> re.Pattern:
    """A Snakemake file pattern ('results/benchmarks/fit_{model}.tsv') as a regular expression."""
    out, pos = [], 0
    for m in re.finditer(r"\{\s*(\w+)\s*(?:,([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}", pattern):
        out.append(re.escape(pattern[pos:m.start()]))
        out.append(f"(?:{m.group(2)})" if m.group(2) else "[^/]+?")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out) + r"\Z")


def read_benchmarks(directory, rule_patterns: dict[str, str] | None = None) -> list[dict]:
    """Runtimes of the last run of each job, from Snakemake's `benchmark:` files, with the rule
    that wrote each file (matched against the rules' benchmark patterns)."""
    regexes = [(rule, _pattern_regex(p)) for rule, p in sorted((rule_patterns or {}).items())]
    rows = []
    for path in sorted(Path(directory).glob("**/*.tsv")) if Path(directory).is_dir() else []:
        try:
            df = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError):
            continue
        if df.empty or "s" not in df.columns:
            continue
        rel = path.as_posix()
        rule = next((r for r, rx in regexes if rx.search(rel)), None)
        rows.append({"file": rel, "rule": rule or path.stem, "seconds": round(float(df["s"].iloc[-1]), 2),
                     "max_rss_mb": _as_float(df["max_rss"].iloc[-1]) if "max_rss" in df else None,
                     "cpu_seconds": _as_float(df["cpu_time"].iloc[-1]) if "cpu_time" in df else None})
    return sorted(rows, key=lambda r: (-r["seconds"], r["file"]))


def run_date() -> str:
    """UTC now, or SOURCE_DATE_EPOCH where set (the reproducible-builds convention)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    return when.replace(microsecond=0).isoformat()


def collect_provenance(*, config: dict, configfiles, data_summary: dict | None, requirements,
                       benchmark_dir, rule_benchmarks: dict[str, str] | None, exhibits: list[Exhibit],
                       cwd=".") -> dict:
    seeds = {"bootstrap": config.get("bootstrap", {}).get("seed")}
    if config.get("data", {}).get("source", "synthetic") == "synthetic":
        seeds["synthetic_cohort"] = config.get("synthetic", {}).get("seed")
    if any(ex.exhibit == "replication" and ex.state not in _NO_NUMBERS for ex in exhibits):
        seeds["replication"] = config.get("replication", {}).get("seed")
    outputs = {}
    for ex in exhibits:
        files = sorted(p for p in Path(ex.directory).glob("*") if p.is_file()) if ex.directory else []
        outputs[ex.exhibit] = {"state": ex.state, "rule": ex.rule,
                               "files": {p.name: sha256_file(p) for p in files}}
    runtimes = read_benchmarks(benchmark_dir, rule_benchmarks)
    return {
        "run_date": run_date(),
        "git": git_state(cwd),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "config": {"files": [{"path": str(f), "sha256": sha256_file(f)} for f in configfiles],
                   "effective_sha256": sha256_json(config), "values": config},
        "seeds": seeds,
        "packages": package_versions(requirements) if requirements else [],
        "data": None if data_summary is None else {"source": data_summary.get("source"),
                                                    "label": data_summary.get("label"),
                                                    "files": data_summary.get("files", {}),
                                                    "counts": data_summary.get("counts", {})},
        "rule_runtimes": runtimes,
        "total_rule_seconds": round(sum(r["seconds"] for r in runtimes), 2),
        "exhibits": outputs,
    }


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_environment(template_dir):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.tests["long"] = lambda text: len(str(text)) > LONG_CELL
    env.filters.update(b64=_b64, number=format_number, table=table_view, comparison=comparison_rows,
                       slug=slug, png_size=png_display_size)
    return env


def render_report(context: dict, template_dir) -> str:
    env = make_environment(template_dir)
    return env.get_template(TEMPLATE).render(**context)


def strip_provenance(html: str) -> str:
    """report.html without its provenance block: the part that is the same on every rebuild."""
    start, end = html.find(PROVENANCE_START), html.find(PROVENANCE_END)
    if start < 0 or end < start:
        raise ValueError("report has no provenance block")
    return html[:start] + html[end + len(PROVENANCE_END):]


def build_report(*, sources: list[ExhibitSource], data_summary, published, config: dict, configfiles,
                 requirements, students, benchmark_dir, rule_benchmarks: dict[str, str] | None,
                 template_dir, out_html, out_provenance, failures: dict[str, str] | None = None,
                 incomplete: str | None = None, cwd=".") -> dict:
    """Render report.html and provenance.json; return the provenance.

    `failures` maps exhibit ids to why their job failed (shown for exhibits that are not
    built); `incomplete` is set when the build as a whole failed, and is said on the front page.
    """
    failures = failures or {}
    ids = read_student_ids(students)
    exhibits = []
    for src in sources:
        if src.optional and not (Path(src.directory) / "meta.json").exists():
            continue
        ex = load_exhibit(src, redact_ids(failures.get(src.exhibit, ""), ids))
        ex.reason = redact_ids(ex.reason, ids)
        exhibits.append(ex)
    exhibits.sort(key=lambda e: exhibit_sort_key(e.exhibit))

    summary = None
    if data_summary is not None and Path(data_summary).exists():
        summary = json.loads(Path(data_summary).read_text(encoding="utf-8"))
    published_df = None
    if published is not None and Path(published).exists():
        published_df = pd.read_csv(published, dtype=str, keep_default_na=False)

    parts = load_parts(Path(template_dir) / SECTIONS_FILE)
    provenance = collect_provenance(config=config, configfiles=configfiles, data_summary=summary,
                                    requirements=requirements, benchmark_dir=benchmark_dir,
                                    rule_benchmarks=rule_benchmarks, exhibits=exhibits, cwd=cwd)
    counts = {s: sum(ex.state == s for ex in exhibits) for s in STATES}
    context = {
        "summary": summary,
        "synthetic": summary is None or summary.get("source") == "synthetic",
        "exhibits": exhibits,
        "counts": counts,
        "parts": group_exhibits(exhibits, parts),
        "fidelity": fidelity_summary(exhibits, published_df),
        "incomplete": incomplete,
        "provenance": provenance,
        "provenance_start": PROVENANCE_START,
        "provenance_end": PROVENANCE_END,
        "css": (Path(template_dir) / "report.css").read_text(encoding="utf-8"),
    }
    html = render_report(context, template_dir)
    leaked = find_student_ids(html, ids)
    if leaked:
        raise PrivacyError(f"{out_html}: the report would contain {len(leaked)} student id(s) "
                           f"(e.g. {leaked[0]}); an exhibit's table, caption or notes carries student-level "
                           "data. Remove them from that exhibit.")
    write_text(html, out_html)
    write_json(provenance, out_provenance)
    return provenance


# ----------------------------------------------------------------------------------------------
# The workflow side (called from workflow/rules/report.smk with Snakemake's rule objects)
# ----------------------------------------------------------------------------------------------
REPORT_EXHIBIT_FILES = ("meta.json", "table.csv", "comparison.csv", "figure.png")


def exhibit_sources(rules, exhibit_meta, optional_exhibits, results="results") -> list[dict]:
    """Every exhibit the report shows: id, directory, the rule that writes it and the further
    tables (CSV files beside table.csv) that rule declares. `exhibit_meta`: the registered
    meta.json paths; `optional_exhibits`: ids of exhibits built by a separate target, shown when
    present."""
    owners, outputs = {}, {}
    for rule in rules:
        for f in rule.output:
            owners.setdefault(str(f), rule.name)
            outputs.setdefault(rule.name, []).append(Path(str(f)))
    metas = [(str(m), False) for m in exhibit_meta]
    metas += [(f"{results}/exhibits/{ex}/meta.json", True) for ex in optional_exhibits]
    sources, seen = [], set()
    for meta, optional in metas:
        directory = Path(meta).parent.as_posix()
        if directory in seen:
            continue
        seen.add(directory)
        rule = owners.get(meta)
        tables = sorted(f.name for f in outputs.get(rule, []) if f.parent.as_posix() == directory
                        and f.suffix == ".csv" and f.name not in ("table.csv", "comparison.csv"))
        sources.append({"exhibit": Path(directory).name, "directory": directory, "rule": rule,
                        "optional": optional, "tables": tables})
    return sources


def exhibit_input_files(exhibit_targets, optional_exhibits, results="results") -> list[str]:
    """The exhibit files the report reads: those of every registered exhibit (its further tables
    too), and those of the optional exhibits that exist (table.tex and figure.svg are for print,
    not read)."""
    files = [str(f) for f in exhibit_targets
             if Path(str(f)).name in REPORT_EXHIBIT_FILES or Path(str(f)).suffix == ".csv"]
    for ex in optional_exhibits:
        d = Path(results) / "exhibits" / ex
        if (d / "meta.json").exists():
            files += [(d / n).as_posix() for n in REPORT_EXHIBIT_FILES if (d / n).exists()]
    return files


def rule_benchmark_patterns(rules) -> dict[str, str]:
    """rule -> its benchmark file pattern, to name the rule behind each runtime."""
    return {rule.name: str(rule.benchmark) for rule in rules if rule.benchmark}


def failure_reason(rule_name: str, logs) -> str:
    """Why a job failed, for the reader: the last error line of its log, else a pointer to the
    run's output."""
    text = f"The job of rule {rule_name} failed"
    for path in logs:
        try:
            lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8", errors="replace").splitlines()]
        except OSError:
            continue
        lines = [ln for ln in lines if ln]
        errors = [ln for ln in lines if ln.startswith("ERROR:") or "Error:" in ln or "Exception:" in ln]
        last = errors[-1] if errors else (lines[-1] if lines else "")
        if last:
            return f"{text}: {last[:500]} (log: {path})"
    return f"{text}; it logged no error (see the terminal output of the run)."


def failed_exhibits(failed_jobs, sources: list[dict]) -> dict[str, str]:
    """exhibit id -> why its job failed, for Snakemake jobs that failed."""
    by_meta = {f"{s['directory']}/meta.json": s["exhibit"] for s in sources}
    out = {}
    for job in failed_jobs:
        for f in job.output:
            if str(f) in by_meta:
                out[by_meta[str(f)]] = failure_reason(job.rule.name, [str(x) for x in job.log])
    return out
