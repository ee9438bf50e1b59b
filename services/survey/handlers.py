"""Survey's handlers: load, call the domain, save the survey and its events together.

The HTTP API, the consumers and the invitation timer loop call these functions.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon import topics
from minwon.docstore import iso
from minwon.errors import NotFound
from minwon.events import Event
from minwon.outbox import Applied, Decision
from minwon.service import Clock
from minwon.workcal import WorkCalendar
from services.survey import domain, metrics
from services.survey.chart import render_svg
from services.survey.domain import Answers, Survey
from services.survey.report import render_png
from services.survey.store import SurveyStore

log = logging.getLogger("minwon.survey")

Doc = dict[str, Any]


@dataclass
class Surveys(c.Consumer):
    """Everything survey's handlers need, passed in by the bootstrap."""

    store: SurveyStore
    clock: Clock
    source: str
    secret: bytes
    delay: timedelta
    valid_for: timedelta
    max_age: timedelta
    low_threshold: int
    improvement_months: int
    report_title: str
    followup_days: int = 5
    calendar: WorkCalendar = field(default_factory=WorkCalendar)

    # ------------------------------------------------------- facts from events

    HANDLES = {
        c.COMPLAINT_RECEIVED: "on_received",
        c.COMPLAINT_ROUTED: "on_routed",
        c.COMPLAINT_ASSIGNED: "on_assigned",
        c.COMPLAINT_REASSIGNED: "on_assigned",
        c.COMPLAINT_WITHDRAWN: "on_ended",
        c.COMPLAINT_TRANSFERRED: "on_ended",
        c.COMPLAINT_CLOSED: "on_closed",
    }
    """Event type -> the method that handles it (the subscription is derived from it: consumers.py)."""

    async def on_received(self, event: Event, data: c.ComplaintReceived) -> None:
        """Consent and the facts statistics need."""
        await self._note(event, lambda s: domain.note_received(s, event.data))

    async def on_routed(self, event: Event, data: c.ComplaintRouted) -> None:
        await self._note(event, lambda s: domain.note_routed(s, department=data.department))

    async def on_assigned(self, event: Event, data: c.ComplaintAssigned) -> None:
        handler = data.handler.model_dump()
        await self._note(event, lambda s: domain.note_assigned(s, department=data.department, handler=handler))

    async def on_ended(self, event: Event, data: c.ComplaintFacts) -> None:
        """Withdrawn or transferred: no survey."""
        reason = event.type.split(".")[3]
        await self._note(event, lambda s: domain.note_ended(s, reason=reason))

    async def on_closed(self, event: Event, data: c.ComplaintClosed) -> None:
        """A closure sets the invitation timer (or skips the survey)."""
        now = self.clock()
        applied = await self._note(
            event,
            lambda s: domain.note_closed(
                s, closed_at=event.time, outcome=data.outcome, now=now, delay=self.delay, max_age=self.max_age
            ),
        )
        if applied.state and not applied.duplicate:
            survey = Survey.from_doc(applied.state)
            if survey.status == domain.SKIPPED:
                metrics.SKIPPED.labels(reason=survey.skip_reason or "").inc()
            elif survey.status == domain.SCHEDULED and (survey.invite_at or "") <= iso(now):
                await self.invite(survey.receipt_no)

    async def _note(self, event: Event, note: Callable[[Survey], Survey]) -> Applied:
        receipt_no = event.subject

        def decide(state: Doc | None) -> Decision:
            survey = Survey.from_doc(state) if state else domain.new_survey(receipt_no)
            return note(survey).to_doc(), []

        return await self.store.surveys.apply(receipt_no, decide, cause=event.id, creating=c.starts(event))

    # ---------------------------------------------------------------- timer

    async def invite_due(self) -> int:
        """One pass of the timer loop: send the invitations whose time has come."""
        due = await self.store.due_invitations(now_iso=iso(self.clock()))
        for receipt_no in due:
            await self.invite(receipt_no)
        return len(due)

    async def invite(self, receipt_no: str) -> Survey | None:
        now = self.clock()
        before: list[str] = []

        def decide(state: Doc | None) -> Decision:
            if state is None:
                return None, []
            survey = Survey.from_doc(state)
            before.append(survey.status)
            new, events = domain.invite(
                survey, now=now, secret=self.secret, valid_for=self.valid_for, source=self.source
            )
            if new == survey:
                return None, []
            return new.to_doc(), [(topics.SURVEYS, e) for e in events]

        applied = await self.store.surveys.apply(receipt_no, decide)
        if applied.state is None:
            return None
        survey = Survey.from_doc(applied.state)
        if applied.events:
            metrics.INVITATIONS.inc()
            log.info("survey invitation sent", extra={"receipt_no": receipt_no, "survey_id": survey.survey_id})
        elif survey.status == domain.SKIPPED and before and before[-1] == domain.SCHEDULED:
            metrics.SKIPPED.labels(reason=survey.skip_reason or "").inc()
            log.info("survey not sent", extra={"receipt_no": receipt_no, "reason": survey.skip_reason})
        return survey

    # -------------------------------------------------------------- responses

    async def show(self, token: str) -> dict[str, Any]:
        """What the citizen's form needs (the link is checked but not spent)."""
        claims = domain.read_token(self.secret, token)
        survey = await self._survey(claims.receipt_no)
        if survey.survey_id != claims.survey_id:
            raise domain.bad_token()
        view = domain.survey_view(survey)
        view["expired"] = self.clock() >= claims.expires_at
        return view

    async def respond(self, token: str, answers: Answers) -> Survey:
        claims = domain.read_token(self.secret, token)
        await self._survey(claims.receipt_no)
        now = self.clock()

        def decide(state: Doc | None) -> Decision:
            if state is None:
                raise NotFound("survey", claims.survey_id)
            new, events = domain.respond(
                Survey.from_doc(state),
                answers,
                claims=claims,
                now=now,
                low_threshold=self.low_threshold,
                source=self.source,
                followup_due=self._followup_due(now),
            )
            return new.to_doc(), [(topics.SURVEYS, e) for e in events]

        applied = await self.store.surveys.apply(claims.receipt_no, decide)
        assert applied.state is not None
        survey = Survey.from_doc(applied.state)
        department = survey.department or domain.UNKNOWN
        metrics.RESPONSES.labels(department=department).inc()
        if survey.low_score:
            metrics.LOW_SCORES.labels(department=department).inc()
        log.info(
            "survey answered",
            extra={"receipt_no": survey.receipt_no, "survey_id": survey.survey_id, "low_score": survey.low_score},
        )
        return survey

    def _followup_due(self, now: datetime) -> datetime:
        day = self.calendar.add_working_days(self.calendar.local(now).date(), self.followup_days)
        return self.calendar.end_of_day(day)

    async def followups(self, *, status: str, department: str | None, limit: int) -> list[dict[str, Any]]:
        """Low scores' follow-up tasks (open first by due date), for a department or all."""
        docs = await self.store.followups(status=status, department=department, limit=limit)
        now = self.clock()
        return [domain.followup_view(Survey.from_doc(d), now=now) for d in docs]

    async def resolve_followup(
        self, receipt_no: str, *, note: str, by: dict[str, Any], department_check: Callable[[str | None], None]
    ) -> dict[str, Any]:
        """The team lead closes a low score's follow-up with what was done."""
        survey = await self._survey(receipt_no)
        department_check(survey.department)
        now = self.clock()

        def decide(state: Doc | None) -> Decision:
            if state is None:
                raise NotFound("survey", receipt_no)
            return domain.resolve_followup(Survey.from_doc(state), note=note, by=by, now=now).to_doc(), []

        applied = await self.store.surveys.apply(receipt_no, decide)
        assert applied.state is not None
        log.info("low-score follow-up resolved", extra={"receipt_no": receipt_no, "by": by.get("id")})
        return domain.followup_view(Survey.from_doc(applied.state), now=now)

    async def for_staff(self, receipt_no: str) -> dict[str, Any]:
        """The whole survey of a complaint, free text included (staff only)."""
        return (await self._survey(receipt_no)).to_doc()

    # ---------------------------------------------------------------- statistics

    async def statistics(self, *, by: str, year: int) -> dict[str, Any]:
        return domain.statistics(await self.store.rows(year), by=by, year=year)

    async def report(self, year: int) -> dict[str, Any]:
        """The published report (frozen) or, before publication, a live draft."""
        published = await self.store.reports.get(str(year))
        if published is not None:
            return published["report"]
        return domain.yearly_report(
            await self.store.rows(year), year=year, title=self.report_title, generated_at=self.clock()
        )

    async def report_csv(self, year: int) -> str:
        return domain.report_csv(await self.report(year))

    async def report_svg(self, year: int) -> str:
        return render_svg(await self.report(year))

    async def report_png(self, year: int) -> bytes:
        return await asyncio.to_thread(render_png, await self.report(year))

    async def publish_report(self, year: int) -> dict[str, Any]:
        now = self.clock()
        draft = domain.yearly_report(await self.store.rows(year), year=year, title=self.report_title, generated_at=now)

        def decide(state: Doc | None) -> Decision:
            return domain.publish_report(state, draft, now=now, months=self.improvement_months), []

        applied = await self.store.reports.apply(str(year), decide)
        assert applied.state is not None
        log.info("survey report published", extra={"year": year})
        return applied.state["report"]

    # ---------------------------------------------------------------- improvement actions

    async def add_action(self, year: int, *, title: str, description: str, department: str | None) -> Doc:
        report = await self.store.reports.get(str(year))
        action = domain.new_action(
            report,
            action_id=str(uuid.uuid4()),
            year=year,
            title=title,
            description=description,
            department=department,
            now=self.clock(),
        )

        def decide(state: Doc | None) -> Decision:
            return (None, []) if state is not None else (action, [])

        applied = await self.store.actions.apply(action["id"], decide)
        assert applied.state is not None
        return domain.action_view(applied.state, now=self.clock())

    async def publish_action(self, year: int, action_id: str, *, url: str | None) -> Doc:
        now = self.clock()

        def decide(state: Doc | None) -> Decision:
            if state is None or state.get("year") != year:
                raise NotFound("improvement action", action_id)
            return domain.publish_action(state, url=url, now=now), []

        applied = await self.store.actions.apply(action_id, decide)
        assert applied.state is not None
        return domain.action_view(applied.state, now=now)

    async def actions(self, year: int) -> list[Doc]:
        now = self.clock()
        return [domain.action_view(a, now=now) for a in await self.store.actions_of(year)]

    # ---------------------------------------------------------------- gauges

    async def refresh_gauges(self) -> None:
        """Recompute the gauges from the store, so every replica reports the same numbers."""
        now = self.clock()
        stats = await self.statistics(by="department", year=now.astimezone(domain.KST).year)
        for group in stats["groups"]:
            if group["mean"]["overall"] is not None:
                metrics.SCORE_MEAN.labels(department=group["key"]).set(group["mean"]["overall"])
        overdue = [a for a in await self.store.actions_of() if domain.action_view(a, now=now)["overdue"]]
        metrics.ACTIONS_OVERDUE.set(len(overdue))

    # ---------------------------------------------------------------- helpers

    async def _survey(self, receipt_no: str) -> Survey:
        doc = await self.store.surveys.get(receipt_no)
        if doc is None:
            raise NotFound("survey", receipt_no)
        return Survey.from_doc(doc)
