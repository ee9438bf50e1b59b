"""The whole pipeline against raw limits measured in the same run, on both backends.

    python -m bench pipeline          (or: make bench, which runs every benchmark)

Everything runs as an operator would run it: ``minwon run`` (embedded) or the six services as
separate ``minwon service <name>`` processes (distributed, on the bench's own Kafka and FerretDB
from ``deploy/local/infra.sh``: run dir ``/tmp/minwon-bench-infra``, Kafka 18092, FerretDB
16017, taken down afterwards if the bench brought them up). Citizens are threads of this
process posting over HTTP to 127.0.0.1; a complaint is *done* when notification has recorded
its receipt notice (the notice's ``created_at``, read back over the API after the run).

Printed, per backend:

- raw limits: SQLite inserts/s with the embedded store's durability (WAL, ``synchronous=FULL``,
  one commit per insert); aiokafka ``acks=all`` produces/s and FerretDB ``insert_one``/s, each with
  one and with ``clients`` in flight; the combined distributed limit is one produce plus one insert per
  item: ``1 / (1/produce + 1/insert)`` at ``clients`` in flight. Each limit is the best of
  :data:`RAW_ROUNDS` rounds, all printed. Documents and events are copies of real ones taken from the run.
- intake POSTs/s (``clients`` concurrent citizens, embedded) and end-to-end complaints/s
  (first POST to the last receipt notice recorded), each as a ratio to its raw limit.
- CPU per complaint in the burst, by process (``/proc``): ``minwon run``, or each service,
  Kafka and FerretDB when the bench runs them: where the machine's time goes.
- POST-to-receipt-notice latency p50/p99 at a fixed offered rate (open loop: each POST leaves on
  schedule whatever the earlier ones did). A notice missing at the bound counts as infinitely
  late, so p99 says ``>bound`` when more than 1 % are missing.
- growth: the cost of an operation (one complaint filed → its receipt notice; ``cohort``
  complaints at ``clients`` concurrency, wall time per complaint) when the stores hold about
  nothing (the first 10 % of operations) and when they hold 90 % of each size (the last 10 %);
  the ratio last/first per size. The stores are filled between cohorts by copying the rows the
  first cohort left in every service's store (every table, or every collection of every
  database of the run) under fresh receipt numbers and ids: documents exactly as the services
  write them, whatever the layout. The event log is not filled (only real operations write it).

Sizes: ``MINWON_BENCH_SCALE=small`` (quick) or ``full`` (default). Each figure can be set:
``MINWON_BENCH_CLIENTS``, ``MINWON_BENCH_RAW_OPS``, ``MINWON_BENCH_BURST`` (embedded),
``MINWON_BENCH_BURST_DISTRIBUTED``, ``MINWON_BENCH_RATE`` (20/s), ``MINWON_BENCH_RATE_SECONDS``,
``MINWON_BENCH_GROWTH_SIZES`` (``1000,10000,100000``), ``MINWON_BENCH_COHORT``,
``MINWON_BENCH_COHORT_DISTRIBUTED``, ``MINWON_BENCH_WAIT_SECONDS`` (the bound on any wait for
notices), ``MINWON_BENCH_BACKENDS`` (``embedded,distributed``), ``MINWON_BENCH_DIR``,
``MINWON_BENCH_KEEP=1``; ``MINWON_BENCH_KAFKA`` + ``MINWON_BENCH_MONGODB_URI`` use servers you
already run (nothing is stopped or restarted).

Nothing here asserts a timing: the bench only prints.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.e2e.harness import MinwonProcess
from tests.factories import STAFF_TEST_SECRET as STAFF
from tests.factories import TEST_SECRETS_ENV
from tests.soak.harness import (
    QUICK_ENV,
    Citizens,
    Filing,
    LocalInfra,
    distributed_env,
    filings,
    percentile,
    service_processes,
    start_all,
    stop_all,
)

RECEIPT_NOTICE = "citizen.receipt"
T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    scale: str
    clients: int
    raw_ops: int
    burst: int
    burst_distributed: int
    rate: float
    rate_seconds: float
    growth_sizes: tuple[int, ...]
    cohort: int
    cohort_distributed: int
    wait_seconds: float
    settle_seconds: float
    backends: tuple[str, ...]
    directory: Path | None
    keep: bool

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ.get
        scale = env("MINWON_BENCH_SCALE", "full")
        if scale not in ("small", "full"):
            raise SystemExit(f"MINWON_BENCH_SCALE={scale!r}: small or full")
        full = scale == "full"
        sizes = env("MINWON_BENCH_GROWTH_SIZES", "1000,10000,100000" if full else "1000,10000")
        return cls(
            scale=scale,
            clients=int(env("MINWON_BENCH_CLIENTS", 16 if full else 8)),
            raw_ops=int(env("MINWON_BENCH_RAW_OPS", 5000 if full else 1000)),
            burst=int(env("MINWON_BENCH_BURST", 1000 if full else 200)),
            burst_distributed=int(env("MINWON_BENCH_BURST_DISTRIBUTED", 300 if full else 60)),
            rate=float(env("MINWON_BENCH_RATE", 20)),
            rate_seconds=float(env("MINWON_BENCH_RATE_SECONDS", 30 if full else 10)),
            growth_sizes=tuple(int(s) for s in sizes.split(",") if s.strip()),
            cohort=int(env("MINWON_BENCH_COHORT", 100 if full else 50)),
            cohort_distributed=int(env("MINWON_BENCH_COHORT_DISTRIBUTED", 50 if full else 20)),
            wait_seconds=float(env("MINWON_BENCH_WAIT_SECONDS", 600 if full else 120)),
            settle_seconds=float(env("MINWON_BENCH_SETTLE_SECONDS", 5)),
            backends=tuple(
                b.strip() for b in env("MINWON_BENCH_BACKENDS", "embedded,distributed").split(",") if b.strip()
            ),
            directory=Path(where) if (where := env("MINWON_BENCH_DIR")) else None,
            keep=env("MINWON_BENCH_KEEP", "") == "1",
        )


def _log(message: str) -> None:
    print(f"[bench pipeline] {message}", flush=True)


# ---------------------------------------------------------------- load


def file_burst(url: str, n: int, clients: int) -> tuple[list[Filing], float, list[float]]:
    """``n`` complaints from ``clients`` concurrent citizens: (filings, seconds, POST latencies)."""
    citizens = Citizens(lambda: url, filings(n), clients=clients, give_up=60)
    citizens.start()
    citizens.join()
    return citizens.work, citizens.finished - citizens.started, citizens.latencies


def file_at_rate(url: str, rate: float, seconds: float) -> list[Filing]:
    """Open loop: complaint ``i`` leaves at ``i / rate`` whatever the earlier ones did."""
    work = filings(int(rate * seconds))
    local = threading.local()

    def post(item: Filing) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        item.sent_at = time.time()
        item.attempts = 1
        try:
            r = local.client.post(f"{url}/api/v1/complaints", json=item.payload, headers={"Idempotency-Key": item.key})
        except httpx.HTTPError as exc:
            item.last_error = type(exc).__name__
            return
        item.status = r.status_code
        if 200 <= r.status_code < 300:
            item.receipt = r.json()["receipt_no"]
            item.acked_at = time.time()

    with ThreadPoolExecutor(64) as pool:
        t0 = time.monotonic()
        for i, item in enumerate(work):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(post, item)
    return work


def await_notices(url: str, receipts: Sequence[str], bound: float) -> dict[str, float]:
    """When notification recorded each receipt notice (epoch seconds), polling one complaint at
    a time in filing order (a light load on the system measured); stops at ``bound`` seconds."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + bound
    with httpx.Client(timeout=30) as client:
        for receipt in receipts:
            while time.monotonic() < deadline:
                try:
                    r = client.get(f"{url}/api/v1/notifications", params={"receipt_no": receipt}, headers=STAFF)
                    notices = (
                        [n for n in r.json().get("items", []) if n["template"] == RECEIPT_NOTICE]
                        if r.status_code == 200
                        else []
                    )
                except (httpx.HTTPError, ValueError):
                    notices = []
                if notices and notices[0].get("created_at"):
                    found[receipt] = datetime.fromisoformat(notices[0]["created_at"]).timestamp()
                    break
                time.sleep(0.25)
            else:
                break
    return found


