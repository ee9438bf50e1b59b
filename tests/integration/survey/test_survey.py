"""Survey against real stores and buses (embedded SQLite; Kafka + MongoDB-wire).

The app runs in the test client's own event loop (a portal thread), so the
test publishes and reads through a bus client of its own (``probe``), as
another service would. A clock the test moves drives the stored timer.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from services.survey.bootstrap import bootstrap
from services.survey.settings import SurveySettings
from tests import samples, spies
from tests.factories import STAFF, staff_headers

DELAY = 3600.0


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _app(backend: Any, store: Any, bus: Any, clock: Clock) -> Any:
    own = SurveySettings(invite_delay_seconds=DELAY, token_valid_days=7, gauge_interval_seconds=0.5)
    service = bootstrap(backend.settings(), store=store, bus=bus, clock=clock, own=own)
    return create_app([service], Infrastructure(bus=bus, stores={"survey": store}))


def _receipt() -> str:
    return f"2026-ITEST-{uuid.uuid4().hex[:8]}"


def _event(type: str, receipt_no: str, at: datetime, **data: Any) -> Event:
    return Event.new(
        type,
        source="/itest",
        subject=receipt_no,
        time=at,
        data=samples.shaped(type, {"receipt_no": receipt_no, "occurred_at": at.isoformat(), **data}),
    )


async def _close_a_complaint(
    probe: Any, r: str, at: datetime, *, department: str = "건축과", noted: Callable[[], Awaitable[Any]] | None = None
) -> Event:
    """Received, assigned and closed. ``noted``: waited for after the receipt (topics keep no order between
    them, so an assignment may otherwise come first)."""
    await probe.publish(
        topics.COMPLAINTS,
        _event(
            c.COMPLAINT_RECEIVED,
            r,
            at,
            kind="grievance",
            channel="visit",
            complainant_ref="p-itest",
            consent={"sms": True, "alimtalk": False, "email": False, "post": False},
        ),
    )
    if noted is not None:
        await _wait(noted)
    await probe.publish(
        topics.ROUTING,
        _event(c.COMPLAINT_ASSIGNED, r, at, department=department, handler={"id": "h-9", "name": "이담당"}),
    )
    closed = _event(c.COMPLAINT_CLOSED, r, at, kind="grievance", outcome="accepted")
    await probe.publish(topics.COMPLAINTS, closed)
    return closed


async def _wait(check: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {last!r}")


class Probe:
    """Another service: publishes lifecycle events and consumes ``minwon.surveys.v1`` in its own group,
    keeping each event once per id (the outbox publishes at least once; consumers drop ids they have seen)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.seen: dict[str, Event] = {}
        bus.subscribe(f"probe-{uuid.uuid4().hex[:8]}", [topics.SURVEYS], self._on)

    async def _on(self, event: Event) -> None:
        self.seen[event.id] = event

    async def __aenter__(self) -> Probe:
        await self.bus.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bus.stop()

    async def publish(self, topic: str, event: Event) -> None:
        await self.bus.publish(topic, event)


async def _published(probe: Probe, receipt_no: str, type: str) -> list[Event]:
    return [e for e in probe.seen.values() if e.subject == receipt_no and e.type == type]


async def _status(client: Any, r: str) -> str | None:
    got = await client.get(f"/api/v1/surveys/complaints/{r}", headers=STAFF)
    return got.json()["status"] if got.status_code == 200 else None


async def test_a_closed_complaint_gets_one_invitation_after_the_delay(backend: Any) -> None:
    store, bus = backend.store("survey"), backend.bus()
    clock = Clock()
    r = _receipt()
    async with Probe(backend.bus()) as probe, AsyncTestClient(_app(backend, store, bus, clock)) as client:
        client.headers.update(STAFF)
        closed = await _close_a_complaint(probe, r, clock.now)
        await probe.publish(topics.COMPLAINTS, closed)  # redelivered

        async def scheduled() -> bool:
            return await _status(client, r) == "scheduled"

        await _wait(scheduled)
        await asyncio.sleep(1.0)  # several timer passes: the delay has not passed
        assert await _published(probe, r, c.SURVEY_INVITED) == []

        clock.advance(DELAY + 1)
        [invitation] = await _wait(lambda: _published(probe, r, c.SURVEY_INVITED))
        await probe.publish(topics.COMPLAINTS, _event(c.COMPLAINT_CLOSED, r, clock.now, kind="grievance"))
        clock.advance(DELAY + 1)
        await asyncio.sleep(1.5)
        assert len(await _published(probe, r, c.SURVEY_INVITED)) == 1
        assert invitation.data["link"].startswith("/survey/")
        assert await _status(client, r) == "invited"


