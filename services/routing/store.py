"""Routing's persistence, in its own database:

- ``rules``: the rule table; each document keeps every version and an audit record per change.
- ``departments``: departments and their handlers (on duty or not), with an audit trail.
- ``assignments``: one document per complaint — its route, handler, queue state and history
  (aggregates with inbox and outbox: the routed/assigned/reassigned events are written with them).
- ``meta``: the seed marker.

- ``counters``: each handler's load (complaints assigned to them and still open), each
  guardian's, and the complaints waiting per department, kept with the assignments so
  that routing one complaint never counts over all of them. A crash between an
  assignment and its counter leaves a counter one off; :meth:`RoutingStore.recount`
  rebuilds them from the assignments (at start-up when missing, then periodically, in its
  turn among the store's scans, beside the assignments: see its text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay, public
from services.routing.domain import ASSIGNED, QUEUED

SEED_MARKER = "seeded"


@dataclass
class RoutingStore:
    db: DocumentStore
    relay: Relay
    _moved: set[str] | None = field(default=None, init=False, repr=False)
    """The counters this process moved while a recount reads the assignments."""

    def __post_init__(self) -> None:
        self.rules = Aggregates(self.db.collection("rules"), self.relay)
        self.departments = Aggregates(self.db.collection("departments"), self.relay)
        self.assignments = Aggregates(self.db.collection("assignments"), self.relay)
        self.meta = self.db.collection("meta")
        self.counters = self.db.collection("counters")

    async def setup(self) -> None:
        coll = self.db.collection("assignments")
        for fields in (
            ("status", "department"),
            ("handler.id", "status"),
            ("guardian.id", "status"),
            ("rule_id",),
            ("misroute.rule_id",),
        ):
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

    async def _counter(self, key: str) -> int:
        doc = await self.counters.get(key)
        return max(0, int(doc.get("n", 0))) if doc else 0

    async def load(self, handler_id: str) -> int:
        return await self._counter(f"load:{handler_id}")

    async def guardian_load(self, official_id: str) -> int:
        return await self._counter(f"guardian:{official_id}")

    async def queued_in(self, department: str) -> int:
        return await self._counter(f"queued:{department}")

    async def account(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """Move the counters from what ``before`` held to what ``after`` holds."""
        deltas: dict[str, int] = {}
        for doc, sign in ((before, -1), (after, 1)):
            for key in _counted(doc):
                deltas[key] = deltas.get(key, 0) + sign
        for key, delta in deltas.items():
            if delta:
                if self._moved is not None:
                    self._moved.add(key)
                await self.counters.increment(key, "n", delta)

    async def recount(self, *, force: bool = False) -> bool:
        """Correct the counters from the assignments (a scan: recovery, off the path of events).

        It runs beside the assignments, not holding them up for the minutes a scan of 100,000 takes on
        a server without the index. A counter that moved while the assignments were read (here, or as
        seen on the counters before and after) is left for the next recount, since its total could be
        off by what moved; one that did not is moved by the difference, with an increment, so an
        assignment counted meanwhile is kept."""
        if not force and await self.counters.get("queued") is not None:
            return False
        self._moved = set()
        try:
            before = await self._counts()
            totals: dict[str, int] = {"queued": 0}
            after_id: str | None = None
            while True:
                # pages in key order with no other filter: each page a walk of the key from where the last
                # ended. Filtered by status, a store without statistics picks the status index and sorts
                # every open assignment for each page (measured: 18 s at 90,000, routing held meanwhile)
                page = await self.assignments.coll.find(
                    {"_id": {"$gt": after_id}} if after_id else {}, sort=[("_id", 1)], limit=1000
                )
                for doc in page:
                    for key in _counted(doc):  # nothing for a closed or transferred one
                        totals[key] = totals.get(key, 0) + 1
                if len(page) < 1000:
                    break
                after_id = page[-1]["_id"]
            after = await self._counts()
            moved = self._moved
        finally:
            self._moved = None
        for key in totals.keys() | after.keys():
            if key in moved or before.get(key) != after.get(key):
                continue
            if key not in after or totals.get(key, 0) != after[key]:
                await self.counters.increment(key, "n", totals.get(key, 0) - after.get(key, 0))
        return True

    async def _counts(self) -> dict[str, int]:
        return {doc["_id"]: int(doc.get("n", 0)) for doc in await self.counters.find({})}

    async def queued(self, *, department: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        where: dict[str, Any] = {"status": QUEUED}
        if department:
            where["department"] = department
        docs = await self.assignments.coll.find(where, sort=[("priority", -1), ("queued_at", 1)], limit=limit)
        return [public(d) for d in docs]  # type: ignore[misc]

    async def count_queued(self) -> int:
        return await self._counter("queued")

    async def list_assignments(self, *, where: dict[str, Any], after: str | None, limit: int) -> list[dict[str, Any]]:
        if after:
            where = {**where, "_id": {"$gt": after}}
        docs = await self.assignments.coll.find(where, sort=[("_id", 1)], limit=limit)
        return [public(d) for d in docs]  # type: ignore[misc]

    async def rule_stats(self, rule_id: str) -> tuple[int, int]:
        """(complaints routed by the rule, of which moved to another department)."""
        coll = self.assignments.coll
        return await coll.count({"rule_id": rule_id}), await coll.count({"misroute.rule_id": rule_id})


def _counted(doc: dict[str, Any] | None) -> list[str]:
    """The counters an assignment in this state adds one to."""
    if not doc:
        return []
    if doc.get("status") == QUEUED:
        return ["queued", f"queued:{doc.get('department')}"]
    if doc.get("status") != ASSIGNED:
        return []
    keys = [f"load:{doc['handler']['id']}"] if doc.get("handler") else []
    if doc.get("guardian"):
        keys.append(f"guardian:{doc['guardian']['id']}")
    return keys
