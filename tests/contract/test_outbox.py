"""The outbox on both backends: an event whose state is stored is published in the end, whatever
interrupted the first try (a broker outage, a cancelled request, a process that kept no memory)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY

from minwon.docstore import Collection
from minwon.events import Event
from minwon.outbox import Aggregates, Relay
from minwon.scans import ScanBudget
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


async def test_events_written_to_publish_later_are_published_from_the_copy_kept(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    counted = CountingReads(coll)
    try:
        aggregates = Aggregates(counted, Relay(bus))  # type: ignore[arg-type]
        event = _event(f"s-{uuid.uuid4().hex[:6]}")
        aggregates.unstored("a")
        await aggregates.apply("a", _create(event), publish=False)
        assert await _published(bus, event.subject) == []
        await aggregates.publish("a")
        assert await _published(bus, event.subject) == [event.id] and counted.gets == 0

        fresh = Aggregates(counted, Relay(bus))  # type: ignore[arg-type]  # (a process that keeps no copy)
        await fresh.publish("a")  # reads the document, whose published entry was cleared: nothing to send
        assert counted.gets == 1 and await _published(bus, event.subject) == [event.id]
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


async def test_later_sweeps_wait_their_turn_among_the_stores_scans_and_the_start_up_sweep_does_not(
    backend,  # noqa: ANN001
) -> None:
    bus, coll = await _setup(backend)
    seconds = [0.0]
    coll.scans = ScanBudget("contract", share=0.02, ticker=lambda: seconds[0])
    relay = Relay(bus, full_interval=0.0)
    relay.watch(coll)

    async def other_scan() -> None:  # e.g. a gauge counted over 100,000 documents: 2 s
        async with coll.scans.turn("gauges") as granted:
            assert granted
            seconds[0] += 2.0

    async def left_by_a_crash(id: str) -> Event:
        event = _event(f"s-{uuid.uuid4().hex[:6]}")
        await coll.create({"_id": id, "_outbox": [{"id": event.id, "topic": COMPLAINTS, "event": event.to_doc()}]})
        return event

    try:
        await other_scan()
        event = await left_by_a_crash("left")
        assert await relay.sweep(due_only=True) == 0  # due, but the store rests: 2 s at 2 % is 100 s
        assert (await coll.get("left"))["_outbox"]
        seconds[0] += 100
        assert await relay.sweep(due_only=True) == 1
        assert await _published(bus, event.subject) == [event.id]

        await other_scan()
        event = await left_by_a_crash("again")
        assert await relay.sweep() == 1  # at start-up recovery goes at once
        assert await _published(bus, event.subject) == [event.id]
    finally:
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


class CountingReads:
    """A collection whose reads by id are counted (everything else passes through)."""

    def __init__(self, coll: Collection) -> None:
        self.coll = coll
        self.gets = 0

    async def get(self, id: str) -> dict[str, Any] | None:
        self.gets += 1
        return await self.coll.get(id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.coll, name)


def add(n: int) -> Any:
    """A decision that appends ``n`` to the document's items."""
    return lambda s: ({"items": [*(s or {}).get("items", []), n]}, [])


async def _two_processes(backend) -> tuple[Any, Collection, CountingReads, Aggregates, Aggregates]:  # noqa: ANN001
    """A collection, and two processes' aggregates of it: ``here``, whose reads by id are counted, and
    ``elsewhere``, another replica writing the same documents."""
    bus, coll = await _setup(backend)
    counted = CountingReads(coll)
    here = Aggregates(counted, Relay(bus))  # type: ignore[arg-type]
    return bus, coll, counted, here, Aggregates(coll, Relay(bus))


async def test_a_decision_rests_on_the_kept_copy_only_when_it_writes(backend) -> None:  # noqa: ANN001
    bus, coll, counted, here, elsewhere = await _two_processes(backend)
    relay = here.relay

    try:
        await here.apply("a", add(1))
        assert counted.gets == 1  # absent: read
        await here.apply("a", add(2))
        assert counted.gets == 1  # this process wrote it last: decided on its copy, no read

        applied = await here.apply("a", add(3))
        applied.state["items"].append(99)  # a caller changing what it got back changes no copy
        await here.apply("a", add(4))
        assert counted.gets == 1 and (await coll.get("a"))["items"] == [1, 2, 3, 4]

        await elsewhere.apply("a", add(5))  # the copy is now behind the store
        reads = counted.gets
        await here.apply("a", add(6))  # the compare-and-set fails on the copy; read and decided again
        assert counted.gets == reads + 1
        assert (await coll.get("a"))["items"] == [1, 2, 3, 4, 5, 6]

        await elsewhere.apply("a", add(7))
        reads = counted.gets
        seen = await here.apply("a", lambda s: (None, []))  # writes nothing: answered from the store
        assert counted.gets == reads + 1 and seen.state["items"] == [1, 2, 3, 4, 5, 6, 7]

        await here.apply("b", add(1), cause="c1")
        await elsewhere.apply("b", add(2), cause="c2")
        again = await here.apply("b", add(1), cause="c2")  # seen by the store, not by the copy
        assert again.duplicate and again.state["items"] == [1, 2]

        # a clearing write of the relay moves the copy on with it: the next decision reads nothing
        relay.clear_after = 3600
        await here.apply("c", lambda s: ({"n": 1}, [(COMPLAINTS, _event("c"))]))
        assert await relay.clear_due(everything=True) == 1
        reads = counted.gets
        await here.apply("c", lambda s: ({"n": 2}, []))
        assert counted.gets == reads and (await coll.get("c"))["_v"] == 3
    finally:
        await bus.stop()


