"""Internal lifecycle events as intake, routing and deadline publish them (for the public projection)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.events import Event, derive_id
from tests import samples

NOW = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Seoul
SECRET = b"test-public-id-secret"
ORIGIN = "https://minwon.test/public"


def receipt_no() -> str:
    return f"2026-TEST-{uuid.uuid4().int % 10_000_000:07d}"


def facts(receipt: str, **extra: Any) -> dict[str, Any]:
    return {
        "receipt_no": receipt,
        "complainant_ref": "p-0123456789abcdef01234567",
        "kind": "other",
        "category": "도로",
        "district": "해운대구",
        "channel": "online",
        "statutory_type": None,
        "priority": True,
        "confidential": False,
        "received_at": NOW.isoformat(),
        **extra,
    }


def event(
    type: str, receipt: str, data: dict[str, Any] | None = None, *, at: datetime = NOW, name: str | None = None
) -> Event:
    return Event.new(
        type,
        source="/test",
        subject=receipt,
        time=at,
        id=derive_id(receipt, name or type, at.isoformat()),
        data=samples.shaped(type, facts(receipt), data or {}, occurred_at=at.isoformat()),
    )


def received(r: str, **extra: Any) -> Event:
    return event(c.COMPLAINT_RECEIVED, r, {"consent": {"sms": True}, "forwarding_clock": False, **extra})


def routed(r: str, at: datetime = NOW + timedelta(minutes=1)) -> Event:
    return event(
        c.COMPLAINT_ROUTED,
        r,
        {
            "department": "road",
            "department_name": "도로과",
            "rule_id": "road-damage",
            "reason": "keyword 가로등",
            "matched": [{"keyword": "가로등"}],
        },
        at=at,
    )


def assigned(
    r: str, at: datetime = NOW + timedelta(minutes=2), type: str = c.COMPLAINT_ASSIGNED, department: str = "road"
) -> Event:
    return event(
        type,
        r,
        {
            "department": department,
            "department_name": "도로과",
            "handler": {"id": "h-7", "name": "김담당", "contact": "051-888-1234"},
            "guardian": None,
        },
        at=at,
    )


def deadline_set(r: str, due: datetime, at: datetime = NOW + timedelta(minutes=1)) -> Event:
    return event(
        c.DEADLINE_SET,
        r,
        {
            "due_at": due.isoformat(),
            "department": "road",
            "handler": {"id": "h-7", "name": "김담당", "contact": "051-888-1234"},
        },
        at=at,
    )


def extended(r: str, at: datetime = NOW + timedelta(hours=1), period: str | None = "7d") -> Event:
    return event(c.COMPLAINT_EXTENDED, r, {"period": period, "citizen_consent": False, "extension_no": 1}, at=at)


def closed(r: str, outcome: str = "accepted", at: datetime = NOW + timedelta(hours=2)) -> Event:
    return event(c.COMPLAINT_CLOSED, r, {"outcome": outcome}, at=at)


def breached(r: str, due: datetime, at: datetime) -> Event:
    return event(
        c.DEADLINE_BREACHED,
        r,
        {
            "due_at": due.isoformat(),
            "breached_at": due.isoformat(),
            "had_extension": False,
            "had_supplementation": True,
            "department": "road",
            "signal": "breached",
            "handler": {"id": "h-7", "name": "김담당", "contact": "051-888-1234"},
        },
        at=at,
    )
