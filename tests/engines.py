"""The engines every test runs on, with the reason a server engine may be skipped."""

import os

import pytest

from conftest import require_server

ALL = ["python", "duckdb", "sqlite", "postgres", "mysql", "spark", "clickhouse", "datafusion"]
SERVERS = {"postgres": ("127.0.0.1", 5432, "PostgreSQL"), "mysql": ("127.0.0.1", 3306, "MariaDB")}

# Engines a test run leaves out: LEADSCORE_ENGINES=python,duckdb for a quick local run.
SELECTED = [e for e in os.environ.get("LEADSCORE_ENGINES", ",".join(ALL)).split(",") if e]


def engine_params(engines=None):
    return [pytest.param(e, marks=pytest.mark.engine(e), id=e) for e in (engines or SELECTED)]


def ensure(engine: str) -> None:
    """Skip (outside CI) or fail (in CI) when the engine cannot be reached."""
    if engine in SERVERS:
        require_server(*SERVERS[engine])
