"""Shared pieces of the command line: the `main` group, error handling, exit codes.

Only what `leadscore --help` needs is imported here: each command's module is imported when
that command runs (`_Group.get_command`), the compiler's and the runtime's error types are
looked up only once their modules are loaded (`_loaded`), and the group's help lists the
commands from `COMMANDS` without importing them.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from .. import __version__

if TYPE_CHECKING:
    from ..backends.sql import SqlUnsupported

EXIT_FINDINGS = 1
EXIT_USAGE = 2
STDIN = "-"  # the file argument that reads the model from standard input
STDIN_NAME = "<stdin>"  # what it is called without --stdin-filename
IN_DATABASE = ("duckdb", "sqlite", "postgres", "mysql")


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def shown(value: object) -> str:
    """`value` as text fit for the terminal: control characters (ESC, bidi controls...) as
    their escapes (compiler/diagnostics.py `terminal_safe`). For every value, name or path a
    command prints that it did not write itself."""
    from ..compiler.diagnostics import terminal_safe  # not at import: `--help` loads no compiler

    return terminal_safe(str(value))


def shown_json(text: str) -> str:
    """JSON text fit for the terminal: the same JSON, control characters as `\\u` escapes."""
    from ..compiler.diagnostics import terminal_safe

    return terminal_safe(text, json=True)


def cell(value: object):
    """A table cell for rich: `shown`, and never read as rich markup (`[link=...]`)."""
    from rich.text import Text

    return Text(shown(value))


def _fail(message: str, code: int = EXIT_FINDINGS) -> None:
    # messages quote paths, values and server replies: escaped line by line (a hint is a line)
    click.echo("error: " + "\n".join(shown(line) for line in message.split("\n")), err=True)
    sys.exit(code)


def stdin_filename_option(fn):
    """`--stdin-filename PATH`: the name of the model read from `-`."""
    return click.option(
        "--stdin-filename", metavar="PATH", default=None,
        help="Name the model read from `-` (standard input): messages say PATH, its imports "
             "resolve relative to PATH (and stay inside PATH's directory), settings are "
             "looked up from there. The file need not exist.")(fn)


def stdin_name(paths: tuple[str, ...], stdin_filename: str | None) -> str:
    """The name the model on standard input is reported under; `-` at most once, and
    --stdin-filename only with it."""
    n = sum(1 for p in paths if p == STDIN)
    if n > 1:
        raise click.UsageError("`-` (standard input) can be given only once")
    if stdin_filename is not None and n == 0:
        raise click.UsageError("--stdin-filename names the model read from `-`: give `-` too")
    if stdin_filename == "":
        raise click.BadParameter("an empty name", param_hint="--stdin-filename")
    return STDIN_NAME if stdin_filename is None else stdin_filename


def read_stdin(name: str) -> str:
    """The model on standard input, decoded as a rule file named `name` is."""
    from ..compiler import decode_source

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # started with standard input closed
        raise click.UsageError("`-` reads standard input, which is closed")
    return decode_source(stream.read(), name)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a CI timeout), raised so it unwinds like Ctrl-C: temporary files go."""


