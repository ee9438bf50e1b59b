"""The whole system in one process, on both backends: complaints with distinctive personal data go through
intake (its API and Open311), routing, deadline and notification; everything an agency can receive — the
public topic and a webhook — is read back and contains none of it, and every event meets its schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jsonschema
from litestar.testing import AsyncTestClient

from apps.host import SERVICES, Infrastructure, build_services, create_app
from minwon import contracts as c
from minwon import topics
from minwon.outbox import Aggregates, Relay
from services.notification.agencies import public
from tests import spies
from tests.factories import STAFF, complaint_payload
from tests.integration.agencies.helpers import MovingClock, Receiver, close, register, subscribe, until
from tests.unit.agencies.examples import load
from tests.unit.notification.factories import assigned, receipt_no, received

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
START = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Seoul: working hours
verifier = load("verify_webhook")
consumer_example = load("agency_consumer")


def _secrets(payload: dict) -> list[str]:
    out = [payload[k] for k in ("name", "phone", "email", "address", "title", "body") if payload.get(k)]
    out.append(payload["phone"].replace("-", ""))
    return out


async def test_nothing_personal_reaches_an_agency(backend, monkeypatch) -> None:
    monkeypatch.setenv("MINWON_NOTIFICATION_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    monkeypatch.setenv("MINWON_NOTIFICATION_WEBHOOK_INTERVAL_SECONDS", "0.1")
    settings = backend.settings()
    clock = MovingClock(START)
    infra = Infrastructure(bus=backend.bus(), stores={n: backend.store(n) for n in SERVICES})
    app = create_app(build_services(settings, SERVICES, infra, clock=clock), infra)
    reader = backend.bus()
    receiver = Receiver()
    await receiver.start()
    tag = uuid.uuid4().hex[:8]
    secrets: list[str] = []
    receipts: dict[str, str] = {}
    codes: list[str] = []
    try:
        async with AsyncTestClient(app) as client:
            agency = await register(client, f"all-{backend.tag}", STAFF)
            hook = await subscribe(client, agency, mode="webhook", url=receiver.url)

            for n in range(3):
                payload = complaint_payload()
                filed = await client.post("/api/v1/complaints", json=payload)
                assert filed.status_code == 201, filed.text
                receipts[f"api{n}"] = filed.json()["receipt_no"]
                codes.append(filed.json()["check_code"])
                secrets += _secrets(payload)
            whistle = complaint_payload(whistleblower=True)
            filed = await client.post("/api/v1/complaints", json=whistle)
            receipts["whistle"] = filed.json()["receipt_no"]
            secrets += _secrets(whistle)
            form = {
                "service_code": "road",
                "first_name": f"영희{tag}",
                "last_name": "김",
                "phone": f"010-3{tag[:3]}-{tag[3:7]}",
                "email": f"o311-{tag}@example.kr",
                "address_string": f"부산광역시 해운대구 중동 {tag[:4]}",
                "lat": "35.1587",
                "long": "129.1604",
                "description": f"가로등이 깜빡입니다 비밀-{tag}",
            }
            posted = await client.post(
                "/open311/v2/requests.json",
                content=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert posted.status_code == 201, posted.text
            receipts["open311"] = posted.json()[0]["service_request_id"]
            secrets += [form[k] for k in ("first_name", "phone", "email", "address_string", "description")]
            secrets += [form["phone"].replace("-", ""), f"비밀-{tag}", f"김{form['first_name']}"]

            pids = {k: public.pseudonym(r, b"minwon-development-public-id-secret") for k, r in receipts.items()}
            published = lambda: _public(reader)  # noqa: E731
            await until(published, lambda es: _count(es, c.PUBLIC_COMPLAINT_ASSIGNED) >= 4, timeout=120)

            extend_reason, reject_reason, remedy = f"연장사유-{tag}", f"반려사유-{tag}", f"행정심판 안내-{tag}"
            secrets += [extend_reason, reject_reason, remedy]

            async def clock_known() -> bool:  # intake checks an extension against the clock's period
                view = await client.get(f"/api/v1/complaints/{receipts['api0']}", headers=STAFF)
                return bool(view.status_code == 200 and view.json().get("due_at"))

            await until(clock_known, bool)
            extended = await client.post(
                f"/api/v1/complaints/{receipts['api0']}/extend", json={"reason": extend_reason}, headers=STAFF
            )
            assert extended.status_code == 200, extended.text
            answer, text = f"/api/v1/complaints/{receipts['api1']}/answer", f"답변-{tag}"
            secrets.append(text)
            await client.put(
                answer,
                json={"outcome": "rejected", "text": text, "reasons": reject_reason, "remedy": remedy},
                headers=STAFF,
            )
            await client.post(f"{answer}/submit", headers=STAFF)
            closed = await client.post(f"{answer}/approve", json={}, headers=STAFF)
            assert closed.status_code == 200, closed.text
            await until(
                published,
                lambda es: _count(es, c.PUBLIC_COMPLAINT_CLOSED) >= 1 and _count(es, c.PUBLIC_COMPLAINT_EXTENDED) >= 1,
            )

            clock.advance(timedelta(hours=5))  # 15:00 in Seoul: an immediate (3 working hours) period has run out
            overdue = {pids["api2"], pids["open311"]}
            events = await until(
                published,
                lambda es: overdue <= {e.subject for e in es if e.type == c.PUBLIC_COMPLAINT_BREACHED},
                timeout=120,
            )
            got = await until(
                lambda: _received(receiver), lambda xs: {x.event.id for x in xs} >= {e.id for e in events}
            )
            events = await _public(reader)
            handlers = await _handler_names(client, receipts)
            if backend.distributed:  # the copyable Kafka consumer reads the same events
                seen: list[dict] = []
                await consumer_example.consume(
                    bootstrap=settings.kafka_bootstrap_servers,
                    group=f"agency-test-{tag}",
                    topic=settings.kafka_topic_prefix + topics.PUBLIC,
                    security_protocol="PLAINTEXT",
                    on_event=seen.append,
                    stop_after=len(events),
                    idle_seconds=30,
                )
                assert {e["id"] for e in seen} == {e.id for e in events}
    finally:
        await receiver.stop()
        await close(reader)

    # every public type happened, for the right complaints, and the whistleblower's is absent
    by_subject: dict[str, set[str]] = {}
    for e in events:
        by_subject.setdefault(e.subject, set()).add(e.type.split(".")[-2])
    assert by_subject[pids["api0"]] >= {"received", "routed", "assigned", "extended"}
    assert by_subject[pids["api1"]] >= {"received", "routed", "assigned", "closed"}
    assert by_subject[pids["api2"]] >= {"received", "routed", "assigned", "breached"}
    assert by_subject[pids["open311"]] >= {"received", "routed", "assigned", "breached"}
    assert pids["whistle"] not in by_subject
    closed_event = next(e for e in events if e.type == c.PUBLIC_COMPLAINT_CLOSED)
    assert closed_event.data["outcome"] == "rejected"

    # nothing personal, no free text, no receipt numbers or check codes, no handler names — anywhere
    topic_text = "\n".join(e.to_json().decode() for e in events)
    webhook_text = "\n".join(x.body.decode() for x in got) + json.dumps([x.headers for x in got])
    for secret in [*secrets, *receipts.values(), *codes, *handlers]:
        assert secret not in topic_text, secret
        assert secret not in webhook_text, secret
    assert "complainant_ref" not in topic_text and "p-" not in json.dumps([e.data for e in events])

    # every event meets its JSON Schema; every webhook verifies with the documented algorithm
    for e in events:
        jsonschema.validate(e.to_doc(), json.loads((SCHEMAS / f"{e.type}.json").read_text("utf-8")))
        public.validate(e)
    assert {x.event.id for x in got} == {e.id for e in events}
    for x in got:
        assert verifier.verify(x.body, x.headers["x-minwon-signature"], hook["secret"], now=x.at) > 0


async def _public(bus) -> list:
    return [e async for _, e in bus.read([topics.PUBLIC])]


def _count(events: list, type: str) -> int:
    return sum(1 for e in events if e.type == type)


async def _received(receiver: Receiver) -> list:
    return list(receiver.got)


async def _handler_names(client, receipts: dict[str, str]) -> list[str]:
    """The handlers' names (public under 민원책임실명제, but not published to agencies)."""
    names = []
    for key in ("api0", "api1", "api2", "open311"):
        shown = (await client.get(f"/api/v1/complaints/{receipts[key]}", headers=STAFF)).json()
        if shown.get("handler"):
            names.append(shown["handler"]["name"])
    assert names, "no complaint was assigned a handler"
    return names


async def test_the_receipt_creates_the_public_state_without_reading_it(backend, monkeypatch) -> None:
    reads = spies.gets(monkeypatch, "public_complaints")
    bus = backend.bus()
    states = Aggregates(backend.store("notification").collection("public_complaints"), Relay(bus))
    projector = public.Projector(states, secret=b"test-secret", origin="/test/public")
    r = receipt_no()
    await bus.start()
    try:
        await projector.on_event(received(r))
        await projector.on_event(assigned(r))
        assert reads == []  # the receipt created the state, the assignment used the copy kept of it
        await projector.on_event(received(r))  # redelivered: the store confirms it was handled (one read)
        assert reads == [r]
        stored = await states.coll.get(r)
        assert stored is not None and len(stored["_inbox"]) == 2
    finally:
        await bus.stop()
