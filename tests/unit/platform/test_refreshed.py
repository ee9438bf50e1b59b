"""A table kept for a few seconds on the path of events (minwon.refreshed): one read for the lanes that find
it stale together, a change through this process seen at once, even one made while a read was under way."""

from __future__ import annotations

import asyncio

from minwon.refreshed import Refreshed


class Table:
    def __init__(self) -> None:
        self.version, self.reads = 1, 0
        self.gate: asyncio.Event | None = None

    async def read(self) -> int:
        self.reads += 1
        seen = self.version
        if self.gate is not None:
            gate, self.gate = self.gate, None
            await gate.wait()
        return seen


async def test_one_read_serves_every_lane_until_the_ttl_passes() -> None:
    table, now = Table(), [0.0]
    kept = Refreshed(table.read, clock=lambda: now[0])
    table.gate = gate = asyncio.Event()
    lanes = [asyncio.create_task(kept.get(2.0)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*lanes) == [1] * 10 and table.reads == 1
    table.version = 2
    now[0] = 2.0
    assert await kept.get(2.0) == 1 and table.reads == 1  # not older than the ttl: kept
    now[0] = 2.5
    assert await asyncio.gather(*(kept.get(2.0) for _ in range(5))) == [2] * 5 and table.reads == 2


async def test_a_change_through_this_process_is_seen_at_once() -> None:
    table = Table()
    kept = Refreshed(table.read, clock=lambda: 0.0)
    assert await kept.get(60.0) == 1
    table.version = 2
    kept.forget()
    assert await kept.get(60.0) == 2 and table.reads == 2


async def test_a_read_that_a_change_overtook_is_read_again() -> None:
    table = Table()
    kept = Refreshed(table.read, clock=lambda: 0.0)
    table.gate = gate = asyncio.Event()
    reading = asyncio.create_task(kept.get(60.0))
    await asyncio.sleep(0)  # the read has seen version 1 and waits
    table.version = 2
    kept.forget()
    gate.set()
    assert await reading == 2 and table.reads == 2
