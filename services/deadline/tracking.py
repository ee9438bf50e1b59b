"""The deadline service's record of one complaint, and the events each fact about it causes.

Pure: no I/O, no clock reads (``now`` and ``at`` are passed in). The rules of
the legal clock are :mod:`services.deadline.domain`; this module keeps, per
receipt number, what the service has heard about a complaint — from intake
(received, supplementation, extension, first response, closed), from routing
(department, handler) and, on a replay, from its own topic (what it has
already published) — and decides the ``kr.minwon.deadline.*`` events.

Each function takes the current :class:`Record` (``None`` if there is none)
and returns ``(new record or None for "no change", events)``. Events from
routing may arrive before the complaint's ``received`` (topics are not ordered
among themselves): they leave a *pending* record that the ``received`` opens.

Ids are deterministic, so a replay decides the same ids and an event already
published (``Record.published``) is never published again:

- ``deadline.set``: ``derive_id(receipt_no, "deadline", "set")``
- ``deadline.updated``: ``derive_id(cause_id, "deadline", "updated")``; after a holiday
  ``derive_id(receipt_no, "holiday", date, "updated")``
- a signal: ``derive_id(receipt_no, "signal", name)``; after an extension re-arms the
  warning, the re-armed signal adds the extension count: ``derive_id(..., name, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from minwon import contracts as c
from minwon.docstore import iso
from minwon.events import Event, derive_id
from minwon.workcal import WorkCalendar
from services.deadline import domain as d

# Record status
PENDING = "pending"  # facts heard, no complaint.received yet
OPEN = "open"
PAUSED = "paused"  # 보완: waiting for the citizen
CLOSED = "closed"  # closed, withdrawn or transferred
REFUSED = "refused"  # the received complaint could not be given a clock (unknown kind or type)
LIVE = (OPEN, PAUSED)

#: The subject of ``deadline.holiday_added`` (:data:`minwon.contracts.DEADLINE_HOLIDAY_ADDED`): published on
#: this service's own topic when an administrator adds a holiday (임시공휴일); a rebuild restores the calendar from it.
CALENDAR_SUBJECT = "calendar"

SIGNAL_TYPES = (
    c.DEADLINE_WARNING,
    c.DEADLINE_ESCALATED,
    c.DEADLINE_BREACHED,
    c.DEADLINE_SLA_MISSED,
    c.DEADLINE_PROGRESS_DUE,
)
CLOCK_TYPES = (c.DEADLINE_SET, c.DEADLINE_UPDATED)

Change = tuple["Record | None", list[Event]]


# ---------------------------------------------------------------- the record


@dataclass(frozen=True)
class Sent:
    """A signal event known to be published: by this record, or seen on the topic in a replay."""

    name: str
    at: datetime
    generation: int  # extensions at the time: a re-armed warning is a new signal
    id: str

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "at": _utc(self.at), "generation": self.generation, "id": self.id}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Sent:
        return cls(str(doc["name"]), _parse(doc["at"]), int(doc.get("generation") or 0), str(doc["id"]))


@dataclass(frozen=True)
class Record:
    """What the service knows about one complaint. ``clock`` is None until it is received."""

    receipt_no: str
    clock: d.Clock | None = None
    refused_open: bool = False
    assigned_at: datetime | None = None  # before the clock opens; then the clock's
    department: str | None = None
    department_name: str | None = None
    department_hours: dict[str, Any] | None = None  # as routing published them (None: statutory hours)
    handler: dict[str, Any] | None = None
    closed_by: str | None = None
    sent: tuple[Sent, ...] = ()
    published: tuple[str, ...] = ()
    announced_due_at: datetime | None = None  # the due time the last set/updated event announced
    refused: tuple[dict[str, Any], ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)  # kind, statutory_type, received_at as heard

    @property
    def status(self) -> str:
        if self.clock is None:
            return REFUSED if self.refused_open else PENDING
        if self.clock.closed:
            return CLOSED
        return PAUSED if self.clock.paused else OPEN

    @property
    def generation(self) -> int:
        return len(self.clock.extensions) if self.clock else 0

    @property
    def escalation_level(self) -> int:
        levels = [
            int(s.name.split(".")[1])
            for s in self.sent
            if s.name.startswith("escalation.") and s.generation == self.generation
        ]
        return max(levels, default=0)


def dump(rec: Record) -> dict[str, Any]:
    """The stored document: the clock's inputs, the facts, and derived fields for queries."""
    clock = rec.clock
    inputs: dict[str, Any] = (
        d.clock_to_doc(clock)
        if clock
        else {
            "received_at": None,
            "kind": rec.facts.get("kind"),
            "period": None,
            "statutory_type": rec.facts.get("statutory_type"),
            "pauses": [],
            "extensions": [],
            "assigned_at": _utc(rec.assigned_at),
            "first_response_at": None,
            "closed_at": None,
            "daily_life": None,
            "forwarding_clock": None,
        }
    )
    nxt = d.next_fire_at(clock) if clock else None
    return {
        "receipt_no": rec.receipt_no,
        "status": rec.status,
        **inputs,
        "emitted": [s.to_doc() for s in rec.sent],
        "department": rec.department,
        "department_name": rec.department_name,
        "department_hours": rec.department_hours,
        "handler": rec.handler,
        "closed_by": rec.closed_by,
        "facts": rec.facts,
        "refused": list(rec.refused),
        "published": list(rec.published),
        "announced_due_at": _utc(rec.announced_due_at),
        # derived, for indexes and reads (recomputed on every load)
        "basis": clock.basis.value if clock else None,
        "due_at": _utc(clock.due_at) if clock else None,
        # when it is (or was) overdue: a breached clock stays on the overdue lists, paused or extended since
        "overdue_since": _utc(clock.breach_at) if clock else None,
        "warning_at": _utc(clock.warning_at) if clock else None,
        "next_fire_at": _utc(nxt),
        "escalation_level": rec.escalation_level,
    }


