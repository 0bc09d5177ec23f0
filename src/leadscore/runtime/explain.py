"""Why a lead has its score: the model's explain steps (`ir.Model.explain`) with one lead's
values, from the interpreter or from the explain query of any SQL engine (the same IR
expressions, so the same numbers), rendered as text, Markdown or JSON.

Each step kind has one sentence function in `SENTENCES`; a new kind of step is a step written
by lowering and one function here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..backends.interpreter import Interpreter
from ..backends.python import InputShape
from ..compiler import ir
from .data import DataError, Events, Leads
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
class Line:
    """One explain step of one lead: the step and its values (every `ir.STEP_VALUES` name,
    None where the step shows no such value)."""

    index: int
    step: ir.Step
    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:  # line.value, line.holds, ...
        if name in ir.STEP_VALUES:
            return self.values[name]
        raise AttributeError(name)


@dataclass
class Explanation:
    key: str
    lead_key: str  # the schema's key column
    lines: list[Line]

    @property
    def outputs(self) -> dict[str, Any]:
        """The lead's output row as a dict: the key, then the model's output columns."""
        out: dict[str, Any] = {self.lead_key: self.key}
        for ln in self.of("output"):
            out[ln.step.subject] = ln.text if "text" in ln.step.values else ln.value
        return out

    @property
    def rules(self) -> list[Line]:
        return self.of("rule")

    def of(self, kind: str) -> list[Line]:
        return [ln for ln in self.lines if ln.step.kind == kind]

    def rows(self) -> list[tuple]:
        """The explain query's rows (backends/explain_sql.py) of this lead."""
        return [(self.key, ln.index, ln.step.kind, ln.step.subject, ln.step.label, ln.step.line,
                 *ln.values.values()) for ln in self.lines]

    def to_json(self) -> dict:
        return {"key": self.key, "outputs": self.outputs,
                "steps": [{"kind": ln.step.kind, "subject": ln.step.subject,
                           "label": ln.step.label, "line": ln.step.line,
                           "facts": ln.step.facts,
                           **{k: v for k, v in ln.values.items() if k in ln.step.values}}
                          for ln in self.lines]}


def _explanation(model: ir.Model, key: str, values: Iterable[dict[str, Any]]) -> Explanation:
    lines = [Line(i, step, {name: v.get(name) for name in ir.STEP_VALUES})
             for i, (step, v) in enumerate(zip(model.explain, values))]
    return Explanation(key, model.schema.lead_key, lines)


def explain(model: ir.Model, leads: Leads, events: Events | None, key: str,
            as_of_us: int) -> Explanation:
    """The lead `key`'s explanation, from the interpreter."""
    it = Interpreter(model)
    for lead, evs in by_lead(model, it.shape, leads, events, as_of_us):
        if lead[0] == key:
            return _explanation(model, key, it.steps(lead, evs, as_of_us))
    raise DataError(f"no lead with key {key!r}")


def explain_sql(model: ir.Model, engine: str, key: str, as_of_us: int,
                leads: Leads | None = None, events: Events | None = None,
                db: str | None = None) -> Explanation:
    """The lead `key`'s explanation from the explain query on a SQL engine: on the files
    given, or (`leads` None) on the schema's tables in the database `db`."""
    from ..backends.explain_sql import STEP_COLUMNS
    from .warehouses import run_query

    rows = run_query("explain", engine, model, leads, events, as_of_us, db, lead=key)
    if not rows:
        raise DataError(f"no lead with key {key!r}")
    n = len(STEP_COLUMNS)
    return _explanation(model, key, (dict(zip(ir.STEP_VALUES, r[n:])) for r in rows))


# ---------------------------------------------------------------- rendering
def number(v: float | None, sign: bool = False) -> str:
    """A value as the explanation shows it: whole numbers without a fraction, others to 2
    decimals, `-` for none."""
    if v is None:
        return "-"
    if float(v).is_integer():
        return f"{int(v):+d}" if sign else str(int(v))
    return f"{v:+.2f}" if sign else f"{v:.2f}"


def _quoted(text: str) -> str:
    return f"`{text}`"


Sentences = list[tuple[int, str]]  # (depth, sentence)


