"""Routing's persistence, in its own database:

- ``rules``: the rule table; each document keeps every version and an audit record per change.
- ``departments``: departments and their handlers (on duty or not), with an audit trail.
- ``assignments``: one document per complaint — its route, handler, queue state and history
  (aggregates with inbox and outbox: the routed/assigned/reassigned events are written with them).
- ``meta``: the seed marker.
- ``queue``: each department's waiting complaints, listed in a few documents read by ``_id``
  (``<department>/<shard>``), kept with the assignments like the counters, so that giving a
  waiting complaint a handler reads its department's list and the complaints it names instead of
  querying the assignments by status (a scan of every assignment on a server without the index,
  once for every complaint closed in a department whose officials are all at the cap). An entry
  may be stale (a crash between an assignment and its entry): readers check the assignment and drop
  it. One may be missing: a department whose counter says more wait than its list holds is read
  with the query, as before, and the recount adds what is missing.

- ``counters``: each handler's load (complaints assigned to them and still open), each
  guardian's, and the complaints waiting per department, kept with the assignments so
  that routing one complaint never counts over all of them. A crash between an
  assignment and its counter leaves a counter one off; :meth:`RoutingStore.recount`
  rebuilds them from the assignments (at start-up when missing, then periodically, in its
  turn among the store's scans, beside the assignments: see its text).
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, ConcurrencyConflict, Relay, public
from services.routing.domain import ASSIGNED, QUEUED, QueueEntry, queue_entry, queue_key

log = logging.getLogger(__name__)

SEED_MARKER = "seeded"
QUEUE_SHARDS = 4
"""Documents per department's queue list: its writers (complaints queued or leaving the queue at once)
spread over them, and a reader reads them all."""
COUNTER_TTL = 2.0
"""Seconds a load counter this process read or moved is used without reading it again: every complaint
routed reads its department's handlers' loads. This process's own moves are seen at once, another
replica's within this (two replicas picking at once could already both see a handler under the cap)."""


_FIELDS = ("receipt_no", "priority", "received_at", "queued_at")


def _entry(stored: dict[str, Any]) -> QueueEntry:
    return str(stored["receipt_no"]), bool(stored["priority"]), str(stored["received_at"]), str(stored["queued_at"])


