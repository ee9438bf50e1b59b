"""A store's scans take turns within one budget: together at most its share of the time."""

from __future__ import annotations

import pytest

from minwon.scans import SCAN_SECONDS, ScanBudget


class Counted:
    """A pass that costs ``cost`` seconds of the fake clock."""

    def __init__(self, now: list[float], cost: float) -> None:
        self.now, self.cost, self.calls = now, cost, 0

    async def __call__(self) -> int:
        self.calls += 1
        self.now[0] += self.cost
        return self.calls


def budget(now: list[float], share: float = 0.02) -> ScanBudget:
    return ScanBudget("unit", share, ticker=lambda: now[0])


async def test_a_cheap_pass_runs_every_time() -> None:
    now = [0.0]
    one = Counted(now, cost=0.01)
    paced = budget(now).paced("gauges", one)
    for _ in range(10):
        await paced()
        now[0] += 15  # the loop's interval
    assert one.calls == 10


async def test_a_costly_pass_rests_for_its_cost_over_its_share() -> None:
    now = [0.0]
    one = Counted(now, cost=2.0)  # e.g. a count scanning 100,000 documents
    paced = budget(now).paced("gauges", one)
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

    paced = budget(now, share=0.1).paced("gauges", failing)
    with pytest.raises(TimeoutError):  # the loop logs it
        await paced()
    now[0] += 5
    assert await paced() is None  # 1 s / 0.1 = 10 s of rest


async def test_the_scans_of_one_store_share_its_budget_and_take_turns_in_the_order_they_asked() -> None:
    now = [0.0]
    scans = budget(now)
    sweep, safety_net, gauge = Counted(now, 2.0), Counted(now, 2.0), Counted(now, 2.0)
    passes = {name: scans.paced(name, one) for name, one in (("sweep", sweep), ("net", safety_net), ("gauge", gauge))}
    order: list[str] = []
    while now[0] < 390:  # each asks every second, as a relay or a timer pass does
        for name, one_pass in passes.items():
            if await one_pass() is not None:
                order.append(name)
        now[0] += 1
    # one 2 s scan every 100 s, whoever asks: not three of them every 100 s
    assert order == ["sweep", "net", "gauge", "sweep"]
    assert (sweep.calls + safety_net.calls + gauge.calls) * 2.0 / now[0] <= 0.025


async def test_a_scan_that_stopped_asking_gives_up_its_place() -> None:
    now = [0.0]
    scans = budget(now)
    async with scans.turn("first") as granted:
        assert granted
        now[0] += 1.0  # rest until 50 s
    async with scans.turn("gone") as granted:
        assert not granted  # asked at 1 s, in line
    now[0] += 200  # and never again: past the budget's patience
    async with scans.turn("later") as granted:
        assert granted


async def test_urgent_recovery_runs_at_once_and_is_charged() -> None:
    now = [0.0]
    scans = budget(now)
    before = SCAN_SECONDS.labels("unit", "sweep")._value.get()
    async with scans.turn("gauge") as granted:
        assert granted
        now[0] += 1.0
    async with scans.turn("sweep", urgent=True) as granted:  # resting, but a start-up sweep goes
        assert granted
        now[0] += 1.0
    assert SCAN_SECONDS.labels("unit", "sweep")._value.get() - before == pytest.approx(1.0)
    now[0] += 60  # 1 s at 2 % is 50 s of rest, the urgent second another 50
    async with scans.turn("gauge") as granted:
        assert not granted
    now[0] += 45
    async with scans.turn("gauge") as granted:
        assert granted
