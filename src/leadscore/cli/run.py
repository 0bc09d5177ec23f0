"""`leadscore run`: score leads from files or from tables in a database."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..compiler import compile_file
from ..runtime.data import Reject
from ..runtime.engines import ENGINES
from .common import IN_DATABASE, _as_of, _guard, cell, main, shown

if TYPE_CHECKING:
    from ..compiler import ir


# ---------------------------------------------------------------- run
def _write_rejects(path: str, rejects: list[Reject]) -> None:
    from ..runtime.output import _atomic_write

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["file", "row", "column", "value", "reason"])
            for r in rejects:
                w.writerow([r.file, r.row, r.column or "", "" if r.value is None else r.value,
                            r.reason])

    _atomic_write(Path(path), write)


def _summary(result, as_of_text: str, engine: str) -> list[str]:
    s = result.stats
    lines = [f"as_of {as_of_text} · engine {engine}",
             f"leads: {s.leads_read} read, {s.leads_scored} scored, {s.leads_rejected} rejected"]
    if result.events is not None and (result.events.read or s.events_read):
        parts = [f"{s.events_read} read", f"{s.events_used} used", f"{s.events_rejected} rejected"]
        if s.events_unknown_lead:
            parts.append(f"{s.events_unknown_lead} for unknown leads (ignored)")
        if s.events_after_as_of:
            parts.append(f"{s.events_after_as_of} after as_of (ignored)")
        lines.append("events: " + ", ".join(parts))
    if s.undeclared_types:
        kinds = ", ".join(f"{shown(t)} ({n})" for t, n in s.undeclared_types.most_common(5))
        lines.append(f"warning: event types not in the schema: {kinds}")
    return lines


def _show_table(result, top: int, tier_order: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..runtime.output import format_value

    def text(v) -> str:
        if isinstance(v, float) and not v.is_integer():
            return f"{v:.2f}"
        return format_value(v)

    console = Console()
    cols = result.columns
    ti = cols.index("total")
    ranked = sorted(result.rows, key=lambda r: (-(r[ti] if r[ti] is not None else float("-inf")),
                                                r[0]))
    table = Table(title=f"top {min(top, len(ranked))} of {len(ranked)} leads by total")
    for c in cols:
        table.add_column(cell(c), justify="right" if c not in ("segment", "tier") else "left")
    for r in ranked[:top]:  # keys and values are data: escaped, and never read as rich markup
        table.add_row(*[cell(text(v)) for v in r])
    console.print(table)
    tier_i = cols.index("tier")
    counts = Counter(r[tier_i] for r in result.rows)
    if any(k is not None for k in counts):
        summary = Table(title="leads per tier")
        summary.add_column("tier")
        summary.add_column("leads", justify="right")
        summary.add_column("share", justify="right")
        order = {t: i for i, t in enumerate(tier_order + ["disqualified"])}
        for tier, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)),
                                                             str(kv[0]))):
            summary.add_row(cell(tier), str(n), f"{100 * n / max(1, len(result.rows)):.1f}%")
        console.print(summary)


def _check_into(into: str, engine: str, db: str | None, option: str = "--into") -> None:
    """A usage error for an --into (or --history) name the engine cannot take, or no database
    to hold it."""
    from ..engines import DIALECTS
    from ..runtime.history import history_parts
    from ..runtime.warehouses import into_parts

    if engine not in IN_DATABASE:
        raise click.UsageError(f"{option} writes to a database: use --engine "
                               f"{' or '.join(IN_DATABASE)}")
    dialect = DIALECTS[engine]
    try:
        (into_parts if option == "--into" else history_parts)(into, dialect)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
    if db is None and dialect.default_db is None:
        raise click.UsageError(f"{option} writes a table of the --db file: give --db PATH "
                               f"(a {engine} database file, created if missing)")


def data_options(default_engine: str | None) -> Callable[[Callable], Callable]:
    """The input options of every command that scores (run, explain, diff): --leads,
    --events, --as-of, --engine, --db, --delimiter, --row-key. `default_engine` None: the
    command picks (checked_inputs)."""
    engine_help = ("Where to score: DuckDB embedded, the Python evaluator, or a SQL engine."
                   if default_engine else "Where to score: the Python evaluator (the default on "
                   "files), DuckDB (the default with --db), or another SQL engine.")
    options = [
        click.option("--leads", "leads_path", type=click.Path(),
                     help="Lead rows: CSV or Parquet. Without it, --db's tables named in the "
                          "schema."),
        click.option("--events", "events_path", type=click.Path(),
                     help="Event rows: CSV or Parquet."),
        click.option("--as-of", "as_of", default=None,
                     help="The instant to score at (ISO 8601; no offset means UTC). Default: "
                          "now."),
        click.option("--engine", type=click.Choice(list(ENGINES)), default=default_engine,
                     show_default=default_engine is not None, help=engine_help),
        click.option("--db", default=None,
                     help="Connection URL for server engines, e.g. "
                          "postgresql://postgres@127.0.0.1/test or "
                          "mysql://root@127.0.0.1:3306/test; a file path for duckdb and sqlite; "
                          "spark://HOST:7077 for a Spark standalone cluster."),
        click.option("--delimiter", default=None,
                     help="CSV delimiter (default: detected from the header)."),
        click.option("--row-key", is_flag=True,
                     help="The leads file has no key column: each row's number (its line) is "
                          "the key."),
    ]

    def apply(fn: Callable) -> Callable:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


def checked_inputs(engine: str, db: str | None, leads_path: str | None, row_key: bool,
                   delimiter: str | None) -> str | None:
    """Usage errors for a combination of data_options that cannot work; the delimiter as
    the readers take it."""
    if delimiter in ("\\t", "tab"):  # a tab is hard to type in a shell
        delimiter = "\t"
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        raise click.BadParameter("the delimiter is one character other than a quote or a line "
                                 "break (`\\t` for a tab)", param_hint="--delimiter")
    if db is not None and engine not in IN_DATABASE and engine != "spark":
        raise click.UsageError(f"--db is the database a database engine scores in (or, for spark, "
                               f"a cluster's spark:// master); --engine {engine} scores the "
                               "--leads/--events files in this process: drop --db, or use "
                               f"--engine {' or '.join(IN_DATABASE)} to score there")
    if row_key and leads_path is None:
        raise click.UsageError("--row-key numbers the rows of a --leads file")
    if leads_path is None and (db is None or engine not in IN_DATABASE):
        raise click.UsageError("pass --leads PATH, or --db with --engine "
                               f"{' or '.join(IN_DATABASE)} to score the schema's tables there")
    return delimiter


def needs_events(m: ir.Model, leads_path: str | None, events_path: str | None) -> None:
    if leads_path is not None and m.schema.has_events and events_path is None:
        raise click.UsageError("this model scores events; pass --events PATH")


@main.command(name="run")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@data_options("duckdb")
@click.option("--into", "into", default=None,
              help="Also write the results to this table of --db, atomically: TABLE or "
                   "SCHEMA.TABLE (duckdb, postgres: also CATALOG.SCHEMA.TABLE).")
@click.option("--history", "history", default=None, metavar="TABLE",
              help="Also add this run's snapshot (as_of and every column) to this history "
                   "table of --db, replacing an earlier snapshot of the same as_of.")
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write results here (.csv, .parquet or .json); otherwise show the top leads.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False),
              help="Write rejected input rows with their reasons to this CSV.")
@click.option("--accounts", "accounts_path", type=click.Path(dir_okay=False),
              help="Also write the account roll-up (the model's `account by` block) here.")
@click.option("--memory-limit", "memory_limit", default=None, metavar="SIZE",
              help="DuckDB: cap the engine's memory (e.g. 2GB); beyond it, it spills to a "
                   "temporary directory.")
@click.option("--strict", is_flag=True, help="Stop at the first bad row; write no output.")
@click.option("--top", default=20, show_default=True, help="Leads shown without --out.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also list the input columns not in the schema (ignored) and every rejected row.")
@_guard
def run_cmd(model: str, leads_path: str | None, events_path: str | None, as_of: str | None,
            engine: str, db: str | None, into: str | None, out: str | None,
            rejects_path: str | None, strict: bool, delimiter: str | None, top: int,
            accounts_path: str | None = None, verbose: bool = False, row_key: bool = False,
            memory_limit: str | None = None, history: str | None = None) -> None:
    """Score leads with their events and write one row per lead.

    \b
    Example:
      leadscore run examples/reference.score \\
        --leads examples/data/leads.csv --events examples/data/events.csv \\
        --as-of 2026-03-01T00:00:00Z --out scores.csv

    \b
    In a database, on tables the schema names (`table "crm.leads"`):
      leadscore run model.score --engine postgres \\
        --db postgresql://postgres@127.0.0.1/test --into analytics.lead_scores
    """
    from ..runtime.output import FORMATS
    from ..runtime.progress import terminal_progress
    from ..runtime.runner import score_files, score_in_database

    if out is not None and Path(out).suffix.lower() not in FORMATS + (".pq",):
        raise click.BadParameter(f"unknown output format for {out!r}; use "
                                 + ", ".join(FORMATS), param_hint="--out")
    if into is not None:
        _check_into(into, engine, db)
    if history is not None:
        if into is not None:
            raise click.UsageError("--into and --history: give one (the history holds this "
                                   "run's rows too, as its latest snapshot)")
        _check_into(history, engine, db, "--history")
    if memory_limit is not None and engine != "duckdb":
        raise click.UsageError("--memory-limit caps DuckDB's memory: use it with --engine duckdb")
    delimiter = checked_inputs(engine, db, leads_path, row_key, delimiter)
    m = compile_file(model)
    if accounts_path and m.account is None:
        raise click.UsageError("--accounts needs an `account by FIELD { ... }` block in the model")
    if accounts_path and leads_path is None:
        raise click.UsageError("--accounts works on --leads files")
    needs_events(m, leads_path, events_path)
    as_of_us, as_of_text = _as_of(as_of)
    if leads_path is None:
        result = score_in_database(m, as_of_us, engine, db, into, out, memory_limit, history)
    else:
        bar = terminal_progress()  # None unless stderr is an interactive terminal
        try:
            result = score_files(m, leads_path, events_path, as_of_us, engine, delimiter, strict,
                                 db, into, progress=bar, row_key=row_key, out=out,
                                 accounts=accounts_path, memory_limit=memory_limit,
                                 history=history)
        finally:  # erased before the summary or an error message takes the line
            if bar is not None:
                bar.close()
    for line in _summary(result, as_of_text, engine):
        click.echo(line, err=True)
    if verbose:
        for side, path, data in (("leads", leads_path, result.leads),
                                 ("events", events_path, result.events)):
            extra = getattr(data, "extra", None)
            if extra:
                click.echo(f"{side}: {shown(path)}: {len(extra)} column"
                           f"{'s' if len(extra) != 1 else ''} not in the schema (ignored): "
                           f"{shown(', '.join(extra))}", err=True)
    if result.rejects:
        listed = result.rejects if verbose else result.rejects[:10]
        for r in listed:
            click.echo(f"  rejected {shown(r)}", err=True)
        if len(result.rejects) > len(listed):
            click.echo(f"  ... and {len(result.rejects) - len(listed)} more"
                       + ("" if rejects_path else " (write them all with --rejects PATH)"),
                       err=True)
    if rejects_path:
        _write_rejects(rejects_path, result.rejects)
    if into is not None:
        click.echo(f"wrote {result.count} rows to table {shown(into)}", err=True)
    if history is not None:
        click.echo(f"wrote {result.count} rows to history {shown(history)} as of "
                   f"{shown(as_of_text)}", err=True)
    if accounts_path:
        click.echo(f"wrote {result.accounts_count} accounts to {shown(accounts_path)}", err=True)
    if out:
        click.echo(f"wrote {result.count} rows to {shown(out)}", err=True)
    elif into is None and result.rows is not None:
        tier_order: list[str] = []
        for names in m.tiers.values():
            tier_order += [t for t in names if t not in tier_order]
        _show_table(result, top, tier_order)

