"""The language server on a 2 000-rule model: how long `leadscore lsp` takes to answer hover,
definition, references, completion and formatting once the file has been checked (target:
200 ms, issue 16), and how long the first check and lint take to reach the editor.

Driven over stdio by the tests' client (tests/lsp_client.py), as an editor drives it.
Each answer is the median of `repeat` requests. `python -m bench.lsp` prints the rows alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

from .bigmodel import model_text

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.2  # seconds, issue 16: an answer after the first check
RULES = 2_000
# names to point at: a let and its uses, beside the generated scores
EXTRA = """
let big_company = employees >= 1000 and country in ["us", "de"]
segment large when big_company and s1 > 10
"""


class _Report(Protocol):
    def add(self, section: str, name: str, value: str, target: str = "", ok: bool | None = None,
            note: str = "") -> object: ...


def _at(text: str, needle: str, at: int) -> tuple[int, int]:
    i = text.index(needle) + at
    return text.count("\n", 0, i), i - (text.rfind("\n", 0, i) + 1)


def lsp_latency(rep: _Report, repeat: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from lsp_client import Client

    text = model_text(RULES) + EXTRA
    with tempfile.TemporaryDirectory(prefix="leadscore-lsp-") as tmp:
        path = Path(tmp) / "big.score"
        path.write_text(text, encoding="utf-8")
        c = Client(cwd=Path(tmp), root=Path(tmp))
        try:
            start = time.perf_counter()
            uri = c.open(path)
            c.wait_diagnostics(uri)
            checked = time.perf_counter() - start
            c.wait_diagnostics(uri, lambda ds: any(str(d.get("code")).startswith("LS") for d in ds))
            linted = time.perf_counter() - start
            where = {"hover (a let)": ("textDocument/hover", _at(text, "big_company and s1", 2), {}),
                     "hover (a score: its min and max)": ("textDocument/hover",
                                                          _at(text, "s1 > 10", 1), {}),
                     "hover (a rule: its reachable points)": ("textDocument/hover",
                                                              _at(text, '"r1999"', 2), {}),
                     "definition": ("textDocument/definition", _at(text, "big_company and", 2), {}),
                     "references": ("textDocument/references", _at(text, "field employees", 8),
                                    {"context": {"includeDeclaration": True}}),
                     "completion (a rule condition)": ("textDocument/completion",
                                                       _at(text, "employees >= 1000 and", 0), {}),
                     "formatting (the whole file)": (
                         "textDocument/formatting", (0, 0),
                         {"options": {"tabSize": 2, "insertSpaces": True}})}
            rep.add("lsp", f"first check of a {RULES:,}-rule model (open -> diagnostics)",
                    f"{checked * 1000:.0f} ms")
            rep.add("lsp", "... with lint's findings", f"{linted * 1000:.0f} ms")
            for name, (method, (line, ch), extra) in where.items():
                params = {**c.at(uri, line, ch), **extra}
                answers, times = zip(*(c.timed(method, params) for _ in range(repeat)))
                if not answers[0]:  # a fast empty answer measures nothing
                    raise RuntimeError(f"{name}: no answer at {line}:{ch}")
                took = statistics.median(times)
                target = TARGET if not name.startswith("formatting") else None
                rep.add("lsp", name, f"{took * 1000:.1f} ms",
                        f"<= {TARGET * 1000:.0f} ms" if target else "",
                        took <= TARGET if target else None)
            start = time.perf_counter()
            c.change(uri, text + "\nlet spare = 1\n", 2)
            c.wait_diagnostics(uri, version=2)
            rep.add("lsp", "an edit -> its check diagnostics (debounce included)",
                    f"{(time.perf_counter() - start) * 1000:.0f} ms")
            # lint of the new text is running now, on its own thread
            method, (line, ch), _ = where["hover (a let)"]
            busy = statistics.median(c.timed(method, c.at(uri, line, ch))[1] for _ in range(repeat))
            rep.add("lsp", "hover (a let) while lint runs", f"{busy * 1000:.1f} ms",
                    f"<= {TARGET * 1000:.0f} ms", busy <= TARGET)
        finally:
            c.close()


if __name__ == "__main__":
    class _Print:
        def add(self, section, name, value, target="", ok=None, note=""):
            mark = "" if ok is None else ("PASS" if ok else "FAIL")
            print(f"  {name:<58} {value:>12}  {target:<10} {mark}", flush=True)

    lsp_latency(_Print(), 9)
