"""SQL dialects, one module per engine; `get_dialect(name)` looks one up."""

from __future__ import annotations

from .base import Dialect, Unsupported
from .clickhouse import CLICKHOUSE
from .datafusion import DATAFUSION
from .duckdb import DUCKDB
from .generated import BIGQUERY, REDSHIFT, SNOWFLAKE, TRINO, TSQL
from .mysql import MYSQL
from .postgres import POSTGRES
from .spark import DATABRICKS, SPARK
from .sqlite import SQLITE

DIALECTS: dict[str, Dialect] = {d.name: d for d in (
    DUCKDB, POSTGRES, SQLITE, MYSQL, SPARK, CLICKHOUSE, DATAFUSION,
    SNOWFLAKE, BIGQUERY, TRINO, REDSHIFT, DATABRICKS, TSQL,
)}
ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "sparksql": "spark", "chdb": "clickhouse",
           "mssql": "tsql", "sqlserver": "tsql"}

__all__ = ["DIALECTS", "DUCKDB", "Dialect", "Unsupported", "get_dialect"]


def get_dialect(name: str) -> Dialect:
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return DIALECTS[key]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None
