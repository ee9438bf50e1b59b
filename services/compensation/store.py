"""Compensation's persistence, in its own database:

- ``cases``: what the rules need to know of each complaint (aggregates with inbox and outbox);
- ``ledger``: the append-only ledger; an entry's id is its idempotency key and its
  event leaves through the entry's own outbox;
- ``budgets``: per year and department, the limit and what is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay, public
from minwon.service import Clock, system_clock
from minwon.timers import TimeIndex, due_ids
from services.compensation import domain


@dataclass
class CompensationStore:
    db: DocumentStore
    relay: Relay
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        self.breach_timers = TimeIndex(
            self.db.collection("breach_timers", deletes=True), ("breach_evaluate_after",), clock=self.clock
        )
        self.revisit_timers = TimeIndex(
            self.db.collection("revisit_timers", deletes=True), ("revisit_evaluate_after",), clock=self.clock
        )
        self.cases = Aggregates(
            self.db.collection("cases"), self.relay, timers=(self.breach_timers, self.revisit_timers)
        )
        self.ledger = Aggregates(self.db.collection("ledger"), self.relay)
        self.budgets = Aggregates(self.db.collection("budgets"), self.relay)

    async def setup(self) -> None:
        cases = self.db.collection("cases")
        await cases.ensure_index("breach_status", "breach_evaluate_after")
        await cases.ensure_index("revisit_evaluate_after")
        ledger = self.db.collection("ledger")
        for fields in (("receipt_no",), ("year",), ("reverses",)):
            await ledger.ensure_index(*fields)
        await self.db.collection("budgets").ensure_index("year")

    async def due_breaches(self, *, now_iso: str, limit: int = 100) -> list[str]:
        """Complaints whose missed period waits for assessment and whose settle time has come."""
        where = {"breach_status": domain.PENDING}

        async def scan() -> list[dict[str, Any]]:
            return await self.cases.coll.find(
                {**where, "breach_evaluate_after": {"$lte": now_iso}}, sort=[("breach_evaluate_after", 1)], limit=limit
            )

        return await due_ids(
            self.breach_timers,
            self.cases.coll,
            now=datetime.fromisoformat(now_iso),
            limit=limit,
            time_field="breach_evaluate_after",
            where=where,
            scan=scan,
        )

    async def due_revisits(self, *, now_iso: str, limit: int = 100) -> list[str]:
        """Complaints with reported revisits whose time to be granted has come."""

        async def scan() -> list[dict[str, Any]]:
            return await self.cases.coll.find(
                {"revisit_evaluate_after": {"$lte": now_iso}}, sort=[("revisit_evaluate_after", 1)], limit=limit
            )

        return await due_ids(
            self.revisit_timers,
            self.cases.coll,
            now=datetime.fromisoformat(now_iso),
            limit=limit,
            time_field="revisit_evaluate_after",
            where={},
            scan=scan,
        )

    async def entries(self, *, receipt_no: str | None = None, year: int | None = None) -> list[dict[str, Any]]:
        where: dict[str, Any] = {}
        if receipt_no is not None:
            where["receipt_no"] = receipt_no
        if year is not None:
            where["year"] = year
        docs = await self.db.collection("ledger").find(where, sort=[("created_at", 1), ("kind", 1), ("_id", 1)])
        return [d for d in (public(doc) for doc in docs) if d is not None]

    async def budgets_of(self, year: int) -> list[domain.Budget]:
        docs = await self.db.collection("budgets").find({"year": year}, sort=[("department", 1)])
        return [domain.Budget.from_doc(d) for d in docs]
