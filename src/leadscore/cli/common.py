"""Shared pieces of the command line: the `main` group, error handling, exit codes."""

from __future__ import annotations

import functools
import os
import sys
from datetime import UTC, datetime

import click

from .. import __version__
from ..backends.sql import SqlUnsupported
from ..compiler import CompileError
from ..runtime.data import DataError, parse_timestamp
from ..runtime.warehouses import EngineError

EXIT_FINDINGS = 1
EXIT_USAGE = 2
IN_DATABASE = ("duckdb", "sqlite", "postgres", "mysql")


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _fail(message: str, code: int = EXIT_FINDINGS) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _guard(fn):
    """Turn compile and data errors into messages; hide tracebacks unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.pop("debug", False)
        try:
            return fn(*args, **kwargs)
        except CompileError as err:
            click.echo(err.render(color=_color(sys.stderr)), err=True)
            n = sum(1 for d in err.diagnostics if d.severity == "error")
            click.echo(f"{n} error{'s' if n != 1 else ''}", err=True)
            sys.exit(EXIT_FINDINGS)
        except DataError as err:
            _fail(str(err))
        except EngineError as err:
            _fail(str(err))
        except SqlUnsupported as err:
            click.echo(_located(err), err=True)
            sys.exit(EXIT_FINDINGS)
        except KeyboardInterrupt:
            click.echo("interrupted; no output was written", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as err:  # an internal error: short message, traceback on request
            if debug:
                raise
            _fail(f"internal error: {type(err).__name__}: {err}\n"
                  "  rerun with --debug for the traceback, and please report it", EXIT_USAGE)

    return click.option("--debug", is_flag=True, hidden=True,
                        help="Show the Python traceback of internal errors.")(wrapper)


def _located(err: SqlUnsupported) -> str:
    """A construct a dialect cannot express, rendered like any compile error."""
    from ..compiler import Diagnostic, Source, Span
    from ..compiler import read_source as read

    if not err.where:
        return f"error: {err}"
    path, line, col = err.where.rsplit(":", 2)
    span = Span(path, int(line), int(col), int(line), int(col) + 1)
    try:
        sources = {path: Source(path, read(path))}
    except (OSError, CompileError):
        sources = {}
    hint = "choose another dialect, or express the test with starts_with/ends_with/contains"
    return Diagnostic(str(err), span, hint=hint).render(sources, _color(sys.stderr))


def _as_of(value: str | None) -> tuple[int, str]:
    if value is None:
        now = datetime.now(UTC).replace(microsecond=0)
        return parse_timestamp(now.isoformat()), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return parse_timestamp(value), value
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--as-of") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leadscore")
def main() -> None:
    """Lead scoring models as code: check, compile and run `.score` files."""


# ---------------------------------------------------------------- check