@dataclass
class Outcome:
    """A run of complaints: how many were acknowledged and done, how fast, how late."""

    filed: int
    acknowledged: int
    done: int
    seconds_first_post_to_last_notice: float | None
    per_second: float | None
    latency_p50_s: float | None
    latency_p99_s: float | None
    post_p50_ms: float | None

    @property
    def complete(self) -> bool:
        return self.done == self.filed


def outcome(work: Sequence[Filing], notices: dict[str, float], post_latencies: Sequence[float] = ()) -> Outcome:
    acked = [f for f in work if f.receipt]
    done = [f for f in acked if f.receipt in notices]
    lat = [notices[f.receipt] - f.sent_at for f in done if f.receipt] + [math.inf] * (len(work) - len(done))
    span = (max(notices[f.receipt] for f in done if f.receipt) - min(f.sent_at for f in work)) if done else None
    posts = post_latencies or [f.acked_at - f.sent_at for f in acked]
    return Outcome(
        filed=len(work),
        acknowledged=len(acked),
        done=len(done),
        seconds_first_post_to_last_notice=_r(span),
        per_second=_r(len(done) / span, digits=2) if span else None,
        latency_p50_s=_r(percentile(lat, 50)),
        latency_p99_s=_r(percentile(lat, 99)),
        post_p50_ms=_r(percentile(posts, 50), 1000),
    )


def _r(value: float | None, factor: float = 1.0, digits: int = 3) -> float | None:
    if value is None:
        return None
    if math.isinf(value):
        return math.inf
    return round(value * factor, digits)


# ---------------------------------------------------------------- raw limits


RAW_ROUNDS = 3
"""Rounds of each raw limit: this disk's fsync time swings between minutes (SQLite 1,586 and 3,337 inserts/s
two minutes apart; FerretDB's ``insert_one`` 250 to 700/s in one hour), so a limit is its best round and the
printed rounds show the swing."""


