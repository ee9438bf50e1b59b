"""Test-data factories: one place that knows what a valid complaint looks like."""

from __future__ import annotations

import uuid
from typing import Any


def complaint_payload(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/v1/complaints body, with distinctive personal data."""
    tag = uuid.uuid4().hex[:6]
    body: dict[str, Any] = {
        "name": f"홍길동{tag}",
        "phone": f"010-{int(tag[:4], 16) % 10000:04d}-7{int(tag[4:], 16) % 1000:03d}",
        "email": f"citizen-{tag}@example.kr",
        "address": f"부산광역시 해운대구 우동 {int(tag[:3], 16)}번지",
        "title": f"가로등 고장 신고 {tag}",
        "body": f"집 앞 가로등이 사흘째 꺼져 있습니다. 비밀문구-{tag}",
        "kind": "other",
        "category": "road",
        "district": "해운대구",
        "channel": "online",
        "consent": {"sms": True, "email": True, "alimtalk": False, "post": False},
    }
    body.update(overrides)
    return body


def staff_headers(id: str = "office-kim", *, department: str | None = "civil",
                  roles: tuple[str, ...] = ("complaint_office",), name: str = "김민원") -> dict[str, str]:
    """A bearer token of the built-in accounts' issuer (the development secret) for an official."""
    from minwon.auth import Principal, Verifier
    from minwon.settings import DEV_AUTH_SECRET

    token = Verifier(local_key=DEV_AUTH_SECRET).mint(
        Principal(id=id, name=name, department=department, roles=frozenset(roles)), ttl=7 * 86400)
    return {"Authorization": f"Bearer {token}"}


STAFF = staff_headers()
"""The complaint office: every department, every casework action."""