async def test_a_decision_after_a_read_or_a_create_or_unstored_rests_on_what_they_saw(backend) -> None:  # noqa: ANN001
    bus, coll, counted, here, elsewhere = await _two_processes(backend)

    try:
        assert await here.get("a") is None and counted.gets == 1
        await here.apply("a", add(1))  # created on what the read saw: no second read
        assert counted.gets == 1 and (await coll.get("a"))["items"] == [1]

        await elsewhere.apply("b", add(1))
        assert (await here.get("b"))["items"] == [1] and counted.gets == 2
        await here.apply("b", add(2))
        assert counted.gets == 2 and (await coll.get("b"))["items"] == [1, 2]

        assert await here.create({"_id": "c", "items": [1]})
        assert (await here.get("c", recent=True))["items"] == [1]  # the created copy, no read
        await here.apply("c", add(2))
        assert counted.gets == 2 and (await coll.get("c"))["items"] == [1, 2]

        assert await here.get("d") is None and counted.gets == 3
        await elsewhere.apply("d", add(1))  # created elsewhere after the read saw nothing
        assert await here.get("d", recent=True) is None  # what this process saw last, no read
        await here.apply("d", add(2))  # the create fails on the store: read and decided again
        assert counted.gets == 4 and (await coll.get("d"))["items"] == [1, 2]
        assert (await here.get("d"))["items"] == [1, 2] and counted.gets == 5

        here.unstored("e")  # a new id of this process's making: created without a read
        await here.apply("e", add(1))
        assert counted.gets == 5 and (await coll.get("e"))["items"] == [1]
        here.unstored("b")  # wrongly: the store holds it, so the create fails, then read and decided again
        await here.apply("b", add(3))
        assert counted.gets == 6 and (await coll.get("b"))["items"] == [1, 2, 3]
    finally:
        await bus.stop()


async def test_a_cause_that_usually_creates_its_document_is_decided_without_a_read(backend) -> None:  # noqa: ANN001
    bus, coll, counted, here, elsewhere = await _two_processes(backend)

    try:
        applied = await here.apply("a", add(1), cause="a-received", creating=True)
        assert counted.gets == 0 and applied.version == 1 and (await coll.get("a"))["items"] == [1]
        # redelivered: the create fails, the store's inbox has the cause, nothing is added
        restarted = Aggregates(counted, Relay(bus))  # type: ignore[arg-type]
        again = await restarted.apply("a", add(1), cause="a-received", creating=True)
        assert again.duplicate and counted.gets == 1 and (await coll.get("a"))["items"] == [1]

        await elsewhere.apply("b", add(1), cause="b-routed")  # another event came first, elsewhere
        applied = await here.apply("b", add(2), cause="b-received", creating=True)
        assert not applied.duplicate and counted.gets == 2 and (await coll.get("b"))["items"] == [1, 2]

        await here.apply("c", add(1), cause="c-routed")  # it came first here: the copy kept is used
        assert counted.gets == 3
        await here.apply("c", add(2), cause="c-received", creating=True)
        assert counted.gets == 3 and (await coll.get("c"))["items"] == [1, 2]
    finally:
        await bus.stop()


async def test_a_refusal_on_the_kept_copy_is_decided_again_on_the_store(backend) -> None:  # noqa: ANN001
    bus, coll = await _setup(backend)
    here, elsewhere = Aggregates(coll, Relay(bus)), Aggregates(coll, Relay(bus))

    def answer(s: dict[str, Any] | None) -> tuple[dict[str, Any], list[Any]]:
        if not (s or {}).get("routed"):
            raise PermissionError("not routed yet")
        return {**(s or {}), "answered": True}, []

    try:
        await here.apply("a", lambda s: ({"routed": False}, []))
        await elsewhere.apply("a", lambda s: ({"routed": True}, []))  # the copy here says otherwise
        assert (await here.apply("a", answer)).state == {"routed": True, "answered": True}
        await elsewhere.apply("a", lambda s: ({"routed": False}, []))
        try:
            await here.apply("a", answer)
        except PermissionError:
            pass  # refused on what the store holds
        else:
            raise AssertionError("a refusal the store confirms must reach the caller")
    finally:
        await bus.stop()


async def test_concurrent_decisions_on_one_document_in_one_process_take_turns(backend) -> None:  # noqa: ANN001
    """Thirty requests adding to one ledger at once (one district's complaints of a busy morning):
    each writes once, on the copy the previous one kept; no compare-and-set fails, none gives up."""
    bus, coll = await _setup(backend)
    counted = CountingReads(coll)
    here = Aggregates(counted, Relay(bus))  # type: ignore[arg-type]

    def conflicts() -> float:
        return REGISTRY.get_sample_value("minwon_store_write_conflicts_total", {"collection": coll.name}) or 0.0

    try:
        await asyncio.gather(*(here.apply("ledger", add(n), attempts=3) for n in range(30)))
        stored = await coll.get("ledger")
        assert sorted(stored["items"]) == list(range(30)) and stored["_v"] == 30
        assert counted.gets == 1 and conflicts() == 0
        assert len(here._turns) == 0  # no lock outlives its last waiter

        await Aggregates(coll, Relay(bus)).apply("ledger", add(30))  # another process's write
        await asyncio.gather(*(here.apply("ledger", add(n)) for n in (31, 32)))
        assert conflicts() == 1  # the first decision on the stale copy, counted once
        stored = await coll.get("ledger")
        assert sorted(stored["items"]) == list(range(33))
        assert (await here.apply("ledger", lambda s: (None, []))).version == stored["_v"]  # what it read
        assert (await here.apply("ledger", add(33))).version == stored["_v"] + 1  # what it wrote
    finally:
        await bus.stop()
