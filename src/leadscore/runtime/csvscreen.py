"""Which CSV files two readers split into the same rows: the screen before a fast reader.

Python's csv module (runtime/data.py, the reference) and the fast readers (Arrow in
runtime/fastload.py, DuckDB in runtime/native.py) agree on a file whose rows are single
lines of well-quoted fields. `screen_csv` says whether a file is one, and its layout; every
other file (blank lines, a quoted value spanning lines, malformed quotes, lone `\\r` line
ends, NUL bytes, invalid UTF-8, a BOM after the header, a header that is not one plain line)
is read by data.py alone, which reports what is wrong with it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .data import detect_delimiter


@dataclass
class CsvLayout:
    header: list[str]  # column names, stripped as data.py strips them
    delimiter: str
    newline: str  # "\n" or "\r\n"
    lines: int  # records after the header: one per line
    body: memoryview  # the bytes after the header line
    quoted: bool  # whether the body holds a quote at all


def screen_csv(path: Path, delimiter: str | None) -> CsvLayout | None:
    """The file's layout, or None when only data.py may read it."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw or b"\x00" in raw or raw[:1] in (b"\n", b"\r"):
        return None
    crlf = raw.count(b"\r\n") if b"\r" in raw else 0
    if crlf != raw.count(b"\r"):
        return None
    if not raw.isascii():
        try:
            raw.decode("utf-8")  # data.py refuses the whole file otherwise
        except UnicodeDecodeError:
            return None
    nl = raw.find(b"\n")
    head = raw if nl < 0 else raw[:nl + 1]
    start = len(raw) if nl < 0 else nl + 1
    body = memoryview(raw)[start:]
    head_text = head.decode("utf-8")
    if not head_text.strip() or head_text.count('"') % 2:
        return None
    if delimiter is None:
        delimiter = detect_delimiter(head_text)
    header = [h.strip() for h in next(csv.reader([head_text], delimiter=delimiter))]
    if raw.startswith((b"\n", b"\r"), start) or (
            # a blank line is a record of one empty field to Arrow and DuckDB, and none to the
            # csv module; with more than one column the readers' row counts then differ,
            # which the reader checks, so only a one-column file needs looking at
            len(header) == 1 and (raw.find(b"\n\n", start) >= 0 or raw.find(b"\n\r\n", start) >= 0)):
        return None
    if raw.startswith(b"\xef\xbb\xbf", start):  # readers drop a BOM opening their buffer; data.py keeps it
        return None
    quoted = raw.find(b'"', start) >= 0
    if quoted and not well_quoted(body, delimiter):
        return None
    lines = raw.count(b"\n", start) + (1 if len(body) and not raw.endswith(b"\n") else 0)
    return CsvLayout(header, delimiter, "\r\n" if crlf else "\n", lines, body, quoted)


def well_quoted(body: bytes | memoryview, delimiter: str) -> bool:
    """Whether every quote in `body` opens or closes a field, or is a doubled quote inside
    one, on a single line: the CSV every reader splits the same way."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .columnar import array  # pa.array of Python values would import pandas

    d = re.escape(delimiter)
    field = f'(?:"(?:[^"\\n]|"")*"|[^"{d}\\r\\n]*)'
    pattern = f"^{field}(?:{d}{field})*\\r?$"
    text = bytes(body).decode("utf-8", errors="replace")
    lines = pc.split_pattern(array([text], pa.string()), "\n").values
    if text.endswith("\n"):
        lines = lines.slice(0, len(lines) - 1)
    return bool(pc.all(pc.match_substring_regex(lines, pattern)).as_py())
