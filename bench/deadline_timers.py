"""Deadline timers at scale: a million open clocks in the embedded store, the scanner running.

    python -m bench deadline_timers          (or: make bench)

Setup (measured apart): a child process writes ``MINWON_BENCH_CLOCKS`` clock documents
(default 1,000,000) straight into the deadline service's SQLite table in batches
(``executemany``), then builds the service's indexes. Every clock is a real record the
service loads and recomputes: a 1-year period (a calendar count) whose next timer is the
daily-life first-response SLA at ``received_at + 24h``, so ``next_fire_at`` can be placed
at any instant. ``MINWON_BENCH_DUE_FRACTION`` of them (default 0.2%) are already due when
the run starts (a backlog, as after downtime), the rest spread over the next
``MINWON_BENCH_WINDOW_MINUTES`` (default 1440).

Run: the service's own scanner pass (``Deadlines.fire_due``: the due query, one
``Aggregates.apply`` per clock, the outbox published to an embedded bus), every
``MINWON_BENCH_INTERVAL`` seconds (default: the service default, 1 s), for
``MINWON_BENCH_SECONDS`` (default 60). The service clock starts at the instant the
clocks were generated against and runs in real time from the first pass.

Printed: setup times; per pass the duration, the due-query time, clocks and signals; timer
lateness percentiles (emission minus scheduled instant) for the backlog and for timers that
came due during the run; the process's RSS (current, before/after and the maximum over
the run; the setup ran in another process) and the traced Python heap peak during passes.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BATCH = 20_000
DEPARTMENTS = [f"dept-{i:02d}" for i in range(20)]


@dataclass
class Config:
    clocks: int = 1_000_000
    due_fraction: float = 0.002
    window_minutes: float = 1440.0
    seconds: float = 60.0
    interval: float = 1.0
    scan_limit: int = 200
    keep: bool = False
    directory: Path | None = None

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ.get
        return cls(
            clocks=int(env("MINWON_BENCH_CLOCKS", 1_000_000)),
            due_fraction=float(env("MINWON_BENCH_DUE_FRACTION", 0.002)),
            window_minutes=float(env("MINWON_BENCH_WINDOW_MINUTES", 1440)),
            seconds=float(env("MINWON_BENCH_SECONDS", 60)),
            interval=float(env("MINWON_BENCH_INTERVAL", 1.0)),
            scan_limit=int(env("MINWON_BENCH_SCAN_LIMIT", 200)),
            keep=env("MINWON_BENCH_KEEP", "") == "1",
            directory=Path(where) if (where := env("MINWON_BENCH_DIR")) else None,
        )


# ---------------------------------------------------------------- setup (a child process)


TOKENS = ("@@ID@@", "@@RECEIVED@@", "@@DUE@@", "@@WARN@@", "@@NEXT@@", "@@DEPT@@")


def _template(start: datetime) -> tuple[str, list[str]]:
    """One real stored record (as the service writes it) as a ``%`` format, and its fields in order."""
    from minwon.workcal import WorkCalendar
    from services.deadline import domain as d
    from services.deadline import tracking as t

    clock = d.mark_assigned(d.open_clock(start, "other", WorkCalendar(), period="1y", daily_life=True), start)
    record = t.Record(
        "R",
        clock=clock,
        department="D",
        handler={"id": "h-1", "name": "담당", "contact": "051"},
        facts={"kind": "other", "received_at": start.isoformat()},
        announced_due_at=clock.due_at,
    )
    doc = {**t.dump(record), "_id": "R", "_v": 1, "_inbox": [], "_outbox": []}
    doc.update(
        {
            "_id": "@@ID@@",
            "receipt_no": "@@ID@@",
            "received_at": "@@RECEIVED@@",
            "assigned_at": "@@RECEIVED@@",
            "due_at": "@@DUE@@",
            "announced_due_at": "@@DUE@@",
            "warning_at": "@@WARN@@",
            "next_fire_at": "@@NEXT@@",
            "department": "@@DEPT@@",
            "facts": {"kind": "other", "received_at": "@@RECEIVED@@"},
        }
    )
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).replace("%", "%%")
    names: list[str] = []
    pieces: list[str] = []
    while True:
        hits = [(text.find(token), token) for token in TOKENS if token in text]
        if not hits:
            pieces.append(text)
            return "%s".join(pieces), names
        at, token = min(hits)
        pieces.append(text[:at])
        names.append(token)
        text = text[at + len(token) :]


def populate(
    path: str, n: int, start_iso: str, due_fraction: float, window_minutes: float, seed: int = 7
) -> dict[str, float]:
    """Write ``n`` open clocks into the deadline store at ``path``; then its indexes."""
    from minwon.docstore import SqliteStore, iso
    from minwon.workcal import WorkCalendar
    from services.deadline import domain as d
    from services.deadline.store import INDEXES

    start = datetime.fromisoformat(start_iso)
    rng = random.Random(seed)
    calendar = WorkCalendar()
    fmt, names = _template(start)
    derived: dict[Any, tuple[str, str]] = {}
    store = SqliteStore(path)
    store.collection("clocks")  # the table, as the service creates it
    conn = store._w.conn  # noqa: SLF001 - bulk load for the benchmark's setup only (nothing else runs yet)
    t0 = time.perf_counter()
    written = 0
    build_seconds = 0.0
    while written < n:
        b0 = time.perf_counter()
        rows = []
        for i in range(written, min(n, written + BATCH)):
            if rng.random() < due_fraction:
                target = start - timedelta(seconds=rng.uniform(1, 600))
            else:
                target = start + timedelta(seconds=rng.uniform(0, window_minutes * 60))
            received = target - timedelta(hours=24)
            day = received.astimezone(calendar.zone).date()
            if day not in derived:
                clock = d.open_clock(received, "other", calendar, period="1y", daily_life=True)
                assert clock.due_at is not None and clock.warning_at is not None  # a one-year period is dated
                derived[day] = (iso(clock.due_at), iso(clock.warning_at))
            due, warn = derived[day]
            values = {
                "@@ID@@": f"2026-BENCH-{i:09d}",
                "@@RECEIVED@@": iso(received),
                "@@DUE@@": due,
                "@@WARN@@": warn,
                "@@NEXT@@": iso(target),
                "@@DEPT@@": DEPARTMENTS[i % len(DEPARTMENTS)],
            }
            rows.append((values["@@ID@@"], fmt % tuple(values[name] for name in names)))
        build_seconds += time.perf_counter() - b0
        conn.execute("BEGIN")
        conn.executemany('INSERT INTO "c_clocks" (id, doc) VALUES (?, ?)', rows)
        conn.execute("COMMIT")
        written += len(rows)
    inserted = time.perf_counter() - t0
    i0 = time.perf_counter()
    clocks = store.collection("clocks")
    for fields in INDEXES:  # what DeadlineStore.setup() creates, timed here
        asyncio.run(clocks.ensure_index(*fields))
    indexed = time.perf_counter() - i0
    size = Path(path).stat().st_size
    conn.close()
    return {
        "insert_seconds": inserted,
        "build_docs_seconds": build_seconds,
        "index_seconds": indexed,
        "db_bytes": float(size),
    }


def _populate_child(queue: Any, *args: Any) -> None:
    queue.put(populate(*args))


# ---------------------------------------------------------------- run


def _rss_mb() -> float:
    """The process's current resident set (not the peak)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class Passes:
    durations: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    fired: list[int] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)