def load(receipt_no: str, doc: Mapping[str, Any] | None, calendar: WorkCalendar) -> Record | None:
    """The record stored as ``doc``, its clock recomputed with ``calendar``."""
    if doc is None:
        return None
    sent = tuple(Sent.from_doc(s) for s in doc.get("emitted") or ())
    clock = None
    if doc.get("status") in (OPEN, PAUSED, CLOSED):
        clock = d.clock_from_doc({**doc, "emitted": []}, calendar)
        clock = _with_emitted(clock, sent)
    return Record(
        receipt_no=receipt_no,
        clock=clock,
        refused_open=doc.get("status") == REFUSED,
        assigned_at=_parse_opt(doc.get("assigned_at")) if clock is None else None,
        department=doc.get("department"),
        department_name=doc.get("department_name"),
        department_hours=doc.get("department_hours"),
        handler=doc.get("handler"),
        closed_by=doc.get("closed_by"),
        sent=sent,
        published=tuple(doc.get("published") or ()),
        announced_due_at=_parse_opt(doc.get("announced_due_at")),
        refused=tuple(doc.get("refused") or ()),
        facts=dict(doc.get("facts") or {}),
    )


def settle(rec: Record, events: Iterable[Event]) -> Change:
    """Drop events already published (a replay decides the same ids), remember the rest."""
    fresh = [e for e in events if e.id not in rec.published]
    announced = rec.announced_due_at
    for e in fresh:
        if e.type in CLOCK_TYPES:
            announced = _parse_opt(e.data.get("due_at"))
    return replace(rec, published=rec.published + tuple(e.id for e in fresh), announced_due_at=announced), fresh


# ---------------------------------------------------------------- facts from intake


