"""Deadline rules: the legal processing period of a complaint and the clock that watches it.

Pure: no I/O, no clock reads (``at`` and ``now`` are passed in), every instant
timezone-aware and within the calendar's years (:data:`EARLIEST` to :data:`END`).
A :class:`Clock` is immutable; each command returns a new one. The working
calendar (근무일 달력) comes from :mod:`minwon.workcal`.

Glossary: processing period / 처리기간; receipt / 접수; immediately / 즉시
(3 working hours); working hours / 근무시간; supplementation / 보완 (a pause);
extension / 연장; pre-warning / 사전예고; escalation / 상향보고; service
standard / 민원서비스 이행표준 (the department's shorter target); progress
notice / 중간통지 (30 days after receipt); department hours / 부서 근무시간 (the
calendar of the service-standard target, the SLA and the stage signals; the legal
period keeps the statutory calendar). How each rule is read: docs/deadline-rules.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo

from minwon import statutory
from minwon.workcal import (
    DEFAULT_YEARS,
    SEOUL,
    HoursError,
    OutsideCalendar,
    WorkCalendar,
    WorkingHours,
    hours_from_spec,
)

ONE_DAY = timedelta(days=1)
HOURS_PER_DAY = 8  # 1 day = 8 working hours (시행령, 처리기간의 계산)
LONGEST_HOURS_PERIOD_DAYS = 5  # up to 5 days: working hours; 6 or more: days
STATUTORY_TYPES_PATH = statutory.CATALOGUE_PATH
#: The instants a clock accepts, ``EARLIEST`` included and ``END`` not: the years the working calendar counts.
EARLIEST = datetime(DEFAULT_YEARS.start, 1, 1, tzinfo=ZoneInfo(SEOUL))
END = datetime(DEFAULT_YEARS.stop, 1, 1, tzinfo=ZoneInfo(SEOUL))


# ---------------------------------------------------------------- errors


class DeadlineError(ValueError):
    """A deadline rule refused the input; ``field`` names the input to fix.

    ``status`` is the HTTP status an API maps it to (422 unless a subclass says
    otherwise) and ``code`` the error code of the JSON body.
    """

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidPeriod(DeadlineError):
    """Not a period this module can count (``3h``, ``14d``, ``1m``, ``immediate`` ...)."""


class InvalidInstant(DeadlineError):
    """A naive datetime, or an instant out of order (before receipt, before the last change)."""


class InvalidPause(DeadlineError):
    """A pause that does not end after it starts."""


class InvalidExtension(DeadlineError):
    """An extension without a reason, or longer than the original period."""


class InvalidTarget(DeadlineError):
    """A service-standard target that is not shorter than the legal period."""


class InvalidHours(DeadlineError):
    """A department's working hours that do not read."""


class UnknownKind(DeadlineError):
    """Not one of :class:`Kind`."""


class UnknownStatutoryType(DeadlineError):
    """A statutory complaint without a known type (민원처리기준표)."""


class InvalidStatutoryTypes(DeadlineError):
    """The statutory-type table does not parse."""


class UnknownSignal(DeadlineError):
    """Not a signal name this clock can emit."""


class ClockConflict(DeadlineError):
    """The clock's state forbids the command (HTTP 409)."""

    status = 409
    code = "conflict"


class ClockClosed(ClockConflict):
    """The clock is closed: nothing changes or fires any more."""


class ClockPaused(ClockConflict):
    """The clock is paused: resume it first."""


class ClockNotPaused(ClockConflict):
    """Resume without a pause."""


class ExtensionNeedsConsent(ClockConflict):
    """A second extension needs the citizen's consent."""


class ExtensionTooLate(ClockConflict):
    """The period has already run out: it can no longer be extended."""


# ---------------------------------------------------------------- kinds and periods


class Kind(StrEnum):
    """Kinds of complaint (민원의 종류), by their code names."""

    STATUTORY = "statutory"  # 법정민원 (인허가·등록·증명): per type
    INQUIRY_LAW = "inquiry_law"  # 질의민원 (법령): 14 days
    INQUIRY_SYSTEM = "inquiry_system"  # 질의민원 (제도·절차): 7 days
    SUGGESTION = "suggestion"  # 건의민원: 14 days
    OTHER = "other"  # 기타민원: 즉시
    GRIEVANCE = "grievance"  # 고충민원: 7 days
    PETITION = "petition"  # 진정: 7 days
    SERVICE_COMPLAINT = "service_complaint"  # 서비스 불만 (charter): notify within 7 days


class Unit(StrEnum):
    HOURS = "h"
    DAYS = "d"
    WEEKS = "w"
    MONTHS = "m"
    YEARS = "y"


class Basis(StrEnum):
    """How a period is counted: working hours, working days, or the calendar."""

    HOURS = "hours"
    DAYS = "days"
    CALENDAR = "calendar"


IMMEDIATE = "immediate"
_IMMEDIATE_WORDS = frozenset({IMMEDIATE, "즉시"})
_PERIOD_PATTERN = re.compile(r"(\d{1,5})([hdwmy])")
# About two years of each unit: no statutory period comes near it.
_LONGEST = {Unit.HOURS: 4000, Unit.DAYS: 500, Unit.WEEKS: 104, Unit.MONTHS: 24, Unit.YEARS: 2}


