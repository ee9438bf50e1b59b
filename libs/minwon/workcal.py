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

The statutory calendar is the default one. A department may keep other
hours (부서 근무시간): other weekdays, other periods, open on holidays, or round
the clock (24시간·연중무휴); :func:`hours_from_spec` reads them from their JSON
form and :meth:`WorkCalendar.with_hours` applies them. A period ending at
``00:00`` ends at midnight (24:00), so ``00:00–00:00`` is the whole day.
"""

from __future__ import annotations

import functools
import re
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
MIDNIGHT = time(0)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Monday to Friday (0–4).
DEFAULT_WEEKDAYS: frozenset[int] = frozenset(range(5))
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
    the like); ``periods`` the working periods of a day, in local wall time (the
    last may end at ``00:00``, midnight); ``years`` the years the calendar answers
    for; ``weekdays`` the working weekdays (0 = Monday); ``open_on_holidays``
    makes holidays working days like any other.
    """

    holidays_extra: frozenset[date] = frozenset()
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    tz: str = SEOUL
    years: range = field(default=DEFAULT_YEARS)
    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    open_on_holidays: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays_extra", frozenset(self.holidays_extra))
        object.__setattr__(self, "periods", tuple((start, end) for start, end in self.periods))
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("working weekdays are a non-empty set of 0 (Monday) to 6 (Sunday)")
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

    @property
    def around_the_clock(self) -> bool:
        """Every hour of every day is working time (24시간·연중무휴)."""
        return self.periods == ((MIDNIGHT, MIDNIGHT),) and len(self.weekdays) == 7 and self.open_on_holidays

    def with_holidays(self, dates: Iterable[date]) -> WorkCalendar:
        """A new calendar that also treats ``dates`` as holidays."""
        return replace(self, holidays_extra=self.holidays_extra | frozenset(dates))

    def with_hours(self, hours: WorkingHours | None) -> WorkCalendar:
        """This calendar (its zone, years and added holidays) with other working hours; None keeps it."""
        if hours is None:
            return self
        return replace(self, periods=hours.periods, weekdays=hours.weekdays, open_on_holidays=hours.open_on_holidays)

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
        """A working weekday (Monday to Friday by default) and not a holiday (unless open on holidays)."""
        if d.weekday() not in self.weekdays:
            return False
        if self.open_on_holidays:
            self._check_year(d)
            return True
        return not self.is_holiday(d)

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
        return tuple((datetime.combine(d, start, self.zone), self._end_on(d, end)) for start, end in self.periods)

    def start_of_day(self, d: date) -> datetime:
        """The start of ``d``'s first working period (09:00), aware."""
        return datetime.combine(d, self.periods[0][0], self.zone)

    def end_of_day(self, d: date) -> datetime:
        """The end of ``d``'s last working period (18:00; midnight after ``d`` for 24:00), aware."""
        return self._end_on(d, self.periods[-1][1])

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

    def _end_on(self, d: date, end: time) -> datetime:
        """A period's end on ``d``: ``00:00`` is the midnight that ends ``d``."""
        if end == MIDNIGHT:
            return datetime.combine(d + ONE_DAY, MIDNIGHT, self.zone)
        return datetime.combine(d, end, self.zone)

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
    for i, (start, end) in enumerate(periods):
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working periods are local wall times without tzinfo")
        if previous_end == MIDNIGHT:
            raise ValueError("only the last working period may end at midnight")
        if end == MIDNIGHT and i == len(periods) - 1:  # until 24:00
            if previous_end is not None and start < previous_end:
                raise ValueError("working periods must be in order and must not overlap")
            previous_end = end
            continue
        if not start < end:
            raise ValueError(f"a working period must end after it starts: {start}–{end}")
        if previous_end is not None and start < previous_end:
            raise ValueError("working periods must be in order and must not overlap")
        previous_end = end


def _span(start: time, end: time) -> timedelta:
    finish = datetime.combine(date.min + ONE_DAY, end) if end == MIDNIGHT else datetime.combine(date.min, end)
    return finish - datetime.combine(date.min, start)


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


# ------------------------------------------------------------ a department's hours


