"""Events from a queue instead of HTTP: a NATS JetStream subject or a Redis stream.

Each message is one event (a JSON object) or a list of them, applied as one `POST /events`
would be, with the message's identity (stream and sequence, or entry id) as its
idempotency key; it is acknowledged only once the state is durable, so a crash before the
ack redelivers it and the key keeps it from being applied twice. A message that cannot be
read (not JSON, a bad record) is acknowledged and counted
(`leadscore_queue_rejected_total`): redelivering it would fail the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

from .core import InputError, parse_json

QUEUE_BATCH = 100  # messages fetched at a time
QUEUE_WAIT_S = 1.0  # the longest a fetch waits for messages
RETRY_S = 2.0  # after the server is unreachable
NATS_ACK_WAIT_S = 10.0  # an unacknowledged message (the server died) is redelivered after this
CONSUMER = "leadscore-serve"  # the durable consumer (NATS) / consumer group (Redis)

log = logging.getLogger("leadscore.serve")

Consumer = Callable[[Any, Any, Callable[[int], None]], Awaitable[None]]


def safe(value: object) -> str:
    """Text for the log (a terminal): control characters escaped."""
    from ..compiler.diagnostics import terminal_safe

    return terminal_safe(str(value))


def _host(url: str) -> str:
    """host:port of a server's URL: its credentials stay out of the log."""
    u = urlparse(url)
    return safe(f"{u.hostname}:{u.port}" if u.port else str(u.hostname))


def _events(data: bytes) -> list:
    body = parse_json(data, "the message")
    return body if isinstance(body, list) else [body]


async def _apply(service: Any, metrics: Any, changed: Callable[[int], None], data: bytes,
                 idem: str, source: str) -> None:
    try:
        body = _events(data)
        result = await asyncio.to_thread(service.post_events, body, idem)
    except InputError as err:
        metrics.count("leadscore_queue_rejected_total", queue=source)
        log.warning("%s message %s refused: %s %s", source, safe(idem), safe(err),
                    json.dumps(err.records[:5], ensure_ascii=True))
        return
    if not result.replayed:
        metrics.events(len(body))
        changed(len(result.changes))


def nats_consumer(url: str, subject: str) -> Consumer:
    async def consume(service: Any, metrics: Any, changed: Callable[[int], None]) -> None:
        import nats
        from nats.errors import TimeoutError as NatsTimeout
        from nats.js.api import ConsumerConfig

        while True:
            nc = None
            try:
                nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
                js = nc.jetstream()
                sub = await js.pull_subscribe(subject, durable=CONSUMER,
                                              config=ConsumerConfig(ack_wait=NATS_ACK_WAIT_S))
                while True:
                    try:
                        msgs = await sub.fetch(QUEUE_BATCH, timeout=QUEUE_WAIT_S)
                    except NatsTimeout:
                        continue
                    for msg in msgs:
                        meta = msg.metadata
                        await _apply(service, metrics, changed, msg.data,
                                     f"nats:{meta.stream}:{meta.sequence.stream}", "nats")
                        await msg.ack_sync()  # after the commit: a crash before redelivers
            except Exception as err:  # noqa: BLE001 (a server or store down: unacked, retried)
                log.error("NATS on %s, subject %s: %s; retrying", _host(url), safe(subject), safe(err))
                await asyncio.sleep(RETRY_S)
            finally:
                if nc is not None:
                    await nc.close()

    return consume


def redis_consumer(url: str, stream: str) -> Consumer:
    async def consume(service: Any, metrics: Any, changed: Callable[[int], None]) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import ResponseError

        while True:
            r = aioredis.from_url(url)
            try:
                try:
                    await r.xgroup_create(stream, CONSUMER, id="0", mkstream=True)
                except ResponseError as err:  # the group exists (BUSYGROUP)
                    if "BUSYGROUP" not in str(err):
                        raise
                start = "0"  # first this consumer's pending entries (read, not acked), then new
                while True:
                    got = await r.xreadgroup(CONSUMER, CONSUMER, {stream: start},
                                             count=QUEUE_BATCH, block=int(QUEUE_WAIT_S * 1000))
                    entries = got[0][1] if got else []
                    if start == "0" and not entries:
                        start = ">"
                        continue
                    for entry_id, fields in entries:
                        eid = entry_id.decode()
                        await _apply(service, metrics, changed, fields.get(b"data", b""),
                                     f"redis:{stream}:{eid}", "redis")
                        await r.xack(stream, CONSUMER, eid)
            except Exception as err:  # noqa: BLE001 (a server or store down: unacked, retried)
                log.error("Redis on %s, stream %s: %s; retrying", _host(url), safe(stream), safe(err))
                await asyncio.sleep(RETRY_S)
            finally:
                await r.aclose()

    return consume
