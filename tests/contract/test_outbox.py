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
