"""Intake against real stores and buses (embedded SQLite; Kafka + MongoDB-wire)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import AsyncExitStack

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from tests import samples, spies
from tests.factories import STAFF, complaint_payload


def _app(backend, store, bus):
    """Intake whose departments close without the team lead's approval (answers: test_answers.py)."""
    settings = backend.settings()
    service = bootstrap(settings, store=store, bus=bus, intake_settings=IntakeSettings(answer_approval_default=False))
    return create_app([service], Infrastructure(bus=bus, stores={"intake": store}))


async def _clock_set(backend, receipt_no: str, *, period: str) -> None:
    """What the deadline service publishes when it opens the clock (on a bus of the test's own)."""
    from datetime import UTC, datetime, timedelta

    from minwon.events import Event

    now = datetime.now(UTC)
    bus = backend.bus()
    try:
        await bus.publish(
            topics.DEADLINES,
            Event.new(
                c.DEADLINE_SET,
                source="/test/deadline",
                subject=receipt_no,
                time=now,
                data=samples.shaped(
                    c.DEADLINE_SET,
                    receipt_no=receipt_no,
                    period=period,
                    due_at=(now + timedelta(days=9)).isoformat(),
                    occurred_at=now.isoformat(),
                ),
            ),
        )
    finally:
        await bus.stop()
        if hasattr(bus, "close"):
            bus.close()


async def _until_period(client, receipt_no: str) -> None:
    for _ in range(150):
        view = (await client.get(f"/api/v1/complaints/{receipt_no}", headers=STAFF)).json()
        if view.get("due_at"):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("intake never saw the clock")


