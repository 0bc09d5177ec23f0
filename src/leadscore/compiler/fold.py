"""What each aggregate function does, described once.

An `ir.Aggregate` folds one value per kept event (`Aggregate.event_value()`), or per
member lead for an account's roll-ups, with its `fn`:

| fn             | over nothing | per value            | result                  |
|----------------|--------------|----------------------|-------------------------|
| count          | 0            | one more (no value)  | the count               |
| sum            | 0.0          | add it               | the sum                 |
| min, max       | null         | keep the smaller/larger | the one kept         |
| count_distinct | 0            | remember it          | how many distinct ones  |
| avg            | null         | add it, count it     | sum / count             |

The null rule is the same for all: a null value is skipped, as if its event had not been
kept. `empty` is the result over nothing (SQL spells it as a COALESCE where it is not
null). The Python evaluators (generated code, accounts, stream, interpreter) all spell a
fold from the templates here: `init` per state slot, `step` folding `{v}` into the slots
`{s0}`, `{s1}`, and `result` reading them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Fold:
    fn: str
    init: tuple[str, ...]  # each state slot's starting value, as Python source
    step: tuple[str, ...]  # statements folding the value `{v}` into the slots `{s0}`, `{s1}`
    result: str  # the result from the slots, as a Python expression
    empty: float | None  # the result over no value
    whole: bool = False  # the result is a count (a Python int in the evaluators)

    @property
    def reads_value(self) -> bool:
        return any("{v}" in s for s in self.step)

    def init_lines(self, slots: list[str]) -> list[str]:
        return [f"{s} = {v}" for s, v in zip(slots, self.init)]

    def step_lines(self, slots: list[str], value: str | None, nullable: bool) -> list[str]:
        """Statements folding `value` (Python source) into `slots`."""
        if value is None or not self.reads_value:
            return [s.format(**_names(slots)) for s in self.step]
        uses = sum(s.count("{v}") for s in self.step)
        return skip_null(value, nullable, lambda v: [s.format(v=v, **_names(slots))
                                                     for s in self.step], once=uses > 1)

    def result_code(self, slots: list[str]) -> str:
        return self.result.format(**_names(slots))


def skip_null(value: str, nullable: bool, body: Callable[[str], list[str]],
              once: bool = False) -> list[str]:
    """The statements `body(v)` on `value` (Python source), left out when it is null: the
    null rule of every fold. A value tested for null (or, with `once`, used more than once)
    is computed once, into `_v`."""
    lines = []
    if not _simple(value) and (nullable or once):
        lines.append(f"_v = {value}")
        value = "_v"
    if not nullable:
        return lines + body(value)
    return lines + [f"if {value} is not None:"] + ["    " + b for b in body(value)]


def _names(slots: list[str]) -> dict[str, str]:
    return {f"s{i}": s for i, s in enumerate(slots)}


def _simple(code: str) -> bool:
    """A name or a number: cheap to repeat."""
    if code.isidentifier():
        return True
    try:
        float(code)
    except ValueError:
        return False
    return True


_KEEP = "if {s0} is None or {v} %s {s0}:"
FOLDS: dict[str, Fold] = {f.fn: f for f in (
    Fold("count", ("0",), ("{s0} += 1",), "{s0}", 0.0, whole=True),
    Fold("sum", ("0.0",), ("{s0} += {v}",), "{s0}", 0.0),
    Fold("min", ("None",), (_KEEP % "<", "    {s0} = {v}"), "{s0}", None),
    Fold("max", ("None",), (_KEEP % ">", "    {s0} = {v}"), "{s0}", None),
    Fold("count_distinct", ("set()",), ("{s0}.add({v})",), "len({s0})", 0.0, whole=True),
    Fold("avg", ("0.0", "0"), ("{s0} += {v}", "{s1} += 1"), "{s0} / {s1} if {s1} else None",
         None),
)}


@cache
def runner(fn: str) -> tuple[Callable[[], list], Callable[[list, object], None],
                               Callable[[list], object]]:
    """(new state, step(state, value), result(state)) of `fn` as Python functions, for the
    interpreter: compiled from the same templates as the generated code."""
    f = FOLDS[fn]
    slots = [f"st[{i}]" for i in range(len(f.init))]
    step = f.step_lines(slots, "v" if f.reads_value else None, nullable=True)
    src = "\n".join([f"def new():\n    return [{', '.join(f.init)}]",
                     "def step(st, v):", *("    " + s for s in step),
                     f"def result(st):\n    return {f.result_code(slots)}"]) + "\n"
    ns: dict[str, object] = {}
    exec(compile(src, f"<leadscore-fold:{fn}>", "exec"), ns)  # noqa: S102 - our own templates
    return ns["new"], ns["step"], ns["result"]
