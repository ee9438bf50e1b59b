"""One minute that many timers share: the cost of a filing as the minute fills.

    python -m bench timer_minute          (or: make bench)

Every complaint filed outside working hours has its first signal (the assignment SLA) at the same
minute of the next working morning, so a night's complaints all file their clock under one minute of
the deadline service's timer wheel (``minwon.timers``). Here ``MINWON_BENCH_MINUTE_FILINGS`` ids
(default 5,000) are filed under one minute by ``MINWON_BENCH_MINUTE_LANES`` concurrent writers
(default 8, as a consumer's lanes), on the embedded store (SQLite) and on the bench's FerretDB
(started as the pipeline bench starts it; ``MINWON_BENCH_BACKENDS`` picks).

Printed: the mean time of a filing among the first 10 % and among the last 10 % (in the order they
began), their ratio (1.0 is flat), and the largest bucket document stored, in ids. A ratio, never a
timed assertion: the machine's speed cancels out within the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from minwon import timers
from minwon.docstore import DocumentStore, MongoStore, SqliteStore


def _log(message: str) -> None:
    print(f"[bench timer_minute] {message}", flush=True)


async def fill(store: DocumentStore, filings: int, lanes: int) -> dict[str, Any]:
    coll = store.collection(f"clock_timers_{uuid.uuid4().hex[:6]}", deletes=True)
    at = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    wheel = timers.TimeIndex(coll, ("next_fire_at",), clock=lambda: at - timedelta(hours=12))
    took: list[float] = [0.0] * filings
    order = iter(range(filings))

    async def lane() -> None:
        for n in order:
            began = time.perf_counter()
            await wheel.file(f"2030-BENCH-{n:07d}", at)
            took[n] = time.perf_counter() - began

    await asyncio.gather(*(lane() for _ in range(lanes)))
    tenth = max(1, filings // 10)
    first, last = sum(took[:tenth]) / tenth, sum(took[-tenth:]) / tenth
    largest = 0
    for shard in range(wheel.shards):
        page = 0
        while (doc := await coll.get(wheel._page(f"2030-01-07T09:00/{shard}", page))) is not None:
            largest, page = max(largest, len(doc.get("ids", []))), page + 1
    return {
        "filings": filings,
        "lanes": lanes,
        "first_10pct_ms": round(first * 1000, 2),
        "last_10pct_ms": round(last * 1000, 2),
        "ratio_last_to_first": round(last / first, 2),
        "largest_bucket_ids": largest,
    }


def run() -> dict[str, Any]:
    filings = int(os.environ.get("MINWON_BENCH_MINUTE_FILINGS", "5000"))
    lanes = int(os.environ.get("MINWON_BENCH_MINUTE_LANES", "8"))
    backends = os.environ.get("MINWON_BENCH_BACKENDS", "embedded,distributed").split(",")
    report: dict[str, Any] = {"benchmark": "timer_minute", "page_ids": timers.PAGE_IDS}
    if "embedded" in backends:
        with tempfile.TemporaryDirectory(prefix="minwon-bench-minute-") as tmp:
            _log(f"embedded: {filings} filings under one minute, {lanes} lanes")
            store = SqliteStore(Path(tmp) / "deadline.db")
            try:
                report["embedded"] = asyncio.run(fill(store, filings, lanes))
            finally:
                asyncio.run(store.close())
    if "distributed" in backends:
        from bench.pipeline import _brokers

        env, infra, started = _brokers(Path(tempfile.mkdtemp(prefix="minwon-bench-minute-")))
        try:
            _log(f"FerretDB: {filings} filings under one minute, {lanes} lanes")

            async def on_ferretdb() -> dict[str, Any]:
                store = MongoStore(env["MONGODB_URI"], f"bench_minute_{uuid.uuid4().hex[:6]}")
                try:
                    return await fill(store, filings, lanes)
                finally:
                    await store.drop()
                    await store.close()

            report["distributed"] = asyncio.run(on_ferretdb())
        finally:
            if infra is not None and started and os.environ.get("MINWON_BENCH_KEEP") != "1":
                infra.down()
    return report


def show(report: dict[str, Any]) -> None:
    print(f"One minute of the timer wheel shared by many filings (pages of {report['page_ids']} ids):")
    for name in ("embedded", "distributed"):
        if name in report:
            r = report[name]
            print(
                f"  {name:11} {r['filings']} filings, {r['lanes']} lanes: first 10 % {r['first_10pct_ms']} ms,"
                f" last 10 % {r['last_10pct_ms']} ms, ratio {r['ratio_last_to_first']}"
                f" (largest bucket document: {r['largest_bucket_ids']} ids)"
            )
    print(json.dumps(report))


def main() -> None:
    show(run())


if __name__ == "__main__":
    main()
