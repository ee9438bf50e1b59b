"""The notification service's handlers: keep facts, create notifications, deliver them.

The consumers and the delivery loop call these; the HTTP API reads through
them. Each step is small: load, call the domain, save (with events).

Exactly-once effects: a notification's id is derived from its cause, so
``create`` refuses a second record for a redelivered or replayed event; a
send first marks the record "sending" (compare-and-set: one sender wins),
then calls the provider with the notification id as idempotency key, then
records the outcome and its event in one write.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from minwon import contracts as c
from minwon import topics
from minwon.crypto import Sealer
from minwon.docstore import iso
from minwon.errors import NotFound
from minwon.events import Event
from minwon.outbox import Applied, Decide, Decision
from minwon.service import Clock
from minwon.workcal import WorkCalendar
from services.notification import domain, letters, metrics
from services.notification.domain import Consent, Policy, Rendered, Try
from services.notification.providers import DeliveryFailed, Message, Providers
from services.notification.rendering import Renderer
from services.notification.store import NotificationStore

FINAL_REMEMBERED = 100_000
"""How many final notice ids a process keeps in memory (a few MiB), oldest forgotten first."""

log = logging.getLogger("minwon.notification")

FACT_TOPICS = (
    topics.PRIVATE,
    topics.COMPLAINTS,
    topics.ROUTING,
    topics.DEADLINES,
    topics.COMPENSATIONS,
    topics.SURVEYS,
)
"""The topics whose events may cause a notice, and the restricted topic with the sealed contact details."""

Change = Callable[[dict[str, Any]], "dict[str, Any] | tuple[dict[str, Any], list[Any]] | None"]


@dataclass
class Notifier(c.Consumer):
    """Everything the notification handlers need, passed in by the bootstrap."""

    store: NotificationStore
    providers: Providers
    renderer: Renderer
    contacts: Sealer
    """Opens what intake sealed on the private topic (its contacts key)."""
    sealer: Sealer
    """This service's own key: contact details, parts and sent texts at rest."""
    calendar: WorkCalendar
    policy: Policy
    clock: Clock
    source: str
    org_name: str
    font: letters.Font
    batch_size: int = 100
    _final: OrderedDict[str, None] = field(default_factory=OrderedDict, repr=False)
    """Ids of notices seen sent, dead, skipped or superseded (a state they never leave): a wake
    skips them instead of reading each again for every later event of the complaint."""

    # ------------------------------------------------------------------ events in

    HANDLES = {
        **{type: "on_fact" for type, on in c.TOPICS_OF.items() if on[0] in FACT_TOPICS},
        c.COMPLAINT_SEALED: "on_sealed",
        c.DEADLINE_HOLIDAY_ADDED: "keep_holiday",
    }
    """Event type -> the method that handles it (the subscription is derived from it: consumers.py).
    Every fact of the lifecycle topics is noted: a notice's text may depend on any of them."""

    async def on_sealed(self, event: Event, data: c.ComplaintSealed) -> None:
        """A sealed part: kept re-sealed under this service's key; notices that waited for it may go."""
        await self._notices(event, await self.keep_sealed(event), True)

    async def on_fact(self, event: Event, data: BaseModel) -> None:
        """A lifecycle fact: note it, create the notices it causes, try to send."""
        state, changed, drafts = await self.note_facts(event)
        await self._notices(event, state, changed, drafts)

    async def _notices(
        self, event: Event, state: dict[str, Any] | None, changed: bool, drafts: list[domain.Draft] | None = None
    ) -> None:
        """Create the notices ``event`` causes (``drafts``: as planned when its facts were noted) and try them."""
        # planned when the facts were first noted: no earlier delivery can have stored these notices
        fresh = drafts is not None
        if drafts is None:
            drafts = domain.plan(event, state)
        ids = [d.id for d in drafts]
        if ids:
            latest = domain.newest(drafts)
            if set(ids) - set((state or {}).get("notices", [])):  # not noted with the facts (a sealed part)
                state = await self.store.remember(event.subject, ids, latest=latest)
            # an older notice of a kind that keeps only the newest is dropped now, not when it comes due
            changed = changed or bool(latest)
        # the complaint's earlier notices may have waited for what this event brought; if it brought
        # nothing new, only the new notices are tried
        now = self.clock()
        await self.wake(
            ids,
            known=(state or {}).get("notices", []) if changed else [],
            facts=state,
            drafts={d.id: d.to_doc(now) for d in drafts},
            fresh=fresh,
        )

    async def keep_sealed(self, event: Event) -> dict[str, Any] | None:
        """Keep a sealed part re-sealed under this service's key (contact details only, for a filing)."""
        part, blob = event.data.get("part"), event.data.get("sealed")
        if not part or not blob:
            return await self.store.complaints.get(event.subject)
        content = self.contacts.open_json(blob, context=event.subject)
        flags = None
        if part == "filing":
            content = {k: content.get(k) for k in ("name", "phone", "email", "address")}
            flags = {k: bool(str(content.get(k) or "").strip()) for k in ("phone", "email", "address")}
        named = domain.answer_handler(content) if part == "answer" else None
        sealed = self.sealer.seal_json(content, context=event.subject)
        applied = await self.store.complaints.apply(
            event.subject,
            lambda s: (domain.note(s, event, sealed=sealed, contacts=flags, named=named), []),
            cause=event.id,
        )
        log.info("sealed part kept", extra={"receipt_no": event.subject, "part": part, "event_id": event.id})
        return applied.state

    async def note_facts(self, event: Event) -> tuple[dict[str, Any] | None, bool, list[domain.Draft] | None]:
        """The complaint's facts after ``event``, whether the event changed them, and the notices it causes
        (``None`` for a redelivered event: planned again from the facts stored). The ids of the notices are
        noted in the same write, before the notices are created: a crash in between leaves ids without
        notices, which a wake skips, and the redelivered event creates them."""
        changed: list[bool] = []
        planned: list[list[domain.Draft]] = []

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
            new = domain.note(state, event)
            changed[:] = [new is not None]
            after = new if new is not None else state
            planned[:] = [domain.plan(event, after)]
            ids = [d.id for d in planned[0]]
            noted = domain.remember(after, event.subject, ids, latest=domain.newest(planned[0]))
            return (noted if noted is not None else new), []

        applied = await self.store.complaints.apply(event.subject, decide, cause=event.id, creating=c.starts(event))
        # a redelivered event (a crash came between its effects) counts as news: what it started may
        # not have finished
        if applied.duplicate:
            return applied.state, True, None
        return applied.state, bool(changed and changed[0]), planned[0] if planned else None

    async def keep_holiday(self, event: Event, data: c.DeadlineHolidayAdded) -> None:
        """A holiday the deadline service added at run time: quiet hours treat it as a non-working day."""
        day = data.date
        if await self.store.add_holiday(day, data.name):
            log.info("holiday added", extra={"date": day.isoformat(), "event_id": event.id})

    async def calendar_now(self) -> WorkCalendar:
        """The working calendar with the holidays added at run time (read from the store, which every
        instance shares: the holiday event reaches only one of them)."""
        return self.calendar.with_holidays(await self.store.holidays())

    async def wake(
        self,
        ids: list[str],
        *,
        known: list[str],
        facts: dict[str, Any] | None = None,
        drafts: dict[str, dict[str, Any]] | None = None,
        fresh: bool = False,
    ) -> None:
        """Try the new notices and the complaint's earlier ones (details they waited for may just have
        arrived); one already sent or skipped is left as it is. ``facts``: the complaint's facts as this
        event just left them. Each notice is taken as this process last wrote it, if it did (every write
        of a notice is a compare-and-set that decides again on the stored one, should another replica have
        moved it on). ``drafts``: the new notices as planned, created by their first attempt's write (a
        claim, a wait, a skip: the notice is stored already decided, one write instead of two); ``fresh``:
        no earlier delivery of the event can have stored them, so none is read first."""
        drafts = drafts or {}
        for id in dict.fromkeys([*ids, *known]):
            if id not in self._final:
                draft = drafts.get(id)
                if draft is not None and fresh:
                    self.store.notifications.unstored(id)
                await self._attempt_safely(id, facts=facts, recent=True, draft=draft)

    def _seen(self, record: dict[str, Any] | None) -> dict[str, Any] | None:
        """Note a notice that reached a final state; returns it."""
        if record is not None and record.get("status") in domain.FINAL and record.get("id"):
            self._final[record["id"]] = None
            if len(self._final) > FINAL_REMEMBERED:
                self._final.popitem(last=False)
        return record

    # ------------------------------------------------------------------ the delivery loop

    async def deliver_due(self) -> int:
        """One pass: every notification whose time has come (deferred, retry, stale "sending")."""
        ids = await self.store.due(now_iso=iso(self.clock()), limit=self.batch_size)
        for id in ids:
            await self._attempt_safely(id)
        return len(ids)

    async def refresh_gauges(self) -> None:
        """Count the deferred notices (a query over all of them: a slow loop of its own)."""
        metrics.DEFERRED.set(await self.store.count(status=domain.DEFERRED))

    async def _attempt_safely(
        self,
        id: str,
        *,
        facts: dict[str, Any] | None = None,
        recent: bool = False,
        draft: dict[str, Any] | None = None,
    ) -> None:
        try:
            self._seen(await self.attempt(id, facts=facts, recent=recent, draft=draft))
        except Exception as exc:  # noqa: BLE001 - the record stays due; the loop tries again
            if draft is not None:
                # stored as planned, so that the loop finds it (if the store cannot take it either, the
                # event fails and is handled again)
                await self._apply(id, _unchanged, draft)
            log.warning("notification attempt failed", extra={"notification_id": id, "error": type(exc).__name__})

    async def attempt(
        self,
        id: str,
        *,
        facts: dict[str, Any] | None = None,
        recent: bool = False,
        draft: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """One delivery attempt: drop if superseded, wait, skip, defer, or claim → send → record.
        ``facts``: the complaint's facts if the caller has just read or written them; ``recent``: the
        notice may be taken as this process last wrote it; ``draft``: the notice as planned, stored by
        this attempt's first write if the store does not hold it yet."""
        now = self.clock()
        record = await self.store.notifications.get(id, recent=recent)
        if record is not None:
            draft = None
        elif draft is not None:
            record = draft
        if record is None or record["status"] in domain.FINAL:
            return record
        if facts is None or facts.get("receipt_no", record["receipt_no"]) != record["receipt_no"]:
            facts = await self.store.complaints.get(record["receipt_no"])
        state = facts or {}
        reason = domain.superseded(record, state)
        if reason is not None:
            return await self._supersede(id, reason, now, draft)
        if not domain.attemptable(record, now):
            return record if draft is None else (await self._apply(id, _unchanged, draft)).state
        missing = domain.missing(record, state, now, self.policy)
        if missing:
            if (
                record["status"] == domain.PENDING
                and record.get("waiting") == missing
                and (record.get("next_attempt_at") or "") > iso(now)
            ):
                return record  # still waiting for the same thing; nothing to write (a draft waits for nothing yet)
            return await self._change(id, now, lambda r: domain.waiting(r, missing, now, self.policy), draft)

        citizen = record["audience"] == domain.CITIZEN
        contact = self.sealer.open_json(state["contact"], context=record["receipt_no"]) if citizen else None
        consent = Consent.of(state.get("consent"))
        contacts = state.get("contacts") or {}
        choice = domain.choose_channel(record, consent, contacts)
        if choice.channel is None:
            if record["legal"] and choice.reason == "no_lawful_channel":
                return await self._change(
                    id, now, lambda r: domain.dead(r, "no_lawful_channel", now, self.source), draft
                )
            return await self._change(id, now, lambda r: domain.skipped(r, choice.reason or "no_channel", now), draft)
        channel = choice.channel
        calendar = await self.calendar_now() if channel in domain.QUIET_CHANNELS else self.calendar
        until = domain.quiet_until(channel, record, now, calendar, self.policy)
        if until is not None:
            return await self._change(id, now, lambda r: domain.deferred(r, until, channel, now), draft)

        token = uuid.uuid4().hex
        claimed = await self._change(id, now, lambda r: domain.claim(r, token, channel, now, self.policy), draft)
        if not claimed or claimed.get("claim") != token:
            return claimed
        return await self._send(claimed, state, contact, consent, contacts, token)

    async def _send(
        self,
        record: dict[str, Any],
        state: dict[str, Any],
        contact: dict[str, Any] | None,
        consent: Consent,
        contacts: dict[str, bool],
        token: str,
    ) -> dict[str, Any] | None:
        id, channel = record["id"], record["channel"]
        try:
            message, rendered = await self._compose(record, state, contact, channel)
        except Exception as exc:  # noqa: BLE001 - a template or letter that cannot be made will not get better
            log.error(
                "notification could not be rendered",
                extra={"notification_id": id, "template": record["template"], "error": type(exc).__name__},
            )
            tries = [Try(channel, "failed", error=f"render_{type(exc).__name__.lower()}")]
            return await self._finish(
                id, token, lambda r: domain.failed(r, tries, self.clock(), self.policy, self.source, permanent=True)
            )

        tries = [await self._call(message)]
        fallback = domain.fallback_channel(channel, message.text, consent, contacts)
        if tries[-1].outcome == "failed" and fallback:
            tries.append(
                await self._call(
                    replace(message, channel=fallback, to_masked=domain.mask_recipient(fallback, message.to))
                )
            )
        permanent = tries[-1].permanent
        now = self.clock()
        if tries[-1].outcome == "sent":
            done = await self._finish(id, token, lambda r: domain.delivered(r, tries, rendered, now, self.source))
            log.info(
                "notification sent",
                extra={
                    "notification_id": id,
                    "receipt_no": record["receipt_no"],
                    "channel": tries[-1].channel,
                    "template": record["template"],
                    "attempt": record["attempts"],
                },
            )
            return done
        return await self._finish(
            id,
            token,
            lambda r: domain.failed(r, tries, now, self.policy, self.source, permanent=permanent, rendered=rendered),
        )

    async def _call(self, message: Message) -> Try:
        provider_name = None
        try:
            provider = self.providers.for_channel(message.channel)
            provider_name = provider.name
            delivery = await provider.send(message)
        except DeliveryFailed as exc:
            metrics.SENT.labels(channel=message.channel, outcome="failed").inc()
            log.warning(
                "provider refused",
                extra={
                    "notification_id": message.idempotency_key,
                    "channel": message.channel,
                    "error": exc.code,
                    "permanent": exc.permanent,
                },
            )
            return Try(message.channel, "failed", error=exc.code, provider=provider_name, permanent=exc.permanent)
        except Exception as exc:  # noqa: BLE001 - an adapter bug or outage counts as a failed try
            metrics.SENT.labels(channel=message.channel, outcome="failed").inc()
            log.warning(
                "provider error",
                extra={
                    "notification_id": message.idempotency_key,
                    "channel": message.channel,
                    "error": type(exc).__name__,
                },
            )
            return Try(message.channel, "failed", error=f"error_{type(exc).__name__.lower()}", provider=provider_name)
        metrics.SENT.labels(channel=message.channel, outcome="duplicate" if delivery.duplicate else "sent").inc()
        return Try(
            message.channel,
            "sent",
            provider=delivery.provider,
            message_id=delivery.message_id,
            duplicate=delivery.duplicate,
        )

    async def _compose(
        self, record: dict[str, Any], state: dict[str, Any], contact: dict[str, Any] | None, channel: str
    ) -> tuple[Message, Rendered]:
        part = None
        ref = domain.part_ref(record, state, self.clock(), self.policy)
        found = domain.find_part(state, ref) if ref else None
        if found is not None:
            part = self.sealer.open_json(found["sealed"], context=record["receipt_no"])
        variables = domain.render_vars(
            record,
            state,
            contact=contact,
            part=part,
            org_name=self.org_name,
            policy=self.policy,
            channel=channel,
            now=self.clock(),
        )
        subject, text = self.renderer.render(record["template"], record["template_version"], variables)
        channel = domain.sized(channel, text)
        to = domain.recipient_address(channel, contact, record, state)
        name, address = (contact or {}).get("name") or "", (contact or {}).get("address") or ""
        text_masked = domain.mask_text(text, names=[name], addresses=[address], keep=[variables["handler_contact"]])
        to_masked = domain.mask_recipient(channel, to)
        attachment, meta = None, None
        if channel == domain.POST:
            letter = letters.Letter(
                org_name=self.org_name,
                title=subject,
                recipient_name=name,
                address=address,
                body=text,
                receipt_no=record["receipt_no"],
                letter_no=record["id"],
                issued_at=datetime.fromisoformat(record["created_at"]),
                department=variables["department"],
                handler_name=variables["handler_name"],
                handler_contact=variables["handler_contact"],
            )
            attachment, meta = await asyncio.to_thread(letters.render_pdf, letter, self.font)
            meta = {**meta, "template": record["template"], "template_version": record["template_version"]}
        rendered = Rendered(
            to_masked=to_masked,
            text_masked=text_masked,
            text_sha256=domain.sha256(text),
            text_sealed=self.sealer.seal(text, context=record["id"]),
            letter=meta,
        )
        message = Message(
            idempotency_key=record["id"],
            channel=channel,
            to=to,
            subject=subject,
            text=text,
            receipt_no=record["receipt_no"],
            template=record["template"],
            template_version=record["template_version"],
            role=record["role"],
            audience=record["audience"],
            to_masked=to_masked,
            text_masked=text_masked,
            attachment=attachment,
            attachment_meta=meta,
        )
        return message, rendered

    # ------------------------------------------------------------------ writes

    async def _apply(self, id: str, decide: Decide, draft: dict[str, Any] | None = None) -> Applied:
        """Write a notice by compare-and-set; with ``draft``, a notice the store does not hold yet is created
        from it: as ``decide`` changes it, or as it is."""
        created = [False]

        def deciding(state: dict[str, Any] | None) -> Decision:
            created[0] = state is None and draft is not None
            if not created[0]:
                return decide(state)
            new, events = decide(draft)
            return (new if new is not None else draft), events

        applied = await self.store.notifications.apply(id, deciding)
        if created[0] and draft is not None:
            log.info(
                "notification created",
                extra={
                    "notification_id": id,
                    "receipt_no": draft["receipt_no"],
                    "template": draft["template"],
                    "role": draft["role"],
                    "event_id": draft["cause"],
                },
            )
        return applied

    async def _supersede(
        self, id: str, reason: str, now: datetime, draft: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Drop an outdated notice (never sent), unless a sender holds a live claim on it."""

        wrote = [False]

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
            wrote[0] = False
            if state is None or state["status"] in domain.FINAL:
                return None, []
            if state["status"] == domain.SENDING and not domain.attemptable(state, now):
                return None, []  # being sent right now: its outcome is recorded by that sender
            wrote[0] = True
            return domain.superseded_record(state, reason, now), []

        applied = await self._apply(id, decide, draft)
        record = applied.state or {}
        if wrote[0] and record.get("status") == domain.SUPERSEDED:
            metrics.SUPERSEDED.labels(template=record["template"]).inc()
            log.info(
                "notification superseded",
                extra={
                    "notification_id": id,
                    "receipt_no": record["receipt_no"],
                    "template": record["template"],
                    "reason": reason,
                },
            )
        return applied.state

    async def _change(
        self, id: str, now: datetime, change: Change, draft: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Apply ``change`` to a record that is still attemptable (compare-and-set; ``draft``: see :meth:`_apply`)."""

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
            if state is None or not domain.attemptable(state, now):
                return None, []
            return _split(change(state))

        applied = await self._apply(id, decide, draft)
        state = applied.state or {}
        if applied.events and state.get("status") == domain.DEAD:
            metrics.DEAD.inc()
            log.warning("notification dead", extra={"notification_id": id, "error": state.get("error")})
        return applied.state

    async def _finish(self, id: str, token: str, change: Change) -> dict[str, Any] | None:
        """Record an attempt's outcome, if this sender still holds the claim."""

        def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Any]]:
            if state is None or state.get("claim") != token:
                return None, []
            return _split(change(state))

        applied = await self.store.notifications.apply(id, decide)
        state = applied.state or {}
        if applied.events and state.get("status") == domain.DEAD:
            metrics.DEAD.inc()
            log.warning(
                "notification dead",
                extra={"notification_id": id, "error": state.get("error"), "attempts": state.get("attempts")},
            )
        elif state.get("status") == domain.FAILED:
            log.info(
                "notification will be retried",
                extra={
                    "notification_id": id,
                    "error": state.get("error"),
                    "attempts": state.get("attempts"),
                    "next_attempt_at": state.get("next_attempt_at"),
                },
            )
        return applied.state

    # ------------------------------------------------------------------ queries

    async def list(self, *, receipt_no: str) -> list[dict[str, Any]]:
        records = await self.store.list(receipt_no=receipt_no)
        return [view(r, await self.store.deliveries(r)) for r in records]

    async def get(self, id: str) -> dict[str, Any]:
        record = await self.store.get(id)
        if record is None:
            raise NotFound("notification", id)
        return view(record, await self.store.deliveries(record))


