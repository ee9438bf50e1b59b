"""Compensation's handlers: load, call the domain, save the entry and its event together.

The HTTP API and the consumers call these same functions. Every effect is
keyed: a ledger entry's id is derived from (complaint, cause, occurrence), so a
replayed or repeated cause finds the entry already written and grants nothing.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon import topics
from minwon.docstore import iso
from minwon.errors import Conflict, NotFound
from minwon.events import Event
from minwon.outbox import Decision
from minwon.service import Clock
from services.compensation import domain, metrics
from services.compensation.domain import Budget, Case, Charter, Claim
from services.compensation.store import CompensationStore

log = logging.getLogger("minwon.compensation")

Doc = dict[str, Any]


@dataclass
class Compensation(c.Consumer):
    """Everything compensation's handlers need, passed in by the bootstrap."""

    store: CompensationStore
    charter: Charter
    clock: Clock
    source: str
    voucher_secret: bytes
    approval_threshold_krw: int | None
    default_budget_krw: int | None
    settle: timedelta
    facts_wait: timedelta

    # ------------------------------------------------------- facts from events

    HANDLES = {
        c.COMPLAINT_RECEIVED: "on_received",
        c.COMPLAINT_SUPPLEMENTATION_REQUESTED: "on_supplementation",
        c.COMPLAINT_EXTENDED: "on_extended",
        c.COMPLAINT_ROUTED: "on_placed",
        c.COMPLAINT_ASSIGNED: "on_placed",
        c.COMPLAINT_REASSIGNED: "on_placed",
        c.DEADLINE_SET: "on_clock",
        c.DEADLINE_UPDATED: "on_clock",
        c.DEADLINE_BREACHED: "on_breached",
        c.COMPLAINT_REVISIT_REPORTED: "on_revisit",
    }
    """Event type -> the method that handles it (the subscription is derived from it: consumers.py)."""

    async def on_received(self, event: Event, data: c.ComplaintReceived) -> None:
        now = self.clock()
        await self._note(event, lambda x: domain.note_received(x, event.data, now=now, settle=self.settle))

    async def on_supplementation(self, event: Event, data: c.ComplaintSupplementationRequested) -> None:
        await self._note(event, lambda x: domain.note_supplementation(x, event.data["occurred_at"]))

    async def on_extended(self, event: Event, data: c.ComplaintExtended) -> None:
        await self._note(event, lambda x: domain.note_extension(x, event.data["occurred_at"]))

    async def on_placed(self, event: Event, data: c.ComplaintRouted | c.ComplaintAssigned) -> None:
        now = self.clock()
        await self._note(event, lambda x: domain.note_department(x, data.department, now=now, settle=self.settle))

    async def on_clock(self, event: Event, data: c.DeadlineSet | c.DeadlineUpdated) -> None:
        await self._note(event, lambda x: domain.note_immediate(x, event.data))

    async def on_breached(self, event: Event, data: c.DeadlineBreached) -> None:
        now = self.clock()
        await self._note(event, lambda x: domain.note_breach(x, event.data, now=now, settle=self.settle))

    async def on_revisit(self, event: Event, data: c.ComplaintRevisitReported) -> None:
        """Keyed by the report's event id: each revisit is one occurrence, a replay is none."""
        now = self.clock()
        await self._note(
            event,
            lambda x: domain.note_revisit(
                x, occurrence=event.id, occurred_at=event.data["occurred_at"], now=now, settle=self.settle
            ),
        )

    async def _note(self, event: Event, note: Callable[[Case], Case]) -> None:
        now = self.clock()
        receipt_no = event.subject
        applied = await self.store.cases.apply(
            receipt_no, _noting(receipt_no, note), cause=event.id, creating=c.starts(event)
        )
        case = Case.from_doc(applied.state or {"receipt_no": receipt_no})
        if case.revisits and (case.revisit_evaluate_after or "~") <= iso(now):
            await self.grant_revisits(receipt_no)
        if case.breach_status == domain.PENDING and (case.breach_evaluate_after or "~") <= iso(now):
            await self.assess(receipt_no)

    async def assess_due(self) -> int:
        """One pass of the background loop: the breaches and revisits whose time has come."""
        now_iso = iso(self.clock())
        due = await self.store.due_breaches(now_iso=now_iso)
        for receipt_no in due:
            await self.assess(receipt_no)
        revisits = await self.store.due_revisits(now_iso=now_iso)
        for receipt_no in revisits:
            await self.grant_revisits(receipt_no)
        return len(due) + len(revisits)

    async def grant_revisits(self, receipt_no: str) -> list[Doc]:
        """Grant the reported revisits whose department is known (or whose wait is over)."""
        doc = await self.store.cases.get(receipt_no)
        if doc is None:
            return []
        case = Case.from_doc(doc)
        claims, until = domain.assess_revisits(case, self.charter, now=self.clock(), facts_wait=self.facts_wait)
        entries = [(await self.grant(claim))[0] for claim in claims]
        done = [claim.occurrence for claim in claims]
        seen = [r["occurrence"] for r in case.revisits]

        def decide(state: Doc | None) -> Decision:
            if state is None:
                return None, []
            return domain.settle_revisits(Case.from_doc(state), seen=seen, granted=done, until=until).to_doc(), []

        await self.store.cases.apply(receipt_no, decide)
        return entries

    async def assess(self, receipt_no: str) -> Case | None:
        """Decide whether a complaint's missed legal period earns the charter's voucher."""
        doc = await self.store.cases.get(receipt_no)
        if doc is None:
            return None
        case = Case.from_doc(doc)
        if case.breach_status != domain.PENDING:
            return case
        now = self.clock()
        verdict = domain.assess_breach(case, self.charter, now=now, facts_wait=self.facts_wait)
        if verdict.outcome == domain.WAIT:
            until = verdict.until or now + self.settle
            await self.store.cases.apply(receipt_no, _pending(lambda x: domain.postpone(x, until=until)))
            return case
        entry_id = None
        outcome = "excluded"
        if verdict.outcome == domain.GRANT_IT:
            entry, _ = await self.grant(domain.breach_claim(case, self.charter))
            entry_id, outcome = entry["id"], entry["status"]
        settled: list[bool] = []

        def settle(x: Case) -> Case:
            settled.append(True)
            return domain.settle_breach(x, outcome=outcome, reason=verdict.reason, entry_id=entry_id, now=now)

        applied = await self.store.cases.apply(receipt_no, _pending(settle))
        if verdict.outcome == domain.EXCLUDE and settled:
            metrics.EXCLUDED.labels(reason=(verdict.reason or "").split(":")[0]).inc()
            log.info("breach excluded", extra={"receipt_no": receipt_no, "reason": verdict.reason})
        return Case.from_doc(applied.state) if applied.state else case

    # -------------------------------------------------------------- commands

    async def grant(self, claim: Claim) -> tuple[Doc, bool]:
        """Write the ledger entry for a claim (once): granted, refused or awaiting approval."""
        gid = claim.entry_id
        existing = await self.store.ledger.get(gid)
        if existing is not None:
            return existing, False
        budget_ok: bool | None = None
        if not domain.needs_approval(claim.amount_krw, self.approval_threshold_krw):
            budget_ok = await self._reserve(claim.year, claim.department, claim.amount_krw, cause=f"reserve:{gid}")
        now = self.clock()
        created = False

        def decide(state: Doc | None) -> Decision:
            nonlocal created
            if state is not None:
                return None, []
            created = True
            entry, events = domain.open_entry(
                claim, budget_ok=budget_ok, now=now, voucher_secret=self.voucher_secret, source=self.source
            )
            return entry, _on(topics.COMPENSATIONS, events)

        applied = await self.store.ledger.apply(gid, decide)
        entry = applied.state or {}
        if created:
            self._count(entry)
            log.info(
                "ledger entry written",
                extra={
                    "receipt_no": claim.receipt_no,
                    "entry_id": gid,
                    "cause": claim.cause,
                    "status": entry.get("status"),
                },
            )
        elif budget_ok and entry.get("status") != domain.GRANTED:
            # a concurrent writer won with another decision: give back what this call reserved
            await self._release(claim.year, claim.department, claim.amount_krw, cause=f"release:{gid}:unused")
        return entry, created

    async def open_whistleblower_case(
        self,
        *,
        receipt_no: str,
        complainant_ref: str,
        department: str,
        verified: bool,
        recovered_krw: int,
        verified_at: datetime | None,
    ) -> tuple[Doc, bool]:
        now = self.clock()
        claim = domain.whistleblower_claim(
            self.charter,
            receipt_no=receipt_no,
            complainant_ref=complainant_ref,
            department=department,
            verified=verified,
            recovered_krw=recovered_krw,
            verified_at=domain.check_verified_at(verified_at, now) if verified_at else now,
        )
        return await self.grant(claim)

    async def approve(self, entry_id: str, *, approver: str) -> Doc:
        entry = await self.get(entry_id)
        if entry["status"] == domain.GRANTED and entry.get("approved_by"):
            return entry  # a repeated approval
        if entry["status"] != domain.AWAITING_APPROVAL:
            raise Conflict(f"cannot approve an entry that is {entry['status']}", id=entry_id, status=entry["status"])
        ok = await self._reserve(entry["year"], entry["department"], entry["amount_krw"], cause=f"reserve:{entry_id}")
        now = self.clock()
        try:
            applied = await self.store.ledger.apply(
                entry_id,
                _existing(
                    entry_id,
                    lambda x: _routed(domain.approve(x, budget_ok=ok, approver=approver, now=now, source=self.source)),
                ),
            )
        except Conflict:
            if ok:
                await self._release(
                    entry["year"], entry["department"], entry["amount_krw"], cause=f"release:{entry_id}:unapproved"
                )
            raise
        assert applied.state is not None
        self._count(applied.state)
        return applied.state

    async def reject(self, entry_id: str, *, by: str, reason: str) -> Doc:
        now = self.clock()
        applied = await self.store.ledger.apply(
            entry_id,
            _existing(entry_id, lambda x: _routed(domain.reject(x, by=by, reason=reason, now=now, source=self.source))),
        )
        assert applied.state is not None
        metrics.REFUSED.inc()
        return applied.state

    async def reverse(self, entry_id: str, *, reason: str, code: str, by: str) -> Doc:
        """Write the reversal entry (once) and give the amount back to the budget."""
        entry = await self.get(entry_id)
        rid = domain.reversal_id(entry_id)
        if await self.store.ledger.get(rid) is not None:
            await self._release(entry["year"], entry["department"], entry["amount_krw"], cause=f"release:{rid}")
            raise Conflict("this grant is already reversed", id=entry_id, reversal_id=rid)
        now = self.clock()
        created = False

        def decide(state: Doc | None) -> Decision:
            nonlocal created
            if state is not None:
                return None, []
            created = True
            reversal, events = domain.reverse(entry, reason=reason, code=code, by=by, now=now, source=self.source)
            return reversal, _on(topics.COMPENSATIONS, events)

        applied = await self.store.ledger.apply(rid, decide)
        await self._release(entry["year"], entry["department"], entry["amount_krw"], cause=f"release:{rid}")
        if created:
            metrics.REVERSED.inc()
            log.info(
                "grant reversed",
                extra={
                    "receipt_no": entry["receipt_no"],
                    "entry_id": entry_id,
                    "reversal_id": rid,
                    "reason_code": code,
                },
            )
        assert applied.state is not None
        return applied.state

    async def set_budget(self, year: int, department: str, *, limit_krw: int | None) -> Budget:
        def decide(state: Doc | None) -> Decision:
            budget = Budget.from_doc(state) if state else Budget(year, department, self.default_budget_krw)
            return domain.set_limit(budget, limit_krw).to_doc(), []

        applied = await self.store.budgets.apply(domain.budget_id(year, department), decide)
        assert applied.state is not None
        return Budget.from_doc(applied.state)

    # ---------------------------------------------------------------- queries

    async def get(self, entry_id: str) -> Doc:
        entry = await self.store.ledger.get(entry_id)
        if entry is None:
            raise NotFound("compensation", entry_id)
        return entry

    async def view(self, entry_id: str) -> dict[str, Any]:
        entry = await self.get(entry_id)
        return domain.entry_view(entry, reversed_by=await self._reversed_by(entry))

    async def list(self, *, receipt_no: str) -> dict[str, Any]:
        entries = await self.store.entries(receipt_no=receipt_no)
        reversals = {e["reverses"]: e["id"] for e in entries if e.get("kind") == domain.REVERSAL}
        case = await self.store.cases.get(receipt_no)
        return {
            "receipt_no": receipt_no,
            "items": [domain.entry_view(e, reversed_by=reversals.get(e["id"])) for e in entries],
            "breach": (case or {}).get("breach_outcome")
            or (
                {"outcome": "pending", "evaluate_after": case.get("breach_evaluate_after")}
                if case and case.get("breach_status") == domain.PENDING
                else None
            ),
        }

    async def summary(self, year: int) -> dict[str, Any]:
        entries = await self.store.entries(year=year)
        return {
            "year": year,
            "rule_version": self.charter.version,
            **domain.summarize(entries, await self.store.budgets_of(year)),
        }

    async def budgets(self, year: int) -> builtins.list[dict[str, Any]]:
        return [b.to_doc() for b in await self.store.budgets_of(year)]

    # ---------------------------------------------------------------- helpers

    async def _reserve(self, year: int, department: str, amount: int, *, cause: str) -> bool:
        """Commit ``amount`` against the budget once per ``cause``; False when it is spent."""
        fits = False

        def decide(state: Doc | None) -> Decision:
            nonlocal fits
            budget = Budget.from_doc(state) if state else Budget(year, department, self.default_budget_krw)
            new = domain.reserve(budget, amount)
            fits = new is not None
            return (new.to_doc() if new else None), []

        applied = await self.store.budgets.apply(domain.budget_id(year, department), decide, cause=cause)
        return True if applied.duplicate else fits

    async def _release(self, year: int, department: str, amount: int, *, cause: str) -> None:
        def decide(state: Doc | None) -> Decision:
            if state is None:
                return None, []
            return domain.release(Budget.from_doc(state), amount).to_doc(), []

        await self.store.budgets.apply(domain.budget_id(year, department), decide, cause=cause)

    async def _reversed_by(self, entry: Doc) -> str | None:
        if entry.get("kind") != domain.GRANT:
            return None
        rid = domain.reversal_id(entry["id"])
        return rid if await self.store.ledger.get(rid) is not None else None

    @staticmethod
    def _count(entry: Doc) -> None:
        if entry.get("status") == domain.GRANTED:
            metrics.VOUCHERS_GRANTED.labels(cause=entry["cause"]).inc()
            metrics.GRANTED_KRW.inc(int(entry["amount_krw"]))
        elif entry.get("status") == domain.REFUSED:
            metrics.REFUSED.inc()


def _on(topic: str, events: list[Event]) -> list[tuple[str, Event]]:
    return [(topic, e) for e in events]


def _routed(result: tuple[Doc, list[Event]]) -> Decision:
    state, events = result
    return state, _on(topics.COMPENSATIONS, events)


def _noting(receipt_no: str, note: Callable[[Case], Case]) -> Callable[[Doc | None], Decision]:
    def decide(state: Doc | None) -> Decision:
        case = Case.from_doc(state) if state else Case(receipt_no=receipt_no)
        return note(case).to_doc(), []

    return decide


def _pending(change: Callable[[Case], Case]) -> Callable[[Doc | None], Decision]:
    """Change a case whose breach still waits for assessment; otherwise nothing (another pass decided)."""

    def decide(state: Doc | None) -> Decision:
        if state is None or state.get("breach_status") != domain.PENDING:
            return None, []
        return change(Case.from_doc(state)).to_doc(), []

    return decide


def _existing(entry_id: str, change: Callable[[Doc], Decision]) -> Callable[[Doc | None], Decision]:
    def decide(state: Doc | None) -> Decision:
        if state is None:
            raise NotFound("compensation", entry_id)
        return change(state)

    return decide
