"""`leadscore lsp`: the language server over stdio (pygls).

Every open document is compiled on a worker thread after a pause in typing (DEBOUNCE_S; the
newest version wins), and its check diagnostics are published; lint then runs on a second
thread and the diagnostics are published again with its findings. Queries (hover,
definition, references, completion) answer from the last analysis of the document. All
parsing happens on the one compile thread: Lark's lexer callbacks (the comments of the
file being parsed) are not shared between threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types as t
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
)
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..compiler import CompileError, compile_source
from ..compiler.diagnostics import Span
from ..compiler.imports import MODEL_SUFFIX, read_regular
from ..compiler.names import ALLOWED, is_plain
from ..fmt import FormatError, format_source
from ..fmt.names import keywords
from ..lint import ConfigError, LintConfig, find_pyproject, load
from . import analysis as an

DEBOUNCE_S = 0.2  # a pause in typing this long compiles the buffer
MAX_WORKSPACE_FILES = 2_000  # .score files read when looking for a base model's importers
SHOW_SQL = "leadscore.showSql"
FIX_ALL = "source.fixAll.leadscore"  # the code action kind, as ruff names its own
FIX_ALL_COMMAND = "leadscore.fixAll"
FIX_ALL_TITLE = "Fix every leadscore lint finding that has a fix"

log = logging.getLogger(__name__)

_SEVERITY = {"error": t.DiagnosticSeverity.Error, "warning": t.DiagnosticSeverity.Warning,
             "info": t.DiagnosticSeverity.Information}
_KIND = {"keyword": t.CompletionItemKind.Keyword, an.LET: t.CompletionItemKind.Variable,
         an.SCORE: t.CompletionItemKind.Function, an.LEAD_FIELD: t.CompletionItemKind.Field,
         an.EVENT_FIELD: t.CompletionItemKind.Field, an.EVENT_TYPE: t.CompletionItemKind.EnumMember,
         an.SEGMENT: t.CompletionItemKind.Enum, an.TIER: t.CompletionItemKind.Constant,
         "type": t.CompletionItemKind.TypeParameter}


class ScoreServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("leadscore", __version__)
        self.analyses: dict[str, an.Analysis] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.compiler = ThreadPoolExecutor(1, thread_name_prefix="leadscore-compile")
        self.linter = ThreadPoolExecutor(1, thread_name_prefix="leadscore-lint")
        self.lint_enabled = True
        self.docs_url: str | None = an.local_docs()

    # ---------------------------------------------------------------- files and positions
    def path_of(self, uri: str) -> str:
        """The file a document is; an unsaved one (`untitled:`) is a model without a file,
        named `<uri>`, whose imports resolve from the server's working directory."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return os.path.abspath(path) if path else f"<{uri}>"

    def uri_of(self, a: an.Analysis, uri: str, path: str) -> str:
        return uri if path == a.path else Path(path).absolute().as_uri()

    def overlay(self, but: str) -> dict[str, str]:
        """The unsaved text of every open document but `but`, by resolved path."""
        out = {}
        for doc in list(self.workspace.text_documents.values()):
            if doc.uri != but and doc.uri.startswith("file:"):
                out[str(Path(self.path_of(doc.uri)).resolve())] = doc.source
        return out

    def range_of(self, span: Span, lines: list[str]) -> t.Range:
        return t.Range(self._position(span.line, span.column, lines),
                       self._position(span.end_line, span.end_column, lines))

    def _position(self, line: int, column: int, lines: list[str]) -> t.Position:
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        units = self.workspace.position_codec.client_num_units(text[:max(column - 1, 0)])
        return t.Position(max(line - 1, 0), units)

    def location(self, a: an.Analysis, uri: str, span: Span) -> t.Location:
        return t.Location(self.uri_of(a, uri, span.path), self.range_of(span, a.lines(span.path)))

    def cursor(self, uri: str, position: t.Position) -> tuple[str, int, int]:
        """(text, line, column) of an LSP position, in the compiler's 1-based code points."""
        doc = self.workspace.get_text_document(uri)
        lines = doc.source.split("\n")
        pos = self.workspace.position_codec.position_from_client_units(lines, position)
        return doc.source, pos.line + 1, pos.character + 1

    def current(self, uri: str) -> an.Analysis:
        a = self.analyses.get(uri)
        if a is None:
            doc = self.workspace.get_text_document(uri)
            a = an.Analysis(self.path_of(uri), doc.source, doc.version, parsed=False)
        return a

    # ---------------------------------------------------------------- analysis
    def schedule(self, uri: str, delay: float, cascade: bool = True) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(
            self._refresh(uri, delay, cascade))

    async def _refresh(self, uri: str, delay: float, cascade: bool) -> None:
        await asyncio.sleep(delay)
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return
        loop = asyncio.get_running_loop()
        version, path = doc.version, self.path_of(uri)
        try:
            a = await loop.run_in_executor(self.compiler, an.analyze, doc.source, path, version,
                                           self.overlay(uri))
        except Exception:  # a bug of ours: keep the last analysis, say so in the log
            log.exception("analysis of %s failed", path)
            return
        if self.workspace.text_documents.get(uri) is not doc or doc.version != version:
            return  # a newer version is on its way
        a.keep_index(self.analyses.get(uri))
        self.analyses[uri] = a
        self.publish(uri, a)
        if cascade:
            self.refresh_importers(uri)
        if not self.lint_enabled or a.result is None or a.result.checked is None:
            return
        try:
            await loop.run_in_executor(self.linter, self._lint, uri, a, self.lint_config(path))
        except Exception:
            log.exception("lint of %s failed", path)
            return
        if self.analyses.get(uri) is a:
            self.publish(uri, a)

    def _lint(self, uri: str, a: an.Analysis, config: LintConfig) -> None:
        """Lint `a` on the lint thread, unless a newer text has been analysed meanwhile (lint of
        a large model takes seconds: jobs for texts already replaced are not run)."""
        if self.analyses.get(uri) is a:
            an.lint(a, config)

    def refresh_importers(self, uri: str) -> None:
        """Open files importing this one see its new text (or, once it is closed, the disk's)."""
        key = str(Path(self.path_of(uri)).resolve())
        for other, b in list(self.analyses.items()):
            if other != uri and any(str(Path(f).resolve()) == key for f in b.files[1:]):
                self.schedule(other, 0, cascade=False)

    def lint_config(self, path: str) -> LintConfig:
        """[tool.leadscore.lint] of the pyproject.toml nearest the file, as `leadscore lint`."""
        try:
            return load(find_pyproject(Path(path).parent)).validate()
        except ConfigError as err:
            self.window_show_message(t.ShowMessageParams(t.MessageType.Warning,
                                                         f"leadscore lint settings: {err}"))
            return LintConfig()

    def publish(self, uri: str, a: an.Analysis) -> None:
        lines = a.lines(a.path)
        # where a problem inside an imported file is shown: the first import (from the text
        # itself when its imports could not be read)
        first = next((n for n, line in enumerate(lines, 1) if an.IMPORT_LINE.match(line)), 1)
        imports = Span(a.path, first, 1, first, len(lines[first - 1]) + 1)
        out = []
        for p in a.problems:
            related = [t.DiagnosticRelatedInformation(self.location(a, uri, s), m)
                       for s, m in p.related]
            span, message = p.span, p.message
            if span.path != a.path:  # in an imported file: shown on the import, located there
                related.insert(0, t.DiagnosticRelatedInformation(self.location(a, uri, span),
                                                                 message))
                message = f"{span}: {message}"
                span = imports
            href = an.rule_doc_url(self.docs_url, p.code)
            out.append(t.Diagnostic(
                self.range_of(span, lines), message, _SEVERITY[p.severity], p.code,
                t.CodeDescription(href) if href else None, "leadscore",
                related_information=related or None))
        self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri, out, a.version))

    async def on_compiler(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.compiler, fn, *args)

    # ---------------------------------------------------------------- rename across files
    async def importers(self, a: an.Analysis, key: an.Key) -> list[an.Analysis]:
        """Analyses of the workspace's other rule files that import a file declaring `key`."""
        declaring = {str(Path(o.span.path).resolve()) for o in a.declarations(key)}
        seen = {str(Path(f).resolve()) for f in a.files}
        out = []
        for path in self.workspace_files():
            resolved = str(path.resolve())
            if resolved in seen:
                continue
            seen.add(resolved)
            uri = path.absolute().as_uri()
            doc = self.workspace.text_documents.get(uri)
            text = doc.source if doc is not None else await self.on_compiler(read_regular, path)
            if text is None or "import" not in text or key[1] not in text:
                continue
            b = await self.on_compiler(an.analyze, text, str(path.absolute()), None,
                                       self.overlay(uri))
            if declaring & {str(Path(f).resolve()) for f in b.files[1:]}:
                out.append(b)
        return out

    def workspace_files(self) -> list[Path]:
        """The workspace's rule files (hidden folders and node_modules left out)."""
        roots = [to_fs_path(f.uri) for f in (self.workspace.folders or {}).values()]
        if not roots and self.workspace.root_path:
            roots = [self.workspace.root_path]
        files: list[Path] = []
        for root in filter(None, roots):
            for folder, dirs, names in os.walk(root):
                dirs[:] = [d for d in dirs if not d.startswith(".") and d != "node_modules"]
                for name in names:
                    if not name.endswith(MODEL_SUFFIX):
                        continue
                    if len(files) >= MAX_WORKSPACE_FILES:
                        return files
                    files.append(Path(folder, name))
        return files

    def configure(self, options: object) -> None:
        """The settings (docs/editors.md): `lint` (default true) and `docsUrl`, the base of
        the links from lint findings to their rule's documentation."""
        if not isinstance(options, dict):
            return
        if "lint" in options:
            self.lint_enabled = bool(options["lint"])
        if isinstance(options.get("docsUrl"), str):
            self.docs_url = options["docsUrl"].rstrip("/") + "/"


