"""The reference model in four generic Python rule engines, each doing the whole job:
aggregating each lead's events and applying the rules, from the same validated data.

- zen-engine (GoRules, Rust core): one decision graph; an expression node filters and
  counts the lead's events with ZEN's array functions, then computes the scores.
- rule-engine: one compiled Rule per quantity (list comprehensions over the events,
  then the scores), evaluated in order into a context dict.
- json-logic, as datalogic-py (the maintained JsonLogic package, Rust core): one
  compiled rule per quantity (`filter`/`reduce`/`map` over the events); JsonLogic has
  no power operator, so the half-life weight is a registered custom operator.
- business-rules (Venmo): the engine checks JSON conditions and dispatches actions;
  by its design, variables and actions are Python methods, so the event counts are
  variables and the points are actions.

Every engine gets the lead as a document (lower-cased text, event ages in µs) built in
`documents()`, whose time counts in each engine's total. `HAND_AGG_ZEN` is the variant
the issue quotes for contrast: hand-written Python aggregation, zen only for the rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from importlib import metadata
from typing import Any

from leadscore.runtime.data import Events, Leads

DAY = 86_400_000_000
OUT = ["fit", "engagement", "total", "segment", "tier", "held_from", "disqualified_by", "grade"]


def documents(leads: Leads, events: Events, as_of_us: int) -> list[tuple[str, dict]]:
    """(key, lead document) with its events as dicts: what each engine reads."""
    by_lead: dict[str, list] = {}
    page_col, asset_col = events.columns["page"], events.columns["asset"]
    for lead, t, kind, page, asset in zip(events.leads, events.times, events.types, page_col,
                                          asset_col):
        doc = {"kind": kind.lower(), "age": as_of_us - t,
               "page": page.lower() if page is not None else None, "asset": asset}
        bucket = by_lead.get(lead)
        if bucket is None:
            by_lead[lead] = [doc]
        else:
            bucket.append(doc)
    c = leads.columns
    out = []
    for key, created, email, industry, title, employees, country in zip(
            leads.keys, c["created_at"], c["email"], c["industry"], c["title"], c["employees"],
            c["country"]):
        out.append((key, {
            "industry": industry.lower() if industry is not None else None,
            "title": title.lower() if title is not None else None,
            "email": email.lower() if email is not None else None,
            "country": country.lower() if country is not None else None,
            "employees": employees,
            "created_age": as_of_us - created if created is not None else None,
            "events": by_lead.get(key, []),
        }))
    return out


def _row(key: str, r: dict) -> tuple:
    num = {"fit", "engagement", "total"}
    return (key,) + tuple(None if r.get(c) is None else float(r[c]) if c in num else r[c]
                          for c in OUT)


# ---------------------------------------------------------------- zen-engine
ZEN_EXPRESSIONS = [
    ("ev", "filter(events, #.age >= 0)"),
    ("fit", "(industry in ['software', 'saas', 'it services'] ? 20 : 0)"
            " + (title != null and matches(title, '(chief|head|director|vp)') ? 15 : 0)"
            " + (employees != null and employees >= 200 ? 10 : 0)"
            " + (country in ['cr', 'pa'] ? 8 : 0)"
            " + (title != null and matches(title, 'student') ? -30 : 0)"
            " + (email != null and endsWith(email, '@gmail.com') ? -10 : 0)"),
    ("opens", "count($.ev, #.kind == 'email_open' and #.age < 7776000000000)"),
    ("clicks", "count($.ev, #.kind == 'email_click')"),
    ("lp", "count($.ev, #.kind == 'page_view' and #.page != null and startsWith(#.page, '/lp/'))"),
    ("downloads", "count($.ev, #.kind == 'form_submit' and #.asset != null)"),
    ("pricing", "count($.ev, #.kind == 'page_view' and #.page == '/pricing')"),
    ("pricing30", "count($.ev, #.kind == 'page_view' and #.page == '/pricing'"
                  " and #.age < 2592000000000)"),
    ("demos", "count($.ev, #.kind == 'demo_request')"),
    ("webinar", "sum(map(filter($.ev, #.kind == 'webinar'), 0.5 ^ (#.age / 86400000000 / 30)))"),
    ("views7", "count($.ev, #.kind == 'page_view' and #.age < 604800000000)"),
    ("careers", "count($.ev, #.kind == 'page_view' and #.page != null"
                " and startsWith(#.page, '/careers'))"),
    ("unsub", "count($.ev, #.kind == 'unsubscribe')"),
    ("last_age", "len($.ev) > 0 ? min(map($.ev, #.age)) : null"),
    ("eng0", "min([150, min([$.opens, 10]) + min([5 * $.clicks, 25]) + min([15 * $.lp, 45])"
             " + ($.downloads > 0 ? min([25 + 5 * ($.downloads - 1), 40]) : 0)"
             " + ($.pricing > 0 ? 30 : 0) + ($.demos > 0 ? 50 : 0) + 20 * $.webinar"
             " + ($.views7 >= 3 ? 10 : 0) + max([-10 * $.careers, -20])"
             " + ($.unsub > 0 ? -50 : 0)])"),
    ("idle", "$.last_age ?? created_age"),
    ("periods", "$.idle == null ? 0 : max([0, floor(floor($.idle / 86400000000) / 30)])"),
    ("engagement", "$.eng0 > 0 ? max([0, $.eng0 - 10 * $.periods]) : $.eng0"),
    ("total", "max([0, min([$.fit + $.engagement, 200])])"),
    ("disqualified_by", "email != null and endsWith(email, '@rival.com') ? 'competitor' : null"),
    ("segment", "employees != null and employees >= 1000 ? 'enterprise'"
                " : (employees != null and employees < 50 ? 'smb' : 'default')"),
    ("t_n", "$.segment == 'enterprise' ? 60 : 40"),
    ("t_m", "$.segment == 'enterprise' ? 140 : 100"),
    ("t_s", "$.segment == 'enterprise' ? 190 : 150"),
    ("tier", "$.disqualified_by != null ? 'disqualified' : ($.total >= $.t_s and $.demos > 0"
             " ? 'sql' : ($.total >= $.t_m and $.pricing30 > 0 ? 'mql'"
             " : ($.total >= $.t_n ? 'nurture' : 'cold')))"),
    ("held_from", "$.disqualified_by != null or ($.total >= $.t_s and $.demos > 0) ? null"
                  " : ($.total >= $.t_s ? 'sql' : ($.total >= $.t_m and $.pricing30 > 0 ? null"
                  " : ($.total >= $.t_m ? 'mql' : null)))"),
    ("grade", "$.fit >= 40 ? 'A' : ($.fit >= 25 ? 'B' : ($.fit >= 10 ? 'C' : 'D'))"),
]


def _zen_graph(expressions: list[tuple[str, str]]) -> str:
    node = {"id": "score", "type": "expressionNode", "name": "score", "position": {"x": 0, "y": 0},
            "content": {"expressions": [{"id": str(i), "key": k, "value": v}
                                        for i, (k, v) in enumerate(expressions)],
                        "passThrough": False}}
    return json.dumps({
        "nodes": [{"id": "in", "type": "inputNode", "name": "in", "position": {"x": 0, "y": 0}},
                  node,
                  {"id": "out", "type": "outputNode", "name": "out", "position": {"x": 0, "y": 0}}],
        "edges": [{"id": "a", "sourceId": "in", "targetId": "score", "type": "edge"},
                  {"id": "b", "sourceId": "score", "targetId": "out", "type": "edge"}]})


def _zen_batches(content: str, docs: list[tuple[str, dict]], prepare=None) -> list[tuple]:
    """Evaluate a graph over many documents with evaluate_batch, the fast entry point
    (ZenDecision.evaluate costs ~0.2-0.5 ms a call here, a batch ~30 µs a document)."""
    import zen

    engine = zen.ZenEngine({"loader": lambda key: content})
    out = []
    for i in range(0, len(docs), 2000):
        chunk = docs[i:i + 2000]
        requests = [{"key": "score", "context": prepare(d) if prepare else d} for _, d in chunk]
        for (key, _), res in zip(chunk, engine.evaluate_batch(requests, {"trace": False})):
            if not res["success"]:
                raise RuntimeError(f"zen-engine failed on lead {key!r}: {res}")
            out.append(_row(key, res["data"]["result"]))
    return out


def zen_engine() -> Callable[[list[tuple[str, dict]]], list[tuple]]:
    import zen  # noqa: F401 - here, not only when scoring: the bench skips a peer on ImportError
    content = _zen_graph(ZEN_EXPRESSIONS)
    return lambda docs: _zen_batches(content, docs)


# the variant the issue quotes: aggregation in hand-written Python, zen for the arithmetic
HAND_AGG_ZEN = [("fit", ZEN_EXPRESSIONS[1][1])] + [
    (k, v) for k, v in ZEN_EXPRESSIONS if k in ("eng0", "idle", "periods", "engagement", "total",
                                                 "disqualified_by", "segment", "t_n", "t_m",
                                                 "t_s", "tier", "held_from", "grade")]


def hand_aggregation(doc: dict) -> dict:
    c = dict.fromkeys(("opens", "clicks", "lp", "downloads", "pricing", "pricing30", "demos",
                       "views7", "careers", "unsub", "webinars"), 0)
    webinar, last = 0.0, None
    for e in doc["events"]:
        age, kind, page = e["age"], e["kind"], e["page"]
        if age < 0:
            continue
        if last is None or age < last:
            last = age
        if kind == "email_open":
            c["opens"] += age < 90 * DAY
        elif kind == "email_click":
            c["clicks"] += 1
        elif kind == "page_view":
            c["views7"] += age < 7 * DAY
            if page is not None:
                if page == "/pricing":
                    c["pricing"] += 1
                    c["pricing30"] += age < 30 * DAY
                elif page.startswith("/lp/"):
                    c["lp"] += 1
                elif page.startswith("/careers"):
                    c["careers"] += 1
        elif kind == "form_submit":
            c["downloads"] += e["asset"] is not None
        elif kind == "webinar":
            webinar += 0.5 ** (age / DAY / 30)
            c["webinars"] += 1
        elif kind == "demo_request":
            c["demos"] += 1
        elif kind == "unsubscribe":
            c["unsub"] += 1
    out = {k: v for k, v in doc.items() if k != "events"}
    out.update(c, webinar=webinar, last_age=last)
    return out


def zen_engine_hand_aggregation() -> Callable[[list[tuple[str, dict]]], list[tuple]]:
    import zen  # noqa: F401 - as in zen_engine
    exprs = [(k, v.replace("$.opens", "opens").replace("$.clicks", "clicks").replace(
        "$.lp", "lp").replace("$.downloads", "downloads").replace("$.pricing30", "pricing30")
        .replace("$.pricing", "pricing").replace("$.demos", "demos").replace("$.webinar", "webinar")
        .replace("$.views7", "views7").replace("$.careers", "careers").replace("$.unsub", "unsub")
        .replace("$.last_age", "last_age")) for k, v in HAND_AGG_ZEN]
    content = _zen_graph(exprs)
    return lambda docs: _zen_batches(content, docs, hand_aggregation)


# ---------------------------------------------------------------- rule-engine
RULE_ENGINE = [
    ("ev", "[e for e in events if e['age'] >= 0]"),
    ("fit", "(industry in ['software', 'saas', 'it services'] ? 20 : 0)"
            " + (title != null and title =~~ '(chief|head|director|vp)' ? 15 : 0)"
            " + (employees != null and employees >= 200 ? 10 : 0)"
            " + (country in ['cr', 'pa'] ? 8 : 0)"
            " + (title != null and title =~~ 'student' ? -30 : 0)"
            " + (email != null and email.ends_with('@gmail.com') ? -10 : 0)"),
    ("opens", "[e for e in ev if e['kind'] == 'email_open' and e['age'] < 7776000000000].length"),
    ("clicks", "[e for e in ev if e['kind'] == 'email_click'].length"),
    ("lp", "[e for e in ev if e['kind'] == 'page_view' and e['page'] != null"
           " and e['page'].starts_with('/lp/')].length"),
    ("downloads", "[e for e in ev if e['kind'] == 'form_submit' and e['asset'] != null].length"),
    ("pricing", "[e for e in ev if e['kind'] == 'page_view' and e['page'] == '/pricing'].length"),
    ("pricing30", "[e for e in ev if e['kind'] == 'page_view' and e['page'] == '/pricing'"
                  " and e['age'] < 2592000000000].length"),
    ("demos", "[e for e in ev if e['kind'] == 'demo_request'].length"),
    ("webinar", "$sum([0.5 ** (e['age'] / 86400000000 / 30) for e in ev"
                " if e['kind'] == 'webinar'])"),
    ("views7", "[e for e in ev if e['kind'] == 'page_view' and e['age'] < 604800000000].length"),
    ("careers", "[e for e in ev if e['kind'] == 'page_view' and e['page'] != null"
                " and e['page'].starts_with('/careers')].length"),
    ("unsub", "[e for e in ev if e['kind'] == 'unsubscribe'].length"),
    ("last_age", "ev.length > 0 ? $min([e['age'] for e in ev]) : null"),
    ("eng0", "$min([150, $min([opens, 10]) + $min([5 * clicks, 25]) + $min([15 * lp, 45])"
             " + (downloads > 0 ? $min([25 + 5 * (downloads - 1), 40]) : 0)"
             " + (pricing > 0 ? 30 : 0) + (demos > 0 ? 50 : 0) + 20 * webinar"
             " + (views7 >= 3 ? 10 : 0) + $max([-10 * careers, -20])"
             " + (unsub > 0 ? -50 : 0)])"),
    ("idle", "last_age != null ? last_age : created_age"),
    ("periods", "idle == null ? 0 : $max([0, (idle // 86400000000) // 30])"),
    ("engagement", "eng0 > 0 ? $max([0, eng0 - 10 * periods]) : eng0"),
    ("total", "$max([0, $min([fit + engagement, 200])])"),
    ("disqualified_by", "email != null and email.ends_with('@rival.com') ? 'competitor' : null"),
    ("segment", "employees != null and employees >= 1000 ? 'enterprise'"
                " : (employees != null and employees < 50 ? 'smb' : 'default')"),
    ("t_n", "segment == 'enterprise' ? 60 : 40"),
    ("t_m", "segment == 'enterprise' ? 140 : 100"),
    ("t_s", "segment == 'enterprise' ? 190 : 150"),
    ("tier", "disqualified_by != null ? 'disqualified' : (total >= t_s and demos > 0 ? 'sql'"
             " : (total >= t_m and pricing30 > 0 ? 'mql' : (total >= t_n ? 'nurture' : 'cold')))"),
    ("held_from", "disqualified_by != null or (total >= t_s and demos > 0) ? null"
                  " : (total >= t_s ? 'sql' : (total >= t_m and pricing30 > 0 ? null"
                  " : (total >= t_m ? 'mql' : null)))"),
    ("grade", "fit >= 40 ? 'A' : (fit >= 25 ? 'B' : (fit >= 10 ? 'C' : 'D'))"),
]


def rule_engine() -> Callable[[list[tuple[str, dict]]], list[tuple]]:
    import rule_engine as re_

    ctx = re_.Context(default_value=None)
    rules = [(k, re_.Rule(v, context=ctx)) for k, v in RULE_ENGINE]

    def score(docs):
        out = []
        for key, doc in docs:
            thing = dict(doc)
            for k, rule in rules:
                thing[k] = rule.evaluate(thing)
            out.append(_row(key, thing))
        return out

    return score


# ---------------------------------------------------------------- json-logic (datalogic-py)
def _count(*conds: dict) -> dict:
    return {"reduce": [{"filter": [{"var": "ev"}, {"and": list(conds)} if len(conds) > 1
                                   else conds[0]]},
                       {"+": [{"var": "accumulator"}, 1]}, 0]}


def _kind(k: str) -> dict:
    return {"==": [{"var": "kind"}, k]}


def _page(op: str, text: str) -> dict:
    return {"and": [{"!=": [{"var": "page"}, None]}, {op: [{"var": "page"}, text]}]}


def _age_below(us: int) -> dict:
    return {"<": [{"var": "age"}, us]}


def _v(name: str) -> dict:
    return {"var": name}


def _ifpos(name: str, then: Any) -> dict:
    return {"if": [{">": [_v(name), 0]}, then, 0]}


def _contains_any(value: str, words: list[str]) -> dict:
    # `title matches "(chief|head|director|vp)"`: an unanchored search for any of the words
    return {"and": [{"!=": [_v(value), None]}, {"or": [{"in": [w, _v(value)]} for w in words]}]}


JSON_LOGIC = [
    ("ev", {"filter": [_v("events"), {">=": [_v("age"), 0]}]}),
    ("fit", {"+": [
        {"if": [{"in": [_v("industry"), ["software", "saas", "it services"]]}, 20, 0]},
        {"if": [_contains_any("title", ["chief", "head", "director", "vp"]), 15, 0]},
        {"if": [{"and": [{"!=": [_v("employees"), None]}, {">=": [_v("employees"), 200]}]}, 10, 0]},
        {"if": [{"in": [_v("country"), ["cr", "pa"]]}, 8, 0]},
        {"if": [_contains_any("title", ["student"]), -30, 0]},
        {"if": [{"and": [{"!=": [_v("email"), None]}, {"ends_with": [_v("email"), "@gmail.com"]}]},
                -10, 0]}]}),
    ("opens", _count(_kind("email_open"), _age_below(90 * DAY))),
    ("clicks", _count(_kind("email_click"))),
    ("lp", _count(_kind("page_view"), _page("starts_with", "/lp/"))),
    ("downloads", _count(_kind("form_submit"), {"!=": [_v("asset"), None]})),
    ("pricing", _count(_kind("page_view"), {"==": [_v("page"), "/pricing"]})),
    ("pricing30", _count(_kind("page_view"), {"==": [_v("page"), "/pricing"]},
                         _age_below(30 * DAY))),
    ("demos", _count(_kind("demo_request"))),
    ("webinar", {"reduce": [{"map": [{"filter": [_v("ev"), _kind("webinar")]},
                                     {"half_life": [_v("age"), 30]}]},
                            {"+": [_v("accumulator"), _v("current")]}, 0]}),
    ("views7", _count(_kind("page_view"), _age_below(7 * DAY))),
    ("careers", _count(_kind("page_view"), _page("starts_with", "/careers"))),
    ("unsub", _count(_kind("unsubscribe"))),
    ("last_age", {"if": [{">": [{"length": _v("ev")}, 0]},
                         {"min": {"map": [_v("ev"), _v("age")]}}, None]}),
    ("eng0", {"min": [150, {"+": [
        {"min": [_v("opens"), 10]}, {"min": [{"*": [5, _v("clicks")]}, 25]},
        {"min": [{"*": [15, _v("lp")]}, 45]},
        _ifpos("downloads", {"min": [{"+": [25, {"*": [5, {"-": [_v("downloads"), 1]}]}]}, 40]}),
        _ifpos("pricing", 30), _ifpos("demos", 50), {"*": [20, _v("webinar")]},
        {"if": [{">=": [_v("views7"), 3]}, 10, 0]},
        {"max": [{"*": [-10, _v("careers")]}, -20]}, _ifpos("unsub", -50)]}]}),
    ("idle", {"??": [_v("last_age"), _v("created_age")]}),
    ("periods", {"if": [{"==": [_v("idle"), None]}, 0,
                        {"max": [0, {"floor": {"/": [{"floor": {"/": [_v("idle"), DAY]}}, 30]}}]}]}),
    ("engagement", {"if": [{">": [_v("eng0"), 0]},
                           {"max": [0, {"-": [_v("eng0"), {"*": [10, _v("periods")]}]}]},
                           _v("eng0")]}),
    ("total", {"max": [0, {"min": [{"+": [_v("fit"), _v("engagement")]}, 200]}]}),
    ("disqualified_by", {"if": [{"and": [{"!=": [_v("email"), None]},
                                         {"ends_with": [_v("email"), "@rival.com"]}]},
                                "competitor", None]}),
    ("segment", {"if": [{"and": [{"!=": [_v("employees"), None]}, {">=": [_v("employees"), 1000]}]},
                        "enterprise",
                        {"and": [{"!=": [_v("employees"), None]}, {"<": [_v("employees"), 50]}]},
                        "smb", "default"]}),
    ("t_n", {"if": [{"==": [_v("segment"), "enterprise"]}, 60, 40]}),
    ("t_m", {"if": [{"==": [_v("segment"), "enterprise"]}, 140, 100]}),
    ("t_s", {"if": [{"==": [_v("segment"), "enterprise"]}, 190, 150]}),
    ("tier", {"if": [{"!=": [_v("disqualified_by"), None]}, "disqualified",
                     {"and": [{">=": [_v("total"), _v("t_s")]}, {">": [_v("demos"), 0]}]}, "sql",
                     {"and": [{">=": [_v("total"), _v("t_m")]}, {">": [_v("pricing30"), 0]}]}, "mql",
                     {">=": [_v("total"), _v("t_n")]}, "nurture", "cold"]}),
    ("held_from", {"if": [{"or": [{"!=": [_v("disqualified_by"), None]},
                                  {"and": [{">=": [_v("total"), _v("t_s")]},
                                           {">": [_v("demos"), 0]}]}]}, None,
                          {">=": [_v("total"), _v("t_s")]}, "sql",
                          {"and": [{">=": [_v("total"), _v("t_m")]},
                                   {">": [_v("pricing30"), 0]}]}, None,
                          {">=": [_v("total"), _v("t_m")]}, "mql", None]}),
    ("grade", {"if": [{">=": [_v("fit"), 40]}, "A", {">=": [_v("fit"), 25]}, "B",
                      {">=": [_v("fit"), 10]}, "C", "D"]}),
]


def _half_life(args: str) -> str:
    age, days = json.loads(args)
    return json.dumps(0.5 ** (age / DAY / days))


def json_logic() -> Callable[[list[tuple[str, dict]]], list[tuple]]:
    import datalogic_py as dl

    engine = dl.Engine(custom_operators={"half_life": _half_life})
    rules = [(k, engine.compile(v)) for k, v in JSON_LOGIC]

    def score(docs):
        out = []
        for key, doc in docs:
            data = dict(doc)
            for k, rule in rules:
                data[k] = rule.evaluate(data)
            out.append(_row(key, data))
        return out

    return score


# ---------------------------------------------------------------- business-rules
def business_rules() -> Callable[[list[tuple[str, dict]]], list[tuple]]:
    from business_rules import run_all
    from business_rules.actions import BaseActions, rule_action
    from business_rules.fields import FIELD_NUMERIC, FIELD_TEXT
    from business_rules.variables import (
        BaseVariables,
        boolean_rule_variable,
        numeric_rule_variable,
        string_rule_variable,
    )

    class Lead(BaseVariables):
        def __init__(self, doc: dict):
            self.doc = doc
            self.agg = hand_aggregation(doc)  # business-rules variables are Python by design

        @string_rule_variable
        def industry(self):
            return self.doc["industry"] or ""

        @string_rule_variable
        def title(self):
            return self.doc["title"] or ""

        @string_rule_variable
        def email(self):
            return self.doc["email"] or ""

        @string_rule_variable
        def country(self):
            return self.doc["country"] or ""

        @boolean_rule_variable
        def has_employees(self):
            return self.doc["employees"] is not None

        @numeric_rule_variable
        def employees(self):
            return self.doc["employees"] or 0

        @boolean_rule_variable
        def enterprise(self):
            return self.state["segment"] == "enterprise"

        @numeric_rule_variable
        def total(self):
            return self.state["total"]

        @numeric_rule_variable
        def fit(self):
            return self.state["fit"]

    for name in ("opens", "clicks", "lp", "downloads", "pricing", "pricing30", "demos", "views7",
                 "careers", "unsub", "webinars"):
        setattr(Lead, name, numeric_rule_variable(lambda self, n=name: self.agg[n]))

    class Score(BaseActions):
        def __init__(self, state: dict):
            self.state = state

        @rule_action(params={"score": FIELD_TEXT, "points": FIELD_NUMERIC})
        def add(self, score, points):
            self.state[score] += float(points)

        @rule_action(params={"score": FIELD_TEXT, "per": FIELD_NUMERIC, "count": FIELD_TEXT,
                             "cap": FIELD_NUMERIC})
        def add_per(self, score, per, count, cap):
            value = float(per) * self.state["agg"][count]
            self.state[score] += min(value, float(cap)) if cap >= 0 else max(value, float(cap))

        @rule_action(params={"score": FIELD_TEXT, "first": FIELD_NUMERIC, "repeat": FIELD_NUMERIC,
                             "count": FIELD_TEXT, "cap": FIELD_NUMERIC})
        def add_first_repeat(self, score, first, repeat, count, cap):
            n = self.state["agg"][count]
            self.state[score] += min(float(first) + float(repeat) * (n - 1), float(cap))

        @rule_action(params={"score": FIELD_TEXT, "points": FIELD_NUMERIC, "weight": FIELD_TEXT})
        def add_weight(self, score, points, weight):
            self.state[score] += float(points) * self.state["agg"][weight]

        @rule_action(params={"name": FIELD_TEXT, "value": FIELD_TEXT})
        def set(self, name, value):
            self.state[name] = value

        @rule_action(params={"tier": FIELD_TEXT, "held": FIELD_TEXT})
        def tier(self, tier, held):
            if self.state["tier"] is None:
                self.state["tier"] = tier
                self.state["held_from"] = held or None

    def cond(name: str, op: str, value: Any) -> dict:
        return {"name": name, "operator": op, "value": value}

    fit_rules = [
        {"conditions": {"any": [cond("industry", "equal_to", v) for v in
                                ("software", "saas", "it services")]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": 20}}]},
        {"conditions": {"all": [cond("title", "matches_regex", ".*(chief|head|director|vp)")]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": 15}}]},
        {"conditions": {"all": [cond("has_employees", "is_true", True),
                                cond("employees", "greater_than_or_equal_to", 200)]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": 10}}]},
        {"conditions": {"any": [cond("country", "equal_to", "cr"), cond("country", "equal_to", "pa")]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": 8}}]},
        {"conditions": {"all": [cond("title", "contains", "student")]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": -30}}]},
        {"conditions": {"all": [cond("email", "ends_with", "@gmail.com")]},
         "actions": [{"name": "add", "params": {"score": "fit", "points": -10}}]},
    ]

    def per(count, points, cap):
        return {"conditions": {"all": [cond(count, "greater_than", 0)]},
                "actions": [{"name": "add_per", "params": {"score": "eng", "per": points,
                                                            "count": count, "cap": cap}}]}

    def once(count, points):
        return {"conditions": {"all": [cond(count, "greater_than", 0)]},
                "actions": [{"name": "add", "params": {"score": "eng", "points": points}}]}

    engagement_rules = [
        per("opens", 1, 10), per("clicks", 5, 25), per("lp", 15, 45),
        {"conditions": {"all": [cond("downloads", "greater_than", 0)]},
         "actions": [{"name": "add_first_repeat", "params": {
             "score": "eng", "first": 25, "repeat": 5, "count": "downloads", "cap": 40}}]},
        once("pricing", 30), once("demos", 50),
        {"conditions": {"all": [cond("webinars", "greater_than", 0)]},
         "actions": [{"name": "add_weight", "params": {"score": "eng", "points": 20,
                                                        "weight": "webinar"}}]},
        {"conditions": {"all": [cond("views7", "greater_than_or_equal_to", 3)]},
         "actions": [{"name": "add", "params": {"score": "eng", "points": 10}}]},
        per("careers", -10, -20), once("unsub", -50),
    ]
    segment_rules = [
        {"conditions": {"all": [cond("has_employees", "is_true", True),
                                cond("employees", "greater_than_or_equal_to", 1000)]},
         "actions": [{"name": "set", "params": {"name": "segment", "value": "enterprise"}}]},
        {"conditions": {"all": [cond("has_employees", "is_true", True),
                                cond("employees", "less_than", 50)]},
         "actions": [{"name": "set", "params": {"name": "segment", "value": "smb"}}]},
    ]
    tier_rules = []
    for seg, (tn, tm, ts) in (("enterprise", (60, 140, 190)), ("other", (40, 100, 150))):
        seg_cond = cond("enterprise", "is_true" if seg == "enterprise" else "is_false", True)
        tier_rules += [
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", ts),
                                    cond("demos", "greater_than", 0)]},
             "actions": [{"name": "tier", "params": {"tier": "sql", "held": ""}}]},
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", ts),
                                    cond("pricing30", "greater_than", 0)]},
             "actions": [{"name": "tier", "params": {"tier": "mql", "held": "sql"}}]},
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", tm),
                                    cond("pricing30", "greater_than", 0)]},
             "actions": [{"name": "tier", "params": {"tier": "mql", "held": ""}}]},
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", ts)]},
             "actions": [{"name": "tier", "params": {"tier": "nurture", "held": "sql"}}]},
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", tm)]},
             "actions": [{"name": "tier", "params": {"tier": "nurture", "held": "mql"}}]},
            {"conditions": {"all": [seg_cond, cond("total", "greater_than_or_equal_to", tn)]},
             "actions": [{"name": "tier", "params": {"tier": "nurture", "held": ""}}]},
        ]
    grade_rules = [
        {"conditions": {"all": [cond("fit", "greater_than_or_equal_to", t)]},
         "actions": [{"name": "set", "params": {"name": "grade", "value": g}}]}
        for g, t in (("C", 10), ("B", 25), ("A", 40))]

    def score(docs):
        out = []
        for key, doc in docs:
            variables = Lead(doc)
            a = variables.agg
            state = {"fit": 0.0, "eng": 0.0, "agg": a, "segment": "default", "tier": None,
                     "held_from": None, "grade": "D"}
            variables.state = state
            actions = Score(state)
            run_all(fit_rules, variables, actions)
            run_all(engagement_rules, variables, actions)
            eng = min(state["eng"], 150.0)
            idle = a["last_age"] if a["last_age"] is not None else doc["created_age"]
            if eng > 0 and idle is not None:
                eng = max(0.0, eng - 10.0 * max(0, math.floor((idle // DAY) / 30)))
            state["total"] = max(0.0, min(state["fit"] + eng, 200.0))
            run_all(segment_rules, variables, actions)
            disq = "competitor" if (doc["email"] or "").endswith("@rival.com") else None
            if disq:
                state["tier"] = "disqualified"
            else:
                run_all(tier_rules, variables, actions, stop_on_first_trigger=True)
            run_all(grade_rules, variables, actions)
            out.append((key, state["fit"], float(eng), state["total"], state["segment"],
                        state["tier"] or "cold", state["held_from"], disq, state["grade"]))
        return out

    return score


PEERS: dict[str, tuple[str, Callable[[], Callable]]] = {
    "zen-engine": ("zen-engine", zen_engine),
    "zen-engine, hand-written aggregation": ("zen-engine", zen_engine_hand_aggregation),
    "rule-engine": ("rule-engine", rule_engine),
    "json-logic": ("datalogic-py", json_logic),
    "business-rules": ("business-rules", business_rules),
}


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