def rounds_of(measure: Callable[[], T], rounds: int = RAW_ROUNDS) -> list[T]:
    """``measure()`` ``rounds`` times, a second apart."""
    results = []
    for i in range(rounds):
        if i:
            time.sleep(1)
        results.append(measure())
    return results


def raw_sqlite(directory: Path, doc: dict[str, Any], n: int) -> float:
    """Inserts/s into a fresh SQLite file with the embedded store's durability: WAL,
    synchronous=FULL, one commit per insert (autocommit), documents like a stored complaint."""
    path = directory / "raw.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE c (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    rows = [(f"raw-{i:09d}", json.dumps({**doc, "_id": f"raw-{i:09d}"}, ensure_ascii=False)) for i in range(n)]
    t0 = time.perf_counter()
    for row in rows:
        conn.execute("INSERT INTO c (id, doc) VALUES (?, ?)", row)
    seconds = time.perf_counter() - t0
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return n / seconds


async def _in_flight(n: int, width: int, one: Any) -> float:
    """Items/s doing ``one(i)`` ``n`` times with ``width`` of them in flight."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return n / (time.perf_counter() - t0)


async def raw_kafka(bootstrap: str, topic: str, value: bytes, n: int, width: int) -> dict[str, float]:
    """aiokafka produces/s with ``acks=all``, each awaited: one in flight, then ``width``."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries while the new topic gets leaders
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-raw")
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="bench-raw")
    await producer.start()
    try:
        for i in range(20):  # metadata, leaders, connections
            await producer.send_and_wait(topic, value, key=f"warm-{i}".encode())

        async def one(i: int) -> None:
            await producer.send_and_wait(topic, value, key=f"2026-BENCH-{i:07d}".encode())

        return {"1": await _in_flight(n, 1, one), str(width): await _in_flight(n, width, one)}
    finally:
        await producer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-raw")
        await admin.start()
        try:
            await admin.delete_topics([topic])
        except Exception:  # noqa: BLE001 - the bench's own broker; a left topic is harmless
            pass
        finally:
            await admin.close()


async def raw_mongo(uri: str, database: str, doc: dict[str, Any], n: int, width: int) -> dict[str, float]:
    """``insert_one``/s of stored-complaint-shaped documents: one in flight, then ``width``."""
    from pymongo import AsyncMongoClient

    client: Any = AsyncMongoClient(uri, serverSelectionTimeoutMS=10000)
    coll = client[database]["c"]
    try:
        await coll.insert_one({**doc, "_id": "warm"})
        runs = {}
        for label, w in (("1", 1), (str(width), width)):

            async def one(i: int, label: str = label) -> None:
                await coll.insert_one({**doc, "_id": f"raw-{label}-{i:09d}"})

            runs[label] = await _in_flight(n, w, one)
        return runs
    finally:
        await client.drop_database(database)
        await client.close()


# ---------------------------------------------------------------- filling the stores

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NS = uuid.UUID("6f1c1f5e-8d0e-4a53-9f3e-2b1d7c0a9e11")


class Cloner:
    """Rewrites a template complaint's stored text as copy ``n``: a fresh receipt number
    (``<year>-<org>-9xxxxxx``, never issued by intake's counter in a bench) and fresh UUIDs,
    the same one for the same UUID across every row and store of copy ``n``."""

    def __init__(self, templates: Sequence[str]):
        self.templates = list(templates)
        self._mentions = re.compile("|".join(re.escape(t) for t in self.templates))

    def owner(self, text: str) -> str | None:
        """The one template complaint a row belongs to (rows naming several are shared state)."""
        named = set(self._mentions.findall(text))
        return named.pop() if len(named) == 1 else None

    def receipt(self, n: int) -> str:
        template = self.templates[n % len(self.templates)]
        return f"{template[:-7]}{9_000_000 + n:07d}"

    def rewrite(self, text: str, template: str, n: int) -> str:
        new = self.receipt(n)
        text = text.replace(template, new)
        return _UUID.sub(lambda m: str(uuid.uuid5(_NS, f"{m.group(0)}:{n}")), text)


def clone_sqlite(data_dir: Path, cloner: Cloner, first: int, count: int) -> int:
    """Copy the template complaints' rows of every service file into ``count`` new complaints
    (copies ``first .. first+count-1``); the files must not be in use. Returns rows written."""
    written = 0
    for path in sorted(data_dir.glob("*.db")):
        if path.name == "events.db":
            continue
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        plans: dict[str, list[tuple[str, list[str], list[Any]]]] = {t: [] for t in cloner.templates}
        for table in tables:
            info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            pks = [r for r in info if r[5]]
            # an INTEGER PRIMARY KEY is the rowid: copies get their own
            skip = {pks[0][1]} if len(pks) == 1 and pks[0][2].upper() == "INTEGER" else set()
            columns = [r[1] for r in info if r[1] not in skip]
            names = ", ".join(f'"{c}"' for c in columns)
            for row in conn.execute(f'SELECT {names} FROM "{table}"'):
                owner = cloner.owner(" ".join(v for v in row if isinstance(v, str)))
                if owner is not None:
                    plans[owner].append((table, columns, list(row)))
        before = conn.total_changes
        conn.execute("BEGIN")
        for n in range(first, first + count):
            template = cloner.templates[n % len(cloner.templates)]
            for table, columns, values in plans[template]:
                copy = [cloner.rewrite(v, template, n) if isinstance(v, str) else v for v in values]
                marks = ", ".join("?" * len(columns))
                names = ", ".join(f'"{c}"' for c in columns)
                conn.execute(f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})', copy)
            if (n - first) % 5000 == 4999:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        conn.execute("COMMIT")
        written += conn.total_changes - before
        conn.close()
    return written


