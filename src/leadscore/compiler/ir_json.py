"""The IR as JSON (`leadscore compile --ir`) and back: a compiled model is an artifact.

Every node is `{"node": key, its fields..., "span": [path, line, col, end_line, end_col]}`,
written generically from the node's dataclass fields, so a new node needs nothing here.

A file read back may come from anywhere, and the evaluators spell its operators, ids and
types into generated code and SQL: every value is checked against what the compiler can
produce (`_CHOICES`, the types, ids, names, references to aggregates and earlier bindings),
every expression is typed as the compiler types it (`_Typing`), each aggregate's fold data
is one the compiler writes, patterns are validated again, nesting is bounded, and each
binding's stage and nullability are recomputed. A file that fails any check is refused
with the reason: the evaluators trust the IR (text never meets arithmetic, `extreme` never
meets a null), so an IR the compiler could not have written would crash them or make the
engines disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from typing import Any

from .checked import FIELD_TYPES, MAX_DAYS
from .diagnostics import Span
from .fold import FOLDS
from .ir import (
    AGE,
    BOOL,
    FADES,
    NUMBER,
    OPS,
    PREVIOUS_TIER,
    STEP_VALUES,
    TEXT,
    TIMESTAMP,
    Account,
    AgeUs,
    Agg,
    Aggregate,
    Arith,
    Binding,
    Case,
    Coalesce,
    Const,
    EvAge,
    EvField,
    EvType,
    Expr,
    Extreme,
    Fade,
    Field,
    Floor,
    Gate,
    IsNull,
    Model,
    Pow,
    Ref,
    Regex,
    RuleInfo,
    Schema,
    Step,
    When,
    WholeDays,
    nullable,
    refs,
    walk,
)
from .regex import PortableRegex, compile_portable

IR_FORMAT = 3  # version of the JSON written by `leadscore compile --ir`; bump on any change
# nodes nested in one expression: the compiler's models stay under 30 (the language nests 16
# levels); the generated Python nests two parentheses a level and Python stops at 200
MAX_IR_DEPTH = 60
TYPES = {NUMBER, TEXT, BOOL, TIMESTAMP}
_CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("arith", "fn"): frozenset({"add", "sub", "mul", "div"}),
    ("extreme", "fn"): frozenset({"min", "max"}),
    ("cmp", "op"): frozenset({"==", "!=", "<", "<=", ">", ">="}),
    ("str_test", "test"): frozenset({"starts_with", "ends_with", "contains"}),
}
_CONST_TYPES = {NUMBER: float, TEXT: str, BOOL: bool}  # a timestamp constant is only null
_AGG_ID = re.compile(r"[am][0-9]{1,9}")
# the operand type of the operations whose operands all have one
_OPERANDS = {"arith": NUMBER, "neg": NUMBER, "extreme": NUMBER, "pow": NUMBER, "coalesce": NUMBER,
             "floor": NUMBER, "whole_days": NUMBER, "days": NUMBER, "age_us": TIMESTAMP,
             "and": BOOL, "or": BOOL, "not": BOOL, "str_test": TEXT, "regex": TEXT}
_ROLLUP_FNS = frozenset({"count", "sum", "min", "max", "avg"})  # what an account folds
_OUTPUTS = ("total", "segment", "tier", "held_from", "disqualified_by")  # after the scores


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(what)


def _span_json(s: Span | None) -> list | None:
    return None if s is None else [s.path, s.line, s.column, s.end_line, s.end_column]


def _span_load(v: list | None) -> Span | None:
    if v is None:
        return None
    _need(isinstance(v, list) and len(v) == 5 and isinstance(v[0], str)
          and all(type(x) is int for x in v[1:]), f"a span {v!r}")
    return Span(*v)


def expr_json(e: Expr) -> dict:
    """One node as JSON: {"node": key, each field, "span"}; children nested."""
    out: dict[str, Any] = {"node": e.key}
    for f in fields(e):
        v = getattr(e, f.name)
        if f.name == "span":
            if v is not None:
                out["span"] = _span_json(v)
        elif f.name in e.CHILDREN:
            out[f.name] = [expr_json(x) for x in v] if isinstance(v, tuple) else expr_json(v)
        elif isinstance(v, PortableRegex):
            out[f.name] = v.source
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def expr_load(d: dict, depth: int = 1) -> Expr:
    """A node written by `expr_json`, checked (see the module's docstring)."""
    _need(isinstance(d, dict), f"an expression is {type(d).__name__}, not an object")
    _need(depth <= MAX_IR_DEPTH, f"expressions nested more than {MAX_IR_DEPTH} deep")
    cls = OPS.get(d.get("node"))
    _need(cls is not None, f"unknown IR node {d.get('node')!r}")
    kw: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "span":
            kw["span"] = _span_load(d.get("span"))
            continue
        v = d[f.name]
        if f.name in cls.CHILDREN:
            many = "tuple" in str(f.type)
            _need(isinstance(v, list) == many, f"`{cls.key}`'s {f.name} is not "
                  + ("a list of expressions" if many else "one expression"))
            v = tuple(expr_load(x, depth + 1) for x in v) if many else expr_load(v, depth + 1)
        elif cls is Regex and f.name == "pattern":
            _need(isinstance(v, str), "a pattern is not text")
            v = compile_portable(v)  # stored as written: validated again on the way in
        elif "tuple" in str(f.type):  # `in`'s items
            _need(isinstance(v, list) and all(isinstance(x, (str, float, int, bool)) for x in v),
                  "a list of non-values")
            v = tuple(float(x) if type(x) is int else x for x in v)
        elif f.name == "type":
            _need(v in TYPES, f"unknown type {v!r}")
        elif (cls.key, f.name) in _CHOICES:
            _need(v in _CHOICES[cls.key, f.name], f"`{cls.key}` cannot be {v!r}")
        elif f.name != "value":
            _need(isinstance(v, str), f"`{cls.key}` has a {f.name} that is not text")
        kw[f.name] = v
    if cls is Const:
        v, t = kw["value"], kw["type"]
        if type(v) is int:
            kw["value"] = v = float(v)
        _need(v is None and t != BOOL or type(v) is _CONST_TYPES.get(t)
              and (t != NUMBER or math.isfinite(v)), f"a {t} constant {v!r}")
    return cls(**kw)


def _agg_json(a: Aggregate) -> dict:
    return {"id": a.id, "fn": a.fn, "where": expr_json(a.where),
            "value": None if a.value is None else expr_json(a.value), "window": a.window,
            "fade": None if a.fade is None else {"kind": a.fade.kind, "days": a.fade.days},
            "period": a.period, "span": _span_json(a.span)}


def _agg_load(d: dict) -> Aggregate:
    return Aggregate(d["id"], d["fn"], expr_load(d["where"]),
                     None if d["value"] is None else expr_load(d["value"]), d["window"],
                     None if d["fade"] is None else Fade(**d["fade"]), d["period"],
                     _span_load(d["span"]))


def _binding_json(b: Binding) -> dict:
    return {"name": b.name, "stage": b.stage, "nullable": b.nullable, "expr": expr_json(b.expr)}


def _binding_load(d: dict) -> Binding:
    return Binding(d["name"], expr_load(d["expr"]), d["nullable"], d["stage"])


def _rule_json(r: RuleInfo) -> dict:
    return {**r.__dict__, "span": _span_json(r.span)}


def _rule_load(d: dict) -> RuleInfo:
    return RuleInfo(**{**d, "span": _span_load(d["span"])})


def _step_json(s: Step) -> dict:
    return {"kind": s.kind, "subject": s.subject, "label": s.label,
            "values": {k: expr_json(v) for k, v in s.values.items()}, "facts": s.facts,
            "span": _span_json(s.span)}


def _step_load(d: dict) -> Step:
    _need(isinstance(d["values"], dict) and isinstance(d["facts"], dict), "an explain step")
    return Step(d["kind"], d["subject"], d["label"],
                {k: expr_load(v) for k, v in d["values"].items()}, d["facts"],
                _span_load(d["span"]))


def _check_steps(steps: list[Step], aggs: dict, bindings: dict, fields_: dict[str, str],
                 what: str) -> None:
    """Explain steps as lowering writes them: names, constant facts, and values of their
    slot's type over what the model binds."""
    for s in steps:
        _need(all(isinstance(x, str) for x in (s.kind, s.subject, s.label))
              and all(isinstance(k, str) and (v is None or type(v) in (str, float, int, bool))
                      for k, v in s.facts.items()), f"{what} explain step {s.label!r}")
        for name, e in s.values.items():
            _need(name in STEP_VALUES, f"{what} explain step {s.label!r} shows {name!r}")
            _check_exprs([e], (Agg, Ref, Field), aggs, bindings, fields_,
                         f"{what} explain step {s.label!r}")
            try:
                _Typing(aggs, bindings, fields_).check(e, STEP_VALUES[name])
            except ValueError as err:
                raise ValueError(f"{what} explain step {s.label!r}: {err}") from None


def to_json(m: Model) -> dict:
    """The complete model as JSON, with the format version; `from_json` reads it back."""
    s = m.schema
    schema = {**s.__dict__, "origins": {k: _span_json(v) for k, v in s.origins.items()}}
    acc = None
    if m.account:
        a = m.account
        acc = {"field": a.field, "aggregates": [_agg_json(x) for x in a.aggregates],
               "bindings": [_binding_json(b) for b in a.bindings],
               "outputs": [list(o) for o in a.outputs], "tiers": a.tiers,
               "rules": [_rule_json(r) for r in a.rules],
               "explain": [_step_json(x) for x in a.explain]}
    return {
        "format": IR_FORMAT,
        "model": {"name": m.name, "version": m.version},
        "schema": schema,
        "aggregates": [_agg_json(a) for a in m.aggregates],
        "bindings": [_binding_json(b) for b in m.bindings],
        "outputs": [list(o) for o in m.outputs],
        "scores": m.scores,
        "tiers": m.tiers,
        "rules": [_rule_json(r) for r in m.rules],
        "has_grade": m.has_grade,
        "gates": {k: [{"text": g.text, "span": _span_json(g.span)} for g in v]
                  for k, v in m.gates.items()},
        "explain": [_step_json(x) for x in m.explain],
        "account": acc,
        "tests": m.tests,
        "sources": m.sources,
    }


def from_json(d: dict) -> Model:
    """A model written by `to_json`; raises ValueError for another format or a bad file."""
    if not isinstance(d, dict) or d.get("format") != IR_FORMAT:
        found = d.get("format") if isinstance(d, dict) else None
        raise ValueError(f"not a leadscore IR file of format {IR_FORMAT} (found format {found!r})")
    try:
        s = d["schema"]
        schema = Schema(**{**s, "origins": {k: _span_load(v) for k, v in s["origins"].items()}})
        acc = None
        if d["account"]:
            a = d["account"]
            acc = Account(a["field"], [_agg_load(x) for x in a["aggregates"]],
                          [_binding_load(b) for b in a["bindings"]],
                          [tuple(o) for o in a["outputs"]], a["tiers"],
                          [_rule_load(r) for r in a["rules"]],
                          [_step_load(x) for x in a["explain"]])
        m = Model(
            name=d["model"]["name"], version=d["model"]["version"], schema=schema,
            aggregates=[_agg_load(a) for a in d["aggregates"]],
            bindings=[_binding_load(b) for b in d["bindings"]],
            outputs=[tuple(o) for o in d["outputs"]], scores=d["scores"], tiers=d["tiers"],
            rules=[_rule_load(r) for r in d["rules"]], has_grade=d["has_grade"],
            tests=d["tests"], account=acc, sources=d["sources"],
            gates={k: [Gate(g["text"], _span_load(g["span"])) for g in v]
                   for k, v in d["gates"].items()},
            explain=[_step_load(x) for x in d["explain"]])
        _check_model(m)
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError) as err:
        raise ValueError(f"a malformed leadscore IR file ({type(err).__name__}: {err})") from None
    return m


