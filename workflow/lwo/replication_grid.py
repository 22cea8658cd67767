"""The design grid of the Monte Carlo replication study (lwo.replication): its cells and batch
jobs. Apart from the study itself so that reading the workflow's rules (every Snakemake run,
a no-op too) does not import pandas, scipy and the SEM engine."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One design point: cohort size (all students, as lwo.synthetic counts them) and the
    share of Black students among the surveyed."""

    n_students: int
    share_black: float

    @property
    def id(self) -> str:
        return f"n{self.n_students}-black{self.share_black:g}"

    @property
    def seed_key(self) -> tuple[int, int]:
        """The cell's part of every replicate's seed: its design, not its place in the grid."""
        return self.n_students, int(round(self.share_black * 10000))

    @classmethod
    def from_id(cls, cell_id: str) -> "Cell":
        match = CELL_ID.fullmatch(cell_id)
        if not match:
            raise ValueError(f"not a replication cell id: {cell_id!r} (expected e.g. 'n892-black0.46')")
        return cls(int(match.group(1)), float(match.group(2)))


CELL_ID = re.compile(r"n(\d+)-black([0-9]*\.?[0-9]+)")


def grid(cfg: dict) -> list[Cell]:
    """The cells of config `replication`: every cohort size with every share of Black students
    (shares outer, sizes inner, both in config order)."""
    return [Cell(int(n), float(share)) for share in cfg["share_black"] for n in cfg["cohort_sizes"]]


def batch_ranges(replicates: int, batch_size: int) -> list[range]:
    """Replicate indices of each batch job: consecutive blocks of `batch_size`."""
    if replicates < 1 or batch_size < 1:
        raise ValueError(f"replicates ({replicates}) and batch_size ({batch_size}) must be at least 1")
    return [range(start, min(start + batch_size, replicates)) for start in range(0, replicates, batch_size)]


def batch_files(cfg: dict, directory: str) -> list[str]:
    """The batch files of config `replication`, in grid order: <directory>/batches/<cell>/batchNNNN.csv."""
    n_batches = len(batch_ranges(cfg["replicates"], cfg["batch_size"]))
    return [f"{directory}/batches/{cell.id}/batch{b:04d}.csv" for cell in grid(cfg) for b in range(n_batches)]


def batch_design(cfg: dict, batch: int) -> str:
    """What one batch computes (a Snakemake params value: a change reruns that batch only, and
    more replicates only add batches)."""
    batches = batch_ranges(cfg["replicates"], cfg["batch_size"])
    if not 0 <= batch < len(batches):
        raise ValueError(f"config/config.yaml: replication has {len(batches)} batches per cell; there is no batch {batch}")
    return json.dumps({"seed": cfg["seed"], "alpha": cfg["alpha"], "first_replicate": batches[batch].start,
                       "stop_replicate": batches[batch].stop}, sort_keys=True)
