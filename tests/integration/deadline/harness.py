"""Helpers for the deadline integration tests: a movable clock, lifecycle events as intake and
routing publish them, the service running over a backend, and reading the deadlines topic."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from minwon import contracts as c
from minwon import topics
from minwon.bus import Bus
from minwon.docstore import DocumentStore
from minwon.events import Event, derive_id
from minwon.service import Service
from services.deadline.bootstrap import build, service
from services.deadline.handlers import Deadlines
from services.deadline.settings import DeadlineSettings
from tests import samples

SIGNAL_TYPES = (
    c.DEADLINE_WARNING,
    c.DEADLINE_ESCALATED,
    c.DEADLINE_BREACHED,
    c.DEADLINE_SLA_MISSED,
    c.DEADLINE_PROGRESS_DUE,
)


@dataclass
class MovableClock:
    """The service's clock; a test moves it (downtime, days passing)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def receipt() -> str:
    return f"2026-TEST-{uuid.uuid4().hex[:12]}"


def facts(
    receipt_no: str,
    *,
    kind: str = "grievance",
    received_at: datetime,
    channel: str = "online",
    statutory_type: str | None = None,
) -> dict[str, Any]:
    return {
        "receipt_no": receipt_no,
        "complainant_ref": "ref-" + receipt_no[-6:],
        "kind": kind,
        "category": "road",
        "district": "해운대구",
        "channel": channel,
        "statutory_type": statutory_type,
        "priority": False,
        "confidential": False,
        "received_at": received_at.isoformat(),
    }


def complaint_event(type: str, receipt_no: str, at: datetime, step: str, /, **data: Any) -> Event:
    """A complaint event as intake publishes it (deterministic id per step)."""
    return Event.new(
        type,
        id=derive_id(receipt_no, step),
        source="/test/intake",
        subject=receipt_no,
        time=at,
        data=samples.shaped(type, data, receipt_no=receipt_no, occurred_at=at.isoformat()),
    )


def received(
    receipt_no: str,
    received_at: datetime,
    *,
    kind: str = "grievance",
    channel: str = "online",
    statutory_type: str | None = None,
    at: datetime | None = None,
) -> Event:
    data = {
        **facts(receipt_no, kind=kind, received_at=received_at, channel=channel, statutory_type=statutory_type),
        "consent": {"sms": True, "alimtalk": False, "email": False, "post": False},
        "forwarding_clock": channel in ("mail", "fax"),
    }
    return complaint_event(c.COMPLAINT_RECEIVED, receipt_no, at or received_at, "received", **data)


def assigned(receipt_no: str, at: datetime, *, department: str = "road", handler_id: str = "h-17") -> Event:
    data = {
        "department": department,
        "department_name": "도로과",
        "handler": {"id": handler_id, "name": "김담당", "contact": "051-000-0000"},
        "guardian": None,
        "priority": False,
        "kind": "grievance",
        "received_at": None,
    }
    return Event.new(
        c.COMPLAINT_ASSIGNED,
        id=derive_id(receipt_no, "assigned"),
        source="/test/routing",
        subject=receipt_no,
        time=at,
        data=samples.shaped(c.COMPLAINT_ASSIGNED, data, receipt_no=receipt_no, occurred_at=at.isoformat()),
    )


async def feed(bus: Bus, deadlines: Deadlines, event: Event) -> None:
    """Publish ``event`` on its topic, as its owner would, and hand it to the service directly
    (no consumer: the test decides when it is handled)."""
    topic = (
        topics.ROUTING
        if event.type in (c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED)
        else topics.COMPLAINTS
    )
    await bus.publish(topic, event)
    await deadlines.handle(event)


async def deadline_events(bus: Bus, receipt_no: str | None = None) -> list[Event]:
    """Every event on the deadlines topic (of one complaint), in log order."""
    return [e async for _, e in bus.read([topics.DEADLINES]) if receipt_no is None or e.subject == receipt_no]


def signal_counts(events: list[Event]) -> tuple[Counter[str], Counter[tuple[str, str, str]]]:
    """Signal events counted by id, and by (subject, type, signal)."""
    signals = [e for e in events if e.type in SIGNAL_TYPES]
    return Counter(e.id for e in signals), Counter((e.subject, e.type, e.data["signal"]) for e in signals)


async def wait_for(condition: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2) -> Any:
    """Poll an async condition until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await condition()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(every)


def deadlines_for(
    backend: Any, store: DocumentStore, bus: Bus, clock: MovableClock, **own: Any
) -> tuple[Deadlines, Service]:
    """The service built by its bootstrap over ``store`` and ``bus``, with ``clock``."""
    settings = backend.settings()
    own_settings = DeadlineSettings(**{"gauge_interval_seconds": 0.5, "holiday_interval_seconds": 0.2, **own})
    deadlines = build(settings, store=store, bus=bus, clock=clock, deadline_settings=own_settings)
    return deadlines, service(deadlines, settings, bus=bus, deadline_settings=own_settings)


async def started(backend: Any, store: DocumentStore, bus: Bus, clock: MovableClock, **own: Any) -> Deadlines:
    """The handlers without their consumer or loops (the test calls them): topics exist, indexes too."""
    deadlines, _ = deadlines_for(backend, store, bus, clock, **own)
    await bus.start()
    await deadlines.start()
    return deadlines


@asynccontextmanager
async def running(svc: Service, bus: Bus) -> AsyncIterator[Service]:
    """The service consuming and running its loops, as the host runs it."""
    svc.subscribe()
    await bus.start()
    await svc.start()
    try:
        yield svc
    finally:
        await svc.stop()
        await bus.stop()


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
