"""Intake's persistence: complaints (aggregates with inbox and outbox), idempotency keys,
receipt-number sequences, check-code failures per window, the append-only audit log of
officials' access, answer templates and each department's answer policy, in its own database."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from minwon.docstore import DocumentStore, MongoCollection
from minwon.outbox import Aggregates, Relay


@dataclass
class IntakeStore:
    db: DocumentStore
    relay: Relay
    receipt_block: int = 1
    """Sequence numbers reserved per write to the shared counter (see ``next_sequence``)."""
    _reserved: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _reserving: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def __post_init__(self) -> None:
        self.complaints = Aggregates(self.db.collection("complaints"), self.relay)
        self.idempotency = self.db.collection("idempotency")
        self.sequences = self.db.collection("sequences")
        self.attempts = self.db.collection("code_attempts")
        self.audit = self.db.collection("audit")
        self.templates = self.db.collection("answer_templates", deletes=True)
        self.policies = self.db.collection("answer_policies")
        self.maintenance = self.db.collection("maintenance")
        """Progress of long operations (``reseal``: the key and the last receipt number done)."""
        self.cooperation = self.db.collection("cooperation_requests")
        """Each cooperation request (협조 요청) as a row of its department's list: ``<receipt_no>#<id>``,
        no text (the texts stay sealed in the complaint); rewritten from the complaint after each change."""
        self.citizens = Aggregates(self.db.collection("citizen_complaints"), self.relay)
        """Per citizen (identity's blind-index term) and category, the receipt numbers of their
        complaints, newest last: found by ``_id``, so looking up a filer's earlier complaints reads
        one document however many complaints are stored (a query on another field is a scan on
        some MongoDB-wire servers)."""
        self.places = Aggregates(self.db.collection("place_complaints"), self.relay)
        """Per category, district and day of receipt (Korea time), the receipt numbers filed: the
        candidates for duplicate complaints (중복민원) read by ``_id``, like the citizens' ledgers."""

    async def setup(self) -> None:
        coll = self.db.collection("complaints")
        for fields in (
            ("status",),
            ("department",),
            ("kind",),
            ("channel",),
            ("due_at",),
            ("registered_at",),
            ("answer_state",),
        ):
            await coll.ensure_index(*fields)
        if isinstance(coll, MongoCollection):  # a multikey index; SQLite cannot index array elements
            await coll.ensure_index("search_terms")
        for fields in (("receipt_no",), ("actor_id",), ("at",)):
            await self.audit.ensure_index(*fields)
        await self.templates.ensure_index("category")
        await self.cooperation.ensure_index("department", "state")

    async def failures(self, *, keys: builtins.list[str]) -> builtins.list[int]:
        """Check-code failures counted under each key (one document per key, read by ``_id``)."""
        return [int((await self.attempts.get(key) or {}).get("failures", 0)) for key in keys]

    async def count_failure(self, *, keys: builtins.list[str]) -> None:
        for key in keys:
            await self.attempts.increment(key, "failures")

    async def append_audit(self, *, entry: dict[str, Any]) -> None:
        """Append only: an entry is created once under a fresh ``_id`` and never updated."""
        if not await self.audit.create(entry):
            raise RuntimeError(f"audit entry {entry['_id']} already exists")

    async def list_audit(
        self, *, where: dict[str, Any], after: str | None, limit: int
    ) -> builtins.list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        return await self.audit.find(where, sort=[("_id", 1)], limit=limit)

    async def next_sequence(self, *, org: str, year: int) -> int:
        """Unique per organisation and year, across any number of intake replicas. Each process
        reserves ``receipt_block`` numbers with one counter write and hands them out in order, so
        replicas interleave blocks and a restart skips what was left of its block."""
        key = f"{org}:{year}"
        async with self._reserving:
            following, last = self._reserved.get(key, (1, 0))
            if following > last:
                last = await self.sequences.increment(key, "value", by=self.receipt_block)
                following = last - self.receipt_block + 1
            self._reserved[key] = (following + 1, last)
            return following

    async def citizen_complaints(self, identity: str, category: str, *, limit: int) -> builtins.list[dict[str, Any]]:
        """The citizen's latest ``limit`` complaints in ``category``, newest first."""
        ledger = await self.citizens.get(_citizen_key(identity, category)) or {}
        found = [await self.complaints.coll.get(no) for no in reversed(ledger.get("receipts", [])[-limit:])]
        return [doc for doc in found if doc is not None]

    async def note_citizen_complaint(self, identity: str, category: str, receipt_no: str) -> None:
        """Add a complaint to its citizen's ledger (again: nothing changes)."""
        await self.citizens.apply(_citizen_key(identity, category), _adding(receipt_no, CITIZEN_LEDGER))

    async def place_complaints(
        self, category: str, district: str, days: Sequence[date], *, limit: int
    ) -> builtins.list[dict[str, Any]]:
        """Complaints in ``category`` and ``district`` received on ``days`` (nearest first), at most ``limit``."""
        receipts: builtins.list[str] = []
        for day in days:
            ledger = await self.places.get(_place_key(category, district, day)) or {}
            receipts += [no for no in reversed(ledger.get("receipts", [])) if no not in receipts]
            if len(receipts) >= limit:
                break
        found = [await self.complaints.coll.get(no) for no in receipts[:limit]]
        return [doc for doc in found if doc is not None]

    async def note_place_complaint(self, category: str, district: str, day: date, receipt_no: str) -> None:
        await self.places.apply(_place_key(category, district, day), _adding(receipt_no, PLACE_LEDGER))

    async def claim(self, *, key: str, receipt_no: str, fingerprint: str) -> dict[str, Any]:
        """Bind an idempotency key to a receipt number; the first claim wins."""
        mine = {"_id": key, "receipt_no": receipt_no, "fingerprint": fingerprint}
        if await self.idempotency.create(mine):
            return {**mine, "_v": 1}
        claim = await self.idempotency.get(key)  # an earlier request with this key won: its claim holds
        assert claim is not None
        return claim

    async def get_claim(self, key: str) -> dict[str, Any] | None:
        return await self.idempotency.get(key)

    async def count(self, **where: Any) -> int:
        return await self.db.collection("complaints").count(where)

    async def count_by_status(self, statuses: builtins.list[str]) -> dict[str, int]:
        """Complaints in each of ``statuses``, counted in one pass."""
        return await self.db.collection("complaints").count_by("status", {"status": {"$in": statuses}})

    async def list(self, *, where: dict[str, Any], after: str | None, limit: int) -> builtins.list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        return await self.db.collection("complaints").find(where, sort=[("_id", 1)], limit=limit)

    async def find(self, *, where: dict[str, Any], limit: int) -> builtins.list[dict[str, Any]]:
        """Complaints matching ``where``, newest receipt first, at most ``limit`` (a bounded lookup)."""
        return await self.db.collection("complaints").find(where, sort=[("_id", -1)], limit=limit)

    # ------------------------------------------------------- cooperation requests

    async def put_cooperation(self, *, row: dict[str, Any], version: int) -> None:
        """Write ``row`` as the complaint's ``version`` shows it, unless a later version's row is stored:
        two writers (a reply and the request's clock) may finish in either order, the later state stays."""
        row = {**row, "complaint_version": version}
        while True:
            stored = await self.cooperation.get(row["_id"])
            if stored is not None and int(stored.get("complaint_version", 0)) >= version:
                return
            written = (
                await self.cooperation.create(row)
                if stored is None
                else await self.cooperation.update(row, expected_version=stored["_v"])
            )
            if written:
                return

    async def list_cooperation(
        self, *, department: str, states: Sequence[str], limit: int
    ) -> builtins.list[dict[str, Any]]:
        """A department's requests in ``states``, oldest request first (at most ``limit``)."""
        found: builtins.list[dict[str, Any]] = []
        for state in states:
            found += await self.cooperation.find(
                {"department": department, "state": state}, sort=[("requested_at", 1)], limit=limit
            )
        return sorted(found, key=lambda r: r["requested_at"])[:limit]

    # ------------------------------------------------------- answer templates

    async def list_templates(self, *, category: str | None) -> builtins.list[dict[str, Any]]:
        """A department keeps a few templates a category: read them all, no paging."""
        return await self.templates.find({"category": category} if category else {}, sort=[("_id", 1)])

    async def get_template(self, template_id: str) -> dict[str, Any] | None:
        return await self.templates.get(template_id)

    async def put_template(self, *, template: dict[str, Any]) -> None:
        await self.templates.put(template)

    async def delete_template(self, template_id: str) -> bool:
        return await self.templates.delete(template_id)

    # ------------------------------------------------------- answer policies

    async def policies_by_department(self) -> dict[str, bool]:
        """``{department: approval required}`` for the departments that set one."""
        return {d["_id"]: bool(d["approval_required"]) for d in await self.policies.find({})}

    async def put_policy(self, *, department: str, approval_required: bool, at: str, by: dict[str, Any]) -> None:
        await self.policies.put(
            {"_id": department, "approval_required": approval_required, "updated_at": at, "updated_by": by}
        )


CITIZEN_LEDGER = 200
"""Receipt numbers a citizen's ledger keeps per category (the oldest are dropped)."""


def _citizen_key(identity: str, category: str) -> str:
    return f"{identity}|{category}"


PLACE_LEDGER = 1000
"""Receipt numbers a place ledger keeps for one day (the oldest are dropped)."""


def _place_key(category: str, district: str, day: date) -> str:
    return f"{category}|{district}|{day.isoformat()}"


def _adding(receipt_no: str, keep: int) -> Any:
    """A decision adding ``receipt_no`` to a ledger's receipts (kept to the last ``keep``)."""

    def add(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
        receipts = list((state or {}).get("receipts", []))
        if receipt_no in receipts:
            return None, []
        return {"receipts": (receipts + [receipt_no])[-keep:]}, []

    return add
