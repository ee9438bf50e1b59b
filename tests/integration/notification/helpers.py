"""Helpers for the notification integration tests: the app, a movable clock, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apps.host import Infrastructure, create_app
from services.notification.bootstrap import bootstrap
from services.notification.providers import Providers
from services.notification.settings import NotificationSettings
from tests.factories import STAFF
from tests.unit.notification.factories import NOW


class MovingClock:
    """Real time passing from a chosen instant (so retries come due), and jumps on demand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)

    def advance(self, delta: timedelta) -> None:
        self.start += delta


def app(
    backend: Any,
    store: Any,
    bus: Any,
    *,
    clock: Callable[[], datetime] | None = None,
    providers: Providers | None = None,
    **settings: Any,
):
    values = {
        "deliver_interval_seconds": 0.1,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "spool_dir": backend.tmp / "spool",
        **settings,
    }
    service = bootstrap(
        backend.settings(),
        store=store,
        bus=bus,
        clock=clock or MovingClock(),
        notification_settings=NotificationSettings(**values),
        providers=providers,
    )
    return create_app([service], Infrastructure(bus=bus, stores={"notification": store}))


async def until(probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], *, timeout: float = 45.0) -> Any:
    """Poll ``probe`` until ``ok`` holds for its value (the last value is returned, or the test fails)."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not ok(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


async def listed(client: Any, receipt_no: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/notifications?receipt_no={receipt_no}", headers=STAFF)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def of(items: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [i for i in items if i["template"] == template]


def statuses(items: list[dict[str, Any]], template: str) -> list[str]:
    return [i["status"] for i in of(items, template)]


async def events(bus: Any, topic: str, receipt_no: str) -> list[Any]:
    return [e async for _, e in bus.read([topic]) if e.subject == receipt_no]


async def close(bus: Any) -> None:
    """Stop a test-side bus (the publisher), whichever adapter it is."""
    await bus.stop()
    closer = getattr(bus, "close", None)
    if closer:
        closer()


class SmtpServer:
    """Enough of SMTP (RFC 5321) on 127.0.0.1 to receive messages."""

    def __init__(self, reject_rcpt: bool = False) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reject_rcpt = reject_rcpt
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write((line + "\r\n").encode())

        say("220 localhost test SMTP")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := (await reader.readline()).decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-localhost")
                say("250 8BITMIME")
            elif verb == "MAIL":
                envelope["from"] = line
                say("250 OK")
            elif verb == "RCPT":
                if self.reject_rcpt:
                    say("550 no such user")
                else:
                    envelope["rcpt"].append(line)
                    say("250 OK")
            elif verb == "DATA":
                say("354 end with .")
                await writer.drain()
                data = []
                while (chunk := (await reader.readline()).decode("utf-8", "replace")) not in (".\r\n", ""):
                    data.append(chunk)
                envelope["data"] = "".join(data)
                self.messages.append(envelope)
                envelope = {"rcpt": []}
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                await writer.drain()
                break
            else:
                say("250 OK")
            await writer.drain()
        writer.close()
