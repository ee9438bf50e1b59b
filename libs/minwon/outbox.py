"""State and the events announcing it, written as one document.

MongoDB multi-document transactions need a replica set, so no service depends
on them. Instead an aggregate's document carries its own inbox (ids of the
events it has already handled) and outbox (events decided but not yet
published). One compare-and-set write stores the new state, the handled
cause and the new events together: there is never an event without its
state, nor a state without its event.

The :class:`Relay` publishes outboxes right after the write. What a broker
outage left behind is retried from an in-memory list every ``interval``; what
a crash left behind is found by a full sweep at start-up and then every
``full_interval`` at most, in its turn among the store's other scans
(:mod:`minwon.scans`): a query over a whole collection is a scan on some
MongoDB-wire servers, so it stays off the path of each event. Publishing twice
is possible (a crash between publish and clean-up) and harmless: event ids
are deterministic and every consumer drops ids it has seen.

Clearing published entries from the document is a write of its own. With
``clear_after`` it waits that long: a document written again meanwhile (a
complaint's events come in bursts: received, routed, assigned) drops them in
that write instead, and only a document left alone gets the clearing write.

:meth:`Aggregates.apply` reads a document before deciding, except when this process wrote it
last: it then decides on the copy it kept, and the compare-and-set tells whether that copy
was still the newest. A write that failed, a decision that writes nothing (a duplicate, an event
without effect) and one that refuses (raises) read the store and decide again, so only a write ever
rests on the copy.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import pickle
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from minwon import contracts, telemetry
from minwon.bus import Bus
from minwon.docstore import Collection, Doc
from minwon.errors import TransientError
from minwon.events import Event
from minwon.settings import Settings
from minwon.timers import TimeIndex

log = logging.getLogger("minwon.outbox")

INBOX_LIMIT = 500
RECENT = 10_000
"""Documents whose last written or read version an :class:`Aggregates` keeps to decide on."""
_ABSENT = b""
"""Kept for an id the store held no document for when this process last read it."""
STOP_CLEARING = 5.0
"""Seconds a stopping relay spends on the clearing writes still waiting."""
_INTERNAL = ("_id", "_v", "_inbox", "_outbox")

Decision = tuple[Doc | None, Sequence[tuple[str, Event]]]
Decide = Callable[[Doc | None], Decision]


class ConcurrencyConflict(TransientError):
    """The document kept changing under us; the consumer tries again later."""


class Turns:
    """Locks by key, held only while someone holds or waits for one: this process's callers for the
    same key take turns, callers for different keys do not wait for each other."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


@dataclass(frozen=True)
class Applied:
    state: Doc | None
    events: tuple[Event, ...]
    duplicate: bool = False
    version: int | None = None
    """The stored version ``state`` is (``None``: no document): what a copy kept elsewhere, a row of a
    list written from the state, can be ordered by."""