async def _events(bus, receipt_no: str, topic_names=(topics.COMPLAINTS, topics.PRIVATE), *, at_least: int = 1):
    """The complaint's events on ``topic_names``, waiting until ``at_least`` are there."""
    for _ in range(100):
        found = [(t, e) async for t, e in bus.read(list(topic_names)) if e.subject == receipt_no]
        if len({e.id for _, e in found}) >= at_least:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_filing_stores_encrypted_and_publishes_no_personal_data(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    payload = complaint_payload()
    async with AsyncTestClient(_app(backend, store, bus)) as client:
        client.headers.update(STAFF)
        r = await client.post("/api/v1/complaints", json=payload)
        assert r.status_code == 201, r.text
        receipt = r.json()["receipt_no"]
        events = await _events(bus, receipt, at_least=2)
        reader = backend.store("intake")  # a client of this test's own event loop
        raw = json.dumps(await reader.collection("complaints").get(receipt), ensure_ascii=False)

    for secret in (payload["name"], payload["phone"], payload["email"], payload["title"], payload["body"]):
        assert secret not in raw
    if not backend.distributed:
        data = (backend.tmp / "var" / "intake.db").read_bytes()
        assert payload["name"].encode() not in data and payload["phone"].encode() not in data

    types = sorted(e.type for _, e in events)
    assert types == sorted([c.COMPLAINT_RECEIVED, c.COMPLAINT_SEALED])
    for topic, event in events:
        text = event.model_dump_json()
        for secret in (
            payload["name"],
            payload["phone"],
            payload["email"],
            payload["title"],
            payload["body"],
            payload["address"],
        ):
            assert secret not in text, (topic, event.type)
        if topic == topics.PRIVATE:
            assert event.data["sealed"].startswith("c1:")
    await bus.stop()


async def test_idempotent_retries_across_two_intake_instances(backend) -> None:
    bus_a, bus_b = backend.bus(), backend.bus()
    store_a, store_b = backend.store("intake"), backend.store("intake")
    payload = complaint_payload()
    key = str(uuid.uuid4())
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(AsyncTestClient(_app(backend, store_a, bus_a)))
        b = await stack.enter_async_context(AsyncTestClient(_app(backend, store_b, bus_b)))
        responses = await asyncio.gather(
            *(
                (a if i % 2 else b).post("/api/v1/complaints", json=payload, headers={"Idempotency-Key": key})
                for i in range(6)
            )
        )
        assert {r.status_code for r in responses} <= {200, 201}
        assert [r.status_code for r in responses].count(201) == 1
        assert len({r.json()["receipt_no"] for r in responses}) == 1
        other = await a.post(
            "/api/v1/complaints", json={**payload, "title": "다른 민원"}, headers={"Idempotency-Key": key}
        )
        assert other.status_code == 422 and other.json()["fields"][0]["field"] == "Idempotency-Key"
        listed = await a.get("/api/v1/complaints?limit=200", headers=STAFF)
        mine = [x for x in listed.json()["items"] if x["complainant_ref"] == responses[0].json().get("complainant_ref")]
        assert listed.status_code == 200
        receipt = responses[0].json()["receipt_no"]
        received = [e for _, e in await _events(bus_a, receipt) if e.type == c.COMPLAINT_RECEIVED]
        assert len({e.id for e in received}) == 1
        del mine


async def test_a_new_complaint_is_created_without_reading_its_receipt_number(backend, monkeypatch) -> None:
    """A receipt number this call issued cannot name a stored complaint: the create is not preceded by a read
    of it. A repeated request (its key's claim holds the number) reads the complaint and creates nothing."""
    read = spies.gets(monkeypatch, "complaints")
    created = spies.calls(monkeypatch, "create", "complaints")
    key, payload = {"Idempotency-Key": str(uuid.uuid4())}, complaint_payload()
    async with AsyncTestClient(_app(backend, backend.store("intake"), backend.bus())) as client:
        plain = await client.post("/api/v1/complaints", json=complaint_payload())
        keyed = await client.post("/api/v1/complaints", json=payload, headers=key)
        assert plain.status_code == keyed.status_code == 201
        news = [plain.json()["receipt_no"], keyed.json()["receipt_no"]]
        assert [d["_id"] for d in created] == news
        assert [id for id in read if id in news] == []
        again = await client.post("/api/v1/complaints", json=payload, headers=key)
    assert again.status_code == 200 and again.json()["receipt_no"] == news[1]
    assert {id for id in read if id in news} == {news[1]}
    assert len(created) == 2


async def test_receipt_numbers_are_unique_across_instances(backend) -> None:
    bus_a, bus_b = backend.bus(), backend.bus()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(AsyncTestClient(_app(backend, backend.store("intake"), bus_a)))
        b = await stack.enter_async_context(AsyncTestClient(_app(backend, backend.store("intake"), bus_b)))
        responses = await asyncio.gather(
            *((a if i % 2 else b).post("/api/v1/complaints", json=complaint_payload()) for i in range(20))
        )
    numbers = [r.json()["receipt_no"] for r in responses]
    assert len(set(numbers)) == 20
    assert all(n.startswith("20") and len(n.split("-")[2]) == 7 for n in numbers)


async def test_lifecycle_over_http_with_idempotency_and_conflicts(backend) -> None:
    bus = backend.bus()
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        r = await client.post("/api/v1/complaints", json=complaint_payload(channel="oral"), headers=STAFF)
        receipt, code = r.json()["receipt_no"], r.json()["check_code"]
        assert r.json()["status"] == "draft"
        assert (await client.post(f"/api/v1/complaints/{receipt}/acknowledge", headers=STAFF)).status_code == 409
        assert (await client.post(f"/api/v1/complaints/{receipt}/confirm")).status_code == 401
        wrong = await client.post(f"/api/v1/complaints/{receipt}/confirm", params={"code": "WRONG1"})
        assert wrong.status_code == 404
        confirmed = await client.post(f"/api/v1/complaints/{receipt}/confirm", params={"code": code})
        assert confirmed.json()["status"] == "received"
        # before the clock is set intake does not know the period an extension is checked against
        early = await client.post(f"/api/v1/complaints/{receipt}/extend", json={"reason": "현장 확인"}, headers=STAFF)
        assert early.status_code == 409
        await _clock_set(backend, receipt, period="7d")
        await _until_period(client, receipt)
        too_long = await client.post(
            f"/api/v1/complaints/{receipt}/extend", headers=STAFF, json={"reason": "현장 확인", "period": "30d"}
        )
        assert too_long.status_code == 422 and too_long.json()["fields"][0]["field"] == "period"
        key = {"Idempotency-Key": str(uuid.uuid4()), **STAFF}
        first = await client.post(f"/api/v1/complaints/{receipt}/extend", json={"reason": "현장 확인"}, headers=key)
        again = await client.post(f"/api/v1/complaints/{receipt}/extend", json={"reason": "현장 확인"}, headers=key)
        assert first.status_code == again.status_code == 200 and again.json()["extensions"] == 1
        second = await client.post(f"/api/v1/complaints/{receipt}/extend", json={"reason": "추가"}, headers=STAFF)
        assert second.status_code == 409
        bad = await client.post(f"/api/v1/complaints/{receipt}/close", json={"outcome": "maybe"}, headers=STAFF)
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "outcome"
        closed = await client.post(f"/api/v1/complaints/{receipt}/close", json={"outcome": "accepted"}, headers=STAFF)
        assert closed.json()["status"] == "closed"
        twice = await client.post(f"/api/v1/complaints/{receipt}/close", json={"outcome": "accepted"}, headers=STAFF)
        assert twice.status_code == 409 and twice.json()["status"] == "closed"
        public = await client.get(f"/api/v1/complaints/{receipt}?code={code}")
        assert [s["step"] for s in public.json()["timeline"]] == [
            "drafted",
            "received",
            "due_set",
            "extended",
            "closed",
        ]
        assert (await client.get(f"/api/v1/complaints/{receipt}?code=WRONG1")).status_code == 404
        assert (await client.get(f"/api/v1/complaints/{receipt}")).status_code == 401
    await bus.stop()


async def test_impossible_dates_are_refused_naming_the_field(backend) -> None:
    bus = backend.bus()
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        ancient = await client.post(
            "/api/v1/complaints",
            headers=STAFF,
            json=complaint_payload(
                channel="mail", received_at="0001-01-01T00:00:00+09:00", received_at_reason="found in the archive"
            ),
        )
        assert ancient.status_code == 422 and ancient.json()["fields"][0]["field"] == "received_at"
        receipt = (await client.post("/api/v1/complaints", json=complaint_payload())).json()["receipt_no"]
        due = await client.post(
            f"/api/v1/complaints/{receipt}/supplementation",
            headers=STAFF,
            json={"reason": "도면 누락", "due": "9999-12-31T23:00:00-12:00"},
        )
        assert due.status_code == 422 and due.json()["fields"][0]["field"] == "due"
        listed = await client.get("/open311/v2/requests.json?end_date=0001-01-02T00:00:00Z")
        assert listed.status_code == 400 and "end_date" in listed.json()[0]["description"]