def on_received(
    rec: Record | None,
    data: Mapping[str, Any],
    *,
    receipt_no: str,
    at: datetime,
    calendar: WorkCalendar,
    types: Mapping[str, d.StatutoryType],
    now: datetime,
    source: str,
) -> Change:
    """Open the clock (접수): kind, statutory type, receipt instant, mail/fax forwarding."""
    rec = rec or Record(receipt_no)
    if rec.status != PENDING:
        return None, []  # received again: the clock is already open (or was refused)
    facts = {
        "kind": data.get("kind"),
        "statutory_type": data.get("statutory_type"),
        "received_at": data.get("received_at"),
        "channel": data.get("channel"),
    }
    rec = replace(rec, facts={k: v for k, v in facts.items() if v is not None})
    try:
        kind = d.parse_kind(str(data.get("kind")))
        statutory = d.find_statutory_type(types, data.get("statutory_type")) if kind is d.Kind.STATUTORY else None
        clock = d.open_clock(
            _instant(data.get("received_at"), "received_at"),
            kind,
            calendar,
            statutory_type=statutory,
            daily_life=data.get("daily_life") if isinstance(data.get("daily_life"), bool) else None,
            forwarding_clock=bool(data.get("forwarding_clock")),
        )
        clock = d.with_department_hours(clock, d.parse_hours(rec.department_hours), calendar)
    except d.DeadlineError as error:
        return replace(_refuse(rec, "complaint.received", error, at), refused_open=True), []
    clock = _with_emitted(clock, rec.sent)
    if rec.assigned_at is not None:
        clock = d.mark_assigned(clock, max(rec.assigned_at, clock.received_at))
    rec = replace(rec, clock=clock, assigned_at=None)
    return rec, [_clock_event(rec, c.DEADLINE_SET, derive_id(rec.receipt_no, "deadline", "set"), now, source)]


def on_paused(rec: Record | None, *, at: datetime, cause: str, now: datetime, source: str) -> Change:
    """보완요구: the clock stops; there is no due time until the supplement arrives. Nothing is
    announced: the due time last announced stands until the resume announces the new one."""
    return _command(
        rec,
        "complaint.supplementation_requested",
        at,
        cause,
        now,
        source,
        "paused",
        lambda clock, at: d.pause(clock, at),
        announce=False,
    )


def on_resumed(
    rec: Record | None, *, at: datetime, cause: str, calendar: WorkCalendar, now: datetime, source: str
) -> Change:
    """The supplement arrived: the clock runs again and the due time moves."""
    return _command(
        rec,
        "complaint.supplement_received",
        at,
        cause,
        now,
        source,
        "resumed",
        lambda clock, at: d.resume(clock, at, calendar),
    )


def on_extended(
    rec: Record | None,
    data: Mapping[str, Any],
    *,
    at: datetime,
    cause: str,
    calendar: WorkCalendar,
    now: datetime,
    source: str,
) -> Change:
    """연장: by ``data.period`` (None: the original period); a second one needs ``data.citizen_consent``.

    The reason itself travels sealed to the citizen; the clock records which extension it was.
    A refusal (409: no consent, too late, paused) is recorded, not retried.
    """
    number = data.get("extension_no") or (rec.generation + 1 if rec else 1)
    reason = f"extension {number} (reason sealed by intake)"

    def extend(clock: d.Clock, at: datetime) -> d.Clock:
        return d.extend(clock, data.get("period"), reason, bool(data.get("citizen_consent")), at, calendar)

    return _command(
        rec,
        "complaint.extended",
        at,
        cause,
        now,
        source,
        "extended",
        extend,
        extra={"extension_no": number, "citizen_consent": bool(data.get("citizen_consent"))},
    )


def on_first_response(rec: Record | None, *, at: datetime) -> Change:
    """The handler's first response (the daily-life 24-hour commitment is met)."""
    if rec is None or rec.clock is None:
        return None, []
    return replace(rec, clock=d.mark_first_response(rec.clock, max(at, rec.clock.received_at))), []


def on_closed(rec: Record | None, *, at: datetime, by: str) -> Change:
    """Closed, withdrawn or transferred (처리완료·취하·이송): nothing fires any more."""
    if rec is None or rec.clock is None or rec.clock.closed:
        return None, []
    return replace(rec, clock=d.close(rec.clock, max(at, rec.clock.received_at)), closed_by=by), []


# ---------------------------------------------------------------- facts from routing


def on_routed(
    rec: Record | None,
    data: Mapping[str, Any],
    *,
    receipt_no: str,
    at: datetime | None = None,
    calendar: WorkCalendar | None = None,
) -> Change:
    """The department designated (routing may be heard before intake's received)."""
    rec = rec or Record(receipt_no)
    if rec.handler is not None:
        return None, []  # an assignment already named the department
    rec = replace(
        rec,
        department=data.get("department") or rec.department,
        department_name=data.get("department_name") or rec.department_name,
    )
    return _with_hours(rec, data, at, calendar), []


