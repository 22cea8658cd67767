"""The table of exhibits in README.md (exhibit -> what it needs -> rule -> script -> output files),
read from the exhibit registry (workflow/exhibits.yaml, lwo.registry): the same entries the exhibit
rules are generated from.

    python workflow/scripts/exhibit_index.py            rewrite the table in README.md
    python workflow/scripts/exhibit_index.py --check    exit 1 if README.md's table is stale
    python workflow/scripts/exhibit_index.py --json     the exhibits as JSON
    python workflow/scripts/exhibit_index.py --json --tables students
                                                        ... with each one's status for data that
                                                        have only these tables (not available: needs <table>)

Only the text between the README's markers is touched.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from lwo.registry import TABLES, load_registry, not_available_status  # noqa: E402

START = "<!-- exhibit-table:start -->"
END = "<!-- exhibit-table:end -->"
# output files in the order the table lists them
OUTPUT_ORDER = ["table.csv", "table.tex", "comparison.csv", "figure.png", "figure.svg", "meta.json"]


@dataclass
class ExhibitRule:
    exhibit: str
    rule: str
    family: str
    script: str | None
    outputs: list[str]
    description: str
    needs: list[str]
    status: str = "ok"   # or "not available: needs <table>" for data without a table it needs


def exhibit_rules(repo: Path = REPO, tables=TABLES) -> list[ExhibitRule]:
    """The registered exhibits in exhibit order; `tables`: the input tables the data have."""
    out = []
    for ex in load_registry(repo / "workflow" / "exhibits.yaml"):
        files = [f for f in OUTPUT_ORDER if not ((f == "table.tex" and not ex.tex)
                                                 or (f.startswith("figure.") and not ex.figure))]
        missing = ex.missing_tables(tables)
        out.append(ExhibitRule(exhibit=ex.id, rule=ex.rule, family=ex.family,
                               script=f"workflow/scripts/{ex.script}", outputs=files + sorted(ex.extra_outputs.values()),
                               description=ex.title, needs=list(ex.tables),
                               status=not_available_status(missing) if missing else "ok"))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[ExhibitRule]) -> str:
    """The Markdown between the markers."""
    if not rows:
        return "No exhibit rule in the workflow yet.\n"
    lines = [
        "Generated from the exhibit registry (`workflow/exhibits.yaml`) by "
        "`python workflow/scripts/exhibit_index.py` (`tests/test_readme_exhibit_table.py` fails when "
        "it is stale). Outputs are under `results/exhibits/<exhibit>/`. *Needs*: the input tables an "
        "exhibit reads; when the data lack one (`data.files`), the exhibit is shown as "
        "\"not available: needs <table>\".",
        "",
        "| Exhibit | What it shows | Needs | Rule | Script | Outputs |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        script = f"`{r.script}`" if r.script else "(no script)"
        outputs = ", ".join(f"`{f}`" for f in r.outputs)
        needs = ", ".join(r.needs) or "(published data only)"
        status = "" if r.status == "ok" else f" ({r.status})"
        lines.append(f"| {_cell(r.exhibit)} | {_cell(r.description)}{_cell(status)} | {needs} | `{r.rule}` "
                     f"({r.family}) | {script} | {outputs} |")
    return "\n".join(lines) + "\n"


def replace_between_markers(text: str, table: str, path: str = "README.md") -> str:
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{path}: needs exactly one '{START}' followed by one '{END}' line, "
                         "where the exhibit table goes")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--repo", type=Path, default=REPO, help="the workflow to index")
    parser.add_argument("--tables", default=",".join(TABLES),
                        help="comma-separated input tables the data have (default: all four)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when the README's table is stale")
    mode.add_argument("--json", action="store_true", help="print the exhibit rules as JSON")
    args = parser.parse_args(argv)

    try:
        rows = exhibit_rules(args.repo, [t.strip() for t in args.tables.split(",") if t.strip()])
    except (OSError, ValueError) as err:  # a registry that cannot be read: say so in one line
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=1))
        return 0
    current = args.readme.read_text(encoding="utf-8")
    try:
        wanted = replace_between_markers(current, render_table(rows), str(args.readme))
    except ValueError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    if args.check:
        if wanted != current:
            print(f"{args.readme}: the exhibit table is stale; run python workflow/scripts/exhibit_index.py",
                  file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        args.readme.write_text(wanted, encoding="utf-8")
        print(f"{args.readme}: exhibit table updated ({len(rows)} exhibits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
