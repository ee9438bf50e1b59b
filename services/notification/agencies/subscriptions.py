"""Agencies and their subscriptions to the public complaint stream, under ``/api/v1/subscriptions``.

- An administrator (staff token) registers an agency: ``POST /api/v1/subscriptions/agencies``
  ``{code, name}``. The answer shows the agency's API key **once**; only its SHA-256 is stored (the key
  has 256 random bits, so a fast hash is enough). ``POST .../agencies/{code}/key`` issues a new key
  and voids the old one.
- An agency, with ``Authorization: Bearer <api key>`` (or ``X-Api-Key``), manages its own
  subscriptions. Another agency's subscription answers 404, as an unknown id does, so ids reveal
  nothing.
- ``mode: "webhook"``: an ``https://`` URL (``http://127.0.0.1`` only with
  ``MINWON_NOTIFICATION_WEBHOOK_ALLOW_HTTP_LOOPBACK`` for tests); the answer shows the signing
  secret **once** (kept sealed under the service's key, since signing needs it).
- ``mode: "kafka"``: the agency reads ``minwon.public.complaints.v1`` itself, as the Kafka user
  ``agency-<code>`` with consumer groups ``agency-<code>.*`` (operators create that user: see
  docs/public-events.md); the filter is then the agency's to apply, and is recorded for the record.

The filter (``types``, ``kinds``, ``categories``, ``districts``) is
:class:`~services.notification.agencies.public.Filter`.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import ipaddress
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from minwon import topics
from minwon.crypto import Sealer
from minwon.docstore import Collection, iso
from minwon.errors import Conflict, DomainError, Invalid, NotFound
from minwon.outbox import public as without_bookkeeping
from services.notification.agencies.public import Filter
from services.notification.agencies.webhooks import STATUSES, Webhooks

log = logging.getLogger("minwon.notification")

KEY_PREFIX = "mwk_"
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


# ------------------------------------------------------------------ rules (pure)


def new_api_key(code: str) -> str:
    return f"{KEY_PREFIX}{code}_{secrets.token_urlsafe(32)}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_code(key: str) -> str | None:
    """The agency code an API key names (``mwk_<code>_<secret>``), or None for a malformed key."""
    if not key.startswith(KEY_PREFIX) or "_" not in key[len(KEY_PREFIX) :]:
        return None
    return key[len(KEY_PREFIX) :].split("_", 1)[0] or None


def check_url(url: str, *, allow_loopback: bool) -> str:
    """A webhook URL: HTTPS to a public host; plain HTTP only to the loopback host when allowed (tests)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise Invalid("url", "not a URL") from None
    if parts.username or parts.password:
        raise Invalid("url", "no credentials in the URL: the signature authenticates the sender")
    if parts.fragment:
        raise Invalid("url", "no fragment in a webhook URL")
    if not host:
        raise Invalid("url", "the URL needs a host")
    loopback = host in LOOPBACK_HOSTS
    if parts.scheme == "http":
        if allow_loopback and loopback:
            return url.strip()
        raise Invalid("url", "webhooks are delivered over HTTPS only (https://...)")
    if parts.scheme != "https":
        raise Invalid("url", "webhooks are delivered over HTTPS only (https://...)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    internal = loopback or (
        address is not None
        and (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        )
    )
    if internal and not (allow_loopback and loopback):
        raise Invalid("url", "the URL names an internal address")
    return url.strip()


def subscription_view(doc: dict[str, Any]) -> dict[str, Any]:
    out = without_bookkeeping(doc) or {}
    out.pop("secret_sealed", None)
    if out.get("mode") == "kafka":
        out["kafka"] = kafka_access(out["agency"])
    return out


def kafka_access(code: str) -> dict[str, str]:
    """What an agency reading the topic itself is given (operators create the user; docs/public-events.md)."""
    return {
        "topic": topics.PUBLIC,
        "principal": f"User:agency-{code}",
        "mechanism": "SCRAM-SHA-512",
        "consumer_group_prefix": f"agency-{code}.",
    }


def agency_view(doc: dict[str, Any]) -> dict[str, Any]:
    out = without_bookkeeping(doc) or {}
    out.pop("key_hash", None)
    return out


def parse_instant(value: str, field: str, now: datetime) -> datetime:
    try:
        instant = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise Invalid(field, f"{field} is an ISO 8601 instant, e.g. 2026-11-18T10:00:00+09:00") from None
    if instant.tzinfo is None:
        raise Invalid(field, f"{field} needs a UTC offset, e.g. 2026-11-18T10:00:00+09:00")
    if instant > now:
        raise Invalid(field, f"{field} is in the future")
    return instant


# ------------------------------------------------------------------ handlers


