"""MySQL / MariaDB: PCRE (MariaDB) or ICU (MySQL 8) regexes; microsecond TIMESTAMPDIFF.

String comparisons follow the column collation: the runner creates its tables with
a binary, no-pad collation (`utf8mb4_nopad_bin`) so `=` is exact, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...compiler.regex import PortableRegex
from .base import Dialect


def _char_length(value: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="CHAR_LENGTH", expressions=[value])


@dataclass(frozen=True)
class Mysql(Dialect):
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


MYSQL = Mysql(name="mysql", sqlglot="mysql", executed=True,
              verified="local MariaDB server (pymysql); conformance corpus, differential and "
                       "hostile-string tests", regex_end="\\z")
