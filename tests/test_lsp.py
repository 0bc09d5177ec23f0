"""`leadscore lsp` driven over stdio by a real client (tests/lsp_client.py), as an editor does:
diagnostics, hover, definition, references, rename, completion, formatting, code actions,
the SQL preview, imports from unsaved buffers, and no server error on any broken file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from hypothesis import given

from leadscore.fmt import format_source
from lsp_client import ROOT, Client, ServerError

EXAMPLES = ROOT / "examples"
REFERENCE = EXAMPLES / "reference.score"
ERRORS = sorted((ROOT / "tests" / "errors").glob("*.score")) + sorted(
    (ROOT / "tests" / "hostile" / "rulefiles").glob("*.score"))


@pytest.fixture(scope="module")
def client():
    c = Client()
    yield c
    c.close()
    assert c.proc.returncode == 0, c.log()
    assert "Traceback" not in c.log() and "Error" not in c.log(), c.log()
    errors = [m for m in c.messages if m["method"] == "window/showMessage" and m["params"]["type"] == 1]
    assert errors == []


def pos(text: str, needle: str, at: int = 0, nth: int = 0) -> tuple[int, int]:
    """The LSP position (0-based line, character) of character `at` of the `nth` `needle`."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    i += at
    line = text.count("\n", 0, i)
    return line, i - (text.rfind("\n", 0, i) + 1)


def request_at(c: Client, method: str, uri: str, text: str, needle: str, at: int = 1,
               nth: int = 0, **extra):
    line, ch = pos(text, needle, at, nth)
    return c.request(method, {**c.at(uri, line, ch), **extra})


def hover_text(c: Client, uri: str, text: str, needle: str, at: int = 1, nth: int = 0) -> str:
    h = request_at(c, "textDocument/hover", uri, text, needle, at, nth)
    return h["contents"]["value"] if h else ""


def covered(text: str, r: dict) -> str:
    lines = text.split("\n")
    assert r["start"]["line"] == r["end"]["line"]
    return lines[r["start"]["line"]][r["start"]["character"]:r["end"]["character"]]


# ---------------------------------------------------------------- diagnostics
def test_lint_findings_have_codes_ranges_and_documentation(client):
    uri = client.open(REFERENCE)
    diags = client.linted(uri)
    text = REFERENCE.read_text()
    unused = next(d for d in diags if d["code"] == "LS404")
    assert covered(text, unused["range"]) == "plan_interest"
    assert unused["severity"] == 3 and unused["source"] == "leadscore"
    href = unused["codeDescription"]["href"]
    page, anchor = href.split("#")
    assert page.endswith("docs/lint.md")
    headings = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                for h in re.findall(r"^## (.+)$", (ROOT / "docs" / "lint.md").read_text(), re.M)}
    assert anchor in headings


def test_syntax_error_is_located(client):
    text = REFERENCE.read_text().replace('rule "pricing"', 'rule "pricing" +', 1)
    uri = client.open(ROOT / "broken-syntax.score", text)
    (d,) = client.wait_diagnostics(uri)
    assert d["severity"] == 1 and "unexpected" in d["message"]
    assert d["range"]["start"]["line"] == pos(text, 'rule "pricing"')[0]


@pytest.mark.parametrize("name,says", [("check_duplicate_segment", "declared twice"),
                                       ("schema_duplicate_field", "declared twice"),
                                       ("check_let_shadows_field", "is already a lead field")])
def test_duplicate_points_to_the_first_definition(client, name, says):
    path = ROOT / "tests" / "errors" / f"{name}.score"
    text = path.read_text()
    uri = client.open(path)
    (d,) = [x for x in client.wait_diagnostics(uri) if says in x["message"]]
    (rel,) = d["relatedInformation"]
    assert rel["location"]["uri"] == uri
    name = covered(text, d["range"])
    assert covered(text, rel["location"]["range"]) == name
    assert rel["location"]["range"]["start"]["line"] < d["range"]["start"]["line"]