def _names(v: Any, what: str) -> None:
    _need(isinstance(v, list) and all(isinstance(x, str) and x for x in v),
          f"{what} is not a list of names")


def _check_schema(s: Schema) -> None:
    _need(isinstance(s.lead_key, str) and s.lead_key, "the schema's lead_key is not a name")
    for name in ("lead_created", "lead_table", "event_lead", "event_time", "event_type",
                 "event_table"):
        _need(getattr(s, name) is None or isinstance(getattr(s, name), str) and getattr(s, name),
              f"the schema's {name} is not a name")
    for fields_ in (s.lead_fields, s.event_fields):
        _need(isinstance(fields_, dict) and all(isinstance(k, str) and k and t in FIELD_TYPES
                                                for k, t in fields_.items()),
              "a schema field of an unknown type")
    _need(s.lead_key not in s.lead_fields, "the lead key is also a field")
    _need(s.lead_fields.get(PREVIOUS_TIER, "text") == "text" and s.lead_key != PREVIOUS_TIER,
          f"{PREVIOUS_TIER!r} (the previous tier) is not a text field")
    _need(s.lead_created is None or s.lead_fields.get(s.lead_created) == "timestamp",
          "the created column is not a timestamp field")
    _names(s.event_types, "the schema's event types")
    # an event schema has its lead, time and type columns, or there are no events at all
    columns = (s.event_lead, s.event_time, s.event_type)
    _need(None not in columns or columns == (None, None, None) and not s.event_fields
          and not s.event_types, "an event schema without its lead, time and type columns")
    _need(not set(columns) & set(s.event_fields), "an event field is also the lead, time or type")


