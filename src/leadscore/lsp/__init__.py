"""The language server behind `leadscore lsp` (docs/editors.md): diagnostics, hover, navigation,
rename, completion, formatting, code actions and the compiled SQL of `.score` files.

`analysis` is what the server knows about a file, without any editor protocol; `server` speaks
LSP over stdio with pygls (the `lsp` extra).
"""
