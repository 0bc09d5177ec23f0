"""The engine registry: one module per engine, owning its SQL dialect (capability flags
and expression builders), its column types and its runner.

`get_dialect(name)` looks an engine up by its name or an alias; `EXECUTED` names the
engines that run here (the others only print SQL: `leadscore compile --dialect`).
"""

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
    DUCKDB, SQLITE, POSTGRES, MYSQL, SPARK, CLICKHOUSE, DATAFUSION,
    SNOWFLAKE, BIGQUERY, TRINO, REDSHIFT, DATABRICKS, TSQL,
)}
EXECUTED: tuple[str, ...] = tuple(name for name, d in DIALECTS.items() if d.executed)
ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "sparksql": "spark", "chdb": "clickhouse",
           "mssql": "tsql", "sqlserver": "tsql"}

__all__ = ["DIALECTS", "DUCKDB", "EXECUTED", "Dialect", "Unsupported", "get_dialect"]


def get_dialect(name: str) -> Dialect:
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return DIALECTS[key]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None