@dataclass
class Subscriptions:
    agencies: Collection
    subscriptions: Collection
    webhooks: Webhooks
    sealer: Sealer
    clock: Callable[[], datetime]
    allow_loopback: bool = False

    async def setup(self) -> None:
        await self.subscriptions.ensure_index("agency")
        await self.subscriptions.ensure_index("mode", "status")
        await self.webhooks.setup()

    # -------------------------------------------------------------- agencies (staff)

    async def create_agency(self, *, code: str, name: str) -> dict[str, Any]:
        key = new_api_key(code)
        doc = {
            "_id": code,
            "code": code,
            "name": name,
            "key_hash": key_hash(key),
            "created_at": iso(self.clock()),
            "key_issued_at": iso(self.clock()),
        }
        if not await self.agencies.create(doc):
            raise Conflict(f"agency {code} exists", code=code)
        log.info("agency registered", extra={"agency": code})
        return {**agency_view(doc), "api_key": key}

    async def rotate_key(self, *, code: str) -> dict[str, Any]:
        for _ in range(5):
            doc = await self.agencies.get(code)
            if doc is None:
                raise NotFound("agency", code)
            key = new_api_key(code)
            new = {**doc, "key_hash": key_hash(key), "key_issued_at": iso(self.clock())}
            if await self.agencies.update(new, expected_version=doc["_v"]):
                log.info("agency key rotated", extra={"agency": code})
                return {**agency_view(new), "api_key": key}
        raise Conflict(f"agency {code} kept changing; try again")

    async def list_agencies(self) -> list[dict[str, Any]]:
        return [agency_view(d) for d in await self.agencies.find({}, sort=[("_id", 1)], limit=1000)]

    async def authenticate(self, key: str) -> str:
        """The agency code of a valid API key; 401 otherwise (the same answer for every failure)."""
        code = key_code(key)
        doc = await self.agencies.get(code) if code else None
        if doc is None or not hmac.compare_digest(doc["key_hash"], key_hash(key)):
            raise DomainError("unauthorized", "an agency API key is required (Authorization: Bearer mwk_...)", 401)
        return code  # type: ignore[return-value]

    # -------------------------------------------------------------- subscriptions (agency)

    async def create(self, agency: str, data: SubscriptionIn) -> dict[str, Any]:
        id = uuid.uuid4().hex
        doc: dict[str, Any] = {
            "_id": id,
            "id": id,
            "agency": agency,
            "mode": data.mode,
            "filter": data.filter.model_dump(),
            "status": "active",
            "created_at": iso(self.clock()),
        }
        secret = None
        if data.mode == "webhook":
            if not data.url:
                raise Invalid("url", "a webhook subscription needs its https:// URL")
            doc["url"] = check_url(data.url, allow_loopback=self.allow_loopback)
            secret = f"whsec_{secrets.token_hex(32)}"
            doc["secret_sealed"] = self.sealer.seal(secret, context=id)
        elif data.url:
            raise Invalid("url", "a kafka subscription has no URL")
        await self.subscriptions.create(doc)
        self.webhooks.forget_subscriptions()
        log.info("subscription created", extra={"agency": agency, "subscription_id": id, "mode": data.mode})
        view = subscription_view(doc)
        if secret:
            view["secret"] = secret
        return view

    async def get(self, agency: str, id: str) -> dict[str, Any]:
        doc = await self.subscriptions.get(id)
        if doc is None or doc.get("agency") != agency or doc.get("status") == "deleted":
            raise NotFound("subscription", id)
        return doc

    async def list(self, agency: str) -> list[dict[str, Any]]:
        docs = await self.subscriptions.find({"agency": agency, "status": "active"}, sort=[("created_at", 1)])
        return [subscription_view(d) for d in docs]

    async def delete(self, agency: str, id: str) -> dict[str, Any]:
        doc = await self.get(agency, id)
        new = {**doc, "status": "deleted", "deleted_at": iso(self.clock())}
        if not await self.subscriptions.update(new, expected_version=doc["_v"]):
            raise Conflict("the subscription changed meanwhile; try again")
        self.webhooks.forget_subscriptions()
        cancelled = await self.webhooks.cancel_open(id)
        log.info("subscription deleted", extra={"agency": agency, "subscription_id": id, "cancelled": cancelled})
        return {**subscription_view(new), "cancelled_deliveries": cancelled}

    async def replay(self, agency: str, id: str, since: str) -> dict[str, Any]:
        doc = await self.get(agency, id)
        if doc["mode"] != "webhook":
            raise Invalid("mode", "a kafka subscription replays by seeking its own consumer (offsets_for_times)")
        return await self.webhooks.replay(doc, parse_instant(since, "from", self.clock()))

    async def deliveries(
        self, agency: str, id: str, *, status: str | None, replay: bool | None, limit: int
    ) -> builtins.list[dict[str, Any]]:
        await self.get(agency, id)
        if status is not None and status not in STATUSES:
            raise Invalid("status", f"status is one of {', '.join(STATUSES)}")
        return await self.webhooks.list(subscription_id=id, status=status, replay=replay, limit=limit)


# ------------------------------------------------------------------ HTTP


class AgencyIn(BaseModel):
    code: str = Field(pattern=CODE_PATTERN, description="Short code: lower-case letters, digits, hyphens")
    name: str = Field(min_length=1, max_length=200)


class SubscriptionIn(BaseModel):
    mode: Literal["kafka", "webhook"]
    url: str | None = Field(None, max_length=2000, description="webhook: the https:// URL events are POSTed to")
    filter: Filter = Field(default_factory=Filter)
