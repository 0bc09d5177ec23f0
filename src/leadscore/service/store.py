"""The service's state store: SQLite (embedded) or PostgreSQL, one schema for both.

Tables (created if missing):

- `meta`: the model's digest the states were built with, and the store's id (idempotency
  keys of webhooks are `<store id>-<change seq>`);
- `leads`: per lead its record as posted (null until the lead is posted, when events came
  first), its stream state (JSON, `encode_state`), its current tier and row;
- `events`: every raw event as posted, in arrival order (`seq`): what `--rebuild` replays;
- `changes`: every tier change, in order (`seq` is the cursor of `GET /changes`);
- `outbox`: the changes not yet delivered to the webhook, with their attempts;
- `requests`: the response of each request that carried an `Idempotency-Key`, so a client
  resending it after a lost answer gets the same answer and applies nothing twice.

Each request is one transaction (`Store.transaction`): what a request acknowledges is durable.
`sync="full"` (the default) answers once the commit is on disk: SQLite in WAL mode with
synchronous=FULL (the WAL synced at each commit), PostgreSQL with synchronous_commit on; a
power loss keeps it. `sync="normal"` answers once the commit is in the operating system
(SQLite synchronous=NORMAL) or the database server (synchronous_commit off): a crash or
`kill -9` of the service still loses nothing, a power loss (or a PostgreSQL crash) may lose
the last moments; it saves the fsync per request. One process writes a store;
a second `serve` on the same store is refused (SQLite: a lock on `<file>.lock`; PostgreSQL:
an advisory lock).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

PG_LOCK_ID = 0x1EAD5C0E  # the advisory lock a PostgreSQL store's one writer holds
SYNC = {"full": ("FULL", "on"), "normal": ("NORMAL", "off")}  # SQLite, PostgreSQL settings

_TABLES = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS leads (lead TEXT PRIMARY KEY, record TEXT, state TEXT,"
    " tier TEXT, row_json TEXT)",
    "CREATE TABLE IF NOT EXISTS events (seq BIGINT PRIMARY KEY, lead TEXT NOT NULL,"
    " time_us BIGINT NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_lead ON events (lead, seq)",
    "CREATE TABLE IF NOT EXISTS changes (seq BIGINT PRIMARY KEY, lead TEXT NOT NULL,"
    " from_tier TEXT, to_tier TEXT, at_us BIGINT NOT NULL, row_json TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS changes_lead ON changes (lead, at_us)",
    "CREATE TABLE IF NOT EXISTS outbox (seq BIGINT PRIMARY KEY, attempts INTEGER NOT NULL,"
    " next_us BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS requests (idem TEXT PRIMARY KEY, response TEXT NOT NULL)",
]


class StoreError(Exception):
    """A state store that cannot be opened or used (a bad URL, a server down, locked)."""


def encode_state(state: list) -> str:
    """A stream state as JSON: tuples become lists (the stream reads buffer entries by
    position only), sets `{"$set": [...]}`; floats round-trip exactly (repr)."""
    return _STATE_JSON(state)


def _set_default(value: Any) -> Any:
    if isinstance(value, set):
        return {"$set": list(value)}
    raise TypeError(f"a stream state holds a {type(value).__name__}")


_STATE_JSON = json.JSONEncoder(separators=(",", ":"), default=_set_default).encode

def decode_state(text: str) -> list:
    return json.loads(text, object_hook=lambda d: set(d["$set"]) if "$set" in d else d)


@dataclass
class Change:
    seq: int
    lead: str
    from_tier: str | None
    to_tier: str | None
    at_us: int
    row: dict

    def to_json(self) -> dict:
        from ..runtime.data import Instant

        return {"seq": self.seq, "lead": self.lead, "from_tier": self.from_tier,
                "to_tier": self.to_tier, "at": str(Instant(self.at_us)), "at_us": self.at_us,
                "row": self.row}


class Store:
    """One connection to the state store, used by one thread at a time (the service's lock)."""

    def __init__(self, url: str, sync: str = "full"):
        self.url = url
        self.sync = SYNC[sync]
        self._lock_file: Any = None
        if url.startswith(("postgresql://", "postgres://")):
            self.kind = "postgres"
            self._con = self._connect_pg(url)
        else:
            self.kind = "sqlite"
            self._con = self._connect_sqlite(url)
        self._q = (lambda sql: sql.replace("?", "%s")) if self.kind == "postgres" else (lambda s: s)
        with self.transaction() as cur:
            for sql in _TABLES:
                cur.execute(sql)
            cur.execute(self._q("INSERT INTO meta (name, value) VALUES ('store_id', ?) "
                                "ON CONFLICT (name) DO NOTHING"), (uuid.uuid4().hex[:16],))
        self.store_id = self.meta("store_id")
        self.next_event = self._max("events") + 1
        self.next_change = self._max("changes") + 1

    # ------------------------------------------------------------ connections
    def _connect_sqlite(self, url: str) -> sqlite3.Connection:
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        if path.startswith("sqlite:"):
            raise StoreError(f"{url}: a SQLite store is a file path or sqlite:///PATH")
        import fcntl

        try:
            self._lock_file = open(path + ".lock", "a")  # noqa: SIM115 (held while open)
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"{path}: another `leadscore serve` has this state store open") from None
        except OSError as err:
            raise StoreError(f"{path}: {err.strerror}") from None
        try:
            con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(f"PRAGMA synchronous={self.sync[0]}")  # FULL: the WAL synced per commit
        except sqlite3.Error as err:
            raise StoreError(f"{path}: {err}") from None
        return con

    def _connect_pg(self, url: str) -> Any:
        try:
            import psycopg
        except ImportError:
            raise StoreError("a PostgreSQL store needs psycopg: pip install 'leadscore[service]'"
                             ) from None
        host = urlparse(url).hostname or "localhost"
        try:
            con = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise StoreError(f"cannot connect to the PostgreSQL store on {host}: {first}") from None
        con.execute("SELECT set_config('synchronous_commit', %s, false)", (self.sync[1],))
        if not con.execute("SELECT pg_try_advisory_lock(%s)", (PG_LOCK_ID,)).fetchone()[0]:
            con.close()
            raise StoreError(f"another `leadscore serve` has the PostgreSQL store on {host} open")
        return con

    def close(self) -> None:
        self._con.close()
        if self._lock_file is not None:
            self._lock_file.close()

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one transaction: committed at the end, rolled back on any error."""
        if self.kind == "postgres":
            with self._con.transaction():
                yield self._con.cursor()
            return
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def _all(self, sql: str, args: Sequence = ()) -> list[tuple]:
        return self._con.execute(self._q(sql), args).fetchall()

    def _max(self, table: str) -> int:
        return self._all(f"SELECT COALESCE(MAX(seq), 0) FROM {table}")[0][0]  # noqa: S608 (ours)

    # ------------------------------------------------------------ reads
    def meta(self, name: str) -> str | None:
        got = self._all("SELECT value FROM meta WHERE name = ?", (name,))
        return got[0][0] if got else None

    def leads(self) -> Iterator[tuple[str, str | None, str | None, str | None]]:
        """(key, record JSON or None, state JSON, tier) of every lead with a record or events."""
        yield from self._all("SELECT lead, record, state, tier FROM leads")

    def lead(self, key: str) -> tuple[str | None, str, str | None, str | None] | None:
        got = self._all("SELECT record, state, tier, row_json FROM leads WHERE lead = ?", (key,))
        return got[0] if got else None

    def lead_events(self, key: str) -> list[dict]:
        return [json.loads(r) for (r,) in
                self._all("SELECT record FROM events WHERE lead = ? ORDER BY seq", (key,))]

    def all_events(self, batch: int = 10_000) -> Iterator[tuple[int, str]]:
        """(seq, record JSON) of every event in arrival order, `batch` rows at a time."""
        last = 0
        while True:
            rows = self._all("SELECT seq, record FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                             (last, batch))
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def tier_before(self, key: str, us: int) -> str | None:
        """The lead's tier as its latest change before `us` set it (None before any)."""
        got = self._all("SELECT to_tier FROM changes WHERE lead = ? AND at_us < ? "
                        "ORDER BY at_us DESC, seq DESC LIMIT 1", (key, us))
        return got[0][0] if got else None

    def changes(self, since: int, limit: int) -> list[Change]:
        rows = self._all("SELECT seq, lead, from_tier, to_tier, at_us, row_json FROM changes "
                         "WHERE seq > ? ORDER BY seq LIMIT ?", (since, limit))
        return [Change(s, lead, f, t, at, json.loads(r)) for s, lead, f, t, at, r in rows]

    def outbox(self, limit: int) -> list[tuple[Change, int, int]]:
        """The first undelivered changes, in order, with (attempts, next attempt time)."""
        rows = self._all("SELECT c.seq, c.lead, c.from_tier, c.to_tier, c.at_us, c.row_json, "
                         "o.attempts, o.next_us FROM outbox o JOIN changes c ON c.seq = o.seq "
                         "ORDER BY o.seq LIMIT ?", (limit,))
        return [(Change(s, lead, f, t, at, json.loads(r)), n, nxt)
                for s, lead, f, t, at, r, n, nxt in rows]

    def outbox_depth(self) -> int:
        return self._all("SELECT COUNT(*) FROM outbox")[0][0]

    def response(self, idem: str) -> str | None:
        got = self._all("SELECT response FROM requests WHERE idem = ?", (idem,))
        return got[0][0] if got else None

    # ------------------------------------------------------------ writes (in a transaction)
    def put_events(self, cur: Any, events: list[tuple[str, int, str]]) -> None:
        """Append (lead, time, record JSON) events, numbered in arrival order."""
        first = self.next_event
        cur.executemany(self._q("INSERT INTO events (seq, lead, time_us, record) VALUES (?, ?, ?, ?)"),
                        [(first + i, *e) for i, e in enumerate(events)])
        self.next_event = first + len(events)

    def put_leads(self, cur: Any,
                  rows: list[tuple[str, str | None, str | None, str | None, str | None]]
                  ) -> None:
        """Upsert (key, record JSON, state JSON, tier, row JSON); a null record keeps the
        stored one (events of a lead do not erase its record)."""
        cur.executemany(self._q(
            "INSERT INTO leads (lead, record, state, tier, row_json) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (lead) DO UPDATE SET record = COALESCE(excluded.record, leads.record), "
            "state = excluded.state, tier = excluded.tier, row_json = excluded.row_json"), rows)

    def put_changes(self, cur: Any, changes: list[tuple[str, str | None, str | None, int, dict]],
                    outbox: bool) -> list[Change]:
        first = self.next_change
        made = [Change(first + i, *c) for i, c in enumerate(changes)]
        cur.executemany(self._q("INSERT INTO changes (seq, lead, from_tier, to_tier, at_us, row_json)"
                                " VALUES (?, ?, ?, ?, ?, ?)"),
                        [(c.seq, c.lead, c.from_tier, c.to_tier, c.at_us,
                          json.dumps(c.row, separators=(",", ":"))) for c in made])
        if outbox:
            cur.executemany(self._q("INSERT INTO outbox (seq, attempts, next_us) VALUES (?, 0, 0)"),
                            [(c.seq,) for c in made])
        self.next_change = first + len(made)
        return made

    def put_response(self, cur: Any, idem: str, response: str) -> None:
        cur.execute(self._q("INSERT INTO requests (idem, response) VALUES (?, ?)"), (idem, response))

    def set_meta(self, cur: Any, name: str, value: str) -> None:
        cur.execute(self._q("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
                            "DO UPDATE SET value = excluded.value"), (name, value))

    def delivered(self, seq: int) -> None:
        with self.transaction() as cur:
            cur.execute(self._q("DELETE FROM outbox WHERE seq = ?"), (seq,))

    def retry_at(self, seq: int, attempts: int, next_us: int) -> None:
        with self.transaction() as cur:
            cur.execute(self._q("UPDATE outbox SET attempts = ?, next_us = ? WHERE seq = ?"),
                        (attempts, next_us, seq))

