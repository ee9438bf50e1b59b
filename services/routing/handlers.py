"""Routing's handlers: load, call the domain, save state and events together.

The HTTP API and the bus consumer call these same functions. Title and body
of a complaint are opened only in :meth:`Routing.route_filing`, only in
memory, only to match keywords; they are never stored, logged or published.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import EllipsisType
from typing import Any

from minwon import contracts as c
from minwon import statutory, topics
from minwon.crypto import Sealer, SealError
from minwon.errors import Conflict, Invalid, NotFound
from minwon.events import Event
from minwon.outbox import Applied, Decision
from minwon.refreshed import Refreshed
from minwon.service import Clock
from services.routing import domain, metrics
from services.routing.domain import Assignment, Department, Facts, Official, Rule
from services.routing.store import RoutingStore

log = logging.getLogger("minwon.routing")
QUEUE_PAGE = 20
"""Waiting complaints read (by id) at a time while giving them handlers: a pass stops at the first no one can take."""


@dataclass
class Routing(c.Consumer):
    """Everything routing's handlers need, passed in by the bootstrap."""

    store: RoutingStore
    contacts: Sealer
    clock: Clock
    source: str
    default_department: str
    cap: int = 0
    seed_dir: Path | None = None
    _assigning: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    table_ttl: float = 2.0
    """Seconds the rule and department tables are reused on the path of events (they change rarely;
    a change made through this process is seen at once)."""
    _tables: Refreshed[tuple[list[Rule], dict[str, Department]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        async def read() -> tuple[list[Rule], dict[str, Department]]:
            return await self.rules(), await self.departments()

        self._tables = Refreshed(read)

    async def tables(self) -> tuple[list[Rule], dict[str, Department]]:
        """The rules and departments for routing an event: one read of each every ``table_ttl``."""
        return await self._tables.get(self.table_ttl)

    def forget_tables(self) -> None:
        self._tables.forget()

    async def start(self) -> None:
        await self.store.setup()
        if self.seed_dir is not None:
            await self.seed(self.seed_dir)
        await self.store.recount()
        metrics.UNASSIGNED.set(await self.store.count_queued())

    async def recount(self) -> None:
        """Correct any drift of the load counters (a crash between an assignment and its counter)."""
        await self.store.recount(force=True)
        metrics.UNASSIGNED.set(await self.store.count_queued())

    async def seed(self, data_dir: Path) -> int:
        """The sample departments and rules (``departments.json``, ``rules.json``), into an empty store, once."""
        if await self.store.seeded():
            return 0
        now = self.clock()
        read = lambda name: json.loads((data_dir / f"{name}.json").read_text(encoding="utf-8"))  # noqa: E731
        departments = [Department.from_doc(d) for d in read("departments")]
        rules = [_rule(r) for r in read("rules")]
        for dept in departments:
            domain.check_department(dept, others=departments)
        for rule in rules:
            domain.check_rule(rule, departments=[d.code for d in departments])
        seeded = [
            domain.revise_department_doc(None, d, action="seeded", actor="seed", now=now) or {} for d in departments
        ]
        created = await self.store.seed(
            departments=[{"_id": d.code, **doc} for d, doc in zip(departments, seeded, strict=True)],
            rules=[{"_id": r.id, **domain.new_rule_doc(r, actor="seed", now=now)} for r in rules],
        )
        if created:
            log.info("sample rules and departments loaded", extra={"documents": created})
        return created

    # ------------------------------------------------------------------ rules

    async def rules(self) -> list[Rule]:
        return [Rule.from_doc(d) for d in await self.store.list_rules()]

    async def list_rules(self, *, enabled: bool | None = None, department: str | None = None) -> list[dict[str, Any]]:
        docs = [
            d
            for d in await self.store.list_rules()
            if (enabled is None or d.get("enabled", True) == enabled)
            and (department is None or d["department"] == department)
        ]
        return [domain.rule_view(d) for d in sorted(docs, key=lambda d: (d["priority"], d["id"]))]

    async def get_rule(self, rule_id: str) -> dict[str, Any]:
        doc = await self.store.rules.get(rule_id)
        if doc is None:
            raise NotFound("rule", rule_id)
        return domain.rule_view(doc, history=True)

    async def create_rule(
        self, spec: dict[str, Any], *, actor: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        rule = _rule({**spec, "id": spec.get("id") or _new_rule_id(spec)})
        domain.check_rule(rule, departments=await self._department_codes())
        now = self.clock()

        def decide(state: dict[str, Any] | None) -> Decision:
            if state is not None:
                raise Conflict(f"rule {rule.id} already exists", rule_id=rule.id)
            return domain.new_rule_doc(rule, actor=actor, now=now), []

        cause = f"cmd:{idempotency_key}" if idempotency_key else None
        applied = await self.store.rules.apply(rule.id, decide, cause=cause)
        self.forget_tables()
        log.info("rule created", extra={"rule_id": rule.id, "actor": actor})
        return domain.rule_view(applied.state or {}, history=True)

    async def change_rule(
        self,
        rule_id: str,
        changes: dict[str, Any],
        *,
        actor: str,
        action: str = "updated",
        replace_all: bool = False,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """PUT (``replace_all``: the whole definition), PATCH (the given fields), enable and disable."""
        codes = await self._department_codes()
        now = self.clock()

        def decide(state: dict[str, Any] | None) -> Decision:
            if state is None:
                raise NotFound("rule", rule_id)
            if expected_version is not None and expected_version != state["version"]:
                raise Conflict(
                    f"rule {rule_id} is at version {state['version']}, not {expected_version}", version=state["version"]
                )
            current = Rule.from_doc(state)
            base: dict[str, Any] = (
                {"conditions": {}, "description": "", "enabled": True} if replace_all else current.definition()
            )
            merged = {**base, **{k: v for k, v in changes.items() if k != "conditions"}}
            if "conditions" in changes:
                merged["conditions"] = (
                    {**(base["conditions"] or {}), **changes["conditions"]}
                    if not replace_all
                    else changes["conditions"]
                )
            rule = _rule({"id": rule_id, **merged})
            domain.check_rule(rule, departments=codes)
            return domain.revise_rule_doc(state, rule, action=action, actor=actor, now=now), []

        applied = await self.store.rules.apply(rule_id, decide)
        self.forget_tables()
        log.info(
            "rule changed",
            extra={
                "rule_id": rule_id,
                "action": action,
                "actor": actor,
                "version": (applied.state or {}).get("version"),
            },
        )
        return domain.rule_view(applied.state or {}, history=True)

    async def rule_stats(self) -> list[dict[str, Any]]:
        out = []
        for view in await self.list_rules():
            hits, misroutes = await self.store.rule_stats(view["id"])
            out.append(
                {
                    "rule_id": view["id"],
                    "name": view["name"],
                    "priority": view["priority"],
                    "department": view["department"],
                    "enabled": view["enabled"],
                    "version": view["version"],
                    "hits": hits,
                    "misroutes": misroutes,
                    "misroute_rate": round(misroutes / hits, 4) if hits else 0.0,
                }
            )
        return out

    async def rules_audit(self, *, limit: int) -> list[dict[str, Any]]:
        records = [{"rule_id": d["id"], **a} for d in await self.store.list_rules() for a in d.get("audit", [])]
        return sorted(records, key=lambda a: (a["at"], a["version"]), reverse=True)[:limit]

    # ------------------------------------------------------------ departments

    async def departments(self) -> dict[str, Department]:
        return {d["code"]: Department.from_doc(d) for d in await self.store.list_departments()}

    async def list_departments(self) -> list[dict[str, Any]]:
        return [_department_view(d) for d in await self.store.list_departments()]

    async def get_department(self, code: str) -> dict[str, Any]:
        doc = await self.store.departments.get(code)
        if doc is None:
            raise NotFound("department", code)
        dept = Department.from_doc(doc)
        view = _department_view(doc, audit=True)
        loads = {h.id: await self.store.load(h.id) for h in dept.handlers}
        for h in view["handlers"]:
            h["load"] = loads[h["id"]]
        view["queued"] = await self.store.queued_in(code)
        return view

    async def save_department(
        self, code: str, change: Callable[[Department | None], Department], *, actor: str, action: str
    ) -> dict[str, Any]:
        """Create or change a department (and its handlers), then let waiting complaints find a handler."""
        others = list((await self.departments()).values())
        now = self.clock()

        def decide(state: dict[str, Any] | None) -> Decision:
            dept = change(Department.from_doc(state) if state else None)
            domain.check_department(dept, others=others)
            return domain.revise_department_doc(state, dept, action=action, actor=actor, now=now), []

        applied = await self.store.departments.apply(code, decide)
        self.forget_tables()
        log.info("department changed", extra={"department": code, "action": action, "actor": actor})
        await self.assign_waiting(department=code)
        return _department_view(applied.state or {}, audit=True)

    async def create_department(self, dept: Department, *, actor: str) -> dict[str, Any]:
        def change(current: Department | None) -> Department:
            if current is not None:
                raise Conflict(f"department {dept.code} already exists", department=dept.code)
            return dept

        return await self.save_department(dept.code, change, actor=actor, action="created")

    async def put_department(
        self,
        code: str,
        *,
        name: str,
        phone: str,
        handlers: list[Official] | None,
        actor: str,
        hours: Mapping[str, Any] | None | EllipsisType = ...,
    ) -> dict[str, Any]:
        """``hours`` ``...``: keep the current working hours; None: the statutory hours."""
        stored = None if hours is ... else domain.department_hours(hours)

        def change(current: Department | None) -> Department:
            kept = current.handlers if current else ()
            kept_hours = (current.hours if current else None) if hours is ... else stored
            return Department(code, name, phone, tuple(handlers) if handlers is not None else kept, kept_hours)

        return await self.save_department(code, change, actor=actor, action="updated")

    async def add_handler(self, code: str, official: Official, *, actor: str) -> dict[str, Any]:
        def change(current: Department | None) -> Department:
            if current is None:
                raise NotFound("department", code)
            if current.official(official.id):
                raise Conflict(f"handler {official.id} already exists in {code}", handler=official.id)
            return replace(current, handlers=(*current.handlers, official))

        return await self.save_department(code, change, actor=actor, action="handler_added")

    async def update_handler(
        self, code: str, handler_id: str, changes: dict[str, Any], *, actor: str
    ) -> dict[str, Any]:
        def change(current: Department | None) -> Department:
            if current is None:
                raise NotFound("department", code)
            if current.official(handler_id) is None:
                raise NotFound("handler", handler_id)
            handlers = tuple(replace(h, **changes) if h.id == handler_id else h for h in current.handlers)
            return replace(current, handlers=handlers)

        return await self.save_department(code, change, actor=actor, action="handler_updated")

    # ---------------------------------------------------------------- routing

    async def preview(self, facts: Facts) -> dict[str, Any]:
        """Which rule and department a complaint would get, and why. Nothing is stored."""
        _check_facts(facts)
        facts = replace(facts, statutory_names=statutory_names(facts.statutory_type))
        found = domain.match(await self.rules(), facts, default_department=self.default_department)
        dept = (await self.departments()).get(found.rule.department)
        return {
            "rule": {
                "id": found.rule.id,
                "version": found.rule.version,
                "name": found.rule.name,
                "priority": found.rule.priority,
            },
            "department": {"code": found.rule.department, "name": dept.name if dept else found.rule.department},
            "default": found.default,
            "matched": found.matched_docs(),
            "reason": found.reason,
            "skipped": [{"rule_id": r, "failed": f} for r, f in found.skipped],
        }

    HANDLES = {
        c.COMPLAINT_SEALED: "on_sealed",
        **{t: "release" for t in domain.RELEASED_BY},
    }
    """Event type -> the method that handles it (the subscription is derived from it: consumers.py)."""

    async def on_sealed(self, event: Event, data: c.ComplaintSealed) -> None:
        if data.part == "filing":
            await self.route_filing(event, data)

    async def route_filing(self, event: Event, data: c.ComplaintSealed) -> None:
        """Route a complaint on its filing, the first routing usually hears of it: its route is decided
        without reading the assignment first (``creating``). One that exists after all (a redelivered
        filing, or the complaint closed before its filing arrived) is found by the write and left as
        it is, apart from giving its department's waiting complaints a handler if it waits."""
        rules, departments = await self.tables()
        found = domain.match(rules, self._open(event, data), default_department=self.default_department)
        dept = departments.get(found.rule.department)
        if dept is not None and await self.store.queued_in(dept.code) <= 0:
            # no one waits in the department: the complaint takes its handler in the write that routes
            # it (one write and two counters, instead of a queued write and an assignment after it)
            async with self._assigning:
                loads, guardian_loads = await self._loads(dept)
                applied = await self._route(event, data, found, dept, (loads, guardian_loads))
            if applied.events:
                return
        else:
            applied = await self._route(event, data, found, dept, None)
            if applied.events:  # routed and waiting: the department's waiting complaints get their handlers
                await self.assign_waiting(department=found.rule.department)
                return
        if applied.state is not None and applied.state.get("status") == domain.QUEUED:  # routed before, still waiting
            await self.assign_waiting(department=applied.state["department"])

    async def _route(
        self,
        event: Event,
        data: c.ComplaintSealed,
        found: domain.Match,
        dept: Department | None,
        loads: tuple[dict[str, int], dict[str, int]] | None,
    ) -> Applied:
        """Write the complaint's route (and, given the department's ``loads``, its handler if one is
        free) with its events, then move the counters and publish. No events: it was routed before."""
        receipt_no = event.subject
        now = self.clock()

        def decide(state: dict[str, Any] | None) -> Decision:
            if state is not None:
                return None, []
            facts = Facts(
                kind=data.kind,
                category=data.category,
                district=data.district,
                channel=data.channel,
                statutory_type=data.statutory_type,
                statutory_names=statutory_names(data.statutory_type),
                confidential=data.confidential,
            )
            routed, events = domain.route(
                facts,
                found,
                dept,
                receipt_no=receipt_no,
                priority=data.priority,
                received_at=event.data["received_at"],
                cause=event.id,
                now=now,
                source=self.source,
            )
            if dept is not None and loads is not None:
                for waiting, pick in domain.plan([routed], dept, *loads, cap=self.cap):
                    routed, assigned = domain.assign(waiting, dept, pick, now=now, source=self.source)
                    events = [*events, *assigned]
            return routed.to_doc(), _on_routing(events)

        applied = await self.store.assignments.apply(receipt_no, decide, cause=event.id, publish=False, creating=True)
        metrics.observe(applied.events)
        if applied.events:
            await self.store.account(None, applied.state)
            await self.store.assignments.publish(receipt_no)
            log.info(
                "complaint routed",
                extra={"receipt_no": receipt_no, "rule_id": found.rule.id, "department": found.rule.department},
            )
            if applied.state and applied.state.get("status") == domain.ASSIGNED:
                handler = (applied.state.get("handler") or {}).get("id")
                _log_assigned(receipt_no, found.rule.department, handler, c.COMPLAINT_ASSIGNED)
        return applied

    async def assign_waiting(self, *, department: str | None = None) -> int:
        """Give waiting complaints a handler: priority first, each to the least-loaded official on duty.

        Runs after each routing and department change, and on a loop for
        what still waits (no one on duty, or everyone at the cap). One pass at
        a time per process: passes would only compete for the same complaints
        (across replicas the compare-and-set decides).
        """
        async with self._assigning:
            return await self._assign_waiting(department)

    async def _assign_waiting(self, department: str | None) -> int:
        waiting_now = await (self.store.queued_in(department) if department else self.store.count_queued())
        if waiting_now <= 0:  # nothing waits: no query over the assignments
            return 0
        departments = await self.departments()
        assigned = 0
        for code in [department] if department else sorted(departments):
            dept = departments.get(code)
            if dept is None or (not department and await self.store.queued_in(code) <= 0):
                continue
            loads, guardian_loads = await self._loads(dept)
            if domain.least_loaded(dept.handlers, loads, cap=self.cap) is None:
                continue  # no one can take one (a night with no one on duty): no query over the assignments
            order = await self._queue_order(code)
            while order:
                room = domain.room(dept.handlers, loads, cap=self.cap)
                if room == 0:
                    break
                size = min(QUEUE_PAGE, room or QUEUE_PAGE)  # as many as can be taken (a freed place: one read)
                page = [a for a in [await self._waiting(code, no) for no in order[:size]] if a]
                order = order[size:]
                picks = domain.plan(page, dept, loads, guardian_loads, cap=self.cap)
                for a, pick in picks:
                    assigned += await self._assign(a.receipt_no, dept, pick)
                    domain.take(loads, guardian_loads, pick)
                if len(picks) < len(page):
                    break  # no one can take the next: the rest wait
        metrics.UNASSIGNED.set(await self.store.count_queued())
        return assigned

    async def _queue_order(self, code: str) -> list[str]:
        """The department's waiting complaints in queue order, from its queue lists; by query when the
        lists hold fewer than its counter says wait (``services.routing.store``), adding what they miss."""
        entries = await self.store.queue.waiting(code)
        if len(entries) < await self.store.queued_in(code):
            docs = await self.store.queued(department=code)
            found = [w[1] for w in map(domain.queue_entry, docs) if w is not None and w[0] == code]
            await self.store.queue.add(code, found)
            entries = sorted({e[0]: e for e in [*entries, *found]}.values(), key=lambda e: domain.queue_key(*e))
        return [e[0] for e in entries]

    async def _waiting(self, code: str, receipt_no: str) -> Assignment | None:
        """The assignment if it still waits in ``code``'s queue; a stale entry is dropped from the lists."""
        doc = await self.store.assignments.get(receipt_no)
        waits = domain.queue_entry(doc)
        if waits is None or waits[0] != code:
            await self.store.queue.remove(code, [receipt_no])
            return None
        return Assignment.from_doc(doc)  # type: ignore[arg-type]

    async def _assign(self, receipt_no: str, dept: Department, pick: domain.Pick) -> int:
        now = self.clock()
        seen: list[dict[str, Any] | None] = [None]

        def decide(state: dict[str, Any] | None) -> Decision:
            seen[0] = state
            current = Assignment.from_doc(state) if state else None
            if current is None or current.status != domain.QUEUED or current.department != dept.code:
                return None, []
            new, events = domain.assign(current, dept, pick, now=now, source=self.source)
            return new.to_doc(), _on_routing(events)

        applied = await self.store.assignments.apply(receipt_no, decide, publish=False)
        metrics.observe(applied.events)
        if applied.events:
            await self.store.account(seen[0], applied.state)
            await self.store.assignments.publish(receipt_no)
            _log_assigned(receipt_no, dept.code, pick.handler.id, applied.events[0].type)
        return len(applied.events)

    async def reassign(
        self,
        receipt_no: str,
        *,
        department: str | None,
        handler: str | None,
        reason: str,
        reason_code: str | None,
        actor: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Move a complaint to another department and/or handler (a new department: a misroute of its rule)."""
        if department is None and handler is None:
            raise Invalid("department", "name a department and/or a handler to reassign to")
        before = await self.store.assignments.get(receipt_no)
        if before is None:
            raise NotFound("assignment", receipt_no)
        code = department or before.get("department") or self.default_department
        dept = (await self.departments()).get(code)
        if dept is None:
            raise Invalid("department", f"unknown department {code!r}")
        loads, guardian_loads = await self._loads(dept)
        now = self.clock()
        seen: list[dict[str, Any] | None] = [None]

        def decide(state: dict[str, Any] | None) -> Decision:
            if state is None:
                raise NotFound("assignment", receipt_no)
            seen[0] = state
            moved = domain.reassign(
                Assignment.from_doc(state),
                dept,
                handler_id=handler,
                reason=reason,
                reason_code=reason_code,
                actor=actor,
                now=now,
            )
            pick = domain.pick_for(
                moved.kind,
                dept,
                loads,
                guardian_loads,
                handler_id=handler,
                keep_guardian=(moved.guardian or {}).get("id"),
                cap=self.cap,
            )
            if pick is None:
                return moved.to_doc(), []
            new, events = domain.assign(moved, dept, pick, now=now, source=self.source)
            return new.to_doc(), _on_routing(events)

        cause = f"cmd:{idempotency_key}" if idempotency_key else None
        applied = await self.store.assignments.apply(receipt_no, decide, cause=cause, publish=False)
        state = Assignment.from_doc(applied.state or {})
        if not applied.duplicate:
            await self.store.account(seen[0], applied.state)
        await self.store.assignments.publish(receipt_no)
        if not applied.duplicate:
            metrics.observe(applied.events)
            if state.misroute and not before.get("misroute"):
                metrics.misrouted(state.misroute["rule_id"])
            metrics.UNASSIGNED.set(await self.store.count_queued())
            log.info(
                "complaint reassigned",
                extra={
                    "receipt_no": receipt_no,
                    "department": dept.code,
                    "actor": actor,
                    "queued": state.status == domain.QUEUED,
                },
            )
        return domain.assignment_view(state)

    async def release(self, event: Event, data: c.ComplaintFacts) -> None:
        now = self.clock()
        seen: list[dict[str, Any] | None] = [None]

        def decide(state: dict[str, Any] | None) -> Decision:
            seen[0] = state
            new = domain.release(
                Assignment.from_doc(state) if state else None, receipt_no=event.subject, event_type=event.type, now=now
            )
            return (new.to_doc() if new else None), []

        applied = await self.store.assignments.apply(event.subject, decide, cause=event.id)
        if applied.duplicate:
            return
        if applied.state is not seen[0] and applied.state != seen[0]:
            await self.store.account(seen[0], applied.state)
        metrics.UNASSIGNED.set(await self.store.count_queued())
        department = (applied.state or {}).get("department")
        if self.cap and department:  # a freed place may let a waiting complaint in
            await self.assign_waiting(department=department)

    # ---------------------------------------------------------------- queries

    async def get_assignment(self, receipt_no: str) -> dict[str, Any]:
        doc = await self.store.assignments.get(receipt_no)
        if doc is None:
            raise NotFound("assignment", receipt_no)
        return domain.assignment_view(Assignment.from_doc(doc))

    async def list_assignments(
        self, *, status: str | None, department: str | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        where = {k: v for k, v in (("status", status), ("department", department)) if v is not None}
        docs = await self.store.list_assignments(where=where, after=after, limit=limit)
        return [domain.assignment_view(Assignment.from_doc(d)) for d in docs]

    # ---------------------------------------------------------------- helpers

    def _open(self, event: Event, data: c.ComplaintSealed) -> Facts:
        """The facts a rule looks at; title and body opened in memory only, never kept."""
        title = body = ""
        available = True
        try:
            content = self.contacts.open_json(data.sealed, context=event.subject)
            title, body = str(content.get("title") or ""), str(content.get("body") or "")
            del content
        except (SealError, KeyError, ValueError, AttributeError) as exc:
            available = False
            log.warning(
                "sealed content unavailable; routing without keywords",
                extra={"receipt_no": event.subject, "event_id": event.id, "error": type(exc).__name__},
            )
        return Facts(
            kind=data.kind,
            category=data.category,
            district=data.district,
            channel=data.channel,
            statutory_type=data.statutory_type,
            statutory_names=statutory_names(data.statutory_type),
            title=title,
            body=body,
            confidential=data.confidential,
            text_available=available,
        )

    async def _department_codes(self) -> set[str]:
        return set(await self.departments())

    async def _loads(self, dept: Department) -> tuple[dict[str, int], dict[str, int]]:
        loads = {h.id: await self.store.load(h.id) for h in dept.handlers if h.on_duty}
        guardian_loads = {h.id: await self.store.guardian_load(h.id) for h in dept.handlers if h.guardian}
        return loads, guardian_loads


def _log_assigned(receipt_no: str, department: str, handler_id: str | None, event_type: str) -> None:
    log.info(
        "complaint assigned",
        extra={"receipt_no": receipt_no, "department": department, "handler_id": handler_id, "event_type": event_type},
    )


def _on_routing(events: list[Event]) -> list[tuple[str, Event]]:
    return [(topics.ROUTING, e) for e in events]


def _rule(spec: dict[str, Any]) -> Rule:
    rule = Rule.from_doc({"version": 1, **spec})
    if rule.default:
        rule = replace(rule, priority=domain.DEFAULT_PRIORITY)
    return rule


def _new_rule_id(spec: dict[str, Any]) -> str:
    return f"{spec.get('department') or 'rule'}-{uuid.uuid4().hex[:8]}"[:63]


def _check_facts(facts: Facts) -> None:
    if facts.kind not in domain.KINDS:
        raise Invalid("kind", f"unknown kind {facts.kind!r}; one of {', '.join(domain.KINDS)}")
    if facts.channel not in domain.CHANNELS:
        raise Invalid("channel", f"unknown channel {facts.channel!r}; one of {', '.join(domain.CHANNELS)}")


def _department_view(doc: dict[str, Any], *, audit: bool = False) -> dict[str, Any]:
    view = {
        "code": doc.get("code"),
        "name": doc.get("name"),
        "phone": doc.get("phone", ""),
        "hours": doc.get("hours"),
        "handlers": [dict(h) for h in doc.get("handlers", [])],
        "version": doc.get("version"),
        "updated_at": doc.get("updated_at"),
        "updated_by": doc.get("updated_by"),
    }
    if audit:
        view["audit"] = doc.get("audit", [])
    return view


def statutory_names(value: str | None) -> tuple[str, ...]:
    """The names of the catalogue's type ``value`` names (none if it names no type)."""
    entry = statutory.catalogue().resolve(value)
    return entry.names if entry else ()