def _rule(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    if not all_rules and not ln.value and not ln.events:
        return []
    details = []
    if ln.events is not None:
        n = int(ln.events)
        details.append(f"{n} event{'s' if n != 1 else ''}")
    if ln.before is not None and ln.before != ln.value:
        details.append(f"capped at {number(ln.step.facts['cap'])} from {number(ln.before)}")
    detail = f"  ({', '.join(details)})" if details else ""
    return [(1, f"{number(ln.value, True):>8}  {ln.step.label}{detail}  [line {ln.step.line}]")]


def _score(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    return [(0, f"score {ln.step.subject} = {number(ln.value)}")]


def _score_cap(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    cap = number(ln.step.facts["cap"])
    if ln.before == ln.value:
        return [(1, f"{'':>8}  rules sum {number(ln.before)}, within the cap {cap}")] \
            if all_rules else []
    return [(1, f"{'':>8}  score cap {cap}: rules sum {number(ln.before)} -> {number(ln.value)}")]


def _decay(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    f = ln.step.facts
    rate = (f"-{number(f['points'])}" if f["points"] is not None
            else f"-{number(100 * f['percent'])}%")
    what = f"{ln.step.label} ({rate} every {f['every']}d)"
    if ln.days is None:
        return [(1, f"{'':>8}  {what}: no matching event and no created time: "
                    f"{number(ln.before)} kept")]
    return [(1, f"{'':>8}  {what}: {number(ln.days)} idle days: "
                f"{number(ln.before)} -> {number(ln.value)}")]


def _floor(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    if ln.before == ln.value and not all_rules:
        return []
    return [(1, f"{'':>8}  floor {number(ln.step.facts['floor'])}: "
                f"{number(ln.before)} -> {number(ln.value)}")]


def _total(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    f = ln.step.facts
    how = "the model's total formula" if f["formula"] else "the sum of the scores"
    text = f"total = {number(ln.value)} ({how}"
    if f["low"] is not None:
        bounds = f"[{number(f['low'])}, {number(f['high'])}]"
        text += (f"; clamped to {bounds} from {number(ln.before)}" if ln.before != ln.value
                 else f"; within the clamp {bounds}")
    return [(0, text + ")")]


def _disqualify(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    if not ln.holds and not all_rules:
        return []
    cond = _quoted(ln.step.facts["condition"])
    return [(0, f"disqualified: {ln.step.label} ({cond} holds)" if ln.holds
             else f"not disqualified by {ln.step.label} ({cond} does not hold)")]


def _segment(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    chosen = ex.outputs["segment"] == ln.step.label
    if not chosen and not all_rules:
        return []
    cond = _quoted(ln.step.facts["condition"])
    return [(0, f"segment {ln.step.label}: {cond} holds, the first segment that does" if chosen
             else f"segment {ln.step.label}: {cond} {'holds' if ln.holds else 'does not hold'}")]


def _tier_segment(ex: Explanation) -> str:
    """Whose tiers the lead's are: its segment's, or the default ones (an account's: its)."""
    seg = ex.outputs.get("segment", "account")
    return seg if any(ln.step.subject == seg for ln in ex.of("tier")) else "default"


def _tier(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    seg = _tier_segment(ex)
    if ln.step.subject != seg:
        return []
    out: Sentences = []
    if ln.step.facts["threshold"] is None:  # the lowest tier heads the list
        where = (" (no segment's condition holds)" if seg == "default" and ex.of("segment")
                 else "")
        out.append((0, "tiers:" if seg == "account" else f"tiers of segment {seg}{where}:"))
        return out + [(1, f"{ln.step.label}: the lowest tier")]
    at = f"{ln.step.label} at {number(ln.step.facts['threshold'])}"
    gates = [g for g in ex.of("gate") if (g.step.subject, g.step.label) == (seg, ln.step.label)]
    failed = [_quoted(g.step.facts["condition"]) for g in gates if not g.holds]
    if not ln.holds:
        return [(1, f"{at}: threshold not met")]
    if failed:
        verb = "does" if len(failed) == 1 else "do"
        return [(1, f"{at}: threshold met, held back: {' and '.join(failed)} {verb} not hold")]
    return [(1, f"{at}: reached" + (" (its gates hold)" if gates else ""))]


def _gate(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    if ln.step.subject != _tier_segment(ex) or not all_rules:
        return []
    return [(2, f"gate {_quoted(ln.step.facts['condition'])}: "
                f"{'holds' if ln.holds else 'does not hold'}")]


def _sticky(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    if ln.text is None:  # stickiness did not decide the tier
        return []
    previous = next(p.text for p in ex.of("previous_tier"))
    return [(1, f"held at {ln.text} (sticky, previous tier {previous})")]


def _previous_tier(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    return [(1, f"previous tier {ln.text or '-'}")] if all_rules else []


def _output(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    column, out = ln.step.subject, ex.outputs
    if column == "grade":
        matrix = f", matrix {out['matrix']}" if out.get("matrix") else ""
        return [(0, f"grade {ln.text}{matrix}")]
    if column != "tier" or not ex.of("tier") and ln.text is None:
        return []  # no tiers: the tier part is left out (only a disqualified lead has one)
    text = f"tier {ln.text}"
    if out.get("held_from"):
        text += f" (held from {out['held_from']}: its gate does not hold)"
    if out.get("disqualified_by"):
        text += f" (disqualified: {out['disqualified_by']})"
    return [(0, text)]


def _account_score(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    return [(0, f"account score = {number(ln.value)} ({_quoted(ln.step.facts['formula'])} "
                "over its members)")]


def _account_total(ln: Line, ex: Explanation, all_rules: bool) -> Sentences:
    return [(0, f"account total = {number(ln.value)} (its score and rules)")]


# one sentence function per step kind (ir.Step.kind, written by compiler/lower/model.py);
# an account's "member" steps are its members' lines (render_account_*)
SENTENCES: dict[str, Callable[[Line, Explanation, bool], Sentences]] = {
    "rule": _rule, "score": _score, "score_cap": _score_cap, "decay": _decay, "floor": _floor,
    "total": _total, "disqualify": _disqualify, "segment": _segment, "tier": _tier,
    "gate": _gate, "sticky": _sticky, "previous_tier": _previous_tier, "output": _output,
    "account_score": _account_score,
    "account_total": _account_total,
}


def sentences(ex: Explanation, all_rules: bool = False) -> Sentences:
    """The explanation as (depth, sentence) pairs, in the model's order."""
    out: Sentences = []
    for ln in ex.lines:
        out += SENTENCES[ln.step.kind](ln, ex, all_rules)
    return out


# ---------------------------------------------------------------- accounts
MAX_MEMBERS_SHOWN = 50  # members listed by text and Markdown (JSON lists them all)


@dataclass
class AccountExplanation:
    """An account's explanation: each member's contribution to each roll-up (the account's
    "member" steps, per member lead), then the account's own steps."""

    account: Explanation  # the account's steps; its key is the account's
    members: list[tuple[str, list[Line]]]  # (lead key, its member lines), by lead key

    def to_json(self) -> dict:
        return {**self.account.to_json(),
                "members": [{"lead": k, "contributes": [
                    {"to": ln.step.label, "fn": ln.step.facts["fn"],
                     **{n: ln.values[n] for n in ln.step.values}} for ln in lines]}
                    for k, lines in self.members]}


def explain_account(model: ir.Model, leads: Leads, events: Events | None, key: str,
                    as_of_us: int) -> AccountExplanation:
    """Account `key`'s explanation (its key compared as text is: case-insensitively), from
    the interpreter."""
    from ..compiler.text import fold

    it = Interpreter(model, InputShape.of(model).members(model.schema))
    members = ((lead, it.values(lead, evs, as_of_us))
               for lead, evs in by_lead(model, it.shape, leads, events, as_of_us))
    got = it.account_steps(members, fold(key), as_of_us)
    if got is None:
        raise _no_account(model, key)
    return _account_explanation(model, key, *got)


def explain_account_sql(model: ir.Model, engine: str, key: str, as_of_us: int,
                        leads: Leads | None = None, events: Events | None = None,
                        db: str | None = None) -> AccountExplanation:
    """Account `key`'s explanation from the account explain query on a SQL engine."""
    from ..backends.explain_sql import STEP_COLUMNS
    from ..compiler.text import fold
    from .warehouses import run_query

    got = run_query("account_explain", engine, model, leads, events, as_of_us, db,
                    lead=fold(key))
    own = [r for r in got if r[-1] is None]
    if not own:
        raise _no_account(model, key)
    n = len(STEP_COLUMNS)
    members: dict[str, list[dict]] = {}
    for r in got:
        if r[-1] is not None:
            members.setdefault(r[-1], []).append(dict(zip(ir.STEP_VALUES, r[n:-1])))
    return _account_explanation(model, key, list(members.items()),
                                [dict(zip(ir.STEP_VALUES, r[n:-1])) for r in own])


def _no_account(model: ir.Model, key: str) -> DataError:
    return DataError(f"no account {key!r} (no lead that is not disqualified has "
                     f"{model.account.field} {key!r})")


def _account_explanation(model: ir.Model, key: str, rows: list[tuple[str, list[dict]]],
                         values: list[dict]) -> AccountExplanation:
    acc = model.account
    own = [s for s in acc.explain if s.kind != "member"]
    mine = [s for s in acc.explain if s.kind == "member"]
    lines = [Line(i, step, {n: v.get(n) for n in ir.STEP_VALUES})
             for i, (step, v) in enumerate(zip(own, values))]
    members = [(k, [Line(i, step, {n: v.get(n) for n in ir.STEP_VALUES})
                    for i, (step, v) in enumerate(zip(mine, vals))])
               for k, vals in sorted(rows, key=lambda r: r[0])]
    return AccountExplanation(Explanation(key, acc.field, lines), members)


def _member_sentences(ex: AccountExplanation) -> Sentences:
    out: Sentences = [(0, f"members: {len(ex.members)}")]
    for k, lines in ex.members[:MAX_MEMBERS_SHOWN]:
        parts = []
        for ln in lines:
            if "holds" in ln.step.values and not ln.holds:
                parts.append(f"{ln.step.label}: not counted")
            elif "value" in ln.step.values:
                parts.append(f"{ln.step.label}: {number(ln.value)}")
            else:
                parts.append(f"{ln.step.label}: counted")
        out.append((1, f"lead {k}: " + "; ".join(parts)))
    if len(ex.members) > MAX_MEMBERS_SHOWN:
        out.append((1, f"... and {len(ex.members) - MAX_MEMBERS_SHOWN} more (--format json "
                       "lists them all)"))
    return out


def render_account_text(ex: AccountExplanation, as_of: str, all_rules: bool = False,
                        safe: Callable[[str], str] = str) -> str:
    return _render_text(f"account {ex.account.key} at {as_of}",
                        _member_sentences(ex) + sentences(ex.account, all_rules), safe)


def render_account_markdown(ex: AccountExplanation, as_of: str, all_rules: bool = False) -> str:
    return _render_markdown(f"### account `{ex.account.key}` at {as_of}",
                            _member_sentences(ex) + sentences(ex.account, all_rules))


def render_text(ex: Explanation, as_of: str, all_rules: bool = False,
                safe: Callable[[str], str] = str) -> str:
    """Plain text: a blank line before each top-level part; `safe` escapes what came from
    the model or the data (cli/common.py `shown`)."""
    return _render_text(f"lead {ex.key} at {as_of}", sentences(ex, all_rules), safe)


def render_markdown(ex: Explanation, as_of: str, all_rules: bool = False) -> str:
    """Markdown for a pull request or a ticket: each top-level part a bold line, the rest
    nested bullets."""
    return _render_markdown(f"### lead `{ex.key}` at {as_of}", sentences(ex, all_rules))


def _render_text(title: str, items: Sentences, safe: Callable[[str], str]) -> str:
    lines = [safe(title)]
    previous = 0
    for depth, text in items:
        if depth == 0 and not (previous == 0 and text.startswith(("tier ", "grade "))):
            lines.append("")
        lines.append("  " * depth + safe(text))
        previous = depth
    return "\n".join(lines) + "\n"


def _render_markdown(title: str, items: Sentences) -> str:
    lines = [title, ""]
    for depth, text in items:
        if depth == 0:
            lines += ["", f"**{text.strip()}**", ""]
        else:
            lines.append("  " * (depth - 1) + f"- {text.strip()}")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