@dataclass(frozen=True)
class Period:
    """A processing period (처리기간): ``3h``, ``40h``, ``14d``, ``2w``, ``1m``, ``1y`` or ``immediate`` (즉시)."""

    amount: int
    unit: Unit
    immediate: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", Unit(self.unit))
        except ValueError:
            raise InvalidPeriod("period", f"unknown unit {self.unit!r}: one of h, d, w, m, y") from None
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount < 1:
            raise InvalidPeriod("period", f"a period is a whole number of at least 1, got {self.amount!r}")
        if self.amount > _LONGEST[self.unit]:
            raise InvalidPeriod("period", f"{self.amount}{self.unit} is longer than any processing period")
        if self.immediate and (self.amount, self.unit) != (3, Unit.HOURS):
            raise InvalidPeriod("period", "immediate (즉시) is 3 working hours")

    @classmethod
    def parse(cls, value: str | Period, *, field: str = "period") -> Period:
        """``"14d"`` → ``Period(14, DAYS)``; ``"immediate"``/``"즉시"`` → 3 working hours."""
        if isinstance(value, Period):
            return value
        if not isinstance(value, str):
            raise InvalidPeriod(field, f"a period is a string like '14d', got {value!r}")
        text = value.strip().lower()
        if text in _IMMEDIATE_WORDS:
            return cls(3, Unit.HOURS, immediate=True)
        match = _PERIOD_PATTERN.fullmatch(text)
        if match is None:
            raise InvalidPeriod(field, f"{value!r} is not a period: use 3h, 14d, 2w, 1m, 1y or immediate")
        try:
            return cls(int(match[1]), Unit(match[2]))
        except InvalidPeriod as error:
            raise InvalidPeriod(field, str(error)) from None

    @property
    def basis(self) -> Basis:
        """Hours for ``h``, ``immediate`` and up to 5 days; days for 6 days or more; else the calendar."""
        if self.unit is Unit.HOURS:
            return Basis.HOURS
        if self.unit is Unit.DAYS:
            return Basis.HOURS if self.amount <= LONGEST_HOURS_PERIOD_DAYS else Basis.DAYS
        return Basis.CALENDAR

    @property
    def working_hours(self) -> timedelta:
        """The working time of an hour-counted period (1 day = 8 working hours)."""
        if self.basis is not Basis.HOURS:
            raise ValueError(f"{self} is not counted in working hours")
        hours = self.amount if self.unit is Unit.HOURS else self.amount * HOURS_PER_DAY
        return timedelta(hours=hours)

    def __str__(self) -> str:
        return IMMEDIATE if self.immediate else f"{self.amount}{self.unit.value}"


#: The legal period of each kind; statutory complaints take theirs from their type.
KIND_PERIODS: Mapping[Kind, Period | None] = MappingProxyType(
    {
        Kind.STATUTORY: None,
        Kind.INQUIRY_LAW: Period(14, Unit.DAYS),
        Kind.INQUIRY_SYSTEM: Period(7, Unit.DAYS),
        Kind.SUGGESTION: Period(14, Unit.DAYS),
        Kind.OTHER: Period.parse(IMMEDIATE),
        Kind.GRIEVANCE: Period(7, Unit.DAYS),
        Kind.PETITION: Period(7, Unit.DAYS),
        Kind.SERVICE_COMPLAINT: Period(7, Unit.DAYS),
    }
)
#: Kinds that are daily-life complaints (생활민원) unless the caller says otherwise.
DAILY_LIFE_KINDS = frozenset({Kind.OTHER})
#: Stage targets of a complaint about the service (charter), each counted from receipt.
SERVICE_COMPLAINT_STAGES: tuple[tuple[str, Period], ...] = (
    ("assign", Period(1, Unit.DAYS)),
    ("investigate", Period(3, Unit.DAYS)),
    ("notify", Period(7, Unit.DAYS)),
)


def parse_kind(value: str | Kind) -> Kind:
    """``"grievance"`` → ``Kind.GRIEVANCE``; anything else is :class:`UnknownKind`."""
    try:
        return Kind(value)
    except ValueError:
        choices = ", ".join(k.value for k in Kind)
        raise UnknownKind("kind", f"unknown kind {value!r}; one of {choices}") from None


# ---------------------------------------------------------------- statutory types


@dataclass(frozen=True)
class StatutoryType:
    """One line of the processing-standard table (민원처리기준표)."""

    code: str
    name_ko: str
    name_en: str
    period: Period
    department_hint: str
    aliases: tuple[str, ...] = ()


def statutory_types_from_json(data: Any) -> Mapping[str, StatutoryType]:
    """The table from the parsed catalogue (:mod:`minwon.statutory`), keyed by code, each with its period."""
    try:
        entries = statutory.parse(data)
    except statutory.CatalogueError as error:
        raise InvalidStatutoryTypes(error.field, str(error)) from None
    table: dict[str, StatutoryType] = {}
    for i, entry in enumerate(entries):
        try:
            period = Period.parse(entry.period, field=f"types[{i}].period")
        except InvalidPeriod as error:
            raise InvalidStatutoryTypes(error.field, str(error)) from None
        table[entry.code] = StatutoryType(
            code=entry.code,
            name_ko=entry.name_ko,
            name_en=entry.name_en,
            period=period,
            department_hint=entry.department_hint,
            aliases=entry.aliases,
        )
    return MappingProxyType(table)


def load_statutory_types(text: str) -> Mapping[str, StatutoryType]:
    """Parse the text of the catalogue file (the caller reads the file)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidStatutoryTypes("types", f"not JSON: {error}") from None
    return statutory_types_from_json(data)


def find_statutory_type(types: Mapping[str, StatutoryType], code: str | None) -> StatutoryType:
    """The type named ``code`` (its code, Korean name or an alias; spaces and case ignored), or
    :class:`UnknownStatutoryType` naming ``statutory_type``."""
    if code is not None and code in types:
        return types[code]
    wanted = statutory.fold(code or "")
    for entry in types.values():
        if wanted and wanted in {statutory.fold(n) for n in (entry.code, entry.name_ko, *entry.aliases)}:
            return entry
    raise UnknownStatutoryType("statutory_type", f"unknown statutory type {code!r} (민원처리기준표)")


def legal_period(
    kind: Kind | str, *, statutory_type: StatutoryType | None = None, period: Period | str | None = None
) -> Period:
    """The legal period: an explicit ``period`` first, then the statutory type's, then the kind's."""
    kind = parse_kind(kind)
    if period is not None:
        return Period.parse(period)
    if kind is Kind.STATUTORY:
        if statutory_type is None:
            raise UnknownStatutoryType("statutory_type", "a statutory complaint names its type (민원처리기준표)")
        return statutory_type.period
    if statutory_type is not None:
        raise UnknownStatutoryType("statutory_type", f"only statutory complaints have a type, not {kind}")
    default = KIND_PERIODS[kind]
    assert default is not None
    return default


# ---------------------------------------------------------------- counting a period


@dataclass(frozen=True)
class Pause:
    """An excluded period (보완 and the like), ``ended_at`` None while it lasts."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Extension:
    """An extension (연장) by ``by``, granted at ``at`` for ``reason``."""

    at: datetime
    by: Period
    reason: str
    citizen_consent: bool = False


