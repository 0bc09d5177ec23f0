"""`leadscore engines`: the engine support table."""

from __future__ import annotations

import click

from .common import main


@main.command()
def engines() -> None:
    """Print the engine support table (docs/engines.md) as Markdown.

    \b
    Example:
      leadscore engines > docs/engines.md
    """
    from ..backends.support import support_markdown

    click.echo(support_markdown(), nl=False)
