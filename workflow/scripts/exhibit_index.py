"""The table of exhibits in README.md (exhibit -> rule -> script -> output files), read from the
workflow itself: every rule that writes results/exhibits/<exhibit>/meta.json is an exhibit rule
(the convention of exhibit_outputs() in workflow/rules/common.smk). "What it shows" is the first
paragraph of the rule's docstring, else of its script's docstring.

    python workflow/scripts/exhibit_index.py            rewrite the table in README.md
    python workflow/scripts/exhibit_index.py --check    exit 1 if README.md's table is stale
    python workflow/scripts/exhibit_index.py --json     the exhibit rules as JSON

Only the text between the README's markers is touched.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow"))

from lwo.report import exhibit_sort_key  # noqa: E402

START = "<!-- exhibit-table:start -->"
END = "<!-- exhibit-table:end -->"
EXHIBIT_DIR = re.compile(r"^results/exhibits/([^/{}]+)/meta\.json$")
# output files in the order the table lists them
OUTPUT_ORDER = ["table.csv", "table.tex", "comparison.csv", "figure.png", "figure.svg", "figure.pdf", "meta.json"]


@dataclass
class ExhibitRule:
    exhibit: str
    rule: str
    rule_file: str
    script: str | None
    outputs: list[str]
    description: str


def load_workflow_rules(repo: Path = REPO):
    """The rules of the workflow in `repo`, parsed by Snakemake itself (no job runs)."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, OutputSettings, Quietness, ResourceSettings,
                                          StorageSettings)

    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                          storage_settings=StorageSettings(), snakefile=repo / "Snakefile", workdir=repo)
        # the parsed workflow: Snakemake's public API stops at running it
        return list(wf._workflow.rules)


def _relative(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _first_line(text: str | None) -> str:
    """The first paragraph of a docstring as one line (its first sentence if it is long)."""
    paragraph = " ".join((text or "").strip().split("\n\n")[0].split())
    if len(paragraph) > 200:
        end = paragraph.find(". ", 40)
        if end > 0:
            paragraph = paragraph[:end + 1]
    return paragraph


def _script_docstring(repo: Path, script: str | None) -> str:
    """First line of the script's module docstring: what the exhibit shows, where the rule has
    no docstring of its own."""
    if not script or not script.endswith(".py") or not (repo / script).is_file():
        return ""
    try:
        tree = ast.parse((repo / script).read_text(encoding="utf-8"))
    except SyntaxError:
        return ""
    return _first_line(ast.get_docstring(tree))


def exhibit_rules(repo: Path = REPO) -> list[ExhibitRule]:
    out = []
    for rule in load_workflow_rules(repo):
        outputs = [str(f) for f in rule.output]
        metas = [m.group(1) for m in map(EXHIBIT_DIR.match, outputs) if m]
        for exhibit in metas:
            prefix = f"results/exhibits/{exhibit}/"
            files = [f[len(prefix):] for f in outputs if f.startswith(prefix)]
            files.sort(key=lambda f: (OUTPUT_ORDER.index(f) if f in OUTPUT_ORDER else len(OUTPUT_ORDER), f))
            script = None
            if rule.script:
                script = _relative(Path(rule.snakefile).parent / rule.script, repo)
            out.append(ExhibitRule(exhibit=exhibit, rule=rule.name, rule_file=_relative(Path(rule.snakefile), repo),
                                   script=script, outputs=files,
                                   description=_first_line(rule.docstring) or _script_docstring(repo, script)))
    return sorted(out, key=lambda e: (exhibit_sort_key(e.exhibit), e.rule))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[ExhibitRule]) -> str:
    """The Markdown between the markers."""
    if not rows:
        return "No exhibit rule in the workflow yet.\n"
    lines = [
        "Generated from the workflow by `python workflow/scripts/exhibit_index.py` "
        "(`tests/test_readme_exhibit_table.py` fails when it is stale). "
        "Outputs are under `results/exhibits/<exhibit>/`.",
        "",
        "| Exhibit | What it shows | Rule | Script | Outputs |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        rule_file = Path(r.rule_file).name
        script = f"`{r.script}`" if r.script else "(no script)"
        outputs = ", ".join(f"`{f}`" for f in r.outputs)
        lines.append(f"| {_cell(r.exhibit)} | {_cell(r.description)} | `{r.rule}` ({rule_file}) | {script} | {outputs} |")
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
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 when the README's table is stale")
    mode.add_argument("--json", action="store_true", help="print the exhibit rules as JSON")
    args = parser.parse_args(argv)

    try:
        rows = exhibit_rules(args.repo)
    except Exception as err:  # Snakemake's own parse errors: say so in one line
        print(f"ERROR: the workflow in {args.repo} cannot be parsed: {type(err).__name__}: {err}", file=sys.stderr)
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
