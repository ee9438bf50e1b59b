"""Shutdown is bounded: a client that hangs while closing is left behind and named, the rest still closes."""

from __future__ import annotations

import asyncio
import logging
import time

from minwon import host


async def _never_returns() -> None:
    async def leave_group() -> None:
        await asyncio.Event().wait()

    await leave_group()


async def test_a_hung_step_is_left_behind_with_where_it_waits(caplog) -> None:
    caplog.set_level(logging.ERROR, logger="minwon.host")
    started = time.monotonic()
    await host._bounded("bus", _never_returns(), 0.2)
    assert time.monotonic() - started < 5
    record = next(r for r in caplog.records if r.getMessage().startswith("shutdown step did not finish"))
    assert record.step == "bus"
    assert any("leave_group" in line for line in record.awaiting), record.awaiting


async def test_a_step_that_finishes_or_fails_is_not_reported_as_hung(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="minwon.host")
    finished: list[str] = []

    async def closes() -> None:
        finished.append("closed")

    async def fails() -> None:
        raise RuntimeError("broker gone")

    await host._bounded("stores", closes(), 1.0)
    await host._bounded("bus", fails(), 1.0)
    assert finished == ["closed"]
    messages = [r.getMessage() for r in caplog.records]
    assert "shutdown step failed" in messages and not any("did not finish" in m for m in messages)


async def test_a_services_stop_hooks_run_after_its_relay_even_when_one_fails(caplog) -> None:
    from typing import Any, cast

    from minwon.service import Service

    done: list[str] = []

    class Relay:
        async def stop(self) -> None:
            done.append("relay")

    async def fails() -> None:
        raise OSError("already closed")

    async def closes() -> None:
        done.append("client")

    service = Service(
        name="intake", store=cast(Any, None), bus=cast(Any, None), relay=cast(Any, Relay()), on_stop=[fails, closes]
    )
    caplog.set_level(logging.WARNING, logger="minwon.service")
    await service.stop()
    assert done == ["relay", "client"]
    assert any(r.getMessage() == "stop hook failed" and "already closed" in r.error for r in caplog.records)
