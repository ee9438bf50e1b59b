"""Factories for survey test data: lifecycle events, random responses, a wired handler set."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon.events import Event
from minwon.outbox import Relay
from services.survey import domain
from services.survey.handlers import Surveys
from services.survey.store import SurveyStore
from tests import samples
from tests.fakes import FakeClock, MemoryBus, MemoryStore

SECRET = b"test-survey-secret"
DEPARTMENTS = ("건축과", "민원과", "도로과", "환경과", "복지과")
CHANNELS = ("online", "visit", "phone", "mail", "fax", "sns", "oral")
KINDS = (
    "statutory",
    "inquiry_law",
    "inquiry_system",
    "suggestion",
    "other",
    "grievance",
    "petition",
    "service_complaint",
)


def receipt() -> str:
    return f"2026-TEST-{uuid.uuid4().hex[:7]}"


def event(type: str, receipt_no: str, at: datetime, **data: Any) -> Event:
    return Event.new(
        type,
        source="/test",
        subject=receipt_no,
        time=at,
        data=samples.shaped(type, {"receipt_no": receipt_no, "occurred_at": at.isoformat(), **data}),
    )


def received(
    receipt_no: str,
    at: datetime,
    *,
    sms: bool = True,
    email: bool = False,
    kind: str = "grievance",
    channel: str = "online",
) -> Event:
    return event(
        c.COMPLAINT_RECEIVED,
        receipt_no,
        at,
        kind=kind,
        channel=channel,
        complainant_ref="p-1",
        consent={"sms": sms, "alimtalk": False, "email": email, "post": True},
    )


def assigned(receipt_no: str, at: datetime, department: str = "건축과") -> Event:
    return event(
        c.COMPLAINT_ASSIGNED,
        receipt_no,
        at,
        department=department,
        handler={"id": "h-17", "name": "김담당", "contact": "031-000-0000"},
    )


def closed(receipt_no: str, at: datetime) -> Event:
    return event(c.COMPLAINT_CLOSED, receipt_no, at, outcome="accepted", kind="grievance")


def random_rows(rng: random.Random, n: int, *, year: int = 2026) -> list[dict[str, Any]]:
    """Invited surveys over two years around ``year``; most answered, some not."""
    start = datetime(year - 1, 11, 1, tzinfo=UTC)
    rows = []
    for _ in range(n):
        invited = start + timedelta(seconds=rng.randrange(int(timedelta(days=500).total_seconds())))
        answered = rng.random() < 0.8
        responded = invited + timedelta(hours=rng.randrange(1, 24 * 20)) if answered else None
        scores = {d: rng.randint(1, 5) for d in domain.DIMENSIONS} if answered else None
        rows.append(
            {
                "department": rng.choice(DEPARTMENTS + (None,)),
                "channel": rng.choice(CHANNELS),
                "kind": rng.choice(KINDS),
                "invited_at": invited.isoformat(),
                "responded_at": responded.isoformat() if responded else None,
                "scores": scores,
                "low_score": bool(scores and scores["overall"] <= 2),
            }
        )
    return rows


class World:
    def __init__(self, *, delay: float = 3600, valid_days: float = 14, max_age_days: float = 30) -> None:
        self.clock = FakeClock()
        self.bus = MemoryBus()
        self.db = MemoryStore()
        self.svc = Surveys(
            store=SurveyStore(self.db, Relay(self.bus), self.clock),
            clock=self.clock,
            source="/test/survey",
            secret=SECRET,
            delay=timedelta(seconds=delay),
            valid_for=timedelta(days=valid_days),
            max_age=timedelta(days=max_age_days),
            low_threshold=2,
            improvement_months=3,
            report_title="test report",
        )

    def invitations(self, receipt_no: str | None = None) -> list[Event]:
        return self.bus.of_type(c.SURVEY_INVITED, receipt_no)

    @staticmethod
    def token(invitation: Event) -> str:
        return invitation.data["link"].removeprefix("/survey/")
