"""Rebuilding the deadline store from the event log, and republishing what it emitted.

``minwon replay deadline`` (services/deadline/cli.py) runs these:

- :func:`rebuild` reads the service's own topic (``minwon.deadlines.v1``) first — every
  event on it is marked as published in its record, a signal on it counts as emitted,
  an added holiday goes back into the calendar — and then the input topics
  (complaints, routing) through the same handlers the consumers use. Ids are
  deterministic, so the events a rebuild decides are the ids already on the topic,
  and those are not published again; only what was never published goes out.
- :func:`dry_run` does the same into a throwaway store and compares it with the live one.
- :func:`republish` sends the signal events of a window again, with their original ids,
  for a downstream service that lost its own state.

Memory stays flat: events are streamed, and each one touches one record.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from minwon import topics
from minwon.bus import Bus, Handler
from minwon.docstore import Doc, DocumentStore, SqliteStore
from minwon.events import Event
from minwon.outbox import Relay
from minwon.service import Clock, system_clock
from minwon.settings import Settings
from services.deadline import tracking
from services.deadline.bootstrap import build
from services.deadline.consumers import INPUTS
from services.deadline.handlers import Deadlines
from services.deadline.settings import DeadlineSettings
from services.deadline.store import DeadlineStore


class Progress:
    """A plain progress line on stderr: events read per topic and the rate (no extra dependency)."""

    def __init__(
        self, label: str, *, total: int | None = None, stream: TextIO | None = None, every: float = 0.5
    ) -> None:
        self.label, self.total, self.stream, self.every = label, total, stream, every
        self.counts: Counter[str] = Counter()
        self._started = self._shown = time.monotonic()

    def step(self, topic: str) -> None:
        self.counts[topic] += 1
        if self.stream is not None and time.monotonic() - self._shown >= self.every:
            self._show()

    def _show(self, end: str = "") -> None:
        assert self.stream is not None
        self._shown = time.monotonic()
        n = sum(self.counts.values())
        rate = n / max(self._shown - self._started, 1e-9)
        parts = " | ".join(f"{t.split('.')[1]} {k}" for t, k in sorted(self.counts.items()))
        share = f" {100 * n / self.total:5.1f}%" if self.total else ""
        self.stream.write(f"\r[{self.label}]{share} {n} events ({parts}) {rate:,.0f}/s   {end}")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None:
            self._show("\n")


@dataclass
class RebuildSummary:
    read: dict[str, int]
    signals_known: int
    clocks: dict[str, int]
    published: int
    seconds: float
    dry_run: bool = False
    changes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "mode": "dry-run" if self.dry_run else "rebuild",
            "events_read": self.read,
            "signals_known_as_emitted": self.signals_known,
            "clocks": self.clocks,
            "events_published" if not self.dry_run else "events_that_would_be_published": self.published,
            "seconds": round(self.seconds, 2),
        }
        if self.dry_run:
            out["changes"] = self.changes
        return out


async def rebuild(
    deadlines: Deadlines, bus: Bus, *, since: datetime | None = None, progress: Progress | None = None
) -> RebuildSummary:
    """Rebuild (or catch up) the store behind ``deadlines`` from the log, from ``since``."""
    started = time.monotonic()
    progress = progress or Progress("replay deadline")
    await deadlines.start()
    signals_known = published = 0
    async for topic, event in _read(bus, [topics.DEADLINES], since):
        progress.step(topic)
        outcome = await deadlines.on_own_event(event)
        if event.type in tracking.SIGNAL_TYPES and outcome is not None and not outcome.applied.duplicate:
            signals_known += 1
    await deadlines.load_calendar()
    async for topic, event in _read(bus, list(INPUTS), since):
        progress.step(topic)
        outcome = await deadlines.handle(event)
        if outcome is not None:
            published += len(outcome.applied.events)
    published += await deadlines.recompute_all()
    progress.done()
    return RebuildSummary(
        read=dict(progress.counts),
        signals_known=signals_known,
        clocks=await _census(deadlines.store),
        published=published,
        seconds=time.monotonic() - started,
    )


async def dry_run(
    settings: Settings,
    bus: Bus,
    live: DocumentStore,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
    clock: Clock = system_clock,
    deadline_settings: DeadlineSettings | None = None,
) -> RebuildSummary:
    """Rebuild into a temporary store (nothing is published) and report how it differs from ``live``."""
    with tempfile.TemporaryDirectory(prefix="minwon-replay-") as tmp:
        scratch = SqliteStore(Path(tmp) / "deadline.db")
        capture = CapturingBus()
        deadlines = build(
            settings, store=scratch, bus=capture, clock=clock, deadline_settings=deadline_settings, relay=Relay(capture)
        )
        try:
            summary = await rebuild(deadlines, bus, since=since, progress=progress)
            summary.dry_run = True
            summary.changes = await compare(DeadlineStore(live, Relay(capture)), deadlines.store)
        finally:
            await scratch.close()
    return summary


async def republish(
    bus: Bus, *, since: datetime | None, until: datetime | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Send the signal events of ``[since, until)`` again, each with its original id."""
    progress = progress or Progress("republish deadline")
    sent: Counter[str] = Counter()
    async for topic, event in _read(bus, [topics.DEADLINES], since):
        progress.step(topic)
        if event.type not in tracking.SIGNAL_TYPES or (until is not None and event.time >= until):
            continue
        await bus.publish(topics.DEADLINES, event)
        sent[event.name] += 1
    progress.done()
    return {
        "mode": "republish",
        "from": since.isoformat() if since else "beginning",
        "republished": dict(sent),
        "total": sum(sent.values()),
    }


