"""What a model change does to the leads: tier migration, score shift, rules that moved."""

from __future__ import annotations

import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..compiler import CompileError, Diagnostic, compile_checked, compile_text, ir, is_ir_path
from ..compiler.checked import Checked, CheckedDecay, CheckedRule, CheckedScore, CheckedTier
from ..compiler.diagnostics import Source, Span
from .accounts import run_accounts
from .data import empty_events, read_events, read_leads
from .engines import run
from .warehouses import run_query


@dataclass
class Moved:
    """A lead (or an account) whose tier the change moves."""

    key: str
    old_tier: str | None
    new_tier: str | None
    old_total: float | None
    new_total: float | None


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
    changes: list[dict] = field(default_factory=list)  # the models' structural changes
    moved_leads: list[Moved] = field(default_factory=list)  # by key
    outcome: dict | None = None  # --outcome: each model's AUC, lift and conversion per tier
    accounts: dict | None = None  # both models with accounts: their tier moves

    def to_json(self) -> dict:
        return {"old": self.old_name, "new": self.new_name, "leads": self.leads,
                "moved": self.moved,
                "matrix": [{"from": a, "to": b, "leads": n} for (a, b), n in
                           sorted(self.matrix.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))],
                "entering": self.entering, "leaving": self.leaving, "totals": self.totals,
                "scores": {k: {"old": a, "new": b} for k, (a, b) in self.scores.items()},
                "rules": self.rules, "changes": self.changes,
                "moved_leads": [m.__dict__ for m in self.moved_leads],
                "outcome": self.outcome, "accounts": self.accounts}


# a declaration's text as a change shows it, at most this many characters (one table cell)
MAX_SHOWN = 100


def _canon(e: ir.Expr | None, aggs: dict[str, ir.Aggregate]) -> Any:
    """`e` comparable across two models: each aggregate by what it folds, not by its id
    (ids follow the order a model first uses them); spans left out."""
    if e is None:
        return None
    if isinstance(e, ir.Agg):
        a = aggs[e.id]
        return ("agg", a.fn, a.where, a.value, a.window, a.fade, a.period)
    plain = tuple(getattr(e, f.name) for f in fields(e)
                  if f.name != "span" and f.name not in e.CHILDREN)
    return (e.key, plain, tuple(_canon(c, aggs) for c in e.children()))


def _shown(c: Checked, span: Span | None) -> str:
    """The first line of what `span` covers in the model's sources, shortened."""
    if span is None:
        return ""
    lines = c.sources.get(span.path, "").split("\n")
    if not 1 <= span.line <= len(lines):
        return ""
    line = lines[span.line - 1]
    text = (line[span.column - 1:span.end_column - 1] if span.end_line == span.line
            else line[span.column - 1:]).strip()
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"


def _num(v: float | None) -> str:
    return "none" if v is None else f"{v:g}"


