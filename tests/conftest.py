import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def server_reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(host: str, port: int, what: str) -> None:
    """Skip when a database server is down, except in CI where it must be up."""
    if server_reachable(host, port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} on {host}:{port} is not reachable, and CI requires it")
    pytest.skip(f"{what} on {host}:{port} is not reachable")
