"""Conditions as formulas over variables, simplified to decide 'never' and 'always'.

Leaves are `Atom(variable, set of values that make it true, universe of the variable)`;
anything the analysis does not understand is an atom over a true/false variable named
by its source text, so `A and not A` is still seen as never true. Simplification merges
atoms on the same variable (meet for `and`, join for `or`) and distributes an `and`
over an `or` within a budget: enough for contradictions, implication and shadowing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sets import Dom


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Atom:
    var: str
    values: Dom
    universe: Dom


@dataclass(frozen=True)
class And:
    items: tuple[Formula, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Formula, ...]


@dataclass(frozen=True)
class Not:
    item: Formula  # only around an atom whose complement the set algebra cannot write


Formula = Const | Atom | And | Or | Not
TRUE, FALSE = Const(True), Const(False)


class Simplifier:
    def __init__(self, budget: int = 2000):
        self.budget = budget  # distributions of `and` over `or` left; past it, answers are unknown

    def __call__(self, f: Formula) -> Formula:
        return self.simplify(f)

    def simplify(self, f: Formula) -> Formula:
        if isinstance(f, Const):
            return f
        if isinstance(f, Atom):
            return self._atom(f)
        if isinstance(f, Not):
            return self._not(self.simplify(f.item))
        if isinstance(f, And):
            return self._and([self.simplify(i) for i in f.items])
        return self._or([self.simplify(i) for i in f.items])

    def _atom(self, a: Atom) -> Formula:
        eff = a.values.meet(a.universe)  # type: ignore[arg-type]
        if eff.is_empty():
            return FALSE
        if a.universe.subset(a.values):  # type: ignore[arg-type]
            return TRUE
        return Atom(a.var, eff, a.universe)

    def _not(self, f: Formula) -> Formula:
        if isinstance(f, Const):
            return Const(not f.value)
        if isinstance(f, Atom):
            comp = f.values.complement()
            return self._atom(Atom(f.var, comp, f.universe)) if comp is not None else Not(f)
        if isinstance(f, Not):
            return f.item
        if isinstance(f, And):  # conditions are never null: De Morgan holds
            return self._or([self._not(i) for i in f.items])
        return self._and([self._not(i) for i in f.items])

    def _and(self, items: list[Formula]) -> Formula:
        flat = _spliced(items, And)
        if FALSE in flat:
            return FALSE
        atoms: dict[str, Atom] = {}
        rest: list[Formula] = []
        for i in flat:
            if i == TRUE:
                continue
            if isinstance(i, Atom):
                prev = atoms.get(i.var)
                atoms[i.var] = i if prev is None else Atom(
                    i.var, prev.values.meet(i.values), i.universe)  # type: ignore[arg-type]
            elif i not in rest:
                rest.append(i)
        merged: list[Formula] = []
        for a in atoms.values():
            s = self._atom(a)
            if s == FALSE:
                return FALSE
            if s != TRUE:
                merged.append(s)
        out = merged + rest
        if _beside_negation(rest, out):
            return FALSE
        ors = [r for r in rest if isinstance(r, Or)]
        for o in ors:
            others = [x for x in out if x is not o]
            if self.budget <= 0:
                break
            self.budget -= 1
            if all(self._and([*others, alt]) == FALSE for alt in o.items):
                return FALSE
        return _joined(out, And, TRUE)

    def _or(self, items: list[Formula]) -> Formula:
        flat = _spliced(items, Or)
        if TRUE in flat:
            return TRUE
        groups: dict[str, list[Atom]] = {}
        rest: list[Formula] = []
        for i in flat:
            if i == FALSE:
                continue
            if isinstance(i, Atom):
                group = groups.setdefault(i.var, [])
                for k, a in enumerate(group):
                    joined = a.values.join(i.values)  # type: ignore[arg-type]
                    if joined is not None:
                        group[k] = Atom(i.var, joined, i.universe)
                        break
                else:
                    group.append(i)
            elif i not in rest:
                rest.append(i)
        out: list[Formula] = []
        for group in groups.values():
            for a in group:
                s = self._atom(a)
                if s == TRUE:
                    return TRUE
                if s != FALSE:
                    out.append(s)
        out += rest
        if _beside_negation(rest, out):
            return TRUE
        return _joined(out, Or, FALSE)


def _spliced(items: list[Formula], kind: type[And] | type[Or]) -> list[Formula]:
    """`items` with the items of nested `kind`s in their place: `a and (b and c)` is `a and b and c`."""
    flat: list[Formula] = []
    for i in items:
        flat.extend(i.items if isinstance(i, kind) else [i])
    return flat


def _beside_negation(rest: list[Formula], out: list[Formula]) -> bool:
    """Whether a negated item of `rest` stands beside what it negates (`A and not A`)."""
    return any(isinstance(r, Not) and r.item in out for r in rest)


def _joined(out: list[Formula], kind: type[And] | type[Or], empty: Const) -> Formula:
    if not out:
        return empty
    return out[0] if len(out) == 1 else kind(tuple(out))


def truth(f: Formula, budget: int = 2000) -> bool | None:
    """True or False when the formula is constant, None when it depends on the lead."""
    s = Simplifier(budget)(f)
    return s.value if isinstance(s, Const) else None


def implies(a: Formula, b: Formula) -> bool:
    """Every lead for which `a` holds also satisfies `b` (a sound, incomplete test)."""
    return truth(And((a, Not(b)))) is False
