"""SQLite: timestamps stored as ISO text; REGEXP and a Unicode LOWER come from the runner.

SQLite has no REGEXP function of its own and its LOWER only folds ASCII, so the
runner registers both on the connection (`connect`). SQL printed for SQLite needs the
same two functions wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..compiler.regex import searcher
from ..compiler.text import fold
from .base import Connection, Dialect
from .common import strpos_contains, substr_starts_with

if TYPE_CHECKING:
    import sqlite3

    from ..runtime.warehouses import Job


def _regexp(pattern: str, value: str | None) -> bool:
    return value is not None and searcher(pattern)(value)


def connect(path: str = ":memory:", timeout: float = 5.0) -> sqlite3.Connection:
    """A SQLite connection with the two functions leadscore's SQL needs; a lock another
    connection holds is waited for up to `timeout` seconds (SQLite's busy timeout)."""
    import sqlite3

    con = sqlite3.connect(path, timeout=timeout)
    con.create_function("regexp", 2, _regexp, deterministic=True)
    con.create_function("lower", 1, lambda v: fold(v) if isinstance(v, str) else v,
                        deterministic=True)
    return con


def _value(kind: str, v: Any) -> Any:
    """A value as the runner's tables store it: timestamps as ISO text, booleans as 1/0."""
    if v is None:
        return None
    if kind == "timestamp":
        # isoformat pads the year to 4 digits (strftime's %Y writes year 1 as "1" on glibc)
        return v.replace(tzinfo=None).isoformat(" ", "microseconds")
    if kind == "bool":
        return int(v)
    return v


@dataclass(frozen=True)
class Sqlite(Dialect):
    # no STARTS_WITH or a CONTAINS function: a substring and INSTR say the same
    starts_with = staticmethod(substr_starts_with)
    contains = staticmethod(strpos_contains)

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

    def key(self, value: exp.Expression) -> exp.Expression:
        # a NOCASE or RTRIM key column would join and group keys that differ in case or
        # trailing spaces; LOWER's result has no collation (a function's never has)
        return exp.Collate(this=value, expression=exp.var("BINARY"))

    def ends_with(self, value, needle):
        start = exp.Neg(this=exp.Length(this=needle.copy()))
        return exp.EQ(this=exp.Substring(this=value, start=start), expression=needle)

    def connect(self, db: str | None, write: bool = False) -> Connection:
        import sqlite3

        from ..runtime.warehouses import LOCK_TIMEOUT_S, EngineError, first_line

        try:
            con = connect(db or ":memory:", LOCK_TIMEOUT_S)
        except sqlite3.Error as err:
            raise EngineError(f"sqlite: cannot open {db}: {first_line(err)}") from None
        con.isolation_level = None  # the transaction is begun explicitly, DDL included
        try:
            # A run that writes takes the write lock first (IMMEDIATE): two runs then take
            # turns, where two deferred transactions that both read before writing would
            # deadlock, one of them failing at once without waiting.
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as err:
            con.close()
            if "locked" in str(err) or "busy" in str(err):
                raise EngineError(f"the database {db} is locked by another process (waited "
                                  f"{LOCK_TIMEOUT_S} s)") from None
            raise EngineError(f"sqlite: cannot open {db}: {first_line(err)}") from None
        return Connection(con, con.cursor(), (sqlite3.Error,))

    def timestamp(self, us: int) -> exp.Expression:
        # timestamps are ISO text here (`_value`): the text itself, which sorts as the instants do
        from ..runtime.warehouses import timestamp_text

        return exp.Literal.string(timestamp_text(us))

    def run(self, job: Job) -> list[tuple] | int:
        c = self.connect(job.db, write=job.writes)
        return job.through(c.con, c.cur, self, (),
                           lambda cur: job.load_dbapi(cur, self, "?", _value), errors=c.errors)


# The registered REGEXP is RE2's search (compiler/regex.py `searcher`: linear time), so the
# pattern takes RE2's spelling.
SQLITE = Sqlite(name="sqlite", sqlglot="sqlite", executed=True,
                verified="in-process (sqlite3) with REGEXP and LOWER registered by the runner",
                regex_end="\\z", regex_dot=".", in_database=True, into_parts=2,
                column_types={"key": "TEXT", "text": "TEXT", "int": "REAL", "float": "REAL",
                              "bool": "INTEGER", "timestamp": "TEXT"})