@dataclass(frozen=True)
class _Count:
    """Where a count stands: the due instant, how it is counted, and its last day before roll-over."""

    due: datetime
    basis: Basis
    last_day: date


def calendar_last_day(first: date, period: Period) -> date:
    """The last day of a week/month/year period counted from ``first`` (first day included).

    2026-03-10 + 1m → 2026-04-09. When the final month has no such day, the
    period ends on that month's last day (2026-01-31 + 1m → 2026-02-28).
    """
    if period.unit is Unit.WEEKS:
        return first + timedelta(weeks=period.amount) - ONE_DAY
    months = period.amount * (12 if period.unit is Unit.YEARS else 1)
    if period.unit not in (Unit.MONTHS, Unit.YEARS):
        raise ValueError(f"{period} is not a calendar period")
    year, month = divmod(first.month - 1 + months, 12)
    year += first.year
    month += 1
    last_of_month = _last_day_of_month(year, month)
    if first.day > last_of_month.day:
        return last_of_month
    return date(year, month, first.day) - ONE_DAY


def _last_day_of_month(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - ONE_DAY


def _count(start: datetime, period: Period, cal: WorkCalendar) -> _Count:
    """Count ``period`` from ``start`` (a receipt, or 09:00 of the day an extension starts)."""
    basis = period.basis
    if basis is Basis.HOURS:
        due = cal.add_working_hours(start, period.working_hours)
        return _Count(due, basis, due.date())
    if basis is Basis.DAYS:
        last = cal.nth_working_day(start.date(), period.amount)
        return _Count(cal.end_of_day(last), basis, last)
    last = calendar_last_day(start.date(), period)
    return _Count(cal.end_of_day(cal.working_day_on_or_after(last)), basis, last)


def _after_pause(count: _Count, pause: Pause, cal: WorkCalendar) -> _Count:
    """Hours: the working time inside the pause is added back. Days/calendar: the days
    up to and including the pause-start day stay used; counting resumes on the
    resume day as the next day. A pause that starts after the period ran out changes nothing."""
    assert pause.ended_at is not None
    start, end = cal.local(pause.started_at), cal.local(pause.ended_at)
    if count.basis is Basis.HOURS:
        if start >= count.due:
            return count
        due = cal.add_working_hours(count.due, cal.working_time_between(start, end))
        return _Count(due, Basis.HOURS, due.date())
    paused_on = start.date()
    if paused_on >= count.last_day:
        return count
    resume_on = max(end.date(), paused_on + ONE_DAY)  # a same-day resume counts from the next day
    if count.basis is Basis.DAYS:
        remaining = cal.working_days_between(paused_on + ONE_DAY, count.last_day)
        last = cal.nth_working_day(resume_on, remaining)
        return _Count(cal.end_of_day(last), Basis.DAYS, last)
    last = resume_on + (count.last_day - paused_on) - ONE_DAY
    return _Count(cal.end_of_day(cal.working_day_on_or_after(last)), Basis.CALENDAR, last)


def _after_extension(count: _Count, by: Period, cal: WorkCalendar) -> _Count:
    """An extension is counted from the working day after the current due date."""
    return _count(cal.start_of_day(cal.next_working_day(count.due.date())), by, cal)


def _run(
    received_at: datetime,
    period: Period,
    cal: WorkCalendar,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[Extension] = (),
) -> _Count | None:
    """Fold the pauses and extensions, in time order, into the count; None while paused."""
    count = _count(cal.local(received_at), period, cal)
    for change in _in_time_order(pauses, extensions):
        if isinstance(change, Extension):
            count = _after_extension(count, change.by, cal)
        elif change.ended_at is None:
            return None
        else:
            count = _after_pause(count, change, cal)
    return count


def _in_time_order(pauses: Iterable[Pause], extensions: Iterable[Extension]) -> list[Pause | Extension]:
    changes: list[Pause | Extension] = [*extensions, *pauses]
    # At the same instant an extension comes first: a clock cannot be extended while paused.
    return sorted(changes, key=lambda c: (c.at, 0) if isinstance(c, Extension) else (c.started_at, 1))


def compute_due(
    received_at: datetime,
    period: Period | str,
    calendar: WorkCalendar,
    *,
    pauses: Iterable[Pause] = (),
    extensions: Iterable[Extension] = (),
) -> datetime | None:
    """The legal due instant (처리기한) of a period received at ``received_at``.

    Up to 5 days: working hours from receipt. 6 days or more: working days, the
    receipt day being day 1 if it is a working day, due at 18:00 of the last.
    Weeks, months, years: the calendar, first day included, rolled to the next
    working day, due at 18:00. None while a pause is open.
    """
    received_at, period = _instant(received_at, "received_at"), Period.parse(period)
    with _counted("received_at"):
        count = _run(received_at, period, calendar, pauses, extensions)
    return None if count is None else count.due


# ---------------------------------------------------------------- service-standard targets


@dataclass(frozen=True)
class ServiceTarget:
    """A department's shorter internal target (민원서비스 이행표준): a ``ratio`` of the
    legal period's working time, or its own ``period``."""

    ratio: float | None = None
    period: Period | None = None

    def __post_init__(self) -> None:
        if (self.ratio is None) == (self.period is None):
            raise InvalidTarget("target", "give either a ratio or a period")
        if self.ratio is not None and not 0 < self.ratio <= 1:
            raise InvalidTarget("target", f"a ratio is in (0, 1], got {self.ratio}")


def service_target_at(
    received_at: datetime,
    legal: Period,
    target: ServiceTarget,
    calendar: WorkCalendar,
    *,
    pauses: Iterable[Pause] = (),
    department: WorkCalendar | None = None,
) -> datetime | None:
    """When the department's target falls: ``ratio`` × the legal working time after receipt,
    or its own period counted like a legal one. The legal period is counted on ``calendar``,
    the target on the ``department``'s hours (the statutory calendar when None). Pauses
    count as for the legal period; extensions do not move it. None while paused."""
    dept = department or calendar
    received = calendar.local(_instant(received_at, "received_at"))
    legal_due = _count(received, legal, calendar).due
    if target.period is not None:
        count = _count(received, target.period, dept)
        if count.due > legal_due:
            raise InvalidTarget("target", f"the target {target.period} is longer than the legal period {legal}")
    else:
        assert target.ratio is not None
        due = dept.add_working_hours(received, calendar.working_time_between(received, legal_due) * target.ratio)
        count = _Count(due, Basis.HOURS, due.date())
    for pause in sorted(pauses, key=lambda p: p.started_at):
        if pause.ended_at is None:
            return None
        count = _after_pause(count, pause, dept)
    return count.due


def stage_targets(
    received_at: datetime, calendar: WorkCalendar, *, pauses: Iterable[Pause] = ()
) -> tuple[tuple[str, datetime], ...]:
    """The charter's stages for a complaint about the service: assign ≤1 day,
    investigate ≤3 days, notify ≤7 days, each counted from receipt. Empty while paused."""
    pauses = tuple(pauses)
    targets = []
    for name, period in SERVICE_COMPLAINT_STAGES:
        due = compute_due(received_at, period, calendar, pauses=pauses)
        if due is None:
            return ()
        targets.append((name, due))
    return tuple(targets)


# ---------------------------------------------------------------- signals

WARNING = "warning"
BREACHED = "breached"
SLA_ASSIGNMENT = "sla.assignment"
SLA_FORWARDING = "sla.forwarding"
SLA_FIRST_RESPONSE = "sla.first_response"
PROGRESS_NOTICE = "progress_notice.30d"
STAGES = tuple(f"stage.{name}" for name, _ in SERVICE_COMPLAINT_STAGES)
"""A complaint about the service: one signal per charter stage not reached in time (assign: a
handler assigned; investigate: the first response given; notify: the complaint answered)."""


def escalation(level: int) -> str:
    """The signal name of escalation ``level``: ``escalation.1`` ..."""
    return f"escalation.{level}"


@dataclass(frozen=True)
class EscalationStep:
    """One rung of the escalation ladder: ``after`` working time past the warning or the due time."""

    level: int
    anchor: Literal["warning", "due"]
    after: timedelta = timedelta()
    recipients: tuple[str, ...] = ()


DEFAULT_LADDER: tuple[EscalationStep, ...] = (
    EscalationStep(1, "warning", timedelta(), ("handler",)),
    EscalationStep(2, "due", timedelta(), ("team_lead",)),
    EscalationStep(3, "due", timedelta(hours=HOURS_PER_DAY), ("section_chief", "complaint_office")),
)


@dataclass(frozen=True)
class SignalPolicy:
    """When a clock warns, escalates and reports missed commitments.

    ``warning_window``: warn when this much working time or less remains
    (사전예고: 2 working days). ``assignment_within`` and ``forwarding_within`` are
    working time after receipt; ``first_response_within`` wall-clock time;
    ``progress_notice_after`` calendar time.
    """

    warning_window: timedelta = timedelta(hours=2 * HOURS_PER_DAY)
    ladder: tuple[EscalationStep, ...] = DEFAULT_LADDER
    assignment_within: timedelta = timedelta(hours=HOURS_PER_DAY)
    forwarding_within: timedelta = timedelta(hours=1)
    first_response_within: timedelta = timedelta(hours=24)
    progress_notice_after: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        levels = [step.level for step in self.ladder]
        if len(set(levels)) != len(levels) or any(level < 1 for level in levels):
            raise DeadlineError("policy.ladder", "escalation levels are distinct and at least 1")
        if any(step.after < timedelta() or step.anchor not in ("warning", "due") for step in self.ladder):
            raise DeadlineError("policy.ladder", "a step is anchored at 'warning' or 'due', never before it")
        durations = (
            self.warning_window,
            self.assignment_within,
            self.forwarding_within,
            self.first_response_within,
            self.progress_notice_after,
        )
        if any(d < timedelta() for d in durations):
            raise DeadlineError("policy", "durations must not be negative")

    @property
    def signal_names(self) -> frozenset[str]:
        """Every signal name a clock under this policy can emit."""
        fixed = {WARNING, BREACHED, SLA_ASSIGNMENT, SLA_FORWARDING, SLA_FIRST_RESPONSE, PROGRESS_NOTICE, *STAGES}
        return frozenset(fixed | {escalation(step.level) for step in self.ladder})


DEFAULT_POLICY = SignalPolicy()


@dataclass(frozen=True)
class Signal:
    """Something the clock asks to be done at ``at`` (a warning, an escalation, a missed SLA ...)."""

    name: str
    at: datetime
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Emitted:
    """A signal already emitted, and when."""

    name: str
    at: datetime


def warning_at(
    received_at: datetime, due_at: datetime, calendar: WorkCalendar, window: timedelta = DEFAULT_POLICY.warning_window
) -> datetime:
    """The first instant at which ``window`` working time or less remains, normalised
    (an 18:00 becomes 09:00 of the next working day); never before receipt."""
    starts = calendar.subtract_working_hours(due_at, window)
    return calendar.normalise(max(starts, calendar.local(received_at)))


def build_schedule(
    received_at: datetime,
    due_at: datetime | None,
    calendar: WorkCalendar,
    *,
    policy: SignalPolicy = DEFAULT_POLICY,
    daily_life: bool = False,
    forwarding_clock: bool = False,
    department: WorkCalendar | None = None,
) -> tuple[Signal, ...]:
    """Every signal of a clock, in time order (ties keep the order listed here).

    Deadline signals (warning, breach, escalations) only while there is a due
    time; escalations and the progress notice are normalised to working time,
    the breach and the SLA instants are not. The legal signals count on
    ``calendar``; the forwarding and assignment SLAs on the ``department``'s
    working hours (the statutory calendar when None).
    """
    received = calendar.local(received_at)
    dept = department or calendar
    signals: list[Signal] = []
    if forwarding_clock:
        signals.append(Signal(SLA_FORWARDING, dept.add_working_hours(received, policy.forwarding_within)))
    signals.append(Signal(SLA_ASSIGNMENT, dept.add_working_hours(received, policy.assignment_within)))
    if daily_life:
        first_response = received.astimezone(UTC) + policy.first_response_within
        signals.append(Signal(SLA_FIRST_RESPONSE, calendar.local(first_response)))
    if due_at is not None:
        warn = warning_at(received, due_at, calendar, policy.warning_window)
        signals.append(Signal(WARNING, warn, ("handler",)))
        signals.append(Signal(BREACHED, calendar.local(due_at)))
        for step in sorted(policy.ladder, key=lambda s: s.level):
            anchor = warn if step.anchor == "warning" else due_at
            at = calendar.normalise(calendar.add_working_hours(anchor, step.after))
            signals.append(Signal(escalation(step.level), at, step.recipients))
    signals.append(Signal(PROGRESS_NOTICE, calendar.normalise(received + policy.progress_notice_after)))
    return tuple(sorted(signals, key=lambda s: s.at))


# ---------------------------------------------------------------- the clock


@dataclass(frozen=True)
class Clock:
    """The processing-period clock of one complaint: its legal due time and the
    signals scheduled around it. Build one with :func:`open_clock`."""

    received_at: datetime
    kind: Kind
    period: Period
    basis: Basis
    due_at: datetime | None  # None while paused
    schedule: tuple[Signal, ...]
    pauses: tuple[Pause, ...] = ()
    extensions: tuple[Extension, ...] = ()
    emitted: tuple[Emitted, ...] = ()
    statutory_type: str | None = None
    target: ServiceTarget | None = None
    target_at: datetime | None = None
    stage_targets: tuple[tuple[str, datetime], ...] = ()
    daily_life: bool = False
    forwarding_clock: bool = False
    policy: SignalPolicy = DEFAULT_POLICY
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    hours: WorkingHours | None = None
    """The handling department's working hours (None: the statutory calendar's)."""
    breached_at: datetime | None = None
    """When the legal period ran out, once it has: a fact that a later pause, extension or
    resumption does not undo (the future clock moves, the breach stays)."""

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].ended_at is None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def breach_at(self) -> datetime | None:
        """The instant the legal period is (or was) breached: the due time itself, or the
        recorded breach once the period has run out."""
        return self.breached_at or self.due_at

    def breached_by(self, now: datetime) -> bool:
        """Has the legal period run out by ``now`` (whatever happened to the clock since)?"""
        at = self.breach_at
        return at is not None and now >= at and (self.closed_at is None or self.closed_at > at)

    @property
    def warning_at(self) -> datetime | None:
        return self.signal_at(WARNING)

    def signal_at(self, name: str) -> datetime | None:
        """When signal ``name`` is scheduled, or None."""
        return next((s.at for s in self.schedule if s.name == name), None)

    @property
    def emitted_names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.emitted)


