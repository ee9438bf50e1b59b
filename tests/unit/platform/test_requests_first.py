"""Requests first (``minwon.turns``): a request that changes something counts from its first byte until its
response starts, and while two or more do, deliveries share one turn; otherwise they do not wait for each
other. Reads never count. The groups on the receipt's path go before the others, which wait a bounded time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minwon.turns import RequestsFirst


def _answering(first: RequestsFirst, *, started: asyncio.Event, release: asyncio.Event, fail: bool = False) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        started.set()
        await release.wait()
        if fail:
            raise RuntimeError("the handler failed before answering")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await release.wait()
        await send({"type": "http.response.body", "body": b"{}"})

    return first.middleware(app)


async def _nothing() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def test_a_request_counts_until_its_response_starts() -> None:
    first = RequestsFirst()
    started, release, sent = asyncio.Event(), asyncio.Event(), []

    async def send(message: Any) -> None:
        sent.append(message["type"])
        release.clear()  # the body waits until released again

    app = _answering(first, started=started, release=release)
    task = asyncio.create_task(app({"type": "http", "method": "POST"}, _nothing, send))
    await started.wait()
    assert first.answering == 1
    release.set()
    await asyncio.sleep(0.01)
    assert sent == ["http.response.start"]
    assert first.answering == 0  # the response started: its body being sent holds nothing back
    release.set()
    await task
    assert sent == ["http.response.start", "http.response.body"]
    assert first.answering == 0


async def test_a_request_that_fails_before_answering_is_counted_off_once() -> None:
    first = RequestsFirst()
    started, release = asyncio.Event(), asyncio.Event()

    async def send(message: Any) -> None:  # pragma: no cover - nothing is sent
        raise AssertionError(message)

    app = _answering(first, started=started, release=release, fail=True)
    task = asyncio.create_task(app({"type": "http", "method": "PATCH"}, _nothing, send))
    await started.wait()
    assert first.answering == 1
    release.set()
    with pytest.raises(RuntimeError):
        await task
    assert first.answering == 0


async def test_reads_and_other_connections_do_not_count() -> None:
    first = RequestsFirst()
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(first.answering)

    for scope in ({"type": "lifespan"}, *({"type": "http", "method": m} for m in ("GET", "HEAD", "OPTIONS"))):
        await first.middleware(app)(scope, _nothing, _nothing)
    await first.middleware(app)({"type": "http", "method": "DELETE"}, _nothing, _nothing)
    assert seen == [0, 0, 0, 0, 1]
    assert first.answering == 0


async def _widest(first: RequestsFirst, n: int) -> int:
    """How many of ``n`` deliveries run at once, each inside ``first.turn(...)``."""
    running = widest = 0

    async def delivery() -> None:
        nonlocal running, widest
        async with first.turn("any"):
            running += 1
            widest = max(widest, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(delivery() for _ in range(n)))
    return widest


async def test_deliveries_take_one_turn_while_a_crowd_of_requests_is_answered_and_run_side_by_side_otherwise() -> None:
    first = RequestsFirst()
    assert await _widest(first, 8) == 8
    first.answering = 1  # one change at a time: a steady stream leaves the backlog at full width
    assert await _widest(first, 8) == 8
    first.answering = 2
    assert await _widest(first, 8) == 1
    first.answering = 0
    assert await _widest(first, 8) == 8


async def _order(first: RequestsFirst, plan: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """Start deliveries of ``(group, seconds)`` in that order, each a moment after the one before; returns
    ``(group, "start" | "end")`` as they happen."""
    seen: list[tuple[str, str]] = []

    async def delivery(group: str, seconds: float) -> None:
        async with first.turn(group):
            seen.append((group, "start"))
            await asyncio.sleep(seconds)
            seen.append((group, "end"))

    tasks = []
    for group, seconds in plan:
        tasks.append(asyncio.create_task(delivery(group, seconds)))
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)
    return seen


async def test_other_groups_wait_for_the_receipts_path_and_never_hold_it_back() -> None:
    first = RequestsFirst(["routing", "notification"], hold=5.0)
    seen = await _order(first, [("routing", 0.05), ("deadline", 0.01), ("notification", 0.05)])
    # the deadline's delivery starts only once both of the path's deliveries have ended; the notification's
    # did not wait for it
    assert seen.index(("deadline", "start")) > max(seen.index(("routing", "end")), seen.index(("notification", "end")))
    assert seen.index(("notification", "start")) < seen.index(("routing", "end"))
    # with nothing of the path running, nothing waits
    seen = await _order(first, [("deadline", 0.05), ("survey", 0.05), ("routing", 0.01)])
    assert [g for g, step in seen if step == "start"] == ["deadline", "survey", "routing"]
    assert seen.index(("routing", "end")) < seen.index(("deadline", "end"))


async def test_a_delivery_off_the_path_is_delayed_at_most_the_hold_never_stopped() -> None:
    first = RequestsFirst(["routing"], hold=0.05)
    seen = await _order(first, [("routing", 0.5), ("deadline", 0.01)])
    assert seen == [("routing", "start"), ("deadline", "start"), ("deadline", "end"), ("routing", "end")]


async def test_a_failed_delivery_on_the_path_stops_counting() -> None:
    first = RequestsFirst(["routing"], hold=5.0)
    with pytest.raises(RuntimeError):
        async with first.turn("routing"):
            raise RuntimeError("a handler failed")
    # still counted, the deadline's delivery would wait the whole hold (5 s)
    seen = await asyncio.wait_for(_order(first, [("deadline", 0.01)]), 1.0)
    assert seen == [("deadline", "start"), ("deadline", "end")]
