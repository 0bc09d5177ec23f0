"""`leadscore serve`: the model as an HTTP service with a durable state store."""

from __future__ import annotations

import gc
import socket

import click

from ..compiler import compile_file
from .common import EXIT_USAGE, _fail, _guard, main, shown


@main.command(name="serve")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--state", "state", required=True,
              help="The state store: a SQLite file (sqlite:///PATH or a path) or postgresql://URL.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="The port to listen on.")
@click.option("--sync", type=click.Choice(["full", "normal"]), default="full", show_default=True,
              help="full: answer once the commit is on disk (survives a power loss); normal: once "
                   "the OS or database server has it (survives kill -9, not a power loss).")
@click.option("--rebuild", is_flag=True,
              help="Rescore every lead from its stored events first (after a model change).")
@click.option("--rescan", "rescan_s", type=click.FloatRange(min=1), default=None,
              help="Every this many seconds, rescore every lead: tiers that time alone moved "
                   "(decay, windows) become changes.")
@click.option("--webhook", default=None, help="POST each tier change to this URL.")
@click.option("--webhook-secret", envvar="LEADSCORE_WEBHOOK_SECRET", default=None,
              help="Sign webhooks with HMAC-SHA256 (or set LEADSCORE_WEBHOOK_SECRET).")
@click.option("--nats", default=None, help="Also consume events from NATS JetStream at this URL.")
@click.option("--subject", default=None, help="The JetStream subject to consume (with --nats).")
@click.option("--redis", "redis_url", default=None, help="Also consume events from a Redis stream.")
@click.option("--stream", "redis_stream", default=None, help="The Redis stream key (with --redis).")
@_guard
def serve_cmd(model: str, state: str, host: str, port: int, sync: str, rebuild: bool,
              rescan_s: float | None, webhook: str | None, webhook_secret: str | None, nats: str | None,
              subject: str | None, redis_url: str | None, redis_stream: str | None) -> None:
    """Serve the model over HTTP: leads and events in, rows and tier changes out.

    \b
    Example:
      leadscore serve examples/reference.score --state leads.db --port 8080
    (docs/service.md: the API, webhooks, queues and deployment)
    """
    try:
        import uvicorn

        from ..service import queues
        from ..service.app import build
        from ..service.core import Service
        from ..service.store import Store, StoreError
    except ImportError as err:
        _fail(f"`leadscore serve` needs the service extra: pip install 'leadscore[service]' "
              f"({err.name} is missing)", EXIT_USAGE)
    if bool(nats) != bool(subject) or bool(redis_url) != bool(redis_stream):
        raise click.UsageError("--nats goes with --subject, --redis with --stream")
    if webhook and not webhook.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--webhook")
    m = compile_file(model)
    consumers = []
    if nats:
        consumers.append(queues.nats_consumer(nats, subject))
    if redis_url:
        consumers.append(queues.redis_consumer(redis_url, redis_stream))
    try:
        store = Store(state, sync)
        service = Service(m, store, rebuild=rebuild, webhook=bool(webhook))
    except StoreError as err:
        _fail(str(err))
    # a long-running process needs the cyclic collector the CLI pauses for one-shot commands;
    # the loaded states are frozen out of its passes (fewer, shorter pauses)
    gc.freeze()
    gc.enable()
    app = build(service, webhook, webhook_secret, consumers, rescan_s)
    try:  # bound here, so that a port in use is this command's error, not uvicorn's exit 3
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host
                                    else socket.AF_INET)
    except OSError as err:
        store.close()
        _fail(f"cannot listen on {host}:{port}: {err.strerror or err}", EXIT_USAGE)
    port = sock.getsockname()[1]
    click.echo(f"leadscore serve: {shown(m.name)} on http://{shown(host)}:{port} "
               f"({len(service.records)} leads, state {store.kind})", err=True)
    try:
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                      lifespan="on")).run(sockets=[sock])
    finally:
        store.close()
