"""MySQL / MariaDB: PCRE (MariaDB) or ICU (MySQL 8) regexes; microsecond TIMESTAMPDIFF.

String comparisons follow the collation: the runner creates its tables with a binary,
no-pad collation (`BINARY_COLLATION`), and the query itself puts every text value it
compares, groups or joins on under that collation, so a column's own (case- and
accent-insensitive, trailing spaces ignored, another character set) changes nothing.
LOWER is simple case mapping only under a Unicode 14 collation (`FOLD_COLLATION`): under
the binary and general ones it leaves 737 capitals as they are (ẞ, Georgian Mtavruli...).

The SQL reads the same under any `sql_mode`: a string sqlglot would write with a backslash
is a hex literal (NO_BACKSLASH_ESCAPES decides what a backslash in '...' means), strings are never
double-quoted (ANSI_QUOTES), and `||` is never written (PIPES_AS_CONCAT). The runner pins
the session settings as well (`SESSION`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL as _SqlglotMysql

from ..compiler.regex import PortableRegex
from .base import Connection, Dialect, refused

if TYPE_CHECKING:
    from ..runtime.warehouses import Job


# MariaDB's names (10.2+; FOLD_COLLATION 10.10+). MySQL 8 has neither: its NO PAD binary
# collation is utf8mb4_0900_bin, and no collation of its LOWER is Unicode 14's mapping.
BINARY_COLLATION = "utf8mb4_nopad_bin"
FOLD_COLLATION = "utf8mb4_uca1400_as_cs"
# The runner's session: the whole sql_mode given (the server's or the account's
# default may add NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE,
# EMPTY_STRING_IS_NULL...), UTC, the connection's text as utf8mb4 under the binary
# collation, no row limit on SELECT, and `IS NULL` never meaning the last insert id.
SESSION = ("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
           "NO_ENGINE_SUBSTITUTION'",
           f"SET NAMES utf8mb4 COLLATE {BINARY_COLLATION}", "SET time_zone = '+00:00'",
           "SET sql_select_limit = DEFAULT", "SET sql_auto_is_null = 0",
           "SET div_precision_increment = 4")


class _Printer(_SqlglotMysql.Generator):
    """sqlglot's MySQL generator with string literals that read the same under any
    sql_mode: a string that sqlglot would write with a backslash (one of its own, or a
    newline, tab or other escaped character) is `_utf8mb4 X'...'` (its UTF-8 bytes in hex)
    under the binary collation; the others have no backslash to misread."""

    def literal_sql(self, expression: exp.Literal) -> str:
        sql = super().literal_sql(expression)  # writes a newline or a tab as \n, \t
        if expression.is_string and "\\" in sql:
            return f"_utf8mb4 X'{expression.this.encode().hex().upper()}' COLLATE {BINARY_COLLATION}"
        return sql


def _utf8mb4(value: exp.Expression, collation: str) -> exp.Expression:
    """`value` as utf8mb4 text under `collation` (CAST converts from another character set;
    COLLATE alone would fail on a latin1 column)."""
    text = exp.Cast(this=value, to=exp.DataType(this=exp.DataType.Type.CHARACTER_SET,
                                                kind=exp.var("utf8mb4"), nested=False))
    return exp.Collate(this=text, expression=exp.var(collation))


def _char_length(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="CHAR_LENGTH", expressions=[value])


_NO_SUCH_TABLE = 1146  # ER_NO_SUCH_TABLE


def _run_lock(run_id: str) -> str:
    """The named lock a run holds while its scratch tables may exist (under 64 characters)."""
    return f"leadscore_into_{run_id}"


def _params(url: str) -> dict:
    """pymysql's arguments from `mysql://USER:PASSWORD@HOST:PORT/DATABASE`; an EngineError
    for a URL that is not one (a bad port, no database: never a database chosen for the user)."""
    from urllib.parse import unquote, urlparse

    from ..runtime.warehouses import EngineError

    form = "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
    try:
        u = urlparse(url)
        port = u.port
    except ValueError as err:
        raise EngineError(f"not a MySQL URL ({err}): {form}") from None
    database = unquote(u.path.lstrip("/"))
    if not database or "/" in database:
        raise EngineError(f"the MySQL URL names no database: {form}")
    return {"host": u.hostname or "127.0.0.1", "port": port or 3306,
            "user": unquote(u.username or "root"), "password": unquote(u.password or ""),
            "database": database}


@dataclass(frozen=True)
class Mysql(Dialect):
    def render(self, query: exp.Expression, pretty: bool) -> str:
        return _Printer(dialect=self.sqlglot, pretty=pretty).generate(query, copy=False)

    def lower(self, value: exp.Expression) -> exp.Expression:
        return exp.Collate(this=exp.Lower(this=_utf8mb4(value, FOLD_COLLATION)),
                           expression=exp.var(BINARY_COLLATION))

    def key(self, value: exp.Expression) -> exp.Expression:
        return _utf8mb4(value, BINARY_COLLATION)

    def placeholder(self, name: str) -> exp.Expression:
        # MySQL has no named parameters: a user variable, SET @as_of_us = ...
        return exp.Parameter(this=exp.var(name))

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="TIMESTAMPDIFF", expressions=[
            exp.var("MICROSECOND"), exp.Literal.string("1970-01-01 00:00:00"), ts])

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        # REGEXP_INSTR exists on MariaDB and MySQL 8 alike (REGEXP_LIKE only on MySQL)
        pattern = self.regex_pattern(rx)
        instr = exp.Anonymous(this="REGEXP_INSTR", expressions=[value, exp.Literal.string(pattern)])
        return exp.GT(this=instr, expression=exp.Literal.number(0))

    def starts_with(self, value, needle):
        prefix = exp.Left(this=value, expression=_char_length(needle.copy()))
        return exp.EQ(this=prefix, expression=needle)

    def ends_with(self, value, needle):
        suffix = exp.Right(this=value, expression=_char_length(needle.copy()))
        return exp.EQ(this=suffix, expression=needle)

    def contains(self, value, needle):
        locate = exp.Anonymous(this="LOCATE", expressions=[needle, value])
        return exp.GT(this=locate, expression=exp.Literal.number(0))

    # DDL commits on MySQL, so a killed run's scratch tables stay. Each run holds a named lock
    # (GET_LOCK: the server releases it with the connection, however that ends) for as long
    # as its scratch tables may exist; a scratch table whose run's lock is free is a leftover.
    def claim_scratch(self, cur: Any, run_id: str, schema: str | None) -> None:
        from ..runtime.warehouses import SCRATCH

        cur.execute("SELECT GET_LOCK(%s, 0)", (_run_lock(run_id),))
        # information_schema compares names case-insensitively: the exact shape is checked here
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE CAST(TABLE_SCHEMA "
                    "AS BINARY) = CAST(COALESCE(%s, DATABASE()) AS BINARY) "
                    "AND LEFT(TABLE_NAME, 15) = 'leadscore_into_'", (schema,))
        for (name,) in cur.fetchall():
            found = SCRATCH.fullmatch(name)
            if found is None or found[1] == run_id:
                continue
            cur.execute("SELECT IS_FREE_LOCK(%s)", (_run_lock(found[1]),))
            if cur.fetchone()[0] == 1:
                table = self.table_sql(f"{schema}.{name}" if schema else name)
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def swap_in(self, cur: Any, tmp: str, into: str, old: str) -> None:
        # One RENAME TABLE swaps both names atomically (readers see the old table or the new
        # one); runs replacing the same table take turns under a named lock on it.
        import pymysql

        from ..runtime.warehouses import fault_point

        target, new, gone = self.table_sql(into), self.table_sql(tmp), self.table_sql(old)
        try:
            self.lock_table(cur, into)
            try:
                cur.execute(f"RENAME TABLE {target} TO {gone}, {new} TO {target}")
            except pymysql.MySQLError as err:
                if err.args[0] != _NO_SUCH_TABLE:  # no table to replace: this one is the first
                    raise
                cur.execute(f"RENAME TABLE {new} TO {target}")
            else:
                fault_point("mid-swap")
                cur.execute(f"DROP TABLE {gone}")
        except BaseException:
            # what the drop misses (a lost connection) a later run drops: this run's lock goes
            with contextlib.suppress(pymysql.MySQLError):
                cur.execute(f"DROP TABLE IF EXISTS {new}")
            raise

    def lock_table(self, cur: Any, name: str) -> None:
        # a named lock on the table's name, held until the connection ends
        from ..runtime.warehouses import LOCK_TIMEOUT_S, EngineError

        cur.execute("SELECT GET_LOCK(CONCAT('leadscore_swap_', SHA1(CONCAT_WS('.', "
                    "COALESCE(%s, DATABASE()), %s))), %s)",
                    (name.rsplit(".", 1)[0] if "." in name else None, name.split(".")[-1],
                     LOCK_TIMEOUT_S))
        if cur.fetchone()[0] != 1:
            raise EngineError(f"mysql: another run has been writing table {name} for "
                              f"{LOCK_TIMEOUT_S} s; try again when it is done")

    def connect(self, db: str | None, write: bool = False) -> Connection:
        from ..runtime.warehouses import EngineError, driver

        pymysql = driver("pymysql", self.name, "pymysql")
        url = db or self.default_db
        try:
            con = pymysql.connect(charset="utf8mb4", connect_timeout=5, **_params(url))
        except pymysql.MySQLError as err:
            raise EngineError(f"cannot connect to MySQL/MariaDB at {url}: {err}") from None
        cur = con.cursor()
        try:
            for statement in SESSION:
                cur.execute(statement)
        except pymysql.MySQLError as err:
            con.close()
            raise EngineError(self.refused(url, err)) from None
        return Connection(con, cur, (pymysql.MySQLError,))

    def refused(self, url: str, err: Exception) -> str:
        return refused("MySQL/MariaDB", url, err, FOLD_COLLATION, "MariaDB 10.10 or later")

    def run(self, job: Job) -> list[tuple] | int:
        from ..runtime.warehouses import EngineError

        url = job.db or self.default_db
        c = self.connect(url)
        try:
            return job.through(c.con, c.cur, self, (), lambda cur: job.load_dbapi(cur, self, "%s"),
                               errors=c.errors)
        except c.errors as err:
            raise EngineError(self.refused(url, err)) from None


MYSQL = Mysql(name="mysql", sqlglot="mysql", executed=True,
              verified="local MariaDB server (pymysql); conformance corpus, differential and "
                       "hostile-string tests", regex_end="\\z", regex_backtracks=True, in_database=True,
              into_parts=2,
              default_db="mysql://root@127.0.0.1:3306/test",
              column_types={"key": f"VARCHAR(255) COLLATE {BINARY_COLLATION}",
                            "text": f"TEXT COLLATE {BINARY_COLLATION}", "int": "DOUBLE",
                            "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "DATETIME(6)"})
