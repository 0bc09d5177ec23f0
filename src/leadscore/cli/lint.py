"""`leadscore lint`: domain rules over rule files (docs/lint.md)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..compiler import CompileError, read_source
from ..lint import RULES, ConfigError, LintConfig, find_pyproject, fix_source, lint_source, load
from ..lint.config import FAIL_ON
from ..lint.engine import LintResult, compile_failure
from ..lint.output import FORMATS, as_json, github, sarif, text
from ..lint.registry import RANK, Finding
from .common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    STDIN,
    _color,
    _guard,
    main,
    read_stdin,
    shown,
    stdin_filename_option,
    stdin_name,
)
from .fmt import _write_atomic


def _expand(models: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for m in models:
        p = Path(m)
        if m == STDIN:
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(p.rglob("*.score")))
        elif p.exists():
            files.append(p)
        else:
            raise click.BadParameter(f"{m}: no such file or directory", param_hint="MODELS")
    return files


def _words(values: tuple[str, ...]) -> list[str]:
    return [w for v in values for w in v.replace(",", " ").split()]


def _list_rules() -> str:
    rows = [f"{r.code}  {r.name:<28} {r.severity:<8} {'fix' if r.fixable else '   '}  {r.summary}"
            for r in sorted(RULES.values(), key=lambda r: r.code)]
    return "\n".join(rows)


def _lint_one(path: Path, name: str, cfg: LintConfig, fixing: bool
              ) -> tuple[LintResult, str | None, str | None, int]:
    """Lint (and when `fixing`, fix) one model: its result, its text (None when it could not
    be read), the fixed text, and how many findings were fixed."""
    try:
        before = read_stdin(name) if str(path) == STDIN else read_source(path)
    except CompileError as err:
        return compile_failure(err, name), None, None, 0
    if not fixing:
        return lint_source(before, name, cfg), before, before, 0
    fixed = fix_source(before, name, cfg)
    return fixed.result, before, fixed.text, len(fixed.applied)


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
@click.option("--list-rules", is_flag=True, help="Print every rule's code, name, severity, "
              "whether it has an automatic fix, and its summary, and exit.")
@click.option("--fix", is_flag=True, help="Make every mechanical fix (docs/lint.md says which "
              "rules have one), rewriting the files in place; report what is left. With `-`, "
              "the fixed model goes to standard output and the findings to standard error.")
@click.option("--diff", "show_diff", is_flag=True, help="Change nothing; print a unified diff "
              "of what --fix would change, and exit 1 if it would change something.")
@stdin_filename_option
@_guard
def lint(models: tuple[str, ...], fmt: str, fail_on: str | None, select: tuple[str, ...],
         ignore: tuple[str, ...], config_path: str | None, isolated: bool,
         list_rules: bool, fix: bool, show_diff: bool, stdin_filename: str | None) -> None:
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
      leadscore lint --fix models/
      leadscore lint - --stdin-filename models/b2b.score < buffer.score
    """
    if list_rules:
        click.echo(_list_rules())
        return
    if not models:
        raise click.UsageError("give at least one rule file (or --list-rules)")
    if fix and show_diff:
        raise click.UsageError("--fix writes the fixes and --diff only shows them: give one")
    name = stdin_name(models, stdin_filename)
    files = _expand(models)
    configs: dict[str, LintConfig] = {}
    findings: list[Finding] = []
    sources: dict = {}
    failed = changed = False
    to_stdout = fix and STDIN in models  # the fixed model is the output: findings go aside
    try:
        for path in files:
            stdin = str(path) == STDIN
            where = Path(name).parent if stdin else path.parent
            pyproject = (None if isolated else Path(config_path) if config_path
                         else find_pyproject(where))
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
            result, before, after, count = _lint_one(path, name if stdin else str(path), cfg,
                                                     fix or show_diff)
            shown_as = shown(name if stdin else path)
            changed = changed or after != before
            if show_diff and after != before:
                click.echo("".join(difflib.unified_diff(
                    (before or "").splitlines(keepends=True),
                    (after or "").splitlines(keepends=True),
                    fromfile=shown_as, tofile=f"{shown_as} (fixed)")), nl=False)
            elif fix and stdin and after is not None:
                click.echo(after, nl=False)  # fixed or not, the model is the output
            elif fix and after != before and after is not None:
                _write_atomic(path, after)
            if fix and count:
                click.echo(f"fixed {count} finding{'s' if count != 1 else ''} in {shown_as}",
                           err=to_stdout)
            sources.update(result.sources)
            findings.extend(result.findings)
            if cfg.fail_on != "never" and any(RANK[f.severity] >= RANK[cfg.fail_on]
                                              for f in result.findings):
                failed = True
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_USAGE)
    if show_diff:  # the diff is the output; exit 1 when --fix would change something
        sys.exit(EXIT_FINDINGS if changed else 0)
    out = sys.stderr if to_stdout else sys.stdout
    if fmt == "text":
        click.echo(text(findings, sources, len(files), _color(out)), err=to_stdout)
    elif fmt == "json":
        click.echo(as_json(findings, len(files)), err=to_stdout)
    elif fmt == "github":
        report = github(findings)
        if report:
            click.echo(report, err=to_stdout)
    else:
        click.echo(sarif(findings), err=to_stdout)
    if failed:
        sys.exit(EXIT_FINDINGS)