def open_clock(
    received_at: datetime,
    kind: Kind | str,
    calendar: WorkCalendar,
    *,
    period: Period | str | None = None,
    statutory_type: StatutoryType | None = None,
    target: ServiceTarget | None = None,
    daily_life: bool | None = None,
    forwarding_clock: bool = False,
    policy: SignalPolicy = DEFAULT_POLICY,
) -> Clock:
    """Start the clock at receipt (접수).

    ``period`` overrides the legal period of the kind or statutory type;
    ``daily_life`` (생활민원: first response within 24 hours) defaults by kind;
    ``forwarding_clock`` marks mail or fax receipts (forward within 1 working hour).
    """
    kind = parse_kind(kind)
    chosen = legal_period(kind, statutory_type=statutory_type, period=period)
    clock = Clock(
        received_at=calendar.local(_instant(received_at, "received_at")),
        kind=kind,
        period=chosen,
        basis=chosen.basis,
        due_at=None,
        schedule=(),
        statutory_type=statutory_type.code if statutory_type else None,
        target=target,
        daily_life=kind in DAILY_LIFE_KINDS if daily_life is None else daily_life,
        forwarding_clock=forwarding_clock,
        policy=policy,
    )
    with _counted("received_at"):
        return recompute(clock, calendar)


def department_calendar(calendar: WorkCalendar, hours: WorkingHours | None) -> WorkCalendar:
    """The calendar of a department's targets and SLAs: ``calendar`` (its added holidays
    included) with the department's hours; the statutory calendar itself when None."""
    return calendar.with_hours(hours)