class _Changes:
    """The structural changes from one checked model to another, each
    {kind, where, name, change, old, new}."""

    def __init__(self, old: Checked, new: Checked):
        self.old, self.new = old, new
        self.out: list[dict] = []

    def add(self, kind: str, where: str, name: str, change: str, old: str = "",
            new: str = "") -> None:
        self.out.append({"kind": kind, "where": where, "name": name, "change": change,
                         "old": old, "new": new})

    def canon(self, side: Checked, e: ir.Expr | None) -> Any:
        return _canon(e, side.build.by_id)

    def all(self) -> list[dict]:
        o, n = self.old, self.new
        self.named("score", "", {s.name: s for s in o.scores}, {s.name: s for s in n.scores},
                   self.score, lambda c, s: f"{len(s.rules)} rules")
        if self.canon(o, o.total) != self.canon(n, n.total):
            self.add("total", "", "total", "formula changed")
        if o.clamp != n.clamp:
            def clamp(c: tuple[float, float] | None) -> str:
                return "none" if c is None else f"[{c[0]:g}, {c[1]:g}]"
            self.add("clamp", "", "total", "changed", clamp(o.clamp), clamp(n.clamp))
        self.named("disqualify", "", dict(o.disqualify), dict(n.disqualify), self.condition,
                   lambda c, e: _shown(c, e.span))
        self.named("segment", "", dict(o.segments), dict(n.segments), self.condition,
                   lambda c, e: _shown(c, e.span))
        for seg in dict.fromkeys([*o.tiers, *n.tiers]):
            self.named("tier", f"segment {seg}", {t.name: t for t in o.tiers.get(seg, [])},
                       {t.name: t for t in n.tiers.get(seg, [])}, self.tier,
                       lambda c, t: "lowest" if t.threshold is None else f"at {t.threshold:g}")
        if o.grade != n.grade:
            def grade(g):
                return "none" if g is None else f"{g[0]}: " + ", ".join(
                    f"{letter} at {_num(t)}" if t is not None else letter for letter, t in g[1])
            self.add("grade", "", "grade", "changed", grade(o.grade), grade(n.grade))
        return self.out

    def named(self, kind: str, where: str, old: dict, new: dict, compare, shown) -> None:
        """Declarations matched by name: added, removed, or compared by `compare`."""
        for name in dict.fromkeys([*old, *new]):
            if name not in new:
                self.add(kind, where, name, "removed", shown(self.old, old[name]), "")
            elif name not in old:
                self.add(kind, where, name, "added", "", shown(self.new, new[name]))
            else:
                compare(kind, where, name, old[name], new[name])

    def condition(self, kind: str, where: str, name: str, a: ir.Expr, b: ir.Expr) -> None:
        if self.canon(self.old, a) != self.canon(self.new, b):
            self.add(kind, where, name, "condition changed", _shown(self.old, a.span),
                     _shown(self.new, b.span))

    def score(self, kind: str, where: str, name: str, a: CheckedScore, b: CheckedScore) -> None:
        for what, x, y in (("cap", a.cap, b.cap), ("floor", a.floor, b.floor)):
            if x != y:
                self.add(what, f"score {name}", name, "changed", _num(x), _num(y))

        def decay(c: Checked, d: CheckedDecay) -> tuple:
            return (d.points, d.percent, d.every, self.canon(c, d.where.where), d.where.window)

        def said(d: CheckedDecay) -> str:
            rate = f"-{d.points:g}" if d.points is not None else f"-{100 * d.percent:g}%"
            return f"{rate} every {d.every}d"
        if [decay(self.old, d) for d in a.decays] != [decay(self.new, d) for d in b.decays]:
            self.add("decay", f"score {name}", name, "changed",
                     "; ".join(map(said, a.decays)) or "none",
                     "; ".join(map(said, b.decays)) or "none")
        self.named("rule", f"score {name}", {r.label: r for r in a.rules},
                   {r.label: r for r in b.rules}, self.rule, lambda c, r: _shown(c, r.span))

    def rule(self, kind: str, where: str, name: str, a: CheckedRule, b: CheckedRule) -> None:
        if (a.points, a.repeat) != (b.points, b.repeat):
            self.add("rule", where, name, "re-weighted", _points(a), _points(b))
        shape = (a.kind, a.half_life, a.lifespan, a.throttle)
        if (shape != (b.kind, b.half_life, b.lifespan, b.throttle)
                or self.canon(self.old, a.condition) != self.canon(self.new, b.condition)
                or (a.where is None) != (b.where is None)
                or a.where is not None and (self.canon(self.old, a.where.where), a.where.window)
                != (self.canon(self.new, b.where.where), b.where.window)):
            self.add("rule", where, name, "condition changed", _shown(self.old, a.span),
                     _shown(self.new, b.span))
        if a.cap != b.cap:
            self.add("cap", where, name, "changed", _num(a.cap), _num(b.cap))

    def tier(self, kind: str, where: str, name: str, a: CheckedTier, b: CheckedTier) -> None:
        if a.threshold != b.threshold:
            self.add("threshold", where, name, "changed", _num(a.threshold), _num(b.threshold))
        old = {self.canon(self.old, g): _shown(self.old, s) for g, s in zip(a.gates, a.gate_spans)}
        new = {self.canon(self.new, g): _shown(self.new, s) for g, s in zip(b.gates, b.gate_spans)}
        for g, text in old.items():
            if g not in new:
                self.add("gate", where, name, "removed", text, "")
        for g, text in new.items():
            if g not in old:
                self.add("gate", where, name, "added", "", text)


def _points(r: CheckedRule) -> str:
    return f"{r.points:+g}" + ("" if r.repeat is None else f", repeat {r.repeat:+g}")


