"""The IR as JSON (`leadscore compile --ir`) and back: a compiled model is an artifact.

Every node is `{"node": key, its fields..., "span": [path, line, col, end_line, end_col]}`,
written generically from the node's dataclass fields, so a new node needs nothing here.

A file read back may come from anywhere, and the evaluators spell its operators, ids and
types into generated code and SQL: every value is checked against what the compiler can
produce (`_CHOICES`, the types, ids, names, references to aggregates and earlier bindings),
patterns are validated again, nesting is bounded, and each binding's stage and nullability
are recomputed. A file that fails any check is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from .checked import MAX_DAYS
from .diagnostics import Span
from .fold import FOLDS
from .ir import (
    BOOL,
    FADES,
    NUMBER,
    OPS,
    TEXT,
    TIMESTAMP,
    Account,
    Agg,
    Aggregate,
    Binding,
    Const,
    EvAge,
    EvField,
    EvType,
    Expr,
    Fade,
    Field,
    Gate,
    Model,
    Ref,
    Regex,
    RuleInfo,
    Schema,
    nullable,
    refs,
    walk,
)
from .regex import PortableRegex, compile_portable

IR_FORMAT = 1  # version of the JSON written by `leadscore compile --ir`; bump on any change
MAX_IR_DEPTH = 200  # nodes nested in one expression (the compiler's models stay under 60)
TYPES = {NUMBER, TEXT, BOOL, TIMESTAMP}
FIELD_TYPES = {"text", "int", "float", "bool", "timestamp"}
_CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("arith", "fn"): frozenset({"add", "sub", "mul", "div"}),
    ("extreme", "fn"): frozenset({"min", "max"}),
    ("cmp", "op"): frozenset({"==", "!=", "<", "<=", ">", ">="}),
    ("str_test", "test"): frozenset({"starts_with", "ends_with", "contains"}),
}
_CONST_TYPES = {NUMBER: float, TEXT: str, BOOL: bool}  # a timestamp constant is only null
_AGG_ID = re.compile(r"[am][0-9]{1,9}")


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
            v = (tuple(expr_load(x, depth + 1) for x in v) if isinstance(v, list)
                 else expr_load(v, depth + 1))
        elif cls is Regex and f.name == "pattern":
            _need(isinstance(v, str), "a pattern is not text")
            v = compile_portable(v)  # stored as written: validated again on the way in
        elif isinstance(v, list):
            _need(all(isinstance(x, (str, float, int, bool)) for x in v), "a list of non-values")
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
        _need(v is None or type(v) is _CONST_TYPES.get(t), f"a {t} constant {v!r}")
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
               "rules": [_rule_json(r) for r in a.rules]}
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
                          [_rule_load(r) for r in a["rules"]])
        m = Model(
            name=d["model"]["name"], version=d["model"]["version"], schema=schema,
            aggregates=[_agg_load(a) for a in d["aggregates"]],
            bindings=[_binding_load(b) for b in d["bindings"]],
            outputs=[tuple(o) for o in d["outputs"]], scores=d["scores"], tiers=d["tiers"],
            rules=[_rule_load(r) for r in d["rules"]], has_grade=d["has_grade"],
            tests=d["tests"], account=acc, sources=d["sources"],
            gates={k: [Gate(g["text"], _span_load(g["span"])) for g in v]
                   for k, v in d["gates"].items()})
        _check_model(m)
    except (KeyError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"a malformed leadscore IR file ({type(err).__name__}: {err})") from None
    return m


def _names(v: Any, what: str) -> None:
    _need(isinstance(v, list) and all(isinstance(x, str) for x in v), f"{what} is not a list of names")


def _check_schema(s: Schema) -> None:
    for name in ("lead_key",):
        _need(isinstance(getattr(s, name), str), f"the schema's {name} is not a name")
    for name in ("lead_created", "lead_table", "event_lead", "event_time", "event_type",
                 "event_table"):
        _need(getattr(s, name) is None or isinstance(getattr(s, name), str),
              f"the schema's {name} is not a name")
    for fields_ in (s.lead_fields, s.event_fields):
        _need(isinstance(fields_, dict) and all(isinstance(k, str) and t in FIELD_TYPES
                                                for k, t in fields_.items()),
              "a schema field of an unknown type")
    _names(s.event_types, "the schema's event types")


def _check_aggregates(aggs: list[Aggregate], prefix: str) -> dict[str, Aggregate]:
    by_id: dict[str, Aggregate] = {}
    for a in aggs:
        _need(isinstance(a.id, str) and _AGG_ID.fullmatch(a.id) is not None
              and a.id[0] == prefix and a.id not in by_id, f"an aggregate id {a.id!r}")
        _need(a.fn in FOLDS, f"aggregate {a.id} folds with an unknown function {a.fn!r}")
        for days in (a.window, a.period, a.fade.days if a.fade else None):
            _need(days is None or type(days) is int and 1 <= days <= MAX_DAYS,
                  f"aggregate {a.id} has {days!r} days")
        _need(a.fade is None or a.fade.kind in FADES, f"aggregate {a.id} fades unknowably")
        by_id[a.id] = a
    return by_id


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


def _check_bindings(bindings: list[Binding], aggs: dict[str, Aggregate], outer: dict,
                    fields_: dict[str, str], what: str) -> dict[str, Binding]:
    """Each binding uses only aggregates and earlier bindings; its stage and nullability are
    recomputed (the evaluators rely on them), and must be what the file says."""
    seen: dict[str, Binding] = {}
    for b in bindings:
        _need(isinstance(b.name, str) and b.name not in seen and b.name not in outer,
              f"the binding name {b.name!r}")
        _check_exprs([b.expr], (Agg, Ref, Field), aggs, {**outer, **seen}, fields_,
                     f"binding {b.name!r}")
        stage = max((seen[r].stage + 1 for r in refs(b.expr) if r in seen), default=0)
        _need(b.stage == stage and b.nullable == nullable(b.expr, aggs, {**outer, **seen}),
              f"binding {b.name!r}: its stage or nullability is not its expression's (an "
              "edited file?)")
        seen[b.name] = b
    return seen


def _check_model(m: Model) -> None:
    s = m.schema
    _need(isinstance(m.name, str) and (m.version is None or type(m.version) is int),
          "the model's name or version")
    _check_schema(s)
    lead_fields = {**s.lead_fields, **({s.lead_created: "timestamp"} if s.lead_created else {})}
    aggs = _check_aggregates(m.aggregates, "a")
    for a in m.aggregates:
        _check_exprs(list(a.children()), (EvField, EvType, EvAge), aggs, {}, s.event_fields,
                     f"aggregate {a.id}")
    bindings = _check_bindings(m.bindings, aggs, {}, lead_fields, "the model")
    for column, name in m.outputs:
        _need(isinstance(column, str) and name in bindings, f"output {column!r}")
    for r in m.rules:
        _need(r.points in bindings and (r.count is None or r.count in bindings),
              f"rule {r.label!r} names unknown bindings")
    _need(all(k in bindings for k in m.gates), "a gate of an unknown tier")
    _names(m.scores, "the scores")
    _need(isinstance(m.tiers, dict) and all(isinstance(v, list) for v in m.tiers.values()),
          "the tiers")
    _need(isinstance(m.tests, list) and all(isinstance(t, dict) for t in m.tests), "the tests")
    _names(m.sources, "the sources")
    if m.account is not None:
        a = m.account
        _need(a.field in s.lead_fields, f"accounts group by an undeclared field {a.field!r}")
        members = _check_aggregates(a.aggregates, "m")
        for x in a.aggregates:  # member values read the lead's fields and scores
            _check_exprs(list(x.children()), (Field, Ref), {}, bindings, lead_fields,
                         f"aggregate {x.id}")
        acc = _check_bindings(a.bindings, members, {}, {}, "the account")
        for column, name in a.outputs:
            _need(isinstance(column, str) and name in acc, f"account output {column!r}")
        for r in a.rules:
            _need(r.points in acc, f"account rule {r.label!r} names unknown bindings")
