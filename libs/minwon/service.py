"""What every service hands to the host: its routes, its subscriptions and its
background loops, over its own store and the shared bus.

A service's ``bootstrap.py`` builds one :class:`Service`; the host runs one
(``minwon service intake``) or all six (``minwon run``) of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from minwon.bus import Bus, Handler
from minwon.docstore import DocumentStore
from minwon.outbox import Relay

log = logging.getLogger("minwon.service")

Clock = Callable[[], datetime]
Loop = Callable[[], Awaitable[object]]  # what a pass returns (a count, or nothing) is not read


def system_clock() -> datetime:
    return datetime.now(UTC)


def group_of(name: str) -> str:
    """The consumer group of the service ``name``'s own subscriptions."""
    return f"minwon-{name}"


@dataclass
class Service:
    name: str
    store: DocumentStore
    bus: Bus
    relay: Relay
    routes: Sequence[Any] = ()
    subscriptions: Sequence[tuple[Sequence[str], Handler]] = ()
    loops: Sequence[tuple[str, float, Loop]] = ()
    """(name, interval seconds, one pass): run every interval while the service runs."""
    on_start: Sequence[Callable[[], Awaitable[None]]] = ()
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    """Run after the loops and the relay have stopped (closing a client the service opened itself)."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def group(self) -> str:
        return group_of(self.name)

    def all_subscriptions(self) -> list[tuple[str, Sequence[str], Handler]]:
        """(consumer group, topics, handler) of every subscription."""
        return [(self.group, topics, handler) for topics, handler in self.subscriptions]

    def subscribe(self) -> None:
        for group, topics, handler in self.all_subscriptions():
            self.bus.subscribe(group, topics, handler)

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()
        await self.relay.start()
        for name, interval, one_pass in self.loops:
            self._tasks.append(asyncio.create_task(_every(interval, one_pass, name), name=f"{self.name}:{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.relay.stop()
        for hook in self.on_stop:
            try:
                await hook()
            except Exception as exc:  # noqa: BLE001 - stopping goes on
                log.warning("stop hook failed", extra={"service": self.name, "error": f"{type(exc).__name__}: {exc}"})

    async def ready(self) -> dict[str, bool]:
        return {"store": await self.store.ping(), "bus": await self.bus.ping()}


@dataclass
class GroupedService(Service):
    """A service with subscriptions in extra consumer groups (``minwon-<service>-<suffix>``) as well, so
    that each progresses, lags and replays independently of the others."""

    groups: Sequence[tuple[str, Sequence[str], Handler]] = ()
    """(suffix, topics, handler)."""

    def all_subscriptions(self) -> list[tuple[str, Sequence[str], Handler]]:
        return [
            *super().all_subscriptions(),
            *((f"{self.group}-{suffix}", topics, handler) for suffix, topics, handler in self.groups),
        ]


async def _every(interval: float, one_pass: Loop, name: str) -> None:
    while True:
        try:
            await one_pass()
        except Exception as exc:  # noqa: BLE001 - a loop survives a failed pass
            log.warning("background pass failed", extra={"loop": name, "error": f"{type(exc).__name__}: {exc}"})
        await asyncio.sleep(interval)