def public(doc: Doc | None) -> Doc | None:
    """The aggregate's own fields, without the bookkeeping."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in _INTERNAL}


@dataclass
class Aggregates:
    """A collection of aggregates with an inbox and an outbox in each document."""

    coll: Collection
    relay: Relay
    timers: Sequence[TimeIndex] = ()
    """Wheels that file the document's watched times after each write (see ``minwon.timers``)."""
    recent: int = RECENT
    """How many documents' last versions (written or read here) are kept to decide on (0: read before every
    decision). Keep 0 for a collection whose documents are deleted and created again: a store that restarts
    their versions at 1 would let a kept copy pass the compare-and-set."""
    _recent: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    """id -> the document pickled (a copy no caller can change), or ``_ABSENT``."""
    _turns: Turns = field(default_factory=Turns)
    """Decisions on one document in this process, one after the other: a compare-and-set then fails
    only when another process wrote in between, and the copy kept of this process's last write is the
    newest, so the next decision needs no read."""

    def __post_init__(self) -> None:
        self.relay.watch(self.coll, self._kept, self.timers)

    async def get(self, id: str, *, recent: bool = False) -> Doc | None:
        """The document as the store holds it; ``recent``: this process's last-written copy if it keeps one
        (no read, but another replica may have written since: for a caller whose every write is a
        compare-and-set that decides again on what the store holds)."""
        if recent:
            found, kept = self._recall(id)
            if found:
                return public(kept)
        doc = await self.coll.get(id)
        self._kept(id, doc, absent=doc is None)  # a decision that follows the read need not read again
        return public(doc)

    def unstored(self, id: str) -> None:
        """Note that the store holds no ``id``, as far as this process knows (a new id of its own making):
        the next decision on it starts from nothing without a read. Should the store hold it after all,
        the compare-and-set finds out and the decision is made again on what it holds."""
        self._kept(id, None, absent=True)

    async def create(self, doc: Doc) -> bool:
        """A new document, with no cause and no events, its times filed in the wheels (False: the id exists:
        a redelivered or replayed cause)."""
        if not await self.coll.create(doc):
            return False
        if not self.coll.deletes:  # version 1 (a document created again after a delete may number on)
            self._kept(doc["_id"], {**doc, "_v": 1})
        for wheel in self.timers:
            await wheel.file_changes(doc["_id"], None, doc)
        return True

    def _kept(self, id: str, doc: Doc | None, *, absent: bool = False) -> None:
        """Keep ``doc`` as the newest version of ``id`` (``None``: forget it; with ``absent``: keep that
        the store holds none)."""
        if not self.recent:
            return
        if doc is None and not absent:
            self._recent.pop(id, None)
            return
        try:
            # a frozen copy, whatever types the store gave (a pickle round trip: a third of JSON's time)
            self._recent[id] = _ABSENT if doc is None else pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)
        except (TypeError, ValueError, pickle.PicklingError):  # a value that cannot be copied: read the store
            self._recent.pop(id, None)
            return
        self._recent.move_to_end(id)
        if len(self._recent) > self.recent:
            self._recent.popitem(last=False)

    def _recall(self, id: str) -> tuple[bool, Doc | None]:
        """Whether a version of ``id`` is kept, and that version (``None``: the store held none)."""
        kept = self._recent.get(id)
        if not kept:
            return kept is not None, None
        return True, pickle.loads(kept)  # noqa: S301 - this process's own bytes

    async def apply(
        self,
        id: str,
        decide: Decide,
        *,
        cause: str | None = None,
        attempts: int = 20,
        publish: bool = True,
        creating: bool = False,
    ) -> Applied:
        """Load, decide, and write state + cause + events in one compare-and-set.

        ``decide`` receives the current state (``None`` if there is none) and
        returns the new state (``None``: no change) and ``(topic, event)``
        pairs. With ``cause``, a second call for the same cause does nothing. With ``publish=False`` the
        events wait for :meth:`publish` (the caller has related writes to make first). ``creating``: the cause
        usually creates the document (a complaint's first event), so unless this process keeps a copy of
        it, the decision starts from nothing without a read; if the store holds it after all (a redelivered
        cause, an event that came first), the create fails and the decision is made on what the store holds.
        """
        async with self._turns.turn(id):  # this process's decisions on one document take turns
            if creating and id not in self._recent:
                self.unstored(id)
            doc, new, events = await self._decide(id, decide, cause, attempts)
        if new is None:
            duplicate = events is None
            if doc is not None and doc.get("_outbox") and (publish or duplicate):
                # a repeated cause or request whose first try wrote the state but did not publish it
                # (a crash, an outage, the store answered too late): publish it now
                await self._flush(id)
            return Applied(public(doc), (), duplicate=duplicate, version=int(doc["_v"]) if doc else None)
        if events and publish:
            await self._flush(id, new)
        for wheel in self.timers:
            await wheel.file_changes(id, doc, new)
        return Applied(public(new), tuple(e for _, e in events or ()), version=int(new["_v"]))

    async def _decide(
        self, id: str, decide: Decide, cause: str | None, attempts: int
    ) -> tuple[Doc | None, Doc | None, Sequence[tuple[str, Event]] | None]:
        """Read (or recall), decide and compare-and-set: (the document before, the document written or
        ``None``, the events or ``None`` for a cause already handled)."""
        for _ in range(attempts):
            kept, doc = self._recall(id)
            if not kept:
                doc = await self.coll.get(id)
                self._kept(id, doc, absent=doc is None)  # the next decision starts from it, if this one writes nothing
            if cause is not None and doc is not None and cause in doc.get("_inbox", ()):
                if kept:  # answered from the store, as every decision that writes nothing
                    self._kept(id, None)
                    continue
                return doc, None, None
            try:
                state, events = decide(public(doc))
            except Exception:
                if kept:  # refused on the copy: the store may hold what makes it acceptable
                    self._kept(id, None)
                    continue
                raise
            if state is None and not events:
                if kept:  # the copy may be behind the store: decide again on what the store holds
                    self._kept(id, None)
                    continue
                return doc, None, ()
            new: Doc = {**(state if state is not None else public(doc) or {}), "_id": id}
            inbox = list(doc.get("_inbox", [])) if doc else []
            if cause is not None:
                inbox = (inbox + [cause])[-INBOX_LIMIT:]
            new["_inbox"] = inbox
            for topic, e in events:
                contracts.check(topic, e)
            published = self.relay.published(self.coll, id)  # their clearing write is this one
            new["_outbox"] = [e for e in (doc.get("_outbox", []) if doc else []) if e.get("id") not in published] + [
                {"id": e.id, "topic": topic, "event": telemetry.inject(e).to_doc()} for topic, e in events
            ]
            written = (
                await self.coll.create(new) if doc is None else await self.coll.update(new, expected_version=doc["_v"])
            )
            if not written:
                telemetry.STORE_CONFLICTS.labels(self.coll.name).inc()
                self._kept(id, None)
                continue
            new["_v"] = (int(doc["_v"]) if doc else 0) + 1  # as both adapters number versions
            self._kept(id, new)
            self.relay.cleared(self.coll, id, published)
            return doc, new, events
        raise ConcurrencyConflict(id)

    async def publish(self, id: str) -> None:
        """Publish what :meth:`apply` wrote with ``publish=False``, from the copy kept of that write (the relay
        reads the document only if none is kept; should another process have written since, the clearing write
        finds out, and publishing an entry twice is harmless: consumers drop what they have seen)."""
        kept, doc = self._recall(id)
        await self._flush(id, doc if kept else None)

    async def _flush(self, id: str, written: Doc | None = None) -> None:
        """Publish now; if the store or broker fails, the state is written all the same and
        the relay retries (the caller must not redo a decision that is already stored)."""
        try:
            await self.relay.flush(self.coll, id, written)
        except Exception as exc:  # noqa: BLE001
            self.relay.remember(self.coll, id)
            log.warning("outbox flush failed; will retry", extra={"doc": id, "error": type(exc).__name__})


