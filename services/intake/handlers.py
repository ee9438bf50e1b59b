"""Intake's handlers: load, call the domain, save state and events together.

The HTTP API and the Kafka consumers call these same functions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from minwon import contracts as c
from minwon import topics
from minwon.crypto import Sealer
from minwon.errors import DomainError, NotFound
from minwon.events import Event
from minwon.service import Clock
from services.intake import domain, metrics
from services.intake.domain import Complaint, Filing
from services.intake.store import IntakeStore

log = logging.getLogger("minwon.intake")

Command = Callable[[Complaint], tuple[Complaint, list[Event]]]


@dataclass
class Intake:
    """Everything intake's handlers need, passed in by the bootstrap."""

    store: IntakeStore
    pii: Sealer
    contacts: Sealer
    clock: Clock
    org: str
    source: str
    code_secret: bytes
    max_age: timedelta

    # -------------------------------------------------------------- commands

    async def file_complaint(self, filing: Filing, *, idempotency_key: str | None = None) -> tuple[Complaint, bool]:
        """Register a complaint; returns it and whether it was created by this call."""
        now = self.clock()
        received_at = domain.check_filing(filing, now, max_age=self.max_age)
        fingerprint = _fingerprint(filing)
        if idempotency_key:
            claim = await self.store.get_claim(idempotency_key)
            if claim is None:
                receipt_no = await self._next_receipt(now.year)
                claim = await self.store.claim(key=idempotency_key, receipt_no=receipt_no, fingerprint=fingerprint)
            if claim["fingerprint"] != fingerprint:
                raise DomainError("idempotency_key_reused",
                                  "this Idempotency-Key was used for a different complaint", 422,
                                  field="Idempotency-Key")
            receipt_no = claim["receipt_no"]
        else:
            receipt_no = await self._next_receipt(now.year)

        identity = asdict(filing.identity)
        private = {**identity, "title": filing.title, "body": filing.body}
        sealed_at_rest = self.pii.seal_json(private, context=receipt_no)
        created = False

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
            nonlocal created
            if state is not None:
                return None, []
            created = True
            complaint, events = domain.register(
                filing,
                receipt_no=receipt_no,
                code=domain.check_code(receipt_no, self.code_secret),
                complainant_ref=self.pii.pseudonym(_identity_key(filing)),
                sealed=sealed_at_rest,
                received_at=received_at,
                now=now,
                source=self.source,
            )
            if complaint.status == domain.RECEIVED:
                events.append(domain.private_event(complaint, "filing", private, now, self.source))
            return complaint.to_doc(), self._route(events)

        applied = await self.store.complaints.apply(receipt_no, decide)
        assert applied.state is not None
        complaint = Complaint.from_doc(applied.state)
        if created:
            metrics.RECEIVED.labels(channel=filing.channel, kind=filing.kind).inc()
        log.info("complaint filed" if created else "complaint filing repeated",
                 extra={"receipt_no": receipt_no, "channel": filing.channel, "kind": filing.kind})
        return complaint, created

    async def confirm(self, receipt_no: str, *, idempotency_key: str | None = None) -> Complaint:
        def command(complaint: Complaint) -> tuple[Complaint, list[Event]]:
            now = self.clock()
            confirmed, events = domain.confirm(complaint, now=now, source=self.source)
            private = self.pii.open_json(complaint.sealed, context=receipt_no)
            return confirmed, events + [domain.private_event(confirmed, "filing", private, now, self.source)]

        return await self.run(receipt_no, command, idempotency_key=idempotency_key)

    async def run(self, receipt_no: str, command: Command, *, idempotency_key: str | None = None) -> Complaint:
        """Apply a lifecycle command; a repeated ``Idempotency-Key`` returns the state it produced."""

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
            if state is None:
                raise NotFound("complaint", receipt_no)
            new, events = command(Complaint.from_doc(state))
            return new.to_doc(), self._route(events)

        cause = f"cmd:{idempotency_key}" if idempotency_key else None
        applied = await self.store.complaints.apply(receipt_no, decide, cause=cause)
        if applied.state is None:
            raise NotFound("complaint", receipt_no)
        for event in applied.events:
            if event.type != c.COMPLAINT_SEALED:
                metrics.COMMANDS.labels(command=event.name.removeprefix("complaint.")).inc()
        return Complaint.from_doc(applied.state)

    async def count_open(self) -> None:
        """Refresh the open-complaints gauge (a background loop)."""
        for status in (domain.DRAFT, *sorted(domain.OPEN)):
            metrics.OPEN.labels(status=status).set(await self.store.count(status=status))

    # ---------------------------------------------------------------- queries

    async def get(self, receipt_no: str) -> Complaint:
        doc = await self.store.complaints.get(receipt_no)
        if doc is None:
            raise NotFound("complaint", receipt_no)
        return Complaint.from_doc(doc)

    async def get_for_citizen(self, receipt_no: str, code: str) -> dict[str, Any]:
        complaint = await self.get(receipt_no)
        if code.strip().upper() != complaint.check_code:
            # the same answer as an unknown number: a wrong code reveals nothing
            raise NotFound("complaint", receipt_no)
        return domain.public_view(complaint)

    async def list(self, *, filters: dict[str, Any], after: str | None, limit: int) -> list[Complaint]:
        where = {k: v for k, v in filters.items() if v is not None and k != "overdue"}
        if filters.get("overdue"):
            where["status"] = {"$in": sorted(domain.OPEN)}
            where["due_at"] = {"$lt": self.clock().isoformat()}
        docs = await self.store.list(where=where, after=after, limit=limit)
        return [Complaint.from_doc(d) for d in docs]

    # ------------------------------------------------------- facts from events

    async def on_event(self, event: Event) -> None:
        """Keep the timeline: who handles it, when it is due."""
        data = event.data
        note: Callable[[Complaint], Complaint] | None = None
        if event.type == c.COMPLAINT_ROUTED:
            note = lambda x: domain.note_routed(x, department=data["department"], at=event.time.isoformat())  # noqa: E731
        elif event.type in (c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED):
            note = lambda x: domain.note_assigned(  # noqa: E731
                x, handler=data["handler"], department=data["department"], at=event.time.isoformat())
        elif event.type in (c.DEADLINE_SET, c.DEADLINE_UPDATED):
            note = lambda x: domain.note_due(x, due_at=data["due_at"], at=event.time.isoformat())  # noqa: E731
        if note is None:
            return

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
            if state is None:
                return None, []
            return note(Complaint.from_doc(state)).to_doc(), []

        await self.store.complaints.apply(event.subject, decide, cause=event.id)

    # ---------------------------------------------------------------- helpers

    async def _next_receipt(self, year: int) -> str:
        return domain.receipt_number(year, self.org, await self.store.next_sequence(org=self.org, year=year))

    def _route(self, events: list[Event]) -> list[tuple[str, Event]]:
        """Public events to the lifecycle topic; free text sealed, to the restricted one."""
        out = []
        for event in events:
            if event.type == c.COMPLAINT_SEALED:
                data = dict(event.data)
                data["sealed"] = self.contacts.seal_json(data.pop("content"), context=event.subject)
                out.append((topics.PRIVATE, event.model_copy(update={"data": data})))
            else:
                out.append((topics.COMPLAINTS, event))
        return out


def _identity_key(filing: Filing) -> str:
    ident = filing.identity
    return "|".join((ident.name.strip(), (ident.phone or ident.email or ident.address or "").strip()))


def _fingerprint(filing: Filing) -> str:
    raw = json.dumps(asdict(filing), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()
