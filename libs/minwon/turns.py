"""Requests first: in one process that both answers requests and works through an event backlog
(``minwon run``, the six services on one interpreter), the person waiting on a change goes first.

While any request that changes something (a citizen filing, an official's action: any method but
``GET``, ``HEAD`` and ``OPTIONS``) is being answered, the log's deliveries take turns one at a time
instead of running side by side in every group's lanes; when none is, they run at full width again.
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


class RequestsFirst:
    """How many changing requests are being answered, and the one turn deliveries share while any is."""

    def __init__(self) -> None:
        self.answering = 0
        self._turn = asyncio.Lock()

    def turn(self) -> AbstractAsyncContextManager[Any]:
        """Entered around one delivery's attempt: the shared turn while a request is being answered,
        nothing otherwise."""
        return self._turn if self.answering else _FREE

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