def parse_hours(spec: Any, *, field: str = "department_hours") -> WorkingHours | None:
    """A department's hours as routing publishes them (``WorkingHours.to_spec``); None: statutory."""
    try:
        return hours_from_spec(spec)
    except HoursError as error:
        raise InvalidHours(f"{field}.{error.field}" if error.field else field, str(error)) from None


def with_department_hours(clock: Clock, hours: WorkingHours | None, calendar: WorkCalendar) -> Clock:
    """The complaint went to a department with ``hours``: its targets and SLA signals are counted
    anew on them; the legal due time, warning and escalations do not move."""
    if hours == clock.hours:
        return clock
    with _counted("received_at"):
        return recompute(replace(clock, hours=hours), calendar)


def recompute(clock: Clock, calendar: WorkCalendar) -> Clock:
    """Everything derived, computed anew (after a change, or when a holiday is added)."""
    count = _run(clock.received_at, clock.period, calendar, clock.pauses, clock.extensions)
    due = None if count is None else count.due
    dept = department_calendar(calendar, clock.hours)
    target_at = None
    if clock.target is not None and due is not None:
        target_at = service_target_at(
            clock.received_at, clock.period, clock.target, calendar, pauses=clock.pauses, department=dept
        )
    stages: tuple[tuple[str, datetime], ...] = ()
    if clock.kind is Kind.SERVICE_COMPLAINT and due is not None:
        stages = stage_targets(clock.received_at, dept, pauses=clock.pauses)
    schedule = build_schedule(
        clock.received_at,
        due,
        calendar,
        policy=clock.policy,
        daily_life=clock.daily_life,
        forwarding_clock=clock.forwarding_clock,
        department=dept,
    )
    if stages:
        schedule = tuple(sorted([*schedule, *(Signal(f"stage.{name}", at) for name, at in stages)], key=lambda s: s.at))
    if clock.breached_at is not None:
        schedule = _breach_kept(schedule, clock.breached_at)
    return replace(clock, due_at=due, target_at=target_at, stage_targets=stages, schedule=schedule)