def _with_hours(rec: Record, data: Mapping[str, Any], at: datetime | None, calendar: WorkCalendar | None) -> Record:
    """The department's working hours (부서 근무시간) as routing published them: the clock's
    targets and SLA signals count on them. Hours that do not read are recorded as refused
    and the hours known before are kept."""
    if "department_hours" not in data or calendar is None or at is None:
        return rec
    try:
        hours = d.parse_hours(data.get("department_hours"))
    except d.DeadlineError as error:
        return _refuse(rec, "department_hours", error, at)
    rec = replace(rec, department_hours=hours.to_spec() if hours else None)
    if rec.clock is None:
        return rec
    return replace(rec, clock=d.with_department_hours(rec.clock, hours, calendar))


def on_assigned(
    rec: Record | None, data: Mapping[str, Any], *, receipt_no: str, at: datetime, calendar: WorkCalendar | None = None
) -> Change:
    """A handler assigned (or reassigned): the assignment SLAs are met; the handler is remembered."""
    rec = rec or Record(receipt_no)
    given = data.get("handler")
    raw: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    handler = {"id": raw.get("id"), "name": raw.get("name"), "contact": raw.get("contact")}
    rec = replace(
        rec,
        handler=handler,
        department=data.get("department") or rec.department,
        department_name=data.get("department_name") or rec.department_name,
    )
    rec = _with_hours(rec, data, at, calendar)
    if rec.clock is None:
        return replace(rec, assigned_at=rec.assigned_at or at), []
    return replace(rec, clock=d.mark_assigned(rec.clock, max(at, rec.clock.received_at))), []


# ---------------------------------------------------------------- its own topic, on a replay


def on_published(rec: Record | None, event: Event) -> Change:
    """An event this service published before (read back in a rebuild): never publish it again;
    a signal counts as emitted; a set/updated is the due time last announced."""
    if event.type not in SIGNAL_TYPES + CLOCK_TYPES:
        return None, []
    rec = rec or Record(event.subject)
    if event.id in rec.published:
        return None, []
    rec = replace(rec, published=rec.published + (event.id,))
    if event.type in CLOCK_TYPES:
        return replace(rec, announced_due_at=_parse_opt(event.data.get("due_at"))), []
    name = signal_name(event)
    if name is None or any(s.id == event.id for s in rec.sent):
        return rec, []
    sent = rec.sent + (Sent(name, event.time, int(event.data.get("generation") or 0), event.id),)
    clock = _with_emitted(rec.clock, sent) if rec.clock else None
    return replace(rec, sent=sent, clock=clock), []


def signal_name(event: Event) -> str | None:
    """The signal an event on the deadlines topic reports (``warning``, ``escalation.2`` ...)."""
    data = event.data
    if isinstance(data.get("signal"), str):
        return data["signal"]
    if event.type == c.DEADLINE_WARNING:
        return d.WARNING
    if event.type == c.DEADLINE_ESCALATED and data.get("level"):
        return d.escalation(int(data["level"]))
    if event.type == c.DEADLINE_BREACHED:
        return d.BREACHED
    if event.type == c.DEADLINE_SLA_MISSED and data.get("sla"):
        return f"sla.{data['sla']}"
    if event.type == c.DEADLINE_PROGRESS_DUE:
        return d.PROGRESS_NOTICE
    return None


# ---------------------------------------------------------------- timers and the calendar


def fire(rec: Record | None, *, now: datetime, source: str) -> Change:
    """Every signal due at ``now`` and not yet emitted: one event each, in time order, and the
    clock marks them emitted (the stored ``next_fire_at`` moves to the next one)."""
    if rec is None or rec.clock is None:
        return None, []
    due = d.due_signals(rec.clock, now)
    if not due:
        return rec, []
    generation = rec.generation
    events = [_signal_event(rec, s, generation, now, source) for s in due]
    sent = rec.sent + tuple(Sent(s.name, now, generation, e.id) for s, e in zip(due, events, strict=True))
    clock = d.mark_emitted(rec.clock, [s.name for s in due], now)
    return replace(rec, clock=clock, sent=sent), events