async def clone_mongo(uri: str, prefix: str, cloner: Cloner, first: int, count: int) -> int:
    """The same for every collection of every database of the run (``<prefix>*``), through
    ``insert_many`` of the documents exactly as stored, except that a copy's version markers
    (``<collection>.versions``) are stubs without the document they carried: what the store
    keeps of a marker 16 versions on (``MARKERS_KEPT``), and only ever read to roll forward a
    write that crashed midway, which no copy has. The same keys in the same ``_id`` indexes;
    about half the disk (FerretDB grew some 580 KB per complaint copied whole: 90,000 did not
    fit). A copy's outbox is empty: its template's events were published, and the relay's
    recovery sweep would publish the copies' again, as events of complaints no one filed.
    Returns documents written."""
    from bson import json_util
    from pymongo import AsyncMongoClient
    from pymongo.errors import BulkWriteError

    client: Any = AsyncMongoClient(uri, serverSelectionTimeoutMS=10000)

    async def database(name: str) -> int:
        written = 0
        db = client[name]
        for coll_name in await db.list_collection_names():
            coll = db[coll_name]
            plans: dict[str, list[str]] = {t: [] for t in cloner.templates}
            markers = coll_name.endswith(".versions")
            async for raw in coll.find({}):
                owner = cloner.owner(json_util.dumps(raw))  # whose marker: named in the document it carried
                if owner is not None:
                    if markers:
                        raw.pop("doc", None)
                    if raw.get("_outbox"):  # published for the template (its clearing write may not have come yet)
                        raw["_outbox"] = []
                    plans[owner].append(json_util.dumps(raw))
            if not any(plans.values()):
                continue
            batch: list[Any] = []
            for n in range(first, first + count):
                template = cloner.templates[n % len(cloner.templates)]
                batch.extend(json_util.loads(cloner.rewrite(t, template, n)) for t in plans[template])
                if len(batch) >= 2000 or n == first + count - 1:
                    if batch:
                        try:
                            written += len((await coll.insert_many(batch, ordered=False)).inserted_ids)
                        except BulkWriteError as exc:
                            written += exc.details.get("nInserted", 0)
                    batch = []
        return written

    try:  # one database per service: FerretDB keeps each in its own file, so they fill side by side
        names = [n for n in await client.list_database_names() if n.startswith(prefix)]
        return sum(await asyncio.gather(*(database(n) for n in names)))
    finally:
        await client.close()


# ---------------------------------------------------------------- the two systems


class Embedded:
    """``minwon run`` on a fresh data directory per phase."""

    name = "embedded"

    def __init__(self, base: Path):
        self.base = base
        self.proc: MinwonProcess | None = None
        self.phase = 0

    def start(self, fresh: bool = True) -> None:
        if fresh or self.proc is None:
            self.phase += 1
            self.proc = MinwonProcess(self.base / f"embedded-{self.phase}", env={**QUICK_ENV, **TEST_SECRETS_ENV})
        self.proc.start(120)

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    @property
    def intake(self) -> str:
        assert self.proc
        return self.proc.url

    notification = intake

    def pids(self) -> dict[str, int]:
        return {"minwon run": self.proc.proc.pid} if self.proc and self.proc.proc else {}

    def commands(self) -> dict[str, float]:
        return {}  # SQLite in the process: no document server to count commands to

    def scan_seconds(self) -> float:
        """Seconds spent so far in queries that grow with the stores (``minwon.scans``)."""
        return _summed([self.proc] if self.proc else [], "minwon_store_scan_seconds_total")

    def scans_running(self) -> float:
        return _summed([self.proc] if self.proc else [], "minwon_store_scans_running")

    def fill(self, cloner: Cloner, first: int, count: int) -> int:
        assert self.proc
        self.proc.stop()
        written = clone_sqlite(self.proc.data_dir, cloner, first, count)
        self.start(fresh=False)
        return written


def settle(system: Embedded | Distributed, config: Config) -> float:
    """Wait out the start-up passes (recovery sweeps, first gauge counts): ``settle_seconds``, then until
    no scan has run for 3 s (bounded by ``wait_seconds``). Returns the seconds waited."""
    started = time.perf_counter()
    time.sleep(config.settle_seconds)
    quiet = 0
    while quiet < 3 and time.perf_counter() - started < config.wait_seconds:
        quiet = quiet + 1 if system.scans_running() == 0 else 0
        time.sleep(1)
    return time.perf_counter() - started


