"""The deadline service's persistence, in its own database (``minwon_deadline``):

- ``clocks``: one document per receipt number — the clock's inputs, what routing told
  us, what was published, and derived ``status``, ``due_at`` and ``next_fire_at`` for
  the indexes (aggregates with inbox and outbox: every deadline event is written with
  the state that caused it).
- ``statistics``: processing statistics per month, department, category and channel (a read model
  of the clocks, see :mod:`services.deadline.statistics_store`).
- ``holidays``: dates an administrator added (임시공휴일), each with the progress of
  the recomputation it started; its ``holiday_added`` event goes out with it.

Every query pages (``limit``): the scanner never holds more than one page of clocks.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minwon.docstore import Doc, DocumentStore, iso
from minwon.outbox import Aggregates, Relay, public
from minwon.service import Clock, system_clock
from minwon.timers import TimeIndex, due_ids
from services.deadline.statistics_store import StatisticsStore
from services.deadline.tracking import LIVE, OPEN

INDEXES: tuple[tuple[str, ...], ...] = (
    ("next_fire_at",),
    ("_id",),
    ("status", "due_at"),
    ("status", "overdue_since"),
    ("status", "_id"),
    ("department", "status"),
)


@dataclass
class DeadlineStore:
    db: DocumentStore
    relay: Relay
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        self.timers = TimeIndex(self.db.collection("clock_timers", deletes=True), ("next_fire_at",), clock=self.clock)
        self.clocks = Aggregates(self.db.collection("clocks"), self.relay, timers=(self.timers,))
        self.holidays = Aggregates(self.db.collection("holidays"), self.relay)
        # a recount empties cells instead of deleting them: versions only grow, so a kept copy is a safe base.
        # Still declared with deletes: recounts of earlier versions deleted cells, and a cell created again
        # must be numbered after the version markers its first life left (as a collection that deletes does)
        self.statistics = StatisticsStore(Aggregates(self.db.collection("statistics", deletes=True), self.relay))
        self.cooperation_timers = TimeIndex(
            self.db.collection("cooperation_timers", deletes=True), ("next_fire_at",), clock=self.clock
        )
        self.cooperation = Aggregates(
            self.db.collection("cooperation_clocks"), self.relay, timers=(self.cooperation_timers,)
        )
        """The clocks of cooperation requests (협조 요청), one document per complaint (its receipt number)."""

    async def setup(self) -> None:
        for fields in INDEXES:
            await self.clocks.coll.ensure_index(*fields)
        await self.statistics.setup()
        await self.cooperation.coll.ensure_index("next_fire_at")

    # ------------------------------------------------------------- timers

    async def due(self, *, now: datetime, limit: int) -> builtins.list[str]:
        """Receipt numbers of clocks with a timer at or before ``now``, earliest first (one page):
        from the timer wheel, with the indexed query as its safety net."""
        return await self._due(self.clocks, self.timers, now=now, limit=limit)

    async def due_cooperation(self, *, now: datetime, limit: int) -> builtins.list[str]:
        """Receipt numbers whose cooperation requests have a signal at or before ``now`` (one page)."""
        return await self._due(self.cooperation, self.cooperation_timers, now=now, limit=limit)

    @staticmethod
    async def _due(clocks: Aggregates, timers: TimeIndex, *, now: datetime, limit: int) -> builtins.list[str]:
        async def scan() -> builtins.list[Doc]:
            return await clocks.coll.find({"next_fire_at": {"$lte": iso(now)}}, sort=[("next_fire_at", 1)], limit=limit)

        # both fire through a compare-and-set that emits only what has come due: one written due here
        # (a receipt whose first signal has come) is fired on the copy kept of it, without a read first
        return await due_ids(
            timers, clocks.coll, now=now, limit=limit, time_field="next_fire_at", where={}, scan=scan, confirm=False
        )

    async def open_page(self, *, after: str | None, limit: int) -> builtins.list[Doc]:
        """Running (not paused) clocks by receipt number after ``after``: one page.

        Paged on ``(status, _id)`` so that walking every open clock costs one pass over
        the index, whatever their due times; the caller filters the page."""
        where: dict[str, Any] = {"status": OPEN}
        if after is not None:
            where["_id"] = {"$gt": after}
        return await self.clocks.coll.find(where, sort=[("_id", 1)], limit=limit)

    # ------------------------------------------------------------- reads

    async def list(
        self, *, overdue_at: datetime | None, department: str | None, status: str | None, after: str | None, limit: int
    ) -> builtins.list[Doc]:
        where: dict[str, Any] = {}
        if status is not None:
            where["status"] = status
        if department is not None:
            where["department"] = department
        if overdue_at is not None:
            where["status"] = {"$in": list(LIVE)} if status is None else status
            where["overdue_since"] = {"$lt": iso(overdue_at)}
        if after is not None:
            where["_id"] = {"$gt": after}
        return [public(d) or {} for d in await self.clocks.coll.find(where, sort=[("_id", 1)], limit=limit)]

    async def count_live(self) -> int:
        return await self.clocks.coll.count({"status": {"$in": list(LIVE)}})

    async def count_overdue(self, *, now: datetime) -> int:
        return await self.clocks.coll.count({"status": {"$in": list(LIVE)}, "overdue_since": {"$lt": iso(now)}})

    async def page(self, *, after: str | None, limit: int) -> builtins.list[Doc]:
        """Every clock document by receipt number (replay comparisons)."""
        where = {"_id": {"$gt": after}} if after is not None else {}
        return [public(d) or {} for d in await self.clocks.coll.find(where, sort=[("_id", 1)], limit=limit)]

    async def list_holidays(self) -> builtins.list[Doc]:
        return [public(d) or {} for d in await self.holidays.coll.find(sort=[("_id", 1)])]

    async def pending_holidays(self) -> builtins.list[Doc]:
        return [
            public(d) or {} for d in await self.holidays.coll.find({"recompute.status": "pending"}, sort=[("_id", 1)])
        ]
