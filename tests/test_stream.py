"""The incremental scorer (`Model.stream()`) agrees with the batch evaluator.

Property: random models and data (the differential test's generators), events fed one
at a time in a random order (late events included), scored at random instants at or
after everything fed so far, give the batch evaluator's rows for the same events at the
same instant. Fading sums agree to the bit (whole numbers of 10^-9, ir.Fade); numbers within
1e-9 otherwise: a stream adds a float field's `sum` in arrival order, the batch in file order.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import leadscore
from conftest import ROOT
from generators import DIFFERENTIAL, Dataset, ModelCase, example_count, examples
from leadscore.backends.interpreter import Interpreter, _Env
from leadscore.compiler import ir
from leadscore.runtime.data import convert
from leadscore.runtime.stream import _Plan
from test_differential import row_problems

DELTAS = [timedelta(0), timedelta(microseconds=1), timedelta(hours=5), timedelta(days=1),
          timedelta(days=7), timedelta(days=31), timedelta(days=400)]


def _time(value) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=convert(value, "timestamp"))


def _check(case: ModelCase, model: leadscore.Model, data: Dataset, stream, fed: list[dict],
           as_of: datetime) -> None:
    key = model.ir.schema.lead_key
    batch = model.score(data.leads, fed, as_of, engine="python")
    for row in batch:
        got = stream.score(row[key], as_of)
        problems = row_problems(case, row, got)
        assert not problems, (
            f"stream != batch for lead {row[key]!r} at {as_of.isoformat()}: {problems}\n"
            f"model:\n{case.text}\n{data.describe()}\nfed in this order:\n"
            + "\n".join(map(repr, fed)) + f"\nbatch: {row}\nstream: {got}")


@settings(DIFFERENTIAL, max_examples=example_count(150))
@given(examples(), st.data())
def test_stream_agrees_with_batch(example: tuple[ModelCase, Dataset], draw: st.DataObject):
    case, data = example
    model = leadscore.loads(case.text)
    stream = model.stream()
    for lead in data.leads:
        stream.lead(lead)
    order = draw.draw(st.permutations(range(len(data.events))), label="arrival order")
    checkpoints = {len(order) // 2, len(order)}
    fed: list[dict] = []
    newest = data.as_of
    for i, j in enumerate(order, start=1):
        event = data.events[j]
        row = stream.update(event)
        fed.append(event)
        newest = max(newest, _time(event["ts"]))
        if i == len(order) and row is not None:  # the row an update returns: at its lead's newest event
            lead_key = row[model.ir.schema.lead_key]
            at = max(_time(e["ts"]) for e in fed
                     if convert(e["lead_id"], "text").strip() == lead_key)
            batch = [r for r in model.score(data.leads, fed, at, engine="python")
                     if r[model.ir.schema.lead_key] == lead_key]
            assert not row_problems(case, batch[0], row), (batch[0], row)
        if i in checkpoints:
            delta = draw.draw(st.sampled_from(DELTAS), label="as_of after the newest event")
            _check(case, model, data, stream, fed, newest + delta)
    if not data.events:
        _check(case, model, data, stream, fed, newest)


def test_reference_model_stream_matches_batch():
    model = leadscore.load(ROOT / "examples" / "reference.score")
    from leadscore.runtime.data import csv_text_records

    def rows(name):
        header, recs = csv_text_records((ROOT / "examples" / "data" / name).read_text())
        return [dict(zip(header, r)) for _, r in recs]

    leads, events = rows("leads.csv"), rows("events.csv")
    stream = model.stream()
    for lead in leads:
        stream.lead(lead)
    for e in events:
        stream.update(e)
    as_of = datetime(2026, 3, 5, tzinfo=UTC)  # after every event, including the late ones
    for row in model.score(leads, events, as_of):
        got = stream.score(row["id"], as_of)
        assert got.keys() == row.keys()
        for c in row:
            if isinstance(row[c], float):
                assert got[c] == pytest.approx(row[c], rel=1e-9, abs=1e-9), (row, got)
            else:
                assert got[c] == row[c], (row, got)


def test_update_cost_does_not_grow_with_history():
    """Per-lead state, not per-lead events: a lead's state stays small after many events."""
    model = leadscore.load(ROOT / "examples" / "reference.score")
    stream = model.stream()
    stream.lead({"id": "l1", "title": "VP Sales", "employees": 500})
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(20_000):
        kind = ["email_open", "page_view", "webinar", "email_click"][i % 4]
        stream.update({"lead_id": "l1", "occurred_at": start + timedelta(minutes=30 * i),
                       "kind": kind, "page": "/lp/x" if i % 8 == 1 else "/pricing"})
    state = stream._state["l1"]
    kept = sum(len(s) for s in state if isinstance(s, list))
    # only the windowed rules keep times (7, 30 and 90 days of them), not all 20 000 events
    assert kept < 90 * 48 * 2