async def compare(
    live: DeadlineStore, rebuilt: DeadlineStore, *, page: int = 500, examples: int = 20
) -> dict[str, Any]:
    """What a rebuild would change in ``live``: clocks new, changed, unchanged, and only in ``live``."""
    counts: Counter[str] = Counter()
    changed: list[dict[str, Any]] = []
    a, b = _pages(live, page), _pages(rebuilt, page)
    x, y = await anext(a, None), await anext(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x["receipt_no"] < y["receipt_no"]):
            counts["only_in_live"] += 1
            x = await anext(a, None)
        elif x is None or y["receipt_no"] < x["receipt_no"]:
            counts["new"] += 1
            y = await anext(b, None)
        else:
            diff = {k: {"live": x.get(k), "rebuilt": y.get(k)} for k in _COMPARED if _sig(x, k) != _sig(y, k)}
            if diff:
                counts["changed"] += 1
                if len(changed) < examples:
                    changed.append({"receipt_no": x["receipt_no"], "diff": diff})
            else:
                counts["unchanged"] += 1
            x, y = await anext(a, None), await anext(b, None)
    return {**{k: counts[k] for k in ("new", "changed", "unchanged", "only_in_live")}, "examples": changed}


_COMPARED = ("status", "due_at", "emitted", "pauses", "extensions", "closed_at", "next_fire_at")


def _sig(doc: Doc, key: str) -> Any:
    value = doc.get(key)
    if key == "emitted":
        return sorted((e["name"], e.get("generation", 0)) for e in value or ())
    return value


async def _pages(store: DeadlineStore, size: int) -> AsyncIterator[Doc]:
    after = None
    while True:
        docs = await store.page(after=after, limit=size)
        for doc in docs:
            yield doc
        if len(docs) < size:
            return
        after = docs[-1]["receipt_no"]


async def _census(store: DeadlineStore) -> dict[str, int]:
    coll = store.clocks.coll
    return {
        s: await coll.count({"status": s})
        for s in (tracking.OPEN, tracking.PAUSED, tracking.CLOSED, tracking.PENDING, tracking.REFUSED)
    }


async def _read(bus: Bus, names: Sequence[str], since: datetime | None) -> AsyncIterator[tuple[str, Event]]:
    async for topic, event in bus.read(list(names), since=since):
        yield topic, event


class CapturingBus:
    """The bus a dry run's relay publishes to: it keeps the events instead of sending them."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Event]] = []

    def subscribe(self, group: str, topics: Sequence[str], handler: Handler) -> None:
        raise RuntimeError("a dry run does not consume")

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))

    async def ping(self) -> bool:
        return True

    async def lag(self) -> dict[tuple[str, str, int], int]:
        return {}  # nothing consumes from it

    def read(self, topics: Sequence[str], *, since: datetime | None = None) -> AsyncIterator[tuple[str, Event]]:
        raise RuntimeError("a dry run reads the real log")


def default_progress(
    label: str, bus: Bus, names: Sequence[str], *, quiet: bool = False, whole_log: bool = True
) -> Progress:
    """A progress line on stderr; reading the whole embedded log, the total is known in advance."""
    count = getattr(bus, "count", None)
    total = count(list(names)) if whole_log and callable(count) else None
    return Progress(label, total=total, stream=None if quiet else sys.stderr)
