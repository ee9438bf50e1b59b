"""The working calendar: holidays, working periods, and counting working time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from minwon.workcal import WorkCalendar

from ._helpers import CAL, KST, kst


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2026, 3, 10), True, "an ordinary Tuesday"),
        (date(2026, 3, 14), False, "Saturday"),
        (date(2026, 3, 15), False, "Sunday"),
        (date(2026, 2, 16), False, "Seollal eve 2026"),
        (date(2026, 2, 17), False, "Seollal 2026"),
        (date(2026, 2, 18), False, "Seollal second day 2026"),
        (date(2026, 2, 19), True, "the Thursday after Seollal 2026"),
        (date(2026, 3, 2), False, "substitute holiday for 3·1절 on a Sunday"),
        (date(2026, 5, 25), False, "substitute holiday for Buddha's Birthday"),
        (date(2026, 6, 3), False, "local election day 2026"),
        (date(2026, 8, 17), False, "substitute holiday for Liberation Day on a Saturday"),
        (date(2026, 9, 24), False, "Chuseok eve 2026"),
        (date(2026, 9, 25), False, "Chuseok 2026"),
        (date(2026, 9, 28), True, "Chuseok's Saturday (9/26) gives no substitute in 2026"),
        (date(2026, 10, 5), False, "substitute holiday for National Foundation Day"),
        (date(2026, 12, 25), False, "Christmas"),
        (date(2026, 12, 31), True, "the last day of the year is a working day"),
        (date(2027, 1, 1), False, "New Year's Day 2027"),
        (date(2027, 2, 8), False, "Seollal second day 2027"),
        (date(2027, 2, 9), False, "substitute holiday for Seollal 2027 (Sunday overlap)"),
        (date(2027, 2, 10), True, "the Wednesday after Seollal 2027"),
        (date(2027, 9, 14), False, "Chuseok eve 2027"),
        (date(2027, 9, 16), False, "Chuseok second day 2027"),
        (date(2027, 9, 17), True, "the Friday after Chuseok 2027"),
        (date(2027, 12, 27), False, "substitute holiday for Christmas 2027 on a Saturday"),
    ],
)
def test_working_days_follow_the_public_holidays(day: date, working: bool, why: str) -> None:
    assert CAL.is_working_day(day) is working, why


def test_a_holiday_has_a_name_and_a_saturday_is_not_a_holiday() -> None:
    assert CAL.holiday_name(date(2026, 3, 2)) == "Alternative holiday for Independence Movement Day"
    assert CAL.holiday_name(date(2026, 3, 14)) is None
    assert not CAL.is_holiday(date(2026, 3, 14))


def test_with_holidays_returns_a_new_calendar_and_leaves_the_old_one() -> None:
    temporary = date(2026, 3, 13)  # an imagined cabinet-designated 임시공휴일
    added = CAL.with_holidays([temporary])
    assert not added.is_working_day(temporary)
    assert added.holiday_name(temporary) == "Added holiday"
    assert CAL.is_working_day(temporary)
    assert added != CAL
    assert added.with_holidays([temporary]) == added


def test_a_calendar_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CAL.holidays_extra = frozenset({date(2026, 3, 13)})  # type: ignore[misc]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 10), date(2026, 3, 11)),
        (date(2026, 3, 13), date(2026, 3, 16)),  # Friday → Monday
        (date(2026, 2, 13), date(2026, 2, 19)),  # over Seollal 2026
        (date(2026, 12, 31), date(2027, 1, 4)),  # over New Year and a weekend
        (date(2027, 2, 5), date(2027, 2, 10)),  # over Seollal 2027 and its substitute day
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert CAL.next_working_day(day) == expected


def test_counting_working_days() -> None:
    assert CAL.nth_working_day(date(2026, 3, 10), 1) == date(2026, 3, 10)
    assert CAL.nth_working_day(date(2026, 3, 14), 1) == date(2026, 3, 16)  # Saturday: Monday is day 1
    assert CAL.nth_working_day(date(2026, 3, 10), 7) == date(2026, 3, 18)
    assert CAL.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 16)
    assert CAL.add_working_days(date(2026, 3, 13), 0) == date(2026, 3, 13)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 20)) == 3
    assert CAL.working_days_between(date(2026, 2, 20), date(2026, 2, 13)) == 0
    with pytest.raises(ValueError):
        CAL.nth_working_day(date(2026, 3, 10), 0)


def test_working_periods_are_aware_and_empty_on_a_holiday() -> None:
    periods = CAL.working_periods(date(2026, 3, 10))
    assert periods == ((kst(2026, 3, 10, 9), kst(2026, 3, 10, 12)), (kst(2026, 3, 10, 13), kst(2026, 3, 10, 18)))
    assert all(p.utcoffset() == timedelta(hours=9) for pair in periods for p in pair)
    assert CAL.working_periods(date(2026, 2, 17)) == ()
    assert CAL.end_of_day(date(2026, 3, 10)) == kst(2026, 3, 10, 18)
    assert CAL.start_of_day(date(2026, 3, 10)) == kst(2026, 3, 10, 9)
    assert CAL.hours_per_day == timedelta(hours=8)


@pytest.mark.parametrize(
    ("start", "hours", "expected", "why"),
    [
        (kst(2026, 3, 10, 10), 3, kst(2026, 3, 10, 14), "over lunch"),
        (kst(2026, 3, 10, 7), 3, kst(2026, 3, 10, 12), "before 09:00 starts at 09:00"),
        (kst(2026, 3, 10, 12, 30), 3, kst(2026, 3, 10, 16), "in lunch starts at 13:00"),
        (kst(2026, 3, 10, 19), 3, kst(2026, 3, 11, 12), "after 18:00 starts next morning"),
        (kst(2026, 3, 14, 10), 3, kst(2026, 3, 16, 12), "Saturday starts Monday"),
        (kst(2026, 3, 10, 13), 5, kst(2026, 3, 10, 18), "using up the day exactly gives 18:00, not normalised"),
        (kst(2026, 3, 10, 9), 3, kst(2026, 3, 10, 12), "using up the morning exactly gives 12:00"),
        (kst(2026, 3, 10, 10), 8, kst(2026, 3, 11, 10), "one working day"),
        (kst(2026, 2, 13, 16), 3, kst(2026, 2, 19, 10), "over Seollal 2026"),
        (kst(2026, 3, 10, 10, 15), timedelta(minutes=30), kst(2026, 3, 10, 10, 45), "a timedelta"),
        (kst(2026, 3, 10, 19), 0, kst(2026, 3, 10, 19), "zero hours is the start itself"),
    ],
)
def test_add_working_hours(start: datetime, hours: float | timedelta, expected: datetime, why: str) -> None:
    assert CAL.add_working_hours(start, hours) == expected, why


def test_add_working_hours_converts_other_zones_to_seoul() -> None:
    start_utc = datetime(2026, 3, 10, 1, tzinfo=UTC)  # 10:00 KST
    result = CAL.add_working_hours(start_utc, 3)
    assert result == kst(2026, 3, 10, 14)
    assert result.tzinfo == KST


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (kst(2026, 3, 10, 10, 30), kst(2026, 3, 10, 10, 30)),
        (kst(2026, 3, 10, 9), kst(2026, 3, 10, 9)),
        (kst(2026, 3, 10, 8), kst(2026, 3, 10, 9)),
        (kst(2026, 3, 10, 12), kst(2026, 3, 10, 13)),
        (kst(2026, 3, 10, 12, 59), kst(2026, 3, 10, 13)),
        (kst(2026, 3, 10, 18), kst(2026, 3, 11, 9)),
        (kst(2026, 3, 13, 18), kst(2026, 3, 16, 9)),  # Friday 18:00 → Monday
        (kst(2026, 3, 14, 11), kst(2026, 3, 16, 9)),  # Saturday
        (kst(2026, 2, 13, 18, 30), kst(2026, 2, 19, 9)),  # into Seollal
        (kst(2026, 12, 31, 18), kst(2027, 1, 4, 9)),  # year end
    ],
)
def test_normalise_moves_non_working_instants_to_the_next_working_period(instant: datetime, expected: datetime) -> None:
    assert CAL.normalise(instant) == expected
    assert CAL.is_working_time(CAL.normalise(instant))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (kst(2026, 3, 10, 10), kst(2026, 3, 10, 14), timedelta(hours=3)),
        (kst(2026, 3, 10, 12, 15), kst(2026, 3, 10, 12, 45), timedelta()),
        (kst(2026, 3, 13, 17), kst(2026, 3, 16, 10), timedelta(hours=2)),
        (kst(2026, 2, 13, 9), kst(2026, 2, 19, 18), timedelta(hours=16)),
        (kst(2026, 3, 10, 14), kst(2026, 3, 10, 10), -timedelta(hours=3)),
    ],
)
def test_working_time_between(a: datetime, b: datetime, expected: timedelta) -> None:
    assert CAL.working_time_between(a, b) == expected


@pytest.mark.parametrize(
    ("end", "hours", "expected"),
    [
        (kst(2026, 3, 10, 16), 2, kst(2026, 3, 10, 14)),
        (kst(2026, 3, 10, 14), 3, kst(2026, 3, 10, 10)),
        (kst(2026, 3, 18, 18), 16, kst(2026, 3, 16, 18)),  # lands on 18:00, the earliest such instant
        (kst(2026, 3, 10, 16), 3, kst(2026, 3, 10, 12)),  # lands on 12:00 before the 13:00 start
        (kst(2026, 3, 10, 20), 1, kst(2026, 3, 10, 17)),
        (kst(2026, 2, 19, 10), 2, kst(2026, 2, 13, 17)),  # back over Seollal
    ],
)
def test_subtract_working_hours_gives_the_earliest_instant_with_that_much_left(
    end: datetime, hours: int, expected: datetime
) -> None:
    start = CAL.subtract_working_hours(end, hours)
    assert start == expected
    assert CAL.working_time_between(start, end) == timedelta(hours=hours)


def test_refuses_naive_datetimes_negative_hours_and_years_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_hours(datetime(2026, 3, 10, 10), 1)
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_hours(kst(2026, 3, 10, 10), -1)
    with pytest.raises(ValueError, match="outside"):
        WorkCalendar(years=range(2026, 2027)).next_working_day(date(2026, 12, 31))


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(12), time(9)),),
        ((time(9), time(13)), (time(12), time(18))),
    ],
)
def test_refuses_bad_working_periods(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(periods=periods)


def test_custom_working_periods_change_the_count() -> None:
    short_day = WorkCalendar(periods=((time(10), time(16)),))
    assert short_day.hours_per_day == timedelta(hours=6)
    assert short_day.add_working_hours(kst(2026, 3, 10, 15), 2) == kst(2026, 3, 11, 11)
