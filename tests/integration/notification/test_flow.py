"""The notification service on both backends: exactly-once notices, waiting for contacts,
retries and dead letters, the AlimTalk fallback, quiet hours, result letters."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from minwon import contracts as c
from minwon import topics
from minwon.outbox import public
from services.notification import domain
from services.notification.providers import DeliveryFailed, Message, Providers
from tests import spies
from tests.factories import STAFF
from tests.integration.notification.helpers import MovingClock, app, events, listed, of, statuses, until
from tests.kafka_lag import caught_up
from tests.unit.notification.factories import HANDLER, NOW, assigned, event, filing, receipt_no, received, sealed


def _filed_and_assigned(r: str) -> list:
    return [(topics.PRIVATE, filing(r)[0]), (topics.COMPLAINTS, received(r)), (topics.ROUTING, assigned(r))]


async def _sent(bus, receipt_no: str) -> list:  # noqa: ANN001
    return [e for e in await events(bus, topics.NOTIFICATIONS, receipt_no) if e.type == c.NOTIFICATION_SENT]


def _no_personal_data(text: str, contact: dict) -> None:
    for key in ("name", "phone", "email", "address"):
        assert contact[key] not in text, key
    assert contact["phone"].replace("-", "") not in text


async def test_one_receipt_notice_across_redelivery_and_restart(backend, pub, service_logs) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    sealed_filing, contact = filing(r)
    first = [(topics.PRIVATE, sealed_filing), (topics.COMPLAINTS, received(r)), (topics.ROUTING, assigned(r))]
    async with AsyncTestClient(app(backend, store, bus)) as client:
        for topic, e in first:
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        # the same events again (a redelivery), then a marker behind them on the routing topic
        for topic, e in first:
            await pub.publish(topic, e)
        marker = assigned(
            r,
            {"id": "h-2", "name": "이담당", "contact": "051-888-2222"},
            at=NOW + timedelta(days=1),
            type=c.COMPLAINT_REASSIGNED,
        )
        await pub.publish(topics.ROUTING, marker)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.REASSIGNED) == ["sent"])
        await caught_up(backend, "minwon-notification", topics.PRIVATE, topics.COMPLAINTS)  # the redelivered too
        items = await listed(client, r)
        assert len(of(items, domain.RECEIPT)) == 1
        receipt = of(items, domain.RECEIPT)[0]
        assert len(receipt["deliveries"]) == 1 and receipt["attempts"] == 1
        assert receipt["channel"] == domain.LMS and receipt["template_version"] == 1  # sms opt-in, text > 90 bytes
        assert receipt["to"] == "010-****-6789"
        assert HANDLER["name"] in receipt["text"] and HANDLER["contact"] in receipt["text"]
        assert r in receipt["text"] and domain.mask_name(contact["name"]) in receipt["text"]
        body = json.dumps(await listed(client, r), ensure_ascii=False)
        _no_personal_data(body, contact)
        one = await client.get(f"/api/v1/notifications/{receipt['id']}", headers=STAFF)
        assert one.status_code == 200 and one.json()["id"] == receipt["id"]
        assert receipt["id"] == domain.notification_id(first[2][1].id, domain.RECEIPT, "citizen")
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.STAFF_ASSIGNED) == ["sent"] * 2)
        staff = of(items, domain.STAFF_ASSIGNED)
        assert [s["status"] for s in staff] == ["sent", "sent"] and staff[0]["channel"] == domain.STAFF_MESSAGE
        assert (await client.get(f"/api/v1/notifications?receipt_no={r}")).status_code == 401
        assert (await client.get("/api/v1/notifications/nope", headers=STAFF)).status_code == 404

    # a restart over the same store and log: the old events once more, and a new marker
    store2, bus2 = backend.store("notification"), backend.bus()
    for topic, e in first:  # published while no notification service runs
        await pub.publish(topic, e)
    async with AsyncTestClient(app(backend, store2, bus2)) as client:
        marker2 = assigned(
            r,
            {"id": "h-3", "name": "최담당", "contact": "051-888-3333"},
            at=NOW + timedelta(days=2),
            type=c.COMPLAINT_REASSIGNED,
        )
        await pub.publish(topics.ROUTING, marker2)
        items = await until(
            lambda: listed(client, r),
            lambda xs: (
                len(of(xs, domain.REASSIGNED)) == 2 and all(i["status"] == "sent" for i in of(xs, domain.REASSIGNED))
            ),
        )
        assert len(of(items, domain.RECEIPT)) == 1 and len(of(items, domain.RECEIPT)[0]["deliveries"]) == 1
        published = await until(
            lambda: events(pub, topics.NOTIFICATIONS, r),
            lambda es: any(e.type == c.NOTIFICATION_SENT and e.data["template"] == domain.RECEIPT for e in es),
        )
        sent = [e for e in published if e.type == c.NOTIFICATION_SENT]
        receipt_sent = [e for e in sent if e.data["template"] == domain.RECEIPT]
        assert len({e.id for e in receipt_sent}) == 1  # published at least once, always with the same id
        for e in sent:
            _no_personal_data(e.model_dump_json(), contact)
            assert HANDLER["name"] not in e.model_dump_json()
    assert any(r.getMessage() == "notification sent" for r in service_logs)
    _no_personal_data(repr([(r.getMessage(), r.__dict__) for r in service_logs]), contact)


async def test_a_notice_waits_for_the_contact_details_and_goes_when_they_arrive(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus)) as client:
        await pub.publish(topics.COMPLAINTS, received(r))
        await pub.publish(topics.ROUTING, assigned(r))
        items = await until(
            lambda: listed(client, r), lambda xs: [i["waiting"] for i in of(xs, domain.RECEIPT)] == [["contact"]]
        )
        assert of(items, domain.RECEIPT)[0]["status"] == "pending" and not of(items, domain.RECEIPT)[0]["deliveries"]
        sealed_filing, _ = filing(r)
        await pub.publish(topics.PRIVATE, sealed_filing)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        assert of(items, domain.RECEIPT)[0]["waiting"] == []


async def test_an_event_tries_its_notices_on_the_documents_it_just_wrote(backend, pub, monkeypatch) -> None:
    """Creating a notice, waking the ones that waited and sending them read neither the notices nor the
    complaint's facts back from the store (nor does the receipt, which creates the facts)."""
    notices, facts = spies.gets(monkeypatch, "notifications"), spies.gets(monkeypatch, "complaints")
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus)):
        await pub.publish(topics.COMPLAINTS, received(r))
        # topics keep no order between them: the receipt is noted first, as when its filing is acknowledged
        # (an event before it reads, to learn whether the facts exist). Watched by a query, which is no get,
        # through a store of this loop's own (the service's runs on the client's).
        kept = backend.store("notification").collection("complaints")
        await until(lambda: kept.find({"_id": r}, limit=1), bool)
        await pub.publish(topics.ROUTING, assigned(r))  # the citizen's notices wait for the contact details
        await pub.publish(topics.PRIVATE, filing(r)[0])
        both = {domain.RECEIPT, domain.STAFF_ASSIGNED}  # the citizen's (it waited) and the official's
        sent = await until(lambda: _sent(pub, r), lambda xs: {e.data["template"] for e in xs} >= both)
    assert len({e.data["notification_id"] for e in sent}) == len(sent)
    assert notices == []
    assert facts == []


