"""Real-time scoring: per-lead state updated one event at a time.

`Stream(model)` (or `leadscore.load(...).stream()`) keeps, for each lead, a small state
per IR aggregate instead of the lead's events, so that `update(event)` costs the same
whether the lead has 3 events or 3 million. The state is read at a scoring instant
`as_of` and the model's bindings run on it: the same generated code as the batch
evaluator, so a stream row equals the batch row for the same events and `as_of`, to the bit
(fading weights are whole numbers of 10^-9, summed exactly in any order).

Each aggregate's state is chosen from its description (`ir.Aggregate`: `fn`, `value`,
`window`, `fade`, `period`); its filter `where` never reads the age, so it is applied as
each event arrives:

- no window, fade or period, a value of event fields: the fold's own running state
  (compiler/fold.py), e.g. a count;
- the newest or oldest event (`min`/`max` of the age, or of a fade weight, which falls with
  age): one time;
- a sum of fading weights: a buffer of the event times that can still weigh anything
  (`ir.Fade.zero_after`: 31 half-lives, or the lifespan), each weighed at each score on the
  grid of `ir.Fade`, so its sum is the batch's to the bit;
- anything else: a buffer of the kept events' times (with their values when those do not
  depend on the age), sorted, dropping what falls out of the window; read at each score.
  Only `at most once per` without a window keeps the whole history (its periods depend on
  as_of).

Scoring instants only move forward per lead: `score(key, as_of)` needs as_of at or after
the lead's newest event (windows have already dropped what an earlier as_of would need);
events may arrive out of order, before that newest event.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from typing import Any

from ..backends.python import InputShape, _Gen, slots
from ..compiler import ir
from ..compiler.fold import FOLDS, skip_null
from ..compiler.text import fold
from .data import Events, Leads
from .inputs import RecordReader, prepare, record_key, record_time

_FIRST = itemgetter(0)

def _reads_age(e: ir.Expr) -> bool:
    return any(isinstance(n, ir.EvAge) for n in ir.walk(e))


class _Plan:
    """How one aggregate is kept: `kind`, its first state slot, how many, its bound."""

    def __init__(self, a: ir.Aggregate, slot: int):
        self.a = a
        self.slot = slot
        self.window = None if a.window is None else a.window * ir.US_PER_DAY
        self.bound = self.window  # events this much older than the newest are dropped
        value = a.event_value()
        plain = a.window is None and a.period is None
        if plain and a.fade is None and not (value is not None and _reads_age(value)):
            self.kind = "running"
        elif plain and a.fn in ("min", "max") and (a.fade is not None or a.value == ir.AGE):
            # the smallest age is the newest event's; the largest weight too
            self.kind = "newest" if (a.fn == "min") == (a.fade is None) else "oldest"
        else:
            self.kind = "buffer"
            if a.fn == "sum" and a.fade is not None:  # older events weigh 0 at any later as_of
                zero = a.fade.zero_after()
                self.bound = zero if self.bound is None else min(self.bound, zero)
        # a buffer of times alone when the value is computed from the age at each score
        self.bare = value is None or not FOLDS[a.fn].reads_value or _reads_age(value)
        self.slots = len(FOLDS[a.fn].init) if self.kind == "running" else 1

    def init(self) -> list[str]:
        if self.kind == "running":
            return list(FOLDS[self.a.fn].init)
        return ["[]"] if self.kind == "buffer" else ["None"]

    def state(self) -> list[str]:
        return [f"st[{self.slot + i}]" for i in range(self.slots)]


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

    def init(self) -> str:
        return "[" + ", ".join(["None"] + [v for p in self.plans for v in p.init()]) + "]"

    # ------------------------------------------------------------ apply
    def apply_source(self) -> str:
        fields = ", ".join(f"e{i}" for i in range(len(self.event_fields)))
        lines = [f"def apply(st, t, typ{', ' if fields else ''}{fields}):",
                 "    newest = st[0]",
                 "    if newest is None or t > newest:",
                 "        st[0] = t"]
        for p in self.plans:  # drop what no later as_of can see
            if p.kind == "buffer" and p.bound is not None:
                first, key = ("b[0]", "") if p.bare else ("b[0][0]", ", key=_first")
                lines += [f"        b = st[{p.slot}]",
                          f"        if b and {first} <= t - {p.bound}:",
                          f"            del b[:_bisect_right(b, t - {p.bound}{key})]"]
        lines += self.dispatch([(p.a.where, self.arrive(p)) for p in self.plans], "    ")
        return "\n".join(lines) + "\n"

    def arrive(self, p: _Plan) -> list[str]:
        """What an event kept by the aggregate's filter does to its state."""
        a, s = p.a, p.slot
        if p.kind == "running":
            return self.step(a, p.state(), a.value, "")
        if p.kind in ("newest", "oldest"):  # the largest (smallest) time: a max (min) fold
            return FOLDS["max" if p.kind == "newest" else "min"].step_lines([f"st[{s}]"], "t", False)
        if p.bare:
            return [f"_insort(st[{s}], t)"]
        return skip_null(self.expr(a.value), self.nullable(a.value),
                         lambda v: [f"_insort(st[{s}], (t, {v}), key=_first)"])

    # ------------------------------------------------------------ score
    def score_source(self) -> str:
        fields = ", ".join(self.local[f"f:{n}"] for n in self.used_lead_fields)
        lines = [f"def score(st, key{', ' if fields else ''}{fields}, as_of_us):"]
        for p in self.plans:
            lines += ["    " + line for line in self.read(p)]
        lines += self.binding_lines("    ")
        lines.append(f"    return {self.output_tuple()}")
        return "\n".join(lines) + "\n"

    def read(self, p: _Plan) -> list[str]:
        """The aggregate's value at `as_of_us` from its state."""
        a, s, aid = p.a, p.slot, p.a.id
        fold = FOLDS[a.fn]
        if p.kind == "running":
            return [f"{aid} = {fold.result_code(p.state())}"]
        if p.kind in ("newest", "oldest"):
            return [f"if st[{s}] is None:", f"    {aid} = {fold.empty!r}", "else:",
                    f"    age = as_of_us - st[{s}]", f"    {aid} = {self.expr(a.event_value())}"]
        first = "" if p.window is None else \
            f"_bisect_right(b, as_of_us - {p.window}{'' if p.bare else ', key=_first'})"
        if a.fn == "count":  # the times in the window: no loop
            return [f"b = st[{s}]", f"{aid} = len(b)" + (f" - {first}" if first else "")]
        state = slots(a)
        entries = f"b[{first}:]" if first else "b"
        if p.bare:  # times alone: the value is the age's
            loop = [f"for _t in {entries}:", "    age = as_of_us - _t",
                    *self.fade_step(a, state, "    ")]
        else:  # (time, value) pairs, null values already left out
            loop = [f"for _t, _v in {entries}:",
                    *("    " + line for line in fold.step_lines(state, "_v", False))]
        return [f"b = st[{s}]", *fold.init_lines(state), *loop, *self.results([a], "")]


