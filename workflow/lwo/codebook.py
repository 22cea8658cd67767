"""The codebook (config/codebook.yaml): constructs, items, record columns.

Everything that lists items or columns (scoring, schema checks, model specs, the synthetic
cohort) asks this object, so the lists exist once.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


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
        scale = raw["response_scale"]
        self.scale_min, self.scale_max = int(scale["min"]), int(scale["max"])
        self.min_share_items_answered = float(raw.get("min_share_items_answered", 0.5))
        self.student_constructs: dict[str, dict] = raw["student_constructs"]
        self._validate()

    @classmethod
    def load(cls, path: str | Path = "config/codebook.yaml") -> "Codebook":
        with open(path, encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh), path)

    def _validate(self) -> None:
        seen: dict[str, str] = {}
        for name, c in self.student_constructs.items():
            items = c.get("items") or []
            if len(items) < 2:
                raise ValueError(f"{self.path}: construct '{name}' has {len(items)} item(s); "
                                 "a scale needs at least 2 items (a single item has no reliability)")
            for it in items:
                if it["id"] in seen:
                    raise ValueError(f"{self.path}: item id '{it['id']}' appears in '{seen[it['id']]}' and '{name}'")
                seen[it["id"]] = name
            if all(it.get("reverse", False) for it in items):
                raise ValueError(f"{self.path}: every item of construct '{name}' is reverse-coded; "
                                 "at least one item must define the construct's direction")

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
