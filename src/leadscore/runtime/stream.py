"""Real-time scoring: per-lead state updated one event at a time.

`Stream(model)` (or `leadscore.load(...).stream()`) keeps, for each lead, a small state
per IR aggregate instead of the lead's events, so that `update(event)` costs the same
whether the lead has 3 events or 3 million. The state is read at a scoring instant
`as_of` and the model's bindings run on it: the same generated code as the batch
evaluator, so a stream row equals the batch row for the same events and `as_of` (within
1e-9 where a sum of fading weights is added in another order; see docs/performance.md).

How each aggregate is kept (the kind is chosen from the IR, per aggregate):

- a count, or a sum/min/max/distinct of event fields: a running value;
- `within Nd` (a window): the matching events' times (and values), sorted, dropping those
  more than N days older than the lead's newest event: a buffer bounded by the window;
- a `half_life` sum: Σ 0.5^((t_ref − t)/H) with t_ref the newest matching event; at as_of
  it is scaled by 0.5^((as_of − t_ref)/H), so one multiply per event and per score;
- `lifespan L` sums: a buffer of the events younger than L (older ones weigh 0);
- the newest or oldest matching event (`days_since(last ...)`, decay, `once` with a
  weight, `first ... repeat` with a weight): two times;
- anything else (`at most once per Nd`: the periods depend on as_of): the matching events'
  times, re-read at each score. Only these rules cost time in the lead's history.

Scoring instants only move forward per lead: `score(key, as_of)` needs as_of at or after
the lead's newest event (windows have already dropped what an earlier as_of would need);
events may arrive out of order, before that newest event.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from ..backends.python import _Gen, field_usage
from ..compiler import ir
from ..compiler.text import fold
from .data import convert

_FIRST = itemgetter(0)
AGE = ir.E("ev_age", (), ir.NUMBER)


def _flat_and(e: ir.E) -> list[ir.E]:
    out, stack = [], [e]
    while stack:
        x = stack.pop()
        if x.op == "and":
            stack.extend(reversed(x.args))
        else:
            out.append(x)
    return out


def _uses_age(e: Any) -> bool:
    if isinstance(e, ir.E):
        return e.op == "ev_age" or any(_uses_age(a) for a in e.args)
    if isinstance(e, tuple):
        return any(_uses_age(a) for a in e)
    return False


def _const(e: ir.E) -> float | None:
    return e.args[0] if e.op == "const" and isinstance(e.args[0], (int, float)) else None


def _days_over(e: ir.E) -> float | None:
    """N when `e` is days(ev_age) / N."""
    if e.op == "div" and e.args[0] == ir.E("days", (AGE,), ir.NUMBER):
        return _const(e.args[1])
    return None


class _Plan:
    """How one aggregate is kept: `kind`, its state slots, its window (µs) if any."""

    def __init__(self, a: ir.Aggregate, slot: int):
        self.a = a
        self.slot = slot
        parts = _flat_and(a.where)
        bounds = [p for p in parts if p.op == "cmp" and p.args[0] == "<" and p.args[1] == AGE
                  and _const(p.args[2]) is not None and float(_const(p.args[2])).is_integer()]
        static = [p for p in parts if p not in bounds]
        self.window = int(min(_const(b.args[2]) for b in bounds)) if bounds else None
        self.static = ir.and_(*static)
        v = a.value
        age_in_where = any(_uses_age(p) for p in static)
        age_in_value = v is not None and _uses_age(v)
        if age_in_where:
            self.kind = "events"  # re-read every matching event at each score
        elif not age_in_value:
            self.kind = ("count" if a.fn == "count" else a.fn) if self.window is None else "window"
        elif self.window is not None:
            self.kind = "window"
        elif v == AGE and a.fn in ("min", "max"):
            self.kind = "newest" if a.fn == "min" else "oldest"  # min age: newest event
        elif self.fading(v) and a.fn in ("min", "max"):
            # weights fall with age: the largest is the newest event's, the smallest the oldest's
            self.kind = "newest" if a.fn == "max" else "oldest"
        elif self.half_life(v) and a.fn == "sum":
            self.kind = "decay"
        elif self.lifespan(v) is not None and a.fn == "sum":
            self.kind = "window"
            self.window = int(self.lifespan(v) * 86_400_000_000)
        else:
            self.kind = "events"
        self.slots = 2 if self.kind in ("decay",) else 1
        # a windowed count needs only the times: plain ints, bisected without a key
        self.bare = self.kind == "window" and a.fn == "count"

    @staticmethod
    def half_life(v: ir.E) -> bool:
        """pow(b, days(age) / H) with constants b, H: multiplicative in age."""
        return v.op == "pow" and _const(v.args[0]) is not None and _days_over(v.args[1]) is not None

    @staticmethod
    def lifespan(v: ir.E) -> float | None:
        """L for max(0, 1 - days(age) / L): zero from age L on."""
        if v.op == "max" and _const(v.args[0]) == 0 and v.args[1].op == "sub" \
                and _const(v.args[1].args[0]) == 1:
            return _days_over(v.args[1].args[1])
        return None

    def fading(self, v: ir.E) -> bool:
        return self.half_life(v) or self.lifespan(v) is not None


class _StreamGen(_Gen):
    """Source for `apply(st, t, typ, *fields)` and `score(st, key, *lead fields, as_of_us)`."""

    def __init__(self, model: ir.Model):
        super().__init__(model)
        self.plans: list[_Plan] = []
        slot = 1  # st[0]: the lead's newest event time (None before any)
        for a in model.aggregates:
            p = _Plan(a, slot)
            self.plans.append(p)
            slot += p.slots
        self.size = slot

    def init(self) -> str:
        parts = ["None"]
        for p in self.plans:
            parts += {"count": ["0"], "sum": ["0.0"], "min": ["None"], "max": ["None"],
                      "count_distinct": ["set()"], "window": ["[]"], "events": ["[]"],
                      "newest": ["None"], "oldest": ["None"], "decay": ["0.0", "None"]}[p.kind]
        return "[" + ", ".join(parts) + "]"

    def value(self, p: _Plan) -> str:
        """The aggregate's value expression, for an event `age` µs old (a local)."""
        return self.expr(p.a.value)

    # ------------------------------------------------------------ apply
    def apply_source(self) -> str:
        fields = ", ".join(f"e{i}" for i in range(len(self.event_fields)))
        lines = [f"def apply(st, t, typ{', ' if fields else ''}{fields}):",
                 "    newest = st[0]",
                 "    if newest is None or t > newest:",
                 "        st[0] = t"]
        for p in self.plans:  # drop what no later as_of can see
            if p.kind == "window":
                first, key = ("b[0]", "") if p.bare else ("b[0][0]", ", key=_first")
                lines += [f"        b = st[{p.slot}]",
                          f"        if b and {first} <= t - {p.window}:",
                          f"            del b[:_bisect_right(b, t - {p.window}{key})]"]
        by_type: dict[str, list[_Plan]] = {}
        any_type: list[_Plan] = []
        for p in self.plans:
            types, rest = self.split_type(p.static)
            p.rest = rest
            if types is None:
                any_type.append(p)
            else:
                for t in types:
                    by_type.setdefault(t, []).append(p)
        first = True
        for t, plans in by_type.items():
            lines.append(f"    {'if' if first else 'elif'} typ == {t!r}:")
            lines += self.updates(plans, "        ")
            first = False
        lines += self.updates(any_type, "    ")
        return "\n".join(lines) + "\n"

    def updates(self, plans: list[_Plan], indent: str) -> list[str]:
        out = []
        for p in plans:
            if p.rest == ir.TRUE:
                out += self.update_one(p, indent)
            else:
                out.append(f"{indent}if {self.expr(p.rest)}:")
                out += self.update_one(p, indent + "    ")
        return out

    def update_one(self, p: _Plan, ind: str) -> list[str]:
        s, a = p.slot, p.a
        fields = ", ".join(f"e{i}" for i in range(len(self.event_fields)))
        if p.bare:
            return [f"{ind}_insort(st[{s}], t)"]
        if p.kind in ("window", "events"):
            return [f"{ind}_insort(st[{s}], (t, typ{', ' if fields else ''}{fields}), key=_first)"]
        if p.kind == "newest":
            return [f"{ind}if st[{s}] is None or t > st[{s}]:", f"{ind}    st[{s}] = t"]
        if p.kind == "oldest":
            return [f"{ind}if st[{s}] is None or t < st[{s}]:", f"{ind}    st[{s}] = t"]
        if p.kind == "decay":  # st[s] = Σ w(ref - t_i), st[s+1] = ref (the newest event)
            w = self.value(p)  # w(a + b) = w(a) * w(b): rescale to the newer reference
            return [f"{ind}ref = st[{s + 1}]",
                    f"{ind}if ref is None:",
                    f"{ind}    st[{s}], st[{s + 1}] = 1.0, t",
                    f"{ind}elif t > ref:",
                    f"{ind}    age = t - ref",
                    f"{ind}    st[{s}], st[{s + 1}] = st[{s}] * {w} + 1.0, t",
                    f"{ind}else:",
                    f"{ind}    age = ref - t",
                    f"{ind}    st[{s}] += {w}"]
        if p.kind == "count":
            return [f"{ind}st[{s}] += 1"]
        v = self.expr(a.value)
        lines = [f"{ind}_v = {v}"]
        inner = ind
        if self.nullable(a.value):
            lines.append(f"{ind}if _v is not None:")
            inner = ind + "    "
        if p.kind == "sum":
            lines.append(f"{inner}st[{s}] += _v")
        elif p.kind == "count_distinct":
            lines.append(f"{inner}st[{s}].add(_v)")
        else:
            op = "<" if p.kind == "min" else ">"
            lines += [f"{inner}if st[{s}] is None or _v {op} st[{s}]:", f"{inner}    st[{s}] = _v"]
        return lines

    # ------------------------------------------------------------ score
    def score_source(self, used: list[str]) -> str:
        fields = ", ".join(self.local[f"f:{n}"] for n in used)
        lines = [f"def score(st, key{', ' if fields else ''}{fields}, as_of_us):"]
        for p in self.plans:
            lines += self.read(p, "    ")
        lines += self.binding_lines("    ")
        lines.append(f"    return {self.output_tuple()}")
        return "\n".join(lines) + "\n"

    def read(self, p: _Plan, ind: str) -> list[str]:
        s, a, aid = p.slot, p.a, p.a.id
        if p.kind == "count" or p.kind in ("sum", "min", "max"):
            return [f"{ind}{aid} = st[{s}]"]
        if p.kind == "count_distinct":
            return [f"{ind}{aid} = len(st[{s}])"]
        if p.kind == "newest" or p.kind == "oldest":
            if a.value == AGE:
                return [f"{ind}{aid} = None if st[{s}] is None else as_of_us - st[{s}]"]
            return [f"{ind}if st[{s}] is None:", f"{ind}    {aid} = None", f"{ind}else:",
                    f"{ind}    age = as_of_us - st[{s}]", f"{ind}    {aid} = {self.value(p)}"]
        if p.kind == "decay":
            return [f"{ind}if st[{s + 1}] is None:", f"{ind}    {aid} = 0.0", f"{ind}else:",
                    f"{ind}    age = as_of_us - st[{s + 1}]",
                    f"{ind}    {aid} = st[{s}] * {self.value(p)}"]
        if p.bare:
            # the filter was applied on the way in; the window is t > as_of - W
            return [f"{ind}b = st[{s}]",
                    f"{ind}{aid} = len(b) - _bisect_right(b, as_of_us - {p.window})"]
        # re-read the kept events with the full filter and value, as the batch loop does
        init = {"count": "0", "sum": "0.0", "min": "None", "max": "None",
                "count_distinct": "0"}[a.fn]
        fields = ", ".join(f"e{i}" for i in range(len(self.event_fields)))
        lines = [f"{ind}{aid} = {init}"]
        if a.fn == "count_distinct":
            lines.append(f"{ind}{aid}_set = set()")
        lines.append(f"{ind}for _t, typ{', ' if fields else ''}{fields} in st[{s}]:")
        lines.append(f"{ind}    age = as_of_us - _t")
        if a.where != ir.TRUE:
            lines.append(f"{ind}    if not ({self.expr(a.where)}):")
            lines.append(f"{ind}        continue")
        lines += self.update(a, ind + "    ")
        if a.fn == "count_distinct":
            lines.append(f"{ind}{aid} = len({aid}_set)")
        return lines


