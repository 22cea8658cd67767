"""Reading a saved fit (the layout lwo.sem_results writes under results/models/<sample>/<model>/).
Apart from the fitting code so that the exhibit jobs, which only read fits, never import the
SEM engine and its libraries."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ALPHA = 0.05  # significance level of the exhibits' verdicts


@dataclass
class ModelResult:
    """A saved fit, as the exhibits read it."""

    model: str
    sample: str
    info: dict
    estimates: pd.DataFrame
    standardized: pd.DataFrame
    correlations: pd.DataFrame
    bootstrap: pd.DataFrame | None = None
    lr_tests: pd.DataFrame | None = None
    contrasts: pd.DataFrame | None = None

    @property
    def status(self) -> str:
        return self.info.get("status", "failed")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def message(self) -> str:
        return self.info.get("message", "")

    @property
    def n(self) -> int:
        return int(self.info.get("n_used", 0))

    def std(self, label: str) -> pd.Series:
        rows = self.standardized[self.standardized["label"] == label]
        if rows.empty:
            raise KeyError(f"{self.model} ({self.sample}): no standardized parameter {label!r}")
        return rows.iloc[0]

    def correlation(self, target: str, group_label: str = "") -> pd.Series:
        c = self.correlations
        rows = c[(c["rhs"] == target) & ((c["group_label"].fillna("") == group_label) if group_label else True)]
        if rows.empty:
            raise KeyError(f"{self.model} ({self.sample}): no correlation of hqc with {target!r}")
        return rows.iloc[0]

    def boot(self, name: str) -> pd.Series | None:
        if self.bootstrap is None:
            return None
        rows = self.bootstrap[self.bootstrap["parameter"] == name]
        return None if rows.empty else rows.iloc[0]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def read_model(directory, bootstrap=None) -> ModelResult:
    """Read a saved fit (and its bootstrap summary, when given)."""
    d = Path(directory)
    with open(d / "fit.json", encoding="utf-8") as fh:
        info = json.load(fh)
    result = ModelResult(info["model"], info["sample"], info, _read(d / "estimates.csv"),
                         _read(d / "standardized.csv"), _read(d / "correlations.csv"))
    if bootstrap:
        result.bootstrap = _read(Path(bootstrap))
    if (d / "lr_tests.csv").exists():
        result.lr_tests = _read(d / "lr_tests.csv")
    if (d / "group_contrasts.csv").exists():
        result.contrasts = _read(d / "group_contrasts.csv")
    return result
