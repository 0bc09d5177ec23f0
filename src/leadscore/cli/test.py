"""`leadscore test`: run a model's `test` blocks on several engines, with rule coverage."""

from __future__ import annotations

import sys

import click

from ..compiler import compile_file
from ..runtime.engines import ENGINES
from .common import EXIT_FINDINGS, IN_DATABASE, _guard, main, shown


@main.command(name="test")
@click.argument("models", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--engine", "engines", multiple=True, type=click.Choice(list(ENGINES)),
              help="Engines to run the tests on (repeatable). Default: python and duckdb.")
@click.option("--db", default=None,
              help="Where the database engines among --engine run: a connection URL for postgres "
                   "or mysql, a database file for duckdb or sqlite. The others ignore it.")
@_guard
def test_cmd(models: tuple[str, ...], engines: tuple[str, ...], db: str | None) -> None:
    """Run the `test` blocks of each model on every engine and show rule coverage.

    \b
    Example:
      leadscore test examples/reference.score --engine python --engine sqlite
    """
    from ..runtime.testing import run_tests

    chosen = list(engines) or ["python", "duckdb"]
    if db is not None and not set(chosen) & set(IN_DATABASE):
        raise click.UsageError(f"--db is where a database engine runs the tests: add --engine "
                               f"{' or '.join(IN_DATABASE)}, or drop --db")
    failed = 0
    for path in models:
        model = compile_file(path)
        if not model.tests:
            click.echo(f"{shown(path)}: no test blocks")
            continue
        report = run_tests(model, chosen, db)
        for f in report.failures:
            click.echo(shown(f"{f.where}: FAIL [{f.engine}] {f.test}: expected {f.column} "
                             f"{f.expected}, got {f.actual}"), err=True)
        status = "ok" if report.ok else f"{len(report.failures)} failed"
        click.echo(f"{shown(path)}: {report.tests} tests, {report.checks} expectations on "
                   f"{', '.join(chosen)}: {status}")
        rules = model.rules
        uncovered = [r for r in rules if r.points not in report.covered]
        click.echo(f"  rule coverage: {len(rules) - len(uncovered)}/{len(rules)} rules fired")
        for r in uncovered:
            click.echo(shown(f"    never fired: score {r.score}, rule \"{r.label}\" (line {r.line})"))
        failed += not report.ok
    if failed:
        sys.exit(EXIT_FINDINGS)
