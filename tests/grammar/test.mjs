// The VS Code grammar (editors/vscode/syntaxes/score.tmLanguage.json) tokenized as VS Code
// tokenizes it (vscode-textmate on the Oniguruma regex engine): every example and the
// constructs file without an `invalid` scope, and the expected scope at chosen tokens.
// Run: `npm ci && node --test test.mjs` here (tests/test_grammar.py does).
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const GRAMMAR = path.join(ROOT, "editors", "vscode", "syntaxes", "score.tmLanguage.json");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) =>
      scope === "source.score" ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null,
  });
  return registry.loadGrammar("source.score");
}

const grammar = await loadGrammar();

/** Each line of `text` with its tokens: [{start, end, text, scopes}]. */
function tokenize(text) {
  let stack = vsctm.INITIAL;
  return text.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const tokens = r.tokens.map((t) => ({
      start: t.startIndex,
      end: t.endIndex,
      text: line.slice(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
    return { line, tokens };
  });
}

function scoreFiles(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".score"))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

const EXAMPLES = scoreFiles(path.join(ROOT, "examples"));
const CONSTRUCTS = path.join(HERE, "constructs.score");
const FILES = [...EXAMPLES, CONSTRUCTS, path.join(ROOT, "tests", "lint_fix", "every_fix.score")];
const tokenized = new Map(FILES.map((f) => [f, tokenize(fs.readFileSync(f, "utf8"))]));

/** The scopes of the token at the first `needle` on the first line containing `where`. */
function scopesAt(file, where, needle = where, nth = 0) {
  const lines = tokenized.get(file) ?? tokenize(file); // a path, or a snippet
  const found = lines.find((l) => l.line.includes(where));
  assert.ok(found, `no line with ${JSON.stringify(where)} in ${file}`);
  const base = found.line.indexOf(where);
  let at = found.line.indexOf(needle, base);
  for (let i = 0; i < nth; i++) at = found.line.indexOf(needle, at + 1);
  assert.ok(at >= 0, `no ${JSON.stringify(needle)} in ${JSON.stringify(found.line)}`);
  const token = found.tokens.find((t) => t.start <= at && at < t.end);
  return token.scopes;
}

function expectScope(file, where, needle, scope, nth = 0) {
  const scopes = scopesAt(file, where, needle, nth);
  assert.ok(
    scopes.includes(scope),
    `${path.basename(file)}: ${JSON.stringify(needle)} in ${JSON.stringify(where)} has ` +
      `${scopes.join(" ")}, not ${scope}`,
  );
}

test("the grammar is the language's: scope source.score for .score files", () => {
  const raw = JSON.parse(fs.readFileSync(GRAMMAR, "utf8"));
  assert.equal(raw.scopeName, "source.score");
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "editors", "vscode", "package.json"), "utf8"));
  assert.deepEqual(pkg.contributes.languages[0].extensions, [".score"]);
  assert.equal(pkg.contributes.grammars[0].scopeName, "source.score");
  assert.equal(pkg.contributes.grammars[0].language, pkg.contributes.languages[0].id);
});

test("the examples are found", () => {
  assert.ok(EXAMPLES.length >= 4, EXAMPLES.join(", "));
});

for (const file of FILES) {
  test(`no invalid token in ${path.relative(ROOT, file)}`, () => {
    const bad = [];
    tokenized.get(file).forEach((l, i) => {
      for (const t of l.tokens) {
        if (t.scopes.some((s) => s.startsWith("invalid"))) bad.push(`${i + 1}: ${JSON.stringify(t.text)}`);
      }
    });
    assert.deepEqual(bad, []);
  });

  test(`every line of ${path.relative(ROOT, file)} is in source.score`, () => {
    for (const l of tokenized.get(file)) {
      for (const t of l.tokens) assert.equal(t.scopes[0], "source.score");
    }
  });
}

test("broken and hostile rule files tokenize to the end, every line in source.score", () => {
  const broken = [
    ...scoreFiles(path.join(ROOT, "tests", "errors")),
    ...scoreFiles(path.join(ROOT, "tests", "hostile", "rulefiles")),
  ];
  assert.ok(broken.length >= 50, `${broken.length} files`);
  for (const file of broken) {
    const lines = tokenize(fs.readFileSync(file, "utf8"));
    for (const l of lines) {
      // a line of the file is covered by tokens from its start to its end
      const end = l.tokens.length ? l.tokens[l.tokens.length - 1].end : 0;
      assert.ok(end >= l.line.length, `${file}: a line is not tokenized to its end`);
      for (const t of l.tokens) assert.equal(t.scopes[0], "source.score");
    }
  }
});

const REF = path.join(ROOT, "examples", "reference.score");
const STARTER = path.join(ROOT, "examples", "starter.score");

test("comments", () => {
  expectScope(REF, "# The complete example", "#", "comment.line.number-sign.score");
  expectScope(REF, "created created_at  # for inactivity", "inactivity", "comment.line.number-sign.score");
  expectScope(REF, "# every other lead", "every", "comment.line.number-sign.score");
  expectScope(CONSTRUCTS, "# leadscore: ignore[LS303", "ignore", "keyword.other.suppression.score");
  expectScope(CONSTRUCTS, "# leadscore: ignore[LS303", "LS303", "constant.other.lint-code.score");
});

