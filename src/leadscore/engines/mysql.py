"""MySQL / MariaDB: PCRE (MariaDB) or ICU (MySQL 8) regexes; microsecond TIMESTAMPDIFF.

String comparisons follow the column collation: the runner creates its tables with
a binary, no-pad collation (`utf8mb4_nopad_bin`) so `=` is exact, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..compiler.regex import PortableRegex
from .base import Dialect

if TYPE_CHECKING:
    from ..runtime.warehouses import Job


def _char_length(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="CHAR_LENGTH", expressions=[value])


def _params(url: str) -> dict:
    from urllib.parse import unquote, urlparse

    u = urlparse(url)
    return {"host": u.hostname or "127.0.0.1", "port": u.port or 3306,
            "user": unquote(u.username or "root"), "password": unquote(u.password or ""),
            "database": (u.path or "/test").lstrip("/") or "test"}


@dataclass(frozen=True)
class Mysql(Dialect):
    def placeholder(self, name: str) -> exp.Expression:
        # MySQL has no named parameters: a user variable, SET @as_of_us = ...
        return exp.Parameter(this=exp.var(name))

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="TIMESTAMPDIFF", expressions=[
            exp.var("MICROSECOND"), exp.Literal.string("1970-01-01 00:00:00"), ts])

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        # REGEXP_INSTR exists on MariaDB and MySQL 8 alike (REGEXP_LIKE only on MySQL)
        pattern = rx.render(end=self.regex_end, dot=self.regex_dot)
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

    def swap_in(self, cur: Any, tmp: str, into: str) -> None:
        # DDL commits on MySQL: one RENAME TABLE statement swaps both names atomically
        target = self.table_sql(into)
        cur.execute("SHOW TABLES LIKE %s", (into.split(".")[-1],))
        if cur.fetchone():
            old = self.table_sql(into + "__leadscore_old")
            cur.execute(f"RENAME TABLE {target} TO {old}, {self.table_sql(tmp)} TO {target}")
            cur.execute(f"DROP TABLE {old}")
        else:
            cur.execute(f"RENAME TABLE {self.table_sql(tmp)} TO {target}")

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
                           lambda cur: job.load_dbapi(cur, self, "%s"))


MYSQL = Mysql(name="mysql", sqlglot="mysql", executed=True,
              verified="local MariaDB server (pymysql); conformance corpus, differential and "
                       "hostile-string tests", regex_end="\\z", in_database=True,
              default_db="mysql://root@127.0.0.1:3306/test",
              column_types={"key": "VARCHAR(255) COLLATE utf8mb4_nopad_bin",
                            "text": "TEXT COLLATE utf8mb4_nopad_bin", "int": "DOUBLE",
                            "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "DATETIME(6)"})
