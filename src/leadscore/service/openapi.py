"""The OpenAPI 3.1 document of a model's service (served at /openapi.json): the lead and
event records are the model's schema, typed as the loaders accept values."""

from __future__ import annotations

from ..compiler import ir
from .core import MAX_CHANGES_PAGE, MAX_CURSOR

# what runtime/data.py `convert` accepts per schema type (numbers also as their text)
_VALUE = {
    "text": {"type": ["string", "number", "boolean", "null"]},
    "int": {"type": ["integer", "string", "null"]},
    "float": {"type": ["number", "string", "null"]},
    "bool": {"type": ["boolean", "string", "null"]},
    "timestamp": {"type": ["string", "null"], "format": "date-time"},
}
_KEY = {"type": ["string", "integer"]}


def _record(key: str, fields: dict[str, str], required: list[str],
            extra: dict[str, dict] | None = None) -> dict:
    props = {key: _KEY, **(extra or {}), **{n: _VALUE[t] for n, t in fields.items()}}
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": True}


def document(model: ir.Model) -> dict:
    s = model.schema
    lead = _record(s.lead_key, s.lead_fields, [s.lead_key])
    event = _record(s.event_lead, s.event_fields, [s.event_lead, s.event_time, s.event_type],
                    {s.event_time: {"type": "string", "format": "date-time"},
                     s.event_type: {"type": "string"}})
    row = {"type": "object", "description": f"the model's output columns: {s.lead_key}, "
           + ", ".join(c for c, _ in model.outputs), "additionalProperties": True}
    error = {"type": "object", "required": ["error", "records"], "properties": {
        "error": {"type": "string"},
        "records": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": ["integer", "null"]}, "field": {"type": ["string", "null"]},
            "reason": {"type": "string"}}}}}}
    result = {"type": "object", "required": ["as_of", "leads"], "properties": {
        "as_of": {"type": "string"},
        "leads": {"type": "array", "items": {"type": "object", "required": ["key", "row", "tier_changed"],
                  "properties": {"key": {"type": "string"},
                                 "row": {"oneOf": [{"$ref": "#/components/schemas/Row"},
                                                   {"type": "null"}]},
                                 "tier_changed": {"type": "boolean"}}}}}}
    change = {"type": "object",
              "required": ["seq", "lead", "from_tier", "to_tier", "at", "at_us", "row"],
              "properties": {"seq": {"type": "integer"}, "lead": {"type": "string"},
                             "from_tier": {"type": ["string", "null"]},
                             "to_tier": {"type": ["string", "null"]},
                             "at": {"type": "string", "description": "ISO 8601, UTC"},
                             "at_us": {"type": "integer", "description": "µs since the epoch"},
                             "row": {"$ref": "#/components/schemas/Row"}}}

    def ref(name: str) -> dict:
        return {"$ref": f"#/components/schemas/{name}"}

    def answer(schema: dict, description: str) -> dict:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    errors = {str(code): answer(ref("Error"), why) for code, why in (
        (400, "the body is not JSON, or a bad header"), (413, "the body or batch is too large"),
        (422, "records or parameters that cannot be read; nothing was applied"))}
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "a resent request with the same key is answered as the first was, "
                           "and applies nothing again"}
    as_of = {"name": "as_of", "in": "query", "required": False,
             "schema": {"type": "string", "format": "date-time"},
             "description": "the instant to score at (default: now, or the lead's newest "
                            "event if later)"}
    key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}

    def upsert(what: str, schema: str) -> dict:
        return {"post": {
            "summary": f"{what}: apply a list, all or nothing; answered once durable",
            "parameters": [idem],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "array", "items": ref(schema)}}}},
            "responses": {"200": answer(ref("Result"), "each affected lead's row and whether "
                                        "its tier changed"), **errors}}}

    def read(summary: str, schema: dict) -> dict:
        return {"get": {"summary": summary, "parameters": [key, as_of], "responses": {
            "200": answer(schema, summary), "404": answer(ref("Error"), "no lead with this key"),
            "422": errors["422"]}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": f"leadscore serve: {model.name}", "version": str(model.version or 0)},
        "paths": {
            "/leads": upsert("Upsert leads", "Lead"),
            "/events": upsert("Add events", "Event"),
            "/leads/{key}": read("The lead's row", ref("Row")),
            "/leads/{key}/explain": read("Why the lead has its score", {"type": "object"}),
            "/changes": {"get": {"summary": "Tier changes after a cursor, in order", "parameters": [
                {"name": "since", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": MAX_CURSOR}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_CHANGES_PAGE}}],
                "responses": {"200": answer({"type": "object", "required": ["changes", "next"],
                                             "properties": {"changes": {"type": "array",
                                                                        "items": ref("Change")},
                                                            "next": {"type": "integer"}}},
                                            "the changes and the cursor to pass next"),
                              "422": errors["422"]}}},
            "/healthz": {"get": {"summary": "Liveness (the store answers)", "responses": {
                "200": answer({"type": "object"}, "ok")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
                "200": {"description": "the text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        },
        "components": {"schemas": {"Lead": lead, "Event": event, "Row": row, "Error": error,
                                   "Result": result, "Change": change}},
    }
