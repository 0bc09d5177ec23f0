"""The IR as JSON (`leadscore compile --ir`) and back: a compiled model is an artifact.

Every node is `{"node": key, its fields..., "span": [path, line, col, end_line, end_col]}`,
written generically from the node's dataclass fields, so a new node needs nothing here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from .diagnostics import Span
from .ir import (
    OPS,
    Account,
    Aggregate,
    Binding,
    Expr,
    Fade,
    Gate,
    Model,
    Regex,
    RuleInfo,
    Schema,
)
from .regex import PortableRegex, compile_portable

IR_FORMAT = 1  # version of the JSON written by `leadscore compile --ir`; bump on any change


def _span_json(s: Span | None) -> list | None:
    return None if s is None else [s.path, s.line, s.column, s.end_line, s.end_column]


def _span_load(v: list | None) -> Span | None:
    return None if v is None else Span(*v)


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


def expr_load(d: dict) -> Expr:
    cls = OPS.get(d.get("node"))
    if cls is None:
        raise ValueError(f"unknown IR node {d.get('node')!r}")
    kw: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "span":
            kw["span"] = _span_load(d.get("span"))
            continue
        v = d[f.name]
        if f.name in cls.CHILDREN:
            v = tuple(expr_load(x) for x in v) if isinstance(v, list) else expr_load(v)
        elif cls is Regex and f.name == "pattern":
            v = compile_portable(v)  # stored as written: validated again on the way in
        elif isinstance(v, list):
            v = tuple(v)
        kw[f.name] = v
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
        return Model(
            name=d["model"]["name"], version=d["model"]["version"], schema=schema,
            aggregates=[_agg_load(a) for a in d["aggregates"]],
            bindings=[_binding_load(b) for b in d["bindings"]],
            outputs=[tuple(o) for o in d["outputs"]], scores=d["scores"], tiers=d["tiers"],
            rules=[_rule_load(r) for r in d["rules"]], has_grade=d["has_grade"],
            tests=d["tests"], account=acc, sources=d["sources"],
            gates={k: [Gate(g["text"], _span_load(g["span"])) for g in v]
                   for k, v in d["gates"].items()})
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"a malformed leadscore IR file ({type(err).__name__}: {err})") from None
