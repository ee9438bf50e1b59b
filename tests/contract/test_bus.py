"""One suite, both adapters of the bus port: the embedded SQLite log and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from minwon import topics
from minwon.events import Event


def _event(subject: str, n: int, *, time: datetime | None = None) -> Event:
    return Event.new("kr.minwon.test.happened.v1", source="/test", subject=subject,
                     data={"n": n}, time=time or datetime.now(UTC), id=f"{subject}-{n}")


async def _until(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_published_events_reach_a_group_in_key_order(backend) -> None:
    bus = backend.bus()
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.data["n"])

    bus.subscribe("g1", [topics.COMPLAINTS], handler)
    await bus.start()
    try:
        subject = uuid.uuid4().hex
        for n in range(20):
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
        await _until(lambda: len(seen) >= 20)
        assert seen == list(range(20))
    finally:
        await bus.stop()


async def test_events_published_while_nobody_listens_are_delivered_later(backend) -> None:
    first = backend.bus()
    subject = uuid.uuid4().hex
    for n in range(5):
        await first.publish(topics.ROUTING, _event(subject, n))
    await first.stop()
    second = backend.bus()
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.data["n"])

    second.subscribe("late", [topics.ROUTING], handler)
    await second.start()
    try:
        await _until(lambda: len(seen) >= 5)
        assert seen == [0, 1, 2, 3, 4]
    finally:
        await second.stop()


async def test_a_failing_handler_is_retried_then_dead_lettered(backend) -> None:
    bus = backend.bus()
    attempts: list[str] = []
    letters: list[Event] = []

    async def failing(event: Event) -> None:
        attempts.append(event.id)
        raise RuntimeError("boom")

    async def dead(event: Event) -> None:
        letters.append(event)

    bus.subscribe("fails", [topics.SURVEYS], failing)
    bus.subscribe("watch", [topics.DEADLETTER], dead)
    await bus.start()
    try:
        await bus.publish(topics.SURVEYS, _event(uuid.uuid4().hex, 1))
        await _until(lambda: len(letters) >= 1)
        assert len(attempts) == 3
        assert letters[0].data["group"] == "fails"
        assert letters[0].data["error"].startswith("RuntimeError")
    finally:
        await bus.stop()


async def test_read_replays_from_the_beginning_or_a_time(backend) -> None:
    bus = backend.bus()
    subject = uuid.uuid4().hex
    base = datetime.now(UTC) - timedelta(days=2)
    for n in range(6):
        await bus.publish(topics.DEADLINES, _event(subject, n, time=base + timedelta(hours=n)))
    everything = [e.data["n"] async for _, e in bus.read([topics.DEADLINES]) if e.subject == subject]
    assert sorted(everything) == list(range(6))
    later = [e.data["n"] async for _, e in bus.read([topics.DEADLINES], since=base + timedelta(hours=3))
             if e.subject == subject]
    assert sorted(later) == [3, 4, 5]
    await bus.stop()
