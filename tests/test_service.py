"""`leadscore serve` end to end: the real server (uvicorn, a subprocess on a free loopback
port) against SQLite and PostgreSQL state; the examples' leads and events posted over HTTP
give, lead for lead, what `leadscore run --as-of` gives over the same files."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from service_harness import REFERENCE, STARTER, Serve, cli, example, run_rows, same_row, state_url, write_csv

# before the examples' newest events (the batch over stored events), after all of them
# (the stream's state), and long after (decay, windows emptied)
AS_OFS = ["2025-12-01T00:00:00Z", "2026-03-05T00:00:00Z", "2026-11-30T12:00:00Z"]
LEAD_BATCH, EVENT_BATCH = 60, 100


def _post_examples(s: Serve) -> list[dict]:
    """Leads first (half of them), then events, then the other leads: events may precede
    their lead. The answers' per-lead results."""
    leads, events = example("leads.csv"), example("events.csv")
    results = []
    half = len(leads) // 2
    for i in range(0, half, LEAD_BATCH):
        r = s.post("/leads", leads[i:min(i + LEAD_BATCH, half)])
        assert r.status_code == 200, r.text
        results += r.json()["leads"]
    for i in range(0, len(events), EVENT_BATCH):
        r = s.post("/events", events[i:i + EVENT_BATCH])
        assert r.status_code == 200, r.text
        results += r.json()["leads"]
    for i in range(half, len(leads), LEAD_BATCH):
        r = s.post("/leads", leads[i:i + LEAD_BATCH])
        assert r.status_code == 200, r.text
        results += r.json()["leads"]
    return results


def _compare(s: Serve, tmp_path, as_ofs=AS_OFS, model=REFERENCE) -> None:
    leads = write_csv(tmp_path / "leads.csv", example("leads.csv"))
    events = write_csv(tmp_path / "events.csv", example("events.csv"))
    for as_of in as_ofs:
        expected = run_rows(model, leads, events, as_of, tmp_path)
        assert len(expected) == 300
        for key, row in expected.items():
            got = s.get(f"/leads/{key}", as_of=as_of)
            assert got.status_code == 200, got.text
            assert same_row(row, got.json()), (as_of, row, got.json())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_examples_over_http_equal_leadscore_run(kind, tmp_path):
    with state_url(kind, tmp_path) as url:
        with Serve(REFERENCE, url) as s:
            results = _post_examples(s)
            _compare(s, tmp_path)
            changes = s.get("/changes", since="0").json()["changes"]
            # each change answered as tier_changed, in order, the last one per lead its tier now
            assert len(changes) == sum(r["tier_changed"] for r in results)
            assert [c["seq"] for c in changes] == list(range(1, len(changes) + 1))
            last = {c["lead"]: c["to_tier"] for c in changes}
            for key, tier in list(last.items())[:40]:
                assert s.get(f"/leads/{key}/explain").json()["outputs"]["tier"] == tier
            metrics = s.get("/metrics").text
            assert "leadscore_events_total 3666" in metrics
            assert 'leadscore_request_seconds_count{route="/events"}' in metrics
        # restarted: the states come back from the store
        with Serve(REFERENCE, url) as s:
            _compare(s, tmp_path, AS_OFS[1:2])
            page = s.get("/changes", since="3", limit="5").json()
            assert [c["seq"] for c in page["changes"]] == [4, 5, 6, 7, 8] and page["next"] == 8