def on_calendar(rec: Record | None, *, holiday: date, now: datetime, source: str) -> Change:
    """After a holiday was added: the record was loaded with the new calendar, so its due time is
    already recomputed; announce it if it moved (one ``deadline.updated`` per record and holiday)."""
    if rec is None or rec.clock is None or rec.status not in LIVE:
        return None, []
    if rec.clock.due_at is None or _same(rec.clock.due_at, rec.announced_due_at):
        return rec, []
    event_id = derive_id(rec.receipt_no, "holiday", holiday.isoformat(), "updated")
    return rec, [
        _clock_event(
            rec,
            c.DEADLINE_UPDATED,
            event_id,
            now,
            source,
            reason="holiday",
            holiday=holiday.isoformat(),
            previous_due_at=_local(rec.announced_due_at, rec),
        )
    ]


def holiday_event(day: date, name: str, actor: str, *, now: datetime, source: str) -> Event:
    """The administrator's added holiday, on the service's own topic (a rebuild restores it)."""
    return Event.new(
        c.DEADLINE_HOLIDAY_ADDED,
        id=derive_id("holiday", day.isoformat()),
        source=source,
        subject=CALENDAR_SUBJECT,
        time=now,
        data={"date": day.isoformat(), "name": name, "actor": actor, "occurred_at": now.isoformat()},
    )


def affected_from(day: date, calendar: WorkCalendar) -> datetime:
    """Clocks due on or after the start of ``day`` (Seoul) may move when ``day`` becomes a holiday."""
    return datetime.combine(day, time(0), calendar.zone)


# ---------------------------------------------------------------- reads


def view(rec: Record, *, now: datetime, calendar: WorkCalendar) -> dict[str, Any]:
    """``GET /api/v1/deadlines/{receipt_no}``: due time, remaining working time, pauses,
    extensions, signals emitted and pending, escalation level, next timer."""
    clock = rec.clock
    out: dict[str, Any] = {
        "receipt_no": rec.receipt_no,
        "status": rec.status,
        "department": rec.department,
        "department_name": rec.department_name,
        "department_hours": rec.department_hours,
        "handler": rec.handler,
        "closed_by": rec.closed_by,
        "refused": list(rec.refused),
        "escalation_level": rec.escalation_level,
    }
    if clock is None:
        return {
            **out,
            **{k: rec.facts.get(k) for k in ("kind", "statutory_type", "received_at")},
            "due_at": None,
            "remaining": None,
            "paused": False,
            "pauses": [],
            "extensions": [],
            "signals": {"emitted": [_sent_view(s, calendar) for s in rec.sent], "pending": []},
            "next_fire_at": None,
            "assigned_at": _local_cal(rec.assigned_at, calendar),
        }
    nxt = d.next_fire_at(clock)
    return {
        **out,
        "kind": clock.kind.value,
        "statutory_type": clock.statutory_type,
        "period": str(clock.period),
        "basis": clock.basis.value,
        "received_at": clock.received_at.isoformat(),
        "due_at": _iso(clock.due_at),
        "warning_at": _iso(clock.warning_at),
        "overdue": not clock.closed and clock.breached_by(now),
        "breached_at": _iso(clock.breach_at) if clock.breached_by(now) else None,
        "remaining": remaining(now, clock.due_at, calendar) if clock.due_at and not clock.closed else None,
        "paused": clock.paused,
        "pauses": [{"started_at": _iso(p.started_at), "ended_at": _iso(p.ended_at)} for p in clock.pauses],
        "extensions": [
            {"at": _iso(e.at), "by": str(e.by), "citizen_consent": e.citizen_consent} for e in clock.extensions
        ],
        "signals": {
            "emitted": [_sent_view(s, calendar) for s in rec.sent],
            "pending": [{"name": s.name, "at": s.at.isoformat()} for s in d.pending_signals(clock)],
        },
        "next_fire_at": _iso(nxt),
        "assigned_at": _iso(clock.assigned_at),
        "first_response_at": _iso(clock.first_response_at),
        "closed_at": _iso(clock.closed_at),
        "closed_within_period": closed_within_period(clock),
    }


