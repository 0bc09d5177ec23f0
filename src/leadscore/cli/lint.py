"""`leadscore lint`: domain rules over rule files (docs/lint.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..lint import RULES, ConfigError, LintConfig, find_pyproject, lint_file, load
from ..lint.config import FAIL_ON
from ..lint.output import FORMATS, as_json, github, sarif, text
from ..lint.registry import RANK, Finding
from .common import EXIT_FINDINGS, EXIT_USAGE, _color, _guard, main


def _expand(models: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for m in models:
        p = Path(m)
        if p.is_dir():
            files.extend(sorted(p.rglob("*.score")))
        elif p.exists():
            files.append(p)
        else:
            raise click.BadParameter(f"{m}: no such file or directory", param_hint="MODELS")
    return files


def _words(values: tuple[str, ...]) -> list[str]:
    return [w for v in values for w in v.replace(",", " ").split()]


def _list_rules() -> str:
    rows = [f"{r.code}  {r.name:<28} {r.severity:<8} {r.summary}" for r in
            sorted(RULES.values(), key=lambda r: r.code)]
    return "\n".join(rows)


@main.command()
@click.argument("models", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text (source line and caret), json, github (workflow annotations), sarif.")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="Exit 1 when a finding is at least this severe [default: warning, or the "
                   "config's fail-on].")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these rules: codes, prefixes (LS1) or names, comma-separated.")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Skip these rules, on top of the config's ignore list.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Read settings from this pyproject.toml instead of the nearest one.")
@click.option("--isolated", is_flag=True, help="Ignore every pyproject.toml.")
@click.option("--list-rules", is_flag=True, help="Print every rule's code, name, severity and "
              "summary, and exit.")
@_guard
def lint(models: tuple[str, ...], fmt: str, fail_on: str | None, select: tuple[str, ...],
         ignore: tuple[str, ...], config_path: str | None, isolated: bool,
         list_rules: bool) -> None:
    """Find mistakes in scoring models: unreachable tiers, score inflation, shadowed
    segments, contradictory gates, unused names and more (docs/lint.md).

    Exit 0 when no finding reaches --fail-on, 1 when one does, 2 on usage errors.
    Settings come from [tool.leadscore.lint] in the nearest pyproject.toml; a finding is
    suppressed with a comment on its line (or alone on the line before):
    `# leadscore: ignore[LS103]`.

    \b
    Examples:
      leadscore lint examples/reference.score
      leadscore lint models/ --format github --fail-on error
      leadscore lint model.score --select LS1 --ignore uncapped-repeatable-rule
    """
    if list_rules:
        click.echo(_list_rules())
        return
    if not models:
        raise click.UsageError("give at least one rule file (or --list-rules)")
    files = _expand(models)
    configs: dict[str, LintConfig] = {}
    findings: list[Finding] = []
    sources: dict = {}
    failed = False
    try:
        for path in files:
            pyproject = (None if isolated else Path(config_path) if config_path
                         else find_pyproject(path.parent))
            key = str(pyproject)
            if key not in configs:
                cfg = load(pyproject)
                if select:
                    cfg.select = _words(select)
                if ignore:
                    cfg.ignore = cfg.ignore + _words(ignore)
                if fail_on:
                    cfg.fail_on = fail_on
                configs[key] = cfg.validate()
            cfg = configs[key]
            result = lint_file(path, cfg)
            sources.update(result.sources)
            findings.extend(result.findings)
            if cfg.fail_on != "never" and any(RANK[f.severity] >= RANK[cfg.fail_on]
                                              for f in result.findings):
                failed = True
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_USAGE)
    if fmt == "text":
        click.echo(text(findings, sources, len(files), _color(sys.stdout)))
    elif fmt == "json":
        click.echo(as_json(findings, len(files)))
    elif fmt == "github":
        out = github(findings)
        if out:
            click.echo(out)
    else:
        click.echo(sarif(findings))
    if failed:
        sys.exit(EXIT_FINDINGS)
