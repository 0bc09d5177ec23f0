"""Writing results: CSV, Parquet or JSON chosen by extension, always atomically."""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

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


def rows_table(columns: list[str], rows: list[tuple], types: dict[str, str]) -> pa.Table:
    """Output rows as an Arrow table: float64 for the "number" columns of `types`, else text."""
    import pyarrow as pa

    from .columnar import array

    arrays = {}
    for i, c in enumerate(columns):
        if types.get(c) == "number":
            # a zero is +0: engines disagree on its sign (MariaDB keeps none; -7 * 0 is -0
            # elsewhere) and Parquet stores it; CSV and JSON print both as 0 (native.typed: same)
            arrays[c] = array([None if r[i] is None else r[i] + 0.0 for r in rows], pa.float64())
        else:
            arrays[c] = array([r[i] for r in rows], pa.string())
    return pa.table(arrays)


def json_value(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return int(v)
    return v


def _atomic_write(path: Path, write) -> None:
    """Write to a temporary file beside `path`, then rename over it: all or nothing.

    A failure or Ctrl-C at any point leaves `path` as it was (an existing file is replaced
    only on success) and removes the temporary file.
    """
    if path.exists() and not path.is_file():
        # renaming over /dev/null or a directory would replace it with a regular file
        from .data import DataError

        raise DataError(f"{path} exists and is not a regular file; choose another output path")
    path.parent.mkdir(parents=True, exist_ok=True)
    # The name is chosen before the file exists and created inside `try`, so a Ctrl-C at any
    # instant after creating it is cleaned up (a signal mask would not do: Arrow's threads can
    # take the signal, and the main thread raises wherever it is).
    tmp = _temp_name(path)
    try:
        while True:
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                break
            except FileExistsError:  # not ours: never removed, another name tried
                tmp = _temp_name(path)
        write(tmp)
        _settle(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _temp_name(path: Path) -> Path:
    return path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"


def _settle(tmp: Path, path: Path) -> None:
    """On disk before the rename (a crash cannot leave an empty file behind the new name),
    with the mode of the file it replaces, or the usual mode of a new file (not 0600)."""
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o22)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


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
            import pyarrow.parquet as pq

            pq.write_table(rows_table(columns, rows, types or {}), tmp)
    else:
        raise ValueError(f"unknown output format {ext or '(none)'!r} for {p}; use "
                         + ", ".join(FORMATS))
    _atomic_write(p, write)