def test_the_latest_version_wins(client):
    good = (EXAMPLES / "starter.score").read_text()
    uri = client.open(ROOT / "typing.score", good)
    client.wait_diagnostics(uri)
    for v in range(2, 8):  # typing: every version but the last is broken
        client.change(uri, good + "\nscore {" * (v < 7), v)
    diags = client.wait_diagnostics(uri, version=7)
    assert not [d for d in diags if d["severity"] == 1], diags
    time.sleep(1)  # nothing of an older version comes after it (five debounce pauses)
    assert client.versions[uri] == 7


def test_an_unknown_name_has_the_checker_hint(client):
    text = (EXAMPLES / "starter.score").read_text().replace("employees >= 200", "employes >= 200")
    uri = client.open(ROOT / "typo.score", text)
    (d,) = client.wait_diagnostics(uri)
    assert "unknown name `employes`" in d["message"] and "did you mean `employees`?" in d["message"]
    assert covered(text, d["range"]) == "employes"


def test_positions_are_utf16(client):
    # an astral character is two UTF-16 units (LSP's default encoding), one code point
    text = (EXAMPLES / "starter.score").read_text().replace(
        '"big company"       +10 when employees >= 200', '"big 🦆 company" +10 when employes >= 200')
    uri = client.open(ROOT / "utf16.score", text)
    (d,) = client.wait_diagnostics(uri)
    line = text.split("\n")[d["range"]["start"]["line"]]
    units = len(line[:line.index("employes")].encode("utf-16-le")) // 2
    assert d["range"]["start"]["character"] == units
    assert d["range"]["end"]["character"] == units + len("employes")
    fixed = text.replace("employes", "employees")
    client.change(uri, fixed, 2)
    client.wait_diagnostics(uri, version=2)
    h = client.request("textDocument/hover", client.at(uri, d["range"]["start"]["line"], units + 2))
    assert h["contents"]["value"].startswith("**lead field** `employees`")
    assert h["range"]["start"]["character"] == units


# ---------------------------------------------------------------- hover
def test_hover(client):
    text = REFERENCE.read_text()
    uri = client.open(REFERENCE)
    client.wait_diagnostics(uri)
    assert hover_text(client, uri, text, "employees >= 1000") == \
        "**lead field** `employees`: int\n\nthe leads table"
    assert "**event field** `page`: text" in hover_text(client, uri, text, "page ==")
    let = hover_text(client, uri, text, "pricing_visit within")
    assert let.startswith("**let** `pricing_visit`: an event filter")
    assert "let pricing_visit = event page_view where" in let
    assert "min -40, max 53" in hover_text(client, uri, text, "score fit", at=7)
    assert "reachable points: 0 to 50" in hover_text(client, uri, text, '"demo"')
    tier = hover_text(client, uri, text, "mql at", at=0)
    assert "the default tiers: at 100" in tier and "requires `pricing_visit within 30d`" in tier
    assert "segment `enterprise`: at 140" in tier
    assert "segment enterprise when employees >= 1000" in hover_text(
        client, uri, text, "tiers for enterprise", at=11)
    assert hover_text(client, uri, text, "sum(total)", 5) == \
        "**total**: `fit + engagement`\n\nmin 0, max 200"
    assert request_at(client, "textDocument/hover", uri, text, "# every", 3) is None


def test_hover_names_the_declared_tables(client):
    text = (EXAMPLES / "starter.score").read_text().replace(
        "    key id\n", '    key id\n    table "crm.leads"\n').replace(
        "    lead lead_id\n", '    lead lead_id\n    table "web.events"\n')
    uri = client.open(ROOT / "tables.score", text)
    client.wait_diagnostics(uri)
    assert hover_text(client, uri, text, "employees >= 200") == \
        "**lead field** `employees`: int\n\ntable `crm.leads`"
    assert hover_text(client, uri, text, 'page == "/pricing"') == \
        "**event field** `page`: text\n\ntable `web.events`"


# ---------------------------------------------------------------- navigation
@pytest.mark.parametrize("use,declaration", [
    ("pricing_visit within", "let pricing_visit"),          # let
    ("fit + engagement", "score fit"),                      # score
    ("tiers for enterprise", "segment enterprise"),         # segment
    ("employees >= 1000", "field employees"),               # lead field
    ("page ==", "field page"),                              # event field
])
def test_definition(client, use, declaration):
    text = REFERENCE.read_text()
    uri = client.open(REFERENCE)
    client.wait_diagnostics(uri)
    off = 10 if use.startswith("tiers for") else 1
    (loc,) = request_at(client, "textDocument/definition", uri, text, use, off)
    assert loc["uri"] == uri
    name = declaration.split()[-1]
    assert loc["range"]["start"]["line"] == pos(text, declaration)[0]
    assert covered(text, loc["range"]) == name


