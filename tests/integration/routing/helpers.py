"""Running routing against a backend, filing events as intake seals them, and waiting for the bus."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.bus import Bus
from minwon.crypto import Sealer
from minwon.docstore import DocumentStore
from minwon.events import Event, derive_id
from minwon.settings import Settings
from services.routing.bootstrap import bootstrap
from services.routing.settings import RoutingSettings
from tests import samples
from tests.factories import STAFF
from tests.kafka_lag import behind, drained

GROUP = "minwon-routing"
T = TypeVar("T")


@dataclass
class Running:
    client: AsyncTestClient[Any]
    bus: Bus
    store: DocumentStore
    settings: Settings
    prefix: str


@asynccontextmanager
async def running(backend: Any, **own: Any) -> AsyncIterator[Running]:
    """The routing service, started (subscriptions, loops, seed) behind an in-process HTTP client."""
    settings, bus, store = backend.settings(), backend.bus(), backend.store("routing")
    service = bootstrap(
        settings, store=store, bus=bus, routing_settings=RoutingSettings(queue_interval_seconds=0.2, **own)
    )
    app = create_app([service], Infrastructure(bus=bus, stores={"routing": store}))
    async with AsyncTestClient(app) as client:
        client.headers.update(STAFF)
        yield Running(client, bus, store, settings, f"t{backend.tag}." if backend.distributed else "")


async def in_app(run: Running, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``fn`` on the app's event loop: the test client serves the app from its own loop and
    thread, and the Kafka producer and MongoDB client belong to that loop."""
    return await asyncio.to_thread(run.client.blocking_portal.call, fn, *args)


async def publish(run: Running, topic: str, event: Event) -> None:
    await in_app(run, run.bus.publish, topic, event)


def receipt() -> str:
    return f"2026-TEST-{uuid.uuid4().hex[:12]}"


def sealed_filing(
    settings: Settings,
    receipt_no: str,
    *,
    title: str,
    body: str = "본문",
    kind: str = "other",
    category: str = "기타",
    district: str = "해운대구 우동",
    channel: str = "online",
    statutory_type: str | None = None,
    priority: bool = False,
    confidential: bool = False,
) -> Event:
    """``complaint.sealed`` part ``filing``, as intake publishes it on the restricted topic."""
    now = datetime.now(UTC)
    content = {
        "name": f"홍길동{receipt_no[-4:]}",
        "phone": "010-2345-6789",
        "email": "citizen@example.kr",
        "address": "부산광역시 해운대구 우동 1번지",
        "title": title,
        "body": body,
    }
    data = {
        "receipt_no": receipt_no,
        "complainant_ref": "p-test",
        "kind": kind,
        "category": category,
        "district": district,
        "channel": channel,
        "statutory_type": statutory_type,
        "priority": priority,
        "confidential": confidential,
        "received_at": now.isoformat(),
        "consent": {"sms": True, "alimtalk": False, "email": False, "post": False},
        "part": "filing",
        "sealed": Sealer("c1", settings.contacts_key).seal_json(content, context=receipt_no),
        "occurred_at": now.isoformat(),
    }
    return Event.new(
        c.COMPLAINT_SEALED,
        id=derive_id(receipt_no, "sealed", "filing"),
        source="test/intake",
        subject=receipt_no,
        time=now,
        data=data,
    )


def lifecycle(type: str, receipt_no: str) -> Event:
    now = datetime.now(UTC)
    return Event.new(
        type,
        id=derive_id(receipt_no, type),
        source="test/intake",
        subject=receipt_no,
        time=now,
        data=samples.shaped(type, receipt_no=receipt_no, kind="other", occurred_at=now.isoformat()),
    )


async def routing_events(bus: Bus, receipt_no: str) -> list[Event]:
    """A complaint's routing events, one per id (callers have seen some routing event already).

    The outbox relay publishes at least once: a copy of an event may appear
    twice on the topic, always with the same id (consumers drop the copy).
    Copies must be identical; distinct ids are distinct events.
    """
    for _ in range(50):  # a fresh Kafka reader may not know the topic's partitions yet and read nothing
        everything = [e async for _, e in bus.read([topics.ROUTING])]
        if everything:
            break
        await asyncio.sleep(0.2)
    unique: dict[str, Event] = {}
    for e in everything:
        if e.subject != receipt_no:
            continue
        first = unique.setdefault(e.id, e)
        assert first.data == e.data and first.type == e.type, (e.type, first.data, e.data)
    return sorted(unique.values(), key=lambda e: e.time)


async def wait_for(bus: Bus, receipt_no: str, *types: str, timeout: float = 30.0) -> list[Event]:
    """The routing events of a complaint once each of ``types`` has appeared."""
    deadline = time.monotonic() + timeout
    while True:
        events = await routing_events(bus, receipt_no)
        if all(any(e.type == t for e in events) for t in types):
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"{receipt_no}: wanted {types}, got {[e.type for e in events]}")
        await asyncio.sleep(0.2)


async def settled(run: Running, *topic_names: str, timeout: float = 30.0) -> None:
    """Wait until routing's consumer group has handled everything published on ``topic_names``."""
    await drained(lambda: _behind(run, topic_names), f"routing on {topic_names}", timeout)


async def _behind(run: Running, topic_names: tuple[str, ...]) -> int:
    if run.settings.backend != "distributed":
        return sum(
            n for (group, topic, _), n in (await run.bus.lag()).items() if group == GROUP and topic in topic_names
        )
    return await behind(run.settings.kafka_bootstrap_servers, run.prefix + GROUP, [run.prefix + t for t in topic_names])