server = ScoreServer()


@server.feature(t.INITIALIZE)
def initialize(ls: ScoreServer, params: t.InitializeParams) -> None:
    ls.configure(params.initialization_options)


@server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: ScoreServer, params: t.DidChangeConfigurationParams) -> None:
    settings = params.settings
    ls.configure(settings.get("leadscore") if isinstance(settings, dict) else None)
    for uri in list(ls.analyses):
        ls.schedule(uri, 0, cascade=False)


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: ScoreServer, params: t.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: ScoreServer, params: t.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE_S)


@server.feature(t.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: ScoreServer, params: t.DidSaveTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: ScoreServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.analyses.pop(uri, None)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri, []))
    ls.refresh_importers(uri)


@server.feature(t.TEXT_DOCUMENT_HOVER)
def hover(ls: ScoreServer, params: t.HoverParams) -> t.Hover | None:
    uri = params.text_document.uri
    a = ls.current(uri)
    _, line, col = ls.cursor(uri, params.position)
    found = an.hover(a, a.path, line, col)
    if found is None:
        return None
    text, span = found
    return t.Hover(t.MarkupContent(t.MarkupKind.Markdown, text),
                   ls.range_of(span, a.lines(a.path)))


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def definition(ls: ScoreServer, params: t.DefinitionParams) -> list[t.Location] | None:
    uri = params.text_document.uri
    a = ls.current(uri)
    _, line, col = ls.cursor(uri, params.position)
    o = a.at(a.path, line, col)
    if o is None:
        target = an.import_at(a, line, col)
        start = t.Position(0, 0)
        return [t.Location(target.as_uri(), t.Range(start, start))] if target else None
    return [ls.location(a, uri, d.span) for d in a.declarations(o.key)] or None


