"""Intake's handlers: load, call the domain, save state and events together.

The HTTP API and the Kafka consumers call these same functions.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon import statutory, topics
from minwon.crypto import Sealer
from minwon.errors import DomainError, Invalid, NotFound
from minwon.events import Event, derive_id
from minwon.outbox import Applied
from minwon.service import Clock
from services.intake import domain, metrics, similarity
from services.intake.domain import Complaint, Filing
from services.intake.store import IntakeStore

log = logging.getLogger("minwon.intake")

Command = Callable[[Complaint], tuple[Complaint, list[Event]]]


@dataclass
class Intake(c.Consumer):
    """Everything intake's handlers need, passed in by the bootstrap."""

    store: IntakeStore
    pii: Sealer
    contacts: Sealer
    clock: Clock
    org: str
    source: str
    code_secret: bytes
    max_age: timedelta
    code_failures: int = 10
    """Wrong check codes allowed per client address, and per receipt number, in one window."""
    code_window: timedelta = timedelta(minutes=15)
    proxies: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    """Peers trusted to name the client in ``X-Forwarded-For`` (the web front, a reverse proxy)."""
    approval_default: bool = True
    """Whether a department that set no answer policy needs the team lead's approval (결재)."""
    catalogue: statutory.Catalogue = field(default_factory=statutory.catalogue)
    """The statutory-type catalogue filings are checked against (민원처리기준표)."""

    # -------------------------------------------------------------- commands

    async def file_complaint(
        self, filing: Filing, *, idempotency_key: str | None = None, by: dict[str, Any] | None = None
    ) -> tuple[Complaint, bool]:
        """Register a complaint; returns it and whether it was created by this call. ``by``: the
        official registering it (staff channels), recorded on it and in the audit log."""
        now = self.clock()
        filing = replace(filing, statutory_type=domain.statutory_code(filing, self.catalogue))
        received_at = domain.check_filing(filing, now, max_age=self.max_age)
        fingerprint = _fingerprint(filing)
        issued = None  # a receipt number issued by this call: no complaint can hold it yet
        if idempotency_key:
            claim = await self.store.get_claim(idempotency_key)
            if claim is None:
                issued = await self._next_receipt(now.year)
                claim = await self.store.claim(key=idempotency_key, receipt_no=issued, fingerprint=fingerprint)
            if claim["fingerprint"] != fingerprint:
                raise DomainError(
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different complaint",
                    422,
                    field="Idempotency-Key",
                )
            receipt_no = claim["receipt_no"]
        else:
            receipt_no = issued = await self._next_receipt(now.year)

        identity = asdict(filing.identity)
        private = {**identity, "title": filing.title, "body": filing.body}
        if filing.location:
            private["location"] = filing.location
        sealed_at_rest = self.pii.seal_json(private, context=receipt_no)
        index = self._index(private)
        earlier = await self._same_citizen(index["identity_index"], filing.category)
        repeat_of = similarity.repeat_of(
            category=filing.category,
            title=index["title_index"],
            earlier=[e for e in earlier if e.receipt_no != receipt_no],
        )
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
                by=by,
            )
            complaint = replace(
                complaint,
                search_terms=tuple(index["search_terms"]),
                title_index=tuple(index["title_index"]),
                identity_index=index["identity_index"],
                index_key=index["index_key"],
                repeat_of=tuple(repeat_of),
            )
            if complaint.status == domain.RECEIVED:
                events.append(domain.private_event(complaint, "filing", private, now, self.source))
            return complaint.to_doc(), self._route(events)

        if receipt_no == issued:  # a repeated request (its key's claim holds an earlier number) reads it
            self.store.complaints.unstored(receipt_no)
        applied = await self.store.complaints.apply(receipt_no, decide)
        assert applied.state is not None
        complaint = Complaint.from_doc(applied.state)
        await self._note_ledgers(complaint)  # a repeated request too: a crash may have come between the writes
        if created:
            metrics.RECEIVED.labels(channel=filing.channel, kind=filing.kind).inc()
        if by is not None:
            await self.audit(by, "file", receipt_no, purpose=f"registered for the citizen ({filing.channel})")
        log.info(
            "complaint filed" if created else "complaint filing repeated",
            extra={"receipt_no": receipt_no, "channel": filing.channel, "kind": filing.kind},
        )
        return complaint, created

    async def confirm(
        self, receipt_no: str, *, idempotency_key: str | None = None, by: dict[str, Any] | None = None
    ) -> Complaint:
        """The citizen confirms (after :meth:`verify_code`), or ``by`` an official at the counter."""

        def command(complaint: Complaint) -> tuple[Complaint, list[Event]]:
            now = self.clock()
            confirmed, events = domain.confirm(complaint, now=now, source=self.source, at_counter=by is not None)
            private = self.pii.open_json(complaint.sealed, context=receipt_no)
            return confirmed, events + [domain.private_event(confirmed, "filing", private, now, self.source)]

        return await self.run(receipt_no, command, idempotency_key=idempotency_key, by=by, action="confirm")

    async def run(
        self,
        receipt_no: str,
        command: Command,
        *,
        idempotency_key: str | None = None,
        by: dict[str, Any] | None = None,
        action: str | None = None,
    ) -> Complaint:
        """Apply a lifecycle command; a repeated ``Idempotency-Key`` returns the state it produced.
        ``by``: the official running it, stamped on the complaint and its new steps, and written to
        the audit log as ``action``."""
        applied = await self._command(receipt_no, command, idempotency_key=idempotency_key, by=by, action=action)
        assert applied.state is not None
        return Complaint.from_doc(applied.state)

    async def _command(
        self,
        receipt_no: str,
        command: Command,
        *,
        idempotency_key: str | None,
        by: dict[str, Any] | None,
        action: str | None,
    ) -> Applied:
        """:meth:`run`, answering what the store wrote (the complaint's version with it)."""

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
            if state is None:
                raise NotFound("complaint", receipt_no)
            before = Complaint.from_doc(state)
            new, events = command(before)
            return domain.attribute(before, new, by).to_doc(), self._route(events)

        cause = f"cmd:{idempotency_key}" if idempotency_key else None
        applied = await self.store.complaints.apply(receipt_no, decide, cause=cause)
        if applied.state is None:
            raise NotFound("complaint", receipt_no)
        for event in applied.events:
            if event.type != c.COMPLAINT_SEALED:
                metrics.COMMANDS.labels(command=event.name.removeprefix("complaint.")).inc()
        if by is not None:
            await self.audit(by, action or "command", receipt_no, purpose="casework")
        return applied

    async def audit(self, by: dict[str, Any], action: str, receipt_no: str | None, *, purpose: str) -> None:
        """One entry in the append-only audit log (intake's own store; never on a topic)."""
        at = self.clock().astimezone(UTC)
        await self.store.append_audit(
            entry={
                "_id": f"{at:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:12]}",  # sorts by time
                "at": at.isoformat(),
                "actor": by,
                "actor_id": by["id"],
                "receipt_no": receipt_no,
                "action": action,
                "purpose": purpose,
            }
        )

    async def reseal(
        self, *, batch: int = 200, progress: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Seal again, under the current key, every complaint's personal data and answer still sealed
        under an old key, page by page in receipt-number order. The last receipt number done is saved
        after each page, so an interrupted run resumes there; once a run finishes, the old key can be
        removed from ``MINWON_PII_OLD_KEYS``. Each document is rewritten by compare-and-set, so the
        service may keep running meanwhile."""
        saved = await self.store.maintenance.get("reseal") or {}
        fresh = saved.get("key_id") != self.pii.key_id or saved.get("finished")
        run: dict[str, Any] = {
            "_id": "reseal",
            "key_id": self.pii.key_id,
            "cursor": None if fresh else saved.get("cursor"),
            "checked": 0 if fresh else int(saved.get("checked", 0)),
            "resealed": 0 if fresh else int(saved.get("resealed", 0)),
            "finished": False,
        }
        while True:
            page = await self.store.list(where={}, after=run["cursor"], limit=batch)
            for doc in page:
                receipt_no = doc["_id"]

                def decide(state: dict[str, Any] | None, no: str = receipt_no) -> tuple[Any, list[Any]]:
                    if state is None:
                        return None, []
                    # B023 is a false positive here: ``v`` is the lambda's own argument, not a loop variable
                    again = lambda v: self.pii.seal(self.pii.open(v, context=no), context=no)  # noqa: E731, B023
                    new = domain.resealed(state, stale=self.pii.needs_rotation, again=again) or dict(state)
                    if new.get("index_key") != self.pii.key_id:  # the search index, under the current key
                        new.update(self._index(self.pii.open_json(new["sealed"], context=no)))
                    return (new if new != state else None), []

                if domain.needs_reseal(doc, stale=self.pii.needs_rotation) or doc.get("index_key") != self.pii.key_id:
                    done = (await self.store.complaints.apply(receipt_no, decide, publish=False)).state or {}
                    if done.get("identity_index") and done.get("category"):  # its citizen, under the new key
                        await self.store.note_citizen_complaint(done["identity_index"], done["category"], receipt_no)
                    run["resealed"] += 1
            run["checked"] += len(page)
            if page:
                run["cursor"] = page[-1]["_id"]
            run["finished"] = len(page) < batch
            await self.store.maintenance.put(dict(run))
            if progress:
                progress({k: v for k, v in run.items() if k != "_id"})
            if run["finished"]:
                log.info("personal data resealed", extra={k: v for k, v in run.items() if k != "_id"})
                return {k: v for k, v in run.items() if k != "_id"}

    async def count_open(self) -> None:
        """Refresh the open-complaints gauge (a background loop)."""
        counted = await self.store.count_by_status([domain.DRAFT, *sorted(domain.OPEN)])
        for status in (domain.DRAFT, *sorted(domain.OPEN)):
            metrics.OPEN.labels(status=status).set(counted.get(status, 0))

    # ---------------------------------------------------------------- queries

    async def get(self, receipt_no: str) -> Complaint:
        doc = await self.store.complaints.get(receipt_no)
        if doc is None:
            raise NotFound("complaint", receipt_no)
        return Complaint.from_doc(doc)

    async def verify_code(self, receipt_no: str, code: str, *, client: str) -> Complaint:
        """The complaint, if ``code`` is its check code. Wrong codes are counted per client address and
        per receipt number in a window (in the store: across restarts and replicas); past the limit,
        429 until the window ends, even for the right code."""
        now = self.clock()
        keys = domain.attempt_keys(receipt_no, client, now, self.code_window)
        if max(await self.store.failures(keys=keys)) >= self.code_failures:
            retry = domain.retry_after(now, self.code_window)
            raise DomainError(
                "too_many_attempts",
                f"too many wrong check codes; try again in {retry} seconds",
                429,
                details={"retry_after": retry},
            )
        doc = await self.store.complaints.get(receipt_no)
        complaint = Complaint.from_doc(doc) if doc is not None else None
        if complaint is None or not domain.code_matches(complaint, code):
            await self.store.count_failure(keys=keys)
            # the same answer as an unknown number: a wrong code reveals nothing
            raise NotFound("complaint", receipt_no)
        return complaint

    async def get_for_citizen(self, receipt_no: str, code: str, *, client: str) -> dict[str, Any]:
        """The public view; once closed with an answer, the answer too (opened from its seal)."""
        complaint = await self.verify_code(receipt_no, code, client=client)
        view = domain.public_view(complaint)
        if complaint.status == domain.CLOSED and complaint.answer is not None:
            view["answer"] = domain.answer_content(complaint, self._opened(complaint))
        return view

    async def personal_data(self, receipt_no: str, *, by: dict[str, Any], purpose: str) -> dict[str, Any]:
        """The complainant's personal data and the complaint's text, opened here; the read is
        written to the audit log first (no entry, no data)."""
        complaint = await self.get(receipt_no)
        await self.audit(by, "read_personal_data", receipt_no, purpose=purpose)
        private = self.pii.open_json(complaint.sealed, context=receipt_no)
        keys = ("name", "phone", "email", "address", "title", "body", "location")
        return {"receipt_no": receipt_no, **{k: private.get(k) for k in keys}}

    async def audit_log(
        self,
        *,
        receipt_no: str | None,
        actor: str | None,
        since: datetime | None,
        until: datetime | None,
        after: str | None,
        limit: int,
    ) -> builtins.list[dict[str, Any]]:
        where: dict[str, Any] = {}
        if receipt_no:
            where["receipt_no"] = receipt_no
        if actor:
            where["actor_id"] = actor
        span = {op: at.astimezone(UTC).isoformat() for op, at in (("$gte", since), ("$lt", until)) if at}
        if span:
            where["at"] = span
        return await self.store.list_audit(where=where, after=after, limit=limit)

    async def list(self, *, filters: dict[str, Any], after: str | None, limit: int) -> builtins.list[Complaint]:
        where = {k: v for k, v in filters.items() if v is not None and k != "overdue"}
        if (
            filters.get("answer_state") in (domain.ANSWER_DRAFT, domain.ANSWER_SUBMITTED, domain.ANSWER_RETURNED)
            and "status" not in where
        ):  # a withdrawn or transferred complaint's answer waits for nobody
            where["status"] = {"$in": sorted(domain.OPEN)}
        if filters.get("overdue"):
            where["status"] = {"$in": sorted(domain.OPEN)}
            where["due_at"] = {"$lt": self.clock().isoformat()}
        docs = await self.store.list(where=where, after=after, limit=limit)
        return [Complaint.from_doc(d) for d in docs]

    # ------------------------------------------------------- facts from events

    HANDLES = {
        c.COMPLAINT_ROUTED: "on_routed",
        c.COMPLAINT_ASSIGNED: "on_assigned",
        c.COMPLAINT_REASSIGNED: "on_assigned",
        c.DEADLINE_SET: "on_due",
        c.DEADLINE_UPDATED: "on_due",
        c.DEADLINE_COOPERATION_SET: "on_cooperation_clock",
        c.DEADLINE_COOPERATION_OVERDUE: "on_cooperation_clock",
    }
    """Event type -> the method that handles it (the subscription is derived from it: consumers.py)."""

    async def on_routed(self, event: Event, data: c.ComplaintRouted) -> None:
        await self._note(
            event,
            lambda x: domain.note_routed(
                x,
                department=data.department,
                department_name=data.department_name,
                department_phone=data.department_phone,
                at=event.time.isoformat(),
            ),
        )

    async def on_assigned(self, event: Event, data: c.ComplaintAssigned) -> None:
        handler = data.handler.model_dump()
        await self._note(
            event,
            lambda x: domain.note_assigned(
                x,
                handler=handler,
                department=data.department,
                department_name=data.department_name,
                department_phone=data.department_phone,
                at=event.time.isoformat(),
            ),
        )

    async def on_due(self, event: Event, data: c.DeadlineSet | c.DeadlineUpdated) -> None:
        await self._note(
            event,
            lambda x: domain.note_due(x, due_at=event.data["due_at"], at=event.time.isoformat(), period=data.period),
        )

    async def on_cooperation_clock(
        self, event: Event, data: c.DeadlineCooperationSet | c.DeadlineCooperationOverdue
    ) -> None:
        overdue = True if event.type == c.DEADLINE_COOPERATION_OVERDUE else None
        applied = await self._note(
            event,
            lambda x: domain.note_cooperation_clock(
                x,
                request_id=data.request_id,
                due_at=event.data["due_at"],
                warning_at=event.data["warning_at"],
                overdue=overdue,
            ),
        )
        if applied.state is not None:
            await self._list_cooperation(applied)

    async def _note(self, event: Event, note: Callable[[Complaint], Complaint]) -> Applied:
        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
            if state is None:
                return None, []
            return note(Complaint.from_doc(state)).to_doc(), []

        return await self.store.complaints.apply(event.subject, decide, cause=event.id)

    # ------------------------------------------------------ answers (답변, 결재)

    def _opened(self, complaint: Complaint) -> dict[str, Any]:
        """The answer's text, reasons and remedy, opened from their seal (empty: no answer)."""
        sealed = (complaint.answer or {}).get("sealed")
        return self.pii.open_json(sealed, context=complaint.receipt_no) if sealed else {}

    async def approval_required(self, department: str | None) -> bool:
        return domain.approval_required(
            await self.store.policies_by_department(), department, default=self.approval_default
        )

    async def answer(self, receipt_no: str) -> dict[str, Any]:
        complaint = await self.get(receipt_no)
        return {
            "answer": domain.answer_view(complaint, self._opened(complaint)),
            "approval_required": await self.approval_required(complaint.department),
        }

    def answer_of(self, complaint: Complaint) -> dict[str, Any] | None:
        return domain.answer_view(complaint, self._opened(complaint))

    async def draft_answer(
        self, receipt_no: str, draft: domain.AnswerDraft, *, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        sealed = self.pii.seal_json(draft.private, context=receipt_no)
        return await self.run(
            receipt_no,
            lambda x: domain.draft_answer(x, draft, sealed=sealed, now=self.clock(), by=by),
            idempotency_key=idempotency_key,
            by=by,
            action="draft_answer",
        )

    async def submit_answer(
        self, receipt_no: str, *, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        policies = await self.store.policies_by_department()

        def command(x: Complaint) -> tuple[Complaint, list[Event]]:
            required = domain.approval_required(policies, x.department, default=self.approval_default)
            return domain.submit_answer(
                x, approval_required=required, opened=self._opened(x), now=self.clock(), source=self.source, by=by
            )

        return await self.run(receipt_no, command, idempotency_key=idempotency_key, by=by, action="submit_answer")

    async def return_answer(
        self, receipt_no: str, *, comment: str, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        return await self.run(
            receipt_no,
            lambda x: domain.return_answer(x, comment=comment, now=self.clock(), by=by),
            idempotency_key=idempotency_key,
            by=by,
            action="return_answer",
        )

    async def approve_answer(
        self, receipt_no: str, *, comment: str | None, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        return await self.run(
            receipt_no,
            lambda x: domain.approve_answer(
                x, comment=comment, opened=self._opened(x), now=self.clock(), source=self.source, by=by
            ),
            idempotency_key=idempotency_key,
            by=by,
            action="approve_answer",
        )

    async def close(
        self, receipt_no: str, draft: domain.AnswerDraft, *, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        """처리완료 without approval, where the department's policy allows it (409 otherwise)."""
        policies = await self.store.policies_by_department()
        sealed = self.pii.seal_json(draft.private, context=receipt_no)

        def command(x: Complaint) -> tuple[Complaint, list[Event]]:
            required = domain.approval_required(policies, x.department, default=self.approval_default)
            return domain.close_directly(
                x, approval_required=required, draft=draft, sealed=sealed, now=self.clock(), source=self.source, by=by
            )

        return await self.run(receipt_no, command, idempotency_key=idempotency_key, by=by, action="close")

    async def render_answer(self, receipt_no: str, template_id: str, *, by: dict[str, Any]) -> str:
        """A template's text with the complaint's placeholders filled; reading the name is audited."""
        complaint = await self.get(receipt_no)
        template = await self.store.get_template(template_id)
        if template is None:
            raise NotFound("template", template_id)
        await self.audit(by, "read_personal_data", receipt_no, purpose="답변 작성")
        name = self.pii.open_json(complaint.sealed, context=receipt_no).get("name")
        values = domain.template_values(complaint, name=name, today=self.clock(), drafter=by)
        return domain.fill_template(template["text"], values)

    # ------------------------------------------------------------ templates

    async def templates(self, *, category: str | None) -> builtins.list[dict[str, Any]]:
        return [_template(d) for d in await self.store.list_templates(category=category)]

    async def save_template(
        self, template_id: str | None, *, category: str, title: str, text: str, by: dict[str, Any]
    ) -> dict[str, Any]:
        domain.check_template(category=category, title=title, text=text)
        if template_id is not None and await self.store.get_template(template_id) is None:
            raise NotFound("template", template_id)
        doc = {
            "_id": template_id or uuid.uuid4().hex,
            "category": category.strip(),
            "title": title.strip(),
            "text": text,
            "updated_at": self.clock().astimezone(UTC).isoformat(),
            "updated_by": {"id": by["id"], "name": by.get("name")},
        }
        await self.store.put_template(template=doc)
        await self.audit(by, "save_answer_template", None, purpose=f"answer template {doc['_id']}")
        return _template(doc)

    async def delete_template(self, template_id: str, *, by: dict[str, Any]) -> None:
        if not await self.store.delete_template(template_id):
            raise NotFound("template", template_id)
        await self.audit(by, "delete_answer_template", None, purpose=f"answer template {template_id}")

    # ------------------------------------------------------------- policies

    async def policies(self) -> dict[str, Any]:
        return {"default_required": self.approval_default, "departments": await self.store.policies_by_department()}

    async def set_policy(self, department: str, *, approval_required: bool, by: dict[str, Any]) -> dict[str, Any]:
        if not department.strip():
            raise Invalid("department", "name the department")
        await self.store.put_policy(
            department=department,
            approval_required=approval_required,
            at=self.clock().astimezone(UTC).isoformat(),
            by=by,
        )
        await self.audit(
            by,
            "set_answer_policy",
            None,
            purpose=f"{department}: approval {'required' if approval_required else 'not required'}",
        )
        return {"department": department, "approval_required": approval_required}

    # ----------------------------------------- search, repeats, duplicates, notes

    def _index(self, private: dict[str, Any], key_id: str | None = None) -> dict[str, Any]:
        """The blind-index fields of a complaint's opened personal data, under ``key_id``'s index key."""
        kid = key_id or self.pii.key_id
        terms = similarity.index_terms(
            self.pii.derived(INDEX_PURPOSE, kid),
            name=private.get("name") or "",
            phone=private.get("phone"),
            email=private.get("email"),
            address=private.get("address"),
            title=private.get("title") or "",
            body=private.get("body") or "",
        )
        return {
            "search_terms": terms.terms,
            "title_index": terms.title,
            "identity_index": terms.identity,
            "index_key": kid,
        }

    async def _note_ledgers(self, complaint: Complaint) -> None:
        """File the complaint under its citizen and under its place and day (the lookups of repeats
        and duplicates)."""
        if complaint.identity_index:
            await self.store.note_citizen_complaint(complaint.identity_index, complaint.category, complaint.receipt_no)
        if complaint.district:
            await self.store.note_place_complaint(
                complaint.category, complaint.district, _day_in_korea(complaint.received_at), complaint.receipt_no
            )

    async def _same_citizen(self, identity: str | None, category: str) -> builtins.list[similarity.Earlier]:
        """The citizen's earlier complaints in ``category``, found by their identity's blind index."""
        if identity is None:
            return []
        docs = await self.store.citizen_complaints(identity, category, limit=similarity_lookup_limit)
        return [_earlier(d) for d in docs]

    async def search(
        self, criteria: dict[str, Any], *, by: dict[str, Any], purpose: str, after: str | None, limit: int
    ) -> builtins.list[Complaint]:
        """Staff search. Personal data and words are looked up through the blind index (under the
        current key and any old key still listed, so complaints not yet re-indexed are found); a
        search using them is written to the audit log, with the fields used, never the values."""
        words = similarity.words_of(criteria.get("words") or "")
        if criteria.get("words") and not words:
            raise Invalid("words", "give a word of letters or digits")
        personal: dict[str, str] = {k: str(criteria[k]) for k in ("name", "phone", "email") if criteria.get(k)}
        if "phone" in personal and not similarity.normal_phone(personal["phone"]):
            raise Invalid("phone", "a phone number has digits")
        where: dict[str, Any] = {
            k: criteria[k] for k in ("district", "status", "department", "category") if criteria.get(k)
        }
        if criteria.get("receipt_no"):
            where["_id"] = criteria["receipt_no"].strip()
        since, until = criteria.get("received_from"), criteria.get("received_to")
        if since and until and since >= until:
            raise Invalid("received_to", "received_to is after received_from")
        span = {
            op: (at + pad).astimezone(UTC).isoformat()[:10]
            for op, at, pad in (("$gte", since, -timedelta(days=1)), ("$lte", until, timedelta(days=1)))
            if at
        }
        if span:  # a coarse, index-friendly window; times with other offsets are checked exactly below
            where["received_at"] = {op: v if op == "$gte" else v + "\uffff" for op, v in span.items()}
        if not where and not personal and not words:
            raise Invalid("q", "give at least one search criterion")
        if personal or words:
            await self.audit(
                by,
                "search_personal_data",
                None,
                purpose=f"{purpose} [{', '.join([*personal, *(['words'] if words else [])])}]",
            )
            queries = [
                {
                    **where,
                    "index_key": kid,
                    "search_terms": {
                        "$all": similarity.query_terms(self.pii.derived(INDEX_PURPOSE, kid), words=words, **personal)
                    },
                }
                for kid in self.pii.key_ids
            ]
        else:
            queries = [where]
        found: builtins.list[Complaint] = []
        cursor = after
        while len(found) < limit:
            pages = [await self.store.list(where=q, after=cursor, limit=limit) for q in queries]
            page = sorted((d for p in pages for d in p), key=lambda d: d["_id"])[:limit]
            for doc in page:
                complaint = Complaint.from_doc(doc)
                if _received_within(complaint, since, until) and self._has_words(complaint, words):
                    found.append(complaint)
            if len(page) < limit:
                break
            cursor = page[-1]["_id"]
        return found[:limit]

    def _has_words(self, complaint: Complaint, words: builtins.list[str]) -> bool:
        if not words:
            return True
        private = self.pii.open_json(complaint.sealed, context=complaint.receipt_no)
        return similarity.text_matches(words, private.get("title") or "", private.get("body") or "")

    async def link_suggestions(self, complaint: Complaint) -> builtins.list[dict[str, Any]]:
        """Other citizens' complaints about the same thing (중복민원), from a bounded lookup: the same
        category and district, received within the window (indexed fields), at most a few hundred."""
        if not complaint.title_index:
            return []
        this = _earlier(complaint.to_doc())
        day = _day_in_korea(complaint.received_at)
        span = similarity.LINK_WINDOW.days + 1
        days = [day + timedelta(days=d) for n in range(span + 1) for d in dict.fromkeys((n, -n))]  # nearest first
        docs = [
            d
            for d in await self.store.place_complaints(
                complaint.category, complaint.district, days, limit=similarity_lookup_limit * 4
            )
            if d.get("index_key") == complaint.index_key
        ]
        found = similarity.link_suggestions(
            this, [_earlier(d) for d in docs if d.get("status") != domain.DRAFT], linked=complaint.links
        )
        by_no = {d["_id"]: d for d in docs}
        return [
            {
                **x,
                "department": by_no[str(x["receipt_no"])].get("department"),
                "status": by_no[str(x["receipt_no"])].get("status"),
            }
            for x in found
        ]

    async def link(self, receipt_no: str, other: str, *, by: dict[str, Any]) -> Complaint:
        """Link two complaints about the same thing, both ways; each keeps its notice and clock."""
        await self.get(other)
        linked = await self.run(receipt_no, lambda x: (domain.link(x, other), []), by=by, action="link")
        await self.run(other, lambda x: (domain.link(x, receipt_no), []), by=by, action="link")
        return linked

    async def add_note(self, receipt_no: str, text: str, *, by: dict[str, Any]) -> Complaint:
        """An internal note, sealed like the complaint's text."""
        sealed = self.pii.seal(text, context=receipt_no)
        note_id = uuid.uuid4().hex[:12]
        return await self.run(
            receipt_no,
            lambda x: (domain.add_note(x, text=text, note_id=note_id, sealed=sealed, now=self.clock(), by=by), []),
            by=by,
            action="add_note",
        )

    def notes_of(self, complaint: Complaint) -> builtins.list[dict[str, Any]]:
        return [
            {
                "id": n["id"],
                "at": n["at"],
                "by": n["by"],
                "text": self.pii.open(n["sealed"], context=complaint.receipt_no),
            }
            for n in complaint.notes
        ]

    # ------------------------------------------------- cooperating departments (협조부서)

    async def request_cooperation(
        self,
        receipt_no: str,
        *,
        department: str,
        working_days: int | None,
        question: str,
        by: dict[str, Any],
        department_name: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Complaint, str]:
        """Ask another department for its input (its question sealed); returns the request's id.
        A repeated ``Idempotency-Key`` names the same request."""
        sealed = self.pii.seal(question, context=receipt_no)
        request_id = (derive_id(receipt_no, "cooperation", idempotency_key) if idempotency_key else uuid.uuid4().hex)[
            -12:
        ]
        applied = await self._command(
            receipt_no,
            lambda x: domain.request_cooperation(
                x,
                request_id=request_id,
                department=department,
                working_days=working_days,
                question=question,
                sealed=sealed,
                now=self.clock(),
                source=self.source,
                by=by,
                department_name=department_name,
            ),
            idempotency_key=idempotency_key,
            by=by,
            action="request_cooperation",
        )
        return await self._list_cooperation(applied), request_id

    async def reply_cooperation(
        self,
        receipt_no: str,
        request_id: str,
        *,
        text: str,
        department: str | None,
        by: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> Complaint:
        sealed = self.pii.seal(text, context=receipt_no)
        applied = await self._command(
            receipt_no,
            lambda x: domain.reply_cooperation(
                x,
                request_id=request_id,
                department=department,
                text=text,
                sealed=sealed,
                now=self.clock(),
                source=self.source,
                by=by,
            ),
            idempotency_key=idempotency_key,
            by=by,
            action="reply_cooperation",
        )
        return await self._list_cooperation(applied)

    async def cancel_cooperation(
        self, receipt_no: str, request_id: str, *, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        applied = await self._command(
            receipt_no,
            lambda x: domain.cancel_cooperation(x, request_id=request_id, now=self.clock(), source=self.source, by=by),
            idempotency_key=idempotency_key,
            by=by,
            action="cancel_cooperation",
        )
        return await self._list_cooperation(applied)

    def cooperations_of(
        self, complaint: Complaint, *, department: str | None, every: bool
    ) -> builtins.list[dict[str, Any]]:
        """The requests an official sees, their question and reply opened (staff only)."""

        def opened(value: str | None) -> str | None:
            return self.pii.open(value, context=complaint.receipt_no) if value else None

        return [
            domain.cooperation_view(e, question=opened(e.get("question_sealed")), reply=opened(e.get("reply_sealed")))
            for e in domain.visible_cooperations(complaint, department, every=every)
        ]

    async def cooperation_requests(
        self, department: str, *, states: builtins.list[str], limit: int
    ) -> builtins.list[dict[str, Any]]:
        """The requests addressed to ``department`` (its list 협조 요청), no text."""
        rows = await self.store.list_cooperation(department=department, states=states, limit=limit)
        out = []
        for row in rows:  # the complaint's status now (closed since the row was written?), read by _id
            doc = await self.store.complaints.coll.get(row["receipt_no"]) or {}
            out.append(
                {
                    **{k: v for k, v in row.items() if k not in ("_id", "_v", "complaint_version")},
                    "complaint_status": doc.get("status", row.get("complaint_status")),
                }
            )
        return out

    async def _list_cooperation(self, applied: Applied) -> Complaint:
        """Each request as a row of its department's list, from the complaint as ``applied`` wrote it (again
        after a crash: the same rows); a row already written from a later version of the complaint stays."""
        assert applied.state is not None and applied.version is not None
        complaint = Complaint.from_doc(applied.state)
        for entry in complaint.cooperations:
            await self.store.put_cooperation(
                version=applied.version,
                row={
                    "_id": f"{complaint.receipt_no}#{entry['id']}",
                    "receipt_no": complaint.receipt_no,
                    "request_id": entry["id"],
                    "complaint_status": complaint.status,
                    "kind": complaint.kind,
                    "category": complaint.category,
                    **{
                        k: entry.get(k)
                        for k in (
                            "department",
                            "department_name",
                            "from_department",
                            "working_days",
                            "state",
                            "requested_at",
                            "due_at",
                            "overdue",
                            "replied_at",
                        )
                    },
                },
            )
        return complaint

    async def close_as_repeat(
        self, receipt_no: str, *, reason: str, by: dict[str, Any], idempotency_key: str | None = None
    ) -> Complaint:
        """반복민원 종결 (제23조): closed with the statutory notice, which reaches the citizen as the result."""

        def command(x: Complaint) -> tuple[Complaint, list[Event]]:
            draft = domain.repeat_draft(x, reason=reason)
            sealed = self.pii.seal_json(draft.private, context=receipt_no)
            return domain.close_as_repeat(x, draft=draft, sealed=sealed, now=self.clock(), source=self.source, by=by)

        return await self.run(receipt_no, command, idempotency_key=idempotency_key, by=by, action="close_as_repeat")

    # ---------------------------------------------------------------- helpers

    async def _next_receipt(self, year: int) -> str:
        return domain.receipt_number(year, self.org, await self.store.next_sequence(org=self.org, year=year))

    def _route(self, events: builtins.list[Event]) -> builtins.list[tuple[str, Event]]:
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


INDEX_PURPOSE = "search-index"
"""The purpose the blind index's key is derived for, from the personal-data key."""
similarity_lookup_limit = 50
"""Earlier complaints of one citizen in one category read to decide a repeat."""


def _earlier(doc: dict[str, Any]) -> similarity.Earlier:
    return similarity.Earlier(
        receipt_no=doc["receipt_no"],
        category=doc["category"],
        district=doc["district"],
        title=doc.get("title_index") or (),
        identity=doc.get("identity_index"),
        received_at=datetime.fromisoformat(doc["received_at"]),
        answered=doc.get("status") == domain.CLOSED and doc.get("answer_state") == domain.ANSWER_APPROVED,
    )


def _received_within(complaint: Complaint, since: datetime | None, until: datetime | None) -> bool:
    at = datetime.fromisoformat(complaint.received_at)
    return (since is None or at >= since) and (until is None or at < until)


def _template(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: doc.get(k) for k in ("category", "title", "text", "updated_at", "updated_by")}}


def _identity_key(filing: Filing) -> str:
    ident = filing.identity
    return "|".join((ident.name.strip(), (ident.phone or ident.email or ident.address or "").strip()))


def _fingerprint(filing: Filing) -> str:
    fields = asdict(filing)
    if fields["location"] is None:  # as fingerprinted before filings had a location
        del fields["location"]
    raw = json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


KOREA = ZoneInfo("Asia/Seoul")


def _day_in_korea(at: datetime | str) -> date:
    instant = datetime.fromisoformat(at) if isinstance(at, str) else at
    return instant.astimezone(KOREA).date()
