"""One suite, both adapters of the bus port: the embedded SQLite log and Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from minwon import topics
from minwon.events import Event


def _event(subject: str, n: int, *, time: datetime | None = None) -> Event:
    return Event.new(
        "kr.minwon.test.happened.v1",
        source="/test",
        subject=subject,
        data={"n": n},
        time=time or datetime.now(UTC),
        id=f"{subject}-{n}",
    )


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

    def counted() -> tuple[float, float]:  # each handled event is counted and timed, under its group and topic
        labels = {"group": "g1", "topic": topics.COMPLAINTS}
        return (
            REGISTRY.get_sample_value("minwon_bus_consumed_total", {**labels, "outcome": "ok"}) or 0.0,
            REGISTRY.get_sample_value("minwon_bus_processing_seconds_count", labels) or 0.0,
        )

    bus.subscribe("g1", [topics.COMPLAINTS], handler)
    await bus.start()
    try:
        before = counted()
        subject = uuid.uuid4().hex
        for n in range(20):
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
        await _until(lambda: len(seen) >= 20)
        assert seen == list(range(20))
        await _until(lambda: counted()[1] - before[1] >= 20)
        assert (counted()[0] - before[0], counted()[1] - before[1]) == (20, 20)
    finally:
        await bus.stop()


async def _backlog_read(bus, group: str, topic: str, count: int) -> list[int]:  # noqa: ANN001
    """Subscribe ``group`` to ``topic`` after its events were published; the ``n`` of the first ``count``
    handled, in the order they came."""
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.data["n"])

    bus.subscribe(group, [topic], handler)
    await bus.start()
    try:
        await _until(lambda: len(seen) >= count)
    finally:
        await bus.stop()
    return seen


async def test_a_subjects_events_arrive_in_the_order_published_whatever_their_times(backend) -> None:
    """An event's time is when it happened, not when it was published (a redriven dead letter, a late
    fact): a backlog read in one batch still comes in the order it was published."""
    bus = backend.bus()
    subject = uuid.uuid4().hex
    start = datetime.now(UTC)
    for n in range(10):  # each published later and dated earlier than the one before
        await bus.publish(topics.COMPLAINTS, _event(subject, n, time=start - timedelta(minutes=n)))
    assert await _backlog_read(bus, "published-order", topics.COMPLAINTS, 10) == list(range(10))


async def test_events_published_while_nobody_listens_are_delivered_later(backend) -> None:
    first = backend.bus()
    subject = uuid.uuid4().hex
    for n in range(5):
        await first.publish(topics.ROUTING, _event(subject, n))
    await first.stop()
    assert await _backlog_read(backend.bus(), "late", topics.ROUTING, 5) == [0, 1, 2, 3, 4]


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
    later = [
        e.data["n"]
        async for _, e in bus.read([topics.DEADLINES], since=base + timedelta(hours=3))
        if e.subject == subject
    ]
    assert sorted(later) == [3, 4, 5]
    await bus.stop()


async def test_a_quiet_topic_never_holds_back_a_busy_one(backend) -> None:
    """More events than one read batch on one topic, none on the other topic of the group."""
    bus = backend.bus()
    subject = uuid.uuid4().hex
    seen: list[int] = []

    async def handler(event: Event) -> None:
        if event.subject == subject:
            seen.append(event.data["n"])

    bus.subscribe("busy", [topics.COMPLAINTS, topics.COMPENSATIONS], handler)
    await bus.start()
    try:
        for n in range(450):
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
        await _until(lambda: len(seen) >= 450, timeout=60)
        assert seen == list(range(450))
    finally:
        await bus.stop()


async def test_a_transient_failure_pauses_and_is_never_dead_lettered(backend) -> None:
    from minwon.errors import TransientError

    bus = backend.bus()
    subject = uuid.uuid4().hex
    attempts: list[int] = []
    handled: list[int] = []
    letters: list[Event] = []

    async def flaky(event: Event) -> None:
        if event.subject != subject:
            return
        attempts.append(event.data["n"])
        if event.data["n"] == 0 and len(attempts) <= 6:  # twice the poison limit of the test policy
            raise TransientError("store unavailable")
        handled.append(event.data["n"])

    async def dead(event: Event) -> None:
        if event.data.get("group") == "flaky":
            letters.append(event)

    bus.subscribe("flaky", [topics.SURVEYS], flaky)
    bus.subscribe("watch-flaky", [topics.DEADLETTER], dead)
    await bus.start()
    try:
        await bus.publish(topics.SURVEYS, _event(subject, 0))
        await bus.publish(topics.SURVEYS, _event(subject, 1))
        await _until(lambda: handled == [0, 1], timeout=60)
        assert attempts[:7] == [0] * 7
        await asyncio.sleep(0.5)
        assert letters == []
    finally:
        await bus.stop()


async def _append_garbage(backend, bus, topic: str, raw: bytes) -> None:
    """A record that is not an event, written under the bus as a broken producer would."""
    if backend.distributed:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=backend.infra.kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(f"t{backend.tag}.{topic}", raw, key=b"garbage")
        finally:
            await producer.stop()
    else:
        bus._exec(
            "INSERT INTO log (topic, key, event_id, time, body) VALUES (?, 'garbage', 'x', '', ?)",
            (topic, raw.decode()),
        )


async def test_a_poison_record_is_dead_lettered_once_and_the_next_event_is_handled(backend) -> None:
    bus = backend.bus()
    subject = uuid.uuid4().hex
    handled: list[int] = []
    letters: list[Event] = []

    async def handler(event: Event) -> None:
        if event.subject == subject:
            handled.append(event.data["n"])

    async def dead(event: Event) -> None:
        if event.data.get("group") == "poisoned":
            letters.append(event)

    bus.subscribe("poisoned", [topics.ROUTING], handler)
    bus.subscribe("watch-poison", [topics.DEADLETTER], dead)
    await bus.start()
    try:
        await bus.publish(topics.ROUTING, _event(subject, 0))
        await _until(lambda: handled == [0])
        await _append_garbage(backend, bus, topics.ROUTING, b'{"not": an event')
        await bus.publish(topics.ROUTING, _event(subject, 1))
        await _until(lambda: handled == [0, 1] and len(letters) == 1, timeout=60)
        assert letters[0].data["raw"] == '{"not": an event'
        assert letters[0].data["topic"] == topics.ROUTING
        await asyncio.sleep(1.0)
        assert len(letters) == 1
    finally:
        await bus.stop()


async def test_an_invalid_payload_is_dead_lettered_after_the_attempt_limit(backend) -> None:
    bus = backend.bus()
    subject = uuid.uuid4().hex
    attempts: list[int] = []
    handled: list[int] = []
    letters: list[Event] = []

    async def handler(event: Event) -> None:
        if event.subject != subject:
            return
        attempts.append(event.data["n"])
        handled.append(int(event.data["value"]))  # KeyError for the record without "value"

    async def dead(event: Event) -> None:
        if event.data.get("group") == "strict":
            letters.append(event)

    bus.subscribe("strict", [topics.NOTIFICATIONS], handler)
    bus.subscribe("watch-strict", [topics.DEADLETTER], dead)
    await bus.start()
    try:
        await bus.publish(topics.NOTIFICATIONS, _event(subject, 0))
        good = Event.new(
            "kr.minwon.test.happened.v1",
            source="/test",
            subject=subject,
            data={"n": 1, "value": 7},
            time=datetime.now(UTC),
            id=f"{subject}-1",
        )
        await bus.publish(topics.NOTIFICATIONS, good)
        await _until(lambda: handled == [7] and len(letters) == 1, timeout=60)
        assert attempts == [0, 0, 0, 1]
        assert letters[0].data["attempts"] == 3
        assert letters[0].data["error"].startswith("KeyError")
        assert letters[0].data["event"]["id"] == f"{subject}-0"
    finally:
        await bus.stop()


async def test_one_subjects_events_stay_in_order_while_other_subjects_proceed_past_a_slow_one(backend) -> None:
    """On the embedded log a complaint whose handler waits (a slow store call) does not hold back the
    other complaints of the same batch; on both buses each complaint's own events arrive in order."""
    bus = backend.bus()
    slow, others = uuid.uuid4().hex, [uuid.uuid4().hex for _ in range(4)]
    seen: dict[str, list[int]] = {}
    release = asyncio.Event()

    async def handler(event: Event) -> None:
        if event.subject == slow and event.data["n"] == 0:
            await release.wait()
        seen.setdefault(event.subject, []).append(event.data["n"])

    bus.subscribe("lanes", [topics.COMPLAINTS], handler)
    for n in range(3):  # a backlog: the consumer reads them in one batch
        await bus.publish(topics.COMPLAINTS, _event(slow, n))
    for subject in others:
        for n in range(3):
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
    await bus.start()
    try:
        if backend.name == "embedded":
            # the other complaints are handled while the slow one's first event still waits
            await _until(lambda: all(seen.get(s) == [0, 1, 2] for s in others))
            assert slow not in seen
        release.set()
        await _until(lambda: seen.get(slow) == [0, 1, 2] and all(seen.get(s) == [0, 1, 2] for s in others))
    finally:
        release.set()
        await bus.stop()


