"""Hypothesis strategies for random valid `.score` models and random lead/event data.

One fixed schema (`SCHEMA_TEXT`); models drawn over the grammar's constructs; data drawn
from the same small vocabulary as the models' literals, so that conditions hold for some
leads and not for others. Reusable by the differential test, fuzzing and fmt tests:

    models()     -> ModelCase (source text plus what the generator knows about it)
    datasets()   -> Dataset (as_of, lead dicts, event dicts)
    examples()   -> (ModelCase, Dataset), the data drawn with the model's own literals

Every generated model must compile. The generator keeps the language's rules
(docs/language.md): no scores in rule conditions, no lead fields in event filters,
`at most once per` never with `half_life`/`lifespan`/`once`, `half_life` never with
`lifespan`, increasing tier thresholds, decreasing grade thresholds, and so on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from leadscore.compiler.ir import PREVIOUS_TIER

# ---------------------------------------------------------------- settings
EXAMPLES_ENV = "LEADSCORE_HYPOTHESIS_EXAMPLES"


def example_count(default: int = 150) -> int:
    """Examples per property: bounded for CI, `LEADSCORE_HYPOTHESIS_EXAMPLES=5000` locally."""
    return int(os.environ.get(EXAMPLES_ENV, default))


settings.register_profile(
    "leadscore-differential", max_examples=example_count(150), deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DIFFERENTIAL = settings.get_profile("leadscore-differential")

# ---------------------------------------------------------------- the fixed schema
SCHEMA_TEXT = """\
schema {
  lead {
    key id
    created created_at
    field industry: text
    field title: text
    field email: text
    field employees: int
    field revenue: float
    field active: bool
    field signup: timestamp
  }
  event {
    lead lead_id
    time ts
    type kind
    types visit, click, download, webinar, demo
    field page: text
    field amount: float
  }
}
"""
LEAD_TEXT = ["industry", "title", "email"]
LEAD_NUMBER = ["employees", "revenue"]
LEAD_TIME = ["created_at", "signup"]
EVENT_TYPES = ["visit", "click", "download", "webinar", "demo"]
EVENT_TEXT = ["page", "kind"]  # `kind` is the type column, usable in a `where`
UNDECLARED_TYPES = ["signup", "Other", "page_view"]

# ---------------------------------------------------------------- the shared vocabulary
# Text values and literals come from one small pool, in varying letter case in the data.
WORDS = [
    "saas", "SaaS", "software", "it services", "Software ", " saas", "director", "VP Sales",
    "Head of IT", "student", "ana@acme.io", "bob@gmail.com", "eve@rival.com", "/pricing",
    "/lp/a", "/LP/spring", "/careers", "/careers/dev", "Ñandú", "ÍTALO", "Ãé", "çava",
    "são paulo", "a_b.c", "x", "CR", "pa", "10", "true", "o'neil", "50% off", 'say "hi"',
    "back\\slash",
]
AFFIXES = [
    "s", "sa", "SAAS", "/lp/", "/careers", "@gmail.com", "@rival.com", ".io", "dir", "vp",
    "ñ", "Í", "ã", "é", "ç", " ", "/", "_", ".", "o", "'", "%", "",
]
ALPHABET = "abcxyzABCXYZ019ÍÃéçñ /@._"
CASE_CHANGES = [str, str.upper, str.lower, str.title, str.swapcase]

# the long ones are 0.1 + 0.2 and 1.1 * 3, also in the data: literals must parse to the
# same double on every engine
NUMBER_LITERALS = ["0", "1", "2", "3", "5", "10", "50", "200", "1000", "0.5", "2.5", "1.1",
                   "3.3", "100", "0.30000000000000004", "3.3000000000000003", "0.1"]
POINTS = ["+1", "+5", "+10", "+20", "-5", "-10", "2.5", "+0.5", "0", "-30", "+100", "7",
          "-0.5"]
CAPS = ["10", "25", "0", "-10", "-20", "+15", "2.5", "-0.5", "+1", "100"]
DAYS = [1, 2, 3, 7, 14, 30, 45, 90, 365]
PERCENTS = ["10%", "25%", "50%", "100%", "12.5%", "1%"]
DAY_LITERALS = [0, 1, 1, 2, 3, 6, 7, 13, 14, 29, 30, 31, 45, 90, 365]
THRESHOLDS = [-10, -1, 0, 0.5, 1, 2, 2.5, 5, 7, 10, 15, 20, 30, 50, 100]
# Names by position (so that they stay distinct), the first of each the plain one. The others
# are backtick names, SQL keywords and the generated SQL's own column names (k, b0, typ, age),
# which must all survive quoting; segment and tier names keep their letter case.
SCORE_NAMES = [["fit", "`my score`", "k", "`select`"], ["engagement", "`Ñ-score`", "b0", "typ"],
               ["intent", "age", '`it\'s "x"`']]
SEGMENT_NAMES = [["ent", "Ent", "`big co`"], ["smb", "SMB2", "`ñ seg`"], ["vip", "`v'ip`"]]
TIER_NAMES = [["cold", "`Cold lead`"], ["warm", "Warm"], ["mql", "`m q l`"],
              ["sql", '`s\'q"l`']]
GRADE_LETTERS = [["A", "`A+`"], ["B", "b"], ["C", "`C c`"], ["D", "D"]]
REASONS = ["competitor", "student", "Ñope no", "bad/data", "O'Brien", 'say "no"', "back\\slash",
           "100%"]

# the grammar's precedence levels, loosest first; an event filter with a `where` swallows
# whatever follows it, so as an operand it is always parenthesized (level 0)
P_FILTER, P_OR, P_AND, P_NOT, P_CMP, P_SUM, P_PROD, P_UNARY, P_ATOM = range(9)
CMP_OPS = ["==", "!=", "<", "<=", ">", ">="]
_TRAILING_NAME = re.compile(r"(`[^`]+`|(?<![A-Za-z0-9_`])[A-Za-z_][A-Za-z0-9_]*)$")
_TOKEN_WORDS = {"missing", "present", "true", "false"}


def quote(text: str) -> str:
    """A `.score` string literal for `text`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def column(name: str) -> str:
    """The output column (or segment, tier, grade) of a name as written: no backticks."""
    return name[1:-1] if name.startswith("`") else name