def _breach_kept(schedule: tuple[Signal, ...], breached_at: datetime) -> tuple[Signal, ...]:
    """The schedule with its breach signal at the recorded breach (added if the clock has no due time)."""
    others = [s for s in schedule if s.name != BREACHED]
    return tuple(sorted([*others, Signal(BREACHED, breached_at)], key=lambda s: s.at))


def _ran_out(clock: Clock, at: datetime) -> datetime | None:
    """The breach on record at ``at``: the one recorded, or the due time if it has passed."""
    if clock.breached_at is not None:
        return clock.breached_at
    return clock.due_at if clock.due_at is not None and at > clock.due_at else None


def pause(clock: Clock, at: datetime) -> Clock:
    """Stop the clock (보완요구 and other excluded periods): no deadline until :func:`resume`."""
    _require_open(clock)
    if clock.paused:
        raise ClockPaused("pause", "the clock is already paused")
    at = _in_order(clock, at, "at")
    breached = _ran_out(clock, at)
    schedule = tuple(s for s in clock.schedule if s.name not in _deadline_names(clock.policy))
    return replace(
        clock,
        pauses=clock.pauses + (Pause(at),),
        due_at=None,
        target_at=None,
        stage_targets=(),
        breached_at=breached,
        # a breach stays a fact: its signal still goes out if it has not yet
        schedule=_breach_kept(schedule, breached) if breached is not None else schedule,
    )


def resume(clock: Clock, at: datetime, calendar: WorkCalendar) -> Clock:
    """Restart the clock (the supplement arrived); the due time moves by the rules of the basis."""
    _require_open(clock)
    if not clock.paused:
        raise ClockNotPaused("pause", "the clock is not paused")
    at = calendar.local(_instant(at, "at"))
    started = clock.pauses[-1].started_at
    if at <= started:
        raise InvalidPause("pause", f"a pause must end after it starts ({started.isoformat()})")
    with _counted("at"):
        return recompute(replace(clock, pauses=clock.pauses[:-1] + (Pause(started, at),)), calendar)


def rearmed_signals(policy: SignalPolicy) -> frozenset[str]:
    """The signals an extension re-arms: the warning and the escalations anchored to it."""
    return frozenset({WARNING} | {escalation(s.level) for s in policy.ladder if s.anchor == "warning"})


def extend(
    clock: Clock,
    by: Period | str | None,
    reason: str,
    citizen_consent: bool,
    at: datetime,
    calendar: WorkCalendar,
) -> Clock:
    """Extend the period (연장), counted from the working day after the current due date.

    The first extension is at most the original period (``by`` None means the
    original period); any further one needs the citizen's consent
    (:class:`ExtensionNeedsConsent`, HTTP 409). Warnings re-arm for the new due time.
    """
    _require_open(clock)
    if clock.paused:
        raise ClockPaused("pause", "resume the clock before extending it")
    if not reason or not reason.strip():
        raise InvalidExtension("reason", "an extension states its reason to the citizen")
    if clock.extensions and not citizen_consent:
        raise ExtensionNeedsConsent("citizen_consent", "a second extension needs the citizen's consent")
    at = _in_order(clock, at, "at")
    assert clock.due_at is not None
    if at > clock.due_at:
        raise ExtensionTooLate("at", f"the period ran out at {clock.due_at.isoformat()}")
    chosen = clock.period if by is None else Period.parse(by, field="by")
    rearmed = rearmed_signals(clock.policy)
    extended = replace(
        clock,
        extensions=clock.extensions + (Extension(at, chosen, reason.strip(), citizen_consent),),
        emitted=tuple(e for e in clock.emitted if e.name not in rearmed),
    )
    with _counted("by"):
        if not clock.extensions:
            count = _run(clock.received_at, clock.period, calendar, clock.pauses, clock.extensions)
            assert count is not None
            if _after_extension(count, chosen, calendar).due > _after_extension(count, clock.period, calendar).due:
                raise InvalidExtension("by", f"the first extension is at most the original period {clock.period}")
        return recompute(extended, calendar)


def mark_assigned(clock: Clock, at: datetime) -> Clock:
    """A handler was assigned: the assignment and forwarding SLA signals are met if it was in time."""
    at = _not_before_receipt(clock, at)
    return clock if clock.assigned_at is not None else replace(clock, assigned_at=at)


def mark_first_response(clock: Clock, at: datetime) -> Clock:
    """The first response was given: the first-response SLA signal is met if it was in time."""
    at = _not_before_receipt(clock, at)
    return clock if clock.first_response_at is not None else replace(clock, first_response_at=at)


