"""Events from NATS JetStream and a Redis stream, against the real servers on loopback:
acknowledged only once durable, so a server killed mid-stream and restarted ends with the
rows `leadscore run` gives (redelivered messages are applied once, by their identity)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest

from conftest import require_server
from service_harness import REFERENCE, Serve, example, run_rows, same_row, write_csv

MESSAGE_EVENTS = 25  # events per message
WAIT_S = 120.0  # the longest the consumer may take (a redelivery waits NATS_ACK_WAIT_S)
AS_OF = "2026-03-05T00:00:00Z"


def _events_total(s: Serve) -> float:
    m = re.search(r"^leadscore_events_total (\S+)$", s.get("/metrics").text, re.M)
    return float(m.group(1))


def _messages() -> list[bytes]:
    events = example("events.csv")
    return [json.dumps(events[i:i + MESSAGE_EVENTS]).encode()
            for i in range(0, len(events), MESSAGE_EVENTS)]


def _run_and_check(tmp_path, args: tuple[str, ...], drained) -> None:
    """Serve with the queue, kill it early, restart, wait until `drained()` (every message
    acknowledged), compare."""
    state = str(tmp_path / "s.db")
    s = Serve(REFERENCE, state, *args)
    assert s.post("/leads", example("leads.csv")).status_code == 200
    time.sleep(0.3)
    s.kill()  # mid-stream: whatever was not acknowledged comes again
    with Serve(REFERENCE, state, *args) as s:
        deadline = time.monotonic() + WAIT_S
        total = len(example("events.csv"))
        while not drained():
            assert time.monotonic() < deadline, s.get("/metrics").text
            time.sleep(0.3)
        assert "leadscore_queue_rejected_total" in s.get("/metrics").text
        leads = write_csv(tmp_path / "leads.csv", example("leads.csv"))
        events = write_csv(tmp_path / "events.csv", example("events.csv"))
        expected = run_rows(REFERENCE, leads, events, AS_OF, tmp_path)
        for key, row in expected.items():
            got = s.get(f"/leads/{key}", as_of=AS_OF).json()
            assert same_row(row, got), (row, got)
        assert _events_total(s) <= total  # this run's count: nothing applied twice


def test_nats_jetstream(tmp_path):
    require_server("127.0.0.1", 4222, "NATS")
    import nats

    name = f"service_{uuid.uuid4().hex[:8]}"
    subject = f"{name}.events"

    async def publish() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        js = nc.jetstream()
        await js.add_stream(name=name, subjects=[subject])
        for m in _messages():
            await js.publish(subject, m)
        await js.publish(subject, b"{not json")  # refused, acknowledged, counted
        await nc.close()

    async def pending() -> tuple[int, int]:
        nc = await nats.connect("nats://127.0.0.1:4222")
        info = await nc.jetstream().consumer_info(name, "leadscore-serve")
        await nc.close()
        return info.num_pending, info.num_ack_pending

    async def drop() -> None:
        nc = await nats.connect("nats://127.0.0.1:4222")
        await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(publish())
    try:
        _run_and_check(tmp_path, ("--nats", "nats://127.0.0.1:4222", "--subject", subject),
                       lambda: asyncio.run(pending()) == (0, 0))
    finally:
        asyncio.run(drop())


def test_redis_stream(tmp_path):
    require_server("127.0.0.1", 6379, "Redis")
    import redis

    key = f"service_{uuid.uuid4().hex[:8]}"
    r = redis.Redis.from_url("redis://127.0.0.1:6379")
    for m in _messages():
        r.xadd(key, {"data": m})
    r.xadd(key, {"data": b"[{\"lead_id\": \"L0001\"}]"})  # no time, no type: refused
    try:
        def drained() -> bool:
            groups = r.xinfo_groups(key)
            return bool(groups) and groups[0]["pending"] == 0 and groups[0]["lag"] == 0

        _run_and_check(tmp_path, ("--redis", "redis://127.0.0.1:6379", "--stream", key), drained)
    finally:
        r.delete(key)
        r.close()


@pytest.mark.parametrize("args", [("--nats", "nats://127.0.0.1:4222"), ("--redis", "redis://x")])
def test_a_queue_needs_its_name(args, tmp_path):
    from service_harness import cli

    proc = cli("serve", str(REFERENCE), "--state", str(tmp_path / "s.db"), *args, check=False)
    assert proc.returncode == 2 and "--subject" in proc.stderr
