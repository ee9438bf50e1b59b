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


TEST_AUTH_SECRET = "minwon-test-auth-secret-d41b7c0e9a"
TEST_SECRETS: dict[str, str] = {
    "pii_key": "dGVzdC1waWkta2V5LWZvci1taW53b24tdGVzdHMtMDE=",  # 32 bytes, base64
    "contacts_key": "dGVzdC1jb250YWN0cy1rZXktbWlud29uLXRlc3RzLTA=",
    "check_code_secret": "minwon-test-check-code-secret-5e2f",
    "survey_secret": "minwon-test-survey-secret-8c1a",
    "auth_secret": TEST_AUTH_SECRET,
}
"""Settings overrides for a run that production checks (distributed, or ``MINWON_ENV=production``):
secrets that are not the development defaults (and are public: tests only)."""
TEST_SECRETS_ENV: dict[str, str] = {
    **{f"MINWON_{name.upper()}": value for name, value in TEST_SECRETS.items()},
    "MINWON_NOTIFICATION_KEY": "dGVzdC1ub3RpZmljYXRpb24ta2V5LW1pbndvbi10ZXM=",
    "MINWON_NOTIFICATION_PUBLIC_ID_SECRET": "minwon-test-public-id-secret-6f0c",
    "MINWON_COMPENSATION_VOUCHER_SECRET": "minwon-test-voucher-secret-27ad",
    "MINWON_WEB_SESSION_SECRET": "minwon-test-web-session-secret-3b9d",
}
"""The same as environment variables, for processes (``minwon service <name>``, ``minwon run``)."""


def staff_headers(
    id: str = "office-kim",
    *,
    department: str | None = "civil",
    roles: tuple[str, ...] = ("complaint_office",),
    name: str = "김민원",
    secret: str | None = None,
) -> dict[str, str]:
    """A bearer token of the built-in accounts' issuer for an official: signed with the development
    secret, or ``secret`` (:data:`TEST_AUTH_SECRET` for processes started with :data:`TEST_SECRETS_ENV`)."""
    from minwon.auth import Principal, Verifier
    from minwon.settings import DEV_AUTH_SECRET

    token = Verifier(local_key=secret or DEV_AUTH_SECRET).mint(
        Principal(id=id, name=name, department=department, roles=frozenset(roles)), ttl=7 * 86400
    )
    return {"Authorization": f"Bearer {token}"}


STAFF = staff_headers()
"""The complaint office: every department, every casework action."""
STAFF_TEST_SECRET = staff_headers(secret=TEST_AUTH_SECRET)
"""The same official, for services running with :data:`TEST_SECRETS_ENV` (distributed processes)."""
