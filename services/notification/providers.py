"""Delivery channels as provider adapters behind one port, :class:`Provider`.

Every call carries the notification id as its idempotency key: the dev sink
keeps one delivery per key, the HTTP gateway and the staff webhook send it as
``Idempotency-Key`` (and ``message_id``), e-mail as the ``Message-ID``, the
letter spool as the file name. A repeated call with the same key (a sender
that crashed after the provider accepted, before the record said "sent")
therefore reaches the citizen once (docs/notification.md).

- :class:`DevSink` (default, every channel): writes each delivery to the
  ``sink`` collection of the service's own store (masked text plus the full
  text sealed), letters' PDFs to ``letters``.
- :class:`HttpGateway`: SMS, LMS and KakaoTalk AlimTalk through an HTTP SMS
  gateway (JSON POST with a bearer credential).
- :class:`SmtpEmail`: e-mail over SMTP (aiosmtplib).
- :class:`SpoolPost`: postal letters as PDF + JSON files in a spool directory
  that a print-and-mail vendor (e-그린우편) collects.
- :class:`StaffWebhook`: staff messages as a JSON POST to the staff messenger.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from minwon.crypto import Sealer
from minwon.docstore import Collection, iso
from services.notification import domain


@dataclass(frozen=True)
class Message:
    """One message for one provider call. ``to`` and ``text`` are personal data: never logged."""

    idempotency_key: str
    channel: str
    to: str
    subject: str
    text: str
    receipt_no: str
    template: str
    template_version: int
    role: str
    audience: str
    to_masked: str
    text_masked: str
    attachment: bytes | None = None
    attachment_meta: Mapping[str, Any] | None = None

    @property
    def alimtalk_template_code(self) -> str:
        """The AlimTalk template registered with Kakao for this template and version."""
        return f"{self.template}.v{self.template_version}"


@dataclass(frozen=True)
class Delivery:
    provider: str
    message_id: str
    duplicate: bool = False


class DeliveryFailed(Exception):
    """The provider did not take the message. ``code`` is safe to log (no personal data)."""

    def __init__(self, code: str, *, permanent: bool = False) -> None:
        super().__init__(code)
        self.code = _code(code)
        self.permanent = permanent


class Provider(Protocol):
    name: str

    async def send(self, message: Message) -> Delivery: ...


def _code(raw: Any) -> str:
    return re.sub(r"[^a-z0-9_.:-]", "_", str(raw).lower())[:60] or "unknown"


# --------------------------------------------------------------------------- development sink


@dataclass
class DevSink:
    """The development provider: every delivery lands in the store, where the API lists it."""

    sink: Collection
    letters: Collection
    sealer: Sealer
    clock: Callable[[], datetime]
    failing_channels: frozenset[str] = frozenset()
    """Channels that fail on purpose (to try the AlimTalk fallback and the retries by hand)."""
    name: str = "dev"

    async def send(self, message: Message) -> Delivery:
        if message.channel in self.failing_channels:
            raise DeliveryFailed("dev_simulated_failure")
        key = f"{message.idempotency_key}:{message.channel}"
        doc = {
            "_id": key,
            "message_id": key,
            "notification_id": message.idempotency_key,
            "receipt_no": message.receipt_no,
            "channel": message.channel,
            "template": message.template,
            "template_version": message.template_version,
            "role": message.role,
            "audience": message.audience,
            "to_masked": message.to_masked,
            "subject": message.subject,
            "text_masked": message.text_masked,
            "text_sealed": self.sealer.seal(message.text, context=message.idempotency_key),
            "text_sha256": domain.sha256(message.text),
            "letter": dict(message.attachment_meta) if message.attachment_meta else None,
            "delivered_at": iso(self.clock()),
        }
        if message.attachment is not None:
            await self.letters.put(
                {
                    "_id": message.idempotency_key,
                    "receipt_no": message.receipt_no,
                    "sha256": domain.sha256(message.attachment),
                    "pdf_b64": base64.b64encode(message.attachment).decode(),
                }
            )
        if not await self.sink.create(doc):
            return Delivery(self.name, key, duplicate=True)
        return Delivery(self.name, key)


# --------------------------------------------------------------------------- HTTP


_GATEWAY_TYPES = {domain.SMS: "SMS", domain.LMS: "LMS", domain.ALIMTALK: "ALIMTALK"}
_TRANSIENT_HTTP = frozenset({408, 425, 429})


async def _post_json(
    url: str,
    body: Mapping[str, Any],
    *,
    key: str,
    api_key: str,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None,
    provider: str,
) -> Delivery:
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.post(url, content=json.dumps(body, ensure_ascii=False).encode(), headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryFailed("timeout") from exc
    except httpx.HTTPError as exc:
        raise DeliveryFailed("connect_error") from exc
    status = response.status_code
    if status == 409:  # the gateway already has this idempotency key: delivered before
        return Delivery(provider, _message_id(response, key), duplicate=True)
    if status >= 500 or status in _TRANSIENT_HTTP:
        raise DeliveryFailed(f"http_{status}")
    if status >= 400:
        raise DeliveryFailed(f"http_{status}", permanent=True)
    payload = _json(response)
    state = str(payload.get("status", "accepted")).lower()
    if state in ("failed", "rejected"):
        raise DeliveryFailed(f"gateway_{payload.get('code') or state}", permanent=state == "rejected")
    return Delivery(provider, _message_id(response, key), duplicate=bool(payload.get("duplicate")))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _message_id(response: httpx.Response, key: str) -> str:
    payload = _json(response)
    return str(payload.get("message_id") or payload.get("id") or key)


@dataclass
class HttpGateway:
    """An HTTP SMS gateway for SMS, LMS and AlimTalk.

    ``POST <url>`` with ``Authorization: Bearer <api key>``, ``Idempotency-Key:
    <notification id>`` and a JSON body ``{message_id, type: SMS|LMS|ALIMTALK,
    from, to, text, subject?, template_code?, sender_key?}``. 2xx with
    ``{"message_id": ...}`` is accepted; 409 means "already accepted"; 408,
    425, 429 and 5xx are retried; other 4xx are permanent.
    """

    url: str
    api_key: str = ""
    sender: str = ""
    timeout: float = 10.0
    alimtalk_sender_key: str = ""
    transport: httpx.AsyncBaseTransport | None = None
    name: str = "gateway"

    async def send(self, message: Message) -> Delivery:
        if message.channel not in _GATEWAY_TYPES:
            raise DeliveryFailed(f"unsupported_channel_{message.channel}", permanent=True)
        body: dict[str, Any] = {
            "message_id": message.idempotency_key,
            "type": _GATEWAY_TYPES[message.channel],
            "from": self.sender,
            "to": message.to,
            "text": message.text,
        }
        if message.channel != domain.SMS:
            body["subject"] = message.subject
        if message.channel == domain.ALIMTALK:
            body["template_code"] = message.alimtalk_template_code
            body["sender_key"] = self.alimtalk_sender_key
        return await _post_json(
            self.url,
            body,
            key=message.idempotency_key,
            api_key=self.api_key,
            timeout=self.timeout,
            transport=self.transport,
            provider=self.name,
        )


@dataclass
class StaffWebhook:
    """Staff messages as ``POST <url>`` JSON ``{message_id, to, role, subject, text, receipt_no}``."""

    url: str
    api_key: str = ""
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    name: str = "webhook"

    async def send(self, message: Message) -> Delivery:
        body = {
            "message_id": message.idempotency_key,
            "to": message.to,
            "role": message.role,
            "subject": message.subject,
            "text": message.text,
            "receipt_no": message.receipt_no,
        }
        return await _post_json(
            self.url,
            body,
            key=message.idempotency_key,
            api_key=self.api_key,
            timeout=self.timeout,
            transport=self.transport,
            provider=self.name,
        )


# --------------------------------------------------------------------------- e-mail


@dataclass
class SmtpEmail:
    """E-mail over SMTP with aiosmtplib; the notification id is the ``Message-ID``."""

    host: str
    port: int = 25
    sender: str = "minwon@localhost"
    username: str = ""
    password: str = ""
    start_tls: bool = False
    use_tls: bool = False
    timeout: float = 10.0
    name: str = "smtp"

    async def send(self, message: Message) -> Delivery:
        import aiosmtplib

        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.idempotency_key}@minwon.notification>"
        email["Date"] = format_datetime(datetime.now().astimezone())
        email["X-Minwon-Receipt"] = message.receipt_no
        email.set_content(message.text)
        try:
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                start_tls=self.start_tls,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed("smtp_recipient_refused", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"smtp_{exc.code}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed("smtp_unavailable") from exc
        return Delivery(self.name, str(email["Message-ID"]))  # the header object is a str subclass


# --------------------------------------------------------------------------- post


@dataclass
class SpoolPost:
    """Letters as ``<id>.pdf`` + ``<id>.json`` in a spool directory a print-and-mail vendor collects.

    The JSON is written last (atomically): its presence means the letter is complete.
    """

    directory: Path
    name: str = "spool"

    async def send(self, message: Message) -> Delivery:
        if message.attachment is None:
            raise DeliveryFailed("no_letter", permanent=True)
        return await asyncio.to_thread(self._write, message)

    def _write(self, message: Message) -> Delivery:
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        key = message.idempotency_key
        meta_path = directory / f"{key}.json"
        if meta_path.exists():
            return Delivery(self.name, key, duplicate=True)
        _atomic_write(directory / f"{key}.pdf", message.attachment or b"")
        meta = {
            **dict(message.attachment_meta or {}),
            "letter_no": key,
            "receipt_no": message.receipt_no,
            "address": message.to,
            "pdf": f"{key}.pdf",
        }
        _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode())
        return Delivery(self.name, key)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the set in use


@dataclass
class Providers:
    """The provider for each channel."""

    by_channel: dict[str, Provider] = field(default_factory=dict)

    def for_channel(self, channel: str) -> Provider:
        try:
            return self.by_channel[channel]
        except KeyError:
            raise DeliveryFailed(f"no_provider_{channel}", permanent=True) from None

    @classmethod
    def every_channel(cls, provider: Provider) -> Providers:
        return cls({channel: provider for channel in domain.CHANNELS})
