"""A loop whose pass grows with the store takes at most its share of the time."""

from __future__ import annotations

import pytest

from minwon.service import sparing


class Counted:
    """A pass that costs ``cost`` seconds of the fake clock."""

    def __init__(self, now: list[float], cost: float) -> None:
        self.now, self.cost, self.calls = now, cost, 0

    async def __call__(self) -> int:
        self.calls += 1
        self.now[0] += self.cost
        return self.calls


async def test_a_cheap_pass_runs_every_time() -> None:
    now = [0.0]
    one = Counted(now, cost=0.01)
    paced = sparing(one, share=0.02, ticker=lambda: now[0])
    for _ in range(10):
        await paced()
        now[0] += 15  # the loop's interval
    assert one.calls == 10


async def test_a_costly_pass_rests_for_its_cost_over_its_share() -> None:
    now = [0.0]
    one = Counted(now, cost=2.0)  # e.g. a count scanning 100,000 documents
    paced = sparing(one, share=0.02, ticker=lambda: now[0])
    assert await paced() == 1
    for _ in range(6):  # 90 s later: still resting (2 s / 0.02 = 100 s from its start)
        now[0] += 15
        assert await paced() is None
    now[0] += 15
    assert await paced() == 2
    assert one.calls == 2
    assert one.cost * one.calls / now[0] <= 0.04  # two passes in ~105 s: its share, not the server's time


async def test_a_failed_pass_rests_as_well_and_its_error_is_the_callers() -> None:
    now = [0.0]

    async def failing() -> None:
        now[0] += 1.0
        raise TimeoutError

    paced = sparing(failing, share=0.1, ticker=lambda: now[0])
    with pytest.raises(TimeoutError):  # the loop logs it
        await paced()
    now[0] += 5
    assert await paced() is None  # 1 s / 0.1 = 10 s of rest