@server.feature(t.TEXT_DOCUMENT_REFERENCES)
async def references(ls: ScoreServer, params: t.ReferenceParams) -> list[t.Location] | None:
    uri = params.text_document.uri
    a = ls.current(uri)
    _, line, col = ls.cursor(uri, params.position)
    o = a.at(a.path, line, col)
    if o is None:
        return None
    found = await _everywhere(ls, a, uri, o.key, params.context.include_declaration)
    return [t.Location(u, r) for u, r in found]


async def _everywhere(ls: ScoreServer, a: an.Analysis, uri: str, key: an.Key,
                      declarations: bool) -> list[tuple[str, t.Range]]:
    """Every occurrence of `key` in this model and in the workspace's files importing the file
    that declares it, as (uri, range), each once."""
    out: dict[tuple[str, int, int, int, int], tuple[str, t.Range]] = {}
    for b in [a, *await ls.importers(a, key)]:
        for o in b.references(key, declarations):
            loc = ls.location(b, uri if b is a else Path(b.path).as_uri(), o.span)
            r = loc.range
            out.setdefault((loc.uri, r.start.line, r.start.character, r.end.line, r.end.character),
                           (loc.uri, r))
    return list(out.values())


@server.feature(t.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: ScoreServer, params: t.PrepareRenameParams):
    uri = params.text_document.uri
    a = ls.current(uri)
    _, line, col = ls.cursor(uri, params.position)
    o = a.at(a.path, line, col)
    if o is None:
        return None
    if o.key[0] not in an.RENAMEABLE:
        raise JsonRpcInvalidRequest(f"only lets and scores can be renamed; `{o.key[1]}` is "
                                    f"{'an' if o.key[0][0] in 'aeiou' else 'a'} {o.key[0]}")
    return t.PrepareRenamePlaceholder(ls.range_of(o.span, a.lines(a.path)), o.key[1])


