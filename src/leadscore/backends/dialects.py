"""Per-engine SQL differences: capability flags plus a few expression builders.

A dialect is data (flags) and small overrides, not if-chains in the generator.
Each builder returns a sqlglot expression; the generator never pastes strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp


def _double() -> exp.DataType:
    return exp.DataType.build("DOUBLE")


@dataclass(frozen=True)
class Dialect:
    name: str  # leadscore's name for the engine
    sqlglot: str  # sqlglot's dialect name
    executed: bool  # verified by executing the corpus on the engine itself
    supports_filter: bool = True  # aggregate FILTER (WHERE ...) clause

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        """Microseconds since 1970-01-01 UTC of a timestamp column, as a BIGINT."""
        return exp.Anonymous(this="EPOCH_US", expressions=[ts])

    def double(self, value: exp.Expression) -> exp.Expression:
        return exp.Cast(this=value, to=_double())

    def regex_search(self, value: exp.Expression, pattern: str) -> exp.Expression:
        return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))

    def starts_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.StartsWith(this=value, expression=needle)

    def ends_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.EndsWith(this=value, expression=needle)

    def contains(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.Contains(this=value, expression=needle)


DUCKDB = Dialect(name="duckdb", sqlglot="duckdb", executed=True)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (DUCKDB,)}


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None
