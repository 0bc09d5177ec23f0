"""The service's rows are the batch evaluator's (`leadscore run --as-of T`) over the same
leads and events, whatever the model, the batches, the arrival order and restarts.

Property: random models and data (the differential test's generators); leads and events
posted to `service.core.Service` over a real SQLite state store in random batches, in a
random order (late events included), the service sometimes reopened from its store (the
states come back from their JSON); then rows at instants after every event (the stream's
state) and before some of them (the batch over the stored events) equal `Model.score` at
the same instant. Numbers as test_stream compares them (a float field's sum in arrival
order against file order; a tier at a threshold such a sum decides).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import leadscore
from generators import DIFFERENTIAL, Dataset, ModelCase, example_count, examples
from leadscore.compiler.ir import PREVIOUS_TIER
from leadscore.runtime.data import DataError, convert, lead_key
from leadscore.service.core import InputError, Service
from leadscore.service.store import Store
from test_differential import row_problems

AFTER = [timedelta(0), timedelta(microseconds=1), timedelta(days=1), timedelta(days=45),
         timedelta(days=400)]


def _jsonable(record: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}


def _us(value) -> int:
    return convert(value, "timestamp")


def _check(case: ModelCase, model: leadscore.Model, data: Dataset, service: Service,
           fed: list[dict], as_of_us: int) -> None:
    as_of = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=as_of_us)
    key = model.ir.schema.lead_key
    # A sticky tier reads the lead's previous tier: the one the service held before as_of
    # (its snapshots are its scorings), given to the batch as the leads column a history fills.
    leads = [{**lead, PREVIOUS_TIER: service._previous(lead_key(lead[key]), as_of_us)}
             for lead in data.leads] if service.sticky else data.leads
    for row in model.score(leads, fed, as_of, engine="python"):
        got = service.row(row[key], as_of_us)
        problems = row_problems(case, row, got)
        assert not problems, (f"service != batch for {row[key]!r} at {as_of.isoformat()}: "
                              f"{problems}\nmodel:\n{case.text}\n{data.describe()}\nfed:\n"
                              + "\n".join(map(repr, fed)))


@settings(DIFFERENTIAL, max_examples=example_count(60))
@given(examples(), st.data())
def test_service_rows_equal_the_batch(example: tuple[ModelCase, Dataset], draw: st.DataObject):
    case, data = example
    model = leadscore.loads(case.text)
    times = [_us(e["ts"]) for e in data.events] or [_us(data.as_of)]
    clock = max(times) + 1  # the server's now: every event is in its past
    with tempfile.TemporaryDirectory() as tmp:
        url = str(Path(tmp) / "state.db")
        store = Store(url)
        service = Service(model.ir, store, clock=lambda: clock)
        try:
            service.post_leads([_jsonable(r) for r in data.leads])
        except InputError:  # the loaders refuse these leads: the batch does too
            try:
                model.score(data.leads, [], data.as_of, engine="python")
            except DataError:
                store.close()
                return
            raise
        order = draw.draw(st.permutations(range(len(data.events))), label="arrival order")
        fed: list[dict] = []
        i = 0
        while i < len(order):
            n = draw.draw(st.integers(1, 8), label="batch size")
            batch = [data.events[j] for j in order[i:i + n]]
            i += n
            service.post_events([_jsonable(e) for e in batch])
            fed += batch
            if draw.draw(st.booleans(), label="restart"):
                store.close()
                store = Store(url)
                service = Service(model.ir, store, clock=lambda: clock)
        newest = max([_us(data.as_of), *(_us(e["ts"]) for e in fed)])
        _check(case, model, data, service, fed, newest + draw.draw(
            st.sampled_from(AFTER), label="after every event") // timedelta(microseconds=1))
        if fed:  # an instant some events follow: the batch over the stored events
            _check(case, model, data, service, fed, draw.draw(
                st.sampled_from(sorted(set(times))), label="an event's instant"))
        store.close()
