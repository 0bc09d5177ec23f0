"""Writing results: CSV, Parquet or JSON chosen by extension, always atomically."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = (".csv", ".parquet", ".json")


def format_value(v: Any) -> str:
    """Text form of an output value: whole numbers without `.0`, missing as empty."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


def json_value(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def _atomic_write(path: Path, write) -> None:
    """Write to a temporary file beside `path`, then rename over it: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_rows(path: str | Path, columns: list[str], rows: Iterable[tuple],
               types: dict[str, str] | None = None) -> None:
    p = Path(path)
    ext = p.suffix.lower()
    rows = list(rows)
    if ext == ".csv":
        def write(tmp: Path) -> None:
            with tmp.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(columns)
                for r in rows:
                    w.writerow([format_value(v) for v in r])
    elif ext == ".json":
        def write(tmp: Path) -> None:
            data = [{c: json_value(v) for c, v in zip(columns, r)} for r in rows]
            tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif ext in (".parquet", ".pq"):
        def write(tmp: Path) -> None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            arrays = {}
            for i, c in enumerate(columns):
                kind = (types or {}).get(c, "text")
                arrays[c] = pa.array([r[i] for r in rows],
                                     pa.float64() if kind == "number" else pa.string())
            pq.write_table(pa.table(arrays), tmp)
    else:
        raise ValueError(f"unknown output format {ext or '(none)'!r} for {p}; use "
                         + ", ".join(FORMATS))
    _atomic_write(p, write)