class _Typing:
    """Each expression typed as compiler/typecheck.py types it and built as compiler/lower/
    builds it: the evaluators never meet text in arithmetic, a `when` outside a `case`, a null
    where the IR promises none (`extreme`), nor a floor or power the compiler does not write
    (Python's raise on an overflow where SQL's give infinity)."""

    def __init__(self, aggs: dict[str, Aggregate], bindings: dict[str, Binding],
                 fields_: dict[str, str]):
        self.aggs, self.bindings, self.fields = aggs, bindings, fields_

    def check(self, e: Expr, want: str | None = None, known: frozenset = frozenset()) -> None:
        """`e` of type `want` (any if None) and well typed; `known` are the expressions that an
        earlier branch of an enclosing `case` has tested for null (the clamp of a total)."""
        _need(want is None or e.type == want, f"`{e.key}` is {e.type} where {want} is needed")
        _need(not isinstance(e, When), "a `when` outside a `case`")
        if isinstance(e, Case):
            _need(len(e.whens) > 0 and all(isinstance(w, When) for w in e.whens),
                  "a `case` without its branches")
            for w in e.whens:
                self.check(w.cond, BOOL, known)
                self.check(w.value, e.type, known)
                if isinstance(w.cond, IsNull):  # not null in the later branches
                    known |= {w.cond.value}
            self.check(e.default, e.type, known)
            return
        self.node(e, known)
        for c in e.children():
            self.check(c, _OPERANDS.get(e.key), known)

    def node(self, e: Expr, known: frozenset) -> None:
        """What the operand types alone do not say."""
        if isinstance(e, (Field, EvField)):
            _need(FIELD_TYPES[self.fields[e.name]] == e.type, f"field {e.name!r} is not {e.type}")
        elif isinstance(e, Ref):
            _need(self.bindings[e.name].expr.type == e.type, f"{e.name!r} is not {e.type}")
        elif e.key == "cmp":
            t = e.left.type
            _need(e.right.type == t and t != TIMESTAMP and (t == NUMBER or e.op in ("==", "!=")),
                  f"`{e.op}` between {t} and {e.right.type}")
        elif e.key in ("and", "or"):
            _need(len(e.items) >= 2, f"`{e.key}` of fewer than two conditions")
        elif e.key == "in":
            kind = _CONST_TYPES.get(e.value.type)
            _need(kind is not None and len(e.items) > 0 and all(type(x) is kind for x in e.items),
                  f"`in` with items that are not {e.value.type}s")
        elif isinstance(e, Extreme):
            _need(not any(x not in known and self.nullable(x) for x in (e.left, e.right)),
                  f"`{e.fn}` of a value that can be null")
        elif e.key in ("whole_days", "days"):
            _need(self.age(e.value), f"`{e.key}` of a value that is not an age")
        elif e.key == "floor":  # decay periods (whole days / every), or a decay factor's grid
            v = e.value
            _need(isinstance(v, Arith) and v.fn == "div" and isinstance(v.left, WholeDays)
                  and _const(v.right, 0.0, math.inf) and v.right.value > 0
                  or self.exponent(v) or self.grid(v),
                  "`floor` of a value the compiler does not floor")
        elif e.key == "local":
            _need(False, "a `local` (an evaluator's own per-event value) in a model")
        elif e.key == "pow":  # only 0.5 ^ the whole part of a decay factor's exponent
            x = e.exponent
            _need(_const(e.base, 0.0, 1.0) and isinstance(x, Ref)
                  and isinstance(self.bindings[x.name].expr, Floor)
                  and self.exponent(self.bindings[x.name].expr.value),
                  "`pow` of values the compiler does not raise")

    def nullable(self, e: Expr) -> bool:
        return nullable(e, self.aggs, self.bindings)

    def exponent(self, e: Expr) -> bool:
        """Whether `e` is a percent decay's exponent: min(periods * c, 31) with periods =
        max(0, ...) and c >= 0, bound to a name (compiler/lower/model.py `percent_decay`)."""
        if not isinstance(e, Ref):
            return False
        x = self.bindings[e.name].expr
        if not (isinstance(x, Extreme) and x.fn == "min" and _const(x.right, 0.0, 31.0)):
            return False
        m = x.left
        return (isinstance(m, Arith) and m.fn == "mul" and _const(m.right, 0.0, 1e300)
                and isinstance(m.left, Extreme) and m.left.fn == "max" and _const(m.left.left, 0.0, 0.0))

    def grid(self, e: Expr) -> bool:
        """Whether `e` is a decay factor before its floor: 10^9 * 0.5^n * p(f) + 1/2, n and f
        the whole and fractional parts of an `exponent` (so the value is finite)."""
        if not (isinstance(e, Arith) and e.fn == "add" and _const(e.right, 0.5, 0.5)
                and isinstance(e.left, Arith) and e.left.fn == "mul"):
            return False
        for r in walk(e):
            if isinstance(r, Ref):
                b = self.bindings[r.name].expr
                if isinstance(b, Floor):
                    b = b.value
                elif isinstance(b, Arith) and b.fn == "sub" and isinstance(b.right, Ref):
                    b = b.left
                if not self.exponent(Ref(r.name, NUMBER) if b is self.bindings[r.name].expr else b):
                    return False
            elif not isinstance(r, (Const, Arith, Pow)):
                return False
        return True

    def age(self, e: Expr) -> bool:
        """Whether `e` is an age in µs: as_of - a time, or the newest/oldest event's age."""
        if isinstance(e, Coalesce):
            return self.age(e.value) and self.age(e.fallback)
        if isinstance(e, Agg):
            a = self.aggs[e.id]
            return a.value == AGE and a.fade is None
        return isinstance(e, (AgeUs, EvAge))