def test_bad_input_changes_nothing_and_names_the_record(tmp_path):
    with Serve(REFERENCE, str(tmp_path / "s.db")) as s:
        assert s.post("/leads", [{"id": "a", "employees": "12"}]).status_code == 200
        ok = {"lead_id": "a", "occurred_at": "2026-01-01T00:00:00Z", "kind": "webinar"}
        before = s.get("/leads/a").json()
        r = s.post("/events", [ok, {**ok, "occurred_at": "yesterday"}, {**ok, "lead_id": ""}])
        assert r.status_code == 422
        got = r.json()
        assert [(e["index"], e["field"]) for e in got["records"]] == [(1, "occurred_at"),
                                                                       (2, "lead_id")]
        assert "nothing in this request was applied" in got["error"]
        assert s.get("/leads/a").json() == before  # the good event was not applied either
        r = s.post("/leads", [{"id": "b", "employees": "many"}])
        assert r.status_code == 422 and r.json()["records"][0]["field"] == "employees"
        assert s.get("/leads/b").status_code == 404
        r = s.post("/leads", [{"id": "c"}, {"id": "c"}])  # the loaders' duplicate-key rule
        assert r.status_code == 422 and "duplicate" in r.json()["records"][0]["reason"]
        far = {**ok, "occurred_at": "2099-01-01T00:00:00Z"}
        r = s.post("/events", [far])
        assert r.status_code == 422 and "after the server's clock" in r.json()["records"][0]["reason"]
        assert s.post("/events", {"lead_id": "a"}).status_code == 422  # not a list
        assert s.post("/events", [1]).json()["records"][0]["index"] == 0
        r = s.client.post("/events", content=b"{not json")
        assert r.status_code == 400 and "not JSON" in r.json()["error"]
        r = s.client.post("/leads", content=b'[{"id": "x\\ud800"}]')  # a lone surrogate: no text
        assert r.status_code == 400 and "not JSON text" in r.json()["error"]
        r = s.client.post("/leads", content=b'[{"id": "\\ud83d\\ude00"}]')  # a pair: an emoji
        assert r.status_code == 200 and r.json()["leads"][0]["key"] == "\U0001f600"
        r = s.get("/leads/a", as_of="soon")
        assert r.status_code == 422 and r.json()["records"][0]["field"] == "as_of"
        assert s.get("/changes", since="x").status_code == 422
        assert s.post("/events", [ok] * 10_001).status_code == 413
        assert s.get("/leads/nobody").status_code == 404
        assert s.get("/leads/%20a%20").json() == s.get("/leads/a").json()  # keyed as loaded
        assert s.get("/leads/" + "k" * 300).status_code == 422


def test_a_resent_request_applies_once(tmp_path):
    with Serve(REFERENCE, str(tmp_path / "s.db"), "--rescan", "1") as s:
        s.post("/leads", [{"id": "a"}])
        yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        ev = [{"lead_id": "a", "occurred_at": yesterday, "kind": "webinar"}]
        first = s.post("/events", ev, **{"Idempotency-Key": "k1"}).json()
        again = s.post("/events", ev, **{"Idempotency-Key": "k1"}).json()
        assert first == again
        other = s.post("/events", ev, **{"Idempotency-Key": "k2"}).json()
        assert other["leads"][0]["row"]["engagement"] > first["leads"][0]["row"]["engagement"]
        time.sleep(1.5)  # a rescan ran beside the requests: nothing moved, nothing broke
        assert s.get("/changes").json()["next"] == 1 and s.get("/healthz").status_code == 200


def test_a_new_model_needs_rebuild(tmp_path):
    state = str(tmp_path / "s.db")
    with Serve(STARTER, state) as s:
        _post_examples(s)
    proc = cli("serve", str(REFERENCE), "--state", state, "--port", "1", check=False)
    assert proc.returncode == 1 and "--rebuild" in proc.stderr and "Traceback" not in proc.stderr
    with Serve(REFERENCE, state, "--rebuild") as s:
        _compare(s, tmp_path, AS_OFS[1:2])
        # each tier the new model moved is a change: every lead's last change is its tier now
        changes, since = [], 0
        while page := s.get("/changes", since=str(since)).json()["changes"]:
            changes += page
            since = page[-1]["seq"]
        last = {c["lead"]: c["to_tier"] for c in changes}
        assert len(last) == 300
        moved = 0
        for key, tier in last.items():
            assert s.get(f"/leads/{key}").json()["tier"] == tier
            moved += any(c["lead"] == key and c["from_tier"] is not None for c in changes)
        assert moved > 0


