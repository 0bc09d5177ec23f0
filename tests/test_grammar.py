"""The VS Code extension (editors/vscode): its grammar tokenized by vscode-textmate in node
(tests/grammar/test.mjs), and its manifest against the language it describes."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from leadscore.compiler import compile_file

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR_TEST = ROOT / "tests" / "grammar"
NPM_CI_S = 600  # a first `npm ci` downloads two packages from the registry
NODE_TEST_S = 300


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    if os.environ.get("CI"):
        pytest.fail("node and npm are needed for the grammar test, and CI requires it")
    pytest.skip("node or npm is not installed")


def _installed() -> bool:
    """Whether node_modules holds what package-lock.json names (npm writes its own copy)."""
    mine = GRAMMAR_TEST / "node_modules" / ".package-lock.json"
    if not mine.exists():
        return False
    want = json.loads((GRAMMAR_TEST / "package-lock.json").read_text())["packages"]
    have = json.loads(mine.read_text())["packages"]
    return all(have.get(k, {}).get("version") == v.get("version") for k, v in want.items() if k)


def test_grammar_tokens_in_node():
    node, npm = _tools()
    if not _installed():
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=GRAMMAR_TEST,
                              capture_output=True, text=True, timeout=NPM_CI_S)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([node, "--test", "test.mjs"], cwd=GRAMMAR_TEST, capture_output=True,
                          text=True, timeout=NODE_TEST_S)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", proc.stdout, re.M)
    assert passed and int(passed.group(1)) >= 10 and "# fail 0" in proc.stdout, proc.stdout


def test_the_constructs_file_is_a_model():
    compile_file(GRAMMAR_TEST / "constructs.score")


def test_the_language_configuration_matches_the_language():
    conf = json.loads((VSCODE / "language-configuration.json").read_text())
    lark = (ROOT / "src" / "leadscore" / "grammar" / "score.lark").read_text()
    comment = re.search(r"^COMMENT: /(.)", lark, re.M)
    assert comment and conf["comments"] == {"lineComment": comment.group(1)}
    assert ["{", "}"] in conf["brackets"]
    start = re.compile(conf["folding"]["markers"]["start"])
    assert start.search("score fit {") and start.search("tiers {  # the default")
    assert re.search(conf["folding"]["markers"]["end"], "  }")


def test_the_manifest():
    pkg = json.loads((VSCODE / "package.json").read_text())
    assert (VSCODE / pkg["main"]).exists()
    assert pkg["contributes"]["languages"][0]["id"] == "score"
    assert (VSCODE / pkg["contributes"]["grammars"][0]["path"]).exists()
    settings = pkg["contributes"]["configuration"]["properties"]
    assert settings["leadscore.server.command"]["default"] == ["leadscore", "lsp"]
    # the dialects offered are the ones `leadscore compile --dialect` knows
    from leadscore.engines import DIALECTS

    assert set(settings["leadscore.sqlDialect"]["enum"]) == set(DIALECTS)
    lock = json.loads((VSCODE / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == pkg["dependencies"]


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k in ("match", "begin", "end") and isinstance(v, str)] \
            + [p for k, v in node.items() if k not in ("match", "begin", "end") for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


def test_every_keyword_of_the_language_is_in_the_editor_grammars():
    """A keyword added to grammar/score.lark without the editors' grammars fails here."""
    lark = (ROOT / "src" / "leadscore" / "grammar" / "score.lark").read_text()
    keywords = set(re.findall(r'"([a-z_]+)"', lark))
    assert {"rule", "when", "matches", "half_life", "days_since"} <= keywords
    textmate = "\n".join(_patterns(json.loads((VSCODE / "syntaxes" / "score.tmLanguage.json")
                                              .read_text())))
    vim = (ROOT / "editors" / "vim" / "syntax" / "score.vim").read_text()
    for name, text in (("TextMate", textmate), ("Vim", vim)):
        missing = sorted(k for k in keywords if not re.search(rf"(?<![A-Za-z_]){k}(?![A-Za-z_])", text))
        assert missing == [], f"{name} grammar lacks {missing}"
