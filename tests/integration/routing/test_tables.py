"""The rule and department tables on the path of events: read once for the lanes that find them stale
together, and a change made through this process is seen at once, even one made during a read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minwon.crypto import Sealer
from minwon.outbox import Relay
from minwon.service import system_clock
from services.routing.handlers import Routing
from services.routing.settings import RoutingSettings
from services.routing.store import RoutingStore
from tests import spies


async def _routing(backend: Any) -> Routing:
    settings = backend.settings()
    routing = Routing(
        store=RoutingStore(backend.store("routing"), Relay(backend.bus())),
        contacts=Sealer("c1", settings.contacts_key),
        clock=system_clock,
        source="/minwon/test/routing",
        default_department=RoutingSettings().default_department,
    )
    await routing.seed(RoutingSettings().data_dir)
    return routing


async def test_lanes_that_find_the_tables_stale_together_read_them_once(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing = await _routing(backend)
    reads = spies.finds(monkeypatch, "rules", lambda where: True)
    together = await asyncio.gather(*(routing.tables() for _ in range(20)))
    assert len(reads) == 1 and all(t[0] is together[0][0] for t in together)
    assert len(together[0][0]) > 0  # the sample rules
    await routing.tables()
    assert len(reads) == 1  # fresh: no read
    routing.table_ttl = 0.5
    await asyncio.sleep(0.6)
    await asyncio.gather(*(routing.tables() for _ in range(5)))
    assert len(reads) == 2  # stale: one read again for all five


async def test_a_change_made_during_a_read_is_not_hidden_by_it(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    routing = await _routing(backend)
    reading, go_on = asyncio.Event(), asyncio.Event()
    rules = routing.rules
    calls: list[int] = []

    async def slow() -> Any:
        calls.append(1)
        found = await rules()
        if len(calls) == 1:  # the first read is overtaken by a change
            reading.set()
            await go_on.wait()
            return []
        return found

    monkeypatch.setattr(routing, "rules", slow)
    first = asyncio.create_task(routing.tables())
    await reading.wait()
    routing.forget_tables()  # what a rule change through this process does
    go_on.set()
    found, _ = await first
    assert len(calls) == 2 and len(found) > 0  # read again, not the overtaken (empty) read