def test_a_second_server_on_one_store_or_port_is_refused(tmp_path):
    state = str(tmp_path / "s.db")
    with Serve(REFERENCE, state) as s:
        proc = cli("serve", str(REFERENCE), "--state", state, "--port", "1", check=False)
        assert proc.returncode == 1 and "another `leadscore serve`" in proc.stderr
        proc = cli("serve", str(REFERENCE), "--state", str(tmp_path / "other.db"), "--port",
                   str(s.port), check=False)
        assert proc.returncode == 2 and "cannot listen on" in proc.stderr, proc.stderr
        assert s.get("/healthz").status_code == 200


def test_bad_state_urls_are_clear_errors(tmp_path):
    proc = cli("serve", str(REFERENCE), "--state", "postgresql://nobody@127.0.0.1:1/x",
               check=False)
    assert proc.returncode == 1 and "cannot connect" in proc.stderr
    proc = cli("serve", str(REFERENCE), "--state", str(tmp_path / "no" / "dir" / "s.db"),
               check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_openapi_document_holds_for_the_running_server(tmp_path):
    """schemathesis against the live server: no 5xx, answers as documented (bounded)."""
    import shutil

    st = shutil.which("schemathesis")
    if st is None:
        pytest.skip("schemathesis is not installed (it is in the [test] extra)")
    with Serve(REFERENCE, str(tmp_path / "s.db")) as s:
        s.post("/leads", example("leads.csv")[:20])
        spec = s.get("/openapi.json").json()
        assert {"/leads", "/events", "/changes", "/leads/{key}"} <= spec["paths"].keys()
        import subprocess

        proc = subprocess.run(
            [st, "run", f"{s.url}/openapi.json", "--max-examples", "25", "--checks",
             "not_a_server_error,status_code_conformance,content_type_conformance,"
             "response_schema_conformance", "--phases", "examples,coverage,fuzzing",
             "--seed", "1", "--workers", "1"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache goes there
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert s.get("/healthz").status_code == 200
        json.loads(s.get("/changes").text)


def test_a_model_without_events_is_refused(tmp_path):
    model = tmp_path / "leads_only.score"
    model.write_text('schema {\n  lead {\n    key id\n    field x: int\n  }\n}\n'
                     'score s {\n  rule "big" +1 when x > 1\n}\n')
    proc = cli("serve", str(model), "--state", str(tmp_path / "s.db"), "--port", "1", check=False)
    assert proc.returncode == 1 and "declares no events" in proc.stderr, proc.stderr


DECAYING = """model "decaying"
schema {
  lead {
    key id
  }
  event {
    lead lead_id
    time ts
    type kind
    types visit
  }
}
score s {
  rule "visits" +10 per event visit half_life 10d
}
tiers {
  cold
  hot at 25
}
"""


def test_rescan_records_the_tiers_time_alone_moved(tmp_path):
    """`--rescan`: a lead that only decays (no new data) changes tier at the next rescan."""
    import leadscore
    from leadscore.service.core import Service
    from leadscore.service.store import Store

    model = leadscore.loads(DECAYING).ir
    clock = [1_800_000_000_000_000]
    store = Store(str(tmp_path / "s.db"))
    service = Service(model, store, clock=lambda: clock[0])
    service.post_leads([{"id": "a"}, {"id": "b"}])
    at = str(datetime.fromtimestamp(clock[0] / 1e6, UTC).isoformat())
    service.post_events([{"lead_id": "a", "ts": at, "kind": "visit"}] * 3)
    assert service.tiers == {"a": "hot", "b": "cold"}
    assert service.rescan() == []  # nothing moved yet
    clock[0] += 20 * 86_400_000_000  # two half-lives: 30 points are 7.5
    [change] = service.rescan()
    assert (change.lead, change.from_tier, change.to_tier) == ("a", "hot", "cold")
    assert service.rescan() == []
    store.close()
    store = Store(str(tmp_path / "s.db"))
    again = Service(model, store, clock=lambda: clock[0])
    assert again.tiers == {"a": "cold", "b": "cold"}
    assert [(c.lead, c.from_tier, c.to_tier) for c in store.changes(0, 10)] == [
        ("a", None, "cold"), ("b", None, "cold"), ("a", "cold", "hot"), ("a", "hot", "cold")]
    store.close()
