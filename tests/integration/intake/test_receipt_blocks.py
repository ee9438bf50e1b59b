"""Receipt numbers reserved by blocks: replicas filing at the same time never share a number."""

from __future__ import annotations

import asyncio

from minwon.outbox import Relay
from services.intake.store import IntakeStore


async def test_replicas_reserving_blocks_hand_out_each_number_once(backend) -> None:  # noqa: ANN001
    bus = backend.bus()
    db = backend.store("intake")
    replicas = [IntakeStore(db, Relay(bus), receipt_block=10) for _ in range(3)]

    async def take(store: IntakeStore, n: int) -> list[int]:
        return [await store.next_sequence(org="BUSAN", year=2026) for _ in range(n)]

    taken = await asyncio.gather(*(take(store, 25) for store in replicas))
    numbers = [n for each in taken for n in each]
    assert len(numbers) == len(set(numbers)) == 75
    for each in taken:
        assert each == sorted(each), "a replica hands its numbers out in order"
    assert max(numbers) <= 90  # 25 from each replica: three blocks of 10 each, the last one partly used
    # a restarted replica (no memory of its block) continues after the nine blocks reserved
    restarted = IntakeStore(db, Relay(bus), receipt_block=10)
    assert await restarted.next_sequence(org="BUSAN", year=2026) == 91


async def test_one_at_a_time_numbers_are_consecutive(backend) -> None:  # noqa: ANN001
    store = IntakeStore(backend.store("intake"), Relay(backend.bus()))
    assert [await store.next_sequence(org="BUSAN", year=2027) for _ in range(3)] == [1, 2, 3]
    assert await IntakeStore(backend.store("intake"), Relay(backend.bus())).next_sequence(org="BUSAN", year=2027) == 4
