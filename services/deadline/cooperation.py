"""The clocks of cooperation requests (협조 요청): each request's own due time, warning and escalation.

Pure: no I/O, no clock reads (``now`` is passed in). One record per complaint (``_id``: the receipt
number, in the ``cooperation_clocks`` collection, beside the legal clocks and apart from them: a
request's clock never moves the complaint's), holding every request it made:

- ``cooperation_requested`` (intake) opens a request's clock: due ``working_days`` working days
  (of 8 working hours, on the working calendar with the holidays an administrator added) after the
  request; the warning when one working day remains (half the time, for a one-day request).
  ``deadline.cooperation_set`` announces both (intake shows them to both departments).
- a holiday an administrator adds later moves the times: when the request's timer comes they are
  counted again, and a moved due time is announced again (``deadline.cooperation_set``).
- at the warning: ``deadline.cooperation_warning`` to the department asked; at the due time, with no
  reply: ``deadline.cooperation_overdue``, the escalation to that department's team lead.
- ``cooperation_replied``, ``cooperation_cancelled``, and the complaint closed, withdrawn or
  transferred stop the clock: nothing fires any more.

Ids are deterministic (``derive_id(receipt_no, "cooperation", request_id, name)``) and every id
published is kept in the record (``published``); a replay that reads the deadlines topic first
marks them (:func:`on_published`), so a redelivered request, a rebuild or a second timer pass
never emits a second warning or escalation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.docstore import iso
from minwon.events import Event, derive_id
from minwon.workcal import WorkCalendar

OPEN, REPLIED, CANCELLED, CLOSED = "open", "replied", "cancelled", "closed"
WARNING, OVERDUE = "warning", "overdue"
WARN_BEFORE = timedelta(hours=8)
"""The warning comes when one working day (8 working hours) remains."""
INPUTS = frozenset(
    {
        c.COMPLAINT_COOPERATION_REQUESTED,
        c.COMPLAINT_COOPERATION_REPLIED,
        c.COMPLAINT_COOPERATION_CANCELLED,
        c.COMPLAINT_CLOSED,
        c.COMPLAINT_WITHDRAWN,
        c.COMPLAINT_TRANSFERRED,
    }
)
SIGNALS = {c.DEADLINE_COOPERATION_WARNING: WARNING, c.DEADLINE_COOPERATION_OVERDUE: OVERDUE}
OWN = frozenset({c.DEADLINE_COOPERATION_SET, *SIGNALS})
RECIPIENTS = {WARNING: ["cooperating_department"], OVERDUE: ["team_lead"]}
"""Who a signal is for, in the department asked: its officials before the due time, its team lead after."""

Doc = dict[str, Any]
Change = tuple["Doc | None", list[Event]]


class CooperationError(ValueError):
    """A request whose facts do not read (its days, its time)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def due_times(requested_at: datetime, working_days: int, calendar: WorkCalendar) -> tuple[datetime, datetime]:
    """The request's due time (``working_days`` working days of working hours after it) and its warning
    time (one working day before, or half the time for a shorter period)."""
    if working_days < 1:
        raise CooperationError("working_days", "a request gives at least one working day")
    span = calendar.hours_per_day * working_days
    due = calendar.add_working_hours(requested_at, span)
    warning = calendar.subtract_working_hours(due, min(WARN_BEFORE, span / 2))
    return due, warning


def _record(doc: Doc | None, receipt_no: str) -> Doc:
    base = {"receipt_no": receipt_no, "requests": [], "published": [], "complaint_closed": False, "next_fire_at": None}
    return {**base, **{k: v for k, v in (doc or {}).items() if k in base}} if doc else base


def _request(rec: Doc, request_id: str) -> Doc | None:
    return next((r for r in rec["requests"] if r["id"] == request_id), None)


