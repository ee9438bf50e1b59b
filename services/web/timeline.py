"""One complaint's timeline across the services, merged and sorted by time. Pure: no I/O.

Sources: intake's own timeline (received, acknowledged, supplementation, extension,
transfer, closure ...), routing's assignment history, the deadline clock's emitted
signals, the notifications sent, compensation ledger entries and the survey.
Intake's copies of other services' facts (routed, assigned, due time set) are left out
when the service that owns the fact answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.web.pages import instant

COPIED = {"routed": "routing", "assigned": "routing", "due_set": "deadline"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    source: str
    step: str
    group: str = "step"  # the label group the step is named in: step, signal, template, cause
    detail: dict[str, Any] = field(default_factory=dict)


def merge(
    *,
    complaint: Mapping[str, Any],
    assignment: Mapping[str, Any] | None,
    clock: Mapping[str, Any] | None,
    notifications: Sequence[Mapping[str, Any]],
    compensation: Mapping[str, Any] | None,
    survey: Mapping[str, Any] | None,
) -> list[Entry]:
    out: list[Entry] = []
    answered = {"routing": assignment is not None, "deadline": clock is not None}

    def add(at: Any, source: str, step: str, group: str = "step", **detail: Any) -> None:
        when = instant(at)
        if when is not None:
            out.append(Entry(when, source, step, group, {k: v for k, v in detail.items() if v not in (None, "")}))

    for s in complaint.get("timeline") or ():
        owner = COPIED.get(s.get("step"))
        if owner and answered[owner]:
            continue
        d = s.get("detail") or {}
        add(
            s.get("at"),
            "intake",
            s.get("step", ""),
            channel=d.get("channel"),
            department=d.get("department"),
            handler=d.get("handler"),
            due_at=d.get("due_at"),
            outcome=d.get("outcome"),
            agency=d.get("agency"),
            period=d.get("period"),
            extension_no=d.get("extension_no"),
            supplement_due=d.get("supplement_due"),
            comment=d.get("comment"),
        )
    for h in (assignment or {}).get("history") or ():
        add(
            h.get("at"),
            "routing",
            h.get("step", ""),
            department=h.get("department"),
            rule_id=h.get("rule_id"),
            handler=h.get("handler_id"),
        )
    if clock:
        due = clock.get("due_at")
        if due:
            add(clock.get("received_at"), "deadline", "due_set", due_at=due, period=clock.get("period"))
        for e in clock.get("extensions") or ():
            add(e.get("at"), "deadline", "extended", period=e.get("by"))
        for s in (clock.get("signals") or {}).get("emitted") or ():
            add(s.get("at"), "deadline", s.get("name", ""), "signal")
    for n in notifications:
        add(
            n.get("sent_at") or n.get("created_at"),
            "notification",
            n.get("template", ""),
            "template",
            channel=n.get("channel"),
            status=n.get("status"),
        )
    for e in (compensation or {}).get("items") or ():
        add(
            e.get("created_at") or e.get("occurred_at"),
            "compensation",
            e.get("cause", ""),
            "cause",
            amount_krw=e.get("amount_krw"),
            status=e.get("status"),
        )
    if survey:
        add(survey.get("invited_at"), "survey", "invited")
        add(survey.get("responded_at"), "survey", "responded", overall=(survey.get("scores") or {}).get("overall"))
    return sorted(out, key=lambda e: e.at)
