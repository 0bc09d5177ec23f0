"""The dialect base: capability flags with defaults, and per-construct SQL builders.

A dialect is a few flags plus small overrides, one subclass per engine in its own
module. Builders return sqlglot expressions; the SQL generator never pastes strings.
A construct an engine cannot express raises `Unsupported`, which the compiler turns
into an error at the construct's span.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...compiler.regex import PortableRegex


class Unsupported(Exception):
    """The dialect cannot express a construct; the message says which and why."""


def double_type() -> exp.DataType:
    # built, not parsed: DataType.build("DOUBLE") starts a tokenizer (~1 ms) for every literal
    return exp.DataType(this=exp.DataType.Type.DOUBLE, nested=False)


@dataclass(frozen=True)
class Dialect:
    name: str  # leadscore's name for the engine
    sqlglot: str  # sqlglot's dialect name
    executed: bool  # verified by executing the conformance corpus on the engine itself
    verified: str = ""  # how, for docs/engines.md
    # How the regex end anchor and `.` are spelled so that they mean what Python's
    # `\Z` and `.` mean (end of text; any character but a newline).
    regex_end: str = "$"
    regex_dot: str = "[^\\n]"
    # Whether a predicate can be selected as a value (T-SQL cannot: it needs 1/0 columns).
    bool_values: bool = True

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        """Microseconds since 1970-01-01 UTC of a timestamp column, as an integer."""
        return exp.Anonymous(this="EPOCH_US", expressions=[ts])

    def double(self, value: exp.Expression) -> exp.Expression:
        return exp.Cast(this=value, to=double_type())

    def lower(self, value: exp.Expression) -> exp.Expression:
        """Unicode simple case mapping (compiler/text.py `fold`)."""
        return exp.Lower(this=value)

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        pattern = rx.render(end=self.regex_end, dot=self.regex_dot)
        return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))

    def starts_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.StartsWith(this=value, expression=needle)

    def ends_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.EndsWith(this=value, expression=needle)

    def contains(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.Contains(this=value, expression=needle)

    def finish(self, query: exp.Select) -> exp.Select:
        """A last look at the whole query, for engine settings."""
        return query

    def render(self, query: exp.Expression, pretty: bool) -> str:
        """The query as SQL text. The tree is printed in place, not copied: callers build it
        for this and throw it away (sqlglot may rewrite parts of it while printing)."""
        return query.sql(dialect=self.sqlglot, pretty=pretty, copy=False)
