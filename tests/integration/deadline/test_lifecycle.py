"""A complaint's life as the deadline service hears it over the bus: in any order, redelivered,
paused, extended (a refused extension is recorded, not retried), closed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import REGISTRY

from minwon import contracts as c
from minwon import topics
from minwon.events import derive_id
from tests import spies
from tests.integration.deadline.harness import (
    MovableClock,
    assigned,
    complaint_event,
    deadline_events,
    deadlines_for,
    feed,
    receipt,
    received,
    running,
    started,
    wait_for,
)

KST = ZoneInfo("Asia/Seoul")
RECEIVED = datetime(2030, 3, 4, 10, 0, tzinfo=KST)  # Monday


def _closed_total(within: str, department: str) -> float:
    return (
        REGISTRY.get_sample_value("minwon_deadline_closed_total", {"within_period": within, "department": department})
        or 0.0
    )


async def test_routing_heard_before_intake_and_everything_redelivered(backend) -> None:
    """Consumed from both topics: the assignment arrives first; every event comes twice."""
    clock = MovableClock(RECEIVED + timedelta(minutes=30))
    store, bus = backend.store("deadline"), backend.bus()
    deadlines, svc = deadlines_for(backend, store, bus, clock)
    r, stranger = receipt(), receipt()
    events = [
        (topics.ROUTING, assigned(r, RECEIVED + timedelta(minutes=20))),
        (topics.COMPLAINTS, received(r, RECEIVED, kind="other", channel="mail")),
        (topics.COMPLAINTS, complaint_event(c.COMPLAINT_CLOSED, stranger, RECEIVED, "closed", outcome="accepted")),
    ]

    async def opened():
        doc = await store.collection("clocks").get(r)
        # both topics heard: Kafka keeps no order between them
        return doc if doc and doc["status"] == "open" and doc.get("handler") else None

    async with running(svc, bus):
        for topic, event in events + events:
            await bus.publish(topic, event)
        doc = await wait_for(opened)
        await wait_for(lambda: _set_events(bus, r))
        await _quiet(bus)
    view = await deadlines.get(r)
    assert view["handler"] == {"id": "h-17", "name": "김담당", "contact": "051-000-0000"}
    assert view["department"] == "road" and view["assigned_at"] == "2030-03-04T10:20:00+09:00"
    # mail: the forwarding and assignment SLAs are met by the assignment; 기타민원 is a daily-life complaint
    assert doc["forwarding_clock"] is True and doc["daily_life"] is True
    pending = [s["name"] for s in view["signals"]["pending"]]
    assert "sla.first_response" in pending and not {"sla.assignment", "sla.forwarding"} & set(pending)
    assert await store.collection("clocks").get(stranger) is None  # a lifecycle event for an unknown receipt
    sets = await _set_events(bus, r)
    assert len(sets) == 1 and sets[0].data["immediate"] is True
    if not backend.distributed:  # one global log order here; Kafka interleaves the two topics freely
        assert sets[0].data["department"] == "road"
    await bus.stop()


async def test_the_receipt_starts_the_clock_without_reading_it(backend, monkeypatch) -> None:
    """A complaint's receipt creates its clock: no read first. Redelivered to a process that keeps no copy,
    its create fails on the store and the receipt is recognised, not applied twice."""
    reads = spies.gets(monkeypatch, "clocks")
    clock = MovableClock(RECEIVED + timedelta(minutes=30))
    store, bus = backend.store("deadline"), backend.bus()
    r = receipt()
    first = await started(backend, store, bus, clock)
    try:
        opened = await first.handle(received(r, RECEIVED))
        assert opened is not None and opened.applied.version == 1 and reads == []
        again = await started(backend, store, bus, clock)  # another process (or this one restarted)
        repeated = await again.handle(received(r, RECEIVED))
        assert repeated is not None and repeated.applied.duplicate and set(reads) == {r}
        seen = len(reads)
        await feed(bus, again, assigned(r, RECEIVED + timedelta(minutes=20)))
        assert len(reads) == seen  # decided on what the redelivered receipt read
        assert len({e.id for e in await _set_events(bus, r)}) == 1  # (the relay publishes at least once)
    finally:
        await bus.stop()


async def _set_events(bus, r):
    return [e for e in await deadline_events(bus, r) if e.type == c.DEADLINE_SET]


async def _quiet(bus) -> None:
    """Give redelivered duplicates time to be (not) handled."""
    await asyncio.sleep(1.0)


async def test_pause_resume_extension_refusal_and_close(backend) -> None:
    clock = MovableClock(RECEIVED)
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock)
    r = receipt()
    await feed(bus, deadlines, assigned(r, RECEIVED + timedelta(hours=1), department="water"))
    await feed(bus, deadlines, received(r, RECEIVED, kind="grievance"))
    assert (await deadlines.get(r))["due_at"] == "2030-03-12T18:00:00+09:00"

    clock.now = datetime(2030, 3, 5, 10, 0, tzinfo=KST)
    await feed(
        bus,
        deadlines,
        complaint_event(
            c.COMPLAINT_SUPPLEMENTATION_REQUESTED, r, clock.now, "supplementation_requested", supplement_due=None
        ),
    )
    paused = await deadlines.get(r)
    assert paused["status"] == "paused" and paused["due_at"] is None and paused["remaining"] is None
    overdue_while_paused = await deadlines.list(overdue=True, department="water", status=None, after=None, limit=50)
    assert overdue_while_paused == []

    clock.now = datetime(2030, 3, 8, 15, 0, tzinfo=KST)
    await feed(bus, deadlines, complaint_event(c.COMPLAINT_SUPPLEMENT_RECEIVED, r, clock.now, "supplement_received"))
    resumed = await deadlines.get(r)
    # Mon and Tue stay used; the resume day, Fri the 8th, counts as day 3: due Thu the 14th
    assert resumed["status"] == "open" and resumed["due_at"] == "2030-03-14T18:00:00+09:00"
    due_after_pause = resumed["due_at"]

    clock.now = datetime(2030, 3, 11, 10, 0, tzinfo=KST)
    ext = complaint_event(
        c.COMPLAINT_EXTENDED, r, clock.now, "extended", period="5d", citizen_consent=False, extension_no=1
    )
    await feed(bus, deadlines, ext)
    extended = await deadlines.get(r)
    # 40 working hours from the morning after the due day
    assert extended["due_at"] == "2030-03-21T18:00:00+09:00" and extended["extensions"][0]["by"] == "5d"
    second = complaint_event(
        c.COMPLAINT_EXTENDED,
        r,
        clock.now + timedelta(hours=1),
        "extended-2",
        period=None,
        citizen_consent=False,
        extension_no=2,
    )
    await feed(bus, deadlines, second)
    await feed(bus, deadlines, second)  # redelivered: handled once
    refused = await deadlines.get(r)
    assert refused["due_at"] == extended["due_at"] and len(refused["extensions"]) == 1
    assert [x["code"] for x in refused["refused"]] == ["conflict"]
    assert refused["refused"][0]["field"] == "citizen_consent"

    before = _closed_total("true", "water")
    clock.now = datetime(2030, 3, 12, 11, 0, tzinfo=KST)
    await feed(bus, deadlines, complaint_event(c.COMPLAINT_ACKNOWLEDGED, r, clock.now, "acknowledged"))
    await feed(bus, deadlines, complaint_event(c.COMPLAINT_CLOSED, r, clock.now, "closed", outcome="accepted"))
    closed = await deadlines.get(r)
    assert closed["status"] == "closed" and closed["next_fire_at"] is None
    assert closed["closed_within_period"] is True and closed["closed_by"] == "closed"
    assert _closed_total("true", "water") == before + 1
    assert await deadlines.fire_due() == 0

    updates = [e for e in await deadline_events(bus, r) if e.type == c.DEADLINE_UPDATED]
    assert [e.data["reason"] for e in updates] == ["resumed", "extended"]  # a pause announces nothing
    assert updates[0].data["previous_due_at"] == "2030-03-12T18:00:00+09:00"
    assert updates[1].id == derive_id(ext.id, "deadline", "updated")
    assert updates[1].data["extension_no"] == 1 and updates[1].data["previous_due_at"] == due_after_pause
    await bus.stop()
