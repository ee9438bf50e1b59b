"""A small table read from a store at most every few seconds on the path of events.

Rule tables, departments, the agencies' webhook subscriptions: read for every event they would cost a
query each (a scan on a server without the index), yet they change rarely, through an operator or an
agency. :class:`Refreshed` keeps the last read for ``ttl`` seconds. The lanes that find it stale
together wait for one read, and a change made through this process (:meth:`Refreshed.forget`) is seen
at once: a read that such a change overtook is not kept. Another replica's change is seen within ``ttl``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Refreshed(Generic[T]):
    def __init__(self, read: Callable[[], Awaitable[T]], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self._kept: tuple[float, T] | None = None
        self._loading = asyncio.Lock()
        """One read at a time: the lanes that find the value stale together wait for it."""
        self._changes = 0
        """How many changes this process made: a read that a change overtook is not kept."""

    async def get(self, ttl: float) -> T:
        """The value, read again if the kept one is ``ttl`` seconds old (or forgotten)."""
        while (kept := self._kept) is None or self._clock() - kept[0] > ttl:
            async with self._loading:
                if self._kept is not kept:  # read meanwhile by another lane (or forgotten)
                    continue
                changes = self._changes
                read = (self._clock(), await self._read())
                if changes == self._changes:  # else read again: a change overtook this read
                    self._kept = read
                    return read[1]
        return kept[1]

    def forget(self) -> None:
        """This process changed what the value is read from: the next :meth:`get` reads it."""
        self._changes += 1
        self._kept = None
