"""Start-up: what `check`, `lint`, `fmt` and `--help` import, the parser cache, and the node
classes' generic `==`/hash/repr (compiler/records.py) against the dataclass methods they
replace. Speed itself is measured by bench/startup.py, not here."""

import dataclasses
import importlib
import json
import os
import subprocess
import sys

import click
import pytest

from conftest import ROOT
from leadscore.cli import main
from leadscore.cli.common import COMMANDS
from leadscore.compiler import ast, ir

parse_mod = importlib.import_module("leadscore.compiler.parse")

REF = str(ROOT / "examples" / "reference.score")
HEAVY = ("sqlglot", "duckdb", "pyarrow", "numpy", "pandas", "polars", "rich")

# runs the command as `leadscore` does, then reports the modules it loaded and where its
# parser came from ("<deserialized>": the cache)
PROBE = """
import json, runpy, sys
sys.argv = ["leadscore", *sys.argv[1:]]
try:
    runpy.run_module("leadscore.cli", run_name="__main__")
except SystemExit as exit:
    code = exit.code
else:
    code = 0
parse = sys.modules.get("leadscore.compiler.parse")
source = parse._parser().source_path if parse and parse._parser.cache_info().currsize else None
print(json.dumps({"code": code, "modules": sorted(sys.modules), "parser": source}),
      file=sys.stderr)
"""


def probe(tmp_path, *args: str) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    return json.loads(proc.stderr.strip().splitlines()[-1])


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize("args", [("check", REF), ("lint", REF), ("fmt", "--check", REF),
                                  ("fmt", "--diff", REF), ("--help",), ("check", "--help")])
def test_front_end_commands_import_no_engine_arrow_or_dataframe_library(tmp_path, args):
    out = probe(tmp_path, *args)
    assert out["code"] == 0
    assert heavy(out["modules"]) == []
    assert "leadscore.runtime" not in out["modules"] and "leadscore.backends" not in out["modules"]


def test_help_imports_neither_the_commands_nor_the_compiler(tmp_path):
    out = probe(tmp_path, "--help")
    assert out["code"] == 0
    loaded = [m for m in out["modules"] if m.startswith(("leadscore.", "lark"))]
    assert loaded == ["leadscore.cli", "leadscore.cli.common"]


def test_fmt_does_not_load_the_checker(tmp_path):
    out = probe(tmp_path, "fmt", "--check", REF)
    assert out["code"] == 0
    assert "leadscore.compiler.check" not in out["modules"]


HELP = """
import sys, click
from leadscore.cli import main
from leadscore.cli.common import COMMANDS
if sys.argv[1] == "eager":  # every command imported: click lists them from their own help
    for name in COMMANDS:
        main.get_command(click.Context(main), name)
main(["--help"], prog_name="leadscore")
"""


