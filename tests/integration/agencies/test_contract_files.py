"""The committed contract (docs/asyncapi.yaml, docs/schemas/*.json) is what the code generates, and v1 only grows."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from minwon import contracts as c
from minwon import topics
from services.notification.agencies import public

DOCS = Path(__file__).resolve().parents[3] / "docs"
REGENERATE = "regenerate with: PYTHONPATH=libs:. .venv/bin/python -m services.notification.agencies.public docs"

# v1 as first published (1.0.0): these fields stay, and none becomes required (docs/public-events.md)
V1_COMMON = {
    "complaint_id",
    "kind",
    "category",
    "district",
    "channel",
    "department",
    "received_at",
    "due_at",
    "occurred_at",
}
V1_FIELDS = {
    c.PUBLIC_COMPLAINT_RECEIVED: V1_COMMON,
    c.PUBLIC_COMPLAINT_ROUTED: V1_COMMON,
    c.PUBLIC_COMPLAINT_ASSIGNED: V1_COMMON | {"reassigned"},
    c.PUBLIC_COMPLAINT_EXTENDED: V1_COMMON | {"extension_no", "period"},
    c.PUBLIC_COMPLAINT_CLOSED: V1_COMMON | {"outcome", "on_time"},
    c.PUBLIC_COMPLAINT_BREACHED: V1_COMMON | {"breached_at", "had_extension", "had_supplementation"},
}
V1_REQUIRED = {
    c.PUBLIC_COMPLAINT_RECEIVED: {"complaint_id", "kind", "occurred_at"},
    c.PUBLIC_COMPLAINT_ROUTED: {"complaint_id", "kind", "occurred_at", "department"},
    c.PUBLIC_COMPLAINT_ASSIGNED: {"complaint_id", "kind", "occurred_at", "department"},
    c.PUBLIC_COMPLAINT_EXTENDED: {"complaint_id", "kind", "occurred_at", "extension_no"},
    c.PUBLIC_COMPLAINT_CLOSED: {"complaint_id", "kind", "occurred_at", "outcome"},
    c.PUBLIC_COMPLAINT_BREACHED: {
        "complaint_id",
        "kind",
        "occurred_at",
        "due_at",
        "breached_at",
        "had_extension",
        "had_supplementation",
    },
}


def test_the_committed_asyncapi_document_is_the_generated_one() -> None:
    committed = yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8"))
    assert committed == public.asyncapi_json(), REGENERATE
    assert (DOCS / "asyncapi.yaml").read_text("utf-8") == public.asyncapi_yaml(), REGENERATE
    assert committed["asyncapi"].startswith("3.") and committed["info"]["version"].startswith("1.")
    addresses = {ch["address"] for ch in committed["channels"].values()}
    assert addresses == {topics.PUBLIC} and set(committed["channels"]) == set(public.EVENTS)


def test_the_committed_json_schemas_are_the_generated_ones() -> None:
    generated = public.json_schemas()
    on_disk = {p.name: json.loads(p.read_text("utf-8")) for p in (DOCS / "schemas").glob("*.json")}
    assert on_disk == generated, REGENERATE
    for schema in on_disk.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_v1_only_grows() -> None:
    assert set(public.EVENTS) >= set(V1_FIELDS)
    for type, fields in V1_FIELDS.items():
        model = public.DATA[type]
        assert set(model.model_fields) >= fields, f"{type} lost a v1 field: publish the change as v2"
        required = {name for name, f in model.model_fields.items() if f.is_required()}
        assert required <= V1_REQUIRED[type], f"{type} made a field required: publish the change as v2"
        assert model.model_config.get("extra") == "forbid"