async def test_the_receipt_creates_the_survey_without_reading_it(backend: Any, monkeypatch: Any) -> None:
    reads = spies.gets(monkeypatch, "surveys")
    store, bus = backend.store("survey"), backend.bus()
    clock = Clock()
    r = _receipt()
    surveys = backend.store("survey").collection("surveys")  # read as another process would: not by the spy
    async with Probe(backend.bus()) as probe, AsyncTestClient(_app(backend, store, bus, clock)):
        await _close_a_complaint(probe, r, clock.now, noted=lambda: surveys.find({"_id": r}))
        await _wait(lambda: surveys.find({"_id": r, "status": "scheduled"}))
    assert reads == []  # received, assigned and closed: decided on what the receipt wrote


async def test_answering_over_http_and_the_yearly_report(backend: Any) -> None:
    store, bus = backend.store("survey"), backend.bus()
    clock = Clock()
    r, other = _receipt(), _receipt()
    department = f"민원과-{uuid.uuid4().hex[:4]}"
    async with Probe(backend.bus()) as probe, AsyncTestClient(_app(backend, store, bus, clock)) as client:
        client.headers.update(STAFF)
        await _close_a_complaint(probe, r, clock.now, department=department)
        await _close_a_complaint(probe, other, clock.now, department=department)

        async def both_scheduled() -> bool:
            return await _status(client, r) == "scheduled" and await _status(client, other) == "scheduled"

        await _wait(both_scheduled)
        # the assignments came on another topic (no order between topics): an answer takes the department
        # the survey knows when it is given
        surveys = backend.store("survey").collection("surveys")

        async def both_assigned() -> bool:
            return len(await surveys.find({"department": department}, limit=2)) == 2

        await _wait(both_assigned)
        clock.advance(DELAY + 1)
        [invitation] = await _wait(lambda: _published(probe, r, c.SURVEY_INVITED))
        [other_invitation] = await _wait(lambda: _published(probe, other, c.SURVEY_INVITED))
        token = invitation.data["link"].removeprefix("/survey/")

        form = await client.get(f"/api/v1/surveys/{token}")
        assert form.status_code == 200 and form.json()["status"] == "invited"
        tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
        assert (await client.post(f"/api/v1/surveys/{tampered}", json=_answer(4))).status_code == 401
        bad = await client.post(f"/api/v1/surveys/{token}", json={**_answer(4), "overall": 6})
        assert bad.status_code == 422

        answered = await client.post(f"/api/v1/surveys/{token}", json={**_answer(1), "text": "비밀 자유의견 7788"})
        assert answered.status_code == 201, answered.text
        reused = await client.post(f"/api/v1/surveys/{token}", json=_answer(5))
        assert reused.status_code == 409 and reused.json()["error"] == "already_answered"

        clock.advance(timedelta(days=8).total_seconds())
        other_token = other_invitation.data["link"].removeprefix("/survey/")
        expired = await client.post(f"/api/v1/surveys/{other_token}", json=_answer(3))
        assert expired.status_code == 410 and expired.json()["error"] == "expired"

        [responded] = await _wait(lambda: _published(probe, r, c.SURVEY_RESPONDED))
        [low] = await _wait(lambda: _published(probe, r, c.SURVEY_LOW_SCORE))
        assert responded.data["scores"] == {"speed": 3, "kindness": 4, "result": 2, "overall": 1}
        assert low.data["department"] == department
        for event in (responded, low):
            assert "7788" not in event.to_json().decode()
        staff_view = await client.get(f"/api/v1/surveys/complaints/{r}", headers=STAFF)
        assert staff_view.json()["text"] == "비밀 자유의견 7788"

        # the low score opened a follow-up task for the department's team lead, with its own due date
        lead = staff_headers("lead-1", department=department, roles=("team_lead",), name="팀장")
        other_lead = staff_headers("lead-2", department="road", roles=("team_lead",), name="다른 팀장")
        handler = staff_headers("h-1", department=department, roles=("handler",), name="담당자")
        [task] = [
            t
            for t in (await client.get("/api/v1/surveys/followups", headers=lead)).json()["items"]
            if t["receipt_no"] == r
        ]
        assert (
            task["status"] == "open"
            and task["scores"]["overall"] == 1
            and task["due_at"] > answered.json()["responded_at"]
        )
        assert r not in {
            t["receipt_no"] for t in (await client.get("/api/v1/surveys/followups", headers=other_lead)).json()["items"]
        }
        resolve = f"/api/v1/surveys/followups/{r}/resolve"
        assert (await client.post(resolve, json={"note": "전화 드림"}, headers=other_lead)).status_code == 403
        assert (await client.post(resolve, json={"note": "전화 드림"}, headers=handler)).status_code == 403
        empty = await client.post(resolve, json={"note": ""}, headers=lead)
        assert empty.status_code == 422 and empty.json()["fields"][0]["field"] == "note"
        done = await client.post(resolve, json={"note": "민원인께 전화로 사과드리고 재처리 안내"}, headers=lead)
        assert done.status_code == 200 and done.json()["status"] == "resolved"
        assert done.json()["resolved_by"]["id"] == "lead-1"
        assert (await client.post(resolve, json={"note": "again"}, headers=lead)).status_code == 409
        assert r not in {
            t["receipt_no"] for t in (await client.get("/api/v1/surveys/followups", headers=lead)).json()["items"]
        }
        assert (await client.get("/api/v1/surveys/followups", headers={"Authorization": ""})).status_code == 401

        year = datetime.fromisoformat(answered.json()["responded_at"]).astimezone(ZoneInfo("Asia/Seoul")).year
        stats = (
            await client.get("/api/v1/surveys/stats", params={"by": "department", "year": year}, headers=STAFF)
        ).json()
        [mine] = [g for g in stats["groups"] if g["key"] == department]
        assert (mine["invited"], mine["responses"], mine["mean"]["overall"]) == (2, 1, 1.0)
        assert (
            await client.get("/api/v1/surveys/stats", params={"year": year}, headers={"Authorization": ""})
        ).status_code == 401

        draft = await client.get(f"/api/v1/surveys/reports/{year}.json", headers=STAFF)
        assert draft.status_code == 200 and draft.json()["status"] == "draft"
        assert (
            await client.get(f"/api/v1/surveys/reports/{year}.json", headers={"Authorization": ""})
        ).status_code == 401
        published = await client.post(f"/api/v1/surveys/reports/{year}/publish", headers=STAFF)
        assert published.status_code == 201
        report = (await client.get(f"/api/v1/surveys/reports/{year}.json")).json()
        assert report["status"] == "published"
        assert [g for g in report["by_department"] if g["key"] == department][0]["responses"] == 1
        csv_text = (await client.get(f"/api/v1/surveys/reports/{year}.csv")).text
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert any(row["section"] == "department" and row["key"] == department for row in rows)
        svg = await client.get(f"/api/v1/surveys/reports/{year}.svg")
        assert svg.headers["content-type"].startswith("image/svg+xml") and department in svg.text
        png = await client.get(f"/api/v1/surveys/reports/{year}.png")
        assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"

        action = await client.post(
            f"/api/v1/surveys/reports/{year}/actions",
            json={"title": "친절 교육 강화", "department": department},
            headers=STAFF,
        )
        assert action.status_code == 201 and action.json()["overdue"] is False
        clock.advance(timedelta(days=100).total_seconds())
        listed = (await client.get(f"/api/v1/surveys/reports/{year}/actions")).json()
        assert listed["overdue"] == 1 and listed["items"][0]["overdue"] is True
        done = await client.patch(
            f"/api/v1/surveys/reports/{year}/actions/{action.json()['id']}",
            json={"status": "published", "url": "https://example.go.kr/notice/1"},
            headers=STAFF,
        )
        assert done.status_code == 200 and (done.json()["overdue"], done.json()["late"]) == (False, True)


def _answer(overall: int) -> dict[str, Any]:
    return {"speed": 3, "kindness": 4, "result": 2, "overall": overall}
