"""Attachments' handlers: check (the pure rules), encrypt, store, list and read, each read
written to intake's audit log. The API and the Open311 filing call these.

Bytes are encrypted with AES-256-GCM under a key derived from intake's personal-data key
(:meth:`minwon.crypto.Sealer.derived`, purpose ``attachments``), its id kept beside them so the
personal-data key can rotate; the associated data binds each file to its complaint and id. File
names are sealed like the complaint's text (they often name a person).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minwon.docstore import DocumentStore, MongoStore
from minwon.errors import DomainError, NotFound
from minwon.settings import Settings
from services.intake import attachments as rules
from services.intake import domain
from services.intake.attachments_store import AttachmentStore, Blobs, FileBlobs, GridFsBlobs
from services.intake.domain import Complaint
from services.intake.handlers import Intake

log = logging.getLogger("minwon.intake.attachments")

PURPOSE = "attachments"
"""What the encryption key is derived for, from the personal-data key."""
CITIZEN = {"id": "citizen", "name": "민원인", "department": None, "roles": ["citizen"]}
"""The audit log's actor for a citizen reading with the check code."""


class AttachmentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINWON_ATTACHMENT_", extra="ignore")

    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="MINWON_ATTACHMENT_MAX_BYTES: one file")
    max_count: int = Field(
        10,
        ge=1,
        le=100,
        description="MINWON_ATTACHMENT_MAX_COUNT: files per complaint and target (the complaint; its answer)",
    )
    max_total_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="MINWON_ATTACHMENT_MAX_TOTAL_BYTES: all of one complaint's files"
    )
    fetch_hosts: str = Field(
        "",
        description="MINWON_ATTACHMENT_FETCH_HOSTS: comma-separated host names whose "
        "Open311 media_url is fetched and attached (empty: none is fetched)",
    )
    fetch_timeout_seconds: float = Field(5.0, gt=0, le=60)
    fetch_max_bytes: int = Field(5 * 1024 * 1024, ge=1024)

    def limits(self) -> rules.Limits:
        return rules.Limits(max_bytes=self.max_bytes, max_count=self.max_count, max_total_bytes=self.max_total_bytes)

    def hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.fetch_hosts.split(",") if h.strip())


def blobs_for(settings: Settings, store: DocumentStore) -> Blobs:
    """GridFS in intake's database (distributed), files under the data directory (embedded)."""
    if isinstance(store, MongoStore):
        return GridFsBlobs(settings.mongodb_uri, settings.database("intake"))
    return FileBlobs(settings.data_dir / "attachments")


@dataclass(frozen=True)
class Upload:
    """One received file: the form field it came in, the name the sender gave, its bytes."""

    field: str
    name: str | None
    data: bytes


