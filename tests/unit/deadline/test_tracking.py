"""The service's record of a complaint: facts in any order, the events they cause, replay safety."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.events import Event, derive_id
from services.deadline import domain as d
from services.deadline import tracking as t
from services.deadline.tracking import Record

from ._helpers import CAL, kst

TYPES = d.load_statutory_types(d.STATUTORY_TYPES_PATH.read_text(encoding="utf-8"))
SRC = "/test/deadline"
R = "2026-TEST-0000001"
RECEIVED = kst(2026, 3, 10, 10)  # Tuesday


def _received(kind: str = "grievance", **data: Any) -> dict[str, Any]:
    return {
        "receipt_no": R,
        "kind": kind,
        "received_at": RECEIVED.isoformat(),
        "channel": "online",
        "statutory_type": None,
        "forwarding_clock": False,
        **data,
    }


def _open(kind: str = "grievance", rec: Record | None = None, **data: Any) -> Record:
    new, events = t.on_received(
        rec, _received(kind, **data), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    )
    assert new is not None and [e.type for e in events] == [c.DEADLINE_SET]
    return t.settle(new, events)[0]


def _stored(rec: Record) -> Record:
    """Through the stored JSON document and back, as every handler sees it."""
    loaded = t.load(rec.receipt_no, json.loads(json.dumps(t.dump(rec))), CAL)
    assert loaded is not None
    return loaded


def _assigned(at: datetime) -> dict[str, Any]:
    return {
        "department": "road",
        "department_name": "도로과",
        "handler": {"id": "h-1", "name": "김담당", "contact": "051-000-0000", "extra": "dropped"},
    }


def test_received_opens_the_clock_and_announces_its_due_time() -> None:
    rec, events = t.on_received(
        None, _received(), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    )
    assert rec is not None and rec.status == t.OPEN
    (event,) = events
    assert event.id == derive_id(R, "deadline", "set") and event.subject == R
    assert event.data["due_at"] == "2026-03-18T18:00:00+09:00"  # 7 working days, the receipt day is day 1
    assert {
        "receipt_no",
        "kind",
        "basis",
        "period",
        "due_at",
        "warning_at",
        "received_at",
        "department",
        "immediate",
        "occurred_at",
    } <= set(event.data)
    assert event.data["basis"] == "days" and event.data["immediate"] is False
    doc = t.dump(t.settle(rec, events)[0])
    assert doc["next_fire_at"] == "2026-03-11T01:00:00.000000+00:00"  # the assignment SLA, 8 working hours
    assert doc["due_at"] == "2026-03-18T09:00:00.000000+00:00"


def test_received_again_changes_nothing() -> None:
    rec = _open()
    assert t.on_received(
        rec, _received(), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    ) == (None, [])


def test_a_statutory_complaint_takes_its_types_period_and_an_unknown_kind_is_recorded_not_raised() -> None:
    rec = _open("statutory", statutory_type="seal_certificate")
    assert rec.clock is not None and rec.clock.period.immediate
    refused, events = t.on_received(
        None, _received("gossip"), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    )
    assert events == [] and refused is not None and refused.status == t.REFUSED
    assert refused.refused[0]["field"] == "kind" and _stored(refused).status == t.REFUSED
    unknown, _ = t.on_received(
        None,
        _received("statutory", statutory_type="moon_landing"),
        receipt_no=R,
        at=RECEIVED,
        calendar=CAL,
        types=TYPES,
        now=RECEIVED,
        source=SRC,
    )
    assert unknown is not None and unknown.refused[0]["field"] == "statutory_type"


def test_lifecycle_facts_about_an_unknown_complaint_are_ignored() -> None:
    at = RECEIVED + timedelta(hours=1)
    assert t.on_paused(None, at=at, cause="e1", now=at, source=SRC) == (None, [])
    assert t.on_resumed(None, at=at, cause="e2", calendar=CAL, now=at, source=SRC) == (None, [])
    assert t.on_extended(None, {"period": None}, at=at, cause="e3", calendar=CAL, now=at, source=SRC) == (None, [])
    assert t.on_first_response(None, at=at) == (None, [])
    assert t.on_closed(None, at=at, by="closed") == (None, [])


def test_an_assignment_heard_before_the_receipt_is_kept_and_applied_when_the_clock_opens() -> None:
    early, events = t.on_assigned(None, _assigned(RECEIVED), receipt_no=R, at=RECEIVED + timedelta(minutes=5))
    assert events == [] and early is not None and early.status == t.PENDING
    early = _stored(early)
    assert early.handler == {"id": "h-1", "name": "김담당", "contact": "051-000-0000"}
    rec, events = t.on_received(
        early, _received(), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    )
    assert rec is not None and rec.clock is not None and rec.clock.assigned_at == RECEIVED + timedelta(minutes=5)
    assert events[0].data["department"] == "road" and events[0].data["handler"]["id"] == "h-1"
    assert d.SLA_ASSIGNMENT not in {s.name for s in d.pending_signals(rec.clock)}


def test_a_pause_withdraws_the_due_time_and_the_resume_announces_the_new_one() -> None:
    rec = _open()
    paused, events = t.on_paused(rec, at=kst(2026, 3, 11, 10), cause="pause-1", now=kst(2026, 3, 11, 10), source=SRC)
    assert paused is not None and paused.status == t.PAUSED and events == []
    paused = _stored(paused)
    assert paused.clock is not None and paused.clock.due_at is None
    assert t.dump(paused)["due_at"] is None and t.dump(paused)["next_fire_at"] == "2026-03-11T01:00:00.000000+00:00"
    resumed, events = t.on_resumed(
        paused, at=kst(2026, 3, 13, 10), cause="resume-1", calendar=CAL, now=kst(2026, 3, 13, 10), source=SRC
    )
    assert resumed is not None and resumed.status == t.OPEN
    (event,) = events
    assert event.type == c.DEADLINE_UPDATED and event.id == derive_id("resume-1", "deadline", "updated")
    assert event.data["due_at"] == "2026-03-19T18:00:00+09:00" and event.data["reason"] == "resumed"
    assert event.data["previous_due_at"] == "2026-03-18T18:00:00+09:00" and event.data["paused"] is False


def test_a_second_extension_without_consent_is_recorded_and_announces_nothing() -> None:
    rec = _open()
    at = kst(2026, 3, 12, 10)
    first, events = t.on_extended(
        rec,
        {"period": None, "citizen_consent": False, "extension_no": 1},
        at=at,
        cause="ext-1",
        calendar=CAL,
        now=at,
        source=SRC,
    )
    assert first is not None and events[0].data["due_at"] == "2026-03-27T18:00:00+09:00"  # +7 working days
    first = _stored(t.settle(first, events)[0])
    second, events = t.on_extended(
        first,
        {"period": "3d", "citizen_consent": False, "extension_no": 2},
        at=at + timedelta(hours=1),
        cause="ext-2",
        calendar=CAL,
        now=at,
        source=SRC,
    )
    assert events == [] and second is not None
    assert second.clock == first.clock
    assert second.refused[-1]["code"] == "conflict" and second.refused[-1]["status"] == 409
    assert second.refused[-1]["field"] == "citizen_consent"


def test_sixty_days_later_every_signal_fires_once_in_time_order() -> None:
    rec = _stored(_open())
    now = RECEIVED + timedelta(days=60)
    fired, events = t.fire(rec, now=now, source=SRC)
    assert fired is not None
    names = [e.data["signal"] for e in events]
    assert names == [
        d.SLA_ASSIGNMENT,
        d.WARNING,
        d.escalation(1),
        d.BREACHED,
        d.escalation(2),
        d.escalation(3),
        d.PROGRESS_NOTICE,
    ]
    scheduled = [datetime.fromisoformat(e.data["scheduled_at"]) for e in events]
    assert scheduled == sorted(scheduled)
    assert [e.type for e in events] == [
        c.DEADLINE_SLA_MISSED,
        c.DEADLINE_WARNING,
        c.DEADLINE_ESCALATED,
        c.DEADLINE_BREACHED,
        c.DEADLINE_ESCALATED,
        c.DEADLINE_ESCALATED,
        c.DEADLINE_PROGRESS_DUE,
    ]
    breach = events[3]
    assert breach.id == derive_id(R, "signal", "breached")
    assert breach.data["breached_at"] == breach.data["due_at"] == "2026-03-18T18:00:00+09:00"
    assert breach.data["had_supplementation"] is False and breach.data["had_extension"] is False
    assert events[2].data["level"] == 1 and events[5].data["recipients"] == ["section_chief", "complaint_office"]
    assert events[0].data["sla"] == "assignment"
    fired = _stored(t.settle(fired, events)[0])
    assert t.dump(fired)["next_fire_at"] is None and fired.escalation_level == 3
    assert t.fire(fired, now=now + timedelta(days=1), source=SRC) == (fired, [])


def test_an_extension_rearms_the_warning_under_a_new_id() -> None:
    rec = _stored(_open())
    warned, events = t.fire(rec, now=kst(2026, 3, 17, 9, 30), source=SRC)
    assert [e.data["signal"] for e in events] == [d.SLA_ASSIGNMENT, d.WARNING, d.escalation(1)]
    warned = _stored(t.settle(warned, events)[0])
    extended, events = t.on_extended(
        warned,
        {"period": None, "extension_no": 1},
        at=kst(2026, 3, 17, 10),
        cause="ext-1",
        calendar=CAL,
        now=kst(2026, 3, 17, 10),
        source=SRC,
    )
    extended = _stored(t.settle(extended, events)[0])
    assert extended.escalation_level == 0
    again, events = t.fire(extended, now=kst(2026, 3, 26, 9, 30), source=SRC)
    warning = next(e for e in events if e.data["signal"] == d.WARNING)
    assert warning.id == derive_id(R, "signal", "warning", 1) and warning.data["generation"] == 1
    assert warning.id != t.signal_id(R, d.WARNING)


def test_a_replay_knows_what_was_published_and_emits_it_never_again() -> None:
    # the original run: received, then everything fired 60 days later
    original = _stored(_open())
    original, signals = t.fire(original, now=RECEIVED + timedelta(days=60), source=SRC)
    set_event = t.on_received(
        None, _received(), receipt_no=R, at=RECEIVED, calendar=CAL, types=TYPES, now=RECEIVED, source=SRC
    )[1][0]
    # a rebuild reads its own topic first ...
    rec: Record | None = None
    for event in [set_event, *signals]:
        rec, _ = t.on_published(rec, event)
        rec = _stored(rec)
    assert rec is not None and rec.status == t.PENDING and len(rec.sent) == len(signals)
    assert t.on_published(rec, signals[0]) == (None, [])
    # ... then the inputs: the set it decides again is already published
    rec, events = t.on_received(
        rec,
        _received(),
        receipt_no=R,
        at=RECEIVED,
        calendar=CAL,
        types=TYPES,
        now=RECEIVED + timedelta(days=61),
        source=SRC,
    )
    rec, fresh = t.settle(rec, events)
    assert fresh == []
    assert t.fire(_stored(rec), now=RECEIVED + timedelta(days=61), source=SRC)[1] == []


def test_a_rearmed_warning_read_back_before_its_extension_still_counts() -> None:
    """Kafka gives no order across topics: a replay may read the second warning before the extension."""
    rec = _stored(_open())
    rec, first = t.fire(rec, now=kst(2026, 3, 17, 9, 30), source=SRC)
    rec = _stored(t.settle(rec, first)[0])
    rec, ext = t.on_extended(
        rec,
        {"period": None, "extension_no": 1},
        at=kst(2026, 3, 17, 10),
        cause="ext-1",
        calendar=CAL,
        now=kst(2026, 3, 17, 10),
        source=SRC,
    )
    rec = _stored(t.settle(rec, ext)[0])
    rec, second = t.fire(rec, now=kst(2026, 3, 26, 9, 30), source=SRC)
    # replay: own topic (both warnings), then the inputs
    replayed: Record | None = None
    for event in [*first, *ext, *second]:
        replayed = _stored(t.on_published(replayed, event)[0] or replayed)
    replayed = _stored(_open(rec=replayed))
    replayed, events = t.on_extended(
        replayed,
        {"period": None, "extension_no": 1},
        at=kst(2026, 3, 17, 10),
        cause="ext-1",
        calendar=CAL,
        now=kst(2026, 3, 27, 10),
        source=SRC,
    )
    replayed, fresh = t.settle(replayed, events)
    assert fresh == []
    assert t.fire(_stored(replayed), now=kst(2026, 3, 26, 9, 30), source=SRC)[1] == []


def test_a_holiday_that_moves_the_due_time_is_announced_once_with_its_date_in_the_id() -> None:
    rec = _open()
    holiday = CAL.with_holidays([datetime(2026, 3, 17).date()])
    moved = t.load(R, t.dump(rec), holiday)
    assert moved is not None and moved.clock is not None
    new, events = t.on_calendar(moved, holiday=datetime(2026, 3, 17).date(), now=RECEIVED, source=SRC)
    (event,) = events
    assert event.id == derive_id(R, "holiday", "2026-03-17", "updated")
    assert event.data["due_at"] == "2026-03-19T18:00:00+09:00"
    assert event.data["previous_due_at"] == "2026-03-18T18:00:00+09:00"
    settled = t.load(R, t.dump(t.settle(new, events)[0]), holiday)
    assert t.on_calendar(settled, holiday=datetime(2026, 3, 17).date(), now=RECEIVED, source=SRC)[1] == []


def test_closing_stops_every_timer_and_tells_whether_it_was_in_time() -> None:
    rec = _open()
    closed, events = t.on_closed(rec, at=kst(2026, 3, 17, 15), by="closed")
    assert events == [] and closed is not None and closed.status == t.CLOSED
    assert t.dump(closed)["next_fire_at"] is None and t.closed_within_period(closed.clock) is True
    assert t.on_closed(closed, at=kst(2026, 3, 18, 15), by="withdrawn") == (None, [])
    late, _ = t.on_closed(rec, at=kst(2026, 3, 19, 9), by="transferred")
    assert late is not None and t.closed_within_period(late.clock) is False


def test_remaining_working_time_and_its_label() -> None:
    due = kst(2026, 3, 18, 18)
    assert t.remaining(kst(2026, 3, 16, 13, 30), due, CAL) == {"working_hours": 20.5, "label": "D-2 / 20.5h"}
    assert t.remaining(kst(2026, 3, 18, 16), due, CAL) == {"working_hours": 2.0, "label": "D-day / 2h"}
    assert t.remaining(kst(2026, 3, 19, 12), due, CAL) == {"working_hours": -3.0, "label": "D+1 / -3h"}


def test_the_view_shows_signals_pauses_and_the_next_timer() -> None:
    rec = _stored(_open())
    rec, events = t.fire(rec, now=kst(2026, 3, 17, 9, 30), source=SRC)
    rec = _stored(t.settle(rec, events)[0])
    view = t.view(rec, now=kst(2026, 3, 17, 13, 30), calendar=CAL)
    assert view["status"] == "open" and view["due_at"] == "2026-03-18T18:00:00+09:00"
    assert view["remaining"] == {"working_hours": 12.5, "label": "D-1 / 12.5h"}
    assert [s["name"] for s in view["signals"]["emitted"]] == [d.SLA_ASSIGNMENT, d.WARNING, d.escalation(1)]
    assert view["signals"]["emitted"][1]["at"] == "2026-03-17T09:30:00+09:00"
    assert view["escalation_level"] == 1 and view["next_fire_at"] == "2026-03-18T18:00:00+09:00"
    assert view["signals"]["pending"][0] == {"name": d.BREACHED, "at": "2026-03-18T18:00:00+09:00"}


def test_signal_names_are_read_back_from_events_without_a_signal_field() -> None:
    def event(type: str, **data: Any) -> Event:
        return Event.new(type, source=SRC, subject=R, time=RECEIVED, data=data)

    assert t.signal_name(event(c.DEADLINE_ESCALATED, level=2)) == "escalation.2"
    assert t.signal_name(event(c.DEADLINE_SLA_MISSED, sla="forwarding")) == "sla.forwarding"
    assert t.signal_name(event(c.DEADLINE_PROGRESS_DUE)) == d.PROGRESS_NOTICE
    assert t.signal_name(event(c.DEADLINE_WARNING, signal="warning")) == "warning"
