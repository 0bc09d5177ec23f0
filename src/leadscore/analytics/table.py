"""Reading a leads file as raw columns, a derived row-number key, and outcome values.

`calibrate` and `fit` read the outcome (and, for `fit`, every column) straight from the
file, so the outcome need not be in a model's schema. Rows keep their file row numbers
(the header is line 1, as in `leadscore run`), and every row whose outcome cannot be read is
counted and reported, never dropped silently.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime.data import DataError, convert, numbered_rows, records

_POSITIVE = {"1", "true", "yes"}
_NEGATIVE = {"0", "false", "no"}


@dataclass
class Table:
    path: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (file row number, values aligned with header)

    def index(self, name: str, what: str = "column") -> int:
        if name in self.header:
            return self.header.index(name)
        close = difflib.get_close_matches(name, [h for h in self.header if h], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(f"{self.path}: no {what} {name!r}{hint}\n"
                        f"  the file has: {', '.join(repr(h) for h in self.header if h)}")

    def column(self, name: str) -> list[Any]:
        i = self.index(name)
        return [rec[i] for _, rec in self.rows]


def read_table(path: str | Path, delimiter: str | None = None,
               row_key: str | None = None) -> Table:
    """Read every row of a CSV or Parquet file; with `row_key`, add that column holding each
    row's number (for files without an id column)."""
    header, recs = records(path, delimiter)
    if row_key is not None:
        if row_key in header:
            raise DataError(f"{path}: already has a column {row_key!r}; use it as the key "
                            "instead of the row number")
        recs = numbered_rows(recs, len(header))
        header = header + [row_key]
    width = len(header)
    rows = []
    for rowno, rec in recs:
        rec = list(rec)
        if len(rec) < width:
            rec += [None] * (width - len(rec))
        rows.append((rowno, rec))
    return Table(str(path), header, rows)


def blank(value: Any) -> bool:
    """Missing in a data file: None, NaN, or empty/whitespace text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def parse_outcome(value: Any) -> int:
    """0/1, true/false or yes/no (any case) -> 0 or 1; ValueError otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return int(value)
        raise ValueError("expected 0/1, true/false or yes/no")
    text = str(value).strip().lower()
    if text in _POSITIVE:
        return 1
    if text in _NEGATIVE:
        return 0
    try:
        number = float(text)
    except ValueError:
        raise ValueError("expected 0/1, true/false or yes/no") from None
    if number in (0.0, 1.0):
        return int(number)
    raise ValueError("expected 0/1, true/false or yes/no")


def parse_outcome_time(value: Any) -> int:
    """An outcome's time in µs, read as a schema timestamp is (ISO 8601 text, or a typed
    Parquet time); ValueError when it is missing or not one."""
    if blank(value):
        raise ValueError("missing")
    return convert(value, "timestamp")


@dataclass
class Outcomes:
    values: dict[int, int]  # file row number -> 0/1, for rows with a valid outcome
    missing: list[int] = field(default_factory=list)  # row numbers
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (row number, value)

    def problems(self, limit: int = 10) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"row": r, "value": None, "reason": "missing"}
                                     for r in self.missing[:limit]]
        out += [{"row": r, "value": v, "reason": "not 0/1, true/false or yes/no"}
                for r, v in self.invalid[:limit]]
        return sorted(out, key=lambda p: p["row"])[:limit]


def read_outcomes(table: Table, column: str) -> Outcomes:
    i = table.index(column, "outcome column")
    out = Outcomes({})
    for rowno, rec in table.rows:
        v = rec[i]
        if blank(v):
            out.missing.append(rowno)
            continue
        try:
            out.values[rowno] = parse_outcome(v)
        except ValueError:
            out.invalid.append((rowno, str(v)))
    return out