async def test_a_new_notice_is_stored_by_its_first_attempts_write(backend, pub, monkeypatch) -> None:
    """A notice is created already decided: claimed (a sent notice costs two writes, not three), or
    waiting for what it lacks."""
    created = spies.calls(monkeypatch, "create", "notifications")
    updated = spies.calls(monkeypatch, "update", "notifications")
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus)) as client:
        await pub.publish(topics.COMPLAINTS, received(r))
        await pub.publish(topics.ROUTING, assigned(r))  # the citizen's notice waits for the contact details
        await until(
            lambda: listed(client, r),
            lambda xs: (
                statuses(xs, domain.STAFF_ASSIGNED) == ["sent"]
                and [i["waiting"] for i in of(xs, domain.RECEIPT)] == [["contact"]]
            ),
        )
        await pub.publish(topics.PRIVATE, filing(r)[0])
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
    staff, receipt = of(items, domain.STAFF_ASSIGNED)[0]["id"], of(items, domain.RECEIPT)[0]["id"]
    first = {d["_id"]: d for d in created}
    assert first[staff]["status"] == domain.SENDING and first[staff]["claim"]
    assert first[receipt]["status"] == domain.PENDING and first[receipt]["waiting"] == ["contact"]
    # the writes that changed the notice (the relay's clearing of a published event changes only its outbox)
    writes: Counter[str] = Counter()
    last: dict[str, dict] = {}
    for d in [*created, *updated]:
        writes[d["_id"]] += public(d) != last.get(d["_id"])
        last[d["_id"]] = public(d)
    assert writes[staff] == 2  # created with its claim, then sent
    assert writes[receipt] == 3  # created waiting, then claimed, then sent


