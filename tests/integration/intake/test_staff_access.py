"""Officials at intake: who may register for a citizen, who acted (timeline and audit log), who may
read personal data, and the limits on guessing check codes (embedded SQLite; Kafka + MongoDB-wire)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from tests import samples
from tests.factories import STAFF, complaint_payload, staff_headers

ALL_TOPICS = sorted({v for v in vars(topics).values() if isinstance(v, str) and v.startswith("minwon.")})


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _app(backend, store, bus, clock=None):
    """Intake whose departments close without the team lead's approval (answers: test_answers.py)."""
    service = bootstrap(
        backend.settings(),
        store=store,
        bus=bus,
        **({"clock": clock} if clock else {}),
        intake_settings=IntakeSettings(answer_approval_default=False),
    )
    return create_app([service], Infrastructure(bus=bus, stores={"intake": store}))


def _official(role: str, department: str | None = "road") -> dict[str, str]:
    return staff_headers(f"{role}-{uuid.uuid4().hex[:6]}", department=department, roles=(role,))


async def test_staff_channels_and_receipt_times_need_an_intake_role_who_is_recorded(backend) -> None:
    bus = backend.bus()
    counter = _official("call_centre", "civil")
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        assert (await client.post("/api/v1/complaints", json=complaint_payload())).status_code == 201
        past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        for payload in (complaint_payload(channel=ch) for ch in ("visit", "phone", "mail", "fax", "oral")):
            assert (await client.post("/api/v1/complaints", json=payload)).status_code == 401
        late = complaint_payload(channel="mail", received_at=past)
        assert (await client.post("/api/v1/complaints", json=late)).status_code == 401
        assert (await client.post("/api/v1/complaints", json=complaint_payload(received_at=past))).status_code == 401
        for role in ("privacy_officer", "auditor"):
            refused = await client.post("/api/v1/complaints", json=late, headers=_official(role))
            assert refused.status_code == 403, refused.text

        filed = await client.post("/api/v1/complaints", json=late, headers=counter)
        assert filed.status_code == 201, filed.text
        receipt = filed.json()["receipt_no"]
        view = (await client.get(f"/api/v1/complaints/{receipt}", headers=STAFF)).json()
        assert view["registered_by"]["roles"] == ["call_centre"] and view["registered_by"]["department"] == "civil"
        assert view["timeline"][0]["by"]["id"] == view["registered_by"]["id"]

        acked = await client.post(f"/api/v1/complaints/{receipt}/acknowledge", headers=STAFF)
        closed = await client.post(f"/api/v1/complaints/{receipt}/close", headers=STAFF, json={"outcome": "accepted"})
        assert acked.status_code == closed.status_code == 200
        assert [s["by"]["id"] for s in closed.json()["timeline"][1:]] == ["office-kim", "office-kim"]
        assert closed.json()["last_actor"]["id"] == "office-kim"
        code = filed.json()["check_code"]
        public = (await client.get(f"/api/v1/complaints/{receipt}", params={"code": code})).json()
        assert "office-kim" not in str(public) and "call_centre" not in str(public)

        oral = await client.post("/api/v1/complaints", json=complaint_payload(channel="oral"), headers=counter)
        at_counter = await client.post(f"/api/v1/complaints/{oral.json()['receipt_no']}/confirm", headers=counter)
        step = at_counter.json()["timeline"][-1]
        assert step["detail"]["confirmed_by"] == "official_at_counter" and step["by"]["roles"] == ["call_centre"]

        log = await client.get(
            "/api/v1/complaints/audit", params={"receipt_no": receipt}, headers=_official("privacy_officer")
        )
        assert [(x["action"], x["actor_id"]) for x in log.json()["items"]] == [
            ("file", view["registered_by"]["id"]),
            ("acknowledge", "office-kim"),
            ("close", "office-kim"),
        ]
    await bus.stop()


