"""compute_due: how a legal period becomes a due instant."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.deadline import domain as d

from ._helpers import CAL, kst


@pytest.mark.parametrize(
    ("received", "period", "due", "why"),
    [
        # 즉시: 3 working hours from receipt
        (kst(2026, 3, 10, 10), "immediate", kst(2026, 3, 10, 14), "over lunch"),
        (kst(2026, 3, 10, 17), "immediate", kst(2026, 3, 11, 11), "into the next day"),
        (kst(2026, 3, 10, 7, 30), "immediate", kst(2026, 3, 10, 12), "before 09:00"),
        (kst(2026, 3, 10, 12, 30), "immediate", kst(2026, 3, 10, 16), "during lunch"),
        (kst(2026, 3, 10, 20), "immediate", kst(2026, 3, 11, 12), "after 18:00"),
        (kst(2026, 3, 14, 11), "immediate", kst(2026, 3, 16, 12), "on a Saturday"),
        (kst(2026, 3, 2, 11), "immediate", kst(2026, 3, 3, 12), "on a substitute holiday"),
        (kst(2026, 2, 13, 16), "immediate", kst(2026, 2, 19, 10), "before Seollal 2026"),
        # up to 5 days: working hours, 1 day = 8 hours
        (kst(2026, 3, 10, 10), "1d", kst(2026, 3, 11, 10), "one day is 8 working hours"),
        (kst(2026, 3, 9, 9), "5d", kst(2026, 3, 13, 18), "exactly used up: 18:00, not normalised"),
        (kst(2026, 3, 10, 10), "5d", kst(2026, 3, 17, 10), "five days from mid-morning"),
        (kst(2026, 9, 18, 14), "5d", kst(2026, 9, 29, 14), "across Chuseok 2026"),
        (kst(2026, 3, 10, 10), "16h", kst(2026, 3, 12, 10), "an hours period"),
        (kst(2026, 12, 31, 15), "2d", kst(2027, 1, 5, 15), "across the year end"),
        # 6 days or more: days, receipt day counted, due 18:00
        (kst(2026, 3, 10, 10), "6d", kst(2026, 3, 17, 18), "six days counts days"),
        (kst(2026, 3, 10, 10), "7d", kst(2026, 3, 18, 18), "receipt day is day 1"),
        (kst(2026, 3, 10, 20), "7d", kst(2026, 3, 18, 18), "after hours on a working day still day 1"),
        (kst(2026, 3, 14, 10), "7d", kst(2026, 3, 24, 18), "Saturday: Monday is day 1"),
        (kst(2026, 3, 15, 10), "7d", kst(2026, 3, 24, 18), "Sunday: Monday is day 1"),
        (kst(2026, 3, 2, 10), "7d", kst(2026, 3, 11, 18), "substitute holiday: the next day is day 1"),
        (kst(2026, 2, 9, 10), "14d", kst(2026, 3, 4, 18), "across Seollal 2026 and 3·1절's substitute day"),
        (kst(2027, 2, 4, 10), "7d", kst(2027, 2, 16, 18), "across Seollal 2027 and its substitute day"),
        (kst(2027, 9, 13, 10), "7d", kst(2027, 9, 24, 18), "across Chuseok 2027"),
        (kst(2026, 12, 28, 10), "7d", kst(2027, 1, 6, 18), "across the year end"),
        # weeks, months, years: the calendar, first day included
        (kst(2026, 3, 10, 10), "1m", kst(2026, 4, 9, 18), "1m: last day 04-09"),
        (kst(2026, 4, 6, 10), "1m", kst(2026, 5, 6, 18), "last day 05-05 is Children's Day"),
        (kst(2026, 5, 24, 10), "2w", kst(2026, 6, 8, 18), "last day Saturday 06-06 (Memorial Day)"),
        (kst(2026, 1, 31, 10), "1m", kst(2026, 3, 3, 18), "no Feb 31: Feb 28 (Sat), then 3·1절 substitute"),
        (kst(2026, 3, 10, 10), "1y", kst(2027, 3, 9, 18), "1y"),
        (kst(2026, 3, 10, 10), "2m", kst(2026, 5, 11, 18), "last day Saturday 05-09"),
    ],
)
def test_compute_due(received: datetime, period: str, due: datetime, why: str) -> None:
    assert d.compute_due(received, period, CAL) == due, why


@pytest.mark.parametrize(
    ("first", "period", "last"),
    [
        (date(2026, 3, 10), "1m", date(2026, 4, 9)),
        (date(2026, 1, 31), "1m", date(2026, 2, 28)),
        (date(2026, 1, 28), "1m", date(2026, 2, 27)),
        (date(2028, 1, 30), "1m", date(2028, 2, 29)),
        (date(2026, 12, 15), "1m", date(2027, 1, 14)),
        (date(2028, 2, 29), "1y", date(2029, 2, 28)),
        (date(2026, 3, 10), "2w", date(2026, 3, 23)),
    ],
)
def test_calendar_last_day_includes_the_first_day(first: date, period: str, last: date) -> None:
    assert d.calendar_last_day(first, d.Period.parse(period)) == last


def test_five_days_count_hours_and_six_days_count_days() -> None:
    received = kst(2026, 3, 10, 10)
    assert d.compute_due(received, "5d", CAL) == kst(2026, 3, 17, 10)
    assert d.compute_due(received, "6d", CAL) == kst(2026, 3, 17, 18)


def test_an_admin_added_holiday_moves_the_due_date() -> None:
    received = kst(2026, 3, 10, 10)
    with_day_off = CAL.with_holidays([date(2026, 3, 13)])
    assert d.compute_due(received, "7d", CAL) == kst(2026, 3, 18, 18)
    assert d.compute_due(received, "7d", with_day_off) == kst(2026, 3, 19, 18)
    assert d.compute_due(received, "immediate", with_day_off.with_holidays([date(2026, 3, 10)])) == kst(2026, 3, 11, 12)


def test_a_receipt_in_another_zone_is_counted_in_seoul_time() -> None:
    # 2026-03-13 23:30 UTC is Saturday 08:30 in Seoul: Monday is day 1.
    received = datetime(2026, 3, 13, 23, 30, tzinfo=UTC)
    due = d.compute_due(received, "7d", CAL)
    assert due == kst(2026, 3, 24, 18)
    assert due is not None and due.utcoffset() is not None and due.utcoffset().total_seconds() == 9 * 3600


def test_a_naive_receipt_is_refused() -> None:
    with pytest.raises(d.InvalidInstant) as caught:
        d.compute_due(datetime(2026, 3, 10, 10), "7d", CAL)
    assert caught.value.field == "received_at"
