"""The event-bus port and its two adapters: Kafka (FastStream + aiokafka) and
an embedded, durable log in SQLite for the standalone deployment.

Delivery is at least once on both: a consumer's position moves only after its
handler returned. A handler that keeps failing is retried with backoff and
then dead-lettered to ``minwon.deadletter.v1`` with the error, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from faststream.kafka.annotations import KafkaMessage  # resolved by name in subscriber signatures

from minwon import telemetry
from minwon.events import Event
from minwon.topics import DEADLETTER, TOPICS

log = logging.getLogger("minwon.bus")

Handler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    group: str
    topics: tuple[str, ...]
    handler: Handler


class Bus(Protocol):
    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, topic: str, event: Event) -> None: ...
    async def ping(self) -> bool: ...
    async def lag(self) -> dict[tuple[str, str, int], int]: ...
    def read(
        self, topics: Sequence[str], *, since: datetime | None = None
    ) -> AsyncIterator[tuple[str, Event]]: ...


@dataclass
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 0.2
    factor: float = 3.0


@dataclass
class _Deliverer:
    """Runs a handler with retries, then dead-letters; shared by both adapters."""

    publish: Callable[[str, Event], Awaitable[None]]
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    async def deliver(self, sub: Subscription, topic: str, event: Event) -> None:
        delay = self.retry.first_delay
        with telemetry.PROCESSING.labels(group=sub.group, topic=topic).time():
            await self._attempts(sub, topic, event, delay)

    async def _attempts(self, sub: Subscription, topic: str, event: Event, delay: float) -> None:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                with telemetry.consume_span(sub.group, topic, event):
                    await sub.handler(event)
                telemetry.CONSUMED.labels(group=sub.group, topic=topic, outcome="ok").inc()
                return
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then dead-lettered
                telemetry.CONSUMED.labels(group=sub.group, topic=topic, outcome="error").inc()
                log.warning(
                    "handler failed",
                    extra={"group": sub.group, "event_id": event.id, "event_type": event.type,
                           "attempt": attempt, "error": type(exc).__name__},
                )
                if attempt == self.retry.attempts:
                    await self._dead_letter(sub, topic, event, exc)
                    return
                telemetry.RETRIES.labels(group=sub.group, topic=topic).inc()
                await asyncio.sleep(delay)
                delay *= self.retry.factor

    async def _dead_letter(self, sub: Subscription, topic: str, event: Event, exc: Exception) -> None:
        letter = Event.new(
            "kr.minwon.deadletter.message.v1",
            source=f"/minwon/{sub.group}",
            subject=event.subject,
            time=datetime.now(UTC),
            id=f"{event.id}:{sub.group}",
            data={
                "group": sub.group,
                "topic": topic,
                "error": f"{type(exc).__name__}: {str(exc)[:300]}",
                "event": event.to_doc(),
            },
        )
        await self.publish(DEADLETTER, letter)
        telemetry.DEADLETTERED.labels(group=sub.group, topic=topic).inc()


# --------------------------------------------------------------------------
# Embedded log: SQLite
# --------------------------------------------------------------------------


class SqliteBus:
    """A durable append-only log with per-group positions, in one SQLite file.

    Every subscription polls the log from its group's committed position and
    commits after each handled event, so a crash redelivers at most the event
    in flight, and events published while nobody listened are delivered on
    the next start.
    """

    def __init__(self, path: str | Path, *, poll_interval: float = 0.2, retry: RetryPolicy | None = None):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS log (
              seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, key TEXT,
              event_id TEXT NOT NULL, time TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS log_topic_seq ON log (topic, seq);
            CREATE TABLE IF NOT EXISTS positions (
              grp TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL,
              PRIMARY KEY (grp, topic));
            """
        )
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._poll = poll_interval
        self._deliverer = _Deliverer(self.publish, retry or RetryPolicy())
        self._running = False

    def _exec(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        self._subs.append(Subscription(group, tuple(topics), handler))

    async def start(self) -> None:
        self._running = True
        for sub in self._subs:
            self._tasks.append(asyncio.create_task(self._consume(sub), name=f"consume:{sub.group}"))

    async def stop(self) -> None:
        self._running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def publish(self, topic: str, event: Event) -> None:
        event = telemetry.inject(event)
        self._exec(
            "INSERT INTO log (topic, key, event_id, time, body) VALUES (?, ?, ?, ?, ?)",
            (topic, event.subject, event.id, event.time.isoformat(), event.to_json().decode()),
        )
        telemetry.PUBLISHED.labels(topic=topic).inc()
        self._wake.set()

    async def ping(self) -> bool:
        try:
            self._exec("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def _position(self, group: str, topic: str) -> int:
        row = self._exec("SELECT seq FROM positions WHERE grp = ? AND topic = ?", (group, topic)).fetchone()
        return row[0] if row else 0

    def _commit(self, group: str, topic: str, seq: int) -> None:
        self._exec(
            "INSERT INTO positions (grp, topic, seq) VALUES (?, ?, ?) "
            "ON CONFLICT(grp, topic) DO UPDATE SET seq = excluded.seq",
            (group, topic, seq),
        )

    async def lag(self) -> dict[tuple[str, str, int], int]:
        """Events not yet handled, per (group, topic, partition); the embedded log has one partition."""
        out = {}
        for sub in self._subs:
            for topic in sub.topics:
                pos = self._position(sub.group, topic)
                row = self._exec("SELECT COUNT(*) FROM log WHERE topic = ? AND seq > ?", (topic, pos)).fetchone()
                out[(sub.group, topic, 0)] = row[0]
        return out

    async def _consume(self, sub: Subscription) -> None:
        marks = ",".join("?" * len(sub.topics))
        while self._running:
            positions = {t: self._position(sub.group, t) for t in sub.topics}
            low = min(positions.values())
            rows = self._exec(
                f"SELECT seq, topic, body FROM log WHERE topic IN ({marks}) AND seq > ? ORDER BY seq LIMIT 200",
                (*sub.topics, low),
            ).fetchall()
            handled = False
            for seq, topic, body in rows:
                if seq <= positions[topic]:
                    continue
                await self._deliverer.deliver(sub, topic, Event.from_json(body))
                self._commit(sub.group, topic, seq)
                positions[topic] = seq
                handled = True
            if not handled:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass

    async def read(
        self, topics: Sequence[str], *, since: datetime | None = None
    ) -> AsyncIterator[tuple[str, Event]]:
        """Every event of ``topics`` in log order (from ``since``), up to the end as it is now."""
        marks = ",".join("?" * len(topics))
        end = self._exec("SELECT COALESCE(MAX(seq), 0) FROM log").fetchone()[0]
        seq = 0
        while True:
            rows = self._exec(
                f"SELECT seq, topic, body FROM log WHERE topic IN ({marks}) AND seq > ? AND seq <= ? "
                "ORDER BY seq LIMIT 500",
                (*topics, seq, end),
            ).fetchall()
            if not rows:
                return
            for seq, topic, body in rows:
                event = Event.from_json(body)
                if since is None or event.time >= since:
                    yield topic, event

    def count(self, topics: Sequence[str]) -> int:
        marks = ",".join("?" * len(topics))
        return self._exec(f"SELECT COUNT(*) FROM log WHERE topic IN ({marks})", tuple(topics)).fetchone()[0]


# --------------------------------------------------------------------------
# Kafka: FastStream + aiokafka
# --------------------------------------------------------------------------


class KafkaBus:
    """Each subscription is a FastStream subscriber in its own consumer group,
    committing after the handler (``AckPolicy.NACK_ON_ERROR``)."""

    def __init__(self, bootstrap: str, *, client_id: str = "minwon", retry: RetryPolicy | None = None,
                 prefix: str = "", partitions: int | None = None):
        """``prefix`` namespaces topics and groups (one deployment, or one test, per prefix);
        ``partitions`` overrides the registry's partition counts (small test brokers)."""
        from faststream.kafka import KafkaBroker

        self._bootstrap = bootstrap
        self._client_id = client_id
        self._prefix = prefix
        self._partitions = partitions
        self.broker = KafkaBroker(bootstrap, client_id=client_id)
        self._deliverer = _Deliverer(self.publish, retry or RetryPolicy())
        self._started = False
        self._groups: dict[str, set[str]] = {}

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        from faststream import AckPolicy

        sub = Subscription(group, tuple(topics), handler)
        self._groups.setdefault(group, set()).update(topics)
        deliverer = self._deliverer
        strip = len(self._prefix)

        async def on_message(body: bytes, message: KafkaMessage) -> None:
            await deliverer.deliver(sub, message.raw_message.topic[strip:], Event.from_json(message.body))

        self.broker.subscriber(
            *(self._prefix + t for t in topics),
            group_id=self._prefix + group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            max_records=100,
        )(on_message)

    async def ensure_topics(self, topics: Sequence[str] = ()) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-admin")
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [t for t in (topics or [spec.name for spec in TOPICS]) if self._prefix + t not in existing]
            specs = {spec.name: spec for spec in TOPICS}
            new = [
                NewTopic(
                    name=self._prefix + t,
                    num_partitions=self._partitions or (specs[t].partitions if t in specs else 3),
                    replication_factor=1,
                    topic_configs=specs[t].kafka_configs() if t in specs else {},
                )
                for t in wanted
            ]
            if new:
                try:
                    await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
                await _await_leaders(admin, [t.name for t in new])
        finally:
            await admin.close()

    async def start(self) -> None:
        await self.ensure_topics()
        await self.broker.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self.broker.stop()
            self._started = False

    async def publish(self, topic: str, event: Event) -> None:
        if not self._started:
            await self.ensure_topics()
            await self.broker.connect()
            self._started = True
        event = telemetry.inject(event)
        await self.broker.publish(
            event.to_json(),
            topic=self._prefix + topic,
            key=event.subject.encode(),
            timestamp_ms=int(event.time.timestamp() * 1000),
            headers={"content-type": "application/cloudevents+json", "ce_id": event.id, "ce_type": event.type},
        )
        telemetry.PUBLISHED.labels(topic=topic).inc()

    async def ping(self) -> bool:
        try:
            return await self.broker.ping(timeout=3)
        except Exception:  # noqa: BLE001
            return False

    async def read(
        self, topics: Sequence[str], *, since: datetime | None = None
    ) -> AsyncIterator[tuple[str, Event]]:
        """Every event of ``topics`` from ``since`` (or the beginning) up to the end offsets
        as they are when the read starts; no consumer group, so nothing is committed."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                    client_id=f"{self._client_id}-reader")
        await consumer.start()
        try:
            physical = [self._prefix + t for t in topics]
            parts = [
                TopicPartition(t, p)
                for t in physical
                for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
            ]
            consumer.assign(parts)
            end = await consumer.end_offsets(parts)
            if since is None:
                for tp, offset in (await consumer.beginning_offsets(parts)).items():
                    consumer.seek(tp, offset)
            else:
                found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in parts})
                for tp in parts:
                    if found.get(tp) is None:
                        consumer.seek(tp, end[tp])
                    else:
                        consumer.seek(tp, found[tp].offset)
            remaining = {tp for tp in parts if end[tp] > await consumer.position(tp)}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= end[tp]:
                            continue
                        event = Event.from_json(record.value)
                        if since is None or event.time >= since:
                            yield tp.topic[len(self._prefix):], event
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()

    async def lag(self) -> dict[tuple[str, str, int], int]:
        """Per (group, topic, partition): end offset minus the group's committed offset."""
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        groups = {self._prefix + g: ts for g, ts in self._groups.items()}
        if not groups:
            return {}
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-lag")
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                    client_id=f"{self._client_id}-lag")
        await admin.start()
        await consumer.start()
        try:
            out = {}
            for group, group_topics in groups.items():
                committed = await admin.list_consumer_group_offsets(group)
                parts = [TopicPartition(self._prefix + t, p) for t in sorted(group_topics)
                         for p in sorted(await _partitions(consumer, self._prefix + t, attempts=3))]
                if not parts:
                    continue
                ends = await consumer.end_offsets(parts)
                starts = await consumer.beginning_offsets(parts)
                for tp in parts:
                    done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else starts[tp]
                    out[(group[len(self._prefix):], tp.topic[len(self._prefix):], tp.partition)] = max(
                        0, ends[tp] - done)
            return out
        finally:
            await consumer.stop()
            await admin.close()

    def __repr__(self) -> str:
        return f"KafkaBus({self._bootstrap})"


async def _await_leaders(admin: object, names: Sequence[str], attempts: int = 100) -> None:
    """Wait until every partition of newly created topics has a leader."""
    for _ in range(attempts):
        described = await admin.describe_topics(list(names))  # type: ignore[attr-defined]
        if all(
            t.get("error_code") == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)


async def _partitions(consumer: object, topic: str, attempts: int = 50) -> set[int]:
    """The topic's partitions, waiting briefly for a topic that was just created."""
    for _ in range(attempts):
        consumer._client.add_topic(topic)  # type: ignore[attr-defined]
        await consumer._client.force_metadata_update()  # type: ignore[attr-defined]
        found = consumer.partitions_for_topic(topic)  # type: ignore[attr-defined]
        if found:
            return found
        await asyncio.sleep(0.2)
    return set()
