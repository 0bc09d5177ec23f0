"""A local webhook receiver (a real HTTP server on loopback, in a thread) that records what
`leadscore serve` sends, checks signatures, and can refuse the first deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, secret: str, fail_first: int = 0):
        self.secret = secret
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.deliveries: list[tuple[str, dict]] = []  # (idempotency key, body) as received
        self.bad_signatures = 0
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (the SIGKILL test)
                    return
                ok = receiver.verify(self.headers.get("X-Leadscore-Signature", ""), body)
                with receiver.lock:
                    if receiver.refused < receiver.fail_first:
                        receiver.refused += 1
                        status = 503
                    elif not ok:
                        receiver.bad_signatures += 1
                        status = 401
                    else:
                        receiver.deliveries.append((self.headers["Idempotency-Key"],
                                                    json.loads(body)))
                        status = 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify(self, header: str, body: bytes) -> bool:
        """The check docs/service.md shows a receiver."""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if "t" not in parts or "v1" not in parts:
            return False
        mac = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(mac.hexdigest(), parts["v1"])

    def unique(self) -> dict[str, dict]:
        """The deliveries deduplicated by idempotency key (as a receiver keeps them)."""
        with self.lock:
            out: dict[str, dict] = {}
            for key, body in self.deliveries:
                assert out.setdefault(key, body) == body, f"two bodies for {key}"
            return out

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
