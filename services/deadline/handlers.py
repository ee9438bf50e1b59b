"""The deadline service's handlers: load a record, call the rules, save, publish.

Every change goes through :meth:`Deadlines.apply`, one ``Aggregates.apply`` per
complaint: the record, the handled cause (inbox) and the deadline events (outbox)
are written together, so a redelivered fact changes nothing and a signal is never
emitted without its clock saying so.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from minwon import contracts as c
from minwon import statutory, topics
from minwon.docstore import Doc, iso
from minwon.errors import DomainError, Invalid, NotFound
from minwon.events import Event, derive_id
from minwon.outbox import Applied, public
from minwon.service import Clock
from minwon.workcal import WorkCalendar
from services.deadline import cooperation, domain, metrics, statistics, tracking
from services.deadline.store import DeadlineStore
from services.deadline.tracking import Record

log = logging.getLogger("minwon.deadline")

Change = Callable[[Record | None], tracking.Change]
CLOSING = {c.COMPLAINT_CLOSED: "closed", c.COMPLAINT_WITHDRAWN: "withdrawn", c.COMPLAINT_TRANSFERRED: "transferred"}


def domain_error(error: domain.DeadlineError) -> DomainError:
    """A rule's refusal as the JSON 4xx every API answers with (the field named)."""
    return DomainError(error.code, str(error), error.status, error.field)


@dataclass(frozen=True)
class Outcome:
    """What one apply did: the stored result, and the records before and after the decision."""

    applied: Applied
    before: Record | None
    after: Record | None