def _summed(procs: Iterable[Any], metric: str) -> float:
    """``metric`` summed over its series in every process's ``/metrics``."""
    return sum(value for proc in procs for _, value in proc.metrics().get(metric, []))


class Distributed:
    """The six services as processes, on fresh topics and databases per phase."""

    name = "distributed"

    def __init__(self, base: Path, brokers: dict[str, str], servers: dict[str, int] | None = None):
        self.base = base
        self.brokers = brokers
        self.procs: dict[str, MinwonProcess] = {}
        self.tag = ""
        self.servers = servers or {}
        """Process ids of Kafka and FerretDB when the bench runs them (their CPU is counted too)."""

    def pids(self) -> dict[str, int]:
        return {**{n: p.proc.pid for n, p in self.procs.items() if p.proc}, **self.servers}

    def start(self, fresh: bool = True) -> None:
        if fresh or not self.procs:
            self.tag = f"bench{uuid.uuid4().hex[:8]}"
            self.procs = service_processes(self.base / self.tag, distributed_env(self.brokers, self.tag))
        start_all(self.procs)

    def stop(self) -> None:
        stop_all(self.procs)

    def commands(self) -> dict[str, float]:
        """Commands each service has sent to the document server so far (``minwon_store_commands_total``)."""
        return {name: _summed([proc], "minwon_store_commands_total") for name, proc in self.procs.items()}

    def scan_seconds(self) -> float:
        """Seconds spent so far in queries that grow with the stores (``minwon.scans``)."""
        return _summed(self.procs.values(), "minwon_store_scan_seconds_total")

    def scans_running(self) -> float:
        return _summed(self.procs.values(), "minwon_store_scans_running")

    @property
    def intake(self) -> str:
        return self.procs["intake"].url

    @property
    def notification(self) -> str:
        return self.procs["notification"].url

    def fill(self, cloner: Cloner, first: int, count: int) -> int:
        """Copies written with the services stopped, then started again: as a store grows over months,
        its scans are paced by what they cost at its size, which a sudden fill would not give them."""
        self.stop()
        written = asyncio.run(clone_mongo(self.brokers["MONGODB_URI"], f"{self.tag}_", cloner, first, count))
        self.start(fresh=False)
        return written

    async def drop(self, tags: Iterable[str]) -> None:
        from pymongo import AsyncMongoClient

        client: Any = AsyncMongoClient(self.brokers["MONGODB_URI"], serverSelectionTimeoutMS=10000)
        try:
            for name in await client.list_database_names():
                if any(name.startswith(f"{t}_") for t in tags):
                    await client.drop_database(name)
        finally:
            await client.close()


def phases(system: Embedded | Distributed, config: Config, burst: int, cohort: int) -> dict[str, Any]:
    """Fixed-rate latency, then the burst, then growth: each on a fresh system."""
    out: dict[str, Any] = {}
    tags = []

    _log(f"{system.name}: {config.rate:g}/s for {config.rate_seconds:g} s")
    system.start()
    tags.append(getattr(system, "tag", ""))
    try:
        work = file_at_rate(system.intake, config.rate, config.rate_seconds)
        notices = await_notices(system.notification, [f.receipt for f in work if f.receipt], config.wait_seconds)
        out["fixed_rate"] = asdict(outcome(work, notices))
    finally:
        system.stop()

    _log(f"{system.name}: burst of {burst} from {config.clients} citizens")
    system.start()
    tags.append(getattr(system, "tag", ""))
    try:
        pids = system.pids()
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        sent = system.commands()
        work, seconds, posts = file_burst(system.intake, burst, config.clients)
        acked = sum(1 for f in work if f.receipt)
        out["intake_posts_per_second"] = round(acked / seconds, 1)
        notices = await_notices(system.notification, [f.receipt for f in work if f.receipt], config.wait_seconds)
        out["burst"] = asdict(outcome(work, notices, posts))
        out["cpu_ms_per_complaint"] = cpu_per_item(before, {n: cpu_seconds(p) for n, p in pids.items()}, len(notices))
        if sent:
            out["store_commands_per_complaint"] = cpu_per_item(sent, system.commands(), len(notices), scale=1)
    finally:
        system.stop()
    out["sample"] = sample(system, work)

    out["growth"] = growth(system, config, cohort)
    tags.append(getattr(system, "tag", ""))
    if isinstance(system, Distributed) and not config.keep:
        asyncio.run(system.drop([t for t in tags if t]))
    return out