def _unchanged(state: dict[str, Any] | None) -> Decision:
    """A decision that changes nothing (with a draft: the notice is stored as planned)."""
    return None, []


def _split(result: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    if result is None:
        return None, []
    if isinstance(result, tuple):
        return result[0], list(result[1])
    return result, []


def view(record: dict[str, Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """A notification as the API shows it: personal data masked, no sealed text."""
    keys = (
        "id",
        "receipt_no",
        "template",
        "template_version",
        "audience",
        "role",
        "legal",
        "urgent",
        "cause",
        "cause_type",
        "status",
        "waiting",
        "skip_reason",
        "error",
        "channel",
        "attempts",
        "attempt_log",
        "created_at",
        "updated_at",
        "next_attempt_at",
        "deferred_until",
        "sent_at",
        "text_sha256",
        "letter",
        "delivery",
        "superseded_reason",
        "superseded_at",
    )
    out = {k: record.get(k) for k in keys}
    out["to"] = record.get("to_masked")
    out["text"] = record.get("text_masked")
    out["deliveries"] = [
        {
            "message_id": d["message_id"],
            "provider": "dev",
            "channel": d["channel"],
            "to": d["to_masked"],
            "subject": d["subject"],
            "text": d["text_masked"],
            "template": d["template"],
            "template_version": d["template_version"],
            "delivered_at": d["delivered_at"],
            "letter": d.get("letter"),
        }
        for d in deliveries
    ]
    return out
