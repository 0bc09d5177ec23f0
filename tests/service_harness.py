"""A real `leadscore serve` in a subprocess on a free loopback port, and what its tests share:
the examples' records, a PostgreSQL database of its own per test, `leadscore run` rows."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from conftest import ROOT, require_server

START_S = 60.0  # a loaded 2-core machine starts Python slowly
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REFERENCE = ROOT / "examples" / "reference.score"
STARTER = ROOT / "examples" / "starter.score"
SRC = str(ROOT / "src")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": SRC + (os.pathsep + path if path else "")}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "leadscore.cli", *args], capture_output=True,
                          text=True, env=_env(), timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


class Serve:
    """`leadscore serve MODEL --state STATE ...`, started and waited for (GET /healthz)."""

    def __init__(self, model: Path, state: str, *args: str, log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "leadscore.cli", "serve", str(model), "--state", state,
                     "--port", str(self.port), *args]
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child's)
        self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT if log else
                                     subprocess.PIPE, env=_env(), start_new_session=True)
        self.client = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + START_S
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else log.read_text()
                raise RuntimeError(f"leadscore serve exited {self.proc.returncode}: {err}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/healthz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"leadscore serve did not answer within {START_S} s")
            time.sleep(0.1)

    def post(self, path: str, body, **headers: str) -> httpx.Response:
        return self.client.post(path, content=json.dumps(body), headers=headers)

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params)

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.client.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.client.close()

    def __enter__(self) -> Serve:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.stop()


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own (`service_<random>`), dropped afterwards."""
    require_server("127.0.0.1", 5432, "PostgreSQL")
    import psycopg

    name = f"service_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def state_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield str(tmp_path / "state.db")
    else:
        with pg_database() as url:
            yield url


def example(name: str) -> list[dict]:
    """The rows of examples/data/NAME as dicts of text, as a CSV reader sees them."""
    from leadscore.runtime.data import csv_text_records

    header, recs = csv_text_records((ROOT / "examples" / "data" / name).read_text())
    return [dict(zip(header, r)) for _, r in recs]


def write_csv(path: Path, rows: list[dict]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def run_rows(model: Path, leads: Path, events: Path, as_of: str, tmp_path: Path) -> dict:
    """`leadscore run --as-of` rows by key."""
    out = tmp_path / f"run-{uuid.uuid4().hex[:6]}.json"
    cli("run", str(model), "--leads", str(leads), "--events", str(events), "--as-of", as_of,
        "--out", str(out))
    return {r["id"]: r for r in json.loads(out.read_text())}


def same_row(expected: dict, got: dict) -> bool:
    """Equal rows: numbers as numbers (run writes 45 for 45.0)."""
    if expected.keys() != got.keys():
        return False
    for c, v in expected.items():
        w = got[c]
        if isinstance(v, (int, float)) and isinstance(w, (int, float)):
            if float(v) != float(w):
                return False
        elif v != w:
            return False
    return True
