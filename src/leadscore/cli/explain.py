"""`leadscore explain`: one lead's (or one account's) score, step by step."""

from __future__ import annotations

import json

import click

from ..compiler import compile_file
from ..runtime.data import DataError
from .common import _as_of, _guard, main, shown, shown_json
from .run import checked_inputs, data_options, needs_events


@main.command(name="explain")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--lead", "key", default=None, help="The key of the lead to explain.")
@click.option("--account", "account", default=None,
              help="Explain this account instead (the model's `account by` block): its members' "
                   "contributions, its rules and tiers.")
@data_options(None)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@click.option("--all-rules", is_flag=True,
              help="Also list the rules that gave nothing and the conditions that do not hold.")
@_guard
def explain_cmd(model: str, key: str | None, account: str | None, leads_path: str | None,
                events_path: str | None, as_of: str | None, engine: str | None, db: str | None,
                delimiter: str | None, row_key: bool, fmt: str, all_rules: bool) -> None:
    """Show why a lead has its score: rules, events, caps, decay, gates, tier.

    \b
    Examples:
      leadscore explain examples/reference.score --lead L0257 \\
        --leads examples/data/leads.csv --events examples/data/events.csv \\
        --as-of 2026-03-01T00:00:00Z
      leadscore explain model.score --lead L0257 --db scores.duckdb --format markdown
    """
    from ..runtime.data import empty_events, read_events, read_leads
    from ..runtime.engines import EVALUATORS

    if (key is None) == (account is None):
        raise click.UsageError("give --lead KEY, or --account KEY")
    engine = engine or ("duckdb" if db else "python")
    delimiter = checked_inputs(engine, db, leads_path, row_key, delimiter)
    m = compile_file(model)
    needs_events(m, leads_path, events_path)
    if account is not None and m.account is None:
        raise click.UsageError("--account needs an `account by FIELD { ... }` block in the model")
    as_of_us, as_of_text = _as_of(as_of)
    leads = events = None
    if leads_path is not None:
        leads = read_leads(leads_path, m.schema, delimiter, row_key=row_key)
        events = (read_events(events_path, m.schema, delimiter) if events_path and
                  m.schema.has_events else empty_events(m.schema))
        if key is not None and key not in leads.keys:
            raise DataError(f"no lead with key {key!r} in {leads_path}")
    if account is not None:
        _explain_account(m, leads, events, account, as_of_us, as_of_text, engine, db, fmt,
                         all_rules)
        return
    from ..runtime.explain import explain, explain_sql, render_markdown, render_text

    if engine in EVALUATORS:
        ex = explain(m, leads, events, key, as_of_us)
    else:
        ex = explain_sql(m, engine, key, as_of_us, leads, events, db)
    if fmt == "json":
        click.echo(shown_json(json.dumps({"as_of": as_of_text, "engine": engine, **ex.to_json()},
                                         indent=2, ensure_ascii=False)))
    elif fmt == "markdown":  # the key, the labels and the values are data: escaped
        text = render_markdown(ex, as_of_text, all_rules)
        click.echo("\n".join(shown(line) for line in text.split("\n")), nl=False)
    else:
        click.echo(render_text(ex, as_of_text, all_rules, safe=shown), nl=False)


def _explain_account(m, leads, events, account: str, as_of_us: int, as_of_text: str,
                     engine: str, db: str | None, fmt: str, all_rules: bool) -> None:
    from ..runtime.engines import EVALUATORS
    from ..runtime.explain import (
        explain_account,
        explain_account_sql,
        render_account_markdown,
        render_account_text,
    )

    if engine in EVALUATORS:
        ex = explain_account(m, leads, events, account, as_of_us)
    else:
        ex = explain_account_sql(m, engine, account, as_of_us, leads, events, db)
    if fmt == "json":
        click.echo(shown_json(json.dumps({"as_of": as_of_text, "engine": engine, **ex.to_json()},
                                         indent=2, ensure_ascii=False)))
    elif fmt == "markdown":
        text = render_account_markdown(ex, as_of_text, all_rules)
        click.echo("\n".join(shown(line) for line in text.split("\n")), nl=False)
    else:
        click.echo(render_account_text(ex, as_of_text, all_rules, safe=shown), nl=False)