def structural_changes(old: Checked, new: Checked) -> list[dict]:
    """What changed from one model to the other, declaration by declaration: scores, rules
    (matched by score and label: added, removed, re-weighted, condition changed), caps,
    floors, decay, the total and clamp, disqualifications, segments (by name), tiers (by
    segment and name: thresholds and gates) and grades."""
    return _Changes(old, new).all()


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
    """The lead rows, each rule's (score, label, points) per lead, and the account rows."""
    leads = read_leads(leads_path, model.schema)
    events = (read_events(events_path, model.schema) if events_path and model.schema.has_events
              else empty_events(model.schema))
    rows = run(model, leads, events, as_of_us, engine)
    rules = ([(r[3], r[4], r[8]) for r in run_query("explain", "duckdb", model, leads, events,
                                                     as_of_us) if r[2] == "rule"]
             if model.rules else [])
    accounts = (run_accounts(model, leads, events, as_of_us, engine, lead_rows=rows
                             if engine == "python" else None) if model.account else None)
    return rows, rules, accounts


def _compiled(text: str, name: str) -> tuple[Checked | None, ir.Model]:
    """The checked declarations (none for a compiled IR file) and the model."""
    if is_ir_path(name):
        return None, compile_text(text, name)
    return compile_checked(text, name)


def _outcome(model: ir.Model, leads_path, events_path, outcome: str, as_of_us: int,
             engine: str) -> dict:
    """calibrate's AUC, lift and conversion per tier of one model (analytics/calibrate.py)."""
    from ..analytics.calibrate import calibrate

    r = calibrate(model, leads_path, outcome, as_of_us, events_path=events_path,
                  engine=engine).report
    return {"auc": r["auc"], "lift": r["lift"], "tiers": r["tiers"],
            "evaluated": r["counts"]["evaluated"], "converted": r["counts"]["converted"]}


def _account_moves(old: list[tuple], new: list[tuple]) -> dict:
    """Account tier moves: (key, score, total[, tier]) rows of both models."""
    before = {r[0]: r for r in old}
    matrix: Counter = Counter()
    moved = []
    for r in new:
        o = before.get(r[0])
        if o is None:
            continue
        ot, nt = (o[3] if len(o) > 3 else None), (r[3] if len(r) > 3 else None)
        matrix[(ot, nt)] += 1
        if ot != nt:
            moved.append(Moved(str(r[0]), ot, nt, o[2], r[2]).__dict__)
    return {"accounts": len(new), "moved": len(moved),
            "matrix": [{"from": a, "to": b, "accounts": n} for (a, b), n in
                       sorted(matrix.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1])))],
            "moved_accounts": moved}


def diff_models(old_text: str, old_name: str, new_text: str, new_name: str, leads_path,
                events_path, as_of_us: int, engine: str = "duckdb",
                outcome: str | None = None) -> ModelDiff:
    old_checked, old = _compiled(old_text, old_name)
    new_checked, new = _compiled(new_text, new_name)
    old_rows, old_rules, old_acc = _score(old, leads_path, events_path, as_of_us, engine)
    new_rows, new_rules, new_acc = _score(new, leads_path, events_path, as_of_us, engine)
    oc = {c: i + 1 for i, (c, _) in enumerate(old.outputs)}
    nc = {c: i + 1 for i, (c, _) in enumerate(new.outputs)}
    old_by = {r[0]: r for r in old_rows}
    matrix: Counter = Counter()
    moved_leads = []
    for r in new_rows:
        o = old_by.get(r[0])
        if o is not None:
            old_tier, new_tier = o[oc["tier"]], r[nc["tier"]]
            matrix[(old_tier, new_tier)] += 1
            if old_tier != new_tier:
                moved_leads.append(Moved(r[0], old_tier, new_tier, o[oc["total"]],
                                         r[nc["total"]]))
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
        for score, label, points in rows:
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
    d = ModelDiff(old_name, new_name, len(new_rows), matrix, tiers, entering, leaving,
                  {"old": _stats([r[oc["total"]] for r in old_rows]),
                   "new": _stats([r[nc["total"]] for r in new_rows])},
                  scores, changed, len(moved_leads), moved_leads=moved_leads)
    if old_checked is not None and new_checked is not None:
        d.changes = structural_changes(old_checked, new_checked)
    if outcome is not None:
        d.outcome = {side: _outcome(m, leads_path, events_path, outcome, as_of_us, engine)
                     for side, m in (("old", old), ("new", new))}
    if old_acc is not None and new_acc is not None:
        d.accounts = _account_moves(old_acc, new_acc)
    return d


