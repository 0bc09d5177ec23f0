"""The HTTP face of the service: a Starlette app over `core.Service`.

Handlers run the service's work in a worker thread (the store's commits block); the
service's lock makes it one writer. Every answer is JSON (Prometheus text for /metrics);
data errors are 4xx with the records and fields at fault, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .core import MAX_CHANGES_PAGE, MAX_CURSOR, InputError, Service, instant, parse_json
from .metrics import Metrics
from .openapi import document
from .queues import Consumer, safe

MAX_BODY_BYTES = 16 * 1024 * 1024  # a request body larger than this is refused (413)
MAX_IDEMPOTENCY_KEY = 200  # characters

log = logging.getLogger("leadscore.serve")


def _error(status: int, message: str, records: list | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "records": records or []}, status_code=status)


async def _body(request: Request) -> Any:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise InputError(f"the request body is larger than {MAX_BODY_BYTES} bytes", status=413)
        chunks.append(chunk)
    return parse_json(b"".join(chunks), "the body")


def _idempotency(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InputError(f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters", status=400)
    return key


def _key(request: Request) -> str:
    """The path's lead key as the loaders key leads (trimmed, at most MAX_KEY_CHARS)."""
    from ..runtime.inputs import record_key

    try:
        return record_key(request.path_params["key"])
    except ValueError as err:
        raise InputError(f"key: {err}", [{"index": None, "field": "key", "reason": str(err)}]
                         ) from None


def build(service: Service, webhook: str | None = None, secret: str | None = None,
          consumers: Sequence[Consumer] = (), rescan_s: float | None = None) -> Starlette:
    """The ASGI app; `consumers` are queue readers run beside it (service.queues), and every
    `rescan_s` seconds every lead is rescored for the tiers time alone moved."""
    metrics = Metrics()
    sender = None
    if webhook:
        from .webhook import Sender

        sender = Sender(service, webhook, secret, metrics)

    def changed(n: int) -> None:
        if n:
            metrics.count("leadscore_tier_changes_total", n)
            if sender is not None:
                sender.wake()

    def timed(route: str, fn: Callable[[Request], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            start = time.perf_counter()
            try:
                response = await fn(request)
            except InputError as err:
                response = JSONResponse(err.to_json(), status_code=err.status)
            metrics.observe(route, time.perf_counter() - start)
            metrics.count("leadscore_requests_total", route=route, status=str(response.status_code))
            return response
        return handler

    async def post(request: Request, what: str) -> Response:
        idem = _idempotency(request)
        body = await _body(request)
        fn = service.post_leads if what == "leads" else service.post_events
        result = await asyncio.to_thread(fn, body, idem)
        if not result.replayed:
            if what == "events":
                metrics.events(len(body))
            else:
                metrics.count("leadscore_leads_total", len(body))
            changed(len(result.changes))
        return JSONResponse(result.body)

    async def post_leads(request: Request) -> Response:
        return await post(request, "leads")

    async def post_events(request: Request) -> Response:
        return await post(request, "events")

    async def get_lead(request: Request) -> Response:
        key = _key(request)
        as_of = instant(request.query_params.get("as_of"))
        row = await asyncio.to_thread(service.row, key, as_of)
        if row is None:
            return _error(404, "no lead with this key")
        return JSONResponse(row)

    async def explain(request: Request) -> Response:
        key = _key(request)
        as_of = instant(request.query_params.get("as_of"))
        got = await asyncio.to_thread(service.explain, key, as_of)
        if got is None:
            return _error(404, "no lead with this key")
        return JSONResponse(got)

    async def changes(request: Request) -> Response:
        q = request.query_params
        try:
            since = int(q.get("since", "0"))
            limit = int(q.get("limit", str(MAX_CHANGES_PAGE)))
        except ValueError:
            raise InputError("since and limit are whole numbers",
                             [{"index": None, "field": "since", "reason": "a whole number"}]
                             ) from None
        if not 0 <= since <= MAX_CURSOR or not 0 < limit <= MAX_CHANGES_PAGE:
            raise InputError(f"0 <= since <= {MAX_CURSOR} and 1 <= limit <= {MAX_CHANGES_PAGE}")
        return JSONResponse(await asyncio.to_thread(service.changes, since, limit))

    async def healthz(request: Request) -> Response:
        depth = await asyncio.to_thread(service.outbox_depth)  # the store answers
        return JSONResponse({"status": "ok", "leads": len(service.records), "outbox": depth})

    async def metrics_text(request: Request) -> Response:
        depth = await asyncio.to_thread(service.outbox_depth)
        return PlainTextResponse(metrics.text({"leadscore_outbox_depth": depth,
                                               "leadscore_leads": len(service.records)}),
                                 media_type="text/plain; version=0.0.4")

    spec = document(service.model)

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    async def rescans(every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                changed(len(await asyncio.to_thread(service.rescan)))
            except Exception as err:  # noqa: BLE001 (the store down: the next rescan retries)
                log.error("rescan: %s", safe(err))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks = [] if rescan_s is None else [asyncio.create_task(rescans(rescan_s))]
        if sender is not None:
            tasks.append(asyncio.create_task(sender.run()))
        for consume in consumers:
            tasks.append(asyncio.create_task(consume(service, metrics, changed)))
        yield
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    routes = [
        Route("/leads", timed("/leads", post_leads), methods=["POST"]),
        Route("/events", timed("/events", post_events), methods=["POST"]),
        Route("/leads/{key}", timed("/leads/{key}", get_lead), methods=["GET"]),
        Route("/leads/{key}/explain", timed("/leads/{key}/explain", explain), methods=["GET"]),
        Route("/changes", timed("/changes", changes), methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, safe(request.url.path),
                      exc_info=exc)
        return _error(500, "internal error (logged by the server)")

    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: internal})