def _const(e: Expr, lo: float, hi: float) -> bool:
    return isinstance(e, Const) and e.type == NUMBER and e.value is not None and lo <= e.value <= hi


def _reads_age(e: Expr) -> bool:
    return any(isinstance(n, EvAge) for n in walk(e))


def _check_aggregates(aggs: list[Aggregate], prefix: str) -> dict[str, Aggregate]:
    """Ids, functions and fold data: one per-event value exactly when the fold reads one (a
    field or the age, a fade's weight, or a period); a fade only summed or for the newest or
    oldest event, periods only counted distinct; an account's roll-ups over member values."""
    by_id: dict[str, Aggregate] = {}
    for a in aggs:
        _need(isinstance(a.id, str) and _AGG_ID.fullmatch(a.id) is not None
              and a.id[0] == prefix and a.id not in by_id, f"an aggregate id {a.id!r}")
        what = f"aggregate {a.id}"
        _need(a.fn in FOLDS, f"{what} folds with an unknown function {a.fn!r}")
        for days in (a.window, a.period, a.fade.days if a.fade else None):
            _need(days is None or type(days) is int and 1 <= days <= MAX_DAYS,
                  f"{what} has {days!r} days")
        _need(a.fade is None or a.fade.kind in FADES, f"{what} fades unknowably")
        given = sum(x is not None for x in (a.value, a.fade, a.period))
        _need(given == FOLDS[a.fn].reads_value, f"{what} folds `{a.fn}` over {given} values")
        _need(a.fade is None or a.fn in ("sum", "min", "max"), f"{what} fades a `{a.fn}`")
        _need(a.period is None or a.fn == "count_distinct", f"{what} counts periods by `{a.fn}`")
        _need(prefix == "a" or a.fn in _ROLLUP_FNS and a.window is None and a.fade is None,
              f"{what} is not a roll-up of an account's leads")
        by_id[a.id] = a
    return by_id


