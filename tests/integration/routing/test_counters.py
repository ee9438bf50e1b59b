"""The load counters on the path of routing: a value this process read or moved is used for a couple of
seconds without reading it again (every complaint routed reads its department's loads); its own moves
are seen at once, another replica's within that time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minwon.outbox import Relay
from services.routing.domain import ASSIGNED
from services.routing.store import RoutingStore
from tests import spies


def _assigned(handler: str) -> dict[str, Any]:
    return {"status": ASSIGNED, "department": "road", "handler": {"id": handler}}


async def test_a_load_read_or_moved_here_is_reused_and_another_replicas_move_seen_in_time(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, bus = backend.store("routing"), backend.bus()
    here, there = RoutingStore(db, Relay(bus)), RoutingStore(db, Relay(bus))
    reads = spies.gets(monkeypatch, "counters")

    def loads_read() -> int:
        return reads.count("load:h1")

    assert [await here.load("h1") for _ in range(5)] == [0] * 5
    assert loads_read() == 1
    await here.account(None, _assigned("h1"))
    moved = loads_read()  # (the increment reads the counter it moves)
    assert [await here.load("h1") for _ in range(5)] == [1] * 5  # its own move, at once
    assert loads_read() == moved
    await there.account(None, _assigned("h1"))  # another replica assigns to the same official
    assert await here.load("h1") == 1  # not seen yet: within the time a value is reused
    here.counter_ttl = 0.2
    await asyncio.sleep(0.3)
    assert await here.load("h1") == 2
    assert await there.load("h1") == 2