@dataclass
class Attachments:
    intake: Intake
    store: AttachmentStore
    settings: AttachmentSettings
    transport: httpx.AsyncBaseTransport | None = None
    """For the Open311 fetch (tests pass one; default: the network)."""

    @property
    def limits(self) -> rules.Limits:
        return self.settings.limits()

    # ------------------------------------------------------------------ writes

    async def add(
        self,
        complaint: Complaint,
        uploads: list[Upload],
        *,
        target: str,
        by: dict[str, Any] | None,
        citizen: bool = False,
    ) -> list[dict[str, Any]]:
        """Check, encrypt and store ``uploads`` on ``complaint`` (``by``: the official; None: the
        citizen). Returns the new records' views."""
        why = rules.may_add(
            target,
            status=complaint.status,
            citizen=citizen,
            open_statuses=domain.OPEN,
            answer_state=(complaint.answer or {}).get("state"),
        )
        if why == "target":
            raise DomainError(
                "invalid",
                f"target is one of {', '.join(rules.TARGETS)}"
                + (" (a citizen adds to the complaint)" if citizen else ""),
                422,
                field="target",
            )
        if why == "status":
            raise DomainError("not_open", "files are added while the complaint is open", 409, field="file")
        if why == "answer_state":
            raise DomainError(
                "answer_submitted",
                "the answer is submitted for approval or approved: its files are "
                "what is approved (return it to add files)",
                409,
                field="file",
            )
        if not uploads:
            raise DomainError("invalid", "send one or more files in the form field 'file'", 422, field="file")
        limits = self.limits
        prepared = [rules.prepare(u.field, u.data, u.name, limits) for u in uploads]
        receipt_no = complaint.receipt_no
        at = self.intake.clock().astimezone(UTC).isoformat()
        records: list[dict[str, Any]] = []
        for item in prepared:
            id = uuid.uuid4().hex
            await self.store.put_bytes(id, self._seal(item.content, f"{receipt_no}/{id}"))
            if item.thumbnail is not None:
                await self.store.put_bytes(f"{id}.thumb", self._seal(item.thumbnail, f"{receipt_no}/{id}/thumb"))
            records.append(
                {
                    "id": id,
                    "target": target,
                    "media_type": item.kind.media_type,
                    "size": len(item.content),
                    "name": self.intake.pii.seal(item.name, context=f"{receipt_no}/{id}"),
                    "key_id": self.intake.pii.key_id,
                    "thumbnail_type": item.thumbnail_type,
                    "at": at,
                    "by": {k: by.get(k) for k in ("id", "name", "department")} if by else None,
                }
            )
        adding = sum(r["size"] for r in records)

        def check(current: list[dict[str, Any]]) -> None:
            rules.check_count(
                "file", existing=sum(1 for r in current if r["target"] == target), adding=len(records), limits=limits
            )
            rules.check_total("file", stored=sum(int(r["size"]) for r in current), adding=adding, limits=limits)

        try:
            await self.store.add(receipt_no, records, check)
        except DomainError:
            for r in records:  # refused: nothing of this request is kept
                await self.store.delete_bytes(r["id"])
                await self.store.delete_bytes(f"{r['id']}.thumb")
            raise
        if by is not None:
            await self.intake.audit(
                by, "add_attachment", receipt_no, purpose=f"{target}: {', '.join(r['id'] for r in records)}"
            )
        log.info("attachments added", extra={"receipt_no": receipt_no, "target": target, "count": len(records)})
        if target == rules.ANSWER and by is not None:
            await self.enclose_saved(receipt_no, by=by)
        return [self._view(receipt_no, r) for r in records]

    # ------------------------------------------------------------ the answer's enclosures (붙임)

    async def enclose(self, receipt_no: str, draft: domain.AnswerDraft) -> domain.AnswerDraft:
        """``draft`` with its text ending in the list of the answer's files (붙임), so the citizen's
        result notice and the portal name them."""
        names = [self._name(receipt_no, r) for r in await self.store.list(receipt_no) if r["target"] == rules.ANSWER]
        text = rules.enclosed(draft.text, names)
        return draft if text == draft.text else replace(draft, text=text)

    async def enclose_saved(self, receipt_no: str, *, by: dict[str, Any]) -> None:
        """The saved draft (or returned answer) redrafted by ``by`` when its list of enclosures is not the
        answer's files as they are (before it is submitted, and when a file is added)."""
        complaint = await self.intake.get(receipt_no)
        view = self.intake.answer_of(complaint)
        if view is None or view.get("state") not in (domain.ANSWER_DRAFT, domain.ANSWER_RETURNED):
            return
        draft = domain.AnswerDraft(
            outcome=view["outcome"],
            text=view.get("text") or "",
            reasons=view.get("reasons"),
            remedy=view.get("remedy"),
            template_id=view.get("template_id"),
        )
        new = await self.enclose(receipt_no, draft)
        if new is not draft:
            await self.intake.draft_answer(receipt_no, new, by=by)

    async def fetch_media(self, complaint: Complaint, url: str) -> dict[str, Any] | None:
        """An Open311 ``media_url``, fetched and attached when its host is on the allow-list (at most
        ``fetch_max_bytes``, within ``fetch_timeout_seconds``, no redirects). The link stays in the
        complaint's sealed text either way; a failure is logged (the host only) and is not the
        filing's."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or host not in self.settings.hosts():
            return None
        limit = min(self.settings.fetch_max_bytes, self.limits.max_bytes)
        try:
            async with httpx.AsyncClient(
                timeout=self.settings.fetch_timeout_seconds, follow_redirects=False, transport=self.transport
            ) as client:
                async with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise DomainError("fetch_failed", f"status {response.status_code}", 502)
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise rules.too_large("media_url", limit)
                        chunks.append(chunk)
            name = parts.path.rsplit("/", 1)[-1] or "media"
            views = await self.add(
                complaint,
                [Upload("media_url", name, b"".join(chunks))],
                target=rules.COMPLAINT,
                by={"id": "open311", "name": "Open311", "department": None, "roles": []},
            )
        except (DomainError, httpx.HTTPError) as exc:
            log.warning(
                "media_url not attached",
                extra={
                    "receipt_no": complaint.receipt_no,
                    "host": host,
                    "error": getattr(exc, "code", type(exc).__name__),
                },
            )
            return None
        return views[0]

    # ------------------------------------------------------------------ reads

    async def list(self, complaint: Complaint, *, by: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The complaint's attachments (names opened), audited. ``by`` None: the citizen, who sees the
        answer's files once the answer is given."""
        records = await self.store.list(complaint.receipt_no)
        if by is None:
            answered = _answered(complaint)
            records = [r for r in records if rules.citizen_sees(r["target"], answered=answered)]
        if records:
            await self.intake.audit(
                by or CITIZEN,
                "list_attachments",
                complaint.receipt_no,
                purpose="citizen with the check code" if by is None else "casework",
            )
        return [self._view(complaint.receipt_no, r) for r in records]

    async def read(
        self, complaint: Complaint, id: str, *, by: dict[str, Any] | None, thumbnail: bool = False
    ) -> tuple[bytes, str, str]:
        """One file's (or its thumbnail's) bytes, media type and name; the read is audited first."""
        record = next((r for r in await self.store.list(complaint.receipt_no) if r["id"] == id), None)
        if record is None or (by is None and not rules.citizen_sees(record["target"], answered=_answered(complaint))):
            raise NotFound("attachment", id)
        if thumbnail and not record.get("thumbnail_type"):
            raise NotFound("thumbnail of attachment", id)
        await self.intake.audit(
            by or CITIZEN,
            "read_attachment_thumbnail" if thumbnail else "read_attachment",
            complaint.receipt_no,
            purpose=f"{id} ({'citizen with the check code' if by is None else 'casework'})",
        )
        blob_id, context = (
            (_thumb_blob(record), f"{complaint.receipt_no}/{id}/thumb")
            if thumbnail
            else (_blob(record), f"{complaint.receipt_no}/{id}")
        )
        sealed = await self.store.get_bytes(blob_id)
        if sealed is None:
            raise NotFound("attachment", id)
        data = self._open(sealed, context, record["key_id"])
        name = self._name(complaint.receipt_no, record)
        return data, str(record["thumbnail_type"] if thumbnail else record["media_type"]), name

    # ------------------------------------------------------------------ key rotation

    async def reseal(self, *, batch: int = 100) -> dict[str, int]:
        """Encrypt again, under the current personal-data key, every file, thumbnail and name still under
        an old one (``minwon keys reseal``; then the old key can go). The new bytes are written under new
        blob ids, the record switched to them by compare-and-set, then the old blobs deleted: an
        interruption leaves every file readable, and a second run finishes the rest."""
        checked = resealed = 0
        after: str | None = None
        while True:
            docs = await self.store.page(after=after, limit=batch)
            for doc in docs:
                for record in doc.get("items", []):
                    checked += 1
                    if record.get("key_id") != self.intake.pii.key_id or self.intake.pii.needs_rotation(record["name"]):
                        await self._reseal_one(doc["_id"], record)
                        resealed += 1
            if len(docs) < batch:
                return {"checked": checked, "resealed": resealed}
            after = docs[-1]["_id"]

    async def _reseal_one(self, receipt_no: str, record: dict[str, Any]) -> None:
        pii, id = self.intake.pii, record["id"]
        suffix = hashlib.sha256(pii.key_id.encode()).hexdigest()[:10]
        new = {
            **record,
            "key_id": pii.key_id,
            "blob": f"{id}.{suffix}",
            "name": pii.seal(self._name(receipt_no, record), context=f"{receipt_no}/{id}"),
        }
        parts = [(_blob(record), new["blob"], f"{receipt_no}/{id}")]
        if record.get("thumbnail_type"):
            new["thumb_blob"] = f"{id}.{suffix}.thumb"
            parts.append((_thumb_blob(record), new["thumb_blob"], f"{receipt_no}/{id}/thumb"))
        for old_blob, new_blob, context in parts:
            if old_blob == new_blob:
                continue
            sealed = await self.store.get_bytes(old_blob)
            if sealed is None:
                raise NotFound("attachment bytes", id)
            await self.store.put_bytes(new_blob, self._seal(self._open(sealed, context, record["key_id"]), context))
        await self.store.change(receipt_no, lambda items: [new if r["id"] == id else r for r in items])
        for old_blob, new_blob, _ in parts:
            if old_blob != new_blob:
                await self.store.delete_bytes(old_blob)

    # ------------------------------------------------------------------ plumbing

    def _name(self, receipt_no: str, record: dict[str, Any]) -> str:
        return self.intake.pii.open(record["name"], context=f"{receipt_no}/{record['id']}")

    def _view(self, receipt_no: str, record: dict[str, Any]) -> dict[str, Any]:
        name = self._name(receipt_no, record)
        return {
            "id": record["id"],
            "target": record["target"],
            "media_type": record["media_type"],
            "size": record["size"],
            "name": name,
            "thumbnail": bool(record.get("thumbnail_type")),
            "uploaded_at": record["at"],
            "uploaded_by": (record.get("by") or {}).get("name") if record.get("by") else None,
        }

    def _seal(self, data: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        key = self.intake.pii.derived(PURPOSE)
        return nonce + AESGCM(key).encrypt(nonce, data, context.encode())

    def _open(self, sealed: bytes, context: str, key_id: str) -> bytes:
        key = self.intake.pii.derived(PURPOSE, key_id)
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], context.encode())


def _blob(record: dict[str, Any]) -> str:
    """Where a file's bytes are: its id, or after a key rotation the blob written then."""
    return str(record.get("blob") or record["id"])


def _thumb_blob(record: dict[str, Any]) -> str:
    return str(record.get("thumb_blob") or f"{record['id']}.thumb")


def _answered(complaint: Complaint) -> bool:
    return complaint.status == domain.CLOSED and complaint.answer is not None


def build(
    settings: Settings, intake: Intake, store: DocumentStore, own: AttachmentSettings | None = None
) -> Attachments:
    """Intake's attachments over its own store (composition root: nothing connects here)."""
    return Attachments(intake, AttachmentStore(store, blobs_for(settings, store)), own or AttachmentSettings())