@dataclass
class Relay:
    """Publishes outboxes: at once after a write; failed flushes again every ``interval``;
    the whole collections at start and every ``full_interval`` or less often (recovery only, in
    the turns of the store's scan budget)."""

    bus: Bus
    interval: float = 1.0
    full_interval: float = 300.0
    clear_after: float = 0.0
    """Seconds published entries wait for their clearing write (0: at once); see the module's text."""
    _collections: list[Collection] = field(default_factory=list)
    _clearing: dict[tuple[int, str], tuple[Collection, Doc, set[str], float]] = field(default_factory=dict)
    """Documents whose published entries wait to be cleared: (collection, the document as last
    published, the entry ids, when the clearing write is due)."""
    _task: asyncio.Task[None] | None = None
    _turns: Turns = field(default_factory=Turns)
    _failed: dict[tuple[int, str], Collection] = field(default_factory=dict)
    _kept: dict[int, list[Callable[[str, Doc | None], None]]] = field(default_factory=dict)
    _next_sweep: dict[int, float] = field(default_factory=dict)
    """When each collection's next recovery sweep is due (the event loop's time)."""
    _wheels: list[TimeIndex] = field(default_factory=list)
    """The wheels of the watched collections (their held filings are made at stop)."""

    @classmethod
    def configured(cls, bus: Bus, settings: Settings) -> Relay:
        """The relay as the shared settings set it (``MINWON_OUTBOX_*``)."""
        return cls(bus, interval=settings.outbox_interval_seconds, clear_after=settings.outbox_clear_after_seconds)

    def watch(
        self,
        coll: Collection,
        kept: Callable[[str, Doc | None], None] | None = None,
        timers: Sequence[TimeIndex] = (),
    ) -> None:
        """Relay ``coll``'s outboxes; ``kept`` hears of each clearing write (the document it wrote, or
        ``None`` when the version it wrote is not known); ``timers``: wheels whose held filings are made
        when the relay stops."""
        if coll not in self._collections:
            self._collections.append(coll)
        self._wheels.extend(w for w in timers if all(w is not known for known in self._wheels))
        if kept is not None:
            self._kept.setdefault(builtins.id(coll), []).append(kept)

    async def flush(self, coll: Collection, id: str, written: Doc | None = None) -> int:
        """Publish one document's outbox. Flushes of the same document in this process take
        turns, so the flush after a write, the retry and the next write's flush do not each
        publish the same entries (other replicas may still overlap: rare, and harmless)."""
        async with self._turns.turn((coll, id)):
            return await self._flush(coll, id, written)

    async def _flush(self, coll: Collection, id: str, written: Doc | None = None) -> int:
        """``written``: the document as this process just wrote it (saves reading it back; if it has
        moved on since, the clean-up below finds out and reads it)."""
        doc = written if written is not None else await coll.get(id)
        waiting = self.published(coll, id)  # published already, not yet cleared: not again
        entries = [e for e in (doc.get("_outbox", []) if doc else []) if e.get("id") not in waiting]
        sent: list[str] = []
        try:
            for entry in entries:
                await self.bus.publish(entry["topic"], Event.model_validate(entry["event"]))
                sent.append(entry["id"])
        except Exception as exc:  # noqa: BLE001 - retried every interval
            self.remember(coll, id)
            log.warning("outbox publish failed; will retry", extra={"doc": id, "error": type(exc).__name__})
        except BaseException:  # cancelled mid-publish (a request or a task given up): retried all the same
            self.remember(coll, id)
            raise
        finally:
            if sent:
                await self._clear_later(coll, doc, sent)
        if len(sent) == len(entries):
            self._failed.pop((builtins.id(coll), id), None)
        return len(sent)

    def published(self, coll: Collection, id: str) -> set[str]:
        """Ids of entries of the document published by this relay and not yet cleared from it."""
        waiting = self._clearing.get((builtins.id(coll), id))
        return set(waiting[2]) if waiting else set()

    def cleared(self, coll: Collection, id: str, ids: set[str]) -> None:
        """A write of the document dropped ``ids``: their clearing write is not needed."""
        key = (builtins.id(coll), id)
        waiting = self._clearing.get(key)
        if waiting is not None and ids:
            left = waiting[2] - ids
            if left:
                self._clearing[key] = (waiting[0], waiting[1], left, waiting[3])
            else:
                del self._clearing[key]

    async def _clear_later(self, coll: Collection, doc: Doc | None, sent: list[str]) -> None:
        if self.clear_after <= 0 or doc is None or "_v" not in doc:
            await self._clear(coll, doc, sent)
            return
        key = (builtins.id(coll), doc["_id"])
        waiting = self._clearing.get(key)
        ids = (waiting[2] if waiting else set()) | set(sent)
        due = waiting[3] if waiting else asyncio.get_running_loop().time() + self.clear_after
        self._clearing[key] = (coll, doc, ids, due)

    async def clear_due(self, *, everything: bool = False) -> int:
        """Make the clearing writes that are due (``everything``: all of them, at shutdown)."""
        now = asyncio.get_running_loop().time()
        done = 0
        for key, (coll, doc, ids, due) in list(self._clearing.items()):
            if not everything and due > now:
                continue
            if self._clearing.get(key, (None, None, None, None))[1] is not doc:
                continue  # published again or cleared by a write meanwhile
            await self._clear(coll, doc, sorted(ids))
            if self._clearing.get(key, (None, None, None, None))[1] is doc:
                del self._clearing[key]
            done += 1
        return done

    async def _clear(self, coll: Collection, doc: Doc | None, sent: list[str]) -> None:
        """Drop the published entries: one compare-and-set on the version just read or written, and
        the read-modify-write loop only if the document moved on meanwhile."""
        if doc is None:
            return
        listeners = self._kept.get(builtins.id(coll), ())
        if "_v" in doc:
            gone = set(sent)
            kept = {**doc, "_outbox": [e for e in doc.get("_outbox", []) if e.get("id") not in gone]}
            if await coll.update(kept, expected_version=int(doc["_v"])):
                for listener in listeners:
                    listener(doc["_id"], {**kept, "_v": int(doc["_v"]) + 1})
                return
        await coll.pull(doc["_id"], "_outbox", "id", sent)
        for listener in listeners:
            listener(doc["_id"], None)

    def remember(self, coll: Collection, id: str) -> None:
        self._failed[(builtins.id(coll), id)] = coll

    async def retry(self) -> int:
        """Flush again the documents whose publish failed (a broker outage)."""
        total = 0
        for (_, doc_id), coll in list(self._failed.items()):
            total += await self.flush(coll, doc_id)
        return total

    async def sweep(self, *, due_only: bool = False) -> int:
        """Flush every document with a pending outbox: a scan, for recovery after a crash. At once
        for every collection (at start-up), or with ``due_only`` only those whose last sweep is
        ``full_interval`` old, each in its turn of its store's scan budget (``minwon.scans``)."""
        loop = asyncio.get_running_loop()
        total = 0
        for coll in self._collections:
            if due_only and loop.time() < self._next_sweep.get(builtins.id(coll), float("-inf")):
                continue
            async with coll.scans.turn(f"outbox-sweep:{coll.name}", urgent=not due_only) as granted:
                if granted:
                    total += await self._sweep(coll)
                    self._next_sweep[builtins.id(coll)] = loop.time() + self.full_interval
        if total:
            log.warning(
                "outbox sweep published events left unpublished (a crash or an outage)", extra={"events": total}
            )
        return total

    async def _sweep(self, coll: Collection) -> int:
        total = 0
        while True:
            found = await coll.find({"_outbox.0": {"$exists": True}}, limit=200)
            flushed = [await self.flush(coll, doc["_id"]) for doc in found]
            total += sum(flushed)
            if len(found) < 200 or not any(flushed):
                return total

    async def _run(self) -> None:
        started = False
        while True:
            try:
                await self.clear_due()
                await self.retry()
                await self.sweep(due_only=started)  # a failed sweep is tried again next pass
                started = True
            except Exception as exc:  # noqa: BLE001
                log.warning("outbox relay pass failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.interval)

    async def start(self) -> None:
        for wheel in self._wheels:  # started again after a stop: holding again
            wheel.stopping = False
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:  # what is not cleared within STOP_CLEARING is published again by the start-up sweep, dropped as seen
            await asyncio.wait_for(self.clear_due(everything=True), STOP_CLEARING)
        except Exception as exc:  # noqa: BLE001
            log.warning("outbox clearing at stop left some for the next start", extra={"error": type(exc).__name__})
        try:  # what is not filed within STOP_CLEARING waits for the wheels' safety-net queries
            await asyncio.wait_for(self._file_held(), STOP_CLEARING)
        except Exception as exc:  # noqa: BLE001
            log.warning("held times not filed at stop", extra={"error": type(exc).__name__})

    async def _file_held(self) -> None:
        for wheel in self._wheels:
            await wheel.file_held()
