"""Nothing lost, nothing twice: webhooks from the outbox, and `kill -9` at random moments.

The fault test streams the examples' events in batches (each with an Idempotency-Key) to a
real server, SIGKILLs it at random moments (bounded trials), restarts it on the same
store, resends every request it had not answered, and ends with rows equal to
`leadscore run`, a tier-change log with no change twice, and each change delivered to the
local webhook receiver exactly once by idempotency key, in order per lead.
"""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from service_harness import REFERENCE, Serve, example, run_rows, same_row, state_url, write_csv
from webhook_receiver import Receiver

SECRET = "s3cret"
KILLS = 6  # trials: each kills the server once at a random moment
BATCH = 10
KILL_WITHIN_S = 0.03  # a kill lands this long at most after its request left
DRAIN_S = 120.0  # the longest the outbox may take to empty at the end


def _drain(s: Serve) -> None:
    deadline = time.monotonic() + DRAIN_S
    while s.get("/healthz").json()["outbox"]:
        assert time.monotonic() < deadline, "the outbox did not empty"
        time.sleep(0.2)


def _check_changes(s: Serve, receiver: Receiver) -> None:
    changes = s.get("/changes", limit="1000").json()["changes"]
    while True:  # every page
        more = s.get("/changes", since=str(changes[-1]["seq"]), limit="1000").json()["changes"]
        if not more:
            break
        changes += more
    tiers: dict[str, str | None] = {}
    for c in changes:  # a change repeated after a restart would start from its own to_tier
        assert c["from_tier"] == tiers.get(c["lead"]), c
        assert c["from_tier"] != c["to_tier"], c
        tiers[c["lead"]] = c["to_tier"]
    got = receiver.unique()
    store_id = next(iter(got)).rsplit("-", 1)[0]
    assert sorted(got) == sorted(f"{store_id}-{c['seq']}" for c in changes)
    for c in changes:
        body = got[f"{store_id}-{c['seq']}"]
        assert (body["lead"], body["to_tier"], body["row"]) == (c["lead"], c["to_tier"], c["row"])
    first_seen: dict[str, int] = {}
    with receiver.lock:  # in order per lead: each lead's first deliveries by rising seq
        for key, body in receiver.deliveries:
            if key not in first_seen:
                first_seen[key] = body["seq"]
    lead_of = {body["seq"]: body["lead"] for body in got.values()}
    per_lead: dict[str, list[int]] = {}
    for seq in first_seen.values():  # in the order they first arrived
        per_lead.setdefault(lead_of[seq], []).append(seq)
    assert all(seqs == sorted(seqs) for seqs in per_lead.values())
    assert receiver.bad_signatures == 0


def test_webhooks_retry_until_delivered(tmp_path):
    with Receiver(SECRET, fail_first=3) as receiver, \
            Serve(REFERENCE, str(tmp_path / "s.db"), "--webhook", receiver.url,
                  "--webhook-secret", SECRET) as s:
        s.post("/leads", example("leads.csv")[:30])
        _drain(s)
        assert receiver.refused == 3
        _check_changes(s, receiver)
        assert len(receiver.unique()) == 30  # each new lead's first tier
        metrics = s.get("/metrics").text
        assert 'leadscore_webhook_attempts_total{result="failed"} 3' in metrics


@pytest.mark.parametrize("kind,sync", [("sqlite", "full"), ("postgres", "full"),
                                       ("sqlite", "normal")])  # normal: kill -9 safe too
def test_sigkill_loses_nothing_and_repeats_nothing(kind, sync, tmp_path):
    rng = random.Random(18)
    leads, events = example("leads.csv"), example("events.csv")
    requests = [("/leads", leads[i:i + 100], f"leads-{i}") for i in range(0, len(leads), 100)]
    requests += [("/events", events[i:i + BATCH], f"events-{i}")
                 for i in range(0, len(events), BATCH)]
    log = tmp_path / "serve.log"
    with state_url(kind, tmp_path) as url, Receiver(SECRET) as receiver:
        args = ("--webhook", receiver.url, "--webhook-secret", SECRET, "--sync", sync)
        # the kills: at random requests, a random moment after the request left (before,
        # during or after its commit); the request counts as answered only if it was
        points = sorted(rng.sample(range(1, len(requests)), KILLS))
        done = 0
        for point in [*points, len(requests)]:
            s = Serve(REFERENCE, url, *args, log=log)
            while done < point:
                path, body, key = requests[done]
                r = s.post(path, body, **{"Idempotency-Key": key})
                assert r.status_code == 200, r.text
                done += 1
            if done == len(requests):
                _drain(s)
                s.stop()
                break
            answered: list[int] = []

            def in_flight(s=s, request=requests[done], answered=answered) -> None:
                path, body, key = request
                try:
                    answered.append(s.post(path, body, **{"Idempotency-Key": key}).status_code)
                except httpx.HTTPError:
                    pass  # killed before it answered: resent after the restart

            sender = threading.Thread(target=in_flight)
            sender.start()
            time.sleep(rng.uniform(0, KILL_WITHIN_S))
            s.kill()
            sender.join()
            done += answered == [200]
        with Serve(REFERENCE, url, *args, log=log) as s:
            lead_csv = write_csv(tmp_path / "leads.csv", leads)
            event_csv = write_csv(tmp_path / "events.csv", events)
            as_of = "2026-03-05T00:00:00Z"
            expected = run_rows(REFERENCE, lead_csv, event_csv, as_of, tmp_path)
            for key, row in expected.items():
                got = s.get(f"/leads/{key}", as_of=as_of).json()
                assert same_row(row, got), (row, got)
            assert "leadscore_events_total" in s.get("/metrics").text
            _drain(s)
            _check_changes(s, receiver)