@dataclass
class Deadlines(c.Consumer):
    store: DeadlineStore
    clock: Clock
    source: str
    types: Mapping[str, domain.StatutoryType]
    scan_limit: int = 200
    holiday_page_size: int = 500
    holiday_pages_per_pass: int = 20
    base_calendar: WorkCalendar = field(default_factory=WorkCalendar)
    calendar: WorkCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = self.base_calendar

    async def start(self) -> None:
        await self.store.setup()
        await self.load_calendar()

    async def load_calendar(self) -> WorkCalendar:
        """The working calendar with every holiday an administrator added (any replica)."""
        days = frozenset(date.fromisoformat(h["date"]) for h in await self.store.list_holidays())
        if days != self.calendar.holidays_extra:
            self.calendar = self.base_calendar.with_holidays(days)
        return self.calendar

    # ------------------------------------------------------------- the one write path

    async def apply(
        self,
        receipt_no: str,
        change: Change,
        *,
        cause: str | None = None,
        category: str | None = None,
        creating: bool = False,
    ) -> Outcome:
        calendar = self.calendar
        seen: builtins.list[tuple[Record | None, Record | None]] = []
        counts: builtins.list[Any] = []  # what the complaint counted as in the statistics, and counts as now

        def decide(doc: Doc | None) -> tuple[Doc | None, list[tuple[str, Event]]]:
            before = tracking.load(receipt_no, doc, calendar)
            after, events = change(before)
            seen[:] = [(before, after)]
            if after is None:
                return None, []
            settled, events = tracking.settle(after, events)
            assert settled is not None  # settling a clock never removes it
            after = settled
            state = tracking.dump(after)
            counts[:] = [(doc or {}).get("statistics"), _counted(after, doc, category, calendar)]
            state["statistics"] = counts[1]
            if not events and doc is not None and state == doc:
                return None, []
            return state, [(topics.DEADLINES, e) for e in events]

        applied = await self.store.clocks.apply(receipt_no, decide, cause=cause, creating=creating)
        before, after = seen[0] if seen and not applied.duplicate else (None, None)
        if after is not None and counts and counts[0] != counts[1]:
            await self._count(receipt_no, counts[0], counts[1])
        self._observe(receipt_no, applied, before, after)
        return Outcome(applied, before, after)

    def _observe(self, receipt_no: str, applied: Applied, before: Record | None, after: Record | None) -> None:
        if after is None or applied.duplicate:
            return
        now = self.clock()
        for event in applied.events:
            if event.type in tracking.SIGNAL_TYPES:
                metrics.SIGNALS.labels(signal=event.data["signal"], department=after.department or "").inc()
                scheduled = datetime.fromisoformat(event.data["scheduled_at"])
                metrics.LATENESS.observe(max(0.0, (now - scheduled).total_seconds()))
        if before is not None and before.status in tracking.LIVE and after.status == tracking.CLOSED:
            assert after.clock is not None
            within = tracking.closed_within_period(after.clock)
            metrics.CLOSED.labels(within_period=str(bool(within)).lower(), department=after.department or "").inc()
        for entry in after.refused[len(before.refused) if before else 0 :]:
            metrics.REFUSED.labels(code=entry["code"]).inc()
            log.warning(
                "clock refused a fact",
                extra={
                    "receipt_no": receipt_no,
                    "event": entry["event"],
                    "code": entry["code"],
                    "field": entry["field"],
                },
            )

    # ------------------------------------------------------------- facts from intake and routing

    HANDLES = {
        c.COMPLAINT_RECEIVED: "on_received",
        c.COMPLAINT_SUPPLEMENTATION_REQUESTED: "on_paused",
        c.COMPLAINT_SUPPLEMENT_RECEIVED: "on_resumed",
        c.COMPLAINT_EXTENDED: "on_extended",
        c.COMPLAINT_ACKNOWLEDGED: "on_acknowledged",
        c.COMPLAINT_CLOSED: "on_closing",
        c.COMPLAINT_WITHDRAWN: "on_closing",
        c.COMPLAINT_TRANSFERRED: "on_closing",
        c.COMPLAINT_ROUTED: "on_routed",
        c.COMPLAINT_ASSIGNED: "on_assigned",
        c.COMPLAINT_REASSIGNED: "on_assigned",
        c.COMPLAINT_COOPERATION_REQUESTED: "cooperate",
        c.COMPLAINT_COOPERATION_REPLIED: "cooperate",
        c.COMPLAINT_COOPERATION_CANCELLED: "cooperate",
    }
    """Event type -> the method that handles it: the subscription (consumers.py) and a rebuild's inputs
    (replay.py) are derived from it."""

    async def on_event(self, event: Event) -> None:
        """The bus consumer: complaint.* (intake) and complaint.routed/assigned/reassigned (routing)."""
        await self.handle(event)

    async def handle(self, event: Event) -> Outcome | None:
        """The handler of the event's type, with its data as the type's model (a rebuild calls it too)."""
        outcome = await self.table.run(event)
        return outcome if isinstance(outcome, Outcome) else None

    async def on_received(self, event: Event, data: c.ComplaintReceived) -> Outcome:
        at, now = tracking.event_at(event), self.clock()
        return await self.apply(
            event.subject,
            lambda r: tracking.on_received(
                r,
                event.data,
                receipt_no=event.subject,
                at=at,
                calendar=self.calendar,
                types=self.types,
                now=now,
                source=self.source,
            ),
            cause=event.id,
            category=data.category,
            creating=True,
        )

    async def on_paused(self, event: Event, data: c.ComplaintSupplementationRequested) -> Outcome:
        at, now = tracking.event_at(event), self.clock()
        return await self.apply(
            event.subject,
            lambda r: tracking.on_paused(r, at=at, cause=event.id, now=now, source=self.source),
            cause=event.id,
        )

    async def on_resumed(self, event: Event, data: c.ComplaintSupplementReceived) -> Outcome:
        at, now = tracking.event_at(event), self.clock()
        return await self.apply(
            event.subject,
            lambda r: tracking.on_resumed(
                r, at=at, cause=event.id, calendar=self.calendar, now=now, source=self.source
            ),
            cause=event.id,
        )

    async def on_extended(self, event: Event, data: c.ComplaintExtended) -> Outcome:
        at, now = tracking.event_at(event), self.clock()
        return await self.apply(
            event.subject,
            lambda r: tracking.on_extended(
                r, event.data, at=at, cause=event.id, calendar=self.calendar, now=now, source=self.source
            ),
            cause=event.id,
        )

    async def on_acknowledged(self, event: Event, data: c.ComplaintAcknowledged) -> Outcome:
        at = tracking.event_at(event)
        return await self.apply(event.subject, lambda r: tracking.on_first_response(r, at=at), cause=event.id)

    async def on_closing(self, event: Event, data: c.ComplaintFacts) -> Outcome:
        """Closed, withdrawn or transferred: the clock stops, and so do its cooperation requests' clocks."""
        await self.cooperate(event, data)
        at, by = tracking.event_at(event), CLOSING[event.type]
        return await self.apply(event.subject, lambda r: tracking.on_closed(r, at=at, by=by), cause=event.id)

    async def on_routed(self, event: Event, data: c.ComplaintRouted) -> Outcome:
        at = tracking.event_at(event)
        return await self.apply(
            event.subject,
            lambda r: tracking.on_routed(r, event.data, receipt_no=event.subject, at=at, calendar=self.calendar),
            cause=event.id,
        )

    async def on_assigned(self, event: Event, data: c.ComplaintAssigned) -> Outcome:
        at = tracking.event_at(event)
        return await self.apply(
            event.subject,
            lambda r: tracking.on_assigned(r, event.data, receipt_no=event.subject, at=at, calendar=self.calendar),
            cause=event.id,
        )

    async def on_own_event(self, event: Event) -> Outcome | None:
        """An event this service published, read back from its topic in a rebuild."""
        if event.type == c.DEADLINE_HOLIDAY_ADDED:
            await self._restore_holiday(event)
        elif event.type in cooperation.OWN:
            await self._cooperation(event.subject, lambda r: cooperation.on_published(r, event), cause=event.id)
        elif event.type in tracking.SIGNAL_TYPES + tracking.CLOCK_TYPES:
            return await self.apply(event.subject, lambda r: tracking.on_published(r, event), cause=event.id)
        return None

    # ------------------------------------------------------------- timers

    async def fire_due(self) -> int:
        """One pass of the timer scanner: at most ``scan_limit`` clocks whose next timer is due,
        earliest first; each emits its due signals in one write. Returns the events emitted."""
        started = time.perf_counter()
        now = self.clock()
        fired = 0
        for receipt_no in await self.store.due(now=now, limit=self.scan_limit):
            try:
                outcome = await self.apply(receipt_no, lambda r: tracking.fire(r, now=now, source=self.source))
            except Exception as exc:  # noqa: BLE001 - one bad clock must not stop the others
                log.warning("timer failed", extra={"receipt_no": receipt_no, "error": type(exc).__name__})
                continue
            fired += len(outcome.applied.events)
        fired += await self.fire_cooperation(now)
        metrics.SCAN_SECONDS.observe(time.perf_counter() - started)
        return fired

    # ------------------------------------------------------------- cooperation requests (협조 요청)

    async def cooperate(self, event: Event, data: BaseModel) -> None:
        """A cooperation request opens its clock; a reply, a cancellation or the complaint's end stops it."""
        t, at, now = event.type, tracking.event_at(event), self.clock()
        change: Callable[[Doc | None], cooperation.Change]
        if t == c.COMPLAINT_COOPERATION_REQUESTED:
            change = lambda r: cooperation.on_requested(  # noqa: E731
                r, event.data, receipt_no=event.subject, at=at, calendar=self.calendar, now=now, source=self.source
            )
        elif isinstance(data, c.ComplaintCooperationReplied | c.ComplaintCooperationCancelled):
            state = cooperation.REPLIED if t == c.COMPLAINT_COOPERATION_REPLIED else cooperation.CANCELLED
            request = data.request_id
            change = lambda r: cooperation.on_stopped(r, request, state=state, at=at)  # noqa: E731
        else:
            change = lambda r: cooperation.on_complaint_finished(r, at=at)  # noqa: E731
        await self._cooperation(event.subject, change, cause=event.id)

    async def fire_cooperation(self, now: datetime) -> int:
        """One pass over the requests' clocks whose warning or due time has come."""
        fired = 0
        for receipt_no in await self.store.due_cooperation(now=now, limit=self.scan_limit):
            try:
                fired += len(
                    await self._cooperation(
                        receipt_no, lambda r: cooperation.fire(r, now=now, source=self.source, calendar=self.calendar)
                    )
                )
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the others
                log.warning("cooperation timer failed", extra={"receipt_no": receipt_no, "error": type(exc).__name__})
        return fired

    async def _cooperation(
        self, receipt_no: str, change: Callable[[Doc | None], cooperation.Change], *, cause: str | None = None
    ) -> tuple[Event, ...]:
        def decide(doc: Doc | None) -> tuple[Doc | None, list[tuple[str, Event]]]:
            rec, events = change(public(doc))
            if rec is None:
                return None, []
            rec, events = cooperation.settle(rec, events)
            assert rec is not None
            return rec, [(topics.DEADLINES, e) for e in events]

        return (await self.store.cooperation.apply(receipt_no, decide, cause=cause)).events

    async def cooperation_clocks(self, receipt_no: str) -> builtins.list[dict[str, Any]]:
        doc = await self.store.cooperation.get(receipt_no)
        return cooperation.view(doc, now=self.clock(), calendar=self.calendar)

    # ------------------------------------------------------------- holidays

    async def add_holiday(self, day: date, name: str, actor: str) -> tuple[Doc, bool]:
        """Add a non-working day (임시공휴일); the clocks it moves are recomputed in the background."""
        if day.year not in self.calendar.years:
            raise Invalid("date", f"{day} is outside the calendar's years")
        if not name.strip():
            raise Invalid("name", "a holiday has a name")
        now = self.clock()
        created: builtins.list[bool] = []

        def decide(doc: Doc | None) -> tuple[Doc | None, list[tuple[str, Event]]]:
            if doc is not None:
                return None, []
            created.append(True)
            state = _holiday_doc(day, name.strip(), actor, now)
            return state, [
                (topics.DEADLINES, tracking.holiday_event(day, name.strip(), actor, now=now, source=self.source))
            ]

        applied = await self.store.holidays.apply(day.isoformat(), decide)
        await self.load_calendar()
        log.info("holiday added", extra={"date": day.isoformat(), "new": bool(created)})
        return applied.state or {}, bool(created)

    async def _restore_holiday(self, event: Event) -> None:
        day = date.fromisoformat(event.data["date"])
        name, actor = str(event.data.get("name") or ""), str(event.data.get("actor") or "system")

        def decide(doc: Doc | None) -> tuple[Doc | None, list[tuple[str, Event]]]:
            if doc is not None:
                return None, []
            return _holiday_doc(day, name, actor, event.time), []

        await self.store.holidays.apply(day.isoformat(), decide, cause=event.id)
        await self.load_calendar()

    async def recompute_holidays(self) -> int:
        """Background pass: reload the calendar, continue every pending holiday recomputation.
        Returns the ``deadline.updated`` events emitted."""
        pending = await self.store.pending_holidays()
        await self.load_calendar()  # after the pending list: a holiday added in between is in both or neither
        changed = 0
        for holiday in pending:
            changed += await self._recompute(holiday)
        return changed

    async def recompute_all(self) -> int:
        """Run the pending recomputations to the end (replay, tests)."""
        total = 0
        while await self.store.pending_holidays():
            total += await self.recompute_holidays()
        return total

    async def _recompute(self, holiday: Doc) -> int:
        day = date.fromisoformat(holiday["date"])
        if day not in self.calendar.holidays_extra:  # clocks loaded without it would not move: not yet
            return 0
        due_from = iso(tracking.affected_from(day, self.calendar))
        cause = derive_id("holiday", day.isoformat())
        now = self.clock()
        cursor = holiday["recompute"].get("cursor")
        checked = changed = 0
        done = False
        for _ in range(self.holiday_pages_per_pass):
            page = await self.store.open_page(after=cursor, limit=self.holiday_page_size)
            for doc in page:
                if (doc.get("due_at") or "") >= due_from:
                    outcome = await self.apply(
                        doc["_id"],
                        lambda r: tracking.on_calendar(r, holiday=day, now=now, source=self.source),
                        cause=cause,
                    )
                    changed += len(outcome.applied.events)
            checked += len(page)
            if page:
                cursor = page[-1]["_id"]
            if len(page) < self.holiday_page_size:
                done = True
                break

        def progress(doc: Doc | None) -> tuple[Doc | None, list[tuple[str, Event]]]:
            if doc is None or doc["recompute"]["status"] == "done":
                return None, []
            r = doc["recompute"]
            return {
                **doc,
                "recompute": {
                    "status": "done" if done else "pending",
                    "cursor": max(filter(None, (r.get("cursor"), cursor)), default=None),
                    "checked": r.get("checked", 0) + checked,
                    "changed": r.get("changed", 0) + changed,
                    "finished_at": iso(now) if done else None,
                },
            }, []

        await self.store.holidays.apply(day.isoformat(), progress)
        if done:
            log.info("holiday recomputed", extra={"date": day.isoformat(), "changed": changed})
        return changed

    async def holidays(self) -> builtins.list[dict[str, Any]]:
        return [
            {**h, "weekday": date.fromisoformat(h["date"]).strftime("%a")} for h in await self.store.list_holidays()
        ]

    # ------------------------------------------------------------- reads

    async def get(self, receipt_no: str) -> dict[str, Any]:
        rec = tracking.load(receipt_no, await self.store.clocks.get(receipt_no), self.calendar)
        if rec is None:
            raise NotFound("deadline", receipt_no)
        return tracking.view(rec, now=self.clock(), calendar=self.calendar)

    async def list(
        self, *, overdue: bool, department: str | None, status: str | None, after: str | None, limit: int
    ) -> builtins.list[dict[str, Any]]:
        now = self.clock()
        docs = await self.store.list(
            overdue_at=now if overdue else None, department=department, status=status, after=after, limit=limit
        )
        out = []
        for doc in docs:
            rec = tracking.load(doc["receipt_no"], doc, self.calendar)
            assert rec is not None
            out.append(tracking.summary(rec, now=now))
        return out

    def statutory_types(self, query: str | None = None) -> builtins.list[dict[str, Any]]:
        """The catalogue's types whose code, Korean, English name or an alias contains ``query``."""
        wanted = statutory.fold(query or "")
        return [
            {
                "code": t.code,
                "name_ko": t.name_ko,
                "name_en": t.name_en,
                "period": str(t.period),
                "department_hint": t.department_hint,
                "aliases": list(t.aliases),
            }
            for t in self.types.values()
            if not wanted or any(wanted in statutory.fold(n) for n in (t.code, t.name_ko, t.name_en, *t.aliases))
        ]

    def preview(
        self,
        *,
        received_at: datetime,
        kind: str | None,
        period: str | None,
        statutory_type: str | None,
        pauses: Sequence[tuple[datetime, datetime]],
        extend: str | None,
    ) -> dict[str, Any]:
        try:
            statutory = domain.find_statutory_type(self.types, statutory_type) if statutory_type else None
            return domain.what_if(
                received_at,
                self.calendar,
                kind=kind,
                period=period,
                statutory_type=statutory,
                pauses=pauses,
                extend_by=extend,
            )
        except domain.DeadlineError as error:
            raise domain_error(error) from None

    async def _count(self, receipt_no: str, before: Any, after: Any) -> None:
        try:
            await self.store.statistics.count(receipt_no, before, after)
        except Exception as exc:  # noqa: BLE001 - the clock is written; docs/statistics.md: recount
            log.warning("statistics not counted", extra={"receipt_no": receipt_no, "error": type(exc).__name__})

    async def statistics(
        self, *, group_by: str, first: str | None, last: str | None, department: str | None
    ) -> dict[str, Any]:
        """Processing statistics of the months ``first..last`` (default: the last twelve) by ``group_by``,
        from the counters (no complaint is read)."""
        if group_by not in statistics.GROUPINGS:
            raise Invalid("group_by", f"one of {', '.join(statistics.GROUPINGS)}")
        first, last = statistics.month_range(first, last, now=self.clock(), calendar=self.calendar)
        cells = await self.store.statistics.list(first=first, last=last, department=department)
        return {**statistics.summarise(cells, group_by=group_by), "from": first, "to": last, "department": department}

    async def recount_statistics(self, *, page_size: int = 500) -> int:
        """Rebuild the statistics counters from what every clock counts as (one pass over the clocks,
        a page at a time; memory grows with the cells, not the complaints). For a repair or a clock
        store older than the counters; run it with the consumers stopped. Returns the cells written."""
        totals: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            page = await self.store.page(after=after, limit=page_size)
            for doc in page:
                rec = tracking.load(doc["receipt_no"], doc, self.calendar)
                counted = doc.get("statistics") or (_counted(rec, doc, None, self.calendar) if rec else None)
                for cid, change in statistics.deltas(None, counted).items():
                    totals[cid] = statistics.add(totals.get(cid), cid, change, (counted or {}).get("department_name"))
            if len(page) < page_size:
                break
            after = page[-1]["receipt_no"]
        return await self.store.statistics.replace_all(totals)

    async def public_statistics(self, *, group_by: str, year: int | None) -> dict[str, Any]:
        """The published figures of ``year`` (default: this year): the same counters, every department."""
        year = year or self.calendar.local(self.clock()).year
        first, last = statistics.year_range(year)
        return {**await self.statistics(group_by=group_by, first=first, last=last, department=None), "year": year}

    async def refresh_gauges(self) -> None:
        metrics.OPEN_CLOCKS.set(await self.store.count_live())
        metrics.OVERDUE.set(await self.store.count_overdue(now=self.clock()))


def _counted(rec: Record, doc: Doc | None, category: str | None, calendar: WorkCalendar) -> Any:
    """What ``rec`` counts as in the statistics; the category is heard once, with the receipt."""
    previous = (doc or {}).get("statistics")
    known = (previous or {}).get("cell", {}).get("category")
    return statistics.counted(
        rec.clock,
        department=rec.department,
        category=category or known,
        channel=rec.facts.get("channel"),
        closed_by=rec.closed_by,
        breached=any(s.name == domain.BREACHED for s in rec.sent),
        calendar=calendar,
        previous=previous,
        department_name=rec.department_name,
    )


def _holiday_doc(day: date, name: str, actor: str, now: datetime) -> Doc:
    return {
        "date": day.isoformat(),
        "name": name,
        "actor": actor,
        "added_at": iso(now),
        "recompute": {"status": "pending", "cursor": None, "checked": 0, "changed": 0, "finished_at": None},
    }
