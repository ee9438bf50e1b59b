"""Routing's persistence, in its own database:

- ``rules``: the rule table; each document keeps every version and an audit record per change.
- ``departments``: departments and their handlers (on duty or not), with an audit trail.
- ``assignments``: one document per complaint — its route, handler, queue state and history
  (aggregates with inbox and outbox: the routed/assigned/reassigned events are written with them).
- ``meta``: the seed marker.

A handler's load is not a counter that could drift: it is the number of
complaints assigned to them and still open, counted when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay, public
from services.routing.domain import ASSIGNED, QUEUED

SEED_MARKER = "seeded"


@dataclass
class RoutingStore:
    db: DocumentStore
    relay: Relay

    def __post_init__(self) -> None:
        self.rules = Aggregates(self.db.collection("rules"), self.relay)
        self.departments = Aggregates(self.db.collection("departments"), self.relay)
        self.assignments = Aggregates(self.db.collection("assignments"), self.relay)
        self.meta = self.db.collection("meta")

    async def setup(self) -> None:
        coll = self.db.collection("assignments")
        for fields in (("status", "department"), ("handler.id", "status"), ("guardian.id", "status"),
                       ("rule_id",), ("misroute.rule_id",)):
            await coll.ensure_index(*fields)

    async def seeded(self) -> bool:
        return await self.meta.get(SEED_MARKER) is not None

    async def seed(self, *, departments: list[dict[str, Any]], rules: list[dict[str, Any]]) -> int:
        """Load departments and rules, then mark the store seeded; safe when replicas start together."""
        created = 0
        for coll, docs in ((self.departments.coll, departments), (self.rules.coll, rules)):
            for doc in docs:
                created += await coll.create(doc)
        await self.meta.create({"_id": SEED_MARKER, "documents": created})
        return created

    # ------------------------------------------------------------- queries

    async def list_rules(self) -> list[dict[str, Any]]:
        return [public(d) for d in await self.rules.coll.find()]  # type: ignore[misc]

    async def list_departments(self) -> list[dict[str, Any]]:
        return [public(d) for d in await self.departments.coll.find(sort=[("_id", 1)])]  # type: ignore[misc]

    async def load(self, handler_id: str) -> int:
        return await self.assignments.coll.count({"handler.id": handler_id, "status": ASSIGNED})

    async def guardian_load(self, official_id: str) -> int:
        return await self.assignments.coll.count({"guardian.id": official_id, "status": ASSIGNED})

    async def queued(self, *, department: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        where: dict[str, Any] = {"status": QUEUED}
        if department:
            where["department"] = department
        docs = await self.assignments.coll.find(where, sort=[("priority", -1), ("queued_at", 1)], limit=limit)
        return [public(d) for d in docs]  # type: ignore[misc]

    async def count_queued(self) -> int:
        return await self.assignments.coll.count({"status": QUEUED})

    async def list_assignments(self, *, where: dict[str, Any], after: str | None, limit: int) -> list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        docs = await self.assignments.coll.find(where, sort=[("_id", 1)], limit=limit)
        return [public(d) for d in docs]  # type: ignore[misc]

    async def rule_stats(self, rule_id: str) -> tuple[int, int]:
        """(complaints routed by the rule, of which moved to another department)."""
        coll = self.assignments.coll
        return await coll.count({"rule_id": rule_id}), await coll.count({"misroute.rule_id": rule_id})