def close(clock: Clock, at: datetime) -> Clock:
    """The complaint is answered, withdrawn or transferred: nothing fires any more."""
    _require_open(clock)
    at = _not_before_receipt(clock, at)
    return replace(clock, closed_at=at, breached_at=_ran_out(clock, at))


def mark_emitted(clock: Clock, signal_names: Iterable[str], at: datetime) -> Clock:
    """Record that these signals went out; a name already recorded keeps its first record."""
    at = _instant(at, "at")
    known = clock.policy.signal_names
    emitted = list(clock.emitted)
    seen = clock.emitted_names
    for name in signal_names:
        if name not in known:
            raise UnknownSignal("signal", f"unknown signal {name!r}")
        if name not in seen:
            emitted.append(Emitted(name, at))
            seen = seen | {name}
    breached = clock.breached_at
    if BREACHED in seen and breached is None:
        breached = clock.signal_at(BREACHED) or at
    return replace(clock, emitted=tuple(emitted), breached_at=breached)


def pending_signals(clock: Clock) -> tuple[Signal, ...]:
    """Scheduled signals not yet emitted nor cancelled, in time order; none once closed."""
    if clock.closed:
        return ()
    done = clock.emitted_names
    return tuple(s for s in clock.schedule if s.name not in done and not _met(clock, s))


def _met(clock: Clock, signal: Signal) -> bool:
    """An SLA signal whose step happened in time; a step that came late leaves its signal
    pending, so the miss is recorded even when the step happens before the signal went out
    (a mail complaint registered days late and assigned at once)."""
    if signal.name in (SLA_ASSIGNMENT, SLA_FORWARDING):
        return clock.assigned_at is not None and clock.assigned_at <= signal.at
    if signal.name in (SLA_FIRST_RESPONSE, "stage.investigate"):
        return clock.first_response_at is not None and clock.first_response_at <= signal.at
    if signal.name == "stage.assign":
        return clock.assigned_at is not None and clock.assigned_at <= signal.at
    return False


def due_signals(clock: Clock, now: datetime) -> list[Signal]:
    """The signals whose instant is at or before ``now`` and that have not been emitted, in time order."""
    now = _instant(now, "now")
    return [s for s in pending_signals(clock) if s.at <= now]


def next_fire_at(clock: Clock) -> datetime | None:
    """The earliest pending signal's instant (possibly past); None when nothing is left."""
    pending = pending_signals(clock)
    return pending[0].at if pending else None


def preview(clock: Clock) -> dict[str, Any]:
    """What the CLI and API print: the due time, warning, basis and escalation ladder, ISO 8601 with offset."""
    ladder = [s for s in clock.schedule if s.name.startswith("escalation.")]
    return {
        "kind": clock.kind.value,
        "period": str(clock.period),
        "basis": clock.basis.value,
        "received_at": _iso(clock.received_at),
        "due_at": _iso(clock.due_at),
        "breach_at": _iso(clock.breach_at),
        "warning_at": _iso(clock.warning_at),
        "escalations": [_iso(s.at) for s in ladder],
        "ladder": [
            {"level": int(s.name.split(".")[1]), "at": _iso(s.at), "recipients": list(s.recipients)} for s in ladder
        ],
        "target_at": _iso(clock.target_at),
        "stage_targets": {name: _iso(at) for name, at in clock.stage_targets},
        "sla": {s.name.removeprefix("sla."): _iso(s.at) for s in clock.schedule if s.name.startswith("sla.")},
        "progress_notice_at": _iso(clock.signal_at(PROGRESS_NOTICE)),
        "department_hours": clock.hours.to_spec() if clock.hours else None,
        "paused": clock.paused,
        "closed": clock.closed,
    }