def _check_folded(a: Aggregate, typing: _Typing) -> None:
    """The filter and value of aggregate `a`, of the types its fold takes; neither reads the
    age except a value that is the age itself (the newest or oldest event), so that the
    stream can apply the filter as each event arrives."""
    what = f"aggregate {a.id}"
    try:
        typing.check(a.where, BOOL)
        if a.value is not None:
            typing.check(a.value, None if a.fn == "count_distinct" else NUMBER)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from None
    _need(not _reads_age(a.where), f"{what} filters on the age (only its window may)")
    if a.value is not None:
        _need(a.value.type != TIMESTAMP, f"{what} folds timestamps")
        _need(a.value == AGE and a.fn in ("min", "max") or not _reads_age(a.value),
              f"{what} folds a value computed from the age")


def _check_exprs(roots: list[Expr], allowed: tuple[type, ...], aggs: dict, bindings: dict,
                 fields_: dict[str, str], what: str) -> None:
    """Every node of `roots` of a kind `allowed` here, naming what exists."""
    for root in roots:
        for n in walk(root):
            _need(not isinstance(n, (EvField, EvType, EvAge, Agg, Ref, Field)) or
                  isinstance(n, allowed), f"{what} cannot use `{n.key}`")
            if isinstance(n, Agg):
                _need(n.id in aggs, f"{what} uses an unknown aggregate {n.id!r}")
            elif isinstance(n, Ref):
                _need(n.name in bindings, f"{what} uses {n.name!r} before it is bound")
            elif isinstance(n, (Field, EvField)):
                _need(n.name in fields_, f"{what} uses an undeclared field {n.name!r}")


