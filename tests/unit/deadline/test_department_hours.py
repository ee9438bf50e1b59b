"""A department's working hours (부서 근무시간): the target and SLA signals count on them,
the legal period keeps the statutory calendar."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from minwon.workcal import ALWAYS_OPEN, HoursError, WorkCalendar, WorkingHours, hours_from_spec
from services.deadline import domain as d
from services.deadline import tracking

from ._helpers import CAL, a_clock, kst

ROUND_THE_CLOCK = CAL.with_hours(ALWAYS_OPEN)


# ---------------------------------------------------------------- the calendar


def test_round_the_clock_counts_nights_weekends_and_holidays() -> None:
    assert ROUND_THE_CLOCK.around_the_clock and not CAL.around_the_clock
    assert ROUND_THE_CLOCK.hours_per_day == timedelta(hours=24)
    friday_evening = kst(2026, 3, 13, 22)
    assert ROUND_THE_CLOCK.add_working_hours(friday_evening, 8) == kst(2026, 3, 14, 6)
    # 2026-03-02 is the substitute holiday for 삼일절: still a working day round the clock
    assert CAL.is_holiday(date(2026, 3, 2))
    assert ROUND_THE_CLOCK.is_working_day(date(2026, 3, 2))
    assert ROUND_THE_CLOCK.add_working_hours(kst(2026, 2, 28, 12), 48) == kst(2026, 3, 2, 12)
    assert ROUND_THE_CLOCK.working_time_between(kst(2026, 3, 13, 18), kst(2026, 3, 16, 9)) == timedelta(hours=63)


def test_a_period_ending_at_midnight_runs_into_the_next_day() -> None:
    evening = CAL.with_hours(WorkingHours(((time(18), time(0)),), frozenset(range(7)), True))
    assert evening.hours_per_day == timedelta(hours=6)
    assert evening.end_of_day(date(2026, 3, 10)) == kst(2026, 3, 11, 0)
    assert evening.add_working_hours(kst(2026, 3, 10, 23), 2) == kst(2026, 3, 11, 19)
    assert evening.subtract_working_hours(kst(2026, 3, 11, 19), 2) == kst(2026, 3, 10, 23)
    assert evening.normalise(kst(2026, 3, 11, 0)) == kst(2026, 3, 11, 18)
    assert not evening.is_working_time(kst(2026, 3, 11, 0))


def test_weekend_hours_without_holidays() -> None:
    weekend = CAL.with_hours(hours_from_spec({"days": ["sat", "sun"], "periods": ["10:00-16:00"]}))
    assert weekend.is_working_day(date(2026, 3, 14)) and not weekend.is_working_day(date(2026, 3, 10))
    assert weekend.add_working_hours(kst(2026, 3, 10, 9), 8) == kst(2026, 3, 15, 12)
    # added holidays of the statutory calendar are kept by the department's calendar
    assert not CAL.with_holidays([date(2026, 3, 14)]).with_hours(weekend_hours()).is_working_day(date(2026, 3, 14))


def weekend_hours() -> WorkingHours:
    hours = hours_from_spec({"days": ["sat", "sun"], "periods": ["10:00-16:00"]})
    assert hours is not None
    return hours


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"days": []}, "days"),
        ({"days": ["mon", "funday"]}, "days.1"),
        ({"periods": ["09:00-12:00", "11:00-18:00"]}, "periods.1"),
        ({"periods": ["18:00-09:00"]}, "periods.0"),
        ({"periods": ["9-18"]}, "periods.0"),
        ({"periods": ["00:00-24:00", "01:00-02:00"]}, "periods.1"),
        ({"periods": ["24:00-24:00"]}, "periods.0"),
        ({"periods": "09:00-18:00"}, "periods"),
        ({"always_open": "yes"}, "always_open"),
        ({"open_on_holidays": 1}, "open_on_holidays"),
        ({"weekends": True}, "weekends"),
    ],
)
def test_hours_that_do_not_read_name_their_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(HoursError) as refused:
        hours_from_spec(spec)
    assert refused.value.field == field


def test_the_hours_have_one_form() -> None:
    assert hours_from_spec(None) is None and hours_from_spec({}) is None
    assert hours_from_spec({"days": ["mon", "tue", "wed", "thu", "fri"]}) is None  # the statutory hours
    assert hours_from_spec({"always_open": True}) is ALWAYS_OPEN
    assert (
        hours_from_spec(
            {"periods": ["00:00-24:00"], "days": list("mon tue wed thu fri sat sun".split()), "open_on_holidays": True}
        )
        == ALWAYS_OPEN
    )
    assert ALWAYS_OPEN.to_spec() == {
        "always_open": True,
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "periods": ["00:00-24:00"],
        "open_on_holidays": True,
    }
    assert hours_from_spec(weekend_hours().to_spec()) == weekend_hours()
    with pytest.raises(ValueError):
        WorkCalendar(weekdays=frozenset())


# ---------------------------------------------------------------- the clock


def test_sla_signals_count_on_the_department_hours_and_the_legal_period_does_not_move() -> None:
    friday = kst(2026, 3, 13, 17)
    statutory = a_clock(friday, "other", forwarding_clock=True)
    always = d.with_department_hours(statutory, ALWAYS_OPEN, CAL)
    assert statutory.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 16, 17)  # 1 h Friday + 7 h Monday
    assert always.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 14, 1)  # 8 hours round the clock
    assert statutory.signal_at(d.SLA_FORWARDING) == kst(2026, 3, 13, 18)
    assert always.signal_at(d.SLA_FORWARDING) == kst(2026, 3, 13, 18)
    legal = (d.WARNING, d.BREACHED, d.escalation(1), d.escalation(2), d.escalation(3), d.PROGRESS_NOTICE)
    for name in legal:
        assert always.signal_at(name) == statutory.signal_at(name), name
    assert always.due_at == statutory.due_at == kst(2026, 3, 16, 11)  # 즉시: 3 statutory working hours
    assert always.signal_at(d.SLA_FIRST_RESPONSE) == statutory.signal_at(d.SLA_FIRST_RESPONSE)


def test_stage_signals_of_a_service_complaint_count_on_the_department_hours() -> None:
    friday = kst(2026, 3, 13, 17)
    statutory = a_clock(friday, "service_complaint")
    always = d.with_department_hours(statutory, ALWAYS_OPEN, CAL)
    assert dict(statutory.stage_targets)["assign"] == kst(2026, 3, 16, 17)
    assert dict(always.stage_targets)["assign"] == kst(2026, 3, 14, 1)
    assert dict(always.stage_targets)["investigate"] == kst(2026, 3, 14, 17)  # 3 days: 24 working hours
    assert dict(always.stage_targets)["notify"] == kst(2026, 3, 20, 0)  # 7 days: 7 days, to midnight
    assert always.signal_at("stage.assign") == kst(2026, 3, 14, 1)
    assert always.due_at == statutory.due_at


def test_a_service_standard_target_counts_on_the_department_hours() -> None:
    friday = kst(2026, 3, 13, 17)
    legal = d.Period.parse("7d")
    target = d.ServiceTarget(period=d.Period.parse("1d"))
    assert d.service_target_at(friday, legal, target, CAL) == kst(2026, 3, 16, 17)
    assert d.service_target_at(friday, legal, target, CAL, department=ROUND_THE_CLOCK) == kst(2026, 3, 14, 1)
    half = d.ServiceTarget(ratio=0.5)  # half the legal working time: (1 h on Friday + 6 × 8 h) / 2
    at = d.service_target_at(friday, legal, half, CAL, department=ROUND_THE_CLOCK)
    assert at == friday + timedelta(hours=24.5)


def test_a_clock_keeps_its_department_hours_in_its_document() -> None:
    clock = d.with_department_hours(a_clock(kst(2026, 3, 13, 17), "other"), ALWAYS_OPEN, CAL)
    doc = d.clock_to_doc(clock)
    assert doc["department_hours"]["always_open"] is True
    again = d.clock_from_doc(doc, CAL)
    assert again.hours == ALWAYS_OPEN and again.schedule == clock.schedule
    with pytest.raises(d.InvalidHours) as refused:
        d.clock_from_doc({**doc, "department_hours": {"periods": ["nine to five"]}}, CAL)
    assert refused.value.field == "department_hours.periods.0"


def test_routing_publishes_the_hours_and_the_record_applies_them_before_or_after_receipt() -> None:
    received = {"kind": "other", "received_at": kst(2026, 3, 13, 17).isoformat()}
    routed = {"department": "one-stop", "department_name": "민원실", "department_hours": ALWAYS_OPEN.to_spec()}
    at, now = kst(2026, 3, 13, 17, 5), kst(2026, 3, 13, 17, 5)
    opened, _ = tracking.on_received(
        None, received, receipt_no="R-1", at=at, calendar=CAL, types={}, now=now, source="t"
    )
    assert opened is not None
    after, _ = tracking.on_routed(opened, routed, receipt_no="R-1", at=at, calendar=CAL)
    assert after is not None and after.clock is not None
    assert after.clock.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 14, 1)
    # routing heard first: the hours wait for the clock
    early, _ = tracking.on_routed(None, routed, receipt_no="R-2", at=at, calendar=CAL)
    assert early is not None and early.department_hours == ALWAYS_OPEN.to_spec()
    later, _ = tracking.on_received(
        early, received, receipt_no="R-2", at=at, calendar=CAL, types={}, now=now, source="t"
    )
    assert later is not None and later.clock is not None
    assert later.clock.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 14, 1)
    # the stored record loads with the same hours
    loaded = tracking.load("R-2", tracking.dump(later), CAL)
    assert loaded is not None and loaded.clock is not None and loaded.clock.hours == ALWAYS_OPEN
    # a reassignment to a department on the statutory hours brings them back
    back, _ = tracking.on_assigned(
        later,
        {"department": "roads", "department_hours": None, "handler": {"id": "h1", "name": "김", "contact": "051"}},
        receipt_no="R-2",
        at=at,
        calendar=CAL,
    )
    assert back is not None and back.clock is not None and back.clock.hours is None
    assert back.clock.signal_at(d.SLA_ASSIGNMENT) == kst(2026, 3, 16, 17)


def test_hours_that_do_not_read_are_recorded_and_the_known_hours_kept() -> None:
    opened, _ = tracking.on_received(
        None,
        {"kind": "other", "received_at": kst(2026, 3, 13, 17).isoformat()},
        receipt_no="R-3",
        at=kst(2026, 3, 13, 17),
        calendar=CAL,
        types={},
        now=kst(2026, 3, 13, 17),
        source="t",
    )
    assert opened is not None
    bad, _ = tracking.on_routed(
        opened,
        {"department": "x", "department_hours": {"days": ["someday"]}},
        receipt_no="R-3",
        at=kst(2026, 3, 13, 17),
        calendar=CAL,
    )
    assert bad is not None and bad.clock is not None and bad.clock.hours is None
    assert bad.refused[-1]["field"] == "department_hours.days.0"
