"""Queries whose cost grows with a store, taken in turns within one budget per store.

Some of a service's work reads more than one document by ``_id``: the outbox relay's recovery
sweep, the timer wheels' safety-net queries, the gauges counted by a query. On a MongoDB-wire
server that answers their filters without an index (FerretDB decodes every document) each is a
scan, seconds of the server's CPU at 100,000 complaints. Paced each against its own time only, a
dozen of them came due together five minutes after a start and held the server for minutes.

So a store's scans share one :class:`ScanBudget`: one at a time, the one that has waited longest
first, and after a scan of ``d`` seconds the next waits ``d / share``. All of a service's scans
together then take at most ``share`` of its time, whatever the store's size; on a store that
indexes them (SQLite, MongoDB proper) a scan takes milliseconds and each keeps its own interval.
Recovery that must not wait (the relay's sweep and the safety nets' first query at start-up, a timer
backlog being drained) runs at once and is charged all the same.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

SCAN_SECONDS = Counter(
    "minwon_store_scan_seconds_total",
    "Seconds spent in queries whose cost grows with the store (sweeps, safety nets, gauges), per store and scan",
    ["store", "scan"],
)
SCANS_DEFERRED = Counter(
    "minwon_store_scans_deferred_total",
    "Passes in which a scan was due and waited for its turn in the store's budget, per store and scan",
    ["store", "scan"],
)
SCANS_RUNNING = Gauge("minwon_store_scans_running", "Such queries running now, per store", ["store"])

SHARE = 0.02
"""The most of a store's time its scans take together, by default (``MINWON_SCAN_SHARE``)."""


@dataclass
class ScanBudget:
    """The turns of one store's scans (see the module's text)."""

    store: str = ""
    """The store's name, for the metrics' ``store`` label."""
    share: float = SHARE
    ticker: Callable[[], float] = time.monotonic
    patience: float = 120.0
    """Seconds after which a scan that stopped asking no longer holds its place in line."""
    _rest_until: float = float("-inf")
    _asking: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Scans waiting for a turn: (when each first asked, when it last asked)."""
    _running: int = 0

    def _granted(self, name: str) -> bool:
        now = self.ticker()
        first = self._asking.get(name, (now, now))[0]
        self._asking[name] = (first, now)
        if self._running or now < self._rest_until:
            SCANS_DEFERRED.labels(self.store, name).inc()
            return False
        for other, (since, last) in list(self._asking.items()):
            if now - last > self.patience:
                del self._asking[other]
            elif since < first:
                SCANS_DEFERRED.labels(self.store, name).inc()
                return False
        return True

    @asynccontextmanager
    async def turn(self, name: str, *, urgent: bool = False) -> AsyncIterator[bool]:
        """Yields whether ``name`` may scan now (always, if ``urgent``); a scan not let through asks
        again on its next pass and keeps its place in line. The time spent inside is charged."""
        if not urgent and not self._granted(name):
            yield False
            return
        self._asking.pop(name, None)
        self._running += 1
        SCANS_RUNNING.labels(self.store).inc()
        started = self.ticker()
        try:
            yield True
        finally:
            self._running -= 1
            SCANS_RUNNING.labels(self.store).dec()
            ended = self.ticker()
            spent = max(0.0, ended - started)
            self._rest_until = max(self._rest_until, ended) + spent * (1 / self.share - 1)
            SCAN_SECONDS.labels(self.store, name).inc(spent)

    def paced(self, name: str, one_pass: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        """``one_pass`` (a gauge counted by a query) run only in its turn; the other calls do nothing."""

        async def in_turn() -> object:
            async with self.turn(name) as granted:
                if granted:
                    return await one_pass()
            return None

        return in_turn