async def test_the_embedded_log_parses_a_row_once_for_every_group_that_reads_it(tmp_path) -> None:  # noqa: ANN001
    """Every group of ``minwon run`` reads the same rows: each row becomes one event, shared by the groups."""
    from minwon.bus import SqliteBus

    bus = SqliteBus(tmp_path / "events.db", poll_interval=0.05)
    got: dict[str, list[Event]] = {"a": [], "b": []}
    for group, kept in got.items():

        async def handler(event: Event, kept: list[Event] = kept) -> None:
            kept.append(event)

        bus.subscribe(f"shared-{group}", [topics.COMPLAINTS], handler)
    await bus.start()
    try:
        subject = uuid.uuid4().hex
        for n in range(5):
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
        await _until(lambda: len(got["a"]) >= 5 and len(got["b"]) >= 5)
    finally:
        await bus.stop()
    assert [e.data["n"] for e in got["a"]] == [e.data["n"] for e in got["b"]] == list(range(5))
    assert all(a is b for a, b in zip(got["a"], got["b"], strict=True))


async def test_the_embedded_log_delivers_to_the_receipts_path_first(tmp_path) -> None:  # noqa: ANN001
    """``minwon run``: while a group on the receipt's path is handling a record, another group's records wait
    (then every one is delivered)."""
    from minwon.bus import SqliteBus
    from minwon.turns import RequestsFirst

    bus = SqliteBus(tmp_path / "events.db", poll_interval=0.05, requests_first=RequestsFirst(["turns-path"], hold=10.0))
    seen: list[tuple[str, str]] = []

    def handler(group: str, seconds: float):  # noqa: ANN202
        async def handle(event: Event) -> None:
            seen.append((group, "start"))
            await asyncio.sleep(seconds)
            seen.append((group, "end"))

        return handle

    bus.subscribe("turns-path", [topics.ROUTING], handler("path", 0.5))
    bus.subscribe("turns-other", [topics.COMPLAINTS], handler("other", 0.01))
    await bus.start()
    try:
        await bus.publish(topics.ROUTING, _event(uuid.uuid4().hex, 0))
        await _until(lambda: ("path", "start") in seen)
        for _ in range(5):
            await bus.publish(topics.COMPLAINTS, _event(uuid.uuid4().hex, 0))
        await _until(lambda: seen.count(("other", "end")) == 5)
    finally:
        await bus.stop()
    assert seen[:2] == [("path", "start"), ("path", "end")]  # the others waited for it