def test_references_and_tier_definitions(client):
    text = REFERENCE.read_text()
    uri = client.open(REFERENCE)
    client.wait_diagnostics(uri)
    refs = request_at(client, "textDocument/references", uri, text, "let pricing_visit", 5,
                      context={"includeDeclaration": True})
    assert {covered(text, r["range"]) for r in refs} == {"pricing_visit"}
    assert len(refs) == text.count("pricing_visit")
    without = request_at(client, "textDocument/references", uri, text, "let pricing_visit", 5,
                         context={"includeDeclaration": False})
    assert len(without) == len(refs) - 1
    tiers = request_at(client, "textDocument/definition", uri, text, "mql at", 0)
    assert len(tiers) == 2  # the default tiers and the enterprise ones
    used = request_at(client, "textDocument/references", uri, text, "tier == mql", 9,
                      context={"includeDeclaration": True})
    # two tiers blocks, `expect tier == mql` and `expect held_from == mql` (not the test's name)
    assert [covered(text, r["range"]) for r in used] == ["mql"] * 4


# ---------------------------------------------------------------- completion
def completion_at(c: Client, uri: str, line: int, ch: int) -> dict[str, dict]:
    items = c.request("textDocument/completion", c.at(uri, line, ch))["items"]
    return {i["label"]: i for i in items}


def test_completion(client):
    base = REFERENCE.read_text()
    text = base + "\nsegment tiny when employees < 5\nscore new {\n  rule \"x\" +1 when \n}\n"
    uri = client.open(ROOT / "completion.score", text)
    client.wait_diagnostics(uri)
    top = completion_at(client, uri, *pos(text, "segment tiny"))
    assert {"score", "tiers", "let", "segment", "import"} <= set(top)
    assert top["score"]["kind"] == 14  # keyword
    line, _ = pos(text, 'rule "x"')
    cond = completion_at(client, uri, line, len('  rule "x" +1 when '))
    assert cond["employees"]["detail"] == "int" and cond["title"]["detail"] == "text"
    assert {"not", "count", "exists", "event", "decision_maker"} <= set(cond)
    assert "page" in cond  # an event field, for a `where` being written
    assert "rule" not in cond  # a keyword that cannot stand there
    assert completion_at(client, uri, *pos(text, "# every", 4)) == {}  # in a comment
    assert completion_at(client, uri, *pos(text, '"tech industry', 3)) == {}  # in a string
    partial = text.replace('when \n', 'when emp\n')
    client.change(uri, partial, 2)
    assert "employees" in completion_at(client, uri, line, len('  rule "x" +1 when emp'))
    events = text.replace('when \n', 'when exists(event \n')
    client.change(uri, events, 3)
    got = completion_at(client, uri, line, len('  rule "x" +1 when exists(event '))
    assert {"page_view", "demo_request"} <= set(got) and "employees" not in got
    where = text.replace('when \n', 'when exists(event page_view where \n')
    client.change(uri, where, 4)
    got = completion_at(client, uri, line, len('  rule "x" +1 when exists(event page_view where '))
    assert "page" in got and "employees" not in got


def test_completion_of_segments_and_tiers(client):
    text = REFERENCE.read_text() + "\ntiers for \n"
    uri = client.open(ROOT / "segments.score", text)
    client.wait_diagnostics(uri)
    got = completion_at(client, uri, *pos(text, "tiers for \n", 10))
    assert set(got) == {"enterprise", "smb"}
    text2 = REFERENCE.read_text().replace("expect tier == mql", "expect tier == ", 1)
    uri2 = client.open(ROOT / "tiers.score", text2)
    client.wait_diagnostics(uri2)
    got = completion_at(client, uri2, *pos(text2, "expect tier == ", 15))
    assert {"cold", "mql", "sql"} <= set(got) and "employees" not in got
    text3 = REFERENCE.read_text().replace("expect segment == enterprise", "expect segment == ", 1)
    uri3 = client.open(ROOT / "segment-expect.score", text3)
    client.wait_diagnostics(uri3)
    got = completion_at(client, uri3, *pos(text3, "expect segment == ", 18))
    assert {"enterprise", "smb"} <= set(got) and "employees" not in got  # and true, false, missing