@contextlib.contextmanager
def _sigterm_unwinds():
    if threading.current_thread() is not threading.main_thread():  # signals: main thread only
        yield
        return

    def on_term(signum, frame):
        raise _Terminated

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _loaded(module: str, name: str) -> type[BaseException] | tuple[()]:
    """The exception class `module.name` for an `except` clause, or () (which catches
    nothing) while that module is not imported: then nothing can have raised it."""
    mod = sys.modules.get(module)
    return getattr(mod, name) if mod is not None else ()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """One command with Python's cyclic collector off (the CLI is the application, so this is
    its choice, not the library's): compiling a large model or scoring many leads allocates
    hundreds of thousands of objects that live to the end, and each full collection on the
    way walks them all again for nothing. Left off if it already was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _internal(err: BaseException) -> None:
    _fail(f"internal error: {type(err).__name__}: {str(err)[:500]}\n"
          "  rerun with --debug for the traceback, and please report it", EXIT_USAGE)


def _guard(fn):
    """Turn compile and data errors into messages; hide tracebacks unless --debug."""
    return click.option("--debug", is_flag=True, hidden=True,
                        help="Show the Python traceback of internal errors.")(_guarded(fn))


def _guarded(fn):
    if getattr(fn, "_leadscore_guarded", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.pop("debug", False) or _debug_env()
        ctx = click.get_current_context(silent=True)
        if ctx is not None and debug:  # the group's last guard must let the traceback through
            ctx.meta["leadscore.debug"] = True
        try:
            with _sigterm_unwinds(), _collector_paused():
                return fn(*args, **kwargs)
        except _loaded("leadscore.compiler.diagnostics", "CompileError") as err:
            click.echo(err.render(color=_color(sys.stderr)), err=True)
            n = sum(1 for d in err.diagnostics if d.severity == "error")
            click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)
            sys.exit(EXIT_FINDINGS)
        except _loaded("leadscore.runtime.data", "DataError") as err:
            _fail(str(err))
        except _loaded("leadscore.runtime.warehouses", "EngineError") as err:
            _fail(str(err))
        except _loaded("leadscore.backends.sql", "SqlUnsupported") as err:
            click.echo(_located(err), err=True)
            sys.exit(EXIT_FINDINGS)
        except KeyboardInterrupt as err:
            # outputs are written to a temporary file and renamed: none is left half-written
            what = "terminated" if isinstance(err, _Terminated) else "interrupted"
            click.echo(f"{what}; no file was left half-written", err=True)
            sys.exit(143 if isinstance(err, _Terminated) else 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except OSError as err:
            if err.errno == errno.EPIPE:  # `leadscore compile ... | head`: click exits quietly
                raise
            if debug:
                raise
            # a file that cannot be read or written (permissions, a full disk): not a bug
            where = f"{err.filename}: " if err.filename else ""
            _fail(f"{where}{err.strerror or err}", EXIT_USAGE)
        except Exception as err:  # an internal error: short message, traceback on request
            if debug:
                raise
            _internal(err)

    wrapper._leadscore_guarded = True  # type: ignore[attr-defined]
    return wrapper


def _debug_env() -> bool:
    return os.environ.get("LEADSCORE_DEBUG", "") not in ("", "0")


class _OneLineUsageError(click.UsageError):
    """A usage error as one line, `error: ... (see `leadscore run --help`)`, exit 2."""

    def __init__(self, err: click.UsageError) -> None:
        super().__init__(err.format_message(), err.ctx)

    def show(self, file=None) -> None:
        where = self.ctx.command_path if self.ctx else "leadscore"
        message = " ".join(self.format_message().split())  # click's own texts may wrap
        click.echo(f"error: {shown(message)} (see `{where} --help`)", err=True)


_SHOWS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


# The commands, each registered by the module of leadscore.cli of its name when imported, with
# the first sentence of its help: `leadscore --help` lists them without importing them all
# (the runtime, the engines); tests/test_startup.py holds each to its command's docstring.
COMMANDS = {
    "calibrate": "Check a model against real outcomes: conversion per tier, segment and score "
                 "band, ROC AUC, lift, the tier funnel, suggested thresholds, and fields that "
                 "leak the outcome.",
    "changes": "One row per lead whose tier changed between two of its consecutive snapshots.",
    "check": "Parse and check rule files; report every error with its location.",
    "compile": "Print the SQL (or IR, or Python) a model compiles to.",
    "dbt": "Write the model as dbt models: scores, accounts and explain SQL, and a schema.yml.",
    "diff": "Score the same leads with two models and show what moves.",
    "engines": "Print the engine support table (docs/engines.md) as Markdown.",
    "explain": "Show why a lead has its score: rules, events, caps, decay, gates, tier.",
    "fit": "Learn a scorecard: binned fields, an L2 logistic regression, integer points.",
    "fmt": 'Rewrite rule files in the one canonical layout (docs/language.md, "Formatting").',
    "funnel": "Funnel velocity from a history table: per tier the leads that reached it, the "
              "share that reached the next, and the median and p90 days between them, per "
              "cohort month.",
    "history": "Per lead: when it first reached each tier, its current tier and since when.",
    "lint": "Find mistakes in scoring models: unreachable tiers, score inflation, shadowed "
            "segments, contradictory gates, unused names and more (docs/lint.md).",
    "lsp": "Run the language server for editors, speaking LSP over standard input and output.",
    "replay": "Score every as_of from --from to --to and add each snapshot to a history table.",
    "run": "Score leads with their events and write one row per lead.",
    "serve": "Serve the model over HTTP: leads and events in, rows and tier changes out.",
    "test": "Run the `test` blocks of each model on every engine and show rule coverage.",
}


class _Group(click.Group):
    """The `leadscore` group: commands imported on use, one-line usage errors, and a last
    guard for every command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"{__package__}.{cmd_name}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's listing, with a stand-in from COMMANDS for each command not imported yet
        cmds = [self.commands.get(n) or click.Command(n, help=COMMANDS[n])
                for n in self.list_commands(ctx)]
        cmds = [c for c in cmds if not c.hidden]
        if cmds:
            limit = formatter.width - 6 - max(len(str(c.name)) for c in cmds)
            with formatter.section("Commands"):
                formatter.write_dl([(str(c.name), c.get_short_help_str(limit)) for c in cmds])

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        # a command written without @_guard still gets its messages, exit codes and --debug
        if cmd.callback is not None and not getattr(cmd.callback, "_leadscore_guarded", False):
            cmd.callback = _guarded(cmd.callback)
            if not any(p.name == "debug" for p in cmd.params):
                cmd.params.append(click.Option(["--debug"], is_flag=True, hidden=True,
                                               help="Show the Python traceback of internal errors."))
        super().add_command(cmd, name)

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except _SHOWS_HELP:  # `leadscore` alone prints the help: that is no error message
            raise
        except click.UsageError as err:
            raise _OneLineUsageError(err) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (_OneLineUsageError, _SHOWS_HELP):
            raise
        except click.UsageError as err:
            raise _OneLineUsageError(err) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit,
                KeyboardInterrupt):
            raise
        except OSError as err:
            if err.errno == errno.EPIPE or _debug_env() or ctx.meta.get("leadscore.debug"):
                raise
            _fail(f"{err.filename + ': ' if err.filename else ''}{err.strerror or err}", EXIT_USAGE)
        except Exception as err:  # not caught by the command's guard: still no traceback
            if _debug_env() or ctx.meta.get("leadscore.debug"):
                raise
            _internal(err)


def _located(err: SqlUnsupported) -> str:
    """A construct a dialect cannot express, rendered like any compile error."""
    from ..compiler import CompileError, Diagnostic, Source, Span
    from ..compiler import read_source as read

    if not err.where:
        return f"error: {err}"
    path, line, col = err.where.rsplit(":", 2)
    span = Span(path, int(line), int(col), int(line), int(col) + 1)
    sources = {}
    # a compiled IR file's spans can name any file: only a rule file's line is shown
    if path.endswith(".score"):
        with contextlib.suppress(OSError, CompileError):
            sources = {path: Source(path, read(path))}
    hint = "choose another dialect, or express the test with starts_with/ends_with/contains"
    return Diagnostic(str(err), span, hint=hint).render(sources, _color(sys.stderr))


def _as_of(value: str | None) -> tuple[int, str]:
    from ..runtime.data import parse_timestamp

    if value is None:
        now = datetime.now(UTC).replace(microsecond=0)
        return parse_timestamp(now.isoformat()), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return parse_timestamp(value), value
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--as-of") from None


@click.group(name="leadscore", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadscore")
def main() -> None:
    """Lead scoring models as code: check, compile and run `.score` files."""


# ---------------------------------------------------------------- check