# previous tiers (sticky tiers): every generated tier name as data, and names that hold nothing
PREVIOUS_TIERS = [column(n) for pool in TIER_NAMES for n in pool] + ["disqualified", "", "nope"]


def _wrap(expr: tuple[str, int], level: int) -> str:
    text, prec = expr
    return text if prec >= level else f"({text})"


# ---------------------------------------------------------------- portable patterns
_PATTERN_CHARS = list("asidcovp@/._ñíã0") + ["\\.", "\\/", "\\@", "."]
_PATTERN_CLASSES = ["[a-m]", "[^ @]", "[0-9]", "[sÍ]", "[A-Z]", "[^a-z]", "[.@_]", "[ñãé]",
                    "[a-z0-9_]"]
_QUANTIFIERS = ["", "", "", "?", "+", "*", "{1,2}", "{2}", "{0,3}", "{1,}"]


@st.composite
def patterns(draw) -> str:
    """A regular expression in the portable subset (literals, classes, groups, |, ^, $,
    quantifiers), often built around a vocabulary word so that it matches real data."""

    def atom(depth: int) -> str:
        kinds = ["char", "char", "class", "word"] + (["group"] if depth > 0 else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "char":
            return draw(st.sampled_from(_PATTERN_CHARS))
        if kind == "class":
            return draw(st.sampled_from(_PATTERN_CLASSES))
        if kind == "word":
            word = draw(st.sampled_from([w for w in WORDS + AFFIXES if w]))
            return "(" + re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", word) + ")"
        alternatives = draw(st.integers(2, 3))
        return "(" + "|".join(sequence(depth - 1) for _ in range(alternatives)) + ")"

    def sequence(depth: int) -> str:
        n = draw(st.integers(1, 3))
        return "".join(atom(depth) + draw(st.sampled_from(_QUANTIFIERS)) for _ in range(n))

    if draw(st.booleans()):  # a top-level alternation
        return sequence(1) + "|" + sequence(1)
    start = "^" if draw(st.integers(0, 3)) == 3 else ""
    end = "$" if draw(st.integers(0, 3)) == 3 else ""
    return start + sequence(1) + end


# ReDoS shapes (tests/hostile/regex/): nested quantifiers and overlapping alternations over
# one or two character sets, and the values that make a backtracking matcher explode on them
_REDOS_ATOMS = ["a", "[a-z]", ".", "[a-z0-9]", "[0-9a]", "(a?)", "(a|a)", "[^b]"]


@st.composite
def pathological_patterns(draw) -> str:
    """A portable pattern a backtracking matcher needs exponential or polynomial time for."""
    atom = draw(st.sampled_from(_REDOS_ATOMS))
    other = draw(st.sampled_from(_REDOS_ATOMS))
    inner = draw(st.sampled_from([
        f"({atom}+)+", f"({atom}*)*", f"({atom}|{other})+", f"({atom}|{atom}{other})+",
        f"({atom}+{other}+)+", f"(({atom}+)+)*", f"({atom}*{other}*)*", f"(.*{atom}){{3}}",
        f"({atom}+|{other}+)*", f"({atom}{{1,3}}){{2,}}",
    ]))
    start = draw(st.sampled_from(["", "^", "x"]))
    tail = draw(st.sampled_from(["$", "b", "@", "", "!$", "[0-9]$"]))
    return start + inner + tail


def pathological_values(length: int = 33) -> st.SearchStrategy[str]:
    """A run of one character the patterns repeat, then one that ends every match."""
    return st.builds(lambda ch, end: ch * length + end, st.sampled_from(list("ax0")),
                     st.sampled_from(["!", "b", "\n", "", "@"]))


FIXED_PATTERNS = ["(chief|head|director|vp)", "student", "^/lp/", "\\.io$", "^saas$",
                  "[0-9]+", "^[^@]+@gmail\\.com$", "s.a", "ñ", "^(s|i)", "o{2}", "a{1,2}b?",
                  "^$", "^ ", " $", "/(lp|careers)/", "[íã]", "colou?r|care"]


