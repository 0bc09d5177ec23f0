"""DuckDB: the embedded default. RE2 regexes; LOWER is Unicode simple case mapping."""

from .base import Dialect

DUCKDB = Dialect(name="duckdb", sqlglot="duckdb", executed=True,
                 verified="in-process (duckdb package); conformance corpus and differential tests",
                 regex_end="\\z")