def test_stream_refuses_to_score_before_a_leads_newest_event():
    model = leadscore.load(ROOT / "examples" / "reference.score")
    stream = model.stream()
    stream.lead({"id": "l1"})
    stream.update({"lead_id": "l1", "occurred_at": "2026-02-01T00:00:00Z", "kind": "webinar"})
    with pytest.raises(ValueError, match="forward in time"):
        stream.score("l1", "2026-01-01T00:00:00Z")
    assert stream.update({"lead_id": "nobody", "occurred_at": "2026-02-01T00:00:00Z",
                          "kind": "webinar"}) is None


EVERY_KIND = """schema {
  lead { key id  field x: int }
  event { lead lead_id  time ts  type kind  types a, b  field n: float }
}
score s {
  rule "p" +1 per event a
  rule "pw" +1 per event a within 7d
  rule "ph" +2 per event a half_life 10d
  rule "phw" +2 per event a within 30d half_life 10d
  rule "pl" +3 per event b lifespan 20d
  rule "plw" +3 per event b within 5d lifespan 20d
  rule "o" +4 once event b
  rule "oh" +4 once event b half_life 3d
  rule "ol" +4 once event a lifespan 9d
  rule "fh" +5 first, +1 repeat per event a half_life 8d
  rule "fl" +5 first, +1 repeat per event b where n > 1 lifespan 8d
  rule "t" +1 per event a at most once per 7d
  rule "tw" +1 per event a within 30d at most once per 7d
  rule "cw" +1 per event b where n >= 2 within 12d
  rule "sum" +1 when sum n (event b) > 3
  rule "last" +1 when days_since(last event b within 10d) < 3
  rule "distinct" +1 when count distinct n (event a within 20d) > 1
  decay -1 every 7d without event a
}
"""


def test_a_fading_sum_keeps_only_events_that_still_weigh():
    """A fading sum is a buffer of the events younger than `Fade.zero_after` (31 half-lives,
    or the lifespan): every older event's grid weight is 0 at any later as_of, so dropping it
    changes no bit."""
    sources = (ROOT / "src" / "leadscore" / "compiler" / "lower").glob("*.py")
    kinds = {k for p in sources for k in re.findall(r'Fade\("(\w+)"', p.read_text("utf-8"))}
    model = leadscore.loads(EVERY_KIND).ir
    assert {a.fade.kind for a in model.aggregates if a.fade} == kinds == set(ir.FADES)
    for a in model.aggregates:
        if a.fade is not None and a.fn == "sum":
            plan = _Plan(a, 1)
            assert plan.kind == "buffer" and plan.bound == min(
                b for b in (a.fade.zero_after(), plan.window) if b is not None)
    env = Interpreter(model)
    for fade in (ir.Fade("half_life", 1), ir.Fade("half_life", 30), ir.Fade("lifespan", 7)):
        zero = fade.zero_after()
        for age in (zero, zero + 1, zero * 3):
            assert _weight(env, fade, age) == 0.0, (fade, age)
        assert _weight(env, fade, zero - fade.days * ir.US_PER_DAY) > 0.0  # 30 half-lives: 1


def _weight(it: Interpreter, fade: ir.Fade, age: int) -> float:
    e = _Env(it, ("k",), age)
    e.event = (age, "a", None)
    return e.ev(fade.weight())


def test_only_an_unwindowed_throttle_keeps_the_whole_history():
    for model in (leadscore.loads(EVERY_KIND).ir, leadscore.load(ROOT / "examples" / "reference.score").ir):
        for a in model.aggregates:
            plan = _Plan(a, 1)
            unbounded = plan.kind == "buffer" and plan.bound is None
            assert unbounded == (a.period is not None and a.window is None), (a, plan.kind)


def test_every_rule_kind_streams_as_the_batch_scores():
    model = leadscore.loads(EVERY_KIND)
    leads = [{"id": "u1", "x": 1}, {"id": "u2", "x": 2}, {"id": "u3"}]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [{"lead_id": f"u{1 + i % 2}", "ts": start + timedelta(hours=37 * i), "kind": "ab"[i % 3 % 2],
               "n": None if i % 5 == 0 else float(i % 4)} for i in range(60)]
    stream = model.stream()
    for lead in leads:
        stream.lead(lead)
    for e in sorted(events, key=lambda e: (e["ts"].day * 7 + e["ts"].hour) % 11):  # out of order
        stream.update(e)
    as_of = start + timedelta(days=95, hours=3)
    for row in model.score(leads, events, as_of):
        got = stream.score(row["id"], as_of)
        assert got.keys() == row.keys()
        # to the bit: fading weights are grid integers summed exactly (and `sum n` adds whole
        # numbers), so arrival order does not matter
        assert got == row


def test_apply_events_folds_loaded_events_as_update_does():
    """`apply_events` (events runtime/data.py already read) leaves the states `update` does."""
    from leadscore.runtime.data import csv_text_records, events_from_dicts

    model = leadscore.load(ROOT / "examples" / "reference.score")
    header, recs = csv_text_records((ROOT / "examples" / "data" / "events.csv").read_text())
    events = [dict(zip(header, r)) for _, r in recs]
    one, loaded = model.stream(), model.stream()
    for e in events:
        one.update(e)
    loaded.apply_events(events_from_dicts(events, model.ir.schema))
    assert loaded._state == one._state and len(loaded._state) > 100