class Stream:
    """Incremental scoring of one model: `lead(...)`, `update(event)`, `score(key, as_of)`.

    Rows are dicts with the model's output columns, like `Model.score`. Values are
    converted and checked as the batch loaders do; a bad value raises `ValueError`.
    """

    def __init__(self, model: ir.Model):
        if not model.schema.has_events:
            raise ValueError("the model scores no events: use Model.score")
        self._setup(model)

    def _setup(self, model: ir.Model) -> None:
        self.model = model
        self.shape = InputShape.of(model)
        self._reader = RecordReader(model.schema, self.shape)
        self._event = self._reader.event
        gen = _StreamGen(model)
        gen.used_lead_fields = self.shape.lead_fields
        self.source = gen.apply_source() + "\n" + gen.score_source()
        ns: dict[str, Any] = {"_floor": math.floor, "_insort": insort,
                              "_bisect_right": bisect_right, "_first": _FIRST, **gen.consts}
        exec(compile(self.source, f"<leadscore-stream:{model.name}>", "exec"), ns)  # noqa: S102
        self._apply: Callable = ns["apply"]
        self._score: Callable = ns["score"]
        self.columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
        self._leads: dict[str, tuple] = {}  # key -> lead field values the model uses
        self._state: dict[str, list] = {}
        # a fresh state list per lead: a list display evaluated anew each call
        self._new_state = eval(compile(f"lambda: {gen.init()}", "<init>", "eval"))  # noqa: S307

    # ------------------------------------------------------------ input
    def lead(self, record: dict[str, Any]) -> None:
        """Add or replace a lead (a dict with the key and the schema's lead fields)."""
        key, values = self._reader.lead(record)
        self._leads[key] = values

    def update(self, event: dict[str, Any], as_of: datetime | str | int | None = None,
               ) -> dict[str, Any] | None:
        """Apply one event; return its lead's row at `as_of` (default: the lead's newest
        event time), or None when the lead has not been added yet (its events are kept)."""
        key, t, typ, values = self._event(event)
        st = self._state.get(key) or self._state_of(key)  # a state is never an empty list
        self._apply(st, t, typ, *values)
        if key not in self._leads:
            return None
        return dict(zip(self.columns, self._row(key, st, st[0] if as_of is None else
                                                record_time(as_of))))

    def apply_events(self, events: Events) -> None:
        """Apply events the loaders already read (`runtime.data`'s typed columns), in
        their order, without scoring: no value is converted twice."""
        types = self._reader.types
        columns = [(events.columns[n], lower) for n, _, lower in self._reader.event_fields]
        for i, (key, t, typ) in enumerate(zip(events.leads, events.times, events.types)):
            values = []
            for col, lower in columns:
                v = col[i]
                values.append(fold(v) if lower and v is not None else v)
            self._apply(self._state.get(key) or self._state_of(key), t, types[typ], *values)

    def state(self, key: str) -> list | None:
        """The lead's state (its events folded), to be saved and given back to `restore`."""
        return self._state.get(key)

    def restore(self, key: str, state: list | None) -> None:
        """Set the lead's state as `state` returned it (None: as if it had no events)."""
        if state is None:
            self._state.pop(key, None)
        else:
            self._state[key] = state

    def forget(self, key: str) -> None:
        """Drop the lead and its state."""
        self._leads.pop(key, None)
        self._state.pop(key, None)

    def newest(self, key: str) -> int | None:
        """The time (µs) of the lead's newest event, None before any."""
        st = self._state.get(key)
        return None if st is None else st[0]

    def _state_of(self, key: str) -> list:
        st = self._state.get(key)
        if st is None:
            st = self._state[key] = self._new_state()
        return st

    # ------------------------------------------------------------ output
    def score(self, key: Any, as_of: datetime | str | int | None = None) -> dict[str, Any]:
        """The lead's row at `as_of` (default: now); as_of must not precede its newest event."""
        key = record_key(key)
        if key not in self._leads:
            raise KeyError(f"no lead {key!r} in this stream")
        t = record_time(datetime.now(UTC) if as_of is None else as_of)
        return dict(zip(self.columns, self._row(key, self._state_of(key), t)))

    def row(self, key: str, as_of_us: int) -> tuple:
        """The lead's output tuple (key first, `columns`) at `as_of_us`, not before its
        newest event."""
        return self._row(key, self._state_of(key), as_of_us)

    def _row(self, key: str, st: list, as_of_us: int) -> tuple:
        if st[0] is not None and as_of_us < st[0]:
            raise ValueError("a stream scores forward in time: as_of precedes this lead's "
                             "newest event (score past instants with Model.score)")
        return self._score(st, key, *self._leads[key], as_of_us)

    def __len__(self) -> int:
        return len(self._leads)

    def __contains__(self, key: str) -> bool:
        return key in self._leads


class Streamed:
    """The stream as a batch evaluator (`runtime.engines.Evaluator`): every lead added,
    the events fed in time order, then each lead scored at as_of."""

    def __init__(self, model: ir.Model):
        self.model = model

    def score(self, leads: Leads, events: Events | None, as_of_us: int) -> list[tuple]:
        stream = object.__new__(Stream)  # a model without events too: its leads still score
        stream._setup(self.model)
        lead_rows, counts, events_iter = prepare(self.model, stream.shape, leads, events,
                                                 as_of_us)
        feed = []
        for lead, n in zip(lead_rows, counts):
            stream._leads[lead[0]] = lead[1:]
            feed += [(as_of_us - e[0], lead[0], e) for e in islice(events_iter, n)]
        feed.sort(key=_FIRST)  # stable: events at the same instant in file order
        for t, key, e in feed:
            stream._apply(stream._state_of(key), t, e[1], *e[2:])
        rows = [stream._row(key, stream._state_of(key), as_of_us) for key in stream._leads]
        rows.sort(key=_FIRST)
        return rows
