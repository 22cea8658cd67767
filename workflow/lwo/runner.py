"""Entry point of every Snakemake script: a bad input ends the job with one clear line
(file, column, rows, what to do) and a non-zero exit, not a traceback. Whatever ends a job,
its reason is also written to the rule's log, where the report finds it."""
from __future__ import annotations

import sys
import traceback

from lwo.errors import DataError


def _log(snakemake, text: str) -> None:
    for log in getattr(snakemake, "log", []):
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")


def run(main, snakemake) -> None:
    try:
        main(snakemake)
    except (DataError, ValueError) as err:
        if not isinstance(err, DataError) and not str(err).startswith(("config/", "data/", "results/")):
            _log(snakemake, traceback.format_exc())
            raise
        print(f"ERROR: {err}", file=sys.stderr)
        _log(snakemake, f"ERROR: {err}")
        sys.exit(1)
    except Exception:
        _log(snakemake, traceback.format_exc())
        raise
