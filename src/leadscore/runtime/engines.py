"""Running a compiled model on an engine: the in-process Python evaluator or DuckDB.

Both take the same validated `Leads` and `Events` and return the same rows:
(key, outputs...) ordered by key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

from ..backends.python import PythonEvaluator, compile_python
from ..compiler import ir
from ..compiler.text import fold
from ..gcpause import gc_paused
from .data import Events, Leads

# The in-process evaluator and the registry's executed engines (leadscore/engines/ `EXECUTED`,
# held equal by tests/test_engines.py), named without importing the registry and its sqlglot
ENGINES = ("duckdb", "python", "sqlite", "postgres", "mysql", "spark", "clickhouse", "datafusion")


COLUMNAR_MIN_EVENTS = 20_000  # below this, grouping in plain Python beats numpy's setup cost
PROGRESS_STEP = 50_000  # leads per progress report


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

    if isinstance(values, list):
        values = pa.array(values, pa.string())
    d = values.dictionary_encode()
    uniques = d.dictionary.to_pylist()
    uniques = (_fold_all(uniques) if lower else uniques) + [None]
    return uniques, d.indices.fill_null(len(uniques) - 1).to_numpy(zero_copy_only=False)


def _gather(values: Sequence, idx: list[int]) -> Sequence:
    if len(idx) > 1:
        return itemgetter(*idx)(values)
    return [values[i] for i in idx]


def _take(values: Any, kind: str, idx: list[int], order: Any,
          tests: Sequence[Callable[[Any], bool]] = ()) -> list[Sequence]:
    """[values[i] for i in idx (a list) or order (the same, as numpy)], at C speed, then a
    column of each test's results. `kind` "text" or "lower" (lower-cased text) goes through a
    dictionary of distinct values, so that the evaluator sees one shared Python string per
    distinct value (fast to gather, fast to compare), each distinct value is lower-cased once
    and each test runs once per distinct value."""
    if isinstance(values, repeat):
        return [values]
    if kind != "raw":
        uniques, codes = _dictionary(values, kind == "lower")
        at = codes[order].tolist()
        return [_gather(u, at) for u in [uniques] + [[t(v) for v in uniques] for t in tests]]
    if not isinstance(values, list):  # an Arrow array
        return [values.take(order).to_pylist()]
    return [_gather(values, idx)]


def _group_events(keys: Any, leads: Any, times: Any, n: int, as_of_us: int,
                  columns: list[tuple[Any, str]],
                  tests: Sequence[tuple[int, Callable[[Any], bool]]] = ()
                  ) -> tuple[list[int], list[Sequence]]:
    """(events per lead in lead order, columns reordered to match): events grouped by lead,
    in file order within a lead, keeping only known leads and age >= 0; column 0 is the age,
    then `columns`, then one column per test of `tests` (the index of the text column it
    tests, the test), in order.

    `keys`, `leads` and `times` are lists or Arrow arrays; so is each of `columns`, given
    with its kind: "raw", "text" or "lower" (text to lower-case).
    """
    if n >= COLUMNAR_MIN_EVENTS or not isinstance(leads, list):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        def as_arrow(values: Any, type_: Any) -> Any:
            return pa.array(values, type_) if isinstance(values, list) else values

        codes = pc.index_in(as_arrow(leads, pa.string()), value_set=as_arrow(keys, pa.string()))
        code = codes.fill_null(-1).to_numpy(zero_copy_only=False)
        t = as_arrow(times, pa.int64()).to_numpy(zero_copy_only=False)
        age = as_of_us - t
        keep = np.flatnonzero((code >= 0) & (age >= 0))
        kept = code[keep]
        order = keep[np.argsort(kept, kind="stable")]  # stable: file order within a lead
        counts = np.bincount(kept, minlength=len(keys)).tolist()
        raw_lists = any(isinstance(c, list) and kind == "raw" for c, kind in columns)
        idx = order.tolist() if raw_lists else []
        taken = [_take(c, kind, idx, order, [test for at, test in tests if at == i])
                 for i, (c, kind) in enumerate(columns)]
        results = [iter(t[1:]) for t in taken]  # each column's tests, in the order of `tests`
        return counts, ([age[order].tolist()] + [t[0] for t in taken]
                        + [next(results[at]) for at, _ in tests])
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
        c = _take(c, "raw", idx, None)[0]
        out.append(_folded(c) if kind == "lower" and not isinstance(c, repeat) else c)
    return counts, out + [list(map(_Memo(test).__getitem__, out[1 + at])) for at, test in tests]


def run_python(model: ir.Model, leads: Leads, events: Events, as_of_us: int,
               evaluator: PythonEvaluator | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> list[tuple]:
    # The run allocates millions of tuples and lists but no reference cycles: the cyclic
    # collector would only walk the growing heap again and again (quadratic on big inputs).
    with gc_paused():
        return _run_python(model, leads, events, as_of_us, evaluator, progress)


def _run_python(model: ir.Model, leads: Leads, events: Events, as_of_us: int,
                evaluator: PythonEvaluator | None,
                progress: Callable[[str, int, int], None] | None) -> list[tuple]:
    ev = evaluator or compile_python(model)
    s = model.schema
    lt = getattr(leads, "table", None)
    keys = leads.keys

    def lead_col(n: str) -> Sequence:
        values = lt.column(n).combine_chunks() if lt is not None else leads.columns[n]
        if s.lead_fields[n] == "text" and (lt is not None or len(values) >= COLUMNAR_MIN_EVENTS):
            uniques, codes = _dictionary(values, f"lead:{n}" in ev.folded)
            return _gather(uniques, codes.tolist())
        if lt is not None:
            return values.to_pylist()
        return _folded(values) if f"lead:{n}" in ev.folded else values

    lead_rows = zip(keys, *[lead_col(n) for n in ev.lead_fields])
    if not model.aggregates:
        rows = ev.fn(lead_rows, (), iter(()), as_of_us)
        rows.sort(key=itemgetter(0))
        return rows
    et = getattr(events, "table", None)
    n = et.num_rows if et is not None else len(events.leads)

    def event_col(name: str) -> Any:
        if et is not None:  # an Arrow array: _group_events reorders it without Python objects
            col = et.column(name)
            return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        return events.types if name == s.event_type else events.columns[name]

    cols: list[tuple[Any, str]] = [(event_col(s.event_type), "lower") if ev.uses_type
                                   else (repeat(None, n), "raw")]
    for name in ev.event_fields:
        if name not in ev.event_used:
            cols.append((repeat(None, n), "raw"))
        elif s.event_fields[name] == "text":
            cols.append((event_col(name), "lower" if f"event:{name}" in ev.folded else "text"))
        else:
            cols.append((event_col(name), "raw"))
    if et is not None:
        ev_leads, times = event_col(s.event_lead), event_col(s.event_time)
        key_arr = lt.column(s.lead_key) if lt is not None else keys
    else:
        ev_leads, times, key_arr = events.leads, events.times, keys
    tests = [(1 + ev.event_fields.index(name), test) for name, test in ev.derived]
    counts, grouped = _group_events(key_arr, ev_leads, times, n, as_of_us, cols, tests)
    events_iter = zip(*grouped)
    if progress is None:
        rows = ev.fn(lead_rows, counts, events_iter, as_of_us)
    else:  # in slices of leads, reporting after each; the events iterator carries on
        rows = []
        for start in range(0, len(keys), PROGRESS_STEP):
            rows += ev.fn(islice(lead_rows, PROGRESS_STEP), counts[start:start + PROGRESS_STEP],
                          events_iter, as_of_us)
            progress("scoring on python", min(start + PROGRESS_STEP, len(keys)), len(keys))
    rows.sort(key=itemgetter(0))
    return rows


def run(model: ir.Model, leads: Leads | None, events: Events | None, as_of_us: int,
        engine: str = "duckdb", db: str | None = None, into: str | None = None,
        progress: Callable[[str, int, int], None] | None = None) -> list[tuple]:
    """Score on `engine`.

    `db` is a connection URL (postgres, mysql) or a database file (duckdb, sqlite);
    with `leads=None` the model's own tables in that database are scored; `into`
    names a table to write the results to, atomically.
    """
    if engine == "python":
        if leads is None or db or into:
            raise ValueError("the python engine scores files; --db and --into need a database")
        return run_python(model, leads, events, as_of_us, progress=progress)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    from ..engines import DIALECTS
    from .warehouses import Job

    return DIALECTS[engine].run(Job(model, leads, events, as_of_us, db=db, into=into))
