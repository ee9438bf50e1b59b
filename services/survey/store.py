"""Survey's persistence, in its own database:

- ``surveys``: one per complaint (aggregate with inbox and outbox): the facts for
  statistics, the invitation timer (``invite_at``), the response and its free text;
- ``reports``: a published yearly report, frozen;
- ``actions``: improvement actions registered against a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from minwon.docstore import DocumentStore
from minwon.outbox import Aggregates, Relay, public
from minwon.service import Clock, system_clock
from minwon.timers import TimeIndex, due_ids
from services.survey import domain


@dataclass
class SurveyStore:
    db: DocumentStore
    relay: Relay
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        self.invitations = TimeIndex(
            self.db.collection("invitation_timers", deletes=True), ("invite_at",), clock=self.clock
        )
        self.surveys = Aggregates(self.db.collection("surveys"), self.relay, timers=(self.invitations,))
        self.reports = Aggregates(self.db.collection("reports"), self.relay)
        self.actions = Aggregates(self.db.collection("actions"), self.relay)

    async def setup(self) -> None:
        surveys = self.db.collection("surveys")
        for fields in (
            ("status", "invite_at"),
            ("invited_year",),
            ("responded_year",),
            ("followup_status", "department"),
        ):
            await surveys.ensure_index(*fields)
        await self.db.collection("actions").ensure_index("year")

    async def due_invitations(self, *, now_iso: str, limit: int = 100) -> list[str]:
        """The timers that have fired: scheduled surveys whose invite time has come."""
        where = {"status": domain.SCHEDULED}

        async def scan() -> list[dict[str, Any]]:
            return await self.surveys.coll.find(
                {**where, "invite_at": {"$lte": now_iso}}, sort=[("invite_at", 1)], limit=limit
            )

        return await due_ids(
            self.invitations,
            self.surveys.coll,
            now=datetime.fromisoformat(now_iso),
            limit=limit,
            time_field="invite_at",
            where=where,
            scan=scan,
        )

    async def rows(self, year: int) -> list[dict[str, Any]]:
        """The statistics rows of surveys invited or answered in ``year`` (KST); no free text."""
        coll = self.db.collection("surveys")
        found: dict[str, dict[str, Any]] = {}
        for where in ({"invited_year": year}, {"responded_year": year}):
            for doc in await coll.find(where):
                found[doc["_id"]] = domain.record(doc)
        return list(found.values())

    async def followups(self, *, status: str, department: str | None, limit: int) -> list[dict[str, Any]]:
        """Surveys with a follow-up in ``status`` (few: low scores only), by due date."""
        where: dict[str, Any] = {"followup_status": status}
        if department is not None:
            where["department"] = department
        docs = await self.surveys.coll.find(where, limit=limit)
        return sorted(docs, key=lambda d: (d.get("followup") or {}).get("due_at") or "")

    async def actions_of(self, year: int | None = None) -> list[dict[str, Any]]:
        where = {"year": year} if year is not None else {}
        docs = await self.db.collection("actions").find(where, sort=[("registered_at", 1)])
        return [d for d in (public(doc) for doc in docs) if d is not None]
