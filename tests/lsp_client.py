"""A small LSP client for the tests: starts `python -m leadscore lsp` and speaks JSON-RPC to it
over its standard input and output, as an editor does."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60.0  # the longest any answer may take on a loaded machine (a bound, not a target)


class ServerError(Exception):
    """The server answered a request with an error."""

    def __init__(self, error: dict):
        super().__init__(error.get("message", ""))
        self.code = error.get("code")


class Client:
    def __init__(self, cwd: Path | None = None, options: dict | None = None,
                 root: Path | None = None, capabilities: dict | None = None):
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen([sys.executable, "-m", "leadscore", "lsp"], cwd=cwd or ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.ids = itertools.count(1)
        self.responses: dict[int, dict] = {}
        self.diagnostics: dict[str, list[dict]] = {}
        self.versions: dict[str, int | None] = {}  # of the text each was published for
        self.messages: list[dict] = []  # window/logMessage and window/showMessage
        self.requests: list[dict] = []  # the server's requests (workspace/applyEdit)
        self.lock = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr: list[bytes] = []
        self.errors = threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr),
                                       daemon=True)
        self.errors.start()
        root = root or ROOT
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                    "workspaceFolders": [{"uri": root.as_uri(), "name": "w"}],
                                    "capabilities": capabilities or {},
                                    "initializationOptions": options or {}})
        self.notify("initialized", {})

    # ---------------------------------------------------------------- the wire
    def _send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(out.read(length))
            with self.lock:
                if "id" in message and "method" not in message:
                    self.responses[message["id"]] = message
                elif message.get("method") == "textDocument/publishDiagnostics":
                    p = message["params"]
                    self.diagnostics[p["uri"]] = p["diagnostics"]
                    self.versions[p["uri"]] = p.get("version")
                elif "id" in message:  # a request of the server's: kept, and answered
                    self.requests.append(message)
                    applied = message["method"] == "workspace/applyEdit"
                    self._send({"id": message["id"], "result": {"applied": True} if applied else None})
                else:
                    self.messages.append(message)
                self.lock.notify_all()

    def request(self, method: str, params: dict) -> object:
        rid = next(self.ids)
        self._send({"id": rid, "method": method, "params": params})
        with self.lock:
            if not self.lock.wait_for(lambda: rid in self.responses or self.proc.poll() is not None,
                                      WAIT_S):
                raise TimeoutError(f"no answer to {method} in {WAIT_S} s")
            if rid not in self.responses:
                raise RuntimeError(f"the server exited: {b''.join(self.stderr).decode()}")
            answer = self.responses.pop(rid)
        if "error" in answer:
            raise ServerError(answer["error"])
        return answer.get("result")

    def notify(self, method: str, params: dict) -> None:
        self._send({"method": method, "params": params})

    # ---------------------------------------------------------------- documents
    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.absolute().as_uri()
        text = path.read_text("utf-8") if text is None else text
        with self.lock:
            self.diagnostics.pop(uri, None)
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "score", "version": version, "text": text}})
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        with self.lock:
            self.diagnostics.pop(uri, None)
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": [{"text": text}]})

    def wait_diagnostics(self, uri: str, until=lambda d: True, timeout: float = WAIT_S,
                         version: int | None = None) -> list[dict]:
        """The diagnostics published for `uri` once `until` holds of them (and, given a
        `version`, once they are that version's)."""
        def ready() -> bool:
            return uri in self.diagnostics and until(self.diagnostics[uri]) and (
                version is None or self.versions.get(uri) == version)

        with self.lock:
            if not self.lock.wait_for(ready, timeout):
                raise TimeoutError(f"diagnostics for {uri}: {self.diagnostics.get(uri)}")
            return self.diagnostics[uri]

    def linted(self, uri: str) -> list[dict]:
        """The diagnostics of `uri` once lint's have come (they carry LS codes), or settled."""
        try:
            return self.wait_diagnostics(uri, lambda d: any((x.get("code") or "").startswith("LS")
                                                            for x in d), timeout=15)
        except TimeoutError:
            return self.wait_diagnostics(uri)

    @staticmethod
    def at(uri: str, line: int, character: int) -> dict:
        return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request("shutdown", {})
                self.notify("exit", {})
                self.proc.wait(10)
            except (OSError, TimeoutError, RuntimeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.errors.join(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()

    def log(self) -> str:
        """What the server wrote to its standard error."""
        return b"".join(self.stderr).decode(errors="replace")

    def timed(self, method: str, params: dict) -> tuple[object, float]:
        """A request's answer and how long it took, in seconds (for bench/)."""
        start = time.perf_counter()
        answer = self.request(method, params)
        return answer, time.perf_counter() - start
