"""The notification service's persistence, in its own database.

- ``complaints``: per-complaint facts (consent, handler, due date, outcome)
  and the sealed contact details and sealed parts, one aggregate document
  per receipt number, written with ``Aggregates.apply(cause=event.id)``;
- ``notifications``: one record per notification id, created with
  ``collection.create`` (a duplicate id is the idempotency check) and moved
  through its delivery states by compare-and-set, with ``notification.sent``
  / ``notification.failed`` in the same write (outbox);
- ``sink`` and ``letters``: the development provider's deliveries.
"""

from __future__ import annotations

import asyncio
import builtins
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay, public
from minwon.service import Clock, system_clock
from minwon.timers import TimeIndex, due_ids
from services.notification import domain

CLAIM_HOLD = 2.0
"""Seconds a claim waits before it is filed in the attempt wheel (see :class:`NotificationStore`)."""

HOLIDAYS_FRESH = 60.0
"""Seconds the holidays added at run time are reused before they are read again (another instance's
addition reaches the quiet hours of this one within that time)."""


@dataclass
class NotificationStore:
    db: DocumentStore
    relay: Relay
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        self.complaints = Aggregates(self.db.collection("complaints"), self.relay)
        self.records = self.db.collection("notifications")
        # notices due now are attempted by their writer, not filed; a claim (the time a notice being sent
        # is taken up again if its sender died) is filed only if the notice is still being sent after
        # CLAIM_HOLD seconds: a send usually ends sooner, and its record clears the time. The safety net
        # runs every 30 s, so an attempt a crash cut short (a claim that expired unfiled) is taken up again soon
        self.attempts = TimeIndex(
            self.db.collection("attempt_timers", deletes=True),
            ("next_attempt_at",),
            clock=self.clock,
            file_past=False,
            rescan_every=30.0,
            hold=lambda doc: CLAIM_HOLD if doc.get("status") == domain.SENDING else None,
        )
        self.notifications = Aggregates(self.records, self.relay, timers=(self.attempts,))
        self.sink = self.db.collection("sink")
        self.letters = self.db.collection("letters")
        self.holiday_days = self.db.collection("holidays")
        self._holidays: tuple[float, builtins.list[date]] | None = None
        """When the holidays were last read (the event loop's time), and what they were."""

    async def setup(self) -> None:
        await self.records.ensure_index("receipt_no")
        await self.records.ensure_index("status", "next_attempt_at")

    async def get(self, id: str) -> dict[str, Any] | None:
        return public(await self.records.get(id))

    async def list(self, *, receipt_no: str, limit: int = 200) -> list[dict[str, Any]]:
        """A complaint's notices, oldest first: read by id from the list its facts document keeps
        (a query on ``receipt_no`` is a scan of every notice on some MongoDB-wire servers)."""
        facts = await self.complaints.get(receipt_no) or {}
        docs = [d for d in [await self.records.get(i) for i in facts.get("notices", [])] if d is not None]
        docs.sort(key=lambda d: (d.get("created_at", ""), d["_id"]))
        return [public(d) or {} for d in docs[:limit]]

    async def remember(
        self, receipt_no: str, ids: builtins.list[str], *, latest: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Note the complaint's notification ids on its facts document (``domain.remember``)."""
        applied = await self.complaints.apply(
            receipt_no, lambda state: (domain.remember(state, receipt_no, ids, latest=latest), [])
        )
        return applied.state

    async def add_holiday(self, day: date, name: str) -> bool:
        """A holiday added at run time (by the deadline service); False if it was known."""
        added = await self.holiday_days.create({"_id": day.isoformat(), "date": day.isoformat(), "name": name})
        self._holidays = None
        return added

    async def holidays(self) -> builtins.list[date]:
        """The holidays added at run time, read at most every ``HOLIDAYS_FRESH`` seconds (a notice on a
        quiet channel asks for them on every attempt)."""
        now = asyncio.get_running_loop().time()
        if self._holidays is None or now - self._holidays[0] >= HOLIDAYS_FRESH:
            days = [date.fromisoformat(d["date"]) for d in await self.holiday_days.find({}, limit=10_000)]
            self._holidays = (now, days)
        return list(self._holidays[1])

    async def due(self, *, now_iso: str, limit: int) -> builtins.list[str]:
        where = {"status": {"$in": list(domain.DUE)}}

        async def scan() -> list[dict[str, Any]]:
            return await self.records.find(
                {**where, "next_attempt_at": {"$lte": now_iso}}, sort=[("next_attempt_at", 1)], limit=limit
            )

        return await due_ids(
            self.attempts,
            self.records,
            now=datetime.fromisoformat(now_iso),
            limit=limit,
            time_field="next_attempt_at",
            where=where,
            scan=scan,
        )

    async def count(self, *, status: str) -> int:
        return await self.records.count({"status": status})

    async def deliveries(self, record: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        """The development provider's deliveries of one notice, read by the message ids its attempt log
        keeps (a query on ``receipt_no`` is a scan of every delivery on some MongoDB-wire servers)."""
        ids = dict.fromkeys(
            t["message_id"]
            for t in record.get("attempt_log", [])
            if t.get("outcome") == "sent" and t.get("provider") == "dev" and t.get("message_id")
        )
        docs = [d for d in [await self.sink.get(i) for i in ids] if d is not None]
        return sorted(docs, key=lambda d: (d.get("delivered_at", ""), d["_id"]))
