"""The outbox on both backends: an event whose state is stored is published in the end, whatever
interrupted the first try (a broker outage, a cancelled request, a process that kept no memory)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from minwon.docstore import Collection
from minwon.events import Event
from minwon.outbox import Aggregates, Relay
from minwon.topics import COMPLAINTS


class Interrupted:
    """The backend's real bus, with its publishing cut (``down``) or held (``hold``) on demand."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.down = False
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def publish(self, topic: str, event: Event) -> None:
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.down:
            raise ConnectionError("broker unreachable")
        await self.bus.publish(topic, event)


def _event(subject: str) -> Event:
    return Event.new(
        "kr.minwon.test.filed.v1",
        source="test",
        subject=subject,
        data={},
        time=datetime.now(UTC),
        id=f"evt-{uuid.uuid4()}",
    )


def _create(event: Event):  # noqa: ANN202
    def decide(state: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
        if state is not None:  # a repeated request: nothing new to decide
            return None, []
        return {"n": 1}, [(COMPLAINTS, event)]

    return decide


async def _published(bus: Any, subject: str) -> list[str]:
    return [e.id async for _, e in bus.read([COMPLAINTS]) if e.subject == subject]


async def _setup(backend) -> tuple[Any, Collection]:  # noqa: ANN001
    bus = backend.bus()
    await bus.start()
    coll = backend.store("outbox").collection(f"c{uuid.uuid4().hex[:8]}")
    return bus, coll


async def test_a_repeated_request_publishes_what_the_first_try_left(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    try:
        cut = Interrupted(bus)
        cut.down = True
        first = Aggregates(coll, Relay(cut))  # type: ignore[arg-type]
        event = _event(f"s-{uuid.uuid4().hex[:6]}")
        await first.apply("a", _create(event))
        assert (await coll.get("a"))["_outbox"], "the state is stored with its event pending"

        # another process (no memory of the failure) answers the citizen's retry
        again = Aggregates(coll, Relay(bus))
        applied = await again.apply("a", _create(event))
        assert applied.events == () and applied.state is not None and applied.state["n"] == 1
        assert not (await coll.get("a"))["_outbox"]
        assert await _published(bus, event.subject) == [event.id]
    finally:
        await bus.stop()


async def test_a_publish_cancelled_midway_is_retried_by_the_relay(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    try:
        cut = Interrupted(bus)
        cut.hold = asyncio.Event()
        relay = Relay(cut)  # type: ignore[arg-type]
        aggregates = Aggregates(coll, relay)
        event = _event(f"s-{uuid.uuid4().hex[:6]}")
        request = asyncio.create_task(aggregates.apply("a", _create(event)))
        await asyncio.wait_for(cut.entered.wait(), 10)
        request.cancel()  # the request is given up while its event is being published
        await asyncio.gather(request, return_exceptions=True)
        assert (await coll.get("a"))["_outbox"]

        cut.hold = None
        assert await relay.retry() == 1
        assert not (await coll.get("a"))["_outbox"]
        assert await _published(bus, event.subject) == [event.id]
    finally:
        await bus.stop()


async def test_a_sweep_that_failed_runs_again_at_the_next_pass(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    relay = Relay(bus, interval=0.05, full_interval=3600)
    try:
        event = _event(f"s-{uuid.uuid4().hex[:6]}")
        await coll.create(
            {"_id": "left", "n": 1, "_outbox": [{"id": event.id, "topic": COMPLAINTS, "event": event.to_doc()}]}
        )  # a crash left it

        real_find = coll.find
        failures = []

        async def find(*args: Any, **kwargs: Any) -> Any:
            if not failures:
                failures.append(1)
                raise ConnectionError("store unreachable at start")
            return await real_find(*args, **kwargs)

        coll.find = find  # type: ignore[method-assign]
        relay.watch(coll)
        await relay.start()
        for _ in range(200):
            if not (await coll.get("left"))["_outbox"]:
                break
            await asyncio.sleep(0.05)
        assert failures == [1]
        assert not (await coll.get("left"))["_outbox"], "the start-up sweep is tried again, not in an hour"
        assert await _published(bus, event.subject) == [event.id]
    finally:
        await relay.stop()
        await bus.stop()


class CountingWrites:
    """A collection whose compare-and-set writes are counted (everything else passes through)."""

    def __init__(self, coll: Collection) -> None:
        self.coll = coll
        self.updates = 0

    async def update(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        self.updates += 1
        return await self.coll.update(doc, expected_version=expected_version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.coll, name)


async def test_published_events_are_cleared_by_the_next_write_or_once_after_the_wait(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    counted = CountingWrites(coll)
    relay = Relay(bus, clear_after=3600)
    aggregates = Aggregates(counted, relay)  # type: ignore[arg-type]
    subject = f"s-{uuid.uuid4().hex[:6]}"
    events = [_event(subject) for _ in range(3)]
    try:
        for n, event in enumerate(events):  # a burst of three: each write drops what the last published
            await aggregates.apply("a", lambda s, n=n, event=event: ({"n": n}, [(COMPLAINTS, event)]))
        assert counted.updates == 2  # the two later writes; no clearing write of their own
        doc = await coll.get("a")
        assert [e["id"] for e in doc["_outbox"]] == [events[2].id]  # published, waiting to be cleared
        assert await relay.retry() == 0 and await relay.sweep() == 0  # not published again meanwhile

        assert await relay.clear_due() == 0  # not due yet
        assert await relay.clear_due(everything=True) == 1  # as at shutdown: one write for the rest
        assert counted.updates == 3 and not (await coll.get("a"))["_outbox"]
        assert await _published(bus, subject) == [e.id for e in events]

        # a write with no events also takes the published entries with it
        await aggregates.apply("b", lambda s: ({"n": 1}, [(COMPLAINTS, _event(subject))]))
        await aggregates.apply("b", lambda s: ({"n": 2}, []))
        assert not (await coll.get("b"))["_outbox"] and await relay.clear_due(everything=True) == 0
    finally:
        await bus.stop()