def _check_bindings(bindings: list[Binding], aggs: dict[str, Aggregate],
                    fields_: dict[str, str]) -> dict[str, Binding]:
    """Each binding uses only aggregates and earlier bindings, and is well typed; its stage
    and nullability are recomputed (the evaluators rely on them), and must be what the file
    says."""
    seen: dict[str, Binding] = {}
    for b in bindings:
        _need(isinstance(b.name, str) and b.name and b.name not in seen,
              f"the binding name {b.name!r}")
        _check_exprs([b.expr], (Agg, Ref, Field), aggs, seen, fields_, f"binding {b.name!r}")
        try:
            _Typing(aggs, seen, fields_).check(b.expr)
        except ValueError as err:
            raise ValueError(f"binding {b.name!r}: {err}") from None
        stage = max((seen[r].stage + 1 for r in refs(b.expr) if r in seen), default=0)
        _need(type(b.stage) is int and b.stage == stage and type(b.nullable) is bool
              and b.nullable == nullable(b.expr, aggs, seen),
              f"binding {b.name!r}: its stage or nullability is not its expression's (an "
              "edited file?)")
        seen[b.name] = b
    return seen


def _check_outputs(outputs: list, expected: list[tuple[str, str]], numbers: set[str],
                   bindings: dict[str, Binding], what: str) -> None:
    """The output columns lower/model.py writes, in its order: `numbers` are numbers, the
    others text (the writers, diff and calibrate read them so)."""
    _need([tuple(o) for o in outputs] == expected, f"{what} outputs are not the compiler's")
    for column, name in expected:
        b = bindings.get(name)
        _need(b is not None and b.expr.type == (NUMBER if column in numbers else TEXT),
              f"{what} output {column!r} is not {NUMBER if column in numbers else TEXT}")


def _check_rules(rules: list[RuleInfo], bindings: dict[str, Binding], what: str) -> None:
    """Each rule's points and event count are number bindings (explain and coverage compare
    them with numbers)."""
    numbers = {n for n, b in bindings.items() if b.expr.type == NUMBER}
    for r in rules:
        _need(all(isinstance(x, str) for x in (r.score, r.label, r.kind))
              and r.points in numbers and (r.count is None or r.count in numbers)
              and (r.cap is None or type(r.cap) in (int, float)), f"{what} rule {r.label!r}")


