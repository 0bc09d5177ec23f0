"""MySQL / MariaDB: PCRE (MariaDB) or ICU (MySQL 8) regexes; microsecond TIMESTAMPDIFF.

String comparisons follow the column collation: the runner creates its tables with
a binary, no-pad collation (`utf8mb4_nopad_bin`) so `=` is exact, as everywhere else.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..compiler.regex import PortableRegex
from .base import Dialect

if TYPE_CHECKING:
    from ..runtime.warehouses import Job


def _char_length(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="CHAR_LENGTH", expressions=[value])


_NO_SUCH_TABLE = 1146  # ER_NO_SUCH_TABLE


def _run_lock(run_id: str) -> str:
    """The named lock a run holds while its scratch tables may exist (under 64 characters)."""
    return f"leadscore_into_{run_id}"


def _params(url: str) -> dict:
    from urllib.parse import unquote, urlparse

    u = urlparse(url)
    return {"host": u.hostname or "127.0.0.1", "port": u.port or 3306,
            "user": unquote(u.username or "root"), "password": unquote(u.password or ""),
            "database": (u.path or "/test").lstrip("/") or "test"}


@dataclass(frozen=True)
class Mysql(Dialect):
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

        from ..runtime.warehouses import LOCK_TIMEOUT_S, EngineError, fault_point

        target, new, gone = self.table_sql(into), self.table_sql(tmp), self.table_sql(old)
        try:
            cur.execute("SELECT GET_LOCK(CONCAT('leadscore_swap_', SHA1(CONCAT_WS('.', "
                        "COALESCE(%s, DATABASE()), %s))), %s)",
                        (into.rsplit(".", 1)[0] if "." in into else None, into.split(".")[-1],
                         LOCK_TIMEOUT_S))
            if cur.fetchone()[0] != 1:
                raise EngineError(f"mysql: another run has been replacing table {into} for "
                                  f"{LOCK_TIMEOUT_S} s; try again when it is done")
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

    def run(self, job: Job) -> list[tuple] | int:
        from ..runtime.warehouses import EngineError, driver

        pymysql = driver("pymysql", self.name, "pymysql")
        url = job.db or self.default_db
        try:
            con = pymysql.connect(charset="utf8mb4", connect_timeout=5, **_params(url))
        except pymysql.MySQLError as err:
            raise EngineError(f"cannot connect to MySQL/MariaDB at {url}: {err}") from None
        session = ("SET time_zone = '+00:00'",
                   "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
        return job.through(con, con.cursor(), self, session,
                           lambda cur: job.load_dbapi(cur, self, "%s"), errors=(pymysql.MySQLError,))


MYSQL = Mysql(name="mysql", sqlglot="mysql", executed=True,
              verified="local MariaDB server (pymysql); conformance corpus, differential and "
                       "hostile-string tests", regex_end="\\z", regex_backtracks=True, in_database=True,
              into_parts=2,
              default_db="mysql://root@127.0.0.1:3306/test",
              column_types={"key": "VARCHAR(255) COLLATE utf8mb4_nopad_bin",
                            "text": "TEXT COLLATE utf8mb4_nopad_bin", "int": "DOUBLE",
                            "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "DATETIME(6)"})
