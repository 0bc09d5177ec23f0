"""Outbound webhooks: each tier change POSTed from the outbox, at least once, in order.

A change enters the outbox in the transaction that records it, and leaves it only once the
receiver answered 2xx, so a crash between the two sends it again: receivers deduplicate by
the `Idempotency-Key` header (the store's id and the change's sequence number, the same on
every attempt). The outbox is sent strictly in sequence, so a lead's changes arrive in
their order; a failed attempt is retried with exponential backoff and holds back the ones
after it.

Signature: `X-Leadscore-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
`<t>.<body>` with the secret (docs/service.md shows the check).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from .queues import safe
from .store import Change

log = logging.getLogger("leadscore.serve")

WEBHOOK_TIMEOUT_S = 10.0  # per attempt
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 60.0
OUTBOX_BATCH = 100  # changes read from the outbox at a time
IDLE_POLL_S = 1.0  # the longest a new change waits when no request woke the sender


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempts - 1))


def payload(store_id: str, change: Change) -> dict:
    """The change as GET /changes shows it, with its idempotency key as `id`."""
    return {"id": f"{store_id}-{change.seq}", **change.to_json()}


class Sender:
    """The outbox's one sender task (`run`), woken by `wake()` when changes are recorded."""

    def __init__(self, service: Any, url: str, secret: str | None, metrics: Any):
        self.service, self.url, self.secret, self.metrics = service, url, secret, metrics
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_S) as client:
            while True:
                try:
                    await self._round(client)
                except Exception as err:  # noqa: BLE001 (the store down: the outbox keeps it)
                    log.error("webhook sender: %s; retrying", safe(err))
                    await self._idle(IDLE_POLL_S)

    async def _round(self, client: Any) -> None:
        """Send what is due from the head of the outbox, in order, until one fails."""
        due = await asyncio.to_thread(self.service.outbox, OUTBOX_BATCH)
        if not due:
            await self._idle(IDLE_POLL_S)
            return
        for change, attempts, next_us in due:
            wait = next_us / 1e6 - time.time()
            if wait > 0:  # backing off: nothing after this change goes first
                await self._idle(min(wait, IDLE_POLL_S))
                return
            if not await self._send(client, change):
                attempts += 1
                later = int((time.time() + backoff(attempts)) * 1e6)
                await asyncio.to_thread(self.service.retry, change.seq, attempts, later)
                return
            await asyncio.to_thread(self.service.delivered, change.seq)

    async def _send(self, client: Any, change: Change) -> bool:
        import httpx

        data = payload(self.service.store.store_id, change)
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": data["id"]}
        if self.secret:
            headers["X-Leadscore-Signature"] = sign(self.secret, int(time.time()), body)
        try:
            r = await client.post(self.url, content=body, headers=headers)
            ok = 200 <= r.status_code < 300
        except httpx.HTTPError:
            ok = False
        self.metrics.count("leadscore_webhook_attempts_total", result="ok" if ok else "failed")
        return ok
