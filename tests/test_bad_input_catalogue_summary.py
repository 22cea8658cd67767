"""The bad-input catalogue as one table: every case with its input, expected and actual outcome,
where the error points (file name, column/key, rows) and what the person is told to do, or how
accepted data are handled. Written to results/tests/bad_input_catalogue.csv (no data values: ids
in messages never reach the file)."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bad_inputs.cases import CASES, result_of  # noqa: E402

from lwo.io import write_csv  # noqa: E402

SUMMARY = Path(__file__).resolve().parents[1] / "results" / "tests" / "bad_input_catalogue.csv"
MIN_CASES = 30


def summary_row(result) -> dict:
    case, err = result.case, result.error
    located = err is not None and hasattr(err, "rows")
    return {
        "case": case.name,
        "input": case.input,
        "expected": case.expected,
        "outcome": result.outcome,
        "file": Path(err.file).name if located else "",
        "column_or_key": (err.column or "") if located else "",
        "rows": " ".join(f"{err.unit} {r}" for r in err.rows[:5]) if located else "",
        "what_to_do_or_handling": (err.fix or "") if located else case.handling,
        "passed": result.passed,
    }


def test_catalogue_summary():
    table = pd.DataFrame([summary_row(result_of(c.name)) for c in CASES])
    write_csv(table, SUMMARY)
    written = pd.read_csv(SUMMARY, keep_default_na=False)
    assert list(written["case"]) == [c.name for c in CASES]
    assert len(written) >= MIN_CASES
    failed = table[~table["passed"]]
    assert failed.empty, "cases without their expected outcome:\n" + "\n".join(
        f"{r.case}: expected {r.expected}, got {r.outcome}; {'; '.join(result_of(r.case).problems)}"
        for r in failed.itertuples())
    assert (table["outcome"] == table["expected"]).all()
    errors = table[table["expected"] == "error"]
    assert (errors["file"] != "").all() and (errors["what_to_do_or_handling"] != "").all()
    assert (table.loc[table["expected"] == "accepted", "what_to_do_or_handling"] != "").all()
