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
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
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


class RequestsFirst:
    """How many changing requests are being answered, and the one turn deliveries share while a crowd is."""

    def __init__(self) -> None:
        self.answering = 0
        self._turn = asyncio.Lock()

    def turn(self) -> AbstractAsyncContextManager[Any]:
        """Entered around one delivery's attempt: the shared turn while :data:`CROWD` or more changing
        requests are being answered, nothing otherwise."""
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


def free() -> AbstractAsyncContextManager[Any]:
    """No turn to wait for (a process without requests first)."""
    return _FREE
