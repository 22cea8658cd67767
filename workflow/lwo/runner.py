"""Entry point of every Snakemake script: a bad input ends the job with one clear line
(file, column, rows, what to do) and a non-zero exit, not a traceback."""
from __future__ import annotations

import sys

from lwo.data import DataError


def run(main, snakemake) -> None:
    try:
        main(snakemake)
    except (DataError, ValueError) as err:
        if not isinstance(err, DataError) and not str(err).startswith(("config/", "data/", "results/")):
            raise
        print(f"ERROR: {err}", file=sys.stderr)
        for log in getattr(snakemake, "log", []):
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"ERROR: {err}\n")
        sys.exit(1)
