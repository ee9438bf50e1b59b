"""Factories for the deadline unit tests: instants in Seoul time, a calendar, clocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from minwon.workcal import WorkCalendar
from services.deadline import domain as d

KST = ZoneInfo("Asia/Seoul")
CAL = WorkCalendar()


def kst(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An aware instant in Seoul time."""
    return datetime(year, month, day, hour, minute, tzinfo=KST)


def a_clock(received_at: datetime | None = None, kind: str = "inquiry_system", **options: Any) -> d.Clock:
    """A clock opened with the default calendar: by default a 7-day inquiry received Tue 2026-03-10 10:00."""
    calendar = options.pop("calendar", CAL)
    return d.open_clock(received_at or kst(2026, 3, 10, 10), kind, calendar, **options)
