"""A cooperation request's own clock (협조 요청): due on the working calendar, one warning, one escalation,
stopped by a reply, a cancellation or the complaint's end; a replay decides the same ids."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon.events import Event
from minwon.workcal import WorkCalendar
from services.deadline import cooperation as coop

KST = ZoneInfo("Asia/Seoul")
CAL = WorkCalendar()
MONDAY = datetime(2030, 3, 4, 10, 0, tzinfo=KST)
SRC = "/test/deadline"


def requested(days: int = 3, at: datetime = MONDAY, request_id: str = "r1") -> dict:
    return {
        "request_id": request_id,
        "department": "parks",
        "from_department": "road",
        "working_days": days,
        "requested_at": at.isoformat(),
    }


def opened(days: int = 3, calendar: WorkCalendar = CAL) -> tuple[dict, list[Event]]:
    rec, events = coop.on_requested(
        None, requested(days), receipt_no="2030-X-1", at=MONDAY, calendar=calendar, now=MONDAY, source=SRC
    )
    assert rec is not None
    return coop.settle(rec, events)  # type: ignore[return-value]


def test_three_working_days_skip_the_weekend_and_the_warning_is_a_day_before() -> None:
    due, warning = coop.due_times(datetime(2030, 3, 7, 10, 0, tzinfo=KST), 3, CAL)  # Thursday
    assert due == datetime(2030, 3, 12, 10, 0, tzinfo=KST)  # the next Tuesday
    assert warning == datetime(2030, 3, 11, 10, 0, tzinfo=KST)
    one_day_due, one_day_warning = coop.due_times(MONDAY, 1, CAL)
    assert one_day_due == datetime(2030, 3, 5, 10, 0, tzinfo=KST)
    assert one_day_warning == datetime(2030, 3, 4, 15, 0, tzinfo=KST)  # half of it: four working hours before


def test_an_added_holiday_counts() -> None:
    calendar = CAL.with_holidays([date(2030, 3, 5)])
    due, _ = coop.due_times(MONDAY, 3, calendar)
    assert due == datetime(2030, 3, 8, 10, 0, tzinfo=KST)


def test_the_request_announces_its_clock_once() -> None:
    rec, events = opened()
    (event,) = events
    assert event.type == c.DEADLINE_COOPERATION_SET and event.data["request_id"] == "r1"
    assert datetime.fromisoformat(event.data["due_at"]) == datetime(2030, 3, 7, 10, 0, tzinfo=KST)
    assert rec["next_fire_at"] is not None
    again, more = coop.on_requested(
        rec, requested(), receipt_no="2030-X-1", at=MONDAY, calendar=CAL, now=MONDAY, source=SRC
    )
    assert again is None and more == []


def test_warning_then_overdue_each_once() -> None:
    rec, _ = opened()
    nothing, none = coop.fire(rec, now=MONDAY + timedelta(hours=1), source=SRC, calendar=CAL)
    assert none == []
    warn_at = datetime(2030, 3, 6, 10, 0, tzinfo=KST)
    rec, events = coop.settle(*coop.fire(rec, now=warn_at, source=SRC, calendar=CAL))  # type: ignore[misc]
    assert [e.type for e in events] == [c.DEADLINE_COOPERATION_WARNING]
    assert events[0].data["recipients"] == ["cooperating_department"] and events[0].data["department"] == "parks"
    rec, again = coop.settle(*coop.fire(rec, now=warn_at + timedelta(minutes=5), source=SRC, calendar=CAL))  # type: ignore[misc]
    assert again == []
    late = datetime(2030, 3, 7, 10, 1, tzinfo=KST)
    rec, events = coop.settle(*coop.fire(rec, now=late, source=SRC, calendar=CAL))  # type: ignore[misc]
    assert [e.type for e in events] == [c.DEADLINE_COOPERATION_OVERDUE]
    assert events[0].data["recipients"] == ["team_lead"]
    assert rec["next_fire_at"] is None
    _, none = coop.fire(rec, now=late + timedelta(days=3), source=SRC, calendar=CAL)
    assert none == []


def test_a_missed_pass_fires_warning_and_overdue_together_in_order() -> None:
    rec, _ = opened()
    _, events = coop.fire(rec, now=MONDAY + timedelta(days=10), source=SRC, calendar=CAL)
    assert [e.type for e in events] == [c.DEADLINE_COOPERATION_WARNING, c.DEADLINE_COOPERATION_OVERDUE]


def test_a_reply_a_cancellation_or_the_complaint_closing_stops_the_clock() -> None:
    rec, _ = opened()
    for stop in (
        lambda r: coop.on_stopped(r, "r1", state=coop.REPLIED, at=MONDAY),
        lambda r: coop.on_stopped(r, "r1", state=coop.CANCELLED, at=MONDAY),
        lambda r: coop.on_complaint_finished(r, at=MONDAY),
    ):
        stopped, _ = stop(rec)
        assert stopped is not None and stopped["next_fire_at"] is None
        _, events = coop.fire(stopped, now=MONDAY + timedelta(days=10), source=SRC, calendar=CAL)
        assert events == []
    assert coop.on_stopped(rec, "unknown", state=coop.REPLIED, at=MONDAY) == (None, [])
    assert coop.on_stopped(None, "r1", state=coop.REPLIED, at=MONDAY) == (None, [])


def test_a_replay_that_read_the_topic_first_publishes_nothing_again() -> None:
    rec, _ = opened()
    fired, events = coop.settle(*coop.fire(rec, now=MONDAY + timedelta(days=10), source=SRC, calendar=CAL))  # type: ignore[misc]
    published, _ = coop.settle(
        *coop.on_requested(
            None,
            requested(),
            receipt_no="2030-X-1",
            at=MONDAY,  # type: ignore[misc]
            calendar=CAL,
            now=MONDAY,
            source=SRC,
        )
    )
    # a rebuild: the own topic first (set, warning, overdue), then the request again
    rebuilt: dict | None = None
    for event in [*opened()[1], *events]:
        rebuilt = coop.on_published(rebuilt, event)[0] or rebuilt
    assert rebuilt is not None
    again, fresh = coop.on_requested(
        rebuilt, requested(), receipt_no="2030-X-1", at=MONDAY, calendar=CAL, now=MONDAY, source=SRC
    )
    assert again is not None
    settled, fresh = coop.settle(again, fresh)
    assert fresh == []  # the set event is known
    assert settled is not None
    _, signals = coop.settle(*coop.fire(settled, now=MONDAY + timedelta(days=11), source=SRC, calendar=CAL))  # type: ignore[misc]
    assert signals == []
    assert published["published"][0] == opened()[1][0].id


def test_a_holiday_added_later_moves_the_times_when_the_timer_comes_and_is_announced_once() -> None:
    rec, _ = opened()  # due Thursday 10:00, warning Wednesday 10:00
    later = CAL.with_holidays([date(2030, 3, 6)])  # Wednesday becomes a holiday
    at_old_warning = datetime(2030, 3, 6, 10, 0, tzinfo=KST)
    moved, events = coop.settle(*coop.fire(rec, now=at_old_warning, source=SRC, calendar=later))  # type: ignore[misc]
    assert [e.type for e in events] == [c.DEADLINE_COOPERATION_SET]
    assert datetime.fromisoformat(events[0].data["due_at"]) == datetime(2030, 3, 8, 10, 0, tzinfo=KST)
    assert moved["next_fire_at"] == coop.iso(datetime(2030, 3, 7, 10, 0, tzinfo=KST))
    again, none = coop.settle(*coop.fire(moved, now=at_old_warning, source=SRC, calendar=later))  # type: ignore[misc]
    assert none == []
    _, warned = coop.fire(again, now=datetime(2030, 3, 7, 10, 0, tzinfo=KST), source=SRC, calendar=later)
    assert [e.type for e in warned] == [c.DEADLINE_COOPERATION_WARNING]