@dataclass
class QueueIndex:
    """Each department's waiting complaints (see the module's text)."""

    lists: Aggregates
    shards: int = QUEUE_SHARDS

    def _key(self, department: str, receipt_no: str) -> str:
        return f"{department}/{zlib.crc32(receipt_no.encode()) % self.shards}"

    async def waiting(self, department: str) -> list[QueueEntry]:
        """The department's entries in the order its complaints get a handler."""
        entries: list[QueueEntry] = []
        for shard in range(self.shards):
            doc = await self.lists.get(f"{department}/{shard}")
            entries += [_entry(e) for e in (doc or {}).get("waiting", [])]
        return sorted(entries, key=lambda e: queue_key(*e))

    async def add(self, department: str, entries: Iterable[QueueEntry]) -> None:
        """List ``entries`` (replacing what was listed for the same complaints)."""
        by_key: dict[str, dict[str, QueueEntry]] = {}
        for entry in entries:
            by_key.setdefault(self._key(department, entry[0]), {})[entry[0]] = entry
        for key, new in by_key.items():
            await self._change(key, lambda listed, new=new: {**listed, **new})

    async def remove(self, department: str, receipt_nos: Iterable[str]) -> None:
        by_key: dict[str, set[str]] = {}
        for no in receipt_nos:
            by_key.setdefault(self._key(department, no), set()).add(no)
        for key, gone in by_key.items():
            await self._change(key, lambda listed, gone=gone: {n: e for n, e in listed.items() if n not in gone})

    async def file_changes(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
        """Keep the lists with an assignment that went from ``before`` to ``after``."""
        was, now = queue_entry(before), queue_entry(after)
        if was == now:
            return
        try:
            if was is not None and (now is None or now[0] != was[0]):
                await self.remove(was[0], [was[1][0]])
            if now is not None:
                await self.add(now[0], [now[1]])
        except ConcurrencyConflict:  # the lists are repaired by their readers and the recount
            log.warning("queue list not updated", extra={"receipt_no": (was or now or ("", ("",)))[1][0]})

    async def _change(self, key: str, change: Any) -> None:
        def decide(doc: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
            listed = {entry[0]: entry for entry in map(_entry, (doc or {}).get("waiting", []))}
            new = change(listed)
            if new == listed:
                return None, []
            return {"waiting": [dict(zip(_FIELDS, e, strict=True)) for e in new.values()]}, []

        await self.lists.apply(key, decide, publish=False)


@dataclass
class RoutingStore:
    db: DocumentStore
    relay: Relay
    _moved: set[str] | None = field(default=None, init=False, repr=False)
    """The counters this process moved while a recount reads the assignments."""
    counter_ttl: float = COUNTER_TTL
    _known: dict[str, tuple[int, float]] = field(default_factory=dict, init=False, repr=False)
    """Counter -> its value as this process last read or moved it, and when (``time.monotonic``)."""

    def __post_init__(self) -> None:
        self.rules = Aggregates(self.db.collection("rules"), self.relay)
        self.departments = Aggregates(self.db.collection("departments"), self.relay)
        self.assignments = Aggregates(self.db.collection("assignments"), self.relay)
        self.meta = self.db.collection("meta")
        self.counters = self.db.collection("counters")
        self.queue = QueueIndex(Aggregates(self.db.collection("queue"), self.relay))

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
        known = self._known.get(key)
        if known is None or time.monotonic() - known[1] > self.counter_ttl:
            doc = await self.counters.get(key)
            known = self._note(key, int(doc.get("n", 0)) if doc else 0)
        return max(0, known[0])

    def _note(self, key: str, value: int) -> tuple[int, float]:
        self._known[key] = known = (value, time.monotonic())
        return known

    async def _move(self, key: str, delta: int) -> None:
        self._note(key, await self.counters.increment(key, "n", delta))

    async def load(self, handler_id: str) -> int:
        return await self._counter(f"load:{handler_id}")

    async def guardian_load(self, official_id: str) -> int:
        return await self._counter(f"guardian:{official_id}")

    async def queued_in(self, department: str) -> int:
        return await self._counter(f"queued:{department}")

    async def account(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """Move the counters and the queue lists from what ``before`` held to what ``after`` holds."""
        await self.queue.file_changes(before, after)
        deltas: dict[str, int] = {}
        for doc, sign in ((before, -1), (after, 1)):
            for key in _counted(doc):
                deltas[key] = deltas.get(key, 0) + sign
        for key, delta in deltas.items():
            if delta:
                if self._moved is not None:
                    self._moved.add(key)
                await self._move(key, delta)

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
            waiting: dict[str, list[QueueEntry]] = {}
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
                    if (waits := queue_entry(doc)) is not None:
                        waiting.setdefault(waits[0], []).append(waits[1])
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
                await self._move(key, totals.get(key, 0) - after.get(key, 0))
        # what waits and is not listed (a crash between an assignment and its entry, or queued before the
        # lists were kept) is added; an entry is never removed here, since its complaint may have been
        # queued after its page was read (readers drop what no longer waits)
        for department, entries in waiting.items():
            listed = {e[0] for e in await self.queue.waiting(department)}
            await self.queue.add(department, [e for e in entries if e[0] not in listed])
        return True

    async def _counts(self) -> dict[str, int]:
        return {doc["_id"]: int(doc.get("n", 0)) for doc in await self.counters.find({})}

    async def queued(self, *, department: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The waiting assignments by query (a scan where the server has no index): when the queue lists
        miss some (see the module's text)."""
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
