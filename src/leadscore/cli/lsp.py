"""`leadscore lsp`: the language server, over standard input and output."""

from __future__ import annotations

from .common import EXIT_USAGE, _fail, _guard, main


@main.command()
@_guard
def lsp() -> None:
    """Run the language server for editors, speaking LSP over standard input and output.

    Diagnostics from check and lint as you type, hover, go to definition, references,
    rename, completion, formatting, lint fixes and a compiled-SQL preview (docs/editors.md).
    Editors start it themselves; it needs the `lsp` extra: pip install 'leadscore[lsp]'.

    \b
    Example (what an editor runs; Neovim: cmd = { "leadscore", "lsp" }):
      leadscore lsp
    """
    try:
        from ..lsp.server import serve
    except ImportError as err:
        if err.name not in ("pygls", "lsprotocol") and not (err.name or "").startswith("pygls."):
            raise
        _fail("the language server needs pygls: pip install 'leadscore[lsp]'", EXIT_USAGE)
    serve()
