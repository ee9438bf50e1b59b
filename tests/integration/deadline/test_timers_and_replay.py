"""The deadline service on real stores and buses: timers fire once, survive a full rebuild from the
log, are republished with their ids, move with an added holiday, and catch up after downtime in order."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon.events import derive_id
from services.deadline import domain as d
from services.deadline import replay
from tests.integration.deadline.harness import (
    MovableClock,
    deadline_events,
    deadlines_for,
    feed,
    now_utc,
    receipt,
    received,
    running,
    signal_counts,
    started,
    wait_for,
)

KST = ZoneInfo("Asia/Seoul")
EVERY_SIGNAL = {
    d.SLA_ASSIGNMENT,
    d.WARNING,
    d.escalation(1),
    d.BREACHED,
    d.escalation(2),
    d.escalation(3),
    d.PROGRESS_NOTICE,
}


def _snapshot(doc: dict) -> dict:
    return {
        "status": doc["status"],
        "due_at": doc["due_at"],
        "next_fire_at": doc["next_fire_at"],
        "emitted": sorted(e["name"] for e in doc["emitted"]),
        "pauses": doc["pauses"],
        "extensions": doc["extensions"],
        "received_at": doc["received_at"],
        "period": doc["period"],
    }


async def test_every_signal_fires_once_and_a_full_rebuild_emits_nothing_again(backend) -> None:
    clock = MovableClock(now_utc())
    store, bus = backend.store("deadline"), backend.bus()
    deadlines, svc = deadlines_for(backend, store, bus, clock)
    r = receipt()
    filed = received(r, clock.now - timedelta(days=60), at=clock.now - timedelta(days=60))

    async def all_signals():
        by_id, _ = signal_counts(await deadline_events(bus, r))
        return len(by_id) >= len(EVERY_SIGNAL)

    async with running(svc, bus):
        await bus.publish("minwon.complaints.v1", filed)
        await wait_for(all_signals)
        # the same complaint.received again, redelivered: nothing new
        await bus.publish("minwon.complaints.v1", filed)
        for _ in range(5):
            await deadlines.fire_due()
        await asyncio.sleep(1.0)
    before = await store.collection("clocks").get(r)
    first = await deadline_events(bus, r)

    by_id, by_signal = signal_counts(first)
    assert set(by_id.values()) == {1}
    assert {s for (_, _, s) in by_signal} == EVERY_SIGNAL and set(by_signal.values()) == {1}
    assert [e.type for e in first].count(c.DEADLINE_SET) == 1
    breach = next(e for e in first if e.type == c.DEADLINE_BREACHED)
    assert datetime.fromisoformat(breach.data["breached_at"]) == datetime.fromisoformat(before["due_at"])
    assert breach.data["had_supplementation"] is False and breach.data["had_extension"] is False
    assert breach.id == derive_id(r, "signal", "breached")
    assert before["next_fire_at"] is None and before["status"] == "open"

    # a full rebuild: the store is dropped and rebuilt from the log, then the scanner runs again
    await store.drop()
    rebuilt, _ = deadlines_for(backend, store, bus, clock)
    summary = await replay.rebuild(rebuilt, bus)
    assert summary.signals_known == len(EVERY_SIGNAL)
    assert summary.published == 0
    assert summary.read["minwon.complaints.v1"] >= 2 and summary.read["minwon.deadlines.v1"] >= 8
    for _ in range(3):
        assert await rebuilt.fire_due() == 0
    after = await store.collection("clocks").get(r)
    assert _snapshot(after) == _snapshot(before)
    again = await deadline_events(bus, r)
    assert [e.id for e in again] == [e.id for e in first]

    # --republish: the window's signal events go out again with their original ids
    result = await replay.republish(bus, since=clock.now - timedelta(seconds=1))
    assert result["total"] == len(EVERY_SIGNAL)
    republished = await deadline_events(bus, r)
    twice, _ = signal_counts(republished)
    assert set(twice) == set(by_id) and set(twice.values()) == {2}
    await bus.stop()


async def test_a_holiday_another_replica_added_is_recomputed_only_with_a_calendar_that_has_it(backend) -> None:
    """A pass whose calendar was loaded before another replica added the holiday must not mark it done
    having moved nothing: it waits, and the next pass (calendar reloaded) moves the clock."""
    clock = MovableClock(datetime(2030, 3, 4, 11, 0, tzinfo=KST))
    store, bus = backend.store("deadline"), backend.bus()
    one = await started(backend, store, bus, clock)
    other, _ = deadlines_for(backend, store, bus, clock)
    await other.start()
    r = receipt()
    await feed(bus, one, received(r, datetime(2030, 3, 4, 10, 0, tzinfo=KST), kind="inquiry_law"))
    doc, _ = await other.add_holiday(date(2030, 3, 12), "임시공휴일", "admin-1")

    assert date(2030, 3, 12) not in one.calendar.holidays_extra  # loaded before the holiday existed
    assert await one._recompute(doc) == 0
    assert (await one.holidays())[0]["recompute"]["status"] == "pending"
    assert (await one.get(r))["due_at"] == "2030-03-21T18:00:00+09:00"

    assert await one.recompute_all() == 1
    assert (await one.get(r))["due_at"] == "2030-03-22T18:00:00+09:00"
    recompute = (await one.holidays())[0]["recompute"]
    assert recompute["status"] == "done" and recompute["changed"] == 1
    await bus.stop()


async def test_adding_a_holiday_moves_an_open_clock_and_announces_it_once(backend) -> None:
    clock = MovableClock(datetime(2030, 3, 4, 11, 0, tzinfo=KST))  # Monday
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock)
    r, other = receipt(), receipt()
    await feed(bus, deadlines, received(r, datetime(2030, 3, 4, 10, 0, tzinfo=KST), kind="inquiry_law"))
    # due before the holiday: not announced again
    await feed(bus, deadlines, received(other, datetime(2030, 3, 4, 10, 0, tzinfo=KST), kind="other"))
    due_before = (await deadlines.get(r))["due_at"]
    assert due_before == "2030-03-21T18:00:00+09:00"  # 14 working days from Mon 2030-03-04

    doc, created = await deadlines.add_holiday(date(2030, 3, 12), "임시공휴일", "test")
    assert created and doc["recompute"]["status"] == "pending"
    assert await deadlines.recompute_all() == 1
    assert (await deadlines.get(r))["due_at"] == "2030-03-22T18:00:00+09:00"
    _, created_again = await deadlines.add_holiday(date(2030, 3, 12), "임시공휴일", "test")
    assert not created_again
    assert await deadlines.recompute_all() == 0

    updated = [e for e in await deadline_events(bus) if e.type == c.DEADLINE_UPDATED]
    assert [e.subject for e in updated] == [r]
    assert updated[0].id == derive_id(r, "holiday", "2030-03-12", "updated")
    assert updated[0].data["previous_due_at"] == due_before and updated[0].data["reason"] == "holiday"
    holidays = await deadlines.holidays()
    assert [h["date"] for h in holidays] == ["2030-03-12"] and holidays[0]["recompute"]["status"] == "done"
    assert holidays[0]["recompute"]["changed"] == 1
    added = [e for e in await deadline_events(bus) if e.subject == "calendar"]
    assert len(added) == 1 and added[0].data["date"] == "2030-03-12"

    # a clock opened afterwards counts the holiday; a rebuild restores it from the log
    await store.drop()
    rebuilt, _ = deadlines_for(backend, store, bus, clock)
    await replay.rebuild(rebuilt, bus)
    assert (await rebuilt.get(r))["due_at"] == "2030-03-22T18:00:00+09:00"
    assert date(2030, 3, 12) in rebuilt.calendar.holidays_extra
    assert len([e for e in await deadline_events(bus) if e.type == c.DEADLINE_UPDATED]) == 1
    await bus.stop()


async def test_after_downtime_missed_timers_fire_once_in_due_order_a_page_per_pass(backend) -> None:
    start = datetime(2030, 3, 4, 9, 30, tzinfo=KST)
    clock = MovableClock(start)
    store, bus = backend.store("deadline"), backend.bus()
    deadlines = await started(backend, store, bus, clock, scan_limit=3)
    receipts = [receipt() for _ in range(7)]
    for i, r in enumerate(reversed(receipts)):  # filed in the reverse of their due order
        at = start + timedelta(minutes=10 * (len(receipts) - 1 - i))
        await feed(bus, deadlines, received(r, at, kind="grievance"))
    assert await deadlines.fire_due() == 0

    clock.advance(timedelta(days=60))  # the service was down for two months
    passes: list[set[str]] = []
    seen: set[str] = set()
    while fired := await deadlines.fire_due():
        new = [e for e in await deadline_events(bus) if e.type != c.DEADLINE_SET and e.id not in seen]
        seen |= {e.id for e in new}
        assert fired == len(new)
        passes.append({e.subject for e in new})
        for subject in passes[-1]:  # one clock's signals, in time order
            instants = [datetime.fromisoformat(e.data["scheduled_at"]) for e in new if e.subject == subject]
            assert instants == sorted(instants) and len(instants) == len(EVERY_SIGNAL)
    # at most three clocks a pass, earliest timers first (the topic's partitions do not keep order among
    # complaints, so the order is checked pass by pass)
    assert passes == [set(receipts[0:3]), set(receipts[3:6]), set(receipts[6:])]
    by_id, by_signal = signal_counts(await deadline_events(bus))
    assert set(by_id.values()) == {1} and len(by_signal) == 7 * len(EVERY_SIGNAL)
    assert await deadlines.fire_due() == 0
    await bus.stop()