def sample(system: Embedded | Distributed, work: Sequence[Filing]) -> dict[str, Any]:
    """A stored complaint and a published event of this run, to shape the raw limits' items."""
    receipt = next(f.receipt for f in work if f.receipt)

    async def read() -> dict[str, Any]:
        from minwon.bus import KafkaBus, SqliteBus
        from minwon.docstore import MongoStore, SqliteStore
        from minwon.topics import COMPLAINTS

        if isinstance(system, Embedded):
            assert system.proc
            store: Any = SqliteStore(system.proc.data_dir / "intake.db")
            bus: Any = SqliteBus(system.proc.data_dir / "events.db")
        else:
            store = MongoStore(system.brokers["MONGODB_URI"], f"{system.tag}_intake")
            bus = KafkaBus(system.brokers["KAFKA_BOOTSTRAP_SERVERS"], client_id="bench-sample", prefix=f"{system.tag}.")
        try:
            doc = await store.collection("complaints").get(receipt)
            event = None
            async for _, e in bus.read([COMPLAINTS]):
                event = e
                break
        finally:
            await store.close()
            close = getattr(bus, "close", None)
            if close:
                close()
        return {"doc": doc, "event": event.to_json().decode() if event else "{}"}

    return asyncio.run(read())


def growth(system: Embedded | Distributed, config: Config, cohort: int) -> dict[str, Any]:
    """Cost per operation with (almost) empty stores, then at 90 % of each size."""
    _log(f"{system.name}: growth, cohorts of {cohort}, sizes {config.growth_sizes}")
    system.start()
    out: dict[str, Any] = {"cohort": cohort}
    try:
        settle(system, config)  # start-up passes (sweeps, first gauge counts) are not per-operation cost
        first = _cohort(system, config, cohort)
        out["first"] = first
        stored = cohort
        time.sleep(2)  # the last cohort's tail (surveys, relays) settles into the stores
        cloner = Cloner(first.pop("receipts"))
        copies = 0
        for size in config.growth_sizes:
            if out and any(isinstance(v, dict) and v.get("at_least") for v in out.values()):
                out[str(size)] = {"skipped": "a smaller size's cohort was not done within the bound"}
                continue
            target = int(size * 0.9)
            if target > stored:
                t0 = time.perf_counter()
                written = system.fill(cloner, copies, target - stored)
                _log(
                    f"{system.name}: filled to {target:,} complaints ({written:,} rows) in "
                    f"{time.perf_counter() - t0:.0f} s"
                )
                copies += target - stored
                stored = target
                waited = settle(system, config)  # as before the first cohort: a fill restarts the services
                _log(f"{system.name}: start-up scans at {target:,} done after {waited:.0f} s")
            last = _cohort(system, config, cohort)
            last.pop("receipts")
            stored += cohort
            out[str(size)] = {
                **last,
                "stored_before": stored - cohort,
                "ratio_last_to_first": _ratio(last["seconds_per_op"], first["seconds_per_op"]),
                "post_ratio_last_to_first": _ratio(last["post_p50_ms"], first["post_p50_ms"]),
                "commands_ratio_last_to_first": _ratio(last["commands_per_op"], first["commands_per_op"]),
            }
    finally:
        system.stop()
    return out


