"""One complete, valid sample of every event type's data (the models in :mod:`minwon.contracts`).

Tests that feed a consumer a hand-made event start from the sample of its type and override what
they test (:func:`event`); the contract test publishes one of each through both bus adapters. A new
event type needs its sample here (tests/contract/test_event_models.py fails until it has one).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from minwon import contracts as c
from minwon.events import Event

RECEIPT = "2026-TEST-0000001"
AT = "2026-11-18T10:00:00+09:00"
LATER = "2026-11-18T11:00:00+09:00"
DUE = "2026-11-27T18:00:00+09:00"
WARN = "2026-11-26T09:00:00+09:00"
HANDLER = {"id": "road-01", "name": "임성훈", "contact": "051-000-2061"}

FACTS: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "complainant_ref": "p-0123456789abcdef01234567",
    "kind": "grievance",
    "category": "road",
    "district": "해운대구",
    "channel": "online",
    "statutory_type": None,
    "priority": False,
    "confidential": False,
    "received_at": AT,
    "occurred_at": LATER,
}
CONSENT = {"sms": True, "alimtalk": False, "email": True, "post": False}
PLACEMENT: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "department": "road",
    "department_name": "도로과",
    "department_phone": "051-000-2060",
    "department_hours": None,
    "priority": False,
    "kind": "grievance",
    "received_at": AT,
    "occurred_at": LATER,
}
CLOCK: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "kind": "grievance",
    "statutory_type": None,
    "period": "7d",
    "basis": "days",
    "immediate": False,
    "received_at": AT,
    "due_at": DUE,
    "warning_at": WARN,
    "paused": False,
    "extensions": 0,
    "department": "road",
    "department_name": "도로과",
    "handler": HANDLER,
    "occurred_at": LATER,
}
SIGNAL: dict[str, Any] = {**CLOCK, "scheduled_at": WARN, "generation": 0, "recipients": ["handler"]}
DELIVERY: dict[str, Any] = {
    "notification_id": "n-1",
    "receipt_no": RECEIPT,
    "channel": "sms",
    "template": "citizen.receipt",
    "template_version": 1,
    "audience": "citizen",
    "role": "citizen",
    "cause": "e-1",
    "cause_type": c.COMPLAINT_RECEIVED,
    "legal": True,
    "attempts": 1,
    "occurred_at": LATER,
}
ENTRY: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "grant_id": "g-1",
    "amount_krw": 10000,
    "cause": "deadline_breach",
    "rule_version": "busan-charter-1",
    "department": "road",
    "occurred_at": LATER,
}
SCORES = {"speed": 4, "kindness": 5, "result": 4, "overall": 4}
SURVEY: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "survey_id": "s-1",
    "department": "road",
    "channel": "online",
    "kind": "grievance",
    "scores": SCORES,
    "occurred_at": LATER,
}
PUBLIC: dict[str, Any] = {
    "complaint_id": "0123456789abcdef0123456789abcdef",
    "kind": "grievance",
    "category": "road",
    "district": "해운대구",
    "channel": "online",
    "department": None,
    "received_at": AT,
    "due_at": None,
    "occurred_at": LATER,
}
COOPERATION: dict[str, Any] = {
    "receipt_no": RECEIPT,
    "request_id": "c-1",
    "department": "water",
    "from_department": "road",
    "working_days": 3,
    "requested_at": AT,
    "occurred_at": LATER,
}
ON_COMPLAINT: dict[str, Any] = {**COOPERATION, "kind": "grievance", "category": "road", "district": "해운대구"}
COOPERATION_CLOCK: dict[str, Any] = {**COOPERATION, "due_at": DUE, "warning_at": WARN}

SAMPLES: dict[str, dict[str, Any]] = {
    c.COMPLAINT_RECEIVED: {**FACTS, "consent": CONSENT, "forwarding_clock": False},
    c.COMPLAINT_ACKNOWLEDGED: FACTS,
    c.COMPLAINT_SUPPLEMENTATION_REQUESTED: {**FACTS, "supplement_due": None},
    c.COMPLAINT_SUPPLEMENT_RECEIVED: FACTS,
    c.COMPLAINT_EXTENDED: {**FACTS, "period": "7d", "citizen_consent": False, "extension_no": 1},
    c.COMPLAINT_TRANSFERRED: {**FACTS, "agency": "molit"},
    c.COMPLAINT_CLOSED: {**FACTS, "outcome": "accepted"},
    c.COMPLAINT_WITHDRAWN: FACTS,
    c.COMPLAINT_REVISIT_REPORTED: FACTS,
    c.COMPLAINT_COOPERATION_REQUESTED: ON_COMPLAINT,
    c.COMPLAINT_COOPERATION_REPLIED: {**ON_COMPLAINT, "replied_at": LATER},
    c.COMPLAINT_COOPERATION_CANCELLED: {**ON_COMPLAINT, "cancelled_at": LATER},
    c.COMPLAINT_SEALED: {**FACTS, "consent": CONSENT, "part": "filing", "sealed": "c1:AAAA"},
    c.COMPLAINT_ROUTED: {
        **PLACEMENT,
        "rule_id": "road-damage",
        "rule_version": 1,
        "reason": "keyword 포트홀",
        "matched": [{"field": "keywords", "rule_value": "포트홀", "where": "title"}],
        "category": "road",
        "district": "해운대구",
        "channel": "online",
        "statutory_type": None,
    },
    c.COMPLAINT_ASSIGNED: {**PLACEMENT, "handler": HANDLER, "guardian": None},
    c.COMPLAINT_REASSIGNED: {
        **PLACEMENT,
        "handler": HANDLER,
        "guardian": None,
        "previous": {"department": "traffic", "handler": None},
        "reason_code": "misrouted",
        "misroute": None,
        "actor": "triage-kim",
    },
    c.DEADLINE_SET: CLOCK,
    c.DEADLINE_UPDATED: {
        **CLOCK,
        "reason": "extended",
        "previous_due_at": AT,
        "extension_no": 1,
        "citizen_consent": False,
        "holiday": None,
    },
    c.DEADLINE_WARNING: {**SIGNAL, "signal": "warning"},
    c.DEADLINE_ESCALATED: {**SIGNAL, "signal": "escalation.1", "level": 1},
    c.DEADLINE_BREACHED: {
        **SIGNAL,
        "signal": "breached",
        "breached_at": DUE,
        "had_supplementation": False,
        "had_extension": False,
    },
    c.DEADLINE_SLA_MISSED: {**SIGNAL, "signal": "sla.assignment", "sla": "assignment", "sla_due_at": WARN},
    c.DEADLINE_PROGRESS_DUE: {**SIGNAL, "signal": "progress_notice.30d", "expected_completion": DUE},
    c.DEADLINE_HOLIDAY_ADDED: {"date": "2026-11-20", "name": "임시공휴일", "actor": "admin-1", "occurred_at": LATER},
    c.DEADLINE_COOPERATION_SET: COOPERATION_CLOCK,
    c.DEADLINE_COOPERATION_WARNING: {
        **COOPERATION_CLOCK,
        "signal": "warning",
        "recipients": ["cooperating_department"],
    },
    c.DEADLINE_COOPERATION_OVERDUE: {**COOPERATION_CLOCK, "signal": "overdue", "recipients": ["team_lead"]},
    c.NOTIFICATION_SENT: {**DELIVERY, "fallback_from": None},
    c.NOTIFICATION_FAILED: {**DELIVERY, "error": "http_503"},
    c.COMPENSATION_GRANTED: {**ENTRY, "instrument": "culture_voucher", "voucher_code": "R5CCGWGXKGD7EBHT"},
    c.COMPENSATION_REFUSED: {**ENTRY, "reason": "budget_exhausted"},
    c.COMPENSATION_REVERSED: {**ENTRY, "reversal_id": "r-1", "reason_code": "error"},
    c.SURVEY_INVITED: {
        "receipt_no": RECEIPT,
        "survey_id": "s-1",
        "link": "/survey/tok",
        "expires_at": DUE,
        "department": "road",
        "occurred_at": LATER,
    },
    c.SURVEY_RESPONDED: SURVEY,
    c.SURVEY_LOW_SCORE: {
        **SURVEY,
        "scores": {**SCORES, "overall": 1},
        "handler": HANDLER,
        "overall": 1,
        "threshold": 2,
    },
    c.PUBLIC_COMPLAINT_RECEIVED: PUBLIC,
    c.PUBLIC_COMPLAINT_ROUTED: {**PUBLIC, "department": "road"},
    c.PUBLIC_COMPLAINT_ASSIGNED: {**PUBLIC, "department": "road", "reassigned": False},
    c.PUBLIC_COMPLAINT_EXTENDED: {**PUBLIC, "department": "road", "due_at": DUE, "extension_no": 1, "period": "7d"},
    c.PUBLIC_COMPLAINT_CLOSED: {**PUBLIC, "department": "road", "outcome": "accepted", "on_time": True},
    c.PUBLIC_COMPLAINT_BREACHED: {
        **PUBLIC,
        "department": "road",
        "due_at": DUE,
        "breached_at": DUE,
        "had_extension": False,
        "had_supplementation": False,
    },
    c.PUBLIC_COMPLAINT_TRANSFERRED: {**PUBLIC, "agency": "molit"},
    c.SUBSCRIPTION_DELIVERY_DEAD: {
        "delivery_id": "d-1",
        "subscription_id": "s-1",
        "agency": "molit",
        "event_id": "e-1",
        "event_type": c.PUBLIC_COMPLAINT_RECEIVED,
        "replay": False,
        "attempts": 8,
        "error": "http_503",
        "status_code": 503,
        "occurred_at": LATER,
    },
    c.DEADLETTER_MESSAGE: {
        "group": "minwon-routing",
        "topic": "minwon.complaints.v1",
        "error": "KeyError: 'x'",
        "attempts": 5,
        "event": {"id": "e-1", "type": c.COMPLAINT_RECEIVED},
        "raw": None,
        "position": None,
    },
    c.DEADLETTER_REDRIVEN: {
        "letter_id": "l-1",
        "letter_time": LATER,
        "at": LATER,
        "group": "minwon-routing",
        "topic": "minwon.complaints.v1",
        "event_id": "e-1",
    },
}


def data(type: str, **overrides: Any) -> dict[str, Any]:
    """The sample data of ``type`` with ``overrides`` (a field the model does not have is refused on publish)."""
    return {**SAMPLES[type], **overrides}


def shaped(type: str, *layers: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The sample of ``type``, then each of ``layers`` for the fields the type's model has (a factory's
    common facts), then ``overrides`` as given."""
    fields = c.model_of(type).model_fields
    body = dict(SAMPLES[type])
    for layer in layers:
        body.update({k: v for k, v in layer.items() if k in fields})
    return {**body, **overrides}


def event(
    type: str,
    subject: str | None = None,
    *,
    id: str | None = None,
    time: datetime | None = None,
    source: str = "/minwon/test",
    **overrides: Any,
) -> Event:
    """An event of ``type`` for ``subject`` (also its ``receipt_no`` when the type has one)."""
    body = data(type, **overrides)
    if subject is not None and "receipt_no" in body and "receipt_no" not in overrides:
        body["receipt_no"] = subject
    subject = subject or str(body.get("receipt_no") or body.get("complaint_id") or RECEIPT)
    return Event.new(
        type, id=id or str(uuid.uuid4()), source=source, subject=subject, data=body, time=time or datetime.now(UTC)
    )