@server.feature(t.TEXT_DOCUMENT_RENAME)
async def rename(ls: ScoreServer, params: t.RenameParams) -> t.WorkspaceEdit | None:
    uri = params.text_document.uri
    a = ls.current(uri)
    _, line, col = ls.cursor(uri, params.position)
    o = a.at(a.path, line, col)
    if o is None or o.key[0] not in an.RENAMEABLE:
        raise JsonRpcInvalidRequest("only lets and scores can be renamed")
    new = params.new_name
    if not is_plain(new) or new in keywords():
        raise JsonRpcInvalidParams(f"`{new}` is not a name a let or score can have ({ALLOWED}; "
                                   "not a keyword)")
    taken = {k[1] for k in {x.key for x in a.occurrences if x.declaration}}
    if new in taken:
        raise JsonRpcInvalidParams(f"`{new}` is already a name in this model")
    changes: dict[str, list[t.TextEdit]] = {}
    for u, r in await _everywhere(ls, a, uri, o.key, True):
        changes.setdefault(u, []).append(t.TextEdit(r, new))
    return t.WorkspaceEdit(changes=changes)


@server.feature(t.TEXT_DOCUMENT_COMPLETION,
                t.CompletionOptions(trigger_characters=["|"]))
async def completion(ls: ScoreServer, params: t.CompletionParams) -> t.CompletionList:
    uri = params.text_document.uri
    a = ls.current(uri)
    text, line, col = ls.cursor(uri, params.position)
    items = await ls.on_compiler(an.completion, a, text, line, col, ls.overlay(uri))
    return t.CompletionList(False, [t.CompletionItem(c.label, kind=_KIND.get(c.kind),
                                                     detail=c.detail or c.kind) for c in items])


@server.feature(t.TEXT_DOCUMENT_FORMATTING)
async def formatting(ls: ScoreServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    text = doc.source
    try:
        after = await ls.on_compiler(format_source, text, ls.path_of(uri))
    except (CompileError, FormatError):
        return None  # a file that does not parse is left as it is (`leadscore fmt` too)
    if after == text:
        return []
    return [_whole(ls, text, after)]


def _whole(ls: ScoreServer, before: str, after: str) -> t.TextEdit:
    lines = before.split("\n")
    end = ls._position(len(lines), len(lines[-1]) + 1, lines)
    return t.TextEdit(t.Range(t.Position(0, 0), end), after)


@server.feature(t.TEXT_DOCUMENT_CODE_ACTION,
                t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix, FIX_ALL],
                                    resolve_provider=True))