def _cohort(system: Embedded | Distributed, config: Config, cohort: int) -> dict[str, Any]:
    """Seconds per complaint, first POST to last receipt notice. A cohort not done within the
    bound gives a lower bound instead: the time waited over the complaints filed."""
    sent, scanned = system.commands(), system.scan_seconds()
    work, _, posts = file_burst(system.intake, cohort, config.clients)
    receipts = [f.receipt for f in work if f.receipt]
    notices = await_notices(system.notification, receipts, config.wait_seconds)
    result = outcome(work, notices, posts)
    commands = cpu_per_item(sent, system.commands(), len(work), scale=1)
    scans = system.scan_seconds() - scanned
    if result.complete and result.seconds_first_post_to_last_notice:
        per_op, at_least = result.seconds_first_post_to_last_notice / result.done, False
    else:
        per_op, at_least = (time.time() - min(f.sent_at for f in work)) / len(work), True
    return {
        "seconds_per_op": _r(per_op, digits=4),
        "at_least": at_least,
        "post_p50_ms": result.post_p50_ms,
        "commands_per_op": round(sum(commands.values()), 1) if commands else None,
        "scan_seconds": round(scans, 2),
        "done": result.done,
        "filed": result.filed,
        "receipts": receipts,
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (``/proc``; ``None`` where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_item(
    before: Mapping[str, float | None], after: Mapping[str, float | None], items: int, *, scale: float = 1000
) -> dict[str, float]:
    """How much of a counter each process used per item between two readings (the burst: filing
    and the wait for its notices, which includes the polling of the notices): CPU seconds as
    milliseconds (``scale`` 1000), or a count as it is (``scale`` 1)."""
    out = {}
    for name, start in before.items():
        end = after.get(name)
        if start is not None and end is not None and items:
            out[name] = round((end - start) / items * scale, 1)
    return out


def _server_pids(infra: LocalInfra | None) -> dict[str, int]:
    """Kafka's and FerretDB's process ids from the bench's own run directory (none for servers
    the bench did not start)."""
    if infra is None:
        return {}
    run_dir = Path(os.environ.get("MINWON_BENCH_INFRA_DIR", "/tmp/minwon-bench-infra"))
    out = {}
    for name in ("kafka", "ferretdb"):
        try:
            out[name] = int((run_dir / f"{name}.pid").read_text().strip())
        except (OSError, ValueError):
            continue
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    """``a / b`` to three significant figures."""
    return float(f"{a / b:.3g}") if a is not None and b else None


# ---------------------------------------------------------------- run and show


def _brokers(base: Path) -> tuple[dict[str, str], LocalInfra | None, bool]:
    kafka, mongo = os.environ.get("MINWON_BENCH_KAFKA"), os.environ.get("MINWON_BENCH_MONGODB_URI")
    if kafka and mongo:
        return {"KAFKA_BOOTSTRAP_SERVERS": kafka, "MONGODB_URI": mongo}, None, False
    infra = LocalInfra(
        env={
            "MINWON_INFRA_DIR": os.environ.get("MINWON_BENCH_INFRA_DIR", "/tmp/minwon-bench-infra"),
            "MINWON_KAFKA_PORT": os.environ.get("MINWON_BENCH_KAFKA_PORT", "18092"),
            "MINWON_FERRETDB_PORT": os.environ.get("MINWON_BENCH_FERRETDB_PORT", "16017"),
        }
    )
    started = not infra.running()
    if started:
        _log("starting the bench's own Kafka and FerretDB")
        infra.up()
    return infra.service_env(), infra, started


def run(config: Config | None = None) -> dict[str, Any]:
    config = config or Config.from_env()
    base = config.directory or Path(tempfile.mkdtemp(prefix="minwon-bench-pipeline-"))
    base.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "pipeline",
        "scale": config.scale,
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
    }
    sample_doc: dict[str, Any] | None = None
    try:
        if "embedded" in config.backends:
            embedded = phases(Embedded(base), config, config.burst, config.cohort)
            smp = embedded.pop("sample")
            sample_doc = smp["doc"]
            _log(f"raw SQLite: {RAW_ROUNDS} rounds of {config.raw_ops} inserts, one commit each")
            rounds = rounds_of(lambda: raw_sqlite(base, sample_doc or {}, config.raw_ops))
            raw = max(rounds)
            embedded["raw_sqlite_inserts_per_second"] = round(raw, 1)
            embedded["raw_sqlite_rounds"] = [round(r, 1) for r in rounds]
            embedded["ratio_intake_posts_to_raw"] = _ratio(embedded["intake_posts_per_second"], raw)
            embedded["ratio_end_to_end_to_raw"] = _ratio(embedded["burst"]["per_second"], raw)
            report["embedded"] = embedded
        if "distributed" in config.backends:
            brokers, infra, started = _brokers(base)
            try:
                distributed = phases(
                    Distributed(base, brokers, _server_pids(infra)),
                    config,
                    config.burst_distributed,
                    config.cohort_distributed,
                )
                smp = distributed.pop("sample")
                doc = sample_doc or smp["doc"] or {}
                doc = {k: v for k, v in doc.items() if k != "_id"}
                _log(
                    f"raw Kafka and FerretDB: {RAW_ROUNDS} rounds of {config.raw_ops} each, "
                    f"1 and {config.clients} in flight"
                )

                def raw_round() -> tuple[dict[str, float], dict[str, float]]:
                    tag = uuid.uuid4().hex[:8]  # a topic of its own: a deleted one lingers a while
                    produce = asyncio.run(
                        raw_kafka(
                            brokers["KAFKA_BOOTSTRAP_SERVERS"],
                            f"bench{tag}.raw",
                            smp["event"].encode(),
                            config.raw_ops,
                            config.clients,
                        )
                    )
                    insert = asyncio.run(
                        raw_mongo(brokers["MONGODB_URI"], f"bench{tag}_raw", doc, config.raw_ops, config.clients)
                    )
                    return produce, insert

                raw_rounds = rounds_of(raw_round)
                width = str(config.clients)
                produce = {k: max(p[k] for p, _ in raw_rounds) for k in raw_rounds[0][0]}
                insert = {k: max(i[k] for _, i in raw_rounds) for k in raw_rounds[0][1]}
                combined_rounds = [1 / (1 / p[width] + 1 / i[width]) for p, i in raw_rounds]
                combined = 1 / (1 / produce[width] + 1 / insert[width])
                distributed.update(
                    raw_kafka_produces_per_second={k: round(v, 1) for k, v in produce.items()},
                    raw_ferretdb_inserts_per_second={k: round(v, 1) for k, v in insert.items()},
                    raw_combined_per_second=round(combined, 1),
                    raw_combined_rounds=[round(r, 1) for r in combined_rounds],
                    ratio_end_to_end_to_raw=_ratio(distributed["burst"]["per_second"], combined),
                )
                report["distributed"] = distributed
            finally:
                if infra is not None and started and not config.keep:
                    infra.down()
    finally:
        if not config.keep and config.directory is None:
            shutil.rmtree(base, ignore_errors=True)
    return report


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return f">bound{unit and ' ' + unit}"
    return f"{value:,}{unit and ' ' + unit}" if isinstance(value, (int, float)) else str(value)


def show(report: dict[str, Any]) -> None:
    cfg = report["config"]
    lines = [
        f"pipeline ({report['scale']}; {report['cpus']} CPUs; SQLite {report['sqlite']}; citizens are "
        f"{cfg['clients']} threads of the bench on the same machine)"
    ]
    emb, dist = report.get("embedded"), report.get("distributed")
    rows: list[tuple[str, str, str]] = []
    if emb:
        rows += [
            (
                "raw SQLite inserts/s (WAL, synchronous=FULL, 1 commit each; best round)",
                _fmt(emb["raw_sqlite_inserts_per_second"]),
                "rounds " + ", ".join(_fmt(r) for r in emb.get("raw_sqlite_rounds", ())),
            ),
            (
                "embedded intake POSTs/s",
                _fmt(emb["intake_posts_per_second"]),
                f"ratio {_fmt(emb['ratio_intake_posts_to_raw'])}",
            ),
            (
                "embedded end-to-end complaints/s (POST → receipt notice)",
                _fmt(emb["burst"]["per_second"]),
                f"ratio {_fmt(emb['ratio_end_to_end_to_raw'])}; done {emb['burst']['done']}/{emb['burst']['filed']}",
            ),
        ]
    if dist:
        k, m = dist["raw_kafka_produces_per_second"], dist["raw_ferretdb_inserts_per_second"]
        rows += [
            ("raw Kafka produces/s, acks=all (1 / N in flight; best)", " / ".join(_fmt(v) for v in k.values()), ""),
            ("raw FerretDB insert_one/s (1 / N in flight; best)", " / ".join(_fmt(v) for v in m.values()), ""),
            (
                "raw combined produce + insert per item/s (N in flight; best)",
                _fmt(dist["raw_combined_per_second"]),
                "rounds " + ", ".join(_fmt(r) for r in dist.get("raw_combined_rounds", ())),
            ),
            (
                "distributed end-to-end complaints/s",
                _fmt(dist["burst"]["per_second"]),
                f"ratio {_fmt(dist['ratio_end_to_end_to_raw'])}; done {dist['burst']['done']}/{dist['burst']['filed']}",
            ),
        ]
    for name, sys in (("embedded", emb), ("distributed", dist)):
        if sys:
            fr = sys["fixed_rate"]
            rows.append(
                (
                    f"{name} POST → receipt notice at {cfg['rate']:g}/s: p50 / p99 s",
                    f"{_fmt(fr['latency_p50_s'])} / {_fmt(fr['latency_p99_s'])}",
                    f"done {fr['done']}/{fr['filed']} within {cfg['wait_seconds']:g} s",
                )
            )
    width = max(len(r[0]) for r in rows) if rows else 0
    lines += [f"  {a:<{width}}  {b:>16}  {c}" for a, b, c in rows]
    for name, sys in (("embedded", emb), ("distributed", dist)):
        if sys and sys.get("cpu_ms_per_complaint"):
            shares = ", ".join(f"{k} {v:g}" for k, v in sys["cpu_ms_per_complaint"].items())
            lines.append(f"  {name} CPU ms per complaint in the burst, by process: {shares}")
        if sys and sys.get("store_commands_per_complaint"):
            counts = sys["store_commands_per_complaint"]
            shares = ", ".join(f"{k} {v:g}" for k, v in counts.items())
            lines.append(
                f"  {name} document-server commands per complaint in the burst: {sum(counts.values()):.0f} ({shares})"
            )
    sizes = [str(s) for s in cfg["growth_sizes"]]
    if sizes and (emb or dist):
        lines.append(
            "  growth: seconds per operation at 90 % of each size vs nearly empty stores (ratio last/first; "
            "intake POST p50 ratio; document-server commands per complaint ratio; seconds the services spent in "
            "scans that grow with the store while the cohort ran, minwon_store_scan_seconds_total)"
        )
        lines.append(f"  {'stored complaints':>18}  {'embedded':>52}  {'distributed':>52}")
        for name in ("first", *sizes):
            cells = []
            for backend in (emb, dist):
                g = (backend or {}).get("growth", {})
                if name == "first":
                    f = g.get("first")
                    cells.append(f"{'≥' if f['at_least'] else ''}{_fmt(f['seconds_per_op'])} s/op" if f else "—")
                else:
                    row = g.get(name)
                    if not row:
                        cells.append("—")
                    elif "skipped" in row:
                        cells.append("skipped")
                    else:
                        ge = "≥" if row["at_least"] else ""
                        commands = row.get("commands_ratio_last_to_first")
                        cells.append(
                            f"{ge}{_fmt(row['seconds_per_op'])} s/op ×{ge}{_fmt(row['ratio_last_to_first'])} "
                            f"(POST ×{_fmt(row['post_ratio_last_to_first'])}"
                            + (f", commands ×{_fmt(commands)}" if commands else "")
                            + f", scans {_fmt(row.get('scan_seconds'))} s)"
                        )
            label = "~0 (first 10 %)" if name == "first" else f"{int(name):,}"
            lines.append(f"  {label:>18}  {cells[0]:>52}  {cells[1]:>52}")
    print("\n".join(lines))
    print(json.dumps(report, ensure_ascii=False, default=str))


def main() -> None:
    show(run())


if __name__ == "__main__":
    main()
