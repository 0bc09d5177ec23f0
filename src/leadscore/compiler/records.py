"""`==`, `hash` and `repr` of the syntax-tree and IR nodes, written once over each class's
dataclass fields instead of generated for every class.

Python 3.11's dataclasses compile each method they generate with its own `exec` (about
0.1 ms each), which made the ~75 node classes cost ~15 ms of every command's start-up. These
behave as the generated methods do: the same tuples of the same fields compared and hashed
(`compare=False` fields left out), the same text, the same guard against recursion.
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any


def _values(names: list[str]) -> staticmethod:
    """obj -> (obj.a, obj.b, ...), the tuple a dataclass method builds (a staticmethod, so
    that `self._compared(self)` does not bind it)."""
    if len(names) == 1:  # attrgetter of one name returns the value, not a 1-tuple
        get = attrgetter(names[0])
        return staticmethod(lambda obj: (get(obj),))
    return staticmethod(attrgetter(*names) if names else lambda obj: ())


def prepare(cls: type) -> None:
    """Record, on a class just made a dataclass, the fields its `==`, hash and repr use."""
    fs = fields(cls)
    cls._compared = _values([f.name for f in fs if f.compare])  # type: ignore[attr-defined]
    cls._hashed = _values([f.name for f in fs  # type: ignore[attr-defined]
                           if (f.compare if f.hash is None else f.hash)])
    cls._shown = tuple(f.name for f in fs if f.repr)  # type: ignore[attr-defined]


def eq(self: Any, other: object) -> bool:
    if other.__class__ is self.__class__:
        values = self._compared
        return values(self) == values(other)
    return NotImplemented


def hash_(self: Any) -> int:
    return hash(self._hashed(self))


@recursive_repr()
def repr_(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
    return f"{self.__class__.__qualname__}({shown})"
