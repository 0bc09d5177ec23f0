"""Why a lead has its score: every rule's events and points, decay, gates and tiers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..backends.interpreter import Interpreter
from ..compiler import ir
from .data import Events, Leads
from .inputs import by_lead


def lead_values(model: ir.Model, leads: Leads, events: Events | None, key: str,
                as_of_us: int) -> dict[str, Any]:
    """Every aggregate and binding of the lead `key`, from the interpreter, and each lead
    field the model reads as it reads it (`field:NAME`, text lower-cased where compared)."""
    it = Interpreter(model)
    for lead, evs in by_lead(model, it.shape, leads, events, as_of_us):
        if lead[0] == key:
            values = it.values(lead, evs, as_of_us)
            values.update({f"field:{n}": v for n, v in zip(it.shape.lead_fields, lead[1:])})
            return values
    raise KeyError(f"no lead with key {key!r}")


@dataclass
class RuleLine:
    score: str
    label: str
    kind: str
    line: int
    events: float | None
    points: float
    capped: bool = False


@dataclass
class Explanation:
    key: str
    outputs: dict[str, Any]
    rules: list[RuleLine]
    scores: dict[str, dict[str, Any]]  # per score: raw sum, after cap, after each decay, final
    # the lead's segment's tiers: threshold met, its gates, which of them fail
    tiers: list[dict[str, Any]]
    # a model with sticky tiers: the tier stickiness held (None where it did not decide the
    # tier) and the previous tier as read (lower-cased)
    sticky: dict[str, Any] | None = None

    def to_json(self) -> dict:
        out = {"key": self.key, "outputs": self.outputs,
               "rules": [r.__dict__ for r in self.rules], "scores": self.scores,
               "tiers": self.tiers}
        if self.sticky is not None:
            out["sticky"] = self.sticky
        return out


def explain(model: ir.Model, leads: Leads, events: Events | None, key: str,
            as_of_us: int) -> Explanation:
    values = lead_values(model, leads, events, key, as_of_us)
    rules = [RuleLine(r.score, r.label, r.kind, r.line,
                      float(values[r.count]) if r.count else None, values[r.points],
                      r.cap is not None and values[r.points] == r.cap)
             for r in model.rules]
    scores: dict[str, dict[str, Any]] = {}
    for name in model.scores:
        steps = {"rules": sum(r.points for r in rules if r.score == name)}
        decays = sorted(k for k in values if k.startswith(f"score:{name}:pre_decay"))
        for i, k in enumerate(decays):
            steps[f"before decay {i + 1}"] = values[k]
        steps["final"] = values[f"score:{name}"]
        scores[name] = steps
    outputs = {col: values[b] for col, b in model.outputs}
    segment = outputs["segment"]
    tier_names = model.tiers.get(segment, model.tiers.get("default", []))
    seg_key = segment if segment in model.tiers else "default"
    tiers = []
    for t in tier_names[1:]:
        met = values.get(f"tier:{seg_key}:{t}:met")
        name = f"tier:{seg_key}:{t}:gate"
        gates = [g.text for g in model.gates.get(name, [])]
        # the j-th gate is binding `name:j` (compiler/lower/model.py)
        failed = [g for j, g in enumerate(gates) if not values[f"{name}:{j}"]]
        tiers.append({"tier": t, "threshold_met": bool(met), "gates_hold": not failed,
                      "gates": gates, "failed_gates": failed})
    sticky = None
    if ir.reads_previous_tier(model):  # the binding lower/model.py names for explain
        sticky = {"held": values["tier:sticky"],
                  "previous_tier": values.get(f"field:{ir.PREVIOUS_TIER}")}
    return Explanation(key, {model.schema.lead_key: key, **outputs}, rules, scores, tiers,
                       sticky)
