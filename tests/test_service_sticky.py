"""Sticky tiers in the service (issues 15, 18): a lead's previous tier is the tier of its
latest earlier snapshot, so after any sequence of events the service's rows equal
`leadscore replay` at the same instants and `leadscore run --as-of T` given the tier the
service held before T. Real state stores (SQLite, PostgreSQL), the server's clock set per
request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadscore.compiler import compile_file
from leadscore.compiler.ir import PREVIOUS_TIER
from leadscore.runtime import history as H
from leadscore.runtime.data import parse_timestamp
from leadscore.service.core import Service
from leadscore.service.store import Store
from service_harness import Serve, cli, run_rows, same_row, state_url, write_csv

MODEL = """
schema {
  lead { key id  field email: text }
  event { lead lead_id  time ts  type kind  types visit, unsubscribe }
}
score s { rule "visit" +40 per event visit within 30d }
disqualify "unsubscribed" when count(event unsubscribe) >= 1
tiers { cold; nurture at 40; mql at 100 sticky }
"""
LEADS = [{"id": k, "email": f"{k}@acme.io"} for k in ("a", "b", "c")]
EVENTS = [  # a reaches mql on 01-11, its window empties by 02-10, it unsubscribes on 02-25
    {"lead_id": "a", "ts": "2026-01-05T00:00:00Z", "kind": "visit"},
    {"lead_id": "a", "ts": "2026-01-07T00:00:00Z", "kind": "visit"},
    {"lead_id": "a", "ts": "2026-01-09T00:00:00Z", "kind": "visit"},
    {"lead_id": "b", "ts": "2026-01-15T00:00:00Z", "kind": "visit"},
    {"lead_id": "a", "ts": "2026-02-25T00:00:00Z", "kind": "unsubscribe"},
]
START, END, EVERY = "2026-01-01", "2026-03-02", "10d"
SNAPSHOTS = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=10 * i) for i in range(7)]


def _us(t: datetime) -> int:
    return parse_timestamp(t.isoformat())


def _serve(url: str, model) -> tuple[Service, list[int]]:
    """The leads and events fed in snapshot order: at each snapshot instant the events up to
    it arrive (or, with none, a rescan), scored at that instant."""
    clock = [_us(SNAPSHOTS[0])]
    service = Service(model, Store(url), clock=lambda: clock[0])
    service.post_leads(LEADS)
    done = 0
    for t in SNAPSHOTS[1:]:
        clock[0] = _us(t)
        due = [e for e in EVENTS[done:] if parse_timestamp(e["ts"]) <= clock[0]]
        done += len(due)
        if due:
            service.post_events(due)
        service.rescan()
    return service, clock


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_service_equals_replay_and_run(kind, tmp_path):
    path = tmp_path / "sticky.score"
    path.write_text(MODEL)
    model = compile_file(str(path))
    leads_csv = write_csv(tmp_path / "leads.csv", LEADS)
    events_csv = write_csv(tmp_path / "events.csv", EVENTS)
    db = tmp_path / "history.duckdb"
    cli("replay", str(path), "--leads", str(leads_csv), "--events", str(events_csv), "--from",
        START, "--to", END, "--every", EVERY, "--db", str(db), "--history", "scores")
    h = H.read_history("duckdb", str(db), "scores")
    columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
    history: dict[tuple[int, str], dict] = {
        (r[0], r[1]): dict(zip(columns, r[1:])) for r in h.rows}
    assert {t for t, _ in history} == {_us(t) for t in SNAPSHOTS}

    with state_url(kind, tmp_path) as url:
        service, _ = _serve(url, model)
        try:
            for (t, key), want in history.items():
                got = service.row(key, t)
                assert same_row(want, got), (datetime.fromtimestamp(t / 1e6, UTC), want, got)
            tiers = {(t, k): r["tier"] for (t, k), r in history.items()}
            # a held at mql with no visit in its window, then released by disqualification
            assert [tiers[_us(t), "a"] for t in SNAPSHOTS] == [
                "cold", "mql", "mql", "mql", "mql", "mql", "disqualified"]
            assert service.row("a", _us(SNAPSHOTS[4]))["s"] == 0
            # b's nurture is not sticky: it falls back to cold
            assert tiers[_us(SNAPSHOTS[5]), "b"] == "cold"

            # the changes feed: no change while a is held
            changes = [(c["lead"], c["from_tier"], c["to_tier"]) for c in
                       service.changes(0, 100)["changes"]]
            assert [c for c in changes if c[0] == "a"] == [
                ("a", None, "cold"), ("a", "cold", "mql"), ("a", "mql", "disqualified")]
            assert [c for c in changes if c[0] == "b"] == [
                ("b", None, "cold"), ("b", "cold", "nurture"), ("b", "nurture", "cold")]

            # between snapshots: `run --as-of T` given the tier the service held before T
            for t in ("2026-01-06T12:00:00Z", "2026-02-15T00:00:00Z", "2026-02-28T00:00:00Z",
                      "2026-03-05T00:00:00Z"):
                us = parse_timestamp(t)
                held = {k: service.store.tier_before(k, us) for k in ("a", "b", "c")}
                given = write_csv(tmp_path / "given.csv", [
                    {**r, PREVIOUS_TIER: held[r["id"]] or ""} for r in LEADS])
                want = run_rows(path, given, events_csv, t, tmp_path)
                for key, row in want.items():
                    assert same_row(row, service.row(key, us)), (t, row, service.row(key, us))
            # a row at a past instant reads the tier held then, not the one held now
            assert service.row("a", parse_timestamp("2026-01-06T12:00:00Z"))["tier"] == "nurture"
        finally:
            service.store.close()


def test_the_server_holds_the_tier_and_reads_the_held_tier_of_each_instant(tmp_path):
    """Over HTTP, at the server's own clock: visits days ago reach mql; at an instant after
    the window has emptied the row is held at mql, as `run --as-of` given mql; at an instant
    before the visits it is the row given no previous tier; an unsubscribe releases it; the
    changes feed has no change while held."""
    path = tmp_path / "sticky.score"
    path.write_text(MODEL)
    now = datetime.now(UTC).replace(microsecond=0)
    visits = [{"lead_id": "a", "ts": (now - timedelta(days=d)).isoformat(), "kind": "visit"}
              for d in (3, 2, 1)]
    later, before = now + timedelta(days=60), now - timedelta(days=4)
    with Serve(path, str(tmp_path / "state.db")) as s:
        assert s.post("/leads", LEADS[:1]).status_code == 200
        got = s.post("/events", visits).json()["leads"][0]
        assert got["row"]["tier"] == "mql" and got["tier_changed"]
        held = s.get("/leads/a", as_of=later.isoformat()).json()
        early = s.get("/leads/a", as_of=before.isoformat()).json()
        events_csv = write_csv(tmp_path / "events.csv", visits)
        for t, previous, row in ((later, "mql", held), (before, "", early)):
            given = write_csv(tmp_path / "given.csv", [{**LEADS[0], PREVIOUS_TIER: previous}])
            want = run_rows(path, given, events_csv, t.isoformat(), tmp_path)["a"]
            assert same_row(want, row), (t, want, row)
        assert held["tier"] == "mql" and held["s"] == 0 and early["tier"] == "cold"
        for t, tier in ((later, "mql"), (before, "cold")):  # explain reads the same tier
            assert s.get("/leads/a/explain", as_of=t.isoformat()).json()["outputs"]["tier"] == tier
        out = s.post("/events", [{"lead_id": "a", "ts": now.isoformat(),
                                  "kind": "unsubscribe"}]).json()["leads"][0]
        assert out["row"]["tier"] == "disqualified"
        feed = s.get("/changes", since="0").json()["changes"]
        assert [(c["from_tier"], c["to_tier"]) for c in feed] == [
            (None, "cold"), ("cold", "mql"), ("mql", "disqualified")]
