"""Agencies and subscriptions over HTTP, on both backends: keys shown once and stored hashed, each agency
sees only its own subscriptions, webhook URLs checked, the AsyncAPI document served."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import yaml
from litestar.testing import AsyncTestClient

from services.notification.agencies import public
from tests.factories import STAFF
from tests.integration.agencies.helpers import MovingClock, notification_app, register, subscribe
from tests.unit.agencies.factories import NOW

DOCS = Path(__file__).resolve().parents[3] / "docs"


def code() -> str:
    return f"agency-{uuid.uuid4().hex[:8]}"


async def test_agencies_are_registered_by_staff_and_their_key_is_stored_hashed(backend) -> None:
    store, bus = backend.store("notification"), backend.bus()
    a = code()
    async with AsyncTestClient(notification_app(backend, store, bus, clock=MovingClock(NOW))) as client:
        body = {"code": a, "name": "부산경찰청"}
        assert (await client.post("/api/v1/subscriptions/agencies", json=body)).status_code == 401
        wrong = {"Authorization": "Bearer not-the-staff-token"}
        assert (await client.post("/api/v1/subscriptions/agencies", json=body, headers=wrong)).status_code == 401
        created = await client.post("/api/v1/subscriptions/agencies", json=body, headers=STAFF)
        assert created.status_code == 201
        key = created.json()["api_key"]
        again = await client.post("/api/v1/subscriptions/agencies", json=body, headers=STAFF)
        assert again.status_code == 409
        bad = await client.post(
            "/api/v1/subscriptions/agencies", json={"code": "Bad Code!", "name": "x"}, headers=STAFF
        )
        assert bad.status_code == 422
        listed = (await client.get("/api/v1/subscriptions/agencies", headers=STAFF)).json()["items"]
        assert a in {x["code"] for x in listed} and key not in json.dumps(listed)
        doc = await backend.store("notification").collection("agencies").get(a)
        assert doc is not None and key not in json.dumps(doc) and len(doc["key_hash"]) == 64

        agency = {"Authorization": f"Bearer {key}"}
        assert (await client.get("/api/v1/subscriptions", headers=agency)).status_code == 200
        assert (await client.get("/api/v1/subscriptions", headers={"X-Api-Key": key})).status_code == 200
        assert (await client.get("/api/v1/subscriptions", headers=STAFF)).status_code == 401
        assert (await client.get("/api/v1/subscriptions")).status_code == 401
        tampered = {"Authorization": f"Bearer {key[:-2]}xx"}
        assert (await client.get("/api/v1/subscriptions", headers=tampered)).status_code == 401

        rotated = await client.post(f"/api/v1/subscriptions/agencies/{a}/key", headers=STAFF)
        assert rotated.status_code == 200 and rotated.json()["api_key"] != key
        assert (await client.get("/api/v1/subscriptions", headers=agency)).status_code == 401
        fresh = {"Authorization": f"Bearer {rotated.json()['api_key']}"}
        assert (await client.get("/api/v1/subscriptions", headers=fresh)).status_code == 200
        assert (await client.post("/api/v1/subscriptions/agencies/nobody/key", headers=STAFF)).status_code == 404


async def test_one_agency_cannot_see_or_change_anothers_subscription(backend) -> None:
    store, bus = backend.store("notification"), backend.bus()
    async with AsyncTestClient(notification_app(backend, store, bus, clock=MovingClock(NOW))) as client:
        first, second = await register(client, code(), STAFF), await register(client, code(), STAFF)
        hook = await subscribe(
            client,
            first,
            mode="webhook",
            url="http://127.0.0.1:9/hook",
            filter={"districts": ["해운대구"], "types": ["received", "closed"]},
        )
        assert hook["secret"].startswith("whsec_") and hook["status"] == "active"
        assert hook["filter"]["districts"] == ["해운대구"] and "secret_sealed" not in hook
        sid = hook["id"]
        shown = (await client.get(f"/api/v1/subscriptions/{sid}", headers=first)).json()
        assert "secret" not in shown and "secret_sealed" not in shown and shown["url"] == "http://127.0.0.1:9/hook"
        doc = await backend.store("notification").collection("subscriptions").get(sid)
        assert hook["secret"] not in json.dumps(doc)  # sealed at rest

        for method, path in (
            ("GET", f"/api/v1/subscriptions/{sid}"),
            ("DELETE", f"/api/v1/subscriptions/{sid}"),
            ("GET", f"/api/v1/subscriptions/{sid}/deliveries"),
            ("POST", f"/api/v1/subscriptions/{sid}/replay?from=2026-11-18T00:00:00%2B00:00"),
        ):
            response = await client.request(method, path, headers=second)
            assert response.status_code == 404, (method, path, response.text)
            assert (await client.request(method, path)).status_code == 401
        assert (await client.get("/api/v1/subscriptions", headers=second)).json()["items"] == []
        assert [s["id"] for s in (await client.get("/api/v1/subscriptions", headers=first)).json()["items"]] == [sid]

        kafka = await subscribe(client, second, mode="kafka", filter={"kinds": ["petition"]})
        assert kafka["kafka"]["topic"] == "minwon.public.complaints.v1" and "secret" not in kafka
        assert kafka["kafka"]["principal"].startswith("User:agency-") and kafka["kafka"][
            "consumer_group_prefix"
        ].endswith(".")
        replay = await client.post(
            f"/api/v1/subscriptions/{kafka['id']}/replay?from=2026-11-18T00:00:00%2B00:00", headers=second
        )
        assert replay.status_code == 422

        for body, field in (
            ({"mode": "webhook", "url": "http://hooks.example.kr/x"}, "url"),
            ({"mode": "webhook", "url": "https://10.0.0.1/x"}, "url"),
            ({"mode": "webhook"}, "url"),
            ({"mode": "kafka", "url": "https://hooks.example.kr/x"}, "url"),
            ({"mode": "webhook", "url": "https://a.example.kr", "filter": {"kinds": ["gossip"]}}, None),
            ({"mode": "carrier-pigeon"}, None),
        ):
            response = await client.post("/api/v1/subscriptions", json=body, headers=first)
            assert response.status_code in (400, 422), body
            if field:
                assert response.json()["fields"][0]["field"] == field
        future = await client.post(
            f"/api/v1/subscriptions/{sid}/replay?from=2030-01-01T00:00:00%2B00:00", headers=first
        )
        assert future.status_code == 422 and future.json()["fields"][0]["field"] == "from"

        deleted = await client.delete(f"/api/v1/subscriptions/{sid}", headers=first)
        assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
        assert (await client.get(f"/api/v1/subscriptions/{sid}", headers=first)).status_code == 404


async def test_the_asyncapi_document_is_served_and_matches_the_committed_one(backend) -> None:
    store, bus = backend.store("notification"), backend.bus()
    async with AsyncTestClient(notification_app(backend, store, bus, clock=MovingClock(NOW))) as client:
        served = await client.get("/asyncapi")
        assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
        as_yaml = await client.get("/asyncapi.yaml")
        assert as_yaml.status_code == 200 and "yaml" in as_yaml.headers["content-type"]
    committed = yaml.safe_load((DOCS / "asyncapi.yaml").read_text("utf-8"))
    assert served.json() == committed == yaml.safe_load(as_yaml.text) == public.asyncapi_json()
    assert set(served.json()["channels"]) == set(public.EVENTS)