test("keywords", () => {
  expectScope(REF, 'model "b2b-saas"', "model", "storage.type.model.score");
  expectScope(REF, 'model "b2b-saas" version 3', "version", "keyword.other.score");
  expectScope(REF, "schema {", "schema", "storage.type.score");
  expectScope(REF, 'rule "tech industry"', "rule", "storage.type.rule.score");
  expectScope(REF, 'rule "tech industry"   +20 when tech', "when", "keyword.control.score");
  expectScope(REF, "+1 per event email_open within 90d cap 10", "per", "keyword.control.score");
  expectScope(REF, "+1 per event email_open within 90d cap 10", "within", "keyword.other.score");
  expectScope(REF, "+1 per event email_open within 90d cap 10", "cap", "keyword.other.score");
  expectScope(REF, "+25 first, +5 repeat per", "first", "keyword.control.score");
  expectScope(REF, "+25 first, +5 repeat per", "repeat", "keyword.control.score");
  expectScope(REF, "decay -10 every 30d without event", "decay", "keyword.other.score");
  expectScope(REF, "decay -10 every 30d without event", "without", "keyword.other.score");
  expectScope(REF, "mql at 100 require pricing_visit", "require", "keyword.control.score");
  expectScope(REF, "mql at 100 require pricing_visit", "at", "keyword.other.score");
  expectScope(REF, 'title matches "(chief', "matches", "keyword.operator.word.score");
  expectScope(REF, 'email ends_with "@gmail.com"', "ends_with", "keyword.operator.word.score");
  expectScope(REF, 'where asset is present', "is", "keyword.operator.word.score");
  expectScope(REF, 'where asset is present', "present", "constant.language.missing.score");
  expectScope(REF, "count(event page_view within 7d)", "count", "support.function.aggregate.score");
  expectScope(REF, "score = sum(total)", "sum", "support.function.aggregate.score");
  expectScope(REF, "score = sum(total)", "total", "variable.language.output.score");
  expectScope(REF, "expect tier == mql", "expect", "keyword.other.score");
  expectScope(REF, "as_of 2026-03-01T00:00:00Z", "as_of", "keyword.other.score");
  expectScope(CONSTRUCTS, "days_since(last event", "days_since", "support.function.aggregate.score");
  expectScope(CONSTRUCTS, "days_since(last event", "last", "keyword.other.score");
  expectScope(CONSTRUCTS, "count distinct page", "distinct", "keyword.other.score");
  expectScope(CONSTRUCTS, "and not (employees < 10)", "not", "keyword.operator.word.score");
  expectScope(CONSTRUCTS, "account by account_id", "account", "storage.type.account.score");
  expectScope(CONSTRUCTS, "warm at 20 sticky;", "sticky", "keyword.other.score");
  expectScope(CONSTRUCTS, "previous_tier warm", "previous_tier", "keyword.other.score");
});

test("strings and regular expressions", () => {
  expectScope(REF, 'model "b2b-saas"', '"b2b-saas"', "string.quoted.double.score");
  expectScope(REF, 'page == "/pricing"', '"/pricing"', "string.quoted.double.score");
  expectScope(REF, 'country in ["CR", "PA"]', '"PA"', "string.quoted.double.score");
  expectScope(REF, 'title matches "(chief|head', "chief", "string.regexp.score");
  expectScope(REF, 'title matches "(chief|head', "|", "keyword.operator.or.regexp.score");
  expectScope(REF, 'title matches "(chief|head', "(", "punctuation.definition.group.regexp.score");
  expectScope(CONSTRUCTS, 'title matches "^[a-z]', "^", "keyword.control.anchor.regexp.score");
  expectScope(CONSTRUCTS, 'title matches "^[a-z]', "[a-z]", "constant.other.character-class.regexp.score");
  expectScope(CONSTRUCTS, 'title matches "^[a-z]', "{2,3}", "keyword.operator.quantifier.regexp.score");
  expectScope(CONSTRUCTS, 'title matches "^[a-z]', "\\\\.", "constant.character.escape.score");
  expectScope(CONSTRUCTS, 'rule "plan \\"pro\\""', '\\"', "constant.character.escape.score");
  expectScope(CONSTRUCTS, 'table "raw.events"', '"raw.events"', "string.quoted.double.score");
});