def summary(rec: Record, *, now: datetime) -> dict[str, Any]:
    """One line of ``GET /api/v1/deadlines``."""
    clock = rec.clock
    return {
        "receipt_no": rec.receipt_no,
        "status": rec.status,
        "kind": clock.kind.value if clock else rec.facts.get("kind"),
        "department": rec.department,
        "handler": rec.handler,
        "due_at": _iso(clock.due_at) if clock else None,
        "overdue": bool(clock and not clock.closed and clock.breached_by(now)),
        "escalation_level": rec.escalation_level,
        "next_fire_at": _iso(d.next_fire_at(clock)) if clock else None,
    }


def remaining(now: datetime, due: datetime, calendar: WorkCalendar) -> dict[str, Any]:
    """Working time left until ``due`` (negative once overdue) and a label ``D-2 / 12.5h``:
    D-n counts the working days after today up to the due day (D-day on it, D+n after it)."""
    hours = calendar.working_time_between(now, due) / timedelta(hours=1)
    today, due_day = calendar.local(now).date(), calendar.local(due).date()
    if now < due:
        days = calendar.working_days_between(today + timedelta(days=1), due_day)
        head = "D-day" if days == 0 else f"D-{days}"
    else:
        head = f"D+{calendar.working_days_between(due_day + timedelta(days=1), today)}"
    rounded = math.floor(abs(hours) * 10 + 0.5) / 10 * (1 if hours >= 0 else -1)
    text = f"{rounded:g}h"
    return {"working_hours": rounded, "label": f"{head} / {text}"}


def closed_within_period(clock: d.Clock) -> bool | None:
    """Whether a closed clock closed by its due time (a clock closed while paused had none running)."""
    if clock.closed_at is None:
        return None
    return clock.due_at is None or clock.closed_at <= clock.due_at


# ---------------------------------------------------------------- helpers


def _command(
    rec: Record | None,
    what: str,
    at: datetime,
    cause: str,
    now: datetime,
    source: str,
    reason: str,
    command: Any,
    extra: Mapping[str, Any] | None = None,
    announce: bool = True,
) -> Change:
    """Run a clock command; announce the due time it gives; record a refusal instead of failing."""
    if rec is None or rec.clock is None:
        return None, []  # a lifecycle event for a complaint this service never received
    clock = rec.clock
    at = max(
        at, clock.received_at, *(p.ended_at or p.started_at for p in clock.pauses), *(e.at for e in clock.extensions)
    )  # clock skew between replicas: never before the last change
    try:
        new = command(clock, at)
    except d.DeadlineError as error:
        return _refuse(rec, what, error, at), []
    rec = replace(rec, clock=_with_emitted(new, rec.sent))
    if not announce:
        return rec, []
    event_id = derive_id(cause, "deadline", "updated")
    return rec, [
        _clock_event(
            rec,
            c.DEADLINE_UPDATED,
            event_id,
            now,
            source,
            reason=reason,
            previous_due_at=_local(rec.announced_due_at, rec),
            **(extra or {}),
        )
    ]


def _refuse(rec: Record, what: str, error: d.DeadlineError, at: datetime) -> Record:
    entry = {
        "event": what,
        "code": error.code,
        "status": error.status,
        "field": error.field,
        "message": str(error),
        "at": _utc(at),
    }
    return replace(rec, refused=rec.refused + (entry,))


def _with_emitted(clock: d.Clock, sent: Iterable[Sent]) -> d.Clock:
    """The clock's emitted signals: every one sent, except that a re-armed signal (the warning
    after an extension) counts only if it was sent after the latest extension."""
    rearmed = d.rearmed_signals(clock.policy)
    generation = len(clock.extensions)
    emitted: dict[str, d.Emitted] = {}
    for s in sorted(sent, key=lambda s: s.at):
        if s.name in rearmed and s.generation != generation:
            continue
        emitted.setdefault(s.name, d.Emitted(s.name, s.at))
    return replace(clock, emitted=tuple(emitted.values()))


