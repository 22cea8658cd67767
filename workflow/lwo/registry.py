"""The exhibit registry (workflow/exhibits.yaml): every exhibit, its builder script, what it reads
and where the report shows it. The exhibit rules, the README's exhibit table, the report's parts
and the tests read it through this module."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lwo.io import read_yaml

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "exhibits.yaml"
TABLES = ("students", "classrooms", "teachers", "observations")
# the analysis-data inputs an exhibit may name (lwo.data writes them; see common.smk analysis_data())
DATA_INPUTS = (*TABLES, "summary")
MODEL_INPUTS = ("fits", "boot", "fits_by_sample", "saved_fit")
CONFIG_INPUTS = ("codebook", "published")
PARAMS = ("min_cell", "estimation")
NOT_AVAILABLE = "not available"
_FIELDS = {"id", "rule", "title", "family", "part", "section", "tables", "inputs", "models", "samples", "files",
           "params", "figure", "tex", "extra_outputs", "target"}
_REQUIRED = ("id", "rule", "title", "family", "part", "section", "tables")


class RegistryError(ValueError):
    """A registry entry that cannot be used, naming the file, the exhibit and the field."""


@dataclass(frozen=True)
class Exhibit:
    id: str
    rule: str
    title: str
    family: str
    part: str
    section: str
    tables: tuple[str, ...]
    inputs: tuple[str, ...]
    models: tuple[str, ...] = ()
    samples: tuple[str, ...] | str = ()
    files: dict[str, str] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    figure: bool = True
    tex: bool = True
    extra_outputs: dict[str, str] = field(default_factory=dict)
    # built by this target's hand-written rule, not by the default build (None: a generated rule)
    target: str | None = None

    @property
    def script(self) -> str:
        """The builder script's file name, under workflow/scripts/."""
        return f"{self.rule}.py"

    @property
    def job_name(self) -> str:
        """The stem of its log and benchmark files: the rule name up to the first '_' (ex03, exFG)."""
        return self.rule.split("_")[0]

    def missing_tables(self, available) -> list[str]:
        """The tables it needs that `available` lacks, in the order of TABLES."""
        return [t for t in TABLES if t in self.tables and t not in set(available)]


def not_available_status(missing) -> str:
    """meta.json status of an exhibit whose tables the data lack."""
    return f"{NOT_AVAILABLE}: needs {', '.join(missing)}"


def exhibit_sort_key(exhibit: str) -> tuple:
    """Numbered exhibits in number order (3 < 12 < 14a < 14b), then named ones (FG, TI, ...)."""
    m = re.match(r"^(\d+)(.*)$", str(exhibit))
    if m:
        return (0, int(m.group(1)), m.group(2).lower())
    return (1, 0, str(exhibit).lower())


def _entry(raw, path: Path, index: int) -> Exhibit:
    where = f"{path}: exhibits[{index}]" + (f" (id {raw.get('id')})" if isinstance(raw, dict) else "")
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: an entry must be a mapping of fields")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {unknown}; fields are {sorted(_FIELDS)}")
    missing = [k for k in (*_REQUIRED, *(() if raw.get("target") else ("inputs",))) if k not in raw]
    if missing:
        raise RegistryError(f"{where}: missing field(s) {missing}")
    bad_tables = [t for t in raw["tables"] if t not in TABLES]
    if bad_tables:
        raise RegistryError(f"{where}, field tables: unknown table(s) {bad_tables}; tables are {list(TABLES)}")
    known = {*DATA_INPUTS, *MODEL_INPUTS, *CONFIG_INPUTS, *(raw.get("files") or {})}
    bad_inputs = [i for i in raw.get("inputs") or () if i not in known]
    if bad_inputs:
        raise RegistryError(f"{where}, field inputs: unknown input(s) {bad_inputs}; inputs are {sorted(known)}")
    unneeded = [i for i in raw.get("inputs") or () if i in TABLES and i not in raw["tables"]]
    if unneeded:
        raise RegistryError(f"{where}, field tables: it reads {unneeded} but does not list them as needed")
    if any(i in MODEL_INPUTS for i in raw.get("inputs") or ()) and not (raw.get("models") and raw.get("samples")):
        raise RegistryError(f"{where}: model inputs need the fields models and samples")
    bad_params = [p for p in raw.get("params") or [] if p not in PARAMS]
    if bad_params:
        raise RegistryError(f"{where}, field params: unknown param(s) {bad_params}; params are {list(PARAMS)}")
    samples = raw.get("samples") or ()
    return Exhibit(id=str(raw["id"]), rule=str(raw["rule"]), title=str(raw["title"]), family=str(raw["family"]),
                   part=str(raw["part"]), section=str(raw["section"]), tables=tuple(raw["tables"]),
                   inputs=tuple(raw.get("inputs") or ()), models=tuple(raw.get("models") or ()),
                   samples=samples if isinstance(samples, str) else tuple(samples),
                   files=dict(raw.get("files") or {}), params=tuple(raw.get("params") or ()),
                   figure=bool(raw.get("figure", True)), tex=bool(raw.get("tex", True)),
                   extra_outputs=dict(raw.get("extra_outputs") or {}), target=raw.get("target"))


def load_registry(path=REGISTRY_FILE) -> list[Exhibit]:
    """The registered exhibits in exhibit order; RegistryError on an entry that cannot be used."""
    path = Path(path)
    doc = read_yaml(path.read_text(encoding="utf-8")) or {}
    exhibits = [_entry(raw, path, i) for i, raw in enumerate(doc.get("exhibits") or [])]
    for key in ("id", "rule"):
        values = [getattr(e, key) for e in exhibits]
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise RegistryError(f"{path}: {key} {dup} registered more than once")
    return sorted(exhibits, key=lambda e: exhibit_sort_key(e.id))


def exhibit_ids(exhibits=None, *, families=None) -> list[str]:
    """Ids of the registered exhibits (of the given families), in exhibit order."""
    exhibits = load_registry() if exhibits is None else exhibits
    return [e.id for e in exhibits if families is None or e.family in families]
