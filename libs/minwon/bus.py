"""The event-bus port and its two adapters: Kafka (FastStream + aiokafka) and
an embedded, durable log in SQLite for the standalone deployment.

Delivery is at least once on both: a consumer's position moves only after its
handler returned. Failures are of two kinds (:func:`is_transient`):

- **transient** (a store or broker unavailable, write contention): the consumer
  pauses and retries with capped backoff for as long as it takes; such an
  event is never dead-lettered, however long the outage;
- **poison** (an unparsable record, an invalid payload, a bug for this input):
  retried a few times, then dead-lettered to ``minwon.deadletter.v1`` with the
  reason, logged once with its trace id, counted, and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from faststream.kafka.annotations import KafkaMessage  # resolved by name in subscriber signatures
from prometheus_client import Counter, Histogram

from minwon import contracts, telemetry, turns
from minwon.errors import DomainError, TransientError
from minwon.events import Event
from minwon.sqlite import SqliteWriter, connect
from minwon.topics import DEADLETTER, TOPICS
from minwon.turns import RequestsFirst

log = logging.getLogger("minwon.bus")

Handler = Callable[[Event], Awaitable[None]]

DEADLETTER_TYPE = contracts.DEADLETTER_MESSAGE
RAW_KEPT = 65536
PARSED_KEPT = 4096
"""Rows of the embedded log a process keeps parsed for its other groups (a few MiB)."""


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
    def read(self, topics: Sequence[str], *, since: datetime | None = None) -> AsyncIterator[tuple[str, Event]]: ...


@dataclass
class RetryPolicy:
    attempts: int = 5
    """Attempts at a poison record before it is dead-lettered."""
    first_delay: float = 0.2
    factor: float = 3.0
    max_delay: float = 15.0
    """Cap of the backoff while a dependency is unavailable (retried without limit)."""


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, (TransientError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DomainError):
        return exc.status == 503
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return any(w in text for w in ("locked", "busy", "disk i/o", "unable to open"))
    module = type(exc).__module__
    if module.startswith("pymongo"):
        from pymongo.errors import ConnectionFailure, PyMongoError

        return isinstance(exc, ConnectionFailure) or (
            isinstance(exc, PyMongoError) and exc.has_error_label("RetryableWriteError")
        )
    if module.startswith(("aiokafka", "kafka")):
        return bool(getattr(exc, "retriable", False)) or type(exc).__name__ in (
            "KafkaConnectionError",
            "KafkaTimeoutError",
            "NodeNotReadyError",
        )
    return False


def is_transient(exc: BaseException) -> bool:
    """Will this failure go away by itself? Looks through ``raise ... from`` chains."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _transient_one(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


_Item = tuple[str, bytes | str, str, Event | Exception]
"""A record of a batch: its topic, raw bytes, position, and its event (or why it did not parse)."""


