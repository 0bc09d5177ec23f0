"""Validated data in the Python evaluators' input shape, prepared one way for all of them.

The generated code, the interpreter and the stream read a lead as `(key, *lead fields)` and
an event as `(age_us, type, *event fields)`, in the orders of `backends.python.InputShape`:

- text is lower-cased (`compiler.text.fold`) where the model compares it by value, and the
  event type always; a field only tested for presence is passed as it is;
- lead keys are as `data.lead_key` makes them (the loaders already did it for `Leads` and
  `Events`, the stream's records get it here);
- times are integer microseconds since the epoch; only events of known leads with age >= 0
  are passed, grouped by lead in lead order, in file order within a lead.

`prepare` does it column-wise for a data set (the batch runs), `RecordReader` one record at
a time (the stream's `lead()` and `update()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice, repeat
from operator import itemgetter
from typing import Any

from ..backends.python import InputShape
from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads, convert, lead_key

COLUMNAR_MIN_EVENTS = 20_000  # below this, grouping in plain Python beats numpy's setup cost


class _Memo(dict):
    """`fn` of each distinct value, computed once: `map(memo.__getitem__, column)` runs at C
    speed for the repeats that dominate real columns (types, pages, countries)."""

    def __init__(self, fn: Callable[[Any], Any]):
        super().__init__()
        self.fn = fn

    def __missing__(self, value: Any) -> Any:
        out = self[value] = self.fn(value)
        return out


def _fold_value(value: Any) -> Any:
    return fold(value) if isinstance(value, str) else value


def _folded(values: list) -> list:
    return list(map(_Memo(_fold_value).__getitem__, values))


def _fold_all(uniques: list) -> list:
    return [u if u is None else u.lower() if u.isascii() else fold(u) for u in uniques]


def _dictionary(values: Any, lower: bool) -> tuple[list, Any]:
    """(distinct values, lower-cased if asked, then None; each value's position in them)."""
    import pyarrow as pa

    from .columnar import array, to_np

    if isinstance(values, list):
        values = array(values, pa.string())
    d = values.dictionary_encode()
    uniques = d.dictionary.to_pylist()
    uniques = (_fold_all(uniques) if lower else uniques) + [None]
    return uniques, to_np(d.indices, len(uniques) - 1)


def _gather(values: Sequence, idx: list[int]) -> Sequence:
    if len(idx) > 1:
        return itemgetter(*idx)(values)
    return [values[i] for i in idx]


def _take(values: Any, idx: list[int]) -> Sequence:
    """[values[i] for i in idx] of a list or a repeat, at C speed."""
    if isinstance(values, repeat):
        return values
    return _gather(values, idx)


def _gatherers(values: Any, kind: str, tests: Sequence[Callable[[Any], bool]] = ()
               ) -> list[Callable[[Any], Sequence]]:
    """Functions of event positions (numpy) giving the column's values there, at C speed,
    then one per test giving its results. `kind` "text" or "lower" (lower-cased text) goes
    through a dictionary of distinct values, so that the evaluator sees one shared Python
    string per distinct value (fast to gather, fast to compare), each distinct value is
    lower-cased once and each test runs once per distinct value."""
    if isinstance(values, repeat):
        return [lambda at: values]
    if kind != "raw":
        uniques, codes = _dictionary(values, kind == "lower")
        return [lambda at, u=u: _gather(u, codes[at].tolist())
                for u in [uniques] + [[t(v) for v in uniques] for t in tests]]
    if isinstance(values, list):
        return [lambda at: _gather(values, at.tolist())]
    from .columnar import from_np  # an Arrow array

    return [lambda at: values.take(from_np(at)).to_pylist()]


def stable_order(codes: Any, n: int) -> Any:
    """`np.argsort(codes, kind="stable")` for integer codes in [0, n): radix passes over
    16-bit digits, lowest first (numpy sorts 16-bit integers by radix, several times faster
    than its merge sort of wider ones)."""
    import numpy as np

    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while n > 1 << shift:
        digit = ((codes[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


EVENT_CHUNK = 1 << 17  # events made Python values at a time: memory bounded by the chunk


def _group_events(keys: Any, leads: Any, times: Any, n: int, as_of_us: int,
                  columns: list[tuple[Any, str]],
                  tests: Sequence[tuple[int, Callable[[Any], bool]]] = ()
                  ) -> tuple[list[int], Iterator[tuple]]:
    """(events per lead in lead order, the event tuples to match): events grouped by lead,
    in file order within a lead, keeping only known leads and age >= 0; each tuple is the
    age, then `columns`' values, then one result per test of `tests` (the index of the text
    column it tests, the test), in order.

    `keys`, `leads` and `times` are lists or Arrow arrays; so is each of `columns`, given
    with its kind: "raw", "text" or "lower" (text to lower-case). Grouped column-wise, the
    tuples are made EVENT_CHUNK events at a time, as the evaluator reads them.
    """
    if n >= COLUMNAR_MIN_EVENTS or not isinstance(leads, list):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from .columnar import array, to_np

        def as_arrow(values: Any, type_: Any) -> Any:
            return array(values, type_) if isinstance(values, list) else values

        codes = pc.index_in(as_arrow(leads, pa.string()), value_set=as_arrow(keys, pa.string()))
        code = to_np(codes, -1)
        t = to_np(as_arrow(times, pa.int64()))
        age = as_of_us - t
        keep = np.flatnonzero((code >= 0) & (age >= 0))
        kept = code[keep]
        order = keep[stable_order(kept, len(keys))]  # stable: file order within a lead
        counts = np.bincount(kept, minlength=len(keys)).tolist()
        made = [_gatherers(c, kind, [test for at, test in tests if at == i])
                for i, (c, kind) in enumerate(columns)]
        results = [iter(m[1:]) for m in made]  # each column's tests, in the order of `tests`
        gather = ([lambda at: age[at].tolist()] + [m[0] for m in made]
                  + [next(results[at]) for at, _ in tests])

        def chunk(start: int) -> Iterator[tuple]:
            at = order[start:start + EVENT_CHUNK]
            return zip(*[g(at) for g in gather])

        # chained in C: no Python frame per event
        return counts, chain.from_iterable(map(chunk, range(0, len(order), EVENT_CHUNK)))
    index = {k: i for i, k in enumerate(keys)}
    buckets: list[list[int] | None] = [None] * len(keys)
    for j, (lead, t) in enumerate(zip(leads, times)):
        i = index.get(lead)
        if i is None or t > as_of_us:
            continue
        b = buckets[i]
        if b is None:
            buckets[i] = [j]
        else:
            b.append(j)
    idx = [j for b in buckets if b is not None for j in b]
    counts = [0 if b is None else len(b) for b in buckets]
    out = [[as_of_us - times[j] for j in idx]]
    for c, kind in columns:
        c = _take(c, idx)
        out.append(_folded(c) if kind == "lower" and not isinstance(c, repeat) else c)
    out += [list(map(_Memo(test).__getitem__, out[1 + at])) for at, test in tests]
    return counts, zip(*out)


def lead_rows(schema: ir.Schema, leads: Leads, names: list[str],
              lower: Callable[[str], bool]) -> Iterator[tuple]:
    """`(key, *fields named)` per lead, in lead order; text lower-cased where `lower(name)`."""
    lt = getattr(leads, "table", None)

    def column(n: str) -> Sequence:
        values = lt.column(n).combine_chunks() if lt is not None else leads.columns[n]
        if schema.lead_fields[n] == "text" and (lt is not None or len(values) >= COLUMNAR_MIN_EVENTS):
            uniques, codes = _dictionary(values, lower(n))
            return _gather(uniques, codes.tolist())
        if lt is not None:
            return values.to_pylist()
        return _folded(values) if lower(n) else values

    return zip(leads.keys, *[column(n) for n in names])


def prepare(model: ir.Model, shape: InputShape, leads: Leads, events: Events | None,
            as_of_us: int, tests: Sequence[tuple[str, Callable[[Any], bool]]] = (),
            ) -> tuple[Iterator[tuple], list[int], Iterator[tuple]]:
    """(lead tuples, events per lead, event tuples) for `shape`; each event tuple ends with
    one column per test of `tests` (an event field, a test of its prepared value)."""
    s = model.schema
    rows = lead_rows(s, leads, shape.lead_fields, shape.lowers_lead)
    if not model.aggregates or events is None:
        return rows, [0] * len(leads.keys), iter(())
    et = getattr(events, "table", None)
    lt = getattr(leads, "table", None)
    n = et.num_rows if et is not None else len(events.leads)

    def event_col(name: str) -> Any:
        if et is not None:  # an Arrow array: _group_events reorders it without Python objects
            col = et.column(name)
            return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        return events.types if name == s.event_type else events.columns[name]

    cols: list[tuple[Any, str]] = [(event_col(s.event_type), "lower") if shape.uses_type
                                   else (repeat(None, n), "raw")]
    for name in shape.event_fields:
        if name not in shape.event_used:
            cols.append((repeat(None, n), "raw"))
        elif s.event_fields[name] == "text":
            cols.append((event_col(name), "lower" if f"event:{name}" in shape.folded else "text"))
        else:
            cols.append((event_col(name), "raw"))
    if et is not None:
        ev_leads, times = event_col(s.event_lead), event_col(s.event_time)
        key_arr = lt.column(s.lead_key) if lt is not None else leads.keys
    else:
        ev_leads, times, key_arr = events.leads, events.times, leads.keys
    at = [(1 + shape.event_fields.index(name), test) for name, test in tests]
    counts, grouped = _group_events(key_arr, ev_leads, times, n, as_of_us, cols, at)
    return rows, counts, grouped


class RecordReader:
    """One record (a dict) at a time in the input shape, converted and checked as the
    loaders do: a value that does not fit raises `ValueError` with the loaders' reason."""

    def __init__(self, schema: ir.Schema, shape: InputShape):
        self.schema = schema
        self.lead_fields = [(n, schema.lead_fields[n], f"lead:{n}" in shape.folded)
                            for n in shape.lead_fields]
        self.event_fields = [(n, schema.event_fields[n], f"event:{n}" in shape.folded)
                             for n in shape.event_fields]
        self.types = _Memo(fold)  # event type as given -> lower-cased

    def lead(self, record: dict[str, Any]) -> tuple[str, tuple]:
        """(key, lead field values)."""
        return record_key(record.get(self.schema.lead_key)), _values(record, self.lead_fields)

    def event(self, record: dict[str, Any]) -> tuple[str, int, str, list]:
        """(lead key, time in µs, lower-cased type, event field values)."""
        s = self.schema
        key = lead_key(record.get(s.event_lead))
        if key is None:
            raise ValueError("the lead key is missing")
        t = record.get(s.event_time)
        if type(t) is not int:  # µs as they are (no call: the stream's hot path)
            t = record_time(t)
        typ = convert(record.get(s.event_type), "text")
        if typ is None:
            raise ValueError("the event type is missing")
        values = []  # per event: no call per value beyond the conversion (the stream's hot path)
        for name, type_, lower in self.event_fields:
            v = convert(record.get(name), type_)
            values.append(fold(v) if lower and v is not None else v)
        return key, t, self.types[typ], values


def _values(record: dict[str, Any], fields: list[tuple[str, str, bool]]) -> tuple:
    out = []
    for name, type_, lower in fields:
        v = convert(record.get(name), type_)
        out.append(fold(v) if lower and v is not None else v)
    return tuple(out)


def record_key(value: Any) -> str:
    """A lead key given by a caller, as the loaders key leads."""
    key = lead_key(value)
    if key is None:
        raise ValueError("the lead key is missing")
    return key


def record_time(value: Any) -> int:
    """An instant given by a caller: integer microseconds since the epoch (UTC) as they are,
    else anything `data.convert` reads as a timestamp."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    t = convert(value, "timestamp")
    if t is None:
        raise ValueError("the event time is missing")
    return t


def by_lead(model: ir.Model, shape: InputShape, leads: Leads, events: Events | None,
            as_of_us: int) -> Iterator[tuple[tuple, list[tuple]]]:
    """(lead tuple, its event tuples) per lead, in lead order: `prepare`, lead by lead."""
    rows, counts, events_iter = prepare(model, shape, leads, events, as_of_us)
    for lead, n in zip(rows, counts):
        yield lead, list(islice(events_iter, n))