async def test_the_embedded_log_delivers_one_at_a_time_while_requests_crowd(tmp_path) -> None:  # noqa: ANN001
    """``minwon run``: while two requests are being answered the groups' deliveries take one turn; all are
    delivered, and once none is, the lanes run side by side again."""
    from minwon.bus import SqliteBus
    from minwon.turns import RequestsFirst

    first = RequestsFirst()
    bus = SqliteBus(tmp_path / "events.db", poll_interval=0.05, requests_first=first)
    running, widest, seen = 0, 0, []

    async def handler(event: Event) -> None:
        nonlocal running, widest
        running += 1
        widest = max(widest, running)
        await asyncio.sleep(0.01)
        running -= 1
        seen.append(event.subject)

    for group in ("a", "b"):
        bus.subscribe(f"turns-{group}", [topics.COMPLAINTS], handler)
    subjects = [uuid.uuid4().hex for _ in range(10)]
    for subject in subjects:
        await bus.publish(topics.COMPLAINTS, _event(subject, 0))
    first.answering = 2
    await bus.start()
    try:
        await _until(lambda: len(seen) >= 20)
        assert widest == 1
        assert sorted(seen) == sorted(subjects * 2)
        first.answering = 0
        for subject in subjects:
            await bus.publish(topics.COMPLAINTS, _event(subject, 1))
        await _until(lambda: len(seen) >= 40)
        assert widest > 1
    finally:
        await bus.stop()
