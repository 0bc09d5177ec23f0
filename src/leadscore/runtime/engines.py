"""Running a compiled model on an engine: an in-process Python evaluator or a SQL engine.

All take the same validated `Leads` and `Events` and return the same rows: (key,
outputs...) ordered by key. The three Python evaluators (the generated code, the IR
interpreter and the stream) share one interface, `Evaluator.score(leads, events,
as_of_us)`, and one input preparation (runtime/inputs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import Protocol

from ..backends.accounts import spell
from ..backends.interpreter import Interpreter
from ..backends.python import InputShape, PythonEvaluator, compile_python
from ..compiler import ir
from .data import Events, Leads
from .inputs import by_lead, lead_rows, prepare

# The in-process evaluator and the registry's executed engines (leadscore/engines/ `EXECUTED`,
# held equal by tests/test_engines.py), named without importing the registry and its sqlglot
ENGINES = ("duckdb", "python", "sqlite", "postgres", "mysql", "spark", "clickhouse", "datafusion")


PROGRESS_STEP = 50_000  # leads per progress report
EVALUATORS = ("python", "interpreter", "stream")  # the in-process ones, by `evaluator()` name
_KEY = itemgetter(0)


class Evaluator(Protocol):
    """An in-process evaluator of one model."""

    def score(self, leads: Leads, events: Events | None, as_of_us: int) -> list[tuple]:
        """(key, outputs...) per lead, ordered by key."""
        ...


@dataclass
class Generated:
    """The generated Python code (backends/python.py): `--engine python`."""

    model: ir.Model
    code: PythonEvaluator | None = None

    def __post_init__(self) -> None:
        self.code = self.code or compile_python(self.model)

    def score(self, leads: Leads, events: Events | None, as_of_us: int,
              progress: Callable[[str, int, int], None] | None = None) -> list[tuple]:
        ev = self.code
        lead_rows, counts, events_iter = prepare(self.model, ev.shape, leads, events, as_of_us,
                                                 ev.derived)
        if progress is None:
            rows = ev.fn(lead_rows, counts, events_iter, as_of_us)
        else:  # in slices of leads, reporting after each; the events iterator carries on
            rows = []
            n = len(counts)
            for start in range(0, n, PROGRESS_STEP):
                rows += ev.fn(islice(lead_rows, PROGRESS_STEP), counts[start:start + PROGRESS_STEP],
                              events_iter, as_of_us)
                progress("scoring on python", min(start + PROGRESS_STEP, n), n)
        rows.sort(key=_KEY)
        return rows


@dataclass
class Interpreted:
    """The IR interpreter (backends/interpreter.py), lead by lead."""

    model: ir.Model
    interpreter: Interpreter = field(init=False)

    def __post_init__(self) -> None:
        self.interpreter = Interpreter(self.model)

    def score(self, leads: Leads, events: Events | None, as_of_us: int) -> list[tuple]:
        it = self.interpreter
        rows = [it.row(lead, evs, as_of_us)
                for lead, evs in by_lead(self.model, it.shape, leads, events, as_of_us)]
        rows.sort(key=_KEY)
        return rows

    def accounts(self, leads: Leads, events: Events | None, as_of_us: int) -> list[tuple]:
        """The account rows, every value interpreted (the members read any lead field)."""
        it = Interpreter(self.model, InputShape.of(self.model).members(self.model.schema))
        members = [(lead, it.values(lead, evs, as_of_us))
                   for lead, evs in by_lead(self.model, it.shape, leads, events, as_of_us)]
        member = {lead[0]: values["disqualified_by"] is None for lead, values in members}
        written = lead_rows(self.model.schema, leads, [self.model.account.field], lambda _n: False)
        return spell(it.accounts(members, as_of_us), ((k, v, member[k]) for k, v in written))


def evaluator(name: str, model: ir.Model) -> Evaluator:
    """One of `EVALUATORS` for `model`."""
    if name == "stream":
        from .stream import Streamed

        return Streamed(model)
    if name == "interpreter":
        return Interpreted(model)
    if name == "python":
        return Generated(model)
    raise ValueError(f"unknown evaluator {name!r}; choose one of {', '.join(EVALUATORS)}")


def run_python(model: ir.Model, leads: Leads, events: Events | None, as_of_us: int,
               evaluator: PythonEvaluator | None = None,
               progress: Callable[[str, int, int], None] | None = None) -> list[tuple]:
    """The generated evaluator's rows (`evaluator`: the model's, when already compiled)."""
    return Generated(model, evaluator).score(leads, events, as_of_us, progress)


def run(model: ir.Model, leads: Leads | None, events: Events | None, as_of_us: int,
        engine: str = "duckdb", db: str | None = None, into: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        fetch: bool = True, memory_limit: str | None = None, history: str | None = None,
        as_ofs: tuple[int, ...] = (), previous_tier: bool = False) -> list[tuple] | int:
    """Score on `engine`.

    `db` is a connection URL (postgres, mysql) or a database file (duckdb, sqlite);
    with `leads=None` the model's own tables in that database are scored; `into`
    names a table to write the results to, atomically; with `fetch` False as well, the rows
    stay in the database and only their number comes back. `history` names a history table
    to add the snapshot to (runtime/history.py), one per instant of `as_ofs` when given.
    `previous_tier`: the model's own lead table has the `ir.PREVIOUS_TIER` column that sticky
    tiers read (`leads` given here always bring it, all null where they had none).
    """
    if engine == "python":
        if leads is None or db or into or history:
            raise ValueError("the python engine scores files; --db and --into need a database")
        return run_python(model, leads, events, as_of_us, progress=progress)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    from ..engines import DIALECTS
    from .warehouses import Job

    return DIALECTS[engine].run(Job(model, leads, events, as_of_us, db=db, into=into,
                                    fetch=fetch, memory_limit=memory_limit, history=history,
                                    as_ofs=as_ofs, progress=progress if history else None,
                                    previous_tier=previous_tier))