async def test_wrong_check_codes_are_limited_per_address_and_receipt_until_the_window_ends(backend) -> None:
    store, bus, clock = backend.store("intake"), backend.bus(), Clock()
    async with AsyncTestClient(_app(backend, store, bus, clock)) as client:
        filed = (await client.post("/api/v1/complaints", json=complaint_payload())).json()
        receipt, code = filed["receipt_no"], filed["check_code"]
        assert len(code) >= 10 and not set(code) & set("0O1IL")
        statuses = []
        for n in range(30):
            r = await client.get(f"/api/v1/complaints/{receipt}", params={"code": f"WRONG{n:05d}"})
            statuses.append(r.status_code)
        assert statuses == [404] * 10 + [429] * 20
        assert 0 < int(r.headers["retry-after"]) <= 900 and r.json()["error"] == "too_many_attempts"
        # the right code does not get through a locked window either, nor on the other code routes
        assert (await client.get(f"/api/v1/complaints/{receipt}", params={"code": code})).status_code == 429
        assert (await client.post(f"/api/v1/complaints/{receipt}/withdraw", params={"code": code})).status_code == 429
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus, clock)) as again:  # a restart
        assert (await again.get(f"/api/v1/complaints/{receipt}", params={"code": code})).status_code == 429
        clock.now += timedelta(minutes=15)
        after = await again.get(f"/api/v1/complaints/{receipt}", params={"code": code})
        assert after.status_code == 200 and after.json()["receipt_no"] == receipt
    await bus.stop()


async def _routed(client, probe, receipt: str, department: str) -> None:
    """Routing's fact, published by a bus of this test's own event loop (``probe``, started)."""
    await probe.publish(
        topics.ROUTING,
        Event.new(
            c.COMPLAINT_ROUTED,
            id=str(uuid.uuid4()),
            source="/test/routing",
            subject=receipt,
            time=datetime.now(UTC),
            data=samples.shaped(c.COMPLAINT_ROUTED, receipt_no=receipt, department=department),
        ),
    )
    for _ in range(150):
        if (await client.get(f"/api/v1/complaints/{receipt}", headers=STAFF)).json()["department"] == department:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the routing fact did not arrive")


async def _everything_on_the_bus(backend, bus) -> list[str]:
    """Every event on every topic (Kafka: every topic of this test's prefix, read with a bus of this
    test's own event loop)."""
    names = ALL_TOPICS
    if backend.distributed:
        from aiokafka import AIOKafkaConsumer

        lister = AIOKafkaConsumer(bootstrap_servers=backend.infra.kafka_bootstrap)
        await lister.start()
        try:
            prefix = f"t{backend.tag}."
            names = sorted(t.removeprefix(prefix) for t in await lister.topics() if t.startswith(prefix))
        finally:
            await lister.stop()
        bus = backend.bus()
    return sorted([f"{t} {e.model_dump_json()}" async for t, e in bus.read(names)])


async def test_personal_data_reads_are_scoped_and_each_is_audited_never_published(backend) -> None:
    bus = backend.bus()
    privacy = _official("privacy_officer", "audit")
    handler = _official("handler", "road")
    probe = backend.bus() if backend.distributed else bus
    if backend.distributed:
        await probe.start()
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        payload = complaint_payload()
        receipt = (await client.post("/api/v1/complaints", json=payload)).json()["receipt_no"]
        secret = complaint_payload(whistleblower=True)
        confidential = (await client.post("/api/v1/complaints", json=secret)).json()["receipt_no"]
        await _routed(client, probe, receipt, "road")
        await _routed(client, probe, confidential, "road")
        await asyncio.sleep(0.5)  # let the filing's own events settle before taking the bus's measure
        before = await _everything_on_the_bus(backend, bus)

        path = f"/api/v1/complaints/{receipt}/personal"
        for _ in range(3):
            read = await client.get(path, params={"purpose": "현장 확인 연락"}, headers=handler)
            assert read.status_code == 200, read.text
        assert read.json() == {
            "receipt_no": receipt,
            "location": None,
            **{k: payload[k] for k in ("name", "phone", "email", "address", "title", "body")},
        }
        elsewhere = _official("handler", "parks")
        assert (await client.get(path, params={"purpose": "확인"}, headers=elsewhere)).status_code == 403
        assert (await client.get(path, params={"purpose": "확인"}, headers=_official("auditor"))).status_code == 403
        assert (await client.get(path, params={"purpose": "확인"})).status_code == 401
        assert (await client.get(path, headers=handler)).status_code in (400, 422)  # a purpose is required
        hidden = f"/api/v1/complaints/{confidential}/personal"
        assert (await client.get(hidden, params={"purpose": "확인"}, headers=handler)).status_code == 403
        office = await client.get(hidden, params={"purpose": "공익신고 검토"}, headers=STAFF)
        assert office.status_code == 200 and office.json()["name"] == secret["name"]

        log = (await client.get("/api/v1/complaints/audit", params={"receipt_no": receipt}, headers=privacy)).json()[
            "items"
        ]
        reads = [x for x in log if x["action"] == "read_personal_data"]
        assert len(reads) == 3 and {x["purpose"] for x in reads} == {"현장 확인 연락"}
        assert {x["actor_department"] for x in reads} == {"road"} and reads[0]["actor_roles"] == "handler"
        everyone = (await client.get("/api/v1/complaints/audit", headers=privacy)).json()["items"]
        read_of = [x["receipt_no"] for x in everyone if x["action"] == "read_personal_data"]
        assert read_of == [receipt] * 3 + [confidential]

        await asyncio.sleep(0.5)
        after = await _everything_on_the_bus(backend, bus)
    assert after == before  # reads publish nothing, and the audit log is never on a topic
    assert not [x for x in after if "현장 확인 연락" in x or "read_personal_data" in x or payload["name"] in x]
    if probe is not bus:
        await probe.stop()
    await bus.stop()