async def test_a_notice_whose_first_attempt_fails_is_stored_as_planned(backend, pub, monkeypatch, service_logs) -> None:
    """An attempt that fails before the notice's first write still stores the notice (pending), so it is
    taken up again; the event's other notices go on."""
    choose, failed = domain.choose_channel, []

    def fails_once(record, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if record["template"] == domain.RECEIPT and not failed:
            failed.append(record["id"])
            raise RuntimeError("a fault for this notice")
        return choose(record, *args, **kwargs)

    monkeypatch.setattr(domain, "choose_channel", fails_once)
    created = spies.calls(monkeypatch, "create", "notifications")
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.STAFF_ASSIGNED) == ["sent"])
        stored = await until(lambda: asyncio.sleep(0, [d for d in created if d["_id"] in failed]), bool)
        assert [(d["status"], d["claim"], d["attempts"]) for d in stored] == [(domain.PENDING, None, 0)]
        assert any(x.getMessage() == "notification attempt failed" for x in service_logs)
        # the complaint's next fact wakes the notices it knows (if another fact has not already)
        later = {"id": "h-2", "name": "이담당", "contact": "051-888-2222"}
        await pub.publish(topics.ROUTING, assigned(r, later, at=NOW + timedelta(hours=1), type=c.COMPLAINT_REASSIGNED))
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
    assert of(items, domain.RECEIPT)[0]["id"] == failed[0]
    assert len(of(items, domain.RECEIPT)[0]["deliveries"]) == 1


class AlwaysFails:
    name = "broken"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def send(self, message: Message):
        self.calls.append(message.idempotency_key)
        raise DeliveryFailed("http_503")


def _dead_total() -> float:
    return REGISTRY.get_sample_value("minwon_notification_dead_total") or 0.0


def _dead_since(before: float) -> Callable[[], Awaitable[float]]:
    """How many notices the counter gained since it read ``before``."""

    async def probe() -> float:
        return _dead_total() - before

    return probe


async def test_a_failing_provider_is_retried_then_dead_lettered(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    failing = AlwaysFails()
    r = receipt_no()
    dead_before = _dead_total()
    async with AsyncTestClient(
        app(backend, store, bus, providers=Providers.every_channel(failing), max_attempts=3)
    ) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["dead"])
        receipt = of(items, domain.RECEIPT)[0]
        assert receipt["attempts"] == 3 and receipt["error"] == "http_503"
        assert [a["attempt"] for a in receipt["attempt_log"]] == [1, 2, 3]
        assert all(a["outcome"] == "failed" for a in receipt["attempt_log"])
        assert failing.calls.count(receipt["id"]) == 3
        times = [a["at"] for a in receipt["attempt_log"]]
        assert times == sorted(times) and times[0] < times[-1]
        failed = await until(
            lambda: events(pub, topics.NOTIFICATIONS, r),
            lambda es: any(e.data.get("notification_id") == receipt["id"] for e in es),
        )
        copies = await until(
            lambda: events(pub, topics.DEADLETTER, r),
            lambda es: any(e.data.get("notification_id") == receipt["id"] for e in es),
        )
        # at least once on the bus: a republished outbox entry keeps its id
        (f,) = {e.id: e for e in failed if e.data.get("notification_id") == receipt["id"]}.values()
        (d,) = {e.id: e for e in copies if e.data.get("notification_id") == receipt["id"]}.values()
        assert f.type == d.type == c.NOTIFICATION_FAILED and f.data == d.data and f.data["error"] == "http_503"
        final = await until(lambda: listed(client, r), lambda xs: all(i["status"] == "dead" for i in xs))
        assert len(final) >= 2  # the receipt notice and the staff message, each given up on
        # Counted once each, right after its dead record is stored (the list can show it a moment before).
        # This app's topics and database are this test's own, so the counter's gain is these notices alone,
        # whatever ran before in the process.
        await until(_dead_since(dead_before), lambda gained: gained >= len(final))
    assert _dead_total() - dead_before == len(final)


