"""SQLite: timestamps stored as ISO text; REGEXP and a Unicode LOWER come from the runner.

SQLite has no REGEXP function of its own and its LOWER only folds ASCII, so the
leadscore runner registers both on the connection (runtime/warehouses.py). SQL
printed for SQLite needs the same two functions wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from .base import Dialect
from .common import strpos_contains, substr_starts_with


@dataclass(frozen=True)
class Sqlite(Dialect):
    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        # 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds from strftime, microseconds from text
        seconds = exp.Cast(this=exp.Anonymous(this="STRFTIME", expressions=[
            exp.Literal.string("%s"), exp.Substring(this=ts.copy(), start=exp.Literal.number(1),
                                                   length=exp.Literal.number(19))]),
                           to=exp.DataType.build("BIGINT"))
        padded = exp.DPipe(this=ts, expression=exp.Literal.string(".000000"))
        fraction = exp.Cast(this=exp.Substring(this=padded, start=exp.Literal.number(21),
                                               length=exp.Literal.number(6)),
                            to=exp.DataType.build("BIGINT"))
        return exp.Add(this=exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000)),
                       expression=fraction)

    def starts_with(self, value, needle):
        return substr_starts_with(value, needle)

    def ends_with(self, value, needle):
        start = exp.Neg(this=exp.Length(this=needle.copy()))
        return exp.EQ(this=exp.Substring(this=value, start=start), expression=needle)

    def contains(self, value, needle):
        return strpos_contains(value, needle)


# The registered REGEXP is Python's re.search, so the pattern takes Python's spelling.
SQLITE = Sqlite(name="sqlite", sqlglot="sqlite", executed=True,
                verified="in-process (sqlite3) with REGEXP and LOWER registered by the runner",
                regex_end="\\Z", regex_dot=".")