# ---------------------------------------------------------------- formatting, code actions
FORMATTING = {"options": {"tabSize": 2, "insertSpaces": True}}


def test_formatting_is_leadscore_fmt(client):
    text = (EXAMPLES / "starter.score").read_text().replace("  rule", "rule").replace(
        "score fit {", "score   fit{")
    uri = client.open(ROOT / "unformatted.score", text)
    (edit,) = client.request("textDocument/formatting", {"textDocument": {"uri": uri}, **FORMATTING})
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    assert edit["range"]["end"]["line"] == text.count("\n")
    assert edit["newText"] == format_source(text, "unformatted.score")
    client.change(uri, edit["newText"], 2)
    assert client.request("textDocument/formatting", {"textDocument": {"uri": uri}, **FORMATTING}) == []
    client.change(uri, text + "\nscore {", 3)
    assert client.request("textDocument/formatting",
                          {"textDocument": {"uri": uri}, **FORMATTING}) is None


RESOLVES = {"textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}}


@pytest.mark.parametrize("resolves", [False, True], ids=["command", "resolve"])
def test_code_actions_apply_lint_fixes(resolves):
    fix = pytest.importorskip("leadscore.lint.fix", reason="the lint fix engine (branch editors)")
    c = Client(capabilities=RESOLVES if resolves else None)
    try:
        text = (EXAMPLES / "starter.score").read_text() + "\nlet unused = employees > 3\n"
        path = ROOT / "fixable.score"
        uri = c.open(path, text)
        unused = next(d for d in c.linted(uri) if d["code"] == "LS401")
        actions = c.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": unused["range"],
            "context": {"diagnostics": [unused]}})
        quick = [a for a in actions if a["kind"] == "quickfix"]
        assert quick and all(list(a["edit"]["changes"]) == [uri] for a in quick)
        (every,) = [a for a in actions if a["kind"] == "source.fixAll.leadscore"]
        assert "edit" not in every  # worked out when chosen: lint rounds take seconds
        if resolves:
            edit = c.request("codeAction/resolve", every)["edit"]
        else:
            command = every["command"]
            c.request("workspace/executeCommand", {"command": command["command"],
                                                   "arguments": command["arguments"]})
            (applied,) = [r for r in c.requests if r["method"] == "workspace/applyEdit"]
            edit = applied["params"]["edit"]
        assert edit["changes"][uri][0]["newText"] == fix.fix_source(text, str(path)).text
        c.change(uri, text + "\n", 2)
        with pytest.raises(ServerError, match="changed since"):
            c.request("codeAction/resolve", {**every, "data": {"uri": uri, "version": 1}})
    finally:
        c.close()


# ---------------------------------------------------------------- the SQL preview
@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "sqlite"])
def test_show_sql_is_leadscore_compile(client, dialect):
    uri = client.open(REFERENCE)
    sql = client.request("workspace/executeCommand",
                         {"command": "leadscore.showSql", "arguments": [uri, dialect]})
    cli = subprocess.run([sys.executable, "-m", "leadscore", "compile", str(REFERENCE), "--dialect",
                          dialect], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert sql + "\n" == cli


def test_show_sql_refuses_with_a_message(client):
    uri = client.open(REFERENCE)
    with pytest.raises(ServerError, match="unknown dialect 'nope'; known: .*duckdb"):
        client.request("workspace/executeCommand", {"command": "leadscore.showSql",
                                                    "arguments": [uri, "nope"]})
    broken = client.open(ROOT / "nosql.score", REFERENCE.read_text() + "\nscore {")
    with pytest.raises(ServerError, match=r"does not compile:\n.*nosql.score:\d+:\d+"):
        client.request("workspace/executeCommand", {"command": "leadscore.showSql",
                                                    "arguments": [broken, "duckdb"]})


# ---------------------------------------------------------------- imports and rename
BASE = """schema {
  lead {
    key id
    field employees: int
  }
}

let big = employees >= 1000

score fit {
  rule "big" +10 when big
}
"""
PRODUCT = """import "base.score"

score product {
  rule "very big" +5 when big and employees > 5000
}

segment large when fit > 5 and big

tiers {
  cold
  hot at 10
}
"""


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "base.score").write_text(BASE)
    (tmp_path / "product.score").write_text(PRODUCT)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "other.score").write_text('import "../base.score"\n')  # outside its own tree: no importer
    (tmp_path / "second.score").write_text(PRODUCT.replace("product", "second"))
    os.mkfifo(tmp_path / "pipe.score")  # rename reads the workspace's files: never this one
    c = Client(cwd=tmp_path, root=tmp_path)
    yield c, tmp_path
    c.close()
    assert "Traceback" not in c.log(), c.log()


