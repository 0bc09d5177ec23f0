"""What a model change does to the leads: tier migration, score shift, rules that moved."""

from __future__ import annotations

import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..compiler import CompileError, Diagnostic, compile_text, ir
from ..compiler.diagnostics import Source, Span
from .data import empty_events, read_events, read_leads
from .engines import run
from .warehouses import run_query


@dataclass
class ModelDiff:
    old_name: str
    new_name: str
    leads: int
    matrix: Counter  # (old tier, new tier) -> leads
    tiers: list[str]  # in order, old then new-only tiers
    entering: dict[str, int]
    leaving: dict[str, int]
    totals: dict[str, dict[str, float]]  # "old"/"new" -> mean, median, p90
    scores: dict[str, tuple[float | None, float | None]]  # score -> (old mean, new mean)
    rules: list[dict] = field(default_factory=list)  # per (score, rule): old, new, change
    moved: int = 0

    def to_json(self) -> dict:
        return {"old": self.old_name, "new": self.new_name, "leads": self.leads,
                "moved": self.moved,
                "matrix": [{"from": a, "to": b, "leads": n} for (a, b), n in
                           sorted(self.matrix.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))],
                "entering": self.entering, "leaving": self.leaving, "totals": self.totals,
                "scores": {k: {"old": a, "new": b} for k, (a, b) in self.scores.items()},
                "rules": self.rules}


def model_at_revision(path: str, rev: str) -> tuple[str, str]:
    """(text, name) of a rule file as committed at git revision `rev`."""
    p = Path(path).resolve()
    try:
        root = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=p.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
        rel = p.relative_to(root).as_posix()
        text = subprocess.run(["git", "show", f"{rev}:{rel}"], cwd=root, capture_output=True,
                              text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError, ValueError) as err:
        detail = getattr(err, "stderr", "") or str(err)
        raise CompileError([Diagnostic(f"cannot read {path} at revision {rev!r}: "
                                       f"{detail.strip()}", Span(path, 1, 1, 1, 2))],
                           {path: Source(path, "")}) from None
    return text, f"{path}@{rev}"


def _stats(values: list[float]) -> dict[str, float]:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0}
    return {"mean": statistics.fmean(vals), "median": statistics.median(vals),
            "p90": vals[min(len(vals) - 1, int(0.9 * len(vals)))]}


def _score(model: ir.Model, leads_path, events_path, as_of_us: int, engine: str):
    leads = read_leads(leads_path, model.schema)
    events = (read_events(events_path, model.schema) if events_path and model.schema.has_events
              else empty_events(model.schema))
    rows = run(model, leads, events, as_of_us, engine)
    rule_rows = run_query("explain", "duckdb", model, leads, events, as_of_us) if model.rules \
        else []
    return rows, rule_rows


