"""Requests first: in one process that both answers requests and works through an event backlog
(``minwon run``, the six services on one interpreter), the people waiting on their changes go first.

While :data:`CROWD` or more requests that change something (citizens filing, officials' actions: any
method but ``GET``, ``HEAD`` and ``OPTIONS``) are being answered at once, the log's deliveries take turns
one at a time instead of running side by side in every group's lanes; otherwise they run at full width.
One change at a time is a steady stream, not a crowd: narrowing the backlog for each of them took more
from the backlog (and so from the receipt notices) than it gave the filing.
The backlog is never stopped, only narrowed, so a steady stream of filings cannot starve it, and a
delivery already running is never interrupted. Reads do not narrow it: pages, dashboards and polling
would otherwise hold the backlog narrow for as long as someone watches it drain. Under a burst of
filings this is what lets the one interpreter acknowledge them at about the rate intake alone can,
the receipt notices following as the backlog drains (docs/performance.md, "Requests first").

A request counts from its first byte until its response starts: a slow download or a response being
sent does not hold the backlog back.

Next in line come the groups on the path from a filing to the receipt notice the citizen waits for
(routing, then notification: ``first``, given by the host). While one of their deliveries runs, a delivery
of any other group (the deadline clock, compensation, survey, the public stream, the webhooks, intake's
views) waits until none does, but at most :data:`HOLD` seconds: work that has a legal clock of days does
not queue the receipt notices behind it, and it is delayed, never stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send


READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: they do not narrow the backlog."""
CROWD = 2
"""Changing requests answered at once that narrow the backlog: a burst, where filings wait for each other.
At 20 filings a second one at a time, narrowing for a single one put the POST → receipt notice p99 at
2.99 to 8.16 s where this read 0.81 to 7.37 s, and bursts of 1,000 drained at 17.6 to 18.1 complaints/s
against 20.4 to 20.9, their POSTs as fast (docs/performance.md)."""


HOLD = 0.5
"""Seconds at most that a delivery of a group off the receipt's path waits for the path's deliveries to
stop (then it runs beside them). At 28 filings a second for 30 s, three pairs one right after the other
read a POST → receipt notice p99 of 3.82, 1.51 and 6.32 s without it and 2.09, 1.22 and 0.34 s with it
(docs/performance.md)."""


class RequestsFirst:
    """How many changing requests are being answered, and the one turn deliveries share while a crowd is;
    which groups are on the receipt's path, and how many of their deliveries are running."""

    def __init__(self, first: Iterable[str] = (), *, hold: float = HOLD) -> None:
        self.answering = 0
        self._turn = asyncio.Lock()
        self._first = frozenset(first)
        self._hold = hold
        self._running = 0
        """Deliveries of the ``first`` groups running (or waiting for the shared turn)."""
        self._none_running = asyncio.Event()
        self._none_running.set()

    @property
    def first(self) -> frozenset[str]:
        """The groups on the receipt's path."""
        return self._first

    @asynccontextmanager
    async def turn(self, group: str) -> AsyncIterator[None]:
        """Entered around one delivery's attempt by ``group``: the shared turn while :data:`CROWD` or more
        changing requests are being answered, nothing otherwise; for a group not in ``first``, after
        the first groups' running deliveries (waiting at most ``hold`` seconds)."""
        if group in self._first:
            self._running += 1
            self._none_running.clear()
            try:
                async with self._crowd():
                    yield
            finally:
                self._running -= 1
                if not self._running:
                    self._none_running.set()
            return
        if self._running:
            try:
                async with asyncio.timeout(self._hold):
                    await self._none_running.wait()
            except TimeoutError:
                pass  # delayed, never stopped
        async with self._crowd():
            yield

    def _crowd(self) -> AbstractAsyncContextManager[Any]:
        """The shared turn while :data:`CROWD` or more changing requests are being answered, else nothing."""
        return self._turn if self.answering >= CROWD else _FREE

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI middleware that counts the changing requests being answered (HTTP only)."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope.get("method") in READS:
                await app(scope, receive, send)
                return
            self.answering += 1
            counting = True

            def done() -> None:
                nonlocal counting
                if counting:
                    counting = False
                    self.answering -= 1

            async def sent(message: Message) -> None:
                if message["type"] == "http.response.start":
                    done()
                await send(message)

            try:
                await app(scope, receive, sent)
            finally:
                done()

        return counted


_FREE: AbstractAsyncContextManager[Any] = nullcontext()


def free(group: str) -> AbstractAsyncContextManager[Any]:
    """No turn to wait for (a process without requests first)."""
    return _FREE