async def scan(config: Config, directory: Path, start: datetime) -> dict[str, Any]:
    from minwon.bus import SqliteBus
    from minwon.docstore import SqliteStore, iso
    from minwon.settings import Settings
    from minwon.topics import DEADLINES
    from services.deadline.bootstrap import build
    from services.deadline.settings import DeadlineSettings

    rss_before = _rss_mb()
    store = SqliteStore(directory / "deadline.db")
    bus = SqliteBus(directory / "events.db")
    origin = time.monotonic()

    def clock() -> datetime:  # the service clock: ``start`` at the first pass, then real time
        return start + timedelta(seconds=time.monotonic() - origin)

    deadlines = build(
        Settings(data_dir=directory),
        store=store,
        bus=bus,
        clock=clock,
        deadline_settings=DeadlineSettings(scan_limit=config.scan_limit),
    )
    await deadlines.start()

    passes = Passes()
    origin = time.monotonic()
    rss_start = _rss_mb()
    traced_peak = 0.0
    while time.monotonic() - origin < config.seconds:
        tracing = 2 <= len(passes.durations) < 7  # the heap over a few passes, the backlog's full pages
        if tracing and not tracemalloc.is_tracing():
            tracemalloc.start()
        elif not tracing and tracemalloc.is_tracing():
            tracemalloc.stop()
        q0 = time.perf_counter()
        await deadlines.store.due(now=clock(), limit=config.scan_limit)
        passes.query.append(time.perf_counter() - q0)
        p0 = time.perf_counter()
        fired = await deadlines.fire_due()
        passes.durations.append(time.perf_counter() - p0)
        passes.fired.append(fired)
        passes.rss.append(_rss_mb())
        if tracing:
            traced_peak = max(traced_peak, tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.reset_peak()
        await asyncio.sleep(config.interval)
    if tracemalloc.is_tracing():
        tracemalloc.stop()
    rss_after = _rss_mb()
    remaining_due = await deadlines.store.clocks.coll.count({"next_fire_at": {"$lte": iso(clock())}})

    # the same query through the port's own find, in the steady state (few clocks due): SQLite cannot use
    # the index when the JSON path is a bound parameter, so it walks all of it
    coll = store.collection("clocks")
    q0 = time.perf_counter()
    await coll.find({"next_fire_at": {"$lte": iso(clock())}}, sort=[("next_fire_at", 1)], limit=config.scan_limit)
    port_query = time.perf_counter() - q0
    q0 = time.perf_counter()
    await deadlines.store.due(now=clock(), limit=config.scan_limit)
    indexed_query = time.perf_counter() - q0

    backlog: list[float] = []
    live: list[float] = []
    drained = 0.0
    async for _, event in bus.read([DEADLINES]):
        scheduled = datetime.fromisoformat(event.data["scheduled_at"])
        late = (event.time - scheduled).total_seconds()
        (backlog if scheduled < start else live).append(late)
        if scheduled < start:
            drained = max(drained, (event.time - start).total_seconds())
    bus.close()
    await store.close()
    return {
        "rss_mb": {
            "before_open": round(rss_before, 1),
            "first_pass": round(rss_start, 1),
            "after_run": round(rss_after, 1),
            "max_over_passes": round(max(passes.rss, default=0), 1),
            "min_over_passes": round(min(passes.rss, default=0), 1),
            "process_peak_maxrss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "traced_heap_peak_mb_per_pass": round(traced_peak, 2),
        "passes": len(passes.durations),
        "pass_seconds": _summary(passes.durations),
        "due_query_ms": {k: round(v * 1000, 2) for k, v in _summary(passes.query).items()},
        "steady_due_query_ms": {"indexed": round(indexed_query * 1000, 2), "port_find": round(port_query * 1000, 1)},
        "backlog_drained_after_seconds": round(drained, 1),
        "signals_per_pass": {
            "max": max(passes.fired, default=0),
            "mean": round(statistics.fmean(passes.fired), 1) if passes.fired else 0,
        },
        "signals_emitted": len(backlog) + len(live),
        "lateness_seconds": {"backlog": _lateness(backlog), "came_due_during_run": _lateness(live)},
        "still_due_at_end": remaining_due,
    }


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(_pct(values, 50), 4), "p95": round(_pct(values, 95), 4), "max": round(max(values), 4)}


def _lateness(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(_pct(values, 50), 2),
        "p95": round(_pct(values, 95), 2),
        "p99": round(_pct(values, 99), 2),
        "max": round(max(values), 2),
    }


def run(config: Config | None = None) -> dict[str, Any]:
    config = config or Config.from_env()
    directory = config.directory or Path(tempfile.mkdtemp(prefix="minwon-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    start = datetime.now(UTC).replace(microsecond=0)
    try:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        s0 = time.perf_counter()
        child = ctx.Process(
            target=_populate_child,
            args=(
                queue,
                str(directory / "deadline.db"),
                config.clocks,
                start.isoformat(),
                config.due_fraction,
                config.window_minutes,
            ),
        )
        child.start()
        setup = queue.get()
        child.join()
        setup["total_seconds"] = time.perf_counter() - s0
        result = asyncio.run(scan(config, directory, start))
    finally:
        if not config.keep:
            shutil.rmtree(directory, ignore_errors=True)
    report = {
        "benchmark": "deadline_timers",
        "clocks": config.clocks,
        "due_at_start": "~" + str(round(config.clocks * config.due_fraction)),
        "window_minutes": config.window_minutes,
        "run_seconds": config.seconds,
        "interval_seconds": config.interval,
        "scan_limit": config.scan_limit,
        "sqlite": sqlite3.sqlite_version,
        "setup": {k: round(v, 1) if k != "db_bytes" else f"{v / 2**20:.0f} MiB" for k, v in setup.items()},
        **result,
    }
    return report


def show(report: dict[str, Any]) -> None:
    lines = [
        f"deadline timers: {report['clocks']:,} open clocks (SQLite {report['sqlite']}), "
        f"{report['due_at_start']} due at start, the rest over {report['window_minutes']:g} min",
        f"  setup (separate process): {report['setup']['total_seconds']} s total — documents "
        f"{report['setup']['build_docs_seconds']} s, insert {report['setup']['insert_seconds']} s (incl. documents), "
        f"indexes {report['setup']['index_seconds']} s; database {report['setup']['db_bytes']}",
        f"  run: {report['passes']} passes in {report['run_seconds']:g} s (interval {report['interval_seconds']:g} s, "
        f"≤{report['scan_limit']} clocks a pass), {report['signals_emitted']} signals emitted, "
        f"{report['still_due_at_end']} still due at the end",
        f"  pass duration s: {report['pass_seconds']}",
        f"  due query ms (index): {report['due_query_ms']}; steady state, once: {report['steady_due_query_ms']}",
        f"  backlog drained {report['backlog_drained_after_seconds']} s after the first pass",
        f"  lateness s, backlog: {report['lateness_seconds']['backlog']}",
        f"  lateness s, came due during the run: {report['lateness_seconds']['came_due_during_run']}",
        f"  RSS MiB: {report['rss_mb']}",
        f"  traced Python heap peak per pass (full pages): {report['traced_heap_peak_mb_per_pass']} MiB",
    ]
    print("\n".join(lines))
    print(json.dumps(report, ensure_ascii=False))


def main() -> None:
    show(run())


if __name__ == "__main__":
    main()