def _check_tests(m: Model) -> None:
    """Test blocks as compiler/declarations.py writes them: the leads and events as plain
    values (the loader reads them as it reads files), expectations on output columns of a
    lead (the test's one lead, or one named by key) or of an account named by key."""
    numeric = {c: c in m.scores or c == "total" for c, _ in m.outputs}
    account = ({c: c != "tier" for c, _ in m.account.outputs} if m.account is not None else {})
    _need(isinstance(m.tests, list), "the tests")
    for t in m.tests:
        _need(all(isinstance(t[k], str) for k in ("name", "where", "as_of")) and type(t["line"]) is int
              and isinstance(t["leads"], list) and t["leads"] and all(_record(x) for x in t["leads"])
              and isinstance(t["events"], list)
              and all(_record(e) for e in t["events"]) and isinstance(t["expects"], list),
              "a test block")
        for x in t["expects"]:
            col, v = x["column"], x["value"]
            columns = account if "account" in x else numeric
            _need(col in columns and x["op"] in _CHOICES["cmp", "op"]
                  and isinstance(x["text"], str) and isinstance(x["where"], str)
                  and all(isinstance(x.get(k, ""), str) for k in ("lead", "account"))
                  and (v is None or type(v) in ((float,) if columns[col] else (str, bool)))
                  and (columns[col] or x["op"] in ("==", "!=")), f"test {t['name']!r}: an expect")


def _record(v: Any) -> bool:
    return isinstance(v, dict) and all(
        isinstance(k, str) and (x is None or type(x) in (str, float, int, bool)) for k, x in v.items())


def _check_model(m: Model) -> None:
    s = m.schema
    _need(isinstance(m.name, str) and (m.version is None or type(m.version) is int),
          "the model's name or version")
    _check_schema(s)
    _need(s.has_events or not m.aggregates, "aggregates of events the schema does not declare")
    aggs = _check_aggregates(m.aggregates, "a")
    events = _Typing(aggs, {}, s.event_fields)
    for a in m.aggregates:
        _check_exprs(list(a.children()), (EvField, EvType, EvAge), aggs, {}, s.event_fields,
                     f"aggregate {a.id}")
        _check_folded(a, events)
    bindings = _check_bindings(m.bindings, aggs, s.lead_fields)
    _names(m.scores, "the scores")
    _need(isinstance(m.has_grade, bool), "has_grade")
    _check_outputs(m.outputs, [(n, f"score:{n}") for n in m.scores] + [(c, c) for c in _OUTPUTS]
                   + [("grade", "grade")] * m.has_grade
                   + [("matrix", "matrix")] * (m.has_grade and bool(m.tiers)),
                   {*m.scores, "total"}, bindings,
                   "the model's")
    _check_rules(m.rules, bindings, "the model's")
    _need(all(k in bindings and all(isinstance(g.text, str) for g in v)
              for k, v in m.gates.items()), "a gate of an unknown tier")
    _check_steps(m.explain, aggs, bindings, s.lead_fields, "the model's")
    _need(isinstance(m.tiers, dict) and all(isinstance(v, list) for v in m.tiers.values()),
          "the tiers")
    for names in m.tiers.values():
        _names(names, "a segment's tiers")
    _check_tests(m)
    _names(m.sources, "the sources")
    if m.account is not None:
        a = m.account
        _need(a.field in s.lead_fields, f"accounts group by an undeclared field {a.field!r}")
        members = _check_aggregates(a.aggregates, "m")
        leads = _Typing({}, bindings, s.lead_fields)
        for x in a.aggregates:  # member values read the lead's fields and scores
            _check_exprs(list(x.children()), (Field, Ref), {}, bindings, s.lead_fields,
                         f"aggregate {x.id}")
            _check_folded(x, leads)
        acc = _check_bindings(a.bindings, members, {})
        _names(a.tiers, "the account's tiers")
        _check_outputs(a.outputs, [("score", "account:score"), ("total", "account:total")]
                       + [("tier", "account:tier")] * bool(a.tiers), {"score", "total"}, acc,
                       "the account's")
        _check_rules(a.rules, acc, "the account's")
        _check_steps([x for x in a.explain if x.kind == "member"], {}, bindings,
                     s.lead_fields, "the account's member")
        _check_steps([x for x in a.explain if x.kind != "member"], members, acc, {},
                     "the account's")