def code_action(ls: ScoreServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
    """A quick fix for each finding in the range that has one (its edits are at hand), and
    "fix all", whose text costs lint rounds (seconds on a large model): worked out only when
    chosen, by codeAction/resolve or, for a client without it, the command FIX_ALL_COMMAND."""
    uri = params.text_document.uri
    a = ls.analyses.get(uri)
    doc = ls.workspace.get_text_document(uri)
    if a is None or a.version != doc.version or not a.linted:
        return None  # the findings are of another version of the text
    lines = a.lines(a.path)
    want = params.range
    out: list[t.CodeAction] = []
    fixable = False
    for p in a.problems:
        fix = getattr(p.finding, "fix", None)
        if fix is None or p.span.path != a.path:
            continue
        fixable = True
        r = ls.range_of(p.span, lines)
        if (r.end.line, r.end.character) < (want.start.line, want.start.character) or \
                (r.start.line, r.start.character) > (want.end.line, want.end.character):
            continue
        edits = [t.TextEdit(ls.range_of(e.span, lines), e.text) for e in fix.edits]
        out.append(t.CodeAction(fix.title, t.CodeActionKind.QuickFix,
                                edit=t.WorkspaceEdit(changes={uri: edits})))
    if fixable:
        data = {"uri": uri, "version": doc.version}
        if _resolves_edits(ls):
            out.append(t.CodeAction(FIX_ALL_TITLE, FIX_ALL, data=data))
        else:
            out.append(t.CodeAction(FIX_ALL_TITLE, FIX_ALL, command=t.Command(
                FIX_ALL_TITLE, FIX_ALL_COMMAND, arguments=[uri, doc.version])))
    return out


def _resolves_edits(ls: ScoreServer) -> bool:
    """Whether the client asks codeAction/resolve for an action's edit."""
    action = ls.client_capabilities.text_document and ls.client_capabilities.text_document.code_action
    support = action.resolve_support if action else None
    return support is not None and "edit" in support.properties


@server.feature(t.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: ScoreServer, action: t.CodeAction) -> t.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    edit = await _fix_all(ls, str(data.get("uri", "")), data.get("version"))
    action.edit = edit
    return action


@server.command(FIX_ALL_COMMAND)
async def fix_all_command(ls: ScoreServer, *args) -> None:
    """Make every mechanical fix in document `uri` (of `version`), through workspace/applyEdit."""
    if not args or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(f"{FIX_ALL_COMMAND} takes [uri, version]")
    edit = await _fix_all(ls, args[0], args[1] if len(args) > 1 else None)
    if edit.changes:
        await ls.workspace_apply_edit_async(t.ApplyWorkspaceEditParams(edit, FIX_ALL_TITLE))


async def _fix_all(ls: ScoreServer, uri: str, version: object) -> t.WorkspaceEdit:
    """The whole-document edit that makes every mechanical fix (lint's one fix engine,
    lint/fix.py), for the document as it was at `version`."""
    from ..lint.fix import fix_source

    doc = ls.workspace.text_documents.get(uri)
    if doc is None or (version is not None and doc.version != version):
        raise JsonRpcContentModified("the document changed since the fixes were offered")
    text, path = doc.source, ls.path_of(uri)
    fixed = await ls.on_compiler(fix_source, text, path, ls.lint_config(path))
    if fixed.text == text:
        return t.WorkspaceEdit(changes={})
    return t.WorkspaceEdit(changes={uri: [_whole(ls, text, fixed.text)]})


@server.command(SHOW_SQL)
async def show_sql(ls: ScoreServer, *args) -> str:
    """The SQL the model in document `uri` compiles to, for `dialect` (default duckdb)."""
    if not args or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(f"{SHOW_SQL} takes [uri, dialect]")
    uri, dialect = args[0], args[1] if len(args) > 1 else "duckdb"
    doc = ls.workspace.get_text_document(uri)
    return await ls.on_compiler(_sql, doc.source, ls.path_of(uri), str(dialect), ls.overlay(uri))


def _sql(text: str, path: str, dialect: str, overlay: dict[str, str]) -> str:
    from ..engines import DIALECTS, Unsupported, get_dialect
    from ..runtime.warehouses import QUERIES

    if dialect not in DIALECTS:
        raise JsonRpcInvalidParams(f"unknown dialect {dialect!r}; known: " + ", ".join(sorted(DIALECTS)))
    try:
        model = compile_source(text, path, overlay)
    except CompileError as err:
        raise JsonRpcInvalidParams(f"the model does not compile:\n{err.render()}") from None
    d = get_dialect(dialect)
    try:
        return d.render(QUERIES["leads"](model, d, None), pretty=True) + ";"
    except Unsupported as err:
        raise JsonRpcInvalidParams(f"dialect {d.name}: {err}") from None


def _unexpected(record: logging.LogRecord) -> bool:
    """Whether a log record is worth showing: not a request refused on purpose (an error
    response with its message, such as an unknown dialect), which pygls logs as a traceback."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, JsonRpcException)


def serve() -> None:
    """Run the server on standard input and output until the client exits."""
    logging.basicConfig(level=logging.WARNING, format="leadscore lsp: %(message)s")
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_unexpected)
    server.start_io()
