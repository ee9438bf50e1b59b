"""The working calendar (근무일 달력): which days and hours count as working time.

A :class:`WorkCalendar` answers the questions the statutory periods ask:
is this a working day (근무일), when does the next working period start, what
instant is N working hours (근무시간) after another. It knows Korea's public
holidays (공휴일) from the ``holidays`` package — including substitute holidays
(대체공휴일) and election days (선거일) — treats Saturdays and Sundays as
non-working, and takes extra dates an administrator adds at run time, such as a
temporary holiday the cabinet designates (임시공휴일).

Pure: no I/O, no clock reads. Every instant in and out is a timezone-aware
``datetime``; results are in the calendar's zone (``Asia/Seoul``). A calendar is
immutable: :meth:`WorkCalendar.with_holidays` returns a new one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

SEOUL = "Asia/Seoul"
#: 09:00–12:00 and 13:00–18:00: eight working hours a day.
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
#: The years a calendar answers for; outside them it refuses rather than guess.
DEFAULT_YEARS = range(2000, 2100)

ONE_DAY = timedelta(days=1)
WorkingPeriod = tuple[datetime, datetime]


class OutsideCalendar(ValueError):
    """A day outside the years a calendar answers for."""


@functools.cache
def korean_public_holidays(year: int) -> Mapping[date, str]:
    """Korea's public holidays (공휴일) of ``year``, substitute holidays included.

    ``observed=True`` makes the package add 대체공휴일 ("Alternative holiday for
    ..."); election days and temporary holidays already declared when the
    package was released are in its data. Sundays are not listed: they are
    non-working as weekend days.
    """
    return MappingProxyType(dict(holidays.country_holidays("KR", years=year, observed=True)))


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours (근무일·근무시간) in one time zone.

    ``holidays_extra`` are administrator-added non-working dates (임시공휴일 and
    the like); ``periods`` the working periods of a day, in local wall time;
    ``years`` the years the calendar answers for.
    """

    holidays_extra: frozenset[date] = frozenset()
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    tz: str = SEOUL
    years: range = field(default=DEFAULT_YEARS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays_extra", frozenset(self.holidays_extra))
        object.__setattr__(self, "periods", tuple((start, end) for start, end in self.periods))
        if isinstance(self.tz, ZoneInfo):
            object.__setattr__(self, "tz", self.tz.key)
        _check_periods(self.periods)
        ZoneInfo(self.tz)  # fail now on an unknown zone, not at the first question

    # ------------------------------------------------------------ days

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def hours_per_day(self) -> timedelta:
        """The working time of one working day (8 hours by default)."""
        return sum((_span(start, end) for start, end in self.periods), timedelta())

    def with_holidays(self, dates: Iterable[date]) -> WorkCalendar:
        """A new calendar that also treats ``dates`` as holidays."""
        return replace(self, holidays_extra=self.holidays_extra | frozenset(dates))

    def holiday_name(self, d: date) -> str | None:
        """The holiday's name (public, substitute, election or added), or None."""
        self._check_year(d)
        if d in self.holidays_extra:
            return "Added holiday"
        return korean_public_holidays(d.year).get(d)

    def is_holiday(self, d: date) -> bool:
        """A public, substitute, election or administrator-added holiday (weekends aside)."""
        return self.holiday_name(d) is not None

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday and not a holiday."""
        return d.weekday() < 5 and not self.is_holiday(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.working_day_on_or_after(d + ONE_DAY)

    def working_day_on_or_after(self, d: date) -> date:
        """``d`` if it is a working day, else the next one."""
        while not self.is_working_day(d):
            d += ONE_DAY
        return d

    def nth_working_day(self, first: date, n: int) -> date:
        """The ``n``-th working day counting from ``first`` (itself day 1 if it is a working day)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        d = self.working_day_on_or_after(first)
        for _ in range(n - 1):
            d = self.next_working_day(d)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``d`` itself not counted; ``n=0`` gives ``d``)."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        return d if n == 0 else self.nth_working_day(d + ONE_DAY, n)

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days lie in ``first..last``, both included (0 if ``last < first``)."""
        return sum(1 for d in _dates(first, last) if self.is_working_day(d))

    # ------------------------------------------------------------ instants

    def local(self, instant: datetime) -> datetime:
        """``instant`` in the calendar's zone; a naive datetime is refused."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got {instant!r}")
        return instant.astimezone(self.zone)

    def working_periods(self, d: date) -> tuple[WorkingPeriod, ...]:
        """The working periods of ``d`` as aware (start, end) pairs; none on a non-working day."""
        if not self.is_working_day(d):
            return ()
        return tuple(
            (datetime.combine(d, start, self.zone), datetime.combine(d, end, self.zone))
            for start, end in self.periods
        )

    def start_of_day(self, d: date) -> datetime:
        """The start of ``d``'s first working period (09:00), aware."""
        return datetime.combine(d, self.periods[0][0], self.zone)

    def end_of_day(self, d: date) -> datetime:
        """The end of ``d``'s last working period (18:00), aware."""
        return datetime.combine(d, self.periods[-1][1], self.zone)

    def is_working_time(self, instant: datetime) -> bool:
        """Whether ``instant`` lies inside a working period (start included, end excluded)."""
        at = self.local(instant)
        return any(start <= at < end for start, end in self.working_periods(at.date()))

    def normalise(self, instant: datetime) -> datetime:
        """``instant`` if it is working time, else the start of the next working period.

        An instant exactly at the end of a period (12:00, 18:00) is not working
        time, so 18:00 becomes 09:00 of the next working day. Used for when a
        warning or escalation is delivered, never for due times.
        """
        at = self.local(instant)
        for start, end in self._periods_from(at.date()):
            if at < end:
                return max(at, start)
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def add_working_hours(self, start: datetime, hours: float | timedelta) -> datetime:
        """The instant ``hours`` of working time after ``start``.

        A start outside working time begins at the next working period. The
        result is not normalised: using up exactly the end of a period gives
        that end (12:00 or 18:00). Zero hours gives ``start`` unchanged.
        """
        remaining = _as_duration(hours)
        at = self.local(start)
        if not remaining:
            return at
        for period_start, period_end in self._periods_from(at.date()):
            if period_end <= at:
                continue
            cursor = max(at, period_start)
            available = period_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def subtract_working_hours(self, end: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant from which exactly ``hours`` of working time remain until ``end``.

        Not normalised: when the count lands on the start of a period, the
        answer is the end of the period before (18:00 the day before rather than
        09:00), the first instant from which that much remains. Zero hours
        gives ``end`` unchanged.
        """
        remaining = _as_duration(hours)
        at = self.local(end)
        if not remaining:
            return at
        for period_start, period_end in self._periods_back_from(at.date()):
            if period_start >= at:
                continue
            top = min(at, period_end)
            available = top - period_start
            if remaining < available:
                return top - remaining
            remaining -= available
            if not remaining:
                return self._previous_period_end(period_start)
        raise AssertionError("unreachable: _periods_back_from never ends")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """The working time in ``[a, b)``; negative when ``b`` is before ``a``."""
        start, end = self.local(a), self.local(b)
        if end < start:
            return -self.working_time_between(b, a)
        total = timedelta()
        for d in _dates(start.date(), end.date()):
            for period_start, period_end in self.working_periods(d):
                overlap = min(period_end, end) - max(period_start, start)
                if overlap > timedelta():
                    total += overlap
        return total

    # ------------------------------------------------------------ helpers

    def _check_year(self, d: date) -> None:
        if d.year not in self.years:
            raise OutsideCalendar(f"{d} is outside the calendar's years {self.years.start}–{self.years.stop - 1}")

    def _periods_from(self, d: date) -> Iterator[WorkingPeriod]:
        while True:
            yield from self.working_periods(d)
            d += ONE_DAY

    def _periods_back_from(self, d: date) -> Iterator[WorkingPeriod]:
        while True:
            yield from reversed(self.working_periods(d))
            d -= ONE_DAY

    def _previous_period_end(self, instant: datetime) -> datetime:
        """The end of the last working period ending at or before ``instant``."""
        for _, end in self._periods_back_from(instant.date()):
            if end <= instant:
                return end
        raise AssertionError("unreachable: _periods_back_from never ends")  # pragma: no cover


def _check_periods(periods: tuple[tuple[time, time], ...]) -> None:
    if not periods:
        raise ValueError("a working day needs at least one working period")
    previous_end: time | None = None
    for start, end in periods:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working periods are local wall times without tzinfo")
        if not start < end:
            raise ValueError(f"a working period must end after it starts: {start}–{end}")
        if previous_end is not None and start < previous_end:
            raise ValueError("working periods must be in order and must not overlap")
        previous_end = end


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def _dates(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += ONE_DAY


def _as_duration(hours: float | timedelta) -> timedelta:
    amount = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    if amount < timedelta():
        raise ValueError(f"working time must not be negative, got {hours!r}")
    return amount
