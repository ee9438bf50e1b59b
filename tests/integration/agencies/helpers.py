"""Helpers for the agency tests: waiting, a movable clock, a webhook receiver, the whole system in process."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from minwon.events import Event


async def until(
    probe: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], *, timeout: float = 60.0, interval: float = 0.2
) -> Any:
    """Poll ``probe`` until ``ok`` holds for its value (the last value is returned, or the test fails)."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not ok(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}"[:3000])
        await asyncio.sleep(interval)
        value = await probe()
    return value


async def close(bus: Any) -> None:
    await bus.stop()
    closer = getattr(bus, "close", None)
    if closer:
        closer()


class MovingClock:
    """Real time passing from a chosen instant, and jumps on demand (an hour in a second)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)

    def advance(self, delta: timedelta) -> None:
        self.start += delta


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    """When it arrived (unix seconds, wall clock)."""

    @property
    def event(self) -> Event:
        return Event.from_json(self.body)

    @property
    def replay(self) -> bool:
        return self.headers.get("x-minwon-replay") == "true"


@dataclass
class Receiver:
    """A minimal HTTP/1.1 webhook receiver on 127.0.0.1 (asyncio streams); answers 204 to every POST.

    ``stop()`` closes the listening socket, so deliveries meet a refused connection until ``start()``.
    """

    port: int = field(default_factory=free_port)
    got: list[Received] = field(default_factory=list)
    status: int = 204
    _server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/minwon"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.got.append(Received(headers, body, time.time()))
                reason = {204: "No Content", 500: "Internal Server Error"}.get(self.status, "OK")
                writer.write(f"HTTP/1.1 {self.status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def notification_app(backend: Any, store: Any, bus: Any, *, clock: Callable[[], datetime], **public: Any):
    """The notification service alone (its public stream and webhooks), loops fast, http://127.0.0.1 allowed."""
    from apps.host import Infrastructure, create_app
    from services.notification.agencies.public import PublicSettings
    from services.notification.bootstrap import bootstrap
    from services.notification.settings import NotificationSettings

    values = {
        "webhook_allow_http_loopback": True,
        "webhook_interval_seconds": 0.1,
        "webhook_timeout_seconds": 2.0,
        "public_id_secret": "test-public-id-secret",
        **public,
    }
    service = bootstrap(
        backend.settings(),
        store=store,
        bus=bus,
        clock=clock,
        notification_settings=NotificationSettings(deliver_interval_seconds=0.2, spool_dir=backend.tmp / "spool"),
        public_settings=PublicSettings(**values),
    )
    return create_app([service], Infrastructure(bus=bus, stores={"notification": store}))


async def register(client: Any, code: str, staff: dict[str, str]) -> dict[str, str]:
    """A new agency; returns its Authorization header."""
    response = await client.post(
        "/api/v1/subscriptions/agencies", json={"code": code, "name": f"{code} 기관"}, headers=staff
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['api_key']}"}


async def subscribe(client: Any, agency: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/subscriptions", json=body, headers=agency)
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client: Any, agency: dict[str, str], sub_id: str, **query: Any) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in {"limit": 500, **query}.items())
    response = await client.get(f"/api/v1/subscriptions/{sub_id}/deliveries?{params}", headers=agency)
    assert response.status_code == 200, response.text
    return response.json()["items"]