def test_imports_use_unsaved_buffers(workspace):
    c, root = workspace
    base_uri = c.open(root / "base.score")
    product_text = PRODUCT.replace("employees > 5000", "huge")
    product = c.open(root / "product.score", product_text)
    assert any("unknown name `huge`" in d["message"] for d in c.wait_diagnostics(product))
    c.change(base_uri, BASE + "let huge = employees > 5000\n", 2)  # not saved
    c.wait_diagnostics(product, lambda ds: not any(d["severity"] == 1 for d in ds))
    (loc,) = request_at(c, "textDocument/definition", product, product_text, "huge", 1)
    assert loc["uri"] == base_uri and loc["range"]["start"]["line"] == BASE.count("\n")
    assert hover_text(c, product, product_text, "huge") == \
        "**let** `huge`: a condition\n\n```score\nlet huge = employees > 5000\n```"


def test_definition_of_an_import_is_its_file(workspace):
    c, root = workspace
    product = c.open(root / "product.score")
    c.wait_diagnostics(product)
    (loc,) = request_at(c, "textDocument/definition", product, PRODUCT, "base.score", 2)
    assert loc["uri"] == (root / "base.score").resolve().as_uri()
    other = c.open(root / "sub" / "other.score")  # outside its tree: refused, nowhere to go
    assert c.request("textDocument/definition", c.at(other, 0, 10)) is None


def test_errors_in_a_base_model_show_on_the_import(workspace):
    c, root = workspace
    c.open(root / "base.score", BASE.replace("let big = employees >= 1000", "let big = 1 +"))
    product = c.open(root / "product.score", "# the product model\n" + PRODUCT)
    (d,) = c.wait_diagnostics(product)
    assert d["range"]["start"]["line"] == 1 and "base.score:" in d["message"]
    assert d["relatedInformation"][0]["location"]["uri"] == (root / "base.score").as_uri()


def test_rename_a_let_across_importers(workspace):
    c, root = workspace
    base = c.open(root / "base.score")
    c.wait_diagnostics(base)
    prep = request_at(c, "textDocument/prepareRename", base, BASE, "let big", 4)
    assert prep["placeholder"] == "big"
    edit = request_at(c, "textDocument/rename", base, BASE, "let big", 4, newName="large_co")
    changes = edit["changes"]
    product, second = (root / "product.score").as_uri(), (root / "second.score").as_uri()
    assert set(changes) == {base, product, second}
    assert len(changes[base]) == 2 and len(changes[product]) == 2 and len(changes[second]) == 2
    for uri, text in ((base, BASE), (product, PRODUCT)):
        for e in changes[uri]:
            assert covered(text, e["range"]) == "big" and e["newText"] == "large_co"


def test_rename_a_score_from_an_importer(workspace):
    c, root = workspace
    product = c.open(root / "product.score")
    c.wait_diagnostics(product)
    edit = request_at(c, "textDocument/rename", product, PRODUCT, "fit > 5", 1, newName="firmo")
    changes = edit["changes"]
    base = (root / "base.score").as_uri()
    assert covered(BASE, changes[base][0]["range"]) == "fit"
    assert [covered(PRODUCT, e["range"]) for e in changes[product]] == ["fit"]