def diff_models(old_text: str, old_name: str, new_text: str, new_name: str, leads_path,
                events_path, as_of_us: int, engine: str = "duckdb") -> ModelDiff:
    old = compile_text(old_text, old_name)
    new = compile_text(new_text, new_name)
    old_rows, old_rules = _score(old, leads_path, events_path, as_of_us, engine)
    new_rows, new_rules = _score(new, leads_path, events_path, as_of_us, engine)
    oc = {c: i + 1 for i, (c, _) in enumerate(old.outputs)}
    nc = {c: i + 1 for i, (c, _) in enumerate(new.outputs)}
    old_by = {r[0]: r for r in old_rows}
    matrix: Counter = Counter()
    for r in new_rows:
        o = old_by.get(r[0])
        if o is not None:
            matrix[(o[oc["tier"]], r[nc["tier"]])] += 1
    tiers: list[str] = []
    for names in [*old.tiers.values(), *new.tiers.values()]:
        tiers += [t for t in names if t not in tiers]
    if any(t == "disqualified" for pair in matrix for t in pair):
        tiers.append("disqualified")
    entering = {t: sum(n for (a, b), n in matrix.items() if b == t and a != t) for t in tiers}
    leaving = {t: sum(n for (a, b), n in matrix.items() if a == t and b != t) for t in tiers}
    scores = {}
    for name in dict.fromkeys([*old.scores, *new.scores]):
        om = statistics.fmean(r[oc[name]] for r in old_rows) if name in oc and old_rows else None
        nm = statistics.fmean(r[nc[name]] for r in new_rows) if name in nc and new_rows else None
        scores[name] = (om, nm)
    rules: dict[tuple[str, str], dict] = {}
    for side, rows in (("old", old_rules), ("new", new_rules)):
        for _key, _i, score, label, _line, _events, points in rows:
            entry = rules.setdefault((score, label), {"score": score, "rule": label, "old": 0.0,
                                                      "new": 0.0, "old_leads": 0, "new_leads": 0,
                                                      "in_old": False, "in_new": False})
            entry[side] += points
            entry[f"in_{side}"] = True
            if points:
                entry[f"{side}_leads"] += 1
    changed = []
    for entry in rules.values():
        entry["change"] = entry["new"] - entry["old"]
        entry["status"] = ("added" if not entry["in_old"] else "removed" if not entry["in_new"]
                           else "changed" if entry["change"] or entry["old_leads"] != entry["new_leads"]
                           else "same")
        if entry["status"] != "same":
            changed.append(entry)
    changed.sort(key=lambda e: -abs(e["change"]))
    return ModelDiff(old_name, new_name, len(new_rows), matrix, tiers, entering, leaving,
                     {"old": _stats([r[oc["total"]] for r in old_rows]),
                      "new": _stats([r[nc["total"]] for r in new_rows])},
                     scores, changed, sum(n for (a, b), n in matrix.items() if a != b))


def _n(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def render_markdown(d: ModelDiff, top: int = 10) -> str:
    """A pull-request comment: what moves, where scores go, which rules did it."""
    lines = [f"### leadscore diff: `{d.old_name}` → `{d.new_name}`", "",
             f"**{d.moved} of {d.leads} leads change tier.**", ""]
    present = [t for t in d.tiers if any(t in pair for pair in d.matrix)]
    lines.append("| from \\ to | " + " | ".join(present) + " |")
    lines.append("|---|" + "---:|" * len(present))
    for a in present:
        cells = []
        for b in present:
            n = d.matrix.get((a, b), 0)
            cells.append(f"**{n}**" if n and a != b else str(n) if n else "·")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += ["", "| tier | entering | leaving | net |", "|---|---:|---:|---:|"]
    for t in present:
        e, lv = d.entering.get(t, 0), d.leaving.get(t, 0)
        lines.append(f"| {t} | {e} | {lv} | {e - lv:+d} |")
    o, n = d.totals["old"], d.totals["new"]
    lines += ["", "| total | old | new | change |", "|---|---:|---:|---:|"]
    for k in ("mean", "median", "p90"):
        lines.append(f"| {k} | {_n(o[k])} | {_n(n[k])} | {n[k] - o[k]:+,.1f} |")
    for name, (om, nm) in d.scores.items():
        change = "" if om is None or nm is None else f"{nm - om:+,.1f}"
        lines.append(f"| mean {name} | {_n(om)} | {_n(nm)} | {change} |")
    if d.rules:
        lines += ["", f"Rules whose contribution changed most (points summed over all leads; "
                      f"top {min(top, len(d.rules))}):", "",
                  "| score | rule | status | old | new | change | leads old → new |",
                  "|---|---|---|---:|---:|---:|---|"]
        for e in d.rules[:top]:
            lines.append(f"| {e['score']} | {e['rule']} | {e['status']} | {_n(e['old'])} | "
                         f"{_n(e['new'])} | {e['change']:+,.1f} | {e['old_leads']} → "
                         f"{e['new_leads']} |")
    return "\n".join(lines) + "\n"