def _put(rec: Doc, request: Doc) -> Doc:
    if any(r["id"] == request["id"] for r in rec["requests"]):
        requests = [request if r["id"] == request["id"] else r for r in rec["requests"]]
    else:
        requests = [*rec["requests"], request]
    return with_next_fire({**rec, "requests": requests})


def next_fire_at(rec: Mapping[str, Any]) -> str | None:
    """The earliest signal still to fire of an open request (None: nothing will fire)."""
    times = [
        r[f"{name}_at"]
        for r in rec.get("requests", ())
        if r["state"] == OPEN
        for name in (WARNING, "due")
        if _signal(name) not in r.get("sent", [])
    ]
    return min(times, default=None)


def _signal(time_name: str) -> str:
    return OVERDUE if time_name == "due" else WARNING


def with_next_fire(rec: Doc) -> Doc:
    return {**rec, "next_fire_at": next_fire_at(rec)}


def on_requested(
    doc: Doc | None,
    data: Mapping[str, Any],
    *,
    receipt_no: str,
    at: datetime,
    calendar: WorkCalendar,
    now: datetime,
    source: str,
) -> Change:
    """A request's clock opens; ``deadline.cooperation_set`` announces its due and warning times."""
    rec = _record(doc, receipt_no)
    request_id = str(data["request_id"])
    if _request(rec, request_id) is not None:
        return None, []  # heard before
    requested_at = _instant(data.get("requested_at")) or at
    try:
        due, warning = due_times(requested_at, int(data.get("working_days") or 0), calendar)
    except (CooperationError, ValueError):
        return None, []  # intake checks the days; a request that does not read gets no clock
    request: Doc = {
        "id": request_id,
        "department": data.get("department"),
        "from_department": data.get("from_department"),
        "working_days": int(data["working_days"]),
        "requested_at": iso(requested_at),
        "due_at": iso(due),
        "warning_at": iso(warning),
        "state": CLOSED if rec["complaint_closed"] else OPEN,
        "sent": [],
        "stopped_at": None,
    }
    rec = _put(rec, request)
    return rec, [_event(rec, request, c.DEADLINE_COOPERATION_SET, "set", now, source, calendar)]


def on_stopped(doc: Doc | None, request_id: str, *, state: str, at: datetime) -> Change:
    """Replied or cancelled: the request's clock stops (an unknown request: nothing to stop)."""
    if doc is None:
        return None, []
    rec = _record(doc, str(doc.get("receipt_no")))
    request = _request(rec, request_id)
    if request is None or request["state"] != OPEN:
        return None, []
    return _put(rec, {**request, "state": state, "stopped_at": iso(at)}), []


def on_complaint_finished(doc: Doc | None, *, at: datetime) -> Change:
    """The complaint closed, withdrawn or transferred: every open request's clock stops."""
    if doc is None:
        return None, []
    rec = _record(doc, str(doc.get("receipt_no")))
    if rec["complaint_closed"]:
        return None, []
    requests = [{**r, "state": CLOSED, "stopped_at": iso(at)} if r["state"] == OPEN else r for r in rec["requests"]]
    return with_next_fire({**rec, "requests": requests, "complaint_closed": True}), []


def fire(doc: Doc | None, *, now: datetime, source: str, calendar: WorkCalendar) -> Change:
    """Every signal come by ``now`` and not sent, of every open request: the warning, then the escalation."""
    if doc is None:
        return None, []
    rec = _record(doc, str(doc.get("receipt_no")))
    events: list[Event] = []
    for request in list(rec["requests"]):
        if request["state"] != OPEN:
            continue
        moved = _recounted(request, calendar)
        if moved is not None:  # a holiday added since the request: the due time moved later, announced again
            request = moved
            rec = _put(rec, request)
            events.append(
                _event(rec, request, c.DEADLINE_COOPERATION_SET, f"set:{request['due_at']}", now, source, calendar)
            )
        sent = list(request.get("sent", []))
        for time_name in (WARNING, "due"):
            name = _signal(time_name)
            if name not in sent and datetime.fromisoformat(request[f"{time_name}_at"]) <= now:
                sent.append(name)
                type = c.DEADLINE_COOPERATION_WARNING if name == WARNING else c.DEADLINE_COOPERATION_OVERDUE
                events.append(_event(rec, request, type, name, now, source, calendar))
        if sent != request.get("sent", []):
            rec = _put(rec, {**request, "sent": sent})
    return rec, events