@dataclass
class _Deliverer:
    """Runs a handler: transient failures pause and retry without limit, poison is
    dead-lettered after ``retry.attempts``; shared by both adapters."""

    publish: Callable[[str, Event], Awaitable[None]]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    turn: Callable[[str], AbstractAsyncContextManager[Any]] = turns.free
    """Entered around each attempt, given the delivering group (:class:`minwon.turns.RequestsFirst`: one at a
    time while the process answers a crowd of requests that change something, and the groups on the
    receipt's path before the others); never held across a retry's pause."""
    _series: dict[tuple[str, str], tuple[Histogram, Counter]] = field(default_factory=dict, init=False, repr=False)
    """Each (group, topic)'s processing time and count of handled events (a metric's ``labels`` takes a
    lock and checks its labels on every call: a few per cent of a burst's samples)."""

    async def deliver(self, sub: Subscription, topic: str, event: Event) -> None:
        series = self._series.get((sub.group, topic))
        if series is None:
            series = self._series[(sub.group, topic)] = (
                telemetry.PROCESSING.labels(group=sub.group, topic=topic),
                telemetry.CONSUMED.labels(group=sub.group, topic=topic, outcome="ok"),
            )
        with series[0].time():
            await self._attempts(sub, topic, event, series[1])

    async def _attempts(self, sub: Subscription, topic: str, event: Event, handled: Counter) -> None:
        delay = self.retry.first_delay
        failures = 0
        while True:
            try:
                with telemetry.consume_span(sub.group, topic, event):
                    try:
                        async with self.turn(sub.group):
                            await sub.handler(event)
                    except Exception as exc:
                        transient = is_transient(exc)
                        failures += 0 if transient else 1
                        if not transient and failures >= self.retry.attempts:
                            log.error(
                                "event dead-lettered",
                                extra={
                                    "group": sub.group,
                                    "topic": topic,
                                    "event_id": event.id,
                                    "event_type": event.type,
                                    "attempts": failures,
                                    "error": _reason(exc),
                                },
                            )
                        raise
                handled.inc()
                return
            except Exception as exc:  # noqa: BLE001 - classified: paused and retried, or dead-lettered
                telemetry.CONSUMED.labels(group=sub.group, topic=topic, outcome="error").inc()
                if not is_transient(exc) and failures >= self.retry.attempts:
                    await self._dead_letter(
                        sub,
                        topic,
                        {"event": event.to_doc()},
                        exc,
                        failures,
                        id=f"{event.id}:{sub.group}",
                        subject=event.subject,
                    )
                    return
                log.warning(
                    "handler failed; will retry",
                    extra={
                        "group": sub.group,
                        "event_id": event.id,
                        "event_type": event.type,
                        "attempt": failures,
                        "transient": is_transient(exc),
                        "error": _reason(exc),
                    },
                )
                telemetry.RETRIES.labels(group=sub.group, topic=topic).inc()
                await asyncio.sleep(delay)
                delay = min(delay * self.retry.factor, self.retry.max_delay)

    async def in_lanes(
        self,
        sub: Subscription,
        records: Sequence[tuple[str, bytes | str, str]],
        lanes: int,
        parse: Callable[[bytes | str, str], Event] | None = None,
    ) -> None:
        """One batch of ``(topic, raw record, position)``. With ``lanes`` > 1, in lanes by subject: a
        complaint's events in the batch's order, different complaints at once (up to ``lanes``), so their
        durable writes overlap instead of queueing one round trip after another; with 1, in the batch's
        order. Returns once every record is handled, so the caller commits the batch's positions after it:
        a crash redelivers at most this batch, and consumers drop what they have already seen. A record
        that does not parse is dead-lettered (in a lane of its own). ``parse(raw, position)``: how a record
        becomes its event (default: parsed for this delivery alone)."""
        items: list[_Item] = []
        for topic, raw, position in records:
            try:
                item: Event | Exception = parse(raw, position) if parse else Event.from_json(raw)
            except Exception as exc:  # noqa: BLE001 - poison: dead-lettered
                item = exc
            items.append((topic, raw, position, item))

        async def run(lane: Sequence[_Item]) -> None:
            for topic, raw, position, item in lane:
                if isinstance(item, Exception):
                    await self.unparsable(sub, topic, raw, position, item)
                else:
                    await self.deliver(sub, topic, item)

        if lanes <= 1:
            await run(items)
            return
        by_subject: dict[str, list[_Item]] = {}
        for entry in items:
            topic, _, position, item = entry
            key = f"unparsable:{topic}:{position}" if isinstance(item, Exception) else item.subject or item.id
            by_subject.setdefault(key, []).append(entry)
        # ``lanes`` workers take the next subject's lane as they come free; every lane finishes (or
        # fails) before the batch is retried, so no lane runs twice at once
        waiting = iter(by_subject.values())
        failed: list[Exception] = []

        async def worker() -> None:
            for lane in waiting:
                try:
                    await run(lane)
                except Exception as exc:  # noqa: BLE001 - raised once every lane is done
                    failed.append(exc)

        await asyncio.gather(*(worker() for _ in range(min(lanes, len(by_subject)))))
        if failed:
            raise failed[0]

    async def unparsable(self, sub: Subscription, topic: str, raw: bytes | str, position: str, exc: Exception) -> None:
        """A record that is not an event at all: dead-lettered at once (it cannot get better)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        log.error(
            "unparsable record dead-lettered",
            extra={"group": sub.group, "topic": topic, "position": position, "error": _reason(exc)},
        )
        await self._dead_letter(
            sub,
            topic,
            {"raw": text[:RAW_KEPT], "position": position},
            exc,
            1,
            id=f"raw:{topic}:{position}:{sub.group}",
            subject=f"{topic}:{position}",
        )

    async def _dead_letter(
        self,
        sub: Subscription,
        topic: str,
        payload: dict[str, Any],
        exc: Exception,
        attempts: int,
        *,
        id: str,
        subject: str,
    ) -> None:
        letter = Event.new(
            DEADLETTER_TYPE,
            source=f"/minwon/{sub.group}",
            subject=subject,
            time=datetime.now(UTC),
            id=id,
            data={"group": sub.group, "topic": topic, "error": _reason(exc), "attempts": attempts, **payload},
        )
        delay = self.retry.first_delay
        while True:  # a dead letter is never dropped: wait for the log or broker to come back
            try:
                await self.publish(DEADLETTER, letter)
                break
            except Exception as err:  # noqa: BLE001
                log.warning("dead letter not yet written; will retry", extra={"error": _reason(err)})
                await asyncio.sleep(delay)
                delay = min(delay * self.retry.factor, self.retry.max_delay)
        telemetry.DEADLETTERED.labels(group=sub.group, topic=topic).inc()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


# --------------------------------------------------------------------------
# Embedded log: SQLite
# --------------------------------------------------------------------------


class SqliteBus:
    """A durable append-only log with per-group, per-topic positions, in one SQLite file.

    Each subscription reads from its group's committed position *per topic*, so
    a quiet topic never holds back a busy one, and commits positions in batches
    (a crash redelivers at most the batch in flight; consumers drop ids they
    have seen). Events published while nobody listened are delivered on the
    next start. A record that does not parse is dead-lettered and skipped.
    ``requests_first``: the process's request counter (:mod:`minwon.turns`), its
    deliveries one at a time while a crowd of requests that change something is being answered, and the
    receipt's path first.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        poll_interval: float = 0.2,
        retry: RetryPolicy | None = None,
        batch: int = 200,
        lanes: int = 32,
        requests_first: RequestsFirst | None = None,
    ):
        self._w = SqliteWriter(connect(path), "events")
        self._w.conn.executescript(
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
        self._wakes: dict[str, list[asyncio.Event]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._poll = poll_interval
        self._batch = batch
        self._lanes = lanes
        self._deliverer = _Deliverer(
            self.publish, retry or RetryPolicy(), requests_first.turn if requests_first else turns.free
        )
        self._parsed: OrderedDict[str, Event] = OrderedDict()
        self._running = False

    def _exec(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """A statement on the caller's thread (command-line tools and replay)."""
        with self._w.lock:
            return self._w.conn.execute(sql, params)

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        self._subs.append(Subscription(group, tuple(topics), handler))

    async def start(self) -> None:
        self._running = True
        for sub in self._subs:
            wake = asyncio.Event()
            for topic in sub.topics:
                self._wakes.setdefault(topic, []).append(wake)
            self._tasks.append(asyncio.create_task(self._consume(sub, wake), name=f"consume:{sub.group}"))

    async def stop(self) -> None:
        self._running = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._wakes.clear()

    def close(self) -> None:
        self._w.close()

    async def publish(self, topic: str, event: Event) -> None:
        contracts.check(topic, event)
        with telemetry.publish_span("sqlite", topic, event) as event:
            row = (topic, event.subject, event.id, event.time.isoformat(), event.to_json().decode())
            await self._w.write(
                lambda conn: conn.execute(
                    "INSERT INTO log (topic, key, event_id, time, body) VALUES (?, ?, ?, ?, ?)", row
                )
            )
        telemetry.PUBLISHED.labels(topic=topic).inc()
        for wake in self._wakes.get(topic, ()):
            wake.set()

    async def ping(self) -> bool:
        try:
            await self._w.call(self._w.conn.execute, "SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def _positions(self, group: str, topics: Sequence[str]) -> dict[str, int]:
        rows = self._w.conn.execute("SELECT topic, seq FROM positions WHERE grp = ?", (group,)).fetchall()
        found = dict(rows)
        return {t: int(found.get(t, 0)) for t in topics}

    def _next(self, positions: dict[str, int], limit: int) -> list[tuple[int, str, str]]:
        rows: list[tuple[int, str, str]] = []
        for topic, seq in positions.items():
            rows += self._w.conn.execute(
                "SELECT seq, topic, body FROM log WHERE topic = ? AND seq > ? ORDER BY seq LIMIT ?",
                (topic, seq, limit),
            ).fetchall()
        rows.sort()
        return rows[:limit]

    async def _commit(self, group: str, done: dict[str, int]) -> None:
        items = [(group, topic, seq) for topic, seq in done.items()]
        await self._w.write(
            lambda conn: conn.executemany(
                "INSERT INTO positions (grp, topic, seq) VALUES (?, ?, ?) "
                "ON CONFLICT(grp, topic) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                items,
            )
        )

    async def lag(self) -> dict[tuple[str, str, int], int]:
        """Events not yet handled, per (group, topic, partition); the embedded log has one partition."""

        def count() -> dict[tuple[str, str, int], int]:
            out = {}
            for sub in self._subs:
                for topic, pos in self._positions(sub.group, sub.topics).items():
                    row = self._w.conn.execute(
                        "SELECT COUNT(*) FROM log WHERE topic = ? AND seq > ?", (topic, pos)
                    ).fetchone()
                    out[(sub.group, topic, 0)] = row[0]
            return out

        return await self._w.call(count)

    async def _consume(self, sub: Subscription, wake: asyncio.Event) -> None:
        positions: dict[str, int] | None = None
        pause = self._poll
        while self._running:
            try:
                if positions is None:
                    positions = await self._w.call(self._positions, sub.group, sub.topics)
                wake.clear()
                rows = await self._w.call(self._next, dict(positions), self._batch)
                if rows:
                    await self._handle(sub, rows)
                    done: dict[str, int] = {}
                    for seq, topic, _ in rows:
                        done[topic] = seq
                    positions.update(done)
                    await self._commit(sub.group, done)
                pause = self._poll
                if len(rows) < self._batch:
                    try:
                        await asyncio.wait_for(wake.wait(), self._poll)
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop itself must never die
                log.exception("consumer loop failed; retrying", extra={"group": sub.group})
                await asyncio.sleep(pause)
                pause = min(pause * 2, 15.0)

    async def _handle(self, sub: Subscription, rows: list[tuple[int, str, str]]) -> None:
        records = [(topic, body, f"seq-{seq}") for seq, topic, body in rows]
        await self._deliverer.in_lanes(sub, records, self._lanes, self._parse)

    def _parse(self, raw: bytes | str, position: str) -> Event:
        """A row as its event, parsed once for every group that reads it: the groups of one process read
        the same rows within moments of each other, and an event (its data and, once validated, its
        model) is never changed by a handler. The last :data:`PARSED_KEPT` rows are kept."""
        event = self._parsed.get(position)
        if event is None:
            event = self._parsed[position] = Event.from_json(raw)
            if len(self._parsed) > PARSED_KEPT:
                self._parsed.popitem(last=False)
        return event

    async def read(self, topics: Sequence[str], *, since: datetime | None = None) -> AsyncIterator[tuple[str, Event]]:
        """Every event of ``topics`` in log order (from ``since``), up to the end as it is now.
        Records that do not parse are skipped (they are dead-lettered by the consumers)."""
        marks = ",".join("?" * len(topics))
        end = (await self._w.call(lambda: self._w.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM log").fetchone()))[0]
        seq = 0
        while True:
            rows = await self._w.call(
                lambda s=seq: self._w.conn.execute(
                    f"SELECT seq, topic, body FROM log WHERE topic IN ({marks}) AND seq > ? AND seq <= ? "
                    "ORDER BY seq LIMIT 500",
                    (*topics, s, end),
                ).fetchall()
            )
            if not rows:
                return
            for _seq, topic, body in rows:
                try:
                    event = Event.from_json(body)
                except Exception:  # noqa: BLE001
                    continue
                if since is None or event.time >= since:
                    yield topic, event
            seq = rows[-1][0]  # the next page starts after the last row read

    def count(self, topics: Sequence[str]) -> int:
        marks = ",".join("?" * len(topics))
        return self._exec(f"SELECT COUNT(*) FROM log WHERE topic IN ({marks})", tuple(topics)).fetchone()[0]


# --------------------------------------------------------------------------
# Kafka: FastStream + aiokafka
# --------------------------------------------------------------------------


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


@dataclass(frozen=True)
class KafkaSecurity:
    """How every client of a :class:`KafkaBus` (FastStream's producer and subscribers, the admin
    client of :meth:`KafkaBus.ensure_topics`, the readers of :meth:`KafkaBus.read` and
    :meth:`KafkaBus.lag`) authenticates and encrypts.

    ``SASL_SSL`` with ``SCRAM-SHA-512`` is what a Strimzi ``KafkaUser`` of type ``scram-sha-512``
    gets; ``cafile`` is the cluster CA the broker certificate is checked against (without it, the
    system's trust store). ``certfile``/``keyfile`` add a client certificate (mutual TLS: ``SSL``
    alone, or under SASL). The default is today's unauthenticated ``PLAINTEXT``."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    keyfile_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        protocol = self.protocol.upper()
        object.__setattr__(self, "protocol", protocol)
        object.__setattr__(self, "mechanism", self.mechanism.upper())
        if protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"Kafka security protocol {self.protocol!r}: use one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.sasl:
            if self.mechanism not in SASL_MECHANISMS:
                raise ValueError(f"SASL mechanism {self.mechanism!r}: use one of {', '.join(SASL_MECHANISMS)}")
            if not self.username or not self.password:
                raise ValueError(f"{protocol} needs a SASL username and password")
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("a client certificate needs both its certificate file and its key file")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def principal(self) -> str | None:
        """The user the broker sees (for logs and errors), if SASL names one."""
        return self.username if self.sasl else None

    def ssl_context(self) -> Any:
        """The TLS context (broker verified against ``cafile``, host name checked; the client
        certificate loaded when given), or ``None`` without TLS."""
        if not self.tls:
            return None
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(
            cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile, password=self.keyfile_password
        )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's clients (producer, consumer, admin)."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.sasl:
            options.update(
                sasl_mechanism=self.mechanism, sasl_plain_username=self.username, sasl_plain_password=self.password
            )
        return options

    def faststream(self) -> Any:
        """The matching ``security=`` of FastStream's ``KafkaBroker`` (``None`` for PLAINTEXT)."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        if self.protocol == "PLAINTEXT":
            return None
        context = self.ssl_context()
        if not self.sasl:
            return BaseSecurity(ssl_context=context, use_ssl=True)
        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}[self.mechanism]
        return kind(self.username or "", self.password or "", ssl_context=context, use_ssl=self.tls)

    @classmethod
    def from_settings(cls, settings: Any) -> KafkaSecurity:
        """From :class:`minwon.settings.Settings` (``MINWON_KAFKA_SECURITY_PROTOCOL`` and friends)."""
        return cls(
            protocol=settings.kafka_security_protocol,
            mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username or None,
            password=settings.kafka_sasl_password or None,
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
            keyfile_password=settings.kafka_ssl_keyfile_password or None,
        )


class KafkaBus:
    """Each subscription is a FastStream batch subscriber in its own consumer group: a batch's
    records are handled in order (``lanes`` > 1: in lanes by subject, as on the embedded log) and
    its offsets are committed once they are all handled (``AckPolicy.NACK_ON_ERROR``).

    One commit per batch instead of one per record cut the broker's CPU per complaint by a third
    under a burst. Lanes are off by default: against FerretDB, handlers at once raised the server's
    CPU per complaint without raising the rate (measured, docs/performance.md)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "minwon",
        retry: RetryPolicy | None = None,
        prefix: str = "",
        partitions: int | None = None,
        security: KafkaSecurity | None = None,
        replication_factor: int = 1,
        min_insync_replicas: int | None = None,
        batch: int = 100,
        lanes: int = 1,
    ):
        """``prefix`` namespaces topics and groups (one deployment, or one test, per prefix);
        ``partitions`` overrides the registry's partition counts (small test brokers);
        ``security`` is how every client connects (default: PLAINTEXT); ``replication_factor`` and
        ``min_insync_replicas`` are given to the topics :meth:`ensure_topics` creates (``None``:
        the broker's default); ``batch``: records per poll at most; ``lanes``: how many subjects of a
        batch are handled at once."""
        from faststream.kafka import KafkaBroker

        self._bootstrap = bootstrap
        self._client_id = client_id
        self._prefix = prefix
        self._partitions = partitions
        self._security = security or KafkaSecurity()
        if replication_factor < 1:
            raise ValueError(f"replication factor {replication_factor}: at least 1")
        if min_insync_replicas is not None and not 1 <= min_insync_replicas <= replication_factor:
            raise ValueError(
                f"min.insync.replicas {min_insync_replicas}: from 1 to the replication factor ({replication_factor})"
            )
        self._replication = replication_factor
        self._min_insync = min_insync_replicas
        # replicated topics: a write counts once min.insync.replicas have it (acks=1 would lose it with the leader)
        durable: dict[str, Any] = {"acks": "all"} if replication_factor > 1 else {}
        # FastStream's own logger writes colour-coded text; ours goes through the JSON formatter
        self.broker = KafkaBroker(
            bootstrap,
            client_id=client_id,
            security=self._security.faststream(),
            logger=logging.getLogger("minwon.faststream"),
            **durable,
        )
        self._deliverer = _Deliverer(self.publish, retry or RetryPolicy())
        self._started = False
        self._groups: dict[str, set[str]] = {}
        self._batch = batch
        self._lanes = lanes

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        from faststream import AckPolicy

        sub = Subscription(group, tuple(topics), handler)
        self._groups.setdefault(group, set()).update(topics)
        deliverer = self._deliverer
        strip = len(self._prefix)

        async def on_message(body: Any, message: KafkaMessage) -> None:
            # Never raises: a poison record is dead-lettered, a transient failure holds the batch inside
            # the deliverer until it clears; FastStream commits the batch's offsets once this returns.
            # a tuple of ConsumerRecords, each partition's in offset order (a subject's events are in one
            # partition of a topic: published order, whatever the events' times); aiokafka is untyped
            records: Any = message.raw_message
            await deliverer.in_lanes(
                sub,
                [(r.topic[strip:], r.value or b"", f"{r.partition}:{r.offset}") for r in records],
                self._lanes,
            )

        from faststream.kafka import Topic

        self.broker.subscriber(
            # ensure_topics (at start) makes the topics with their partitions and configs; FastStream
            # must not try too (a service's ACLs allow no CreateTopics: it would log a refusal each start)
            *(Topic(self._prefix + t, declare=False) for t in topics),
            group_id=self._prefix + group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            # one offset commit per batch, not per record: a commit per event per group was a third of the
            # broker's CPU per complaint under a burst
            batch=True,
            max_records=self._batch,
            batch_timeout_ms=100,
            decoder=_undecoded,
        )(on_message)

    async def ensure_topics(self, topics: Sequence[str] = ()) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-admin", **self._security.client_options()
        )
        try:
            await admin.start()  # inside: a refused start (credentials, certificate) still closes the client
            existing = set(await admin.list_topics())
            wanted = [t for t in (topics or [spec.name for spec in TOPICS]) if self._prefix + t not in existing]
            specs = {spec.name: spec for spec in TOPICS}
            new = [
                NewTopic(
                    name=self._prefix + t,
                    num_partitions=self._partitions or (specs[t].partitions if t in specs else 3),
                    replication_factor=self._replication,
                    topic_configs=self._topic_configs(specs[t].kafka_configs() if t in specs else {}),
                )
                for t in wanted
            ]
            if new:
                try:
                    response = await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    response = None
                _raise_topic_errors(response)
                await _await_leaders(admin, [t.name for t in new])
        finally:
            await admin.close()

    def _topic_configs(self, configs: dict[str, str]) -> dict[str, str]:
        if self._min_insync is None:
            return configs
        return {**configs, "min.insync.replicas": str(self._min_insync)}

    async def start(self) -> None:
        subscribed = {t for ts in self._groups.values() for t in ts}
        await self.ensure_topics(sorted({spec.name for spec in TOPICS} | subscribed))
        await self.broker.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self.broker.stop()
            self._started = False

    async def publish(self, topic: str, event: Event) -> None:
        contracts.check(topic, event)
        if not self._started:
            await self.ensure_topics()
            await self.broker.connect()
            self._started = True
        with telemetry.publish_span("kafka", topic, event) as event:
            headers = {"content-type": "application/cloudevents+json", "ce_id": event.id, "ce_type": event.type}
            if event.traceparent:  # W3C trace context in the record's headers too, for any Kafka tool
                headers["traceparent"] = event.traceparent
            await self.broker.publish(
                event.to_json(),
                topic=self._prefix + topic,
                key=event.subject.encode(),
                timestamp_ms=int(event.time.timestamp() * 1000),
                headers=headers,
            )
        telemetry.PUBLISHED.labels(topic=topic).inc()

    async def ping(self) -> bool:
        try:
            return await self.broker.ping(timeout=3)
        except Exception:  # noqa: BLE001
            return False

    async def read(self, topics: Sequence[str], *, since: datetime | None = None) -> AsyncIterator[tuple[str, Event]]:
        """Every event of ``topics`` from ``since`` (or the beginning) up to the end offsets
        as they are when the read starts; no consumer group, so nothing is committed."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            client_id=f"{self._client_id}-reader",
            **self._security.client_options(),
        )
        try:
            await consumer.start()
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
                        try:
                            event = Event.from_json(record.value)
                        except Exception:  # noqa: BLE001 - not an event (dead-lettered by the consumers)
                            continue
                        if since is None or event.time >= since:
                            yield tp.topic[len(self._prefix) :], event
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
        options = self._security.client_options()
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-lag", **options)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, client_id=f"{self._client_id}-lag", **options
        )
        try:
            await admin.start()
            await consumer.start()
            out = {}
            for group, group_topics in groups.items():
                committed = await admin.list_consumer_group_offsets(group)
                parts = [
                    TopicPartition(self._prefix + t, p)
                    for t in sorted(group_topics)
                    for p in sorted(await _partitions(consumer, self._prefix + t, attempts=3))
                ]
                if not parts:
                    continue
                ends = await consumer.end_offsets(parts)
                starts = await consumer.beginning_offsets(parts)
                for tp in parts:
                    done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else starts[tp]
                    out[(group[len(self._prefix) :], tp.topic[len(self._prefix) :], tp.partition)] = max(
                        0, ends[tp] - done
                    )
            return out
        finally:
            await consumer.stop()
            await admin.close()

    def __repr__(self) -> str:
        if self._security.protocol == "PLAINTEXT":
            return f"KafkaBus({self._bootstrap})"
        who = f" as {self._security.principal}" if self._security.principal else ""
        return f"KafkaBus({self._bootstrap}, {self._security.protocol}{who})"


async def _undecoded(message: Any) -> None:
    """Leave the records undecoded: the subscriber parses each from ``raw_message``, so a record
    that is not JSON is dead-lettered instead of failing inside the framework."""
    return None


def _raise_topic_errors(response: Any) -> None:
    """CreateTopics answers per topic instead of failing: raise the first error but "already exists"
    (another process was first), e.g. a replication factor above the brokers' count, or no ACL to create."""
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    for entry in getattr(response, "topic_errors", None) or ():
        topic, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        if code and code != TopicAlreadyExistsError.errno:
            raise for_code(code)(f"creating topic {topic}: {message or for_code(code).description}")


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
