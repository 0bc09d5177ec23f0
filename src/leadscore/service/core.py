"""What `leadscore serve` does, without HTTP: leads and events in, rows and tier changes out.

Scoring is the incremental scorer's (`runtime.stream.Stream`): the state of every lead is
held in memory and saved in the state store with each request; a row at an instant before
the lead's newest event is the batch evaluator's over the lead's stored events (what
`leadscore run --as-of T` gives). Records are checked by the loaders' own rules
(`runtime.data.leads_from_dicts` / `events_from_dicts`): a request with any bad record
changes nothing and names each bad record's index and field.

Time: a row is scored at the server's clock, or at the lead's newest event when that is
later (an event may be up to MAX_FUTURE_S ahead of the clock; a later one is refused).
Events may arrive in any order: an event older than the lead's newest is folded in as if
it had come in time order (windows and decay read each event's own time).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..compiler import ir
from ..runtime.data import Reject, events_from_dicts, leads_from_dicts, parse_timestamp
from ..runtime.stream import Stream
from .store import Change, Store, StoreError, decode_state, encode_state

MAX_FUTURE_S = 300  # the clock skew allowed between a sender and the server
MAX_RECORDS = 10_000  # records per request
MAX_CHANGES_PAGE = 1_000  # tier changes per GET /changes
RESCAN_BATCH = 1_000  # leads rescored per hold of the lock by --rescan
REBUILD_BATCH = 10_000  # stored events read and checked at a time by --rebuild
MAX_CURSOR = 2**63 - 1  # sequence numbers are BIGINT in both stores


_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # one encoder


def now_us() -> int:
    return time.time_ns() // 1000


class InputError(Exception):
    """Input refused as a whole: an HTTP status, a message, and the bad records."""

    def __init__(self, message: str, records: list[dict] | None = None, status: int = 422):
        super().__init__(message)
        self.status = status
        self.records = records or []

    def to_json(self) -> dict:
        return {"error": str(self), "records": self.records}


def _rejected(what: str, rejects: list[Reject]) -> InputError:
    records = [{"index": r.row - 1, "field": r.column, "reason": r.reason} for r in rejects]
    n = len(records)
    return InputError(f"{n} {what} record{'s' if n != 1 else ''} cannot be read; "
                      "nothing in this request was applied", records)


def _records(body: Any, what: str) -> list[dict]:
    if not isinstance(body, list):
        raise InputError(f"the body must be a JSON list of {what} objects")
    if len(body) > MAX_RECORDS:
        raise InputError(f"at most {MAX_RECORDS} records per request (got {len(body)})", status=413)
    bad = [{"index": i, "field": None, "reason": "a record must be a JSON object"}
           for i, r in enumerate(body) if not isinstance(r, dict)]
    if bad:
        raise InputError(f"{len(bad)} {what} record(s) are not JSON objects; nothing was applied",
                         bad)
    return body


def parse_json(raw: bytes, what: str) -> Any:
    """A request body or queue message as JSON, refused (400) unless it is JSON text."""
    try:
        body = json.loads(raw)
        if b"\\ud" in raw.lower():  # an escaped surrogate: paired it is a character, alone no text
            _json(body).encode("utf-8")
    except (ValueError, UnicodeError) as err:
        raise InputError(f"{what} is not JSON text: {err}", status=400) from None
    return body


def instant(value: str | None, name: str = "as_of") -> int | None:
    """An instant from a query parameter (ISO 8601), or None."""
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as err:
        raise InputError(f"{name}: {err}", [{"index": None, "field": name, "reason": str(err)}]
                         ) from None


@dataclass
class Result:
    """A request's answer: per affected lead its row (None while the lead is not posted)
    and whether its tier changed; the changes recorded."""

    body: dict
    changes: list[Change]
    replayed: bool = False


class Service:
    """The model, its stream and its store; every method runs under one lock (one writer)."""

    def __init__(self, model: ir.Model, store: Store, rebuild: bool = False,
                 webhook: bool = False, clock: Callable[[], int] = now_us):
        from ..backends.dbt import digest

        if not model.schema.has_events:
            raise StoreError("`leadscore serve` scores events as they arrive: this model "
                             "declares no events (score its leads with `leadscore run`)")
        self.model = model
        self.store = store
        self.webhook = webhook  # changes also go to the outbox
        self.clock = clock
        self.lock = threading.Lock()
        self.columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
        self.has_tier = "tier" in self.columns
        self.sticky = ir.reads_previous_tier(model)
        self.digest = digest(model)
        self.stream = Stream(model)
        self.records: dict[str, dict] = {}  # key -> the lead record as posted
        self.tiers: dict[str, str | None] = {}  # key -> its current tier
        built = store.meta("model_digest")
        if rebuild:
            self._rebuild()
        elif built not in (None, self.digest):
            raise StoreError(f"the state store was built by another model (IR digest {built}, "
                             f"this one {self.digest}): restart with --rebuild to rescore "
                             "every lead from its stored events")
        else:
            if built is None:
                with store.transaction() as cur:
                    store.set_meta(cur, "model_digest", self.digest)
            self._load()

    # ------------------------------------------------------------ state
    def _load(self) -> None:
        for key, record, state, tier in self.store.leads():
            self._restore(key, record, state, tier)

    def _restore(self, key: str, record: str | None, state: str | None, tier: str | None
                 ) -> None:
        self.stream.restore(key, None if state is None else decode_state(state))
        if record is not None:
            self.records[key] = json.loads(record)
            self.tiers[key] = tier
            self._lead(key)

    def _lead(self, key: str) -> None:
        """Give the stream the lead's record with its previous tier: the one place a model
        with sticky tiers learns it."""
        self.stream.lead({**self.records[key], ir.PREVIOUS_TIER: self.tiers.get(key)})

    def _reload(self, keys: list[str]) -> None:
        """After a failed commit: the leads as the store last saved them."""
        for key in keys:
            self.stream.forget(key)
            self.records.pop(key, None)
            self.tiers.pop(key, None)
            got = self.store.lead(key)
            if got is not None:
                self._restore(key, got[0], got[1], got[2])

    def _rebuild(self) -> None:
        """Every lead rescored from the stored records and events (after a model change):
        one transaction; tiers that differ are recorded as changes."""
        old = {}
        for key, record, _, tier in self.store.leads():
            old[key] = tier
            if record is not None:
                self.records[key] = rec = json.loads(record)
                checked = leads_from_dicts([rec], self.model.schema)
                if checked.rejects:
                    raise StoreError(f"stored lead {key!r} cannot be read by this model: "
                                     f"{checked.rejects[0].column}: {checked.rejects[0].reason}")
                self.tiers[key] = tier
                self._lead(key)
        batch: list[tuple[int, str]] = []
        for got in self.store.all_events():
            batch.append(got)
            if len(batch) == REBUILD_BATCH:
                self._replay(batch)
                batch = []
        self._replay(batch)
        now = self.clock()
        keys = list(dict.fromkeys([*old, *self.records]))
        self._commit(keys, [], now, None, None)
        with self.store.transaction() as cur:
            self.store.set_meta(cur, "model_digest", self.digest)

    def _replay(self, batch: list[tuple[int, str]]) -> None:
        """Stored (seq, event JSON) folded into the states, read by this model's rules."""
        checked = events_from_dicts([json.loads(r) for _, r in batch], self.model.schema)
        if checked.rejects:
            bad = checked.rejects[0]
            raise StoreError(f"stored event {batch[bad.row - 1][0]} cannot be read by this model: "
                             f"{bad.column}: {bad.reason}")
        self.stream.apply_events(checked)

    # ------------------------------------------------------------ requests
    def post_leads(self, body: Any, idem: str | None = None) -> Result:
        with self.lock:
            if (done := self._replayed(idem)) is not None:
                return done
            records = _records(body, "lead")
            checked = leads_from_dicts(records, self.model.schema)
            if checked.rejects:
                raise _rejected("lead", checked.rejects)
            keys = checked.keys
            try:
                for key, rec in zip(keys, records):
                    self.records[key] = rec
                    self._lead(key)
                return self._commit(keys, [], self.clock(), idem, dict(zip(keys, records)))
            except BaseException:
                self._reload(keys)
                raise

    def post_events(self, body: Any, idem: str | None = None) -> Result:
        with self.lock:
            if (done := self._replayed(idem)) is not None:
                return done
            records = _records(body, "event")
            checked = events_from_dicts(records, self.model.schema)
            now = self.clock()
            late = now + MAX_FUTURE_S * 1_000_000
            time_field = self.model.schema.event_time
            bad = [Reject("<events>", i + 1, time_field, None,
                          f"the event time is more than {MAX_FUTURE_S} s after the server's clock")
                   for i, t in enumerate(checked.times) if t > late]
            if checked.rejects or bad:
                raise _rejected("event", checked.rejects + bad)
            keys = list(dict.fromkeys(checked.leads))
            try:
                self.stream.apply_events(checked)
                events = [(k, t, _json(r)) for k, t, r in zip(checked.leads, checked.times, records)]
                return self._commit(keys, events, now, idem, None)
            except BaseException:
                self._reload(keys)
                raise

    def _replayed(self, idem: str | None) -> Result | None:
        if idem is None:
            return None
        got = self.store.response(idem)
        return None if got is None else Result(json.loads(got), [], replayed=True)

    def _commit(self, keys: list[str], events: list[tuple[str, int, str]], now: int,
                idem: str | None, posted: dict[str, dict] | None) -> Result:
        """Score `keys` at `now`, save their states, rows and tier changes (and the events,
        and the answer under `idem`) in one transaction; the tiers move once it commits."""
        posted = posted or {}
        leads, changes, results, tiers = [], [], [], {}
        for key in keys:
            row = None
            tier = self.tiers.get(key)
            if key in self.stream:
                row = self._row_now(key, now)
                tier = row.get("tier") if self.has_tier else None
            changed = row is not None and self.has_tier and (
                key not in self.tiers or tier != self.tiers[key])
            if changed:
                changes.append((key, self.tiers.get(key), tier, now, row))
                tiers[key] = tier
            state = self.stream.state(key)
            record = posted.get(key)
            leads.append((key, None if record is None else _json(record),
                          None if state is None else encode_state(state), tier,
                          None if row is None else _json(row)))
            results.append({"key": key, "row": row, "tier_changed": changed})
        body = {"as_of": _iso(now), "leads": results}
        with self.store.transaction() as cur:
            if events:
                self.store.put_events(cur, events)
            self.store.put_leads(cur, leads)
            made = self.store.put_changes(cur, changes, self.webhook) if changes else []
            if idem is not None:
                self.store.put_response(cur, idem, _json(body))
        self.tiers.update(tiers)
        for key in tiers:  # a sticky model's previous tier is the one just recorded
            self._lead(key)
        return Result(body, made)

    def _row_now(self, key: str, now: int) -> dict:
        newest = self.stream.newest(key)
        as_of = now if newest is None or newest < now else newest
        return dict(zip(self.columns, self.stream.row(key, as_of)))

    def rescan(self) -> list[Change]:
        """Rescore every lead at now and record the tiers that time alone moved (decay,
        windows emptying): RESCAN_BATCH leads per hold of the lock, so requests go between."""
        keys = list(self.records)
        made: list[Change] = []
        for i in range(0, len(keys), RESCAN_BATCH):
            with self.lock:
                now = self.clock()
                moved = [k for k in keys[i:i + RESCAN_BATCH] if k in self.records
                         and self._row_now(k, now).get("tier") != self.tiers.get(k)]
                if moved:
                    made += self._commit(moved, [], now, None, None).changes
        return made

    # ------------------------------------------------------------ reads
    def row(self, key: str, as_of: int | None) -> dict | None:
        """The lead's row at `as_of` (None: now, or its newest event if later); None for a
        lead never posted."""
        with self.lock:
            if key not in self.records:
                return None
            now = self.clock() if as_of is None else as_of
            newest = self.stream.newest(key)
            previous = self._previous(key, as_of)
            if (as_of is None or newest is None or as_of >= newest) \
                    and previous == self.tiers.get(key):
                return self._row_now(key, now)
            leads, events = self._one_lead(key, previous)
        from ..runtime.engines import run_python

        (row,) = run_python(self.model, leads, events, as_of)
        return dict(zip(self.columns, row))

    def explain(self, key: str, as_of: int | None) -> dict | None:
        from ..runtime.explain import explain

        with self.lock:
            if key not in self.records:
                return None
            previous = self._previous(key, as_of)
            if as_of is None:
                newest = self.stream.newest(key)
                now = self.clock()
                as_of = now if newest is None or newest < now else newest
            leads, events = self._one_lead(key, previous)
        return {"as_of": _iso(as_of), **explain(self.model, leads, events, key, as_of).to_json()}

    def _previous(self, key: str, as_of: int | None) -> str | None:
        """The previous tier of a row at `as_of` (None: now), as a history reads it: the tier
        of the lead's latest snapshot before `as_of`. A snapshot is each scoring that moved
        its tier (a tier change, at the server's clock); between them the tier held still."""
        if as_of is None or not self.sticky:
            return self.tiers.get(key)
        return self.store.tier_before(key, as_of)

    def _one_lead(self, key: str, previous: str | None) -> tuple[Any, Any]:
        """The lead's record with `previous` as its previous tier, and its stored events, as
        the loaders read them."""
        leads = leads_from_dicts([{**self.records[key], ir.PREVIOUS_TIER: previous}],
                                 self.model.schema)
        return leads, events_from_dicts(self.store.lead_events(key), self.model.schema)

    def changes(self, since: int, limit: int) -> dict:
        with self.lock:
            got = self.store.changes(since, min(limit, MAX_CHANGES_PAGE))
        return {"changes": [c.to_json() for c in got],
                "next": got[-1].seq if got else since}

    # ------------------------------------------------------------ the outbox (webhook.Sender)
    def outbox(self, limit: int) -> list[tuple[Change, int, int]]:
        with self.lock:
            return self.store.outbox(limit)

    def delivered(self, seq: int) -> None:
        with self.lock:
            self.store.delivered(seq)

    def retry(self, seq: int, attempts: int, next_us: int) -> None:
        with self.lock:
            self.store.retry_at(seq, attempts, next_us)

    def outbox_depth(self) -> int:
        with self.lock:
            return self.store.outbox_depth()


def _iso(us: int) -> str:
    from ..runtime.data import Instant

    return str(Instant(us))