test("numbers, durations, percentages and timestamps", () => {
  expectScope(REF, 'rule "tech industry"   +20', "+20", "constant.numeric.score");
  expectScope(REF, 'rule "student"         -30', "-30", "constant.numeric.score");
  expectScope(REF, "employees >= 200", "200", "constant.numeric.score");
  expectScope(REF, "within 90d cap 10", "90d", "constant.numeric.duration.score");
  expectScope(REF, "half_life 30d", "30d", "constant.numeric.duration.score");
  expectScope(REF, "clamp total 0..200", "0", "constant.numeric.score");
  expectScope(REF, "clamp total 0..200", "..", "keyword.operator.range.score");
  expectScope(REF, "clamp total 0..200", "200", "constant.numeric.score");
  expectScope(REF, "as_of 2026-03-01T00:00:00Z", "2026", "constant.numeric.timestamp.score");
  expectScope(REF, "page_view at 2026-02-27T10:00:00Z", "2026", "constant.numeric.timestamp.score");
  expectScope(CONSTRUCTS, "decay 25% every 30d", "25%", "constant.numeric.percentage.score");
  expectScope(CONSTRUCTS, "revenue_k * 1.5 >= 300", "1.5", "constant.numeric.score");
  expectScope(CONSTRUCTS, "revenue_k * 1.5 >= 300", "*", "keyword.operator.arithmetic.score");
  expectScope(CONSTRUCTS, "as_of 2026-03-01", "2026-03-01", "constant.numeric.timestamp.score");
  expectScope(CONSTRUCTS, "clamp total -20..80", "-20", "constant.numeric.score");
});

test("operators and punctuation", () => {
  expectScope(REF, "employees >= 200", ">=", "keyword.operator.comparison.score");
  expectScope(REF, "total = fit + engagement", "=", "keyword.operator.assignment.score");
  expectScope(REF, "total = fit + engagement", "+", "keyword.operator.arithmetic.score");
  expectScope(REF, "score fit {", "{", "punctuation.section.block.begin.score");
  expectScope(CONSTRUCTS, "expect tier != hot", "!=", "keyword.operator.comparison.score");
  expectScope(CONSTRUCTS, "event page_view | email_open", "|", "keyword.operator.union.score");
});

test("declared names", () => {
  expectScope(REF, "score fit {", "fit", "entity.name.function.score.score");
  expectScope(REF, "score engagement cap 150", "engagement", "entity.name.function.score.score");
  expectScope(REF, "let decision_maker =", "decision_maker", "entity.name.variable.let.score");
  expectScope(REF, 'rule "tech industry"', '"tech industry"', "entity.name.tag.rule.score");
  expectScope(REF, 'disqualify "competitor"', '"competitor"', "entity.name.tag.reason.score");
  expectScope(REF, 'test "director at a SaaS', '"director', "entity.name.section.test.score");
  expectScope(REF, "segment enterprise when", "enterprise", "entity.name.type.segment.score");
  expectScope(REF, "tiers for enterprise {", "enterprise", "entity.name.type.segment.score");
  expectScope(REF, "  nurture at 40", "nurture", "entity.name.constant.tier.score");
  expectScope(REF, "  cold", "cold", "entity.name.constant.tier.score");
  expectScope(REF, "  sql at 150 require", "sql", "entity.name.constant.tier.score");
  expectScope(REF, "    target at 150", "target", "entity.name.constant.tier.score");
  expectScope(REF, "grade fit {", "fit", "entity.name.function.score.score");
  expectScope(REF, "  A at 40", "A", "entity.name.constant.grade.score");
  expectScope(REF, "  D", "D", "entity.name.constant.grade.score", 0);
  expectScope(REF, "field employees: int", "employees", "variable.other.field.score");
  expectScope(REF, "field employees: int", "int", "support.type.score");
  expectScope(REF, "key id", "id", "variable.other.field.score");
  expectScope(REF, "lead lead_id", "lead_id", "variable.other.field.score");
  expectScope(REF, "types email_open, email_click", "email_click", "entity.name.type.event.score");
  expectScope(REF, "+1 per event email_open within 90d", "email_open", "entity.name.type.event.score");
  expectScope(REF, "    page_view at 2026-02-27", "page_view", "entity.name.type.event.score");
  expectScope(REF, "employees >= 200", "employees", "variable.other.score");
  expectScope(STARTER, "tiers {", "tiers", "storage.type.tiers.score");
  expectScope(CONSTRUCTS, "tiers { cold; warm at 20", "cold", "entity.name.constant.tier.score");
  expectScope(CONSTRUCTS, "tiers { cold; warm at 20", "warm", "entity.name.constant.tier.score");
  expectScope(CONSTRUCTS, "field `plan`: text", "`plan`", "variable.other.field.score");
  expectScope(CONSTRUCTS, "when `plan` in", "`plan`", "variable.other.quoted.score");
  expectScope(CONSTRUCTS, "event page_view | email_open", "email_open", "entity.name.type.event.score");
});

test("snippets: imports, unfinished strings, stray characters", () => {
  const snippet = (text, needle, scope) => {
    const lines = tokenize(text);
    const l = lines.find((x) => x.line.includes(needle));
    const at = l.line.indexOf(needle);
    const t = l.tokens.find((x) => x.start <= at && at < x.end);
    assert.ok(t.scopes.includes(scope), `${needle}: ${t.scopes.join(" ")}`);
  };
  snippet('import "base.score"', "import", "keyword.control.import.score");
  snippet('import "base.score"', '"base', "string.quoted.double.score");
  // an unterminated string ends at the end of its line, not of the file
  snippet('let a = "open\nlet b = 1', "let b", "storage.type.let.score");
  snippet("let a = b @ c", "@", "invalid.illegal.character.score");
});
