"""Test data for the notification service: events as the other services publish them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.crypto import Sealer
from minwon.events import Event, derive_id
from minwon.settings import DEV_KEY
from tests import samples

NOW = datetime(2026, 11, 18, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Seoul
SOURCE = "/test/notification"
HANDLER = {"id": "h-101", "name": "김담당", "contact": "051-888-1234"}
CONSENT = {"sms": True, "alimtalk": False, "email": True, "post": False}


def receipt_no() -> str:
    return f"2026-TEST-{uuid.uuid4().hex[:7]}"


def facts(receipt: str, **extra: Any) -> dict[str, Any]:
    return {
        "receipt_no": receipt,
        "complainant_ref": "p-abc",
        "kind": "other",
        "category": "road",
        "district": "해운대구",
        "channel": "online",
        "statutory_type": None,
        "priority": False,
        "confidential": False,
        "received_at": NOW.isoformat(),
        **extra,
    }


def event(
    type: str,
    receipt: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime = NOW,
    id: str | None = None,
    source: str = "/test",
) -> Event:
    body = samples.shaped(type, facts(receipt), data or {}, occurred_at=at.isoformat())
    return Event.new(
        type,
        source=source,
        subject=receipt,
        time=at,
        data=body,
        id=id or derive_id(receipt, type, at.isoformat(), str(sorted((data or {}).items()))),
    )


def received(receipt: str, consent: dict[str, bool] | None = None, at: datetime = NOW) -> Event:
    return event(c.COMPLAINT_RECEIVED, receipt, {"consent": consent or CONSENT, "forwarding_clock": False}, at=at)


def assigned(
    receipt: str,
    handler: dict[str, str] | None = None,
    at: datetime = NOW + timedelta(hours=1),
    type: str = c.COMPLAINT_ASSIGNED,
) -> Event:
    return event(
        type, receipt, {"department": "ROAD", "department_name": "도로과", "handler": handler or HANDLER}, at=at
    )


def sealed(
    receipt: str,
    part: str,
    content: dict[str, Any],
    *,
    at: datetime = NOW,
    consent: dict[str, bool] | None = None,
    key: str = DEV_KEY,
) -> Event:
    """``complaint.sealed`` as intake publishes it: the content sealed under the contacts key."""
    blob = Sealer("c1", key).seal_json(content, context=receipt)
    return Event.new(
        c.COMPLAINT_SEALED,
        source="/test/intake",
        subject=receipt,
        time=at,
        id=derive_id(receipt, "sealed", part, at.isoformat()),
        data={
            **facts(receipt),
            "consent": consent or CONSENT,
            "part": part,
            "sealed": blob,
            "occurred_at": at.isoformat(),
        },
    )


def filing(
    receipt: str, *, at: datetime = NOW, consent: dict[str, bool] | None = None, **contact: Any
) -> tuple[Event, dict[str, Any]]:
    tag = uuid.uuid4().hex[:4]
    content = {
        "name": f"홍길동{tag}",
        "phone": "010-2345-6789",
        "email": f"citizen{tag}@example.kr",
        "address": f"부산광역시 해운대구 우동 {int(tag, 16) % 900 + 1}번지",
        "title": f"가로등 고장 {tag}",
        "body": f"가로등이 꺼져 있습니다 {tag}",
        **contact,
    }
    return sealed(receipt, "filing", content, at=at, consent=consent), content