# ---------------------------------------------------------------- models
@dataclass
class ModelCase:
    """A generated model and what the generator knows about it."""

    text: str
    scores: list[str]  # output columns
    literals: list[str]  # text literals the model uses, for the data generator
    day_values: list[int]  # its durations and day counts: the data puts events at those ages
    numbers: list[float]  # its number literals: the data uses them as field values
    tier_thresholds: dict[str, list[float]]  # segment ("default" too) -> its tiers' thresholds
    grade: tuple[str, list[float]] | None  # (score, thresholds)
    # (score name or "total", literal) compared in conditions, per site:
    # "segment", "disqualify", "gate:<segment>"
    score_tests: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)

    def __repr__(self) -> str:  # the source text, readable in a failure message
        return f"ModelCase(<<<\n{self.text}>>>)"


class _ModelGen:
    def __init__(self, draw):
        self.draw = draw
        self.lets: dict[str, list[str]] = {"cond": [], "evcond": [], "filter": [], "num": [],
                                           "text": []}
        self.literals: list[str] = []
        self.scores: list[str] = []
        self.fading: set[str] = set()  # scores whose rules sum fading weights (inexact sums)
        self.site: list[tuple[str, float]] | None = None  # collects score comparisons
        self.gate_tests: list[tuple[str, float]] = []  # those of the last tiers block
        self.features: set[str] = set()
        self.day_values: list[int] = []  # durations and day counts, for the data's event ages
        self.numbers: list[float] = []  # number literals, for the data's numeric fields

    # ------------------------------------------------------------ drawing helpers
    def pick(self, items):
        return self.draw(st.sampled_from(items))

    def maybe(self, percent: int) -> bool:
        """True with about `percent`% chance; shrinks to False."""
        return self.draw(st.integers(0, 99)) >= 100 - percent

    def count(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def text_literal(self, operand: str = "") -> str:
        if operand == "kind":  # the type column: compare with type names, in any case
            return quote(self.pick(EVENT_TYPES + UNDECLARED_TYPES + ["Visit", "DEMO"]))
        word = self.pick(WORDS) if self.maybe(85) else self.draw(
            st.text(alphabet=ALPHABET, min_size=1, max_size=6))
        self.literals.append(word)
        return quote(word)

    def affix_literal(self) -> str:
        word = self.pick(AFFIXES)
        self.literals.append(word)
        return quote(word)

    def days(self) -> str:
        n = self.pick(DAYS)
        self.day_values.append(n)
        return f"{n}d"

    def day_literal(self) -> int:
        n = self.pick(DAY_LITERALS)
        self.day_values.append(n)
        return n

    def number_literal(self) -> str:
        text = self.pick(NUMBER_LITERALS)
        self.numbers.append(float(text))
        return text

    # ------------------------------------------------------------ event filters
    def filter(self, allow_let: bool = True) -> tuple[str, int]:
        """An event filter: (text, precedence)."""
        within = self.maybe(35)
        if allow_let and self.lets["filter"] and self.maybe(35):
            self.features.add("filter let")
            name = self.pick(self.lets["filter"])
            return (f"{name} within {self.days()}" if within else name), P_ATOM
        parts = ["event"]
        if self.maybe(75):
            types = self.draw(st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2))
            cased = [self.pick([t, t, t.upper(), t.title()]) for t in types]
            parts.append("|".join(cased))
        if self.maybe(45):
            where = self.cond("event", self.pick([1, 0, 1, 2]))
            text = _wrap(where, P_OR)
            if within and self._ends_with_name(text):
                text = f"({text})"
            parts += ["where", text]
            self.features.add("where")
        if within:
            parts += ["within", self.days()]
            self.features.add("within")
        return " ".join(parts), P_FILTER if "where" in parts else P_ATOM

    @staticmethod
    def _ends_with_name(text: str) -> bool:
        m = _TRAILING_NAME.search(text)
        return bool(m) and m.group(1) not in _TOKEN_WORDS

    # ------------------------------------------------------------ numbers
    def num(self, ctx: str, depth: int, lit: bool = True) -> tuple[str, int]:
        """A number; `lit=False` for the side of a comparison that should depend on data."""
        kinds = ["lit", "field"] if lit else ["field", "field"]
        if ctx != "event":
            kinds += ["days_field", "agg", "agg"]
            if self.lets["num"]:
                kinds.append("let")
        if depth > 0:
            kinds += ["arith", "arith", "neg"]
        kind = self.pick(kinds)
        if kind == "lit":
            if self.maybe(10):  # any double, written positionally (NUMBER has no exponent)
                value = self.draw(st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
                self.numbers.append(value)
                return format(Decimal(repr(value)), "f"), P_ATOM
            return self.number_literal(), P_ATOM
        if kind == "field":
            return (self.pick(LEAD_NUMBER) if ctx != "event" else "amount"), P_ATOM
        if kind == "days_field":
            self.features.add("days_since field")
            return f"days_since({self.pick(LEAD_TIME)})", P_ATOM
        if kind == "let":
            return self.pick(self.lets["num"]), P_ATOM
        if kind == "agg":
            agg = self.pick(["count", "count", "distinct", "sum", "days_last"])
            self.features.add(f"agg {agg}")
            filt = self.filter()[0]
            if agg == "count":
                return f"count({filt})", P_ATOM
            if agg == "distinct":
                return f"count distinct {self.pick(['page', 'amount', 'kind'])} ({filt})", P_ATOM
            if agg == "sum":
                return f"sum amount ({filt})", P_ATOM
            return f"days_since(last {filt})", P_ATOM
        if kind == "neg":
            inner = self.num(ctx, depth - 1)
            return "-" + _wrap(inner, P_ATOM), P_UNARY
        op = self.pick(["+", "-", "*", "/"])
        if op == "/":
            self.features.add("division")
        left, right = self.num(ctx, depth - 1), self.num(ctx, depth - 1)
        if op in "+-":
            return f"{_wrap(left, P_SUM)} {op} {_wrap(right, P_PROD)}", P_SUM
        return f"{_wrap(left, P_PROD)} {op} {_wrap(right, P_UNARY)}", P_PROD

    def total_expr(self, depth: int, exact: bool = False) -> tuple[str, int]:
        """Arithmetic over scores and numbers. A fading score (a float sum whose last bits
        depend on the summation order) is only added, subtracted or negated: multiplied or
        divided, a 1e-16 difference near zero could grow past the tolerance, or turn into a
        division by zero (missing) on one engine only. `exact`: no fading scores."""
        scores = [s for s in self.scores if not exact or s not in self.fading]
        kinds = (["score", "score"] if scores else []) + ["lit"]
        if depth > 0:
            kinds += ["arith", "arith", "neg"]
        kind = self.pick(kinds)
        if kind == "score":
            return self.pick(scores), P_ATOM
        if kind == "lit":
            if self.maybe(10):  # any double, written positionally (NUMBER has no exponent)
                value = self.draw(st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
                return format(Decimal(repr(value)), "f"), P_ATOM
            return self.pick(NUMBER_LITERALS), P_ATOM
        if kind == "neg":
            return "-" + _wrap(self.total_expr(depth - 1, exact), P_ATOM), P_UNARY
        op = self.pick(["+", "-", "*", "/"])
        if op == "/":
            self.features.add("total division")
        scaled = exact or op in "*/"
        left, right = self.total_expr(depth - 1, scaled), self.total_expr(depth - 1, scaled)
        if op in "+-":
            return f"{_wrap(left, P_SUM)} {op} {_wrap(right, P_PROD)}", P_SUM
        return f"{_wrap(left, P_PROD)} {op} {_wrap(right, P_UNARY)}", P_PROD

    # ------------------------------------------------------------ text operands
    def text_operand(self, ctx: str) -> tuple[str, int]:
        if ctx == "event":
            return self.pick(EVENT_TEXT), P_ATOM
        if self.lets["text"] and self.maybe(15):
            return self.pick(self.lets["text"]), P_ATOM
        return self.pick(LEAD_TEXT), P_ATOM

    # ------------------------------------------------------------ conditions
    def cond(self, ctx: str, depth: int) -> tuple[str, int]:
        """A condition for `ctx`: rule (lead fields, events), post (also scores and total,
        in segments, disqualify and tier gates) or event (inside a `where`)."""
        kinds = ["num_cmp", "text_eq", "in_text", "in_num", "str_test", "matches", "missing"]
        if ctx != "event":
            kinds += ["bool", "filter", "exists", "agg_cmp"]
            if self.lets["cond"]:
                kinds += ["let"]
        elif self.lets["evcond"]:
            kinds += ["let"]
        if ctx == "post" and self.scores:
            kinds += ["score_cmp", "score_cmp"]
        if depth > 0:
            kinds += ["not", "andor", "andor"]
        kind = self.pick(kinds)
        self.features.add(f"cond {kind}")
        out = getattr(self, "_c_" + kind)(ctx, depth)
        if out[1] >= P_FILTER and self.maybe(5):
            return f"({out[0]})", P_ATOM
        return out

    def _c_num_cmp(self, ctx, depth):
        left = self.num(ctx, min(depth, 2), lit=False)
        right = self.num(ctx, 0) if self.maybe(75) else self.num(ctx, min(depth, 1))
        return f"{_wrap(left, P_SUM)} {self.pick(CMP_OPS)} {_wrap(right, P_SUM)}", P_CMP

    def _c_agg_cmp(self, ctx, depth):
        """An aggregate or a day count against a literal it often reaches: these sit on the
        boundaries (whole days, windows, distinct values) where engines can differ."""
        kind = self.pick(["days_last", "days_field", "count", "distinct", "sum"])
        self.features.add(f"agg {kind}")
        if kind == "days_field":
            value, limit = f"days_since({self.pick(LEAD_TIME)})", self.day_literal()
        elif kind == "days_last":
            value, limit = f"days_since(last {self.filter()[0]})", self.day_literal()
        elif kind == "count":
            value, limit = f"count({self.filter()[0]})", self.pick([0, 1, 2, 3, 5])
        elif kind == "distinct":
            field_ = self.pick(["page", "amount", "kind"])
            value, limit = f"count distinct {field_} ({self.filter()[0]})", self.pick([1, 2, 3])
        else:
            value, limit = f"sum amount ({self.filter()[0]})", self.pick([0, 0.5, 1, 2.5, 10])
        return f"{value} {self.pick(CMP_OPS)} {limit:g}", P_CMP

    def _c_text_eq(self, ctx, depth):
        left = self.text_operand(ctx)
        right = (self.text_literal(left[0]), P_ATOM) if self.maybe(80) else self.text_operand(ctx)
        if self.maybe(20):
            left, right = right, left
        return f"{left[0]} {self.pick(['==', '!='])} {right[0]}", P_CMP

    def _c_in_text(self, ctx, depth):
        value = self.text_operand(ctx)[0]
        items = [self.text_literal(value) for _ in range(self.count(1, 3))]
        neg = "not in" if self.maybe(25) else "in"
        return f"{value} {neg} [{', '.join(items)}]", P_CMP

    def _c_in_num(self, ctx, depth):
        value = self.num(ctx, min(depth, 1), lit=False)
        items = [("-" if self.maybe(20) else "") + self.number_literal()
                 for _ in range(self.count(1, 3))]
        neg = "not in" if self.maybe(25) else "in"
        return f"{_wrap(value, P_SUM)} {neg} [{', '.join(items)}]", P_CMP

    def _c_str_test(self, ctx, depth):
        op = self.pick(["starts_with", "ends_with", "contains"])
        left = self.text_operand(ctx)
        right = (self.affix_literal(), P_ATOM) if self.maybe(85) else self.text_operand(ctx)
        return f"{left[0]} {op} {right[0]}", P_CMP

    def _c_matches(self, ctx, depth):
        pattern = self.pick(FIXED_PATTERNS) if self.maybe(40) else self.draw(patterns())
        return f"{self.text_operand(ctx)[0]} matches {quote(pattern)}", P_CMP

    def _c_missing(self, ctx, depth):
        if ctx == "event":
            value = (self.pick(["page", "amount", "kind"]), P_ATOM) if self.maybe(80) else \
                self.num(ctx, 1)
        elif self.maybe(70):
            value = (self.pick(LEAD_TEXT + LEAD_NUMBER + LEAD_TIME + ["active"]), P_ATOM)
        else:
            value = self.num(ctx, 1)
        return f"{_wrap(value, P_SUM)} is {self.pick(['missing', 'present'])}", P_CMP

    def _c_bool(self, ctx, depth):
        form = self.pick(["active", "active == true", "active != false", "active in [true]",
                          "active == false", "true", "false", "active not in [false]"])
        return form, (P_ATOM if " " not in form else P_CMP)

    def _c_filter(self, ctx, depth):
        self.features.add("filter as condition")
        return self.filter()

    def _c_exists(self, ctx, depth):
        return f"exists({self.filter()[0]})", P_ATOM

    def _c_let(self, ctx, depth):
        return self.pick(self.lets["evcond" if ctx == "event" else "cond"]), P_ATOM

    def _c_score_cmp(self, ctx, depth):
        name = self.pick(self.scores + ["total"])
        thr = self.pick(THRESHOLDS)
        text = f"{thr:g}" if thr >= 0 else f"-{-thr:g}"
        if self.site is not None:
            self.site.append((column(name), float(thr)))
        return f"{name} {self.pick(CMP_OPS)} {text}", P_CMP

    def _c_not(self, ctx, depth):
        return "not " + _wrap(self.cond(ctx, depth - 1), P_NOT), P_NOT

    def _c_andor(self, ctx, depth):
        op = self.pick(["and", "or"])
        items = [self.cond(ctx, depth - 1) for _ in range(2 if self.maybe(75) else 3)]
        level = P_NOT if op == "and" else P_AND
        return f" {op} ".join(_wrap(i, level) for i in items), (P_AND if op == "and" else P_OR)

    def top_cond(self, ctx: str, depth: int | None = None) -> str:
        """A whole condition. A filter with a `where` may stay unparenthesized: it ends the
        item. (Tier entries are separated by `;`: after a bare `event` gate, the next tier's
        name on a new line would be read as an event type.)"""
        if depth is None:
            depth = self.pick([1, 0, 1, 2])
        text, prec = self.cond(ctx, depth)
        if prec == P_FILTER and self.maybe(30):
            return f"({text})"
        return text

    # ------------------------------------------------------------ declarations
    def let_decls(self) -> list[str]:
        out = []
        for i in range(self.count(0, 5)):
            kind = self.pick(["cond", "filter", "evcond", "num", "text"])
            name = f"`{kind} {i}`" if self.maybe(20) else f"{kind[0]}{i}"
            if kind == "cond":
                value = self.top_cond("rule", 2)
            elif kind == "evcond":
                value = _wrap(self.cond("event", 2), P_OR)
            elif kind == "filter":
                value = self.filter()[0]
            elif kind == "num":
                value = self.num("rule", 2)[0]
            else:
                value = self.pick(LEAD_TEXT)
            self.lets[kind].append(name)
            self.features.add(f"let {kind}")
            out.append(f"let {name} = {value}")
        return out

    def rule(self, label: str, score: str) -> str:
        kind = self.pick(["when", "per", "once", "first"])
        self.features.add(f"rule {kind}")
        points = self.pick(POINTS)
        head = f"rule {quote(label)} {points}"
        if kind == "when":
            return f"{head} when {self.top_cond('rule')}"
        filt, _ = self.filter()
        mods = []
        fade = self.pick([None, None, "half_life", "lifespan"])
        if fade:
            mods.append(f"{fade} {self.days()}")
            self.features.add(f"mod {fade}")
            if kind != "once":
                self.fading.add(score)
        if kind != "once" and not fade and self.maybe(25):
            mods.append(f"at most once per {self.days()}")
            self.features.add("mod throttle")
        if self.maybe(40):
            mods.append(f"cap {self.pick(CAPS)}")
            self.features.add("mod cap")
        mods = self.draw(st.permutations(mods)) if len(mods) > 1 else mods
        tail = (" " + " ".join(mods)) if mods else ""
        if kind == "per":
            return f"{head} per {filt}{tail}"
        if kind == "once":
            return f"{head} once {filt}{tail}"
        return f"{head} first, {self.pick(POINTS)} repeat per {filt}{tail}"

    def decay(self) -> str:
        amount = self.pick(PERCENTS) if self.maybe(40) else "-" + self.pick(["1", "5", "10", "2.5"])
        self.features.add("decay %" if amount.endswith("%") else "decay -")
        return f"decay {amount} every {self.days()} without {self.filter()[0]}"

    def score_decl(self, name: str, first_label: int) -> tuple[str, int]:
        cap = floor = None
        if self.maybe(30):
            cap = self.pick(THRESHOLDS)
        if self.maybe(25):
            floor = self.pick([t for t in THRESHOLDS if cap is None or t <= cap])
        options = ([f"cap {cap:g}"] if cap is not None else []) + (
            [f"floor {floor:g}"] if floor is not None else [])
        if self.maybe(30):
            options.reverse()
        opts = "".join(" " + o for o in options)
        lines = [f"score {name}{opts} {{"]
        n = self.pick([1, 2, 3, 4, 5, 0])
        for i in range(n):
            lines.append("  " + self.rule(f"r{first_label + i}", name))
        for _ in range(self.count(0, 2) if self.maybe(40) else 0):
            lines.append("  " + self.decay())
        lines.append("}")
        return "\n".join(lines), n

    def tiers_block(self, segment: str | None) -> tuple[str, list[float]]:
        n = self.count(1, 4)
        thresholds = sorted(self.draw(st.lists(st.sampled_from(THRESHOLDS), min_size=n - 1,
                                               max_size=n - 1, unique=True)))
        self.site = []
        names = [self.pick(pool) for pool in TIER_NAMES]
        entries = [names[0]]
        for name, thr in zip(names[1:n], thresholds):
            entry = f"{name} at {thr:g}"
            if self.maybe(50):
                entry += " sticky"
                self.features.add("sticky tier")
            for _ in range(self.count(0, 2) if self.maybe(40) else 0):
                entry += f" require {self.top_cond('post', 1)}"
                self.features.add("tier gate")
            entries.append(entry)
        self.gate_tests = self.site
        self.site = None
        head = "tiers" + (f" for {segment}" if segment else "")
        sep = ";\n  " if self.maybe(70) else "; "
        return f"{head} {{\n  " + sep.join(entries) + "\n}", [float(t) for t in thresholds]


@st.composite
def models(draw) -> ModelCase:
    """A random valid model over the fixed schema."""
    g = _ModelGen(draw)
    parts: list[str] = []
    if g.maybe(50):
        parts.append('model "gen"' + (" version 2" if g.maybe(50) else ""))
    parts.append(SCHEMA_TEXT.rstrip("\n"))
    parts += g.let_decls()

    score_names = [g.pick(pool) for pool in SCORE_NAMES[: g.count(1, 3)]]
    label = 0
    for name in score_names:
        text, n = g.score_decl(name, label)
        label += n
        parts.append(text)
        g.scores.append(name)

    if g.maybe(50):
        parts.append(f"total = {g.total_expr(2)[0]}")
        g.features.add("total expr")
    if g.maybe(30):
        lo = g.pick(THRESHOLDS)
        hi = g.pick([t for t in THRESHOLDS if t >= lo])
        parts.append(f"clamp total {lo:g}..{hi:g}")
        g.features.add("clamp")

    score_tests: dict[str, list[tuple[str, float]]] = {"segment": [], "disqualify": []}
    g.site = score_tests["disqualify"]
    for _ in range(g.count(0, 2) if g.maybe(40) else 0):
        parts.append(f"disqualify {quote(g.pick(REASONS))} when {g.top_cond('post')}")
        g.features.add("disqualify")
    g.site = score_tests["segment"]
    segments = [g.pick(pool) for pool in SEGMENT_NAMES[: g.count(0, 3) if g.maybe(50) else 0]]
    for seg in segments:
        parts.append(f"segment {seg} when {g.top_cond('post')}")
        g.features.add("segment")
    g.site = None

    tier_thresholds: dict[str, list[float]] = {}
    if g.maybe(75):
        text, thr = g.tiers_block(None)
        parts.append(text)
        tier_thresholds["default"] = thr
        score_tests["gate:default"] = g.gate_tests
        for seg in segments:
            if g.maybe(50):
                text, thr = g.tiers_block(seg)
                parts.append(text)
                tier_thresholds[column(seg)] = thr
                score_tests[f"gate:{column(seg)}"] = g.gate_tests
                g.features.add("tiers for segment")

    grade = None
    if g.maybe(40):
        score = g.pick(g.scores)
        n = g.count(1, 4)
        thresholds = sorted(draw(st.lists(st.sampled_from(THRESHOLDS), min_size=n - 1,
                                          max_size=n - 1, unique=True)), reverse=True)
        letters = [g.pick(pool) for pool in GRADE_LETTERS[:n]]
        entries = [f"{letter} at {t:g}" for letter, t in zip(letters, thresholds)]
        entries.append(letters[n - 1])
        parts.append(f"grade {score} {{ " + "; ".join(entries) + " }")
        grade = (column(score), [float(t) for t in thresholds])
        g.features.add("grade")

    return ModelCase(text="\n".join(parts) + "\n", scores=[column(s) for s in g.scores],
                     literals=sorted(set(g.literals)), day_values=sorted(set(g.day_values)),
                     numbers=sorted(set(g.numbers)), tier_thresholds=tier_thresholds,
                     grade=grade, score_tests=score_tests, features=g.features)


# ---------------------------------------------------------------- data
AS_OFS = [datetime(2026, 3, 1, tzinfo=UTC),
          datetime(2024, 2, 29, 12, 34, 56, 789_000, tzinfo=UTC)]
KEYS = ["L1", "L2", "L3", "l1", "a", "B", "Ñ1", "z9", "10", "2"]
INTS = [0, 1, 2, 3, 5, 10, 49, 50, 200, 999, 1000, -3]
FLOATS = [0.0, 0.5, 1.1, 2.5, 3.3, 10.0, 99.9, -2.25, 1e6, 200.0, 0.1, 0.1 + 0.2, 1.1 * 3]
# event amounts are dyadic and small, so their sums are exact in any order
AMOUNTS = [0.0, 0.5, 1.0, 2.5, 10.0, -1.25, 100.0, 0.25, 3.0, -0.0]
AGE_DAYS = [0, 1, 2, 3, 6, 7, 8, 13, 14, 29, 30, 31, 44, 45, 46, 89, 90, 91, 364, 365, 400]
OFFSETS = [timedelta(0), timedelta(0), timedelta(microseconds=1), timedelta(microseconds=-1),
           timedelta(hours=6), timedelta(hours=-6), timedelta(seconds=-1)]


@dataclass
class Dataset:
    as_of: datetime
    leads: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def describe(self) -> str:
        lines = [f"as_of = {self.as_of.isoformat()}", "leads:"]
        lines += [f"  {r!r}" for r in self.leads]
        lines.append("events:")
        lines += [f"  {r!r}" for r in self.events]
        return "\n".join(lines)


def text_values(literals: list[str] = ()) -> st.SearchStrategy:
    """Text values (never missing): mostly the model's own literals and the shared words,
    in any letter case, sometimes glued together or random."""
    def cased(pool):
        return st.builds(lambda w, f: f(w), st.sampled_from(pool), st.sampled_from(CASE_CHANGES))

    words = cased(sorted(set(WORDS) | set(AFFIXES[:-1])))
    own = cased(sorted(set(literals) - {""})) if any(literals) else words
    return st.one_of(own, own, own, words, words,
                     st.text(alphabet=ALPHABET, min_size=1, max_size=10),
                     st.builds(lambda a, b: a + b, own, words),
                     st.builds(lambda a, b: a + b, words, own))


def timestamps(as_of: datetime, days: list[int] = ()) -> st.SearchStrategy:
    """Around as_of: whole days before it (often the model's own durations, or one day
    either side), then a microsecond, a second or six hours either side; a few after it."""
    near = sorted({d + k for d in days for k in (-1, 0, 1) if d + k >= 0})
    ages = st.one_of(st.sampled_from(AGE_DAYS), st.sampled_from(near)) if near else \
        st.sampled_from(AGE_DAYS)
    before = st.builds(lambda d, o: as_of - timedelta(days=d) + o, ages, st.sampled_from(OFFSETS))
    after = st.builds(lambda d: as_of + d, st.sampled_from(
        [timedelta(microseconds=1), timedelta(hours=1), timedelta(days=3)]))
    return st.one_of(before, before, before, before, before, before, after)


@st.composite
def datasets(draw, literals: list[str] = (), days: list[int] = (),
             numbers: list[float] = ()) -> Dataset:
    """1-8 leads and up to 30 events; text from the shared vocabulary and `literals`, event
    ages near `days`, numbers often from `numbers` (a model's own literals)."""
    as_of = draw(st.sampled_from(AS_OFS))
    keys = draw(st.permutations(KEYS))[: draw(st.integers(1, 8))]
    # a small pool per example, so that leads share values with each other and the literals
    pool = draw(st.lists(text_values(literals), min_size=2, max_size=8))
    texts = st.one_of(st.none(), st.sampled_from(pool), st.sampled_from(pool),
                      st.builds(lambda w, f: f(w), st.sampled_from(pool),
                                st.sampled_from(CASE_CHANGES)),
                      text_values(literals))
    times = timestamps(as_of, days)
    ints = INTS + [int(n) for n in numbers if n.is_integer() and abs(n) < 1e9]
    floats = FLOATS + list(numbers)
    leads = []
    for key in keys:
        leads.append({
            "id": key,
            "created_at": draw(st.one_of(st.none(), times)),
            "industry": draw(texts),
            "title": draw(texts),
            "email": draw(texts),
            "employees": draw(st.one_of(st.none(), st.sampled_from(ints),
                                        st.integers(-10, 5000))),
            "revenue": draw(st.one_of(st.none(), st.sampled_from(floats),
                                      st.floats(-1e6, 1e6, allow_nan=False))),
            "active": draw(st.one_of(st.none(), st.booleans())),
            "signup": draw(st.one_of(st.none(), times)),
            # read by a model with a sticky tier, ignored (an extra column) by the others
            PREVIOUS_TIER: draw(st.one_of(st.none(), st.sampled_from(PREVIOUS_TIERS),
                                          st.sampled_from(PREVIOUS_TIERS).map(str.upper))),
        })
    kinds = EVENT_TYPES * 3 + [t.upper() for t in EVENT_TYPES] + [t.title() for t in EVENT_TYPES] \
        + UNDECLARED_TYPES
    lead_ids = st.one_of(st.sampled_from(keys), st.sampled_from(keys), st.sampled_from(keys),
                         st.sampled_from(keys), st.sampled_from(keys).map(lambda k: f" {k} "),
                         st.sampled_from(keys).map(str.lower), st.just("ghost"))
    event = st.fixed_dictionaries({
        "lead_id": lead_ids,
        "ts": times,
        "kind": st.sampled_from(kinds),
        "page": texts,
        "amount": st.one_of(st.none(), st.sampled_from(AMOUNTS),
                            st.integers(-400, 400).map(lambda i: i / 4)),
    })
    at_least = draw(st.sampled_from([0, 6, 10, 14, 18, 24]))  # plain lists of events stay short
    events = draw(st.lists(event, min_size=at_least, max_size=30))
    return Dataset(as_of, leads, events)


@st.composite
def examples(draw) -> tuple[ModelCase, Dataset]:
    """A model and data drawn with the model's own literals."""
    case = draw(models())
    return case, draw(datasets(case.literals, case.day_values, case.numbers))


# ---------------------------------------------------------------- import paths and sizes
# Path pieces an attacker reaches for: climbing out, absolute roots, links, special files,
# separators and encodings, NUL and control characters, very long names.
PATH_PIECES = ["..", ".", "", "sub", "base.score", "link.score", "loop.score", "fifo.score",
               "dir.score", "secret.score", "outside", "/", "//", "\\", "~", "C:", "%2e%2e",
               "..\\..", "\x00", "\x1b[2J", "\u202e", "é", "x" * 300, "nope.score", ".score",
               "base.score/", "base.SCORE", "proc", "self", "environ", "dev", "zero"]


def import_paths() -> st.SearchStrategy[str]:
    """Import paths built from PATH_PIECES, relative or absolute."""
    parts = st.lists(st.sampled_from(PATH_PIECES), min_size=1, max_size=6)
    return st.tuples(st.sampled_from(["", "", "/", "./", "../"]), parts,
                     st.sampled_from(["", "", ".score", "/", "\x00.score"])).map(
        lambda t: t[0] + "/".join(t[1]) + t[2])


def score_string(text: str) -> str:
    """`text` as a rule-file string literal (the language's escapes: \\\\, \\", \\n, \\t, \\r)."""
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\t", "\\t").replace("\r", "\\r")) + '"'


def sized_models(limits: dict[str, int]) -> st.SearchStrategy[tuple[str, str]]:
    """(what, model text) near one of the named limits (`limits`: name -> value): just under,
    at, or just past it, so a limit is reached by the same model that stays inside it."""
    rule = '  rule "r{i}" +1 when title == "t{i}"\n'

    def build(what: str, delta: int) -> tuple[str, str]:
        head = SCHEMA_TEXT
        n = limits[what] + delta
        if what == "MAX_STRING":
            body = 'score s { rule "' + "y" * n + '" +1 when employees > 1 }\n'
        elif what == "MAX_LINES":
            body = "\n" * max(0, n - head.count("\n") - 1)
        elif what == "MAX_SOURCE_BYTES":  # a few rules, then a comment to the exact size
            body = "score s {\n" + "".join(rule.format(i=i) for i in range(100)) + "}\n"
            body += "#" * max(0, n - len(head + body) - 1) + "\n"
        elif what == "MAX_RULES":
            body = "score s {\n" + "".join(f'  rule "{i}" +1 when employees > 1\n'
                                           for i in range(n)) + "}\n"
        else:  # MAX_NESTING: parentheses around a condition
            body = "score s { rule \"d\" +1 when " + "(" * n + "employees > 1" + ")" * n + " }\n"
        return what, head + body

    return st.builds(build, st.sampled_from(sorted(limits)), st.sampled_from([-1, 0, 1]))
