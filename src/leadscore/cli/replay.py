"""`leadscore replay`: fill a history table as if the model had always run."""

from __future__ import annotations

import re

import click

from ..compiler import compile_file
from ..runtime.engines import ENGINES
from .common import IN_DATABASE, _as_of, _guard, main, shown
from .run import _check_into, _summary

# How many snapshots one replay writes at most: a year of days, with room to spare. A range
# beyond it is almost always a typo in --every (7h for 7d).
MAX_SNAPSHOTS = 1000
_STEP = re.compile(r"([1-9][0-9]{0,5})([dhw])\Z")
_STEP_US = {"h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000}


def step_us(text: str, option: str = "--every") -> int:
    """A span such as `7d`, `12h` or `2w` in microseconds; a click error naming `option` for
    anything else (calibrate's back-test reads its --every and --horizon with it too)."""
    found = _STEP.match(text)
    if found is None:
        raise click.BadParameter(f"{text!r}: write a whole number and a unit, d (days), h "
                                 "(hours) or w (weeks), e.g. 7d", param_hint=option)
    return int(found[1]) * _STEP_US[found[2]]


def replay_instants(start_us: int, end_us: int, every: str) -> list[int]:
    """The as_of instants from `start_us` to `end_us` (both included when on the step), every
    `every` (`7d`, `12h`, `2w`); a click error for a step or range it cannot take."""
    step = step_us(every)
    if end_us < start_us:
        raise click.BadParameter("--to comes before --from", param_hint="--to")
    count = (end_us - start_us) // step + 1
    if count > MAX_SNAPSHOTS:
        raise click.BadParameter(f"{count} snapshots from --from to --to every {every}: at most "
                                 f"{MAX_SNAPSHOTS} in one replay", param_hint="--every")
    return [start_us + i * step for i in range(count)]


@main.command(name="replay")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--leads", "leads_path", type=click.Path(),
              help="Lead rows: CSV or Parquet. Without it, --db's tables named in the schema.")
@click.option("--events", "events_path", type=click.Path(), help="Event rows: CSV or Parquet.")
@click.option("--from", "start", required=True, help="The first as_of (ISO 8601).")
@click.option("--to", "end", required=True, help="The last as_of at most (ISO 8601).")
@click.option("--every", default="7d", show_default=True,
              help="The step between snapshots: 7d, 12h, 2w.")
@click.option("--engine", type=click.Choice([e for e in ENGINES if e in IN_DATABASE]),
              default="duckdb", show_default=True, help="The database engine that holds the history.")
@click.option("--db", default=None,
              help="The database: a file for duckdb and sqlite, a URL for postgres and mysql.")
@click.option("--history", "history", required=True, metavar="TABLE",
              help="The history table to fill (created if missing): TABLE or SCHEMA.TABLE.")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header).")
@click.option("--strict", is_flag=True, help="Stop at the first bad row; write nothing.")
@_guard
def replay_cmd(model: str, leads_path: str | None, events_path: str | None, start: str, end: str,
               every: str, engine: str, db: str | None, history: str, delimiter: str | None,
               strict: bool) -> None:
    """Score every as_of from --from to --to and add each snapshot to a history table.

    \b
    Example:
      leadscore replay examples/reference.score \\
        --leads examples/data/leads.csv --events examples/data/events.csv \\
        --from 2026-01-04 --to 2026-03-01 --every 7d --db history.duckdb --history scores
    """
    from ..runtime.progress import terminal_progress
    from ..runtime.runner import score_files, score_in_database

    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    start_us, _ = _as_of_option(start, "--from")
    end_us, _ = _as_of_option(end, "--to")
    as_ofs = tuple(replay_instants(start_us, end_us, every))
    _check_into(history, engine, db, "--history")
    if leads_path is None and db is None:
        raise click.UsageError("pass --leads PATH, or --db to replay the schema's tables there")
    m = compile_file(model)
    if leads_path is not None and m.schema.has_events and events_path is None:
        raise click.UsageError("this model scores events; pass --events PATH")
    bar = terminal_progress()
    try:
        if leads_path is None:
            result = score_in_database(m, as_ofs[-1], engine, db, history=history, as_ofs=as_ofs,
                                       progress=bar, fetch=False)
        else:
            result = score_files(m, leads_path, events_path, as_ofs[-1], engine, delimiter,
                                 strict, db, progress=bar, history=history, as_ofs=as_ofs,
                                 fetch=False)
    finally:
        if bar is not None:
            bar.close()
    from ..runtime.history import iso

    for line in _summary(result, f"{iso(as_ofs[0])} .. {iso(as_ofs[-1])} every {every}", engine):
        click.echo(line, err=True)
    click.echo(f"wrote {result.count} rows in {len(as_ofs)} snapshots to history "
               f"{shown(history)}", err=True)


def _as_of_option(value: str, option: str) -> tuple[int, str]:
    try:
        return _as_of(value)
    except click.BadParameter as err:
        raise click.BadParameter(err.message, param_hint=option) from None
