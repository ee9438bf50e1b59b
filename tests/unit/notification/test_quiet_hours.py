"""Quiet hours (21:00–08:00 Asia/Seoul and non-working days) for SMS and AlimTalk; exemptions."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from minwon.workcal import WorkCalendar
from services.notification import domain

SEOUL = ZoneInfo("Asia/Seoul")
CAL = WorkCalendar()
POLICY = domain.Policy()
PLAIN = {"legal": False, "urgent": False}


def kst(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (kst(2026, 11, 18, 22, 0), kst(2026, 11, 19, 8)),  # Wednesday night → Thursday 08:00
        (kst(2026, 11, 18, 21, 0), kst(2026, 11, 19, 8)),  # 21:00 is already quiet
        (kst(2026, 11, 19, 7, 59), kst(2026, 11, 19, 8)),  # early Thursday → 08:00 the same day
        (kst(2026, 11, 20, 23, 30), kst(2026, 11, 23, 8)),  # Friday night → Monday 08:00
        (kst(2026, 11, 21, 12, 0), kst(2026, 11, 23, 8)),  # Saturday noon → Monday
        (kst(2026, 11, 22, 10, 0), kst(2026, 11, 23, 8)),  # Sunday
        (kst(2026, 12, 24, 22, 0), kst(2026, 12, 28, 8)),  # Christmas (Fri) and the weekend
        (kst(2026, 9, 23, 21, 30), kst(2026, 9, 28, 8)),  # Chuseok 24–26 and Sunday
        (kst(2026, 2, 27, 22, 0), kst(2026, 3, 3, 8)),  # weekend, then the substitute holiday (대체공휴일) 3/2
        (kst(2026, 6, 3, 9, 0), kst(2026, 6, 4, 8)),  # local election day
    ],
)
def test_deferral_instants(now, until) -> None:
    assert domain.quiet_until(domain.SMS, PLAIN, now, CAL, POLICY) == until
    assert domain.quiet_until(domain.ALIMTALK, PLAIN, now, CAL, POLICY) == until


@pytest.mark.parametrize("now", [kst(2026, 11, 18, 8, 0), kst(2026, 11, 18, 12, 0), kst(2026, 11, 18, 20, 59)])
def test_allowed_times(now) -> None:
    assert domain.quiet_until(domain.SMS, PLAIN, now, CAL, POLICY) is None


def test_an_instant_in_utc_is_judged_in_seoul() -> None:
    utc = datetime(2026, 11, 18, 13, 0, tzinfo=ZoneInfo("UTC"))  # 22:00 in Seoul
    assert domain.quiet_until(domain.LMS, PLAIN, utc, CAL, POLICY) == kst(2026, 11, 19, 8)


def test_legally_required_and_urgent_notices_are_exempt() -> None:
    night = kst(2026, 11, 21, 23, 0)
    assert domain.quiet_until(domain.SMS, {"legal": True, "urgent": False}, night, CAL, POLICY) is None
    assert domain.quiet_until(domain.ALIMTALK, {"legal": False, "urgent": True}, night, CAL, POLICY) is None


def test_other_channels_are_never_held() -> None:
    night = kst(2026, 11, 21, 23, 0)
    for channel in (domain.EMAIL, domain.POST, domain.STAFF_MESSAGE):
        assert domain.quiet_until(channel, PLAIN, night, CAL, POLICY) is None


def test_an_administrator_added_holiday_counts() -> None:
    cal = CAL.with_holidays([date(2026, 11, 19)])
    assert domain.quiet_until(domain.SMS, PLAIN, kst(2026, 11, 18, 22), cal, POLICY) == kst(2026, 11, 20, 8)


def test_quiet_hours_are_configurable() -> None:
    weekends_allowed = domain.Policy(quiet_start=time(22), quiet_end=time(9), quiet_on_non_working_days=False)
    assert domain.quiet_until(domain.SMS, PLAIN, kst(2026, 11, 21, 12), CAL, weekends_allowed) is None
    assert domain.quiet_until(domain.SMS, PLAIN, kst(2026, 11, 21, 22), CAL, weekends_allowed) == kst(2026, 11, 22, 9)
    daytime_quiet = domain.Policy(quiet_start=time(12), quiet_end=time(13), quiet_on_non_working_days=False)
    assert domain.quiet_until(domain.SMS, PLAIN, kst(2026, 11, 18, 12, 30), CAL, daytime_quiet) == kst(2026, 11, 18, 13)
    assert domain.quiet_until(domain.SMS, PLAIN, kst(2026, 11, 18, 23), CAL, daytime_quiet) is None