async def test_only_the_privacy_officer_and_admin_list_and_export_the_audit_log(backend) -> None:
    bus = backend.bus()
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        receipt = (await client.post("/api/v1/complaints", json=complaint_payload())).json()["receipt_no"]
        start = datetime.now(UTC) - timedelta(seconds=1)
        await client.get(f"/api/v1/complaints/{receipt}/personal", params={"purpose": "답변 작성"}, headers=STAFF)
        await client.post(f"/api/v1/complaints/{receipt}/acknowledge", headers=STAFF)
        for role, status in (
            ("handler", 403),
            ("complaint_office", 403),
            ("auditor", 403),
            ("privacy_officer", 200),
            ("admin", 200),
        ):
            for path in ("/api/v1/complaints/audit", "/api/v1/complaints/audit.csv"):
                r = await client.get(path, params={"receipt_no": receipt}, headers=_official(role))
                assert r.status_code == status, (role, path, r.text)
        assert (await client.get("/api/v1/complaints/audit")).status_code == 401
        assert (await client.get("/api/v1/complaints/audit", params={"code": "X"})).status_code == 401

        privacy = _official("privacy_officer")
        query = {"actor": "office-kim", "receipt_no": receipt, "from": start.isoformat()}
        listed = (await client.get("/api/v1/complaints/audit", params=query, headers=privacy)).json()["items"]
        assert [x["action"] for x in listed] == ["read_personal_data", "acknowledge"]
        assert (
            await client.get("/api/v1/complaints/audit", params={**query, "to": start.isoformat()}, headers=privacy)
        ).json()["items"] == []
        assert (
            await client.get("/api/v1/complaints/audit", params={**query, "actor": "nobody"}, headers=privacy)
        ).json()["items"] == []
        exported = await client.get("/api/v1/complaints/audit.csv", params=query, headers=privacy)
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [(r["action"], r["actor_id"], r["receipt_no"]) for r in rows] == [
            ("read_personal_data", "office-kim", receipt),
            ("acknowledge", "office-kim", receipt),
        ]
        assert rows[0]["purpose"] == "답변 작성" and rows[0]["actor_roles"] == "complaint_office"
    await bus.stop()


async def test_the_limit_counts_the_address_a_trusted_proxy_forwards(backend) -> None:
    bus = backend.bus()
    service = bootstrap(backend.settings(trusted_proxies="testclient"), store=backend.store("intake"), bus=bus)
    app = create_app([service], Infrastructure(bus=bus, stores={"intake": service.store}))
    async with AsyncTestClient(app) as client:
        filed = (await client.post("/api/v1/complaints", json=complaint_payload())).json()
        a, b = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.9, 203.0.113.8"}
        for n in range(10):  # one address guessing across receipt numbers
            r = await client.get(f"/api/v1/complaints/2026-XX-{n:07d}", params={"code": "ABCDEFGHJK"}, headers=a)
            assert r.status_code == 404
        assert (
            await client.get(
                f"/api/v1/complaints/{filed['receipt_no']}", params={"code": filed["check_code"]}, headers=a
            )
        ).status_code == 429
        # another citizen behind the same proxy is not held back
        assert (
            await client.get(
                f"/api/v1/complaints/{filed['receipt_no']}", params={"code": filed["check_code"]}, headers=b
            )
        ).status_code == 200
    await bus.stop()