class HoursError(ValueError):
    """Working hours that do not read; ``field`` names the part to fix (``periods.1``; empty: the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WorkingHours:
    """A department's working hours (부서 근무시간), as :meth:`WorkCalendar.with_hours` applies them."""

    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    open_on_holidays: bool = False

    @property
    def around_the_clock(self) -> bool:
        return self == ALWAYS_OPEN

    def to_spec(self) -> dict[str, object]:
        """The JSON form :func:`hours_from_spec` reads back."""
        return {
            "always_open": self.around_the_clock,
            "days": [WEEKDAYS[i] for i in sorted(self.weekdays)],
            "periods": [
                f"{start:%H:%M}-{'24:00' if end == MIDNIGHT else f'{end:%H:%M}'}" for start, end in self.periods
            ],
            "open_on_holidays": self.open_on_holidays,
        }


#: Round the clock, every day of the year (24시간·연중무휴).
ALWAYS_OPEN = WorkingHours(((MIDNIGHT, MIDNIGHT),), frozenset(range(7)), True)
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")
_SPEC_KEYS = frozenset({"always_open", "days", "periods", "open_on_holidays"})


def hours_from_spec(spec: Mapping[str, object] | None) -> WorkingHours | None:
    """Read ``{"days": ["mon", ...], "periods": ["09:00-12:00", ...], "open_on_holidays": false}``
    or ``{"always_open": true}``; None (or ``{}``) is the statutory calendar's hours.
    Refuses with :class:`HoursError` naming the field."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise HoursError("", "working hours are an object")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise HoursError(str(unknown[0]), f"unknown field {unknown[0]!r}; one of {', '.join(sorted(_SPEC_KEYS))}")
    if not spec:
        return None
    always = spec.get("always_open", False)
    if not isinstance(always, bool):
        raise HoursError("always_open", "always_open is true or false")
    if always:
        return ALWAYS_OPEN
    holidays_open = spec.get("open_on_holidays", False)
    if not isinstance(holidays_open, bool):
        raise HoursError("open_on_holidays", "open_on_holidays is true or false")
    days = _spec_days(spec.get("days", list(WEEKDAYS[:5])))
    periods = _spec_periods(spec.get("periods", ["09:00-12:00", "13:00-18:00"]))
    hours = WorkingHours(periods, days, holidays_open)
    return None if hours == WorkingHours() else hours  # the statutory hours have one form: None


def _spec_days(value: object) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise HoursError("days", f"days is a non-empty list of {', '.join(WEEKDAYS)}")
    days: set[int] = set()
    for i, day in enumerate(value):
        if not isinstance(day, str) or day.strip().lower() not in WEEKDAYS:
            raise HoursError(f"days.{i}", f"{day!r} is not one of {', '.join(WEEKDAYS)}")
        days.add(WEEKDAYS.index(day.strip().lower()))
    return frozenset(days)


def _spec_periods(value: object) -> tuple[tuple[time, time], ...]:
    if not isinstance(value, list) or not value or len(value) > 6:
        raise HoursError("periods", "periods is a list of 1 to 6 'HH:MM-HH:MM' spans")
    periods = []
    for i, span in enumerate(value):
        parts = span.split("-") if isinstance(span, str) else []
        clocks = [_CLOCK.fullmatch(p.strip()) for p in parts]
        if len(clocks) != 2 or not all(clocks) or any(int(m[1]) == 24 and m[2] != "00" for m in clocks if m):
            raise HoursError(f"periods.{i}", f"{span!r} is not a span like '09:00-18:00'")
        (start_h, start_m), (end_h, end_m) = ((int(m[1]), int(m[2])) for m in clocks if m)
        if start_h == 24:
            raise HoursError(f"periods.{i}", "a period starts before 24:00")
        periods.append((time(start_h, start_m), MIDNIGHT if end_h == 24 else time(end_h, end_m)))
    for i in range(len(periods)):
        try:
            _check_periods(tuple(periods[: i + 1]))
        except ValueError as error:
            raise HoursError(f"periods.{i}", str(error)) from None
    return tuple(periods)