class Stream:
    """Incremental scoring of one model: `lead(...)`, `update(event)`, `score(key, as_of)`.

    Rows are dicts with the model's output columns, like `Model.score`. Values are
    converted and checked as the batch loaders do; a bad value raises `ValueError`.
    """

    def __init__(self, model: ir.Model):
        if not model.schema.has_events:
            raise ValueError("the model scores no events: use Model.score")
        self.model = model
        s = model.schema
        gen = _StreamGen(model)
        used, _, folded, _ = field_usage(model)
        self._used = used
        self._folded = folded
        self.source = gen.apply_source() + "\n" + gen.score_source(used)
        ns: dict[str, Any] = {"_floor": math.floor, "_insort": insort,
                              "_bisect_right": bisect_right, "_first": _FIRST, **gen.consts}
        exec(compile(self.source, f"<leadscore-stream:{model.name}>", "exec"), ns)  # noqa: S102
        self._apply: Callable = ns["apply"]
        self._score: Callable = ns["score"]
        self._event_fields = [(n, s.event_fields[n], f"event:{n}" in folded)
                              for n in gen.event_fields]
        self._lead_fields = [(n, s.lead_fields[n], f"lead:{n}" in folded) for n in used]
        self.columns = [s.lead_key] + [c for c, _ in model.outputs]
        self._leads: dict[str, tuple] = {}  # key -> lead field values the model uses
        self._state: dict[str, list] = {}
        # a fresh state list per lead: a list display evaluated anew each call
        self._new_state = eval(compile(f"lambda: {gen.init()}", "<init>", "eval"))  # noqa: S307
        self._types: dict[str, str] = {}  # raw event type -> folded

    # ------------------------------------------------------------ input
    def lead(self, record: dict[str, Any]) -> None:
        """Add or replace a lead (a dict with the key and the schema's lead fields)."""
        s = self.model.schema
        key = _key(record.get(s.lead_key))
        values = []
        for name, type_, lower in self._lead_fields:
            v = convert(record.get(name), type_)
            values.append(fold(v) if lower and v is not None else v)
        self._leads[key] = tuple(values)

    def update(self, event: dict[str, Any], as_of: datetime | str | int | None = None,
               ) -> dict[str, Any] | None:
        """Apply one event; return its lead's row at `as_of` (default: the lead's newest
        event time), or None when the lead has not been added yet (its events are kept)."""
        s = self.model.schema
        key = _key(event.get(s.event_lead))
        t = _time(event.get(s.event_time))
        typ = convert(event.get(s.event_type), "text")
        if typ is None:
            raise ValueError("the event type is missing")
        values = []
        for name, type_, lower in self._event_fields:
            v = convert(event.get(name), type_)
            values.append(fold(v) if lower and v is not None else v)
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = self._new_state()
        folded = self._types.get(typ)
        if folded is None:
            folded = self._types[typ] = fold(typ)
        self._apply(st, t, folded, *values)
        if key not in self._leads:
            return None
        return dict(zip(self.columns, self._row(key, st, st[0] if as_of is None else
                                                _time(as_of))))

    # ------------------------------------------------------------ output
    def score(self, key: str, as_of: datetime | str | int | None = None) -> dict[str, Any]:
        """The lead's row at `as_of` (default: now); as_of must not precede its newest event."""
        key = _key(key)
        if key not in self._leads:
            raise KeyError(f"no lead {key!r} in this stream")
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = self._new_state()
        t = _time(datetime.now(UTC) if as_of is None else as_of)
        return dict(zip(self.columns, self._row(key, st, t)))

    def _row(self, key: str, st: list, as_of_us: int) -> tuple:
        if st[0] is not None and as_of_us < st[0]:
            raise ValueError("a stream scores forward in time: as_of precedes this lead's "
                             "newest event (score past instants with Model.score)")
        return self._score(st, key, *self._leads[key], as_of_us)

    def __len__(self) -> int:
        return len(self._leads)


def _key(value: Any) -> str:
    key = None if value is None else convert(value, "text")
    key = key.strip() if key is not None else None
    if not key:
        raise ValueError("the lead key is missing")
    return key


def _time(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # microseconds since the epoch, UTC
    t = convert(value, "timestamp")
    if t is None:
        raise ValueError("the event time is missing")
    return t