def _recounted(request: Doc, calendar: WorkCalendar) -> Doc | None:
    """The request with its due and warning times counted again on ``calendar`` (a holiday an
    administrator added since), or None when they stand."""
    try:
        due, warning = due_times(
            datetime.fromisoformat(request["requested_at"]), int(request["working_days"]), calendar
        )
    except (CooperationError, ValueError):
        return None
    if iso(due) == request["due_at"] and iso(warning) == request["warning_at"]:
        return None
    return {**request, "due_at": iso(due), "warning_at": iso(warning)}


def settle(rec: Doc, events: list[Event]) -> Change:
    """Drop events already published (a replay decides the same ids); remember the rest."""
    fresh = [e for e in events if e.id not in rec["published"]]
    return {**rec, "published": [*rec["published"], *(e.id for e in fresh)]}, fresh


def on_published(doc: Doc | None, event: Event) -> Change:
    """An event this service published before, read back in a rebuild: never published again; a signal
    counts as sent."""
    rec = _record(doc, event.subject)
    if event.id in rec["published"]:
        return None, []
    rec = {**rec, "published": [*rec["published"], event.id]}
    request = _request(rec, str(event.data.get("request_id")))
    name = SIGNALS.get(event.type)
    if request is not None and name is not None and name not in request.get("sent", []):
        rec = _put(rec, {**request, "sent": [*request.get("sent", []), name]})
    return with_next_fire(rec), []


def view(doc: Mapping[str, Any] | None, *, now: datetime, calendar: WorkCalendar) -> list[dict[str, Any]]:
    """The requests' clocks (``GET /api/v1/deadlines/{receipt_no}/cooperation``)."""
    out = []
    for r in (doc or {}).get("requests", ()):
        due = datetime.fromisoformat(r["due_at"])
        out.append(
            {
                **{
                    k: r.get(k)
                    for k in ("id", "department", "from_department", "working_days", "state", "sent", "stopped_at")
                },
                "requested_at": _local(r["requested_at"], calendar),
                "due_at": _local(r["due_at"], calendar),
                "warning_at": _local(r["warning_at"], calendar),
                "overdue": r["state"] == OPEN and due <= now,
            }
        )
    return out


def _event(rec: Doc, request: Doc, type: str, name: str, now: datetime, source: str, calendar: WorkCalendar) -> Event:
    receipt_no = rec["receipt_no"]
    data: dict[str, Any] = {
        "receipt_no": receipt_no,
        "request_id": request["id"],
        "department": request["department"],
        "from_department": request["from_department"],
        "working_days": request["working_days"],
        "requested_at": _local(request["requested_at"], calendar),
        "due_at": _local(request["due_at"], calendar),
        "warning_at": _local(request["warning_at"], calendar),
        "occurred_at": now.isoformat(),
    }
    if name in RECIPIENTS:
        data.update(signal=name, recipients=list(RECIPIENTS[name]))
    return Event.new(
        type, id=event_id(receipt_no, request["id"], name), source=source, subject=receipt_no, time=now, data=data
    )


def event_id(receipt_no: str, request_id: str, name: str) -> str:
    """The id of a request's clock event (``set``, ``warning``, ``overdue``; ``set:<due>`` when a holiday
    moved it): the same in every replay."""
    return derive_id(receipt_no, "cooperation", request_id, name)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _local(value: str, calendar: WorkCalendar) -> str:
    return calendar.local(datetime.fromisoformat(value)).isoformat()