def what_if(
    received_at: datetime,
    calendar: WorkCalendar,
    *,
    kind: Kind | str | None = None,
    period: Period | str | None = None,
    statutory_type: StatutoryType | None = None,
    pauses: Iterable[tuple[datetime, datetime]] = (),
    extend_by: Period | str | None = None,
) -> dict[str, Any]:
    """The :func:`preview` of a clock received at ``received_at`` after ``pauses`` (closed, in
    order) and an optional first extension by ``extend_by`` — what ``minwon deadline compute``
    and ``POST /api/v1/deadlines/preview`` print. Errors name the input: ``pauses[1].end``, ``extend``.

    With a ``period`` and no ``kind`` the clock has no kind (``"kind": null``) and no
    daily-life commitment.
    """
    if kind is None and period is None:
        raise UnknownKind("kind", "give a kind or a period")
    received_at = _instant(received_at, "received_at")
    clock = open_clock(
        received_at,
        Kind.OTHER if kind is None else kind,
        calendar,
        period=period,
        statutory_type=statutory_type,
        daily_life=False if kind is None else None,
    )
    for i, (start, end) in enumerate(pauses):
        _instant(start, f"pauses[{i}].start")
        _instant(end, f"pauses[{i}].end")
        if end <= start:
            raise InvalidPause(
                f"pauses[{i}].end", f"pause {i} ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        try:
            clock = pause(clock, start)
        except DeadlineError as error:
            raise type(error)(f"pauses[{i}].start", str(error)) from None
        try:
            clock = resume(clock, end, calendar)
        except DeadlineError as error:
            raise type(error)(f"pauses[{i}].end", str(error)) from None
    if extend_by is not None:
        latest = max([clock.received_at, *(p.ended_at or p.started_at for p in clock.pauses)])
        try:
            clock = extend(clock, extend_by, "preview", False, latest, calendar)
        except DeadlineError as error:
            raise type(error)("extend", str(error)) from None
    view = preview(clock)
    if kind is None:
        view["kind"] = None
    view["statutory_type"] = clock.statutory_type
    view["pauses"] = [{"start": _iso(p.started_at), "end": _iso(p.ended_at)} for p in clock.pauses]
    view["extensions"] = [{"by": str(e.by)} for e in clock.extensions]
    return view


# ---------------------------------------------------------------- documents


def clock_to_doc(clock: Clock) -> dict[str, Any]:
    """The clock's inputs as JSON (instants as UTC ISO strings); derived values are not kept
    because :func:`clock_from_doc` computes them anew with the calendar of the day."""
    return {
        "received_at": _utc(clock.received_at),
        "kind": clock.kind.value,
        "period": str(clock.period),
        "statutory_type": clock.statutory_type,
        "pauses": [{"started_at": _utc(p.started_at), "ended_at": _utc(p.ended_at)} for p in clock.pauses],
        "extensions": [
            {"at": _utc(e.at), "by": str(e.by), "reason": e.reason, "citizen_consent": e.citizen_consent}
            for e in clock.extensions
        ],
        "emitted": [{"name": e.name, "at": _utc(e.at)} for e in clock.emitted],
        "assigned_at": _utc(clock.assigned_at),
        "first_response_at": _utc(clock.first_response_at),
        "closed_at": _utc(clock.closed_at),
        "breached_at": _utc(clock.breached_at),
        "daily_life": clock.daily_life,
        "forwarding_clock": clock.forwarding_clock,
        "department_hours": clock.hours.to_spec() if clock.hours else None,
    }


def clock_from_doc(doc: Mapping[str, Any], calendar: WorkCalendar) -> Clock:
    """The clock :func:`clock_to_doc` stored, its due time and signals recomputed with ``calendar``.

    The stored ``period`` is used as is, so a later change of the statutory-type
    table does not move the deadline of a complaint already received.
    """

    def instant(value: Any, field: str) -> datetime:
        if not isinstance(value, str):
            raise InvalidInstant(field, f"{field} is an ISO 8601 string, got {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInstant(field, f"{field} is not an ISO 8601 instant: {value!r}") from None
        return calendar.local(_instant(parsed, field))

    def optional(value: Any, field: str) -> datetime | None:
        return None if value is None else instant(value, field)

    period = Period.parse(doc.get("period", ""), field="period")
    pauses = tuple(
        Pause(
            instant(p.get("started_at"), f"pauses[{i}].started_at"),
            optional(p.get("ended_at"), f"pauses[{i}].ended_at"),
        )
        for i, p in enumerate(doc.get("pauses") or ())
    )
    extensions = tuple(
        Extension(
            instant(e.get("at"), f"extensions[{i}].at"),
            Period.parse(e.get("by", ""), field=f"extensions[{i}].by"),
            str(e.get("reason") or ""),
            bool(e.get("citizen_consent", False)),
        )
        for i, e in enumerate(doc.get("extensions") or ())
    )
    emitted = tuple(
        Emitted(str(e.get("name")), instant(e.get("at"), f"emitted[{i}].at"))
        for i, e in enumerate(doc.get("emitted") or ())
    )
    clock = Clock(
        received_at=instant(doc.get("received_at"), "received_at"),
        kind=parse_kind(doc.get("kind", "")),
        period=period,
        basis=period.basis,
        due_at=None,
        schedule=(),
        pauses=pauses,
        extensions=extensions,
        emitted=emitted,
        statutory_type=doc.get("statutory_type"),
        daily_life=bool(doc.get("daily_life", False)),
        forwarding_clock=bool(doc.get("forwarding_clock", False)),
        assigned_at=optional(doc.get("assigned_at"), "assigned_at"),
        first_response_at=optional(doc.get("first_response_at"), "first_response_at"),
        closed_at=optional(doc.get("closed_at"), "closed_at"),
        breached_at=optional(doc.get("breached_at"), "breached_at"),
        hours=parse_hours(doc.get("department_hours")),
    )
    with _counted("received_at"):
        return recompute(clock, calendar)


# ---------------------------------------------------------------- helpers


def _utc(instant: datetime | None) -> str | None:
    """A UTC ISO string with microseconds (the format of ``minwon.docstore.iso``: sorts as text)."""
    return None if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _deadline_names(policy: SignalPolicy) -> frozenset[str]:
    return frozenset({WARNING, BREACHED} | {escalation(step.level) for step in policy.ladder})


def _instant(instant: datetime, field: str) -> datetime:
    """``instant`` if it is timezone-aware and between :data:`EARLIEST` and :data:`END`."""
    if not isinstance(instant, datetime) or instant.tzinfo is None or instant.utcoffset() is None:
        raise InvalidInstant(field, f"{field} must be a timezone-aware datetime, got {instant!r}")
    if not EARLIEST <= instant < END:
        raise InvalidInstant(
            field, f"{field} must lie in the years {EARLIEST.year}–{END.year - 1}, got {instant.isoformat()}"
        )
    return instant


@contextmanager
def _counted(field: str) -> Iterator[None]:
    """A count from an accepted instant that leaves the calendar's years is refused, naming ``field``."""
    try:
        yield
    except (OutsideCalendar, OverflowError) as error:
        raise InvalidInstant(
            field, f"counting from {field} leaves the years the working calendar counts ({error})"
        ) from None


def _require_open(clock: Clock) -> None:
    if clock.closed:
        raise ClockClosed("clock", "the clock is closed")


def _not_before_receipt(clock: Clock, at: datetime) -> datetime:
    at = _instant(at, "at").astimezone(clock.received_at.tzinfo)
    if at < clock.received_at:
        raise InvalidInstant("at", f"{at.isoformat()} is before receipt {clock.received_at.isoformat()}")
    return at


def _in_order(clock: Clock, at: datetime, field: str) -> datetime:
    """``at`` must not come before receipt or before the clock's last pause or extension."""
    at = _not_before_receipt(clock, at)
    changes = [p.ended_at or p.started_at for p in clock.pauses] + [e.at for e in clock.extensions]
    latest = max(changes, default=clock.received_at)
    if at < latest:
        raise InvalidInstant(field, f"{at.isoformat()} is before the clock's last change {latest.isoformat()}")
    return at


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()
