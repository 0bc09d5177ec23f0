"""The engines every test runs on, with the reason a server engine may be skipped."""

import os
from urllib.parse import urlparse

import pytest

from conftest import require_server
from leadscore.engines import DIALECTS, EXECUTED

ALL = ["python", *EXECUTED]
# engines reached over the network: where their runner connects without --db
SERVERS = {name: urlparse(d.default_db) for name, d in DIALECTS.items() if d.default_db}

# Engines a test run leaves out: LEADSCORE_ENGINES=python,duckdb for a quick local run.
SELECTED = [e for e in os.environ.get("LEADSCORE_ENGINES", ",".join(ALL)).split(",") if e]


def engine_params(engines=None):
    return [pytest.param(e, marks=pytest.mark.engine(e), id=e) for e in (engines or SELECTED)]


def ensure(engine: str) -> None:
    """Skip (outside CI) or fail (in CI) when the engine cannot be reached."""
    if engine in SERVERS:
        url = SERVERS[engine]
        require_server(url.hostname, url.port, engine)
