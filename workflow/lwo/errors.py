"""The error every layer raises for bad input: a leaf module, so that reporting a problem
never imports the code that reads tables."""
from __future__ import annotations

MAX_ROWS_SHOWN = 5


class DataError(ValueError):
    """A problem with an input file, stated for the person who has to fix it.

    `column` is the column (or, with field="key", the key of a YAML file) at fault; `rows` the
    offending rows, as file line numbers (unit="line") or case numbers (unit="row"). The text is
    one line: "<file>, column '<c>', line(s) 5, 9: <what is wrong>. <what to do>".
    """

    def __init__(self, file, message: str, column: str | None = None, rows=None, fix: str | None = None,
                 *, field: str = "column", unit: str = "line"):
        self.file, self.column, self.field, self.unit = str(file), column, field, unit
        self.rows = sorted({int(r) for r in (rows if rows is not None else [])})
        self.message = " ".join(str(message).splitlines())
        self.fix = fix
        parts = [self.file]
        if column is not None:
            parts.append(f"{field} '{column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
            more = f" (and {len(self.rows) - MAX_ROWS_SHOWN} more)" if len(self.rows) > MAX_ROWS_SHOWN else ""
            parts.append(f"{unit}(s) {shown}{more}")
        where = ", ".join(parts) if len(parts) > 1 else f"{self.file} (whole file)"
        text = f"{where}: {self.message}"
        if fix:
            text += f". {fix}"
        super().__init__(text)
