"""Staff accounts, password hashes, the signed session cookie and CSRF tokens.

Accounts come from the web front's store (:mod:`services.web.accounts`, ``minwon staff``;
the sample file ``MINWON_WEB_STAFF_FILE`` on a first start); passwords are stored as
scrypt hashes (``scrypt$<n>$<r>$<p>$<salt>$<hash>``, base64url). The session cookie is
``base64url(json) . base64url(HMAC-SHA256)``: it names the official, its expiry and a
nonce; the role and department are read from the directory on every request, so a
changed or disabled account takes effect at the directory's next refresh (seconds). Hash a new password with
``python -m services.web.auth <password>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.web.access import Staff

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(
    password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(digest))
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


@dataclass(frozen=True)
class Account:
    staff: Staff
    password_hash: str


def _accounts(records: Iterable[Mapping[str, Any]]) -> dict[str, Account]:
    """The enabled accounts of ``records``, by id (a disabled account cannot sign in)."""
    accounts: dict[str, Account] = {}
    for rec in records:
        if rec.get("disabled"):
            continue
        staff = Staff(
            id=str(rec["id"]), name=str(rec["name"]), role=str(rec["role"]), department=rec.get("department") or None
        )
        if staff.id in accounts:
            raise ValueError(f"staff {staff.id} listed twice")
        accounts[staff.id] = Account(staff, str(rec["password_hash"]))
    return accounts


@dataclass
class Directory:
    """The staff accounts, by id; a small per-account lock-out after repeated failures."""

    accounts: dict[str, Account]
    clock: Any = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _dummy: str = field(default_factory=lambda: hash_password(secrets.token_hex(8)))

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> Directory:
        return cls(_accounts(records))

    @classmethod
    def load(cls, path: Path) -> Directory:
        return cls.from_records(json.loads(path.read_text("utf-8"))["staff"])

    def replace(self, records: Iterable[Mapping[str, Any]]) -> None:
        """The accounts as the store now has them (the lock-out counts stay)."""
        self.accounts = _accounts(records)

    def get(self, staff_id: str) -> Staff | None:
        account = self.accounts.get(staff_id)
        return account.staff if account else None

    def locked(self, staff_id: str) -> bool:
        now = self.clock()
        recent = [t for t in self._failures.get(staff_id, []) if now - t < LOCKOUT_SECONDS]
        self._failures[staff_id] = recent
        return len(recent) >= MAX_FAILURES

    def authenticate(self, staff_id: str, password: str) -> Staff | None:
        """The official, or None: an unknown id, a wrong password and a locked account look the same."""
        staff_id = staff_id.strip()
        account = self.accounts.get(staff_id)
        if account is None or self.locked(staff_id):
            check_password(password, self._dummy)  # the same work either way
            return None
        if not check_password(password, account.password_hash):
            self._failures.setdefault(staff_id, []).append(self.clock())
            return None
        self._failures.pop(staff_id, None)
        return account.staff


@dataclass(frozen=True)
class Session:
    sub: str
    exp: int
    nonce: str


class Signer:
    """Signs session cookies and derives CSRF tokens from one secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"minwon-web|" + secret.encode()).digest()

    def _mac(self, purpose: str, text: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}|{text}".encode(), hashlib.sha256).digest())

    def session(self, staff_id: str, *, now: float, ttl: float) -> str:
        body = _b64(
            json.dumps(
                {"sub": staff_id, "exp": int(now + ttl), "n": secrets.token_hex(8)}, separators=(",", ":")
            ).encode()
        )
        return f"{body}.{self._mac('session', body)}"

    def read_session(self, cookie: str | None, *, now: float) -> Session | None:
        if not cookie or "." not in cookie:
            return None
        body, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            data = json.loads(_unb64(body))
            session = Session(sub=str(data["sub"]), exp=int(data["exp"]), nonce=str(data["n"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.exp > now else None

    def csrf(self, nonce: str, subject: str = "") -> str:
        """The token a form carries: bound to the browser's CSRF cookie and to who is signed in."""
        return self._mac("csrf", f"{nonce}|{subject}")

    def check_csrf(self, token: str | None, nonce: str | None, subject: str = "") -> bool:
        return bool(token and nonce) and hmac.compare_digest(str(token), self.csrf(str(nonce), subject))


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


if __name__ == "__main__":  # python -m services.web.auth <password>
    print(hash_password(sys.argv[1]))
