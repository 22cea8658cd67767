"""The codebook (config/codebook.yaml): constructs, items, record columns.

Everything that lists items or columns (scoring, schema checks, model specs, the synthetic
cohort) asks this object, so the lists exist once.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from lwo.errors import DataError
from lwo.io import read_yaml


def yaml_key_line(node, path) -> list[int]:
    """Line (1-based, as a one-element list) of the deepest key of `path` spelled out in a
    composed YAML node tree; empty when the file does not spell out the first key."""
    line = None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(key)]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return [line] if line else []


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    construct: str
    reverse: bool = False


class Codebook:
    def __init__(self, raw: dict, path: str = "config/codebook.yaml"):
        self.path = str(path)
        self.raw = raw
        self._validate()  # first: a broken codebook is reported by key and line, not as a KeyError
        scale = raw["response_scale"]
        self.scale_min, self.scale_max = int(scale["min"]), int(scale["max"])
        # the answers' codes and words, as the data dictionary and validation messages give them
        self.scale_label_text = "; ".join(f"{k} = {v}" for k, v in (scale.get("labels") or {}).items())
        self.min_share_items_answered = float(raw.get("min_share_items_answered", 0.5))
        self.student_constructs: dict[str, dict] = raw["student_constructs"]

    @classmethod
    def load(cls, path: str | Path = "config/codebook.yaml") -> "Codebook":
        with open(path, encoding="utf-8") as fh:
            return cls(read_yaml(fh), path)

    def _validate(self) -> None:
        """Refuse a codebook the pipeline would misread, naming the key and its line in the file."""
        raw, file = self.raw, self.path
        tree = []  # the YAML node tree of the file, for line numbers (composed on first use)

        def line_of(path) -> list[int]:
            if not tree:
                try:
                    with open(file, encoding="utf-8") as fh:
                        text = fh.read()
                    # lines only from the file this codebook was read from, not from another copy
                    tree.append(yaml.compose(text) if read_yaml(text) == raw else None)
                except (OSError, yaml.YAMLError):
                    tree.append(None)
            return yaml_key_line(tree[0], path)

        def fail(path, message, fix="Correct this entry (the comments in config/codebook.yaml explain each section)"):
            key = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in path).replace(".[", "[")
            raise DataError(file, message, column=key, rows=line_of(path), fix=fix, field="key")

        if not isinstance(raw, dict):
            raise DataError(file, "the codebook must be a YAML mapping of sections", rows=[1])
        sections = ("response_scale", "student_constructs", "student_collaboration_items", "student_records",
                    "classrooms", "teacher_records", "teacher_collaboration_items", "teacher_scales",
                    "teacher_rating_items", "observation_records", "observation_items")
        for section in sections:
            if not isinstance(raw.get(section), dict) or not raw[section]:
                fail([section], f"section '{section}' is missing or empty",
                     "Restore it from the codebook in the repository (config/codebook.yaml)")

        scale = raw["response_scale"]
        for bound in ("min", "max"):
            if not isinstance(scale.get(bound), int) or isinstance(scale.get(bound), bool):
                fail(["response_scale", bound] if bound in scale else ["response_scale"],
                     f"response_scale.{bound} must be a whole number, found {scale.get(bound)!r}")
        if scale["min"] >= scale["max"]:
            fail(["response_scale"], f"response_scale.min ({scale['min']}) must be below max ({scale['max']})")
        share = raw.get("min_share_items_answered", 0.5)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            fail(["min_share_items_answered"], f"must be a share in (0, 1], found {share!r}")

        blocks = ("hqc", "classroom_environment", "mindset", "set_aside")  # set_aside: collected, in no model
        item_keys = ("id", "text", "reverse", "note")
        reverse_lists = ("reverse", "reversed", "reverse_items", "reverse_coded", "reverse_scored")
        identifier = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
        seen: dict[str, str] = {}
        for name, c in raw["student_constructs"].items():
            at = ["student_constructs", name]
            if not isinstance(c, dict):
                fail(at, "a construct must be a mapping with label, block and items")
            for key in ("label", "block", "items"):
                if key not in c:
                    fail(at, f"construct '{name}' has no '{key}'")
            if c["block"] not in blocks:
                fail(at + ["block"], f"unknown block {c['block']!r}; blocks are {list(blocks)}")
            items = c["items"] if isinstance(c["items"], list) else []
            ids = [it.get("id") for it in items if isinstance(it, dict)]
            for key in reverse_lists:
                if key in c:
                    listed = c[key] if isinstance(c[key], list) else [c[key]]
                    absent = [i for i in listed if i not in ids]
                    what = (f"names {absent} which are not items of '{name}'" if absent
                            else "is not read: reverse coding is marked on the item")
                    fail(at + [key], f"construct-level '{key}' {what}",
                         "Mark each reverse-worded item with `reverse: true` in its own entry")
            if len(items) < 2:
                fail(at + ["items"], f"construct '{name}' has {len(items)} item(s); a scale needs at least "
                     "2 items (a single item has no reliability)",
                     "Add items, or move a single question to the record columns")
            for k, it in enumerate(items):
                where = at + ["items", k]
                if not isinstance(it, dict):
                    fail(where, f"item {k + 1} of '{name}' must be a mapping like {{id: ..., text: ...}}")
                for key, value in it.items():
                    if key not in item_keys:
                        close = difflib.get_close_matches(str(key), item_keys, n=1)
                        hint = (" (a key without a value: an unquoted comma inside {...}? quote the text)"
                                if value is None else f" (did you mean '{close[0]}'?)" if close else "")
                        fail(where, f"unknown key {key!r} in item {it.get('id', k + 1)!r}{hint}",
                             f"Item entries may have only {list(item_keys)}")
                if not isinstance(it.get("id"), str) or not identifier.match(it["id"]):
                    fail(where, f"item id {it.get('id')!r} must be a name of letters, digits and _ "
                         "(it is a column name and a model variable)")
                if not isinstance(it.get("text"), str) or not it["text"].strip():
                    fail(where, f"item {it['id']!r} has no text")
                if "reverse" in it and not isinstance(it["reverse"], bool):
                    fail(where, f"item {it['id']!r}: reverse must be true or false, found {it['reverse']!r}",
                         "Write `reverse: true` (no quotes) on reverse-worded items, and nothing on the others")
                if it["id"] in seen:
                    places = f"in '{name}'" if seen[it["id"]] == name else f"in '{seen[it['id']]}' and in '{name}'"
                    fail(where, f"item id {it['id']!r} appears twice, {places}", "Item ids must be unique")
                seen[it["id"]] = name
            if all(it.get("reverse", False) for it in items):
                fail(at, f"every item of construct '{name}' is reverse-coded; at least one item must "
                     "define the construct's direction", "Reverse the construct's meaning or unmark an item")

        # record columns: types the contract can check, references it can follow
        types = ("string", "integer", "float", "category")
        records = ("student_records", "classrooms", "teacher_records", "observation_records")
        for record in records:
            for column, spec in raw[record].items():
                at = [record, column]
                if not isinstance(spec, dict) or spec.get("type") not in types:
                    fail(at, f"column '{column}' needs a type, one of {list(types)}")
                if spec["type"] == "category" and not spec.get("values"):
                    fail(at, f"category column '{column}' lists no values")
                if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
                    fail(at, f"column '{column}': min {spec['min']} is above max {spec['max']}")
                if spec.get("references"):
                    table, _, target = str(spec["references"]).partition(".")
                    target_record = {"classrooms": "classrooms", "teachers": "teacher_records"}.get(table)
                    if target_record is None or target not in raw[target_record]:
                        fail(at, f"column '{column}' references {spec['references']!r}, which is not a column "
                             "of the classrooms or teachers table")
        for group in ("student_collaboration_items", "teacher_collaboration_items"):
            for item, spec in raw[group].items():
                cats = spec.get("categories") if isinstance(spec, dict) else None
                if not cats or len(set(cats)) != len(cats):
                    fail([group, item], f"'{item}' needs a list of distinct categories")
                if "at_least_weekly_from" in spec and spec["at_least_weekly_from"] not in cats:
                    fail([group, item, "at_least_weekly_from"], f"{spec['at_least_weekly_from']!r} is not one "
                         f"of the categories of '{item}'")
        for scale_name, spec in raw["teacher_scales"].items():
            if not isinstance(spec, dict) or len(spec.get("items") or []) < 2:
                fail(["teacher_scales", scale_name], f"teacher scale '{scale_name}' needs at least 2 items")
        for item, spec in raw["observation_items"].items():
            if not isinstance(spec, dict) or spec.get("area") not in raw["student_constructs"]:
                fail(["observation_items", item], f"observation item '{item}' has area "
                     f"{spec.get('area') if isinstance(spec, dict) else None!r}, which is not a construct")

        # every column of a table exactly once: an item id equal to a record column would be read twice
        tables = {
            "students": [*raw["student_records"], *raw["student_collaboration_items"], *seen],
            "teachers": [*raw["teacher_records"], *raw["teacher_collaboration_items"],
                         *(i for s in raw["teacher_scales"].values() for i in s["items"]),
                         *(i for g in raw["teacher_rating_items"].values() for i in g.get("items", {}))],
            "observations": [*raw["observation_records"], *raw["observation_items"]],
        }
        for table, columns in tables.items():
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            if dupes:
                owner = seen.get(dupes[0])
                path = (["student_constructs", owner] if owner else [])
                fail(path or [dupes[0]], f"column {dupes[0]!r} is defined twice for the {table} table "
                     "(as an item and as a record column, or in two scales)", "Give each a distinct id")

    # -- student survey --------------------------------------------------------------------
    def items(self, construct: str) -> list[Item]:
        c = self.student_constructs[construct]
        return [Item(i["id"], i["text"], construct, bool(i.get("reverse", False))) for i in c["items"]]

    def item_ids(self, construct: str) -> list[str]:
        return [i.id for i in self.items(construct)]

    def all_items(self) -> list[Item]:
        return [i for c in self.student_constructs for i in self.items(c)]

    def constructs_in_block(self, block: str) -> list[str]:
        return [n for n, c in self.student_constructs.items() if c["block"] == block]

    def hqc_subscales(self, domain: str | None = None) -> list[str]:
        return [n for n in self.constructs_in_block("hqc")
                if domain is None or self.student_constructs[n]["domain"] == domain]

    def label(self, construct: str) -> str:
        if construct in self.student_constructs:
            return self.student_constructs[construct]["label"]
        if construct in self.teacher_scales:
            return self.teacher_scales[construct]["label"]
        return construct.replace("_", " ")

    @property
    def student_collaboration_items(self) -> dict:
        return self.raw["student_collaboration_items"]

    # -- records ---------------------------------------------------------------------------
    def record_columns(self, table: str) -> dict[str, dict]:
        """Column specs of a record table: student_records, classrooms, teacher_records,
        observation_records."""
        return self.raw[table]

    # -- teachers and observations ---------------------------------------------------------
    @property
    def teacher_scales(self) -> dict[str, dict]:
        return self.raw["teacher_scales"]

    @property
    def teacher_rating_items(self) -> dict[str, dict]:
        return self.raw["teacher_rating_items"]

    @property
    def teacher_collaboration_items(self) -> dict:
        return self.raw["teacher_collaboration_items"]

    def teacher_item_ids(self) -> list[str]:
        ids = [i for s in self.teacher_scales.values() for i in s["items"]]
        ids += [i for g in self.teacher_rating_items.values() for i in g["items"]]
        return ids

    @property
    def observation_items(self) -> dict[str, dict]:
        return self.raw["observation_items"]

    # -- tables' expected columns ----------------------------------------------------------
    def student_columns(self) -> list[str]:
        return (list(self.record_columns("student_records")) + list(self.student_collaboration_items)
                + [i.id for i in self.all_items()])

    def teacher_columns(self) -> list[str]:
        return (list(self.record_columns("teacher_records")) + list(self.teacher_collaboration_items)
                + self.teacher_item_ids())

    def observation_columns(self) -> list[str]:
        return list(self.record_columns("observation_records")) + list(self.observation_items)