def test_lint_settings_of_the_nearest_pyproject(workspace):
    c, root = workspace
    (root / "pyproject.toml").write_text('[tool.leadscore.lint]\nignore = ["LS404"]\n')
    text = BASE.replace("field employees: int", "field employees: int\n    field spare: text")
    uri = c.open(root / "base.score", text)
    assert not any(d.get("code") == "LS404" for d in c.linted(uri))
    (root / "pyproject.toml").write_text('[tool.leadscore.lint]\nignore = ["LS999"]\n')
    c.change(uri, text + "\n", 2)
    c.wait_diagnostics(uri, lambda ds: any(d.get("code") == "LS404" for d in ds), version=2)
    (warning,) = [m["params"] for m in c.messages if m["method"] == "window/showMessage"]
    assert warning["type"] == 2 and "unknown lint rule 'LS999'" in warning["message"]


def test_rename_refuses(workspace):
    c, root = workspace
    base = c.open(root / "base.score")
    c.wait_diagnostics(base)
    with pytest.raises(ServerError, match="only lets and scores can be renamed; `employees` is a lead field"):
        request_at(c, "textDocument/prepareRename", base, BASE, "employees >=", 1)
    for bad, why in (("2x", "not a name"), ("score", "not a name"), ("employees", "already a name")):
        with pytest.raises(ServerError, match=why):
            request_at(c, "textDocument/rename", base, BASE, "let big", 4, newName=bad)


def test_settings_turn_lint_off_and_on(client):
    uri = client.open(REFERENCE)
    assert any(d.get("code") == "LS404" for d in client.linted(uri))
    client.notify("workspace/didChangeConfiguration", {"settings": {"leadscore": {"lint": False}}})
    client.wait_diagnostics(uri, lambda ds: not any(d.get("code") for d in ds))
    client.notify("workspace/didChangeConfiguration", {"settings": {"leadscore": {"lint": True}}})
    client.wait_diagnostics(uri, lambda ds: any(d.get("code") == "LS404" for d in ds))


def test_an_untitled_buffer(client):
    uri = "untitled:Untitled-1"
    text = (EXAMPLES / "starter.score").read_text().replace("employees >= 200", "employes >= 200")
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "score", "version": 1, "text": text}})
    (d,) = client.wait_diagnostics(uri)
    assert "unknown name `employes`" in d["message"]
    assert hover_text(client, uri, text, "title matches") == \
        "**lead field** `title`: text\n\nthe leads table"
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    client.wait_diagnostics(uri, lambda ds: ds == [])


# ---------------------------------------------------------------- robustness
def _poke(c: Client, uri: str, text: str) -> None:
    """Hover, completion, definition and formatting at a few places: none may fail."""
    lines = text.split("\n")
    spots = [(0, 0), (len(lines) // 2, 3), (len(lines) - 1, len(lines[-1])), (len(lines) + 3, 99)]
    for line, ch in spots:
        for method in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
            c.request(method, c.at(uri, line, ch))
    c.request("textDocument/formatting", {"textDocument": {"uri": uri}, **FORMATTING})


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_every_error_file(client, path):
    uri = client.open(path)
    diags = client.wait_diagnostics(uri)
    if path.parent.name == "errors":  # every one of them has a compile error
        assert any(d["severity"] == 1 for d in diags), diags
    _poke(client, uri, path.read_text())


def test_fuzzed_buffers_never_fail_the_server(client):
    from test_fuzz import fuzz, mutated_programs  # the fuzz corpus: seeds and their mutations

    n = iter(range(1_000_000))

    @fuzz(100)  # LEADSCORE_FUZZ_EXAMPLES for a long run, as tests/test_fuzz.py
    @given(mutated_programs())
    def one(text):
        uri = client.open(ROOT / f"fuzz{next(n)}.score", text)
        client.wait_diagnostics(uri)
        _poke(client, uri, text)
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    one()
    assert client.proc.poll() is None


def test_without_pygls_the_command_says_what_to_install(tmp_path):
    hide = tmp_path / "pygls"
    hide.mkdir()
    (hide / "__init__.py").write_text("raise ImportError('hidden', name='pygls')\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "leadscore", "lsp"], capture_output=True, text=True,
                       env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert r.stderr == "error: the language server needs pygls: pip install 'leadscore[lsp]'\n"
