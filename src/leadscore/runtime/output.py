"""Writing results: CSV, Parquet or JSON chosen by extension, always atomically."""

from __future__ import annotations

import csv
import json
import os
import signal
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
    """Write to a temporary file beside `path`, then rename over it: all or nothing.

    A failure or Ctrl-C at any point leaves `path` as it was (an existing file is replaced
    only on success) and removes the temporary file.
    """
    if path.exists() and not path.is_file():
        # renaming over /dev/null or a directory would replace it with a regular file
        from .data import DataError

        raise DataError(f"{path} exists and is not a regular file; choose another output path")
    path.parent.mkdir(parents=True, exist_ok=True)
    held = _hold_signals()  # a Ctrl-C between creating the file and `try` would orphan it
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except BaseException:
        _release_signals(held)
        raise
    try:
        _release_signals(held)  # a signal that came meanwhile is raised here, then cleaned up
        write(Path(tmp))
        _settle(Path(tmp), path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_HELD = {getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n)}


def _hold_signals() -> set | None:
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no masks
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)


def _release_signals(previous: set | None) -> None:
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _settle(tmp: Path, path: Path) -> None:
    """On disk before the rename (a crash cannot leave an empty file behind the new name),
    with the mode of the file it replaces, or of a new file (mkstemp's is 0600)."""
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