@pytest.mark.parametrize("width", ["50", "80", "200"])
def test_help_lists_every_command_as_click_would_with_them_all_imported(width):
    def listing(mode):
        return subprocess.run([sys.executable, "-c", HELP, mode], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": width}, check=True).stdout

    lazy = listing("lazy")
    assert lazy == listing("eager")
    assert all(f"  {name} " in lazy for name in COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_first_sentence_of_its_command_help(name):
    cmd = main.get_command(click.Context(main), name)
    first = cmd.help.split("\n\n")[0].split()
    sentence = first[:next(i for i, w in enumerate(first) if w.endswith(".")) + 1]
    assert COMMANDS[name] == " ".join(sentence)
    for limit in (20, 45, 80, 200):
        assert (click.Command(name, help=COMMANDS[name]).get_short_help_str(limit)
                == cmd.get_short_help_str(limit))


# ---------------------------------------------------------------- the parser cache
def test_the_second_process_loads_the_parser_from_the_cache(tmp_path):
    first = probe(tmp_path, "check", REF)
    files = list((tmp_path / "cache" / "leadscore").glob("parser-*.pickle"))
    assert first["code"] == 0 and first["parser"] != "<deserialized>" and len(files) == 1
    second = probe(tmp_path, "check", REF)
    assert second["code"] == 0 and second["parser"] == "<deserialized>"
    assert list((tmp_path / "cache" / "leadscore").iterdir()) == files  # no temporary left


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh parser cache under tmp_path; the process's parser is restored afterwards."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    builds = []
    real = parse_mod.Lark

    class Counting(real):
        def __init__(self, *args, **kwargs):
            builds.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(parse_mod, "Lark", Counting)
    parse_mod._parser.cache_clear()
    yield tmp_path / "cache" / "leadscore", builds
    parse_mod._parser.cache_clear()


SOURCE = open(REF, encoding="utf-8").read() + "\n# a comment the cached lexer must still keep\n"


def fresh_parse():
    parse_mod._parser.cache_clear()
    return parse_mod.parse(SOURCE, "m.score")


def test_a_loaded_parser_gives_the_same_tree_and_comments(cache):
    folder, builds = cache
    built = fresh_parse()
    assert builds == [1] and len(list(folder.glob("parser-*.pickle"))) == 1
    loaded = fresh_parse()
    assert builds == [1]  # not built again
    assert loaded == built and loaded.comments == built.comments
    assert loaded.comments[-1].text == "# a comment the cached lexer must still keep"


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty", "other key"])
def test_a_damaged_cache_file_is_rebuilt_and_parses_correctly(cache, damage):
    folder, builds = cache
    expected = fresh_parse()
    path = next(folder.glob("parser-*.pickle"))
    data = path.read_bytes()
    header, body = data.split(b"\n", 1)  # the key and the digest of the pickle, then it
    damaged = {"truncated": data[: len(data) // 2],
               "flipped": header + b"\n" + body[:-100] + bytes([body[-100] ^ 0xFF]) + body[-99:],
               "garbage": b"\x80\x05not a pickle at all",
               "empty": b"",
               "other key": header.replace(header.split()[2], b"0" * 64) + b"\n" + body}[damage]
    path.write_bytes(damaged)
    assert fresh_parse() == expected
    assert builds == [1, 1]
    assert path.read_bytes() != damaged
    fresh_parse()
    assert builds == [1, 1]  # the rewritten file loads


def test_a_cache_file_others_may_write_is_not_loaded(cache):
    folder, builds = cache
    fresh_parse()
    path = next(folder.glob("parser-*.pickle"))
    path.chmod(0o666)
    fresh_parse()
    assert builds == [1, 1]
    assert path.stat().st_mode & 0o777 == 0o600  # replaced by a file of its own


def test_an_unusable_cache_directory_still_parses(cache, tmp_path, monkeypatch):
    _, builds = cache
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    expected = fresh_parse()
    assert fresh_parse() == expected and builds == [1, 1]  # built each time, silently
    assert blocker.read_text() == "a file where the cache directory would go"


def test_a_parser_that_cannot_be_saved_still_parses(cache, monkeypatch):
    folder, builds = cache

    def fail(self, f, exclude_options=()):
        raise TypeError("cannot pickle")

    monkeypatch.setattr(parse_mod.Lark, "save", fail)
    assert fresh_parse().items
    assert builds == [1] and not (folder.exists() and any(folder.iterdir()))


def test_the_cache_key_covers_the_grammar(cache, monkeypatch, tmp_path):
    folder, builds = cache
    fresh_parse()
    grammar = tmp_path / "score.lark"
    grammar.write_text(parse_mod._GRAMMAR.read_text("utf-8") + "\n// edited\n")
    monkeypatch.setattr(parse_mod, "_GRAMMAR", grammar)
    fresh_parse()
    assert builds == [1, 1] and len(list(folder.glob("parser-*.pickle"))) == 2


# ---------------------------------------------------------------- node classes
def node_classes(module, base):
    return [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base)]


def reference(cls, **params):
    """`cls` made again by dataclasses themselves, with its fields as they are (but no
    defaults: the samples give every field)."""
    specs = [(f.name, f.type, dataclasses.field(
        **{k: getattr(f, k) for k in ("compare", "repr", "hash", "kw_only")}))
        for f in dataclasses.fields(cls)]
    ref = dataclasses.make_dataclass(cls.__name__, specs, **params)
    ref.__qualname__ = cls.__qualname__
    return ref


def samples(cls):
    """Instances differing in one field each, and one with a NaN (a tuple compares it by
    identity first)."""
    names = [f.name for f in dataclasses.fields(cls)]
    base = {n: f"{n}-1" for n in names}
    nan = float("nan")
    variants = [base, *({**base, n: f"{n}-2"} for n in names), {**base, names[-1]: nan}]
    return variants


@pytest.mark.parametrize("cls", node_classes(ast, ast.Node), ids=lambda c: c.__name__)
def test_syntax_nodes_compare_and_print_as_dataclasses_do(cls):
    ref = reference(cls, kw_only=True)
    for a in samples(cls):
        x, r = cls(**a), ref(**a)
        assert repr(x) == repr(r)
        for b in samples(cls):
            assert (x == cls(**b)) == (r == ref(**b)) and (x != cls(**b)) == (r != ref(**b))
        assert x == x and (x == r) is False
    assert cls.__hash__ is None and ref.__hash__ is None


@pytest.mark.parametrize("cls", node_classes(ir, ir.Expr), ids=lambda c: c.__name__)
def test_ir_nodes_compare_hash_and_print_as_frozen_dataclasses_do(cls):
    ref = reference(cls, frozen=True, slots=True)
    span = parse_mod.Span("m.score", 1, 1, 1, 2)
    for a in samples(cls):
        x, r = cls(**a), ref(**a)
        assert repr(x) == repr(r) and hash(x) == hash(r)
        placed = cls(**{**a, "span": span})
        assert placed == x and hash(placed) == hash(x)  # spans are not compared
        for b in samples(cls):
            assert (x == cls(**b)) == (r == ref(**b)) and (x != cls(**b)) == (r != ref(**b))
        with pytest.raises(dataclasses.FrozenInstanceError):
            x.span = span
    with pytest.raises(AttributeError):
        cls(**samples(cls)[0]).__dict__  # noqa: B018 - slots, no instance dict


def test_a_recursive_repr_stops_as_a_dataclass_repr_does():
    module = ast.Module(span=None, items=[])
    module.items.append(module)
    assert repr(module) == "Module(span=None, items=[...], comments=[])"