def _facts(rec: Record) -> dict[str, Any]:
    clock = rec.clock
    assert clock is not None
    return {
        "kind": clock.kind.value,
        "statutory_type": clock.statutory_type,
        "period": str(clock.period),
        "basis": clock.basis.value,
        "immediate": clock.period.immediate,
        "received_at": clock.received_at.isoformat(),
        "due_at": _iso(clock.due_at),
        "warning_at": _iso(clock.warning_at),
        "paused": clock.paused,
        "extensions": len(clock.extensions),
        "department": rec.department,
        "department_name": rec.department_name,
        "handler": rec.handler,
    }


def _clock_event(rec: Record, type: str, id: str, now: datetime, source: str, **extra: Any) -> Event:
    return _event(rec, type, id, {**_facts(rec), **extra}, now, source)


def _signal_event(rec: Record, signal: d.Signal, generation: int, now: datetime, source: str) -> Event:
    clock = rec.clock
    assert clock is not None
    name = signal.name
    data: dict[str, Any] = {
        **_facts(rec),
        "signal": name,
        "scheduled_at": signal.at.isoformat(),
        "generation": generation,
        "recipients": list(signal.recipients),
    }
    if name == d.WARNING:
        type = c.DEADLINE_WARNING
        data["recipients"] = list(signal.recipients) or ["handler"]
    elif name.startswith("escalation."):
        type = c.DEADLINE_ESCALATED
        data["level"] = int(name.split(".")[1])
    elif name == d.BREACHED:
        type = c.DEADLINE_BREACHED
        # the charter's exclusions count only what was requested within the period
        breached = clock.breached_at or signal.at
        data.update(
            breached_at=breached.isoformat(),
            had_supplementation=any(p.started_at < breached for p in clock.pauses),
            had_extension=any(e.at < breached for e in clock.extensions),
        )
    elif name.startswith("sla."):
        type = c.DEADLINE_SLA_MISSED
        data.update(sla=name.removeprefix("sla."), sla_due_at=signal.at.isoformat())
    elif name.startswith("stage."):  # a charter stage of a complaint about the service, not reached in time
        type = c.DEADLINE_SLA_MISSED
        data.update(sla=name, stage=name.removeprefix("stage."), sla_due_at=signal.at.isoformat())
    else:
        type = c.DEADLINE_PROGRESS_DUE
        data["expected_completion"] = _iso(clock.due_at)
    return _event(rec, type, signal_id(rec.receipt_no, name, generation), data, now, source)


def signal_id(receipt_no: str, name: str, generation: int = 0) -> str:
    """The id of a signal's event: the same in every replay."""
    if generation == 0:
        return derive_id(receipt_no, "signal", name)
    return derive_id(receipt_no, "signal", name, generation)


def _event(rec: Record, type: str, id: str, data: dict[str, Any], now: datetime, source: str) -> Event:
    return Event.new(
        type,
        id=id,
        source=source,
        subject=rec.receipt_no,
        time=now,
        data={"receipt_no": rec.receipt_no, **data, "occurred_at": now.isoformat()},
    )


def _sent_view(s: Sent, calendar: WorkCalendar) -> dict[str, Any]:
    return {"name": s.name, "at": calendar.local(s.at).isoformat(), "generation": s.generation, "id": s.id}


def _instant(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise d.InvalidInstant(field, f"{field} is an ISO 8601 instant, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise d.InvalidInstant(field, f"{field} is not an ISO 8601 instant: {value!r}") from None
    if parsed.tzinfo is None:
        raise d.InvalidInstant(field, f"{field} needs a UTC offset: {value!r}")
    return parsed


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _parse_opt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _same(a: datetime | None, b: datetime | None) -> bool:
    return a == b if a is not None and b is not None else a is b


def _utc(instant: datetime | None) -> str | None:
    return None if instant is None else iso(instant)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


def _local(instant: datetime | None, rec: Record) -> str | None:
    if instant is None or rec.clock is None:
        return None
    return instant.astimezone(rec.clock.received_at.tzinfo).isoformat()


def _local_cal(instant: datetime | None, calendar: WorkCalendar) -> str | None:
    return None if instant is None else calendar.local(instant).isoformat()


def event_at(event: Event) -> datetime:
    """When the fact an event reports happened: ``data.occurred_at``, else the event's time."""
    raw = event.data.get("occurred_at")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return event.time
