"""Walking the syntax tree, and the sites of every condition of a model: where lint's
condition rules look."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..compiler import ast

if TYPE_CHECKING:
    from .facts import Facts


def children(node: ast.Node) -> list[ast.Node]:
    """The nodes directly under `node`, in source order."""
    out: list[ast.Node] = []
    for name in node.PARTS:
        value = getattr(node, name)
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(v, ast.Node):
                out.append(v)
    return out


def walk(node: ast.Node):
    """Every node under `node`, itself included, in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


@dataclass
class Site:
    """A condition and where it is used: the lint rules on conditions visit every site."""

    expr: ast.Expr
    what: str  # "rule", "where", "segment", "disqualify", "gate", "let", "account rule", ...
    in_event: bool = False
    owner: ast.Node | None = None
    extra: dict = field(default_factory=dict)


def condition_sites(facts: Facts) -> list[Site]:
    """Every condition of the model (rule `when`s, filters' `where`s, segments, gates...)."""
    sites: list[Site] = []

    def wheres(node: ast.Node | None, owner: ast.Node) -> None:
        if node is None:
            return
        for n in walk(node):
            if isinstance(n, ast.EventFilter) and n.where is not None:
                sites.append(Site(n.where, "where", True, owner))

    for item in facts.items:
        if isinstance(item, ast.LetDecl):
            if facts.kind_of(item.value) == "bool" or isinstance(
                    item.value, (ast.BoolOp, ast.Not, ast.Compare, ast.In, ast.StrTest,
                                 ast.Matches, ast.IsMissing)):
                sites.append(Site(item.value, "let", False, item))
            wheres(item.value, item)
        elif isinstance(item, ast.ScoreDecl):
            for r in item.rules:
                if r.condition is not None:
                    sites.append(Site(r.condition, "rule", False, r))
                wheres(r.condition or r.filter, r)
            for d in item.decays:
                wheres(d.filter, d)
        elif isinstance(item, ast.SegmentDecl):
            sites.append(Site(item.condition, "segment", False, item))
            wheres(item.condition, item)
        elif isinstance(item, ast.DisqualifyDecl):
            sites.append(Site(item.condition, "disqualify", False, item))
            wheres(item.condition, item)
        elif isinstance(item, ast.TiersDecl):
            for t in item.entries:
                for g in t.requires:
                    sites.append(Site(g, "gate", False, t, {"tiers": item}))
                    wheres(g, t)
        elif isinstance(item, ast.AccountDecl):
            for ar in item.rules:
                wheres(ar.condition, ar)
    return sites