async def test_alimtalk_failure_falls_back_to_sms_or_lms(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": True, "alimtalk": True, "email": False, "post": False}
    async with AsyncTestClient(app(backend, store, bus, dev_failing_channels=["alimtalk"])) as client:
        for topic, e in [
            (topics.PRIVATE, filing(r, consent=consent)[0]),
            (topics.COMPLAINTS, received(r, consent)),
            (topics.ROUTING, assigned(r)),
        ]:
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        receipt = of(items, domain.RECEIPT)[0]
        tries = [(a["channel"], a["outcome"]) for a in receipt["attempt_log"]]
        assert tries == [("alimtalk", "failed"), ("lms", "sent")]
        assert receipt["channel"] == "lms" and receipt["attempts"] == 1
        assert [d["channel"] for d in receipt["deliveries"]] == ["lms"]
        sent = await until(
            lambda: events(pub, topics.NOTIFICATIONS, r),
            lambda es: any(e.data.get("notification_id") == receipt["id"] for e in es),
        )
        (e,) = {e.id: e for e in sent if e.data.get("notification_id") == receipt["id"]}.values()
        assert e.data["fallback_from"] == "alimtalk" and e.data["channel"] == "lms"


async def test_quiet_hours_defer_an_sms_until_morning_and_the_loop_sends_it(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    clock = MovingClock(NOW + timedelta(hours=13))  # Wednesday 23:00 in Seoul
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus, clock=clock)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["deferred"])
        receipt = of(items, domain.RECEIPT)[0]
        assert receipt["next_attempt_at"] == "2026-11-18T23:00:00.000000+00:00"  # Thursday 08:00 in Seoul
        assert receipt["attempts"] == 0 and not receipt["deliveries"]
        # staff messages are not held
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.STAFF_ASSIGNED) == ["sent"])
        await until(lambda: _gauge(), lambda v: v >= 1)
        clock.advance(timedelta(hours=9))  # Thursday 08:00+
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        assert len(of(items, domain.RECEIPT)[0]["deliveries"]) == 1


async def _gauge() -> float:
    return REGISTRY.get_sample_value("minwon_notification_deferred") or 0.0


async def test_a_rejection_closed_without_an_answer_goes_by_sms_and_by_letter(backend, pub) -> None:
    """An old close (no sealed answer): after the bounded wait the result goes without the text,
    still waiting for the rejection's reasons and remedy."""
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": True, "alimtalk": False, "email": False, "post": True}
    closed_at = NOW + timedelta(days=5)
    reasons, remedy = "도로법 제61조에 따라 점용을 허가할 수 없습니다", "이의신청 또는 행정심판"
    sealed_filing, contact = filing(r, consent=consent)
    async with AsyncTestClient(app(backend, store, bus, answer_wait_seconds=0.5)) as client:
        for topic, e in [
            (topics.PRIVATE, sealed_filing),
            (topics.COMPLAINTS, received(r, consent)),
            (topics.ROUTING, assigned(r)),
            (topics.COMPLAINTS, event(c.COMPLAINT_CLOSED, r, {"outcome": "rejected"}, at=closed_at)),
        ]:
            await pub.publish(topic, e)
        items = await until(
            lambda: listed(client, r), lambda xs: [i["waiting"] for i in of(xs, domain.RESULT)] == [["part:closed"]]
        )
        await pub.publish(
            topics.PRIVATE, sealed(r, "closed", {"reasons": reasons, "remedy": remedy}, at=closed_at, consent=consent)
        )
        items = await until(
            lambda: listed(client, r),
            lambda xs: [i["status"] for i in of(xs, domain.RESULT) + of(xs, domain.RESULT_LETTER)] == ["sent", "sent"],
        )
        result, letter = of(items, domain.RESULT)[0], of(items, domain.RESULT_LETTER)[0]
        assert result["channel"] == domain.LMS and result["legal"]
        assert "처리결과: 불수용" in result["text"] and f"http://127.0.0.1:8000/lookup?receipt_no={r}" in result["text"]
        assert reasons in letter["text"] and remedy in letter["text"] and "불수용" in letter["text"]
        assert letter["channel"] == domain.POST and letter["to"] == domain.mask_address(contact["address"])
        meta = letter["letter"]
        assert meta["pages"] >= 1 and meta["font_source"] in ("bundled", "system", "configured")
        assert meta["recipient"] == domain.mask_name(contact["name"]) and meta["template"] == domain.RESULT_LETTER
        reader = backend.store("notification")  # the app's store belongs to the app's event loop
        stored = await reader.collection("letters").get(letter["id"])
        pdf = base64.b64decode(stored["pdf_b64"])
        assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == meta["sha256"] == stored["sha256"]
        assert letter["deliveries"][0]["letter"]["sha256"] == meta["sha256"]
        _no_personal_data(json.dumps(items, ensure_ascii=False), contact)
