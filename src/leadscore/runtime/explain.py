"""Why a lead has its score: every rule's events and points, decay, gates and tiers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.interpreter import evaluate
from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads


def _prep(v: Any) -> Any:
    return fold(v) if isinstance(v, str) else v


def prepared_lead(model: ir.Model, leads: Leads, events: Events | None, index: int):
    """(fields, events) of one lead in the interpreter's form: text folded, times in µs."""
    key = leads.keys[index]
    fields = {name: _prep(col[index]) for name, col in leads.columns.items()}
    evs = []
    if events is not None:
        for i, lead in enumerate(events.leads):
            if lead == key:
                evs.append((events.times[i], fold(events.types[i]),
                            {n: _prep(c[i]) for n, c in events.columns.items()}))
    return fields, evs


def _gate_texts(spans: list[dict]) -> list[str]:
    """The gates' source text, read back from the rule files by span."""
    out = []
    for sp in spans:
        try:
            lines = Path(sp["path"]).read_text(encoding="utf-8").splitlines()
            line = lines[sp["line"] - 1]
            end = sp["end_column"] - 1 if sp["end_line"] == sp["line"] else len(line)
            out.append(line[sp["column"] - 1:end].strip())
        except (OSError, IndexError):
            out.append(f"{sp['path']}:{sp['line']}:{sp['column']}")
    return out


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
    tiers: list[dict[str, Any]]  # the lead's segment's tiers: threshold, met, gate, result

    def to_json(self) -> dict:
        return {"key": self.key, "outputs": self.outputs,
                "rules": [r.__dict__ for r in self.rules], "scores": self.scores,
                "tiers": self.tiers}


def explain(model: ir.Model, leads: Leads, events: Events | None, key: str,
            as_of_us: int) -> Explanation:
    index = leads.keys.index(key)
    fields, evs = prepared_lead(model, leads, events, index)
    values = evaluate(model, fields, evs, as_of_us)
    rules = [RuleLine(r.score, r.label, r.kind, r.line,
                      values[r.count] if r.count else None, values[r.points],
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
        gate = values.get(f"tier:{seg_key}:{t}:gate", True)
        tiers.append({"tier": t, "threshold_met": bool(met), "gates_hold": bool(gate),
                      "gates": _gate_texts(model.gates.get(f"tier:{seg_key}:{t}:gate", []))})
    return Explanation(key, {model.schema.lead_key: key, **outputs}, rules, scores, tiers)