def write_moved(path: str, d: ModelDiff) -> None:
    """The moved leads (key, old and new tier, old and new total) as CSV, Parquet or JSON."""
    from .output import write_rows

    write_rows(path, ["key", "old_tier", "new_tier", "old_total", "new_total"],
               [tuple(m.__dict__.values()) for m in d.moved_leads],
               {"old_total": "number", "new_total": "number"})


def _n(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.1f}"


def _more(shown: int, total: int, what: str) -> list[str]:
    return ["", f"… and {total - shown} more {what}"] if total > shown else []


def _cell(v: Any) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return " ".join(str(v).split()).replace("|", "\\|") if v not in (None, "") else "·"


def _rate(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def outcome_rows(d: ModelDiff) -> list[list[str]]:
    """The --outcome comparison: [measure, old, new] rows (AUC, lift at the top shares,
    conversion per tier)."""
    o, n = d.outcome["old"], d.outcome["new"]
    rows = [["AUC", _ratio(o["auc"]), _ratio(n["auc"])]]
    for lo, ln in zip(o["lift"], n["lift"]):
        rows.append([f"lift, top {100 * lo['share']:.0f}%", _ratio(lo["lift"]),
                     _ratio(ln["lift"])])
    old_t = {t["name"]: t for t in o["tiers"]}
    new_t = {t["name"]: t for t in n["tiers"]}
    for name in dict.fromkeys([*old_t, *new_t]):
        def conv(t):
            return "-" if t is None else f"{_rate(t['rate'])} of {t['leads']}"
        rows.append([f"conversion, tier {name}", conv(old_t.get(name)), conv(new_t.get(name))])
    return rows


def render_markdown(d: ModelDiff, top: int = 10) -> str:
    """A pull-request comment on one page: what changed in the model, what moves, where
    scores go, which rules did it; every list bounded by `top` ("… and N more")."""
    lines = [f"### leadscore diff: `{d.old_name}` → `{d.new_name}`", ""]
    if d.changes:
        lines += [f"**{len(d.changes)} change{'s' if len(d.changes) != 1 else ''} to the "
                  "model.**", "", "| what | where | name | change | old | new |",
                  "|---|---|---|---|---|---|"]
        for c in d.changes[:top]:
            lines.append("| " + " | ".join(_cell(c[k]) for k in
                                           ("kind", "where", "name", "change", "old", "new"))
                         + " |")
        lines += _more(min(top, len(d.changes)), len(d.changes), "changes")
        lines.append("")
    lines += [f"**{d.moved} of {d.leads} leads change tier.**", ""]
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
    if d.moved_leads:
        lines += ["", f"Leads that move (first {min(top, d.moved)} by key):", "",
                  "| lead | old tier | new tier | old total | new total |",
                  "|---|---|---|---:|---:|"]
        for m in d.moved_leads[:top]:
            lines.append(f"| {_cell(m.key)} | {_cell(m.old_tier)} | {_cell(m.new_tier)} | "
                         f"{_n(m.old_total)} | {_n(m.new_total)} |")
        lines += _more(min(top, d.moved), d.moved, "leads (all of them: --moved-out FILE)")
    if d.outcome:
        lines += ["", f"Against the outcome ({d.outcome['new']['evaluated']} leads, "
                      f"{d.outcome['new']['converted']} converted):", "",
                  "| measure | old | new |", "|---|---:|---:|"]
        lines += [f"| {_cell(a)} | {b} | {c} |" for a, b, c in outcome_rows(d)]
    if d.accounts:
        a = d.accounts
        lines += ["", f"**{a['moved']} of {a['accounts']} accounts change tier.**"]
        if a["moved_accounts"]:
            lines += ["", "| account | old tier | new tier | old total | new total |",
                      "|---|---|---|---:|---:|"]
            for m in a["moved_accounts"][:top]:
                lines.append(f"| {_cell(m['key'])} | {_cell(m['old_tier'])} | "
                             f"{_cell(m['new_tier'])} | {_n(m['old_total'])} | "
                             f"{_n(m['new_total'])} |")
            lines += _more(min(top, a["moved"]), a["moved"], "accounts")
    return "\n".join(lines) + "\n"
