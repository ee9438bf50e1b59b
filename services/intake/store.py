"""Intake's persistence: complaints (aggregates with inbox and outbox),
idempotency keys and receipt-number sequences, in its own database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay


@dataclass
class IntakeStore:
    db: DocumentStore
    relay: Relay

    def __post_init__(self) -> None:
        self.complaints = Aggregates(self.db.collection("complaints"), self.relay)
        self.idempotency = self.db.collection("idempotency")
        self.sequences = self.db.collection("sequences")

    async def setup(self) -> None:
        coll = self.db.collection("complaints")
        for fields in (("status",), ("department",), ("kind",), ("channel",), ("due_at",), ("registered_at",)):
            await coll.ensure_index(*fields)

    async def next_sequence(self, *, org: str, year: int) -> int:
        """Unique per organisation and year, across any number of intake replicas."""
        return await self.sequences.increment(f"{org}:{year}", "value")

    async def claim(self, *, key: str, receipt_no: str, fingerprint: str) -> dict[str, Any]:
        """Bind an idempotency key to a receipt number; the first claim wins."""
        await self.idempotency.create({"_id": key, "receipt_no": receipt_no, "fingerprint": fingerprint})
        claim = await self.idempotency.get(key)
        assert claim is not None
        return claim

    async def get_claim(self, key: str) -> dict[str, Any] | None:
        return await self.idempotency.get(key)

    async def count(self, **where: Any) -> int:
        return await self.db.collection("complaints").count(where)

    async def list(self, *, where: dict[str, Any], after: str | None, limit: int) -> list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        return await self.db.collection("complaints").find(where, sort=[("_id", 1)], limit=limit)
