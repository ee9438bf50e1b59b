"""The soak's parts: sizes from the environment, concurrent citizens who retry, a schedule of
faults run while they file, and the checks an operator makes over the services' HTTP APIs.

Sizes (``MINWON_SOAK_SIZE=reduced`` by default, ``full`` for ``make soak``; each figure can be
set on its own):

| variable | reduced | full | meaning |
| --- | --- | --- | --- |
| ``MINWON_SOAK_COMPLAINTS`` | 300 | 5000 | complaints filed against ``minwon run`` |
| ``MINWON_SOAK_DISTRIBUTED_COMPLAINTS`` | 60 | 2000 | complaints filed against the six services |
| ``MINWON_SOAK_CLIENTS`` | 8 | 16 | concurrent citizens |
| ``MINWON_SOAK_DISTRIBUTED_RATE`` | 1 | 2 | complaints/s offered at most (distributed): faults fall in the filing |
| ``MINWON_SOAK_KILLS`` | 3 | 6 | SIGKILLs of ``minwon run`` while filing |
| ``MINWON_SOAK_SERVICE_KILLS`` | 3 | 8 | SIGKILLs of random services (distributed) |
| ``MINWON_SOAK_FERRETDB_OUTAGE_SECONDS`` | 20 | 60 | FerretDB stopped once this long |
| ``MINWON_SOAK_DRAIN_SECONDS`` | 240 | 900 | the bound on waiting for the backlog to drain |
| ``MINWON_SOAK_GIVE_UP_SECONDS`` | 120 | 300 | a citizen stops retrying one complaint after this |
| ``MINWON_SOAK_SEED`` | random | random | which services die, in which order |
| ``MINWON_SOAK_LOGS`` | ``/tmp/minwon-soak-logs`` | same | where a failed soak leaves its processes' logs |
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from apps.registry import SERVICES
from tests._infra import INFRA_SCRIPT, REPO_ROOT
from tests.e2e.harness import MinwonProcess, parse_metrics
from tests.factories import TEST_SECRETS_ENV, complaint_payload

RECEIPT = "citizen.receipt"
# Deliver at any hour and retry an interrupted send soon: the soak checks what was recorded,
# not the quiet-hours policy.
QUICK_ENV = {
    "MINWON_NOTIFICATION_QUIET_ON_NON_WORKING_DAYS": "false",
    "MINWON_NOTIFICATION_QUIET_START": "00:00:00",
    "MINWON_NOTIFICATION_QUIET_END": "00:00:00",
    "MINWON_NOTIFICATION_DELIVER_INTERVAL_SECONDS": "0.5",
    "MINWON_NOTIFICATION_SENDING_LEASE_SECONDS": "5",
    "MINWON_LOG_LEVEL": "WARNING",
}
LAG_REFRESH_SECONDS = 16.0
"""The host refreshes ``minwon_bus_consumer_lag`` every 15 s: a zero read this long after the
backlog drained is a zero measured after it drained."""
CATEGORIES = ("road", "streetlight", "noise", "parking", "waste", "water", "tax", "welfare")
DISTRICTS = ("해운대구", "중구", "동래구", "사하구", "수영구")


def _env_int(name: str, reduced: int, full: int, size: str) -> int:
    return int(os.environ.get(name, full if size == "full" else reduced))


@dataclass(frozen=True)
class SoakConfig:
    size: str
    complaints: int
    distributed_complaints: int
    clients: int
    distributed_rate: float
    kills: int
    service_kills: int
    ferretdb_outage: float
    drain_seconds: float
    give_up_seconds: float
    seed: int

    @classmethod
    def from_env(cls) -> SoakConfig:
        size = os.environ.get("MINWON_SOAK_SIZE", "reduced")
        if size not in ("reduced", "full"):
            raise ValueError(f"MINWON_SOAK_SIZE={size!r}: reduced or full")
        return cls(
            size=size,
            complaints=_env_int("MINWON_SOAK_COMPLAINTS", 300, 5000, size),
            distributed_complaints=_env_int("MINWON_SOAK_DISTRIBUTED_COMPLAINTS", 60, 2000, size),
            clients=_env_int("MINWON_SOAK_CLIENTS", 8, 16, size),
            distributed_rate=float(os.environ.get("MINWON_SOAK_DISTRIBUTED_RATE", 2 if size == "full" else 1)),
            kills=_env_int("MINWON_SOAK_KILLS", 3, 6, size),
            service_kills=_env_int("MINWON_SOAK_SERVICE_KILLS", 3, 8, size),
            ferretdb_outage=float(os.environ.get("MINWON_SOAK_FERRETDB_OUTAGE_SECONDS", 60 if size == "full" else 20)),
            drain_seconds=float(os.environ.get("MINWON_SOAK_DRAIN_SECONDS", 900 if size == "full" else 240)),
            give_up_seconds=float(os.environ.get("MINWON_SOAK_GIVE_UP_SECONDS", 300 if size == "full" else 120)),
            seed=int(os.environ.get("MINWON_SOAK_SEED", random.SystemRandom().randrange(1, 10**6))),
        )

    def test_timeout(self, complaints: int, outage: float = 0.0) -> int:
        """A bound on one soak test (pytest-timeout): filing at >= 1/s, the drain, outages, slack."""
        return int(complaints + self.drain_seconds + outage + 3 * self.give_up_seconds + 300)


# ------------------------------------------------------------------ citizens


@dataclass
class Filing:
    """One complaint a citizen files, retried with the same Idempotency-Key until acknowledged."""

    key: str
    payload: dict[str, Any]
    receipt: str | None = None
    status: int | None = None
    attempts: int = 0
    sent_at: float = 0.0
    """Wall clock (epoch seconds) of the first attempt."""
    acked_at: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    history: list[str] = field(default_factory=list)
    """Each attempt's wall-clock time and outcome (shown for a complaint the checks find wrong)."""

    @property
    def acknowledged(self) -> bool:
        return self.receipt is not None


def _clock() -> str:
    return time.strftime("%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


def filings(n: int) -> list[Filing]:
    rng = random.Random(n)
    return [
        Filing(
            key=f"soak-{uuid.uuid4()}",
            payload=complaint_payload(
                category=rng.choice(CATEGORIES),
                district=rng.choice(DISTRICTS),
                consent={"sms": True, "email": rng.random() < 0.5, "alimtalk": False, "post": False},
            ),
        )
        for _ in range(n)
    ]


class Citizens:
    """``clients`` threads file every :class:`Filing` over HTTP; a failed POST (no answer, 5xx,
    429) is retried with the same Idempotency-Key until ``give_up`` seconds after the first try.
    Only a 2xx answer counts as acknowledged. With ``rate``, complaint ``i`` is not filed before
    ``i / rate`` seconds (so the filing lasts long enough for the faults planned during it)."""

    def __init__(
        self, url: Callable[[], str], work: Sequence[Filing], *, clients: int, give_up: float, rate: float | None = None
    ):
        self._url = url
        self.work = list(work)
        self._queue: queue.Queue[Filing] = queue.Queue()
        for item in self.work:
            self._queue.put(item)
        self._clients = clients
        self._give_up = give_up
        self._lock = threading.Lock()
        self.done = 0
        self.acked = 0
        self.latencies: list[float] = []
        self._threads: list[threading.Thread] = []
        self.started = 0.0
        self.finished = 0.0
        self._rate = rate
        self._slot = 0

    def start(self) -> None:
        self.started = time.monotonic()
        for i in range(self._clients):
            t = threading.Thread(target=self._run, name=f"citizen-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def join(self) -> None:
        for t in self._threads:
            t.join()
        self.finished = time.monotonic()

    @property
    def fraction_done(self) -> float:
        return self.done / max(1, len(self.work))

    def _run(self) -> None:
        with httpx.Client(timeout=15) as client:
            while True:
                with self._lock:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        return
                    slot, self._slot = self._slot, self._slot + 1
                if self._rate:
                    time.sleep(max(0.0, self.started + slot / self._rate - time.monotonic()))
                self._file(client, item)
                with self._lock:
                    self.done += 1
                    self.acked += item.acknowledged

    def _file(self, client: httpx.Client, item: Filing) -> None:
        item.sent_at = time.time()
        first = time.monotonic()
        delay = 0.1
        while True:
            item.attempts += 1
            t0 = time.monotonic()
            try:
                r = client.post(
                    f"{self._url()}/api/v1/complaints", json=item.payload, headers={"Idempotency-Key": item.key}
                )
            except httpx.HTTPError as exc:
                item.failures[type(exc).__name__] += 1
                item.last_error = type(exc).__name__
                item.history.append(f"{_clock()} {type(exc).__name__}")
            else:
                item.status = r.status_code
                item.history.append(f"{_clock()} {r.status_code}")
                if 200 <= r.status_code < 300:
                    item.receipt = r.json()["receipt_no"]
                    item.acked_at = time.time()
                    with self._lock:
                        self.latencies.append(time.monotonic() - t0)
                    return
                item.failures[str(r.status_code)] += 1
                item.last_error = f"{r.status_code} {r.text[:200]}"
                if r.status_code < 500 and r.status_code not in (408, 409, 425, 429):
                    return  # refused for good: never acknowledged
            if time.monotonic() - first > self._give_up:
                return
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


# ------------------------------------------------------------------ faults


@dataclass
class Fault:
    at_fraction: float
    """Run once this share of the complaints has been answered (acknowledged or given up)."""
    name: str
    action: Callable[[], None]


@dataclass
class FaultLog:
    entries: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_faults(citizens: Citizens, faults: Iterable[Fault], log: FaultLog) -> threading.Thread:
    """Run ``faults`` in order, each when filing has got far enough, on one thread (so they
    never overlap); a fault whose moment never comes (filing ended) still runs."""

    def loop() -> None:
        for fault in sorted(faults, key=lambda f: f.at_fraction):
            while citizens.fraction_done < fault.at_fraction and citizens.done < len(citizens.work):
                time.sleep(0.05)
            t0 = time.monotonic()
            entry = {"fault": fault.name, "at_done": citizens.done, "at_acked": citizens.acked}
            try:
                fault.action()
            except Exception as exc:  # noqa: BLE001 - reported with the figures, then asserted
                log.errors.append(f"{fault.name}: {type(exc).__name__}: {str(exc)[:500]}")
                entry["error"] = type(exc).__name__
            entry["seconds"] = round(time.monotonic() - t0, 1)
            log.entries.append(entry)

    t = threading.Thread(target=loop, name="faults", daemon=True)
    t.start()
    return t


def crash_and_restart(proc: MinwonProcess, timeout: float = 120) -> Callable[[], None]:
    def action() -> None:
        proc.kill()
        proc.start(timeout)

    return action


# ------------------------------------------------------------------ the distributed system


@dataclass
class LocalInfra:
    """One run directory of ``deploy/local/infra.sh`` (Kafka + FerretDB) of a soak's or a bench's own:
    its env, and its outage drills."""

    env: dict[str, str]

    def _script(self, *args: str, timeout: float = 300) -> str:
        proc = subprocess.run(
            ["bash", str(INFRA_SCRIPT), *args],
            cwd=REPO_ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"infra.sh {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return proc.stdout

    def up(self) -> None:
        self._script("up", timeout=1200)

    def down(self) -> None:
        self._script("down")

    def running(self) -> bool:
        try:
            self._script("status", timeout=60)
        except RuntimeError:
            return False
        return True

    def service_env(self) -> dict[str, str]:
        out = {}
        for line in self._script("env").splitlines():
            m = re.match(r"^\s*export\s+([A-Z_]+)=(.*)$", line)
            if m:
                out[m.group(1)] = m.group(2).strip().strip("'\"")
        return out

    def ferretdb_stop(self) -> None:
        self._script("ferretdb-stop")

    def ferretdb_start(self) -> None:
        self._script("ferretdb-start")

    def kafka_restart(self) -> None:
        self._script("kafka-restart")


def distributed_env(brokers: dict[str, str], tag: str) -> dict[str, str]:
    """The environment of every service of one distributed run: its own topics and databases."""
    return {
        **QUICK_ENV,
        **TEST_SECRETS_ENV,
        **brokers,
        "MINWON_BACKEND": "distributed",
        "MINWON_KAFKA_TOPIC_PREFIX": f"{tag}.",
        "MINWON_DATABASE_PREFIX": f"{tag}_",
        "MINWON_KAFKA_PARTITIONS": "3",
    }


def service_processes(base: Path, env: dict[str, str]) -> dict[str, MinwonProcess]:
    """One ``minwon service <name>`` process per service (not started), logs under ``base/<name>``."""
    return {name: MinwonProcess(base / name, env=env, args=("service", name), name=name) for name in SERVICES}


def start_all(procs: dict[str, MinwonProcess], timeout: float = 180) -> None:
    """Start them side by side, then wait until each answers /readyz."""
    for proc in procs.values():
        proc.start(wait=False)
    for proc in procs.values():
        proc.wait_ready(timeout)


def stop_all(procs: dict[str, MinwonProcess]) -> None:
    for proc in procs.values():
        proc.stop()


def endpoints(procs: dict[str, MinwonProcess], staff: dict[str, str]) -> Endpoints:
    return Endpoints(procs["intake"].url, procs["routing"].url, procs["deadline"].url, procs["notification"].url, staff)


# ------------------------------------------------------------------ operator checks


@dataclass(frozen=True)
class Endpoints:
    """Where an operator looks; one URL for ``minwon run``, one per service when distributed.
    ``staff``: the staff credentials header (``tests.factories.STAFF``)."""

    intake: str
    routing: str
    deadline: str
    notification: str
    staff: dict[str, str]


@dataclass
class State:
    """What the services' APIs say about one complaint."""

    receipt: str
    department: str | None = None
    handler: str | None = None
    due_at: str | None = None
    receipt_notices: list[dict[str, Any]] = field(default_factory=list)
    intake_status: int | None = None
    error: str | None = None

    @property
    def complete(self) -> bool:
        return bool(self.department and self.handler and self.due_at and self.receipt_notices)


def look(client: httpx.Client, at: Endpoints, receipt: str, *, with_intake: bool = False) -> State:
    """One complaint as the APIs show it; an answer other than 200 or 404 (not there yet) is
    kept as the state's error, e.g. ``notifications 401``."""
    state = State(receipt)

    def get(name: str, url: str, **kw: Any) -> httpx.Response:
        r = client.get(url, **kw)
        if r.status_code not in (200, 404):
            state.error = f"{name} {r.status_code}"
        return r

    try:
        r = get(
            "notifications", f"{at.notification}/api/v1/notifications", params={"receipt_no": receipt}, headers=at.staff
        )
        if r.status_code == 200:
            state.receipt_notices = [n for n in r.json()["items"] if n["template"] == RECEIPT]
        r = get("assignment", f"{at.routing}/api/v1/routing/assignments/{receipt}", headers=at.staff)
        if r.status_code == 200:
            body = r.json()
            state.department = body.get("department")
            state.handler = (body.get("handler") or {}).get("id")
        r = get("deadline", f"{at.deadline}/api/v1/deadlines/{receipt}", headers=at.staff)
        if r.status_code == 200:
            state.due_at = r.json().get("due_at")
        if with_intake:
            state.intake_status = get(
                "complaint", f"{at.intake}/api/v1/complaints/{receipt}", headers=at.staff
            ).status_code
    except httpx.HTTPError as exc:
        state.error = type(exc).__name__
    return state


def sweep(at: Endpoints, receipts: Iterable[str], *, workers: int = 8, with_intake: bool = False) -> dict[str, State]:
    receipts = list(receipts)
    local = threading.local()

    def one(receipt: str) -> State:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=30)
        return look(local.client, at, receipt, with_intake=with_intake)

    with ThreadPoolExecutor(workers) as pool:
        return {s.receipt: s for s in pool.map(one, receipts)}


def wait_processed(
    at: Endpoints, receipts: Sequence[str], *, timeout: float, window: int = 200
) -> tuple[dict[str, State], float | None]:
    """Sweep until every complaint is routed, has a clock and a receipt notice, or ``timeout``.
    Returns the last state of each complaint swept and the seconds it took (``None``: not within the bound).

    Each pass looks at the ``window`` oldest complaints not yet done, and waits a second before the next
    only if some of them were not: complaints are done in about the order they were filed, so the
    operator's checks stay a light load while the backlog drains (looking at every pending complaint on
    every pass was three requests per complaint, back to back, the most work the system had to do)."""
    t0 = time.monotonic()
    states: dict[str, State] = {}
    pending = list(receipts)
    while True:
        head = pending[:window]
        states.update(sweep(at, head))
        waiting = [r for r in head if not states[r].complete]
        pending = waiting + pending[len(head) :]
        if not pending:
            return states, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return states, None
        if waiting:
            time.sleep(1.0)


def lag_from_metrics(urls: Iterable[str]) -> dict[tuple[str, str, str], float]:
    """Every ``minwon_bus_consumer_lag`` series of the processes at ``urls`` (group, topic, partition)."""
    out: dict[tuple[str, str, str], float] = {}
    for url in urls:
        r = httpx.get(f"{url}/metrics", timeout=10)
        r.raise_for_status()
        for labels, value in parse_metrics(r.text).get("minwon_bus_consumer_lag", []):
            out[(labels.get("group", ""), labels.get("topic", ""), labels.get("partition", ""))] = value
    return out


def wait_lag_zero(urls: Sequence[str], *, timeout: float) -> tuple[float | None, dict[tuple[str, str, str], float]]:
    """Wait until every lag series reads 0 at least :data:`LAG_REFRESH_SECONDS` after the call
    (so the value was measured after the backlog drained). Returns the wait and the last reading;
    ``timeout=0``: one reading only (the backlog is known not to have drained)."""
    t0 = time.monotonic()
    last: dict[tuple[str, str, str], float] = {}
    while True:
        try:
            last = lag_from_metrics(urls)
        except httpx.HTTPError as exc:
            last = {("(unreachable)", type(exc).__name__, ""): float("nan")}
        waited = time.monotonic() - t0
        if last and all(v == 0 for v in last.values()) and waited >= LAG_REFRESH_SECONDS:
            return waited, last
        if waited >= timeout:
            return None, last
        time.sleep(1.0)


# ------------------------------------------------------------------ figures


def percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Verdict:
    """Problems found, by kind, with a few examples each; figures for the summary."""

    figures: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, kind: str, example: str) -> None:
        self.problems.setdefault(kind, []).append(example)

    def check_states(self, acked: Sequence[Filing], states: dict[str, State]) -> list[Filing]:
        """Check each acknowledged complaint end to end; returns those found wrong (their attempts
        are added to the figures, so a failed run shows how each was filed)."""
        wrong: list[Filing] = []
        for item in acked:
            assert item.receipt is not None
            found = self._found()
            self._check_state(item, states.get(item.receipt))
            if self._found() > found:
                wrong.append(item)
        if wrong:
            self.figures["wrong_filings"] = {f.receipt: f.history for f in wrong[:5]}
        return wrong

    def _found(self) -> int:
        return sum(len(v) for v in self.problems.values())

    def _check_state(self, item: Filing, s: State | None) -> None:
        if s is None:
            self.problem("not looked at", str(item.receipt))
        else:
            if s.intake_status is not None and s.intake_status != 200:
                self.problem("intake does not show it", f"{item.receipt}: {s.intake_status}")
            if not (s.department and s.handler):
                self.problem("not routed (department + handler)", str(item.receipt))
            if not s.due_at:
                self.problem("no deadline clock", str(item.receipt))
            if len(s.receipt_notices) != 1:
                self.problem("receipt notices != 1", f"{item.receipt}: {len(s.receipt_notices)}")
            if s.error:
                self.problem("API error while checking", f"{item.receipt}: {s.error}")

    def citizens(self, citizens: Citizens) -> list[Filing]:
        work = citizens.work
        acked = [f for f in work if f.acknowledged]
        receipts = Counter(f.receipt for f in acked)
        for receipt, n in receipts.items():
            if n > 1:
                self.problem("one receipt for several Idempotency-Keys", f"{receipt}: {n}")
        failures: Counter[str] = Counter()
        for f in work:
            failures.update(f.failures)
        given_up = [f for f in work if not f.acknowledged]
        filing_seconds = (citizens.finished - citizens.started) or float("nan")
        self.figures.update(
            filed=len(work),
            acknowledged=len(acked),
            not_acknowledged=len(given_up),
            not_acknowledged_examples=[f"{f.key}: {f.last_error}" for f in given_up[:3]],
            retried=sum(f.attempts > 1 for f in work),
            failed_attempts=dict(failures.most_common(8)),
            filing_seconds=round(filing_seconds, 1),
            acked_per_second=round(len(acked) / filing_seconds, 1),
            post_latency_ms={
                "p50": _ms(percentile(citizens.latencies, 50)),
                "p99": _ms(percentile(citizens.latencies, 99)),
                "max": _ms(max(citizens.latencies, default=None)),
            },
        )
        return acked

    def brief(self) -> str:
        return "; ".join(f"{kind}: {len(examples)}" for kind, examples in self.problems.items())

    def render(self, title: str) -> str:
        lines = [f"{title}:"]
        for key, value in self.figures.items():
            lines.append(f"  {key}: {value}")
        if self.problems:
            lines.append("  PROBLEMS:")
            for kind, examples in self.problems.items():
                lines.append(f"    {kind}: {len(examples)} (e.g. {', '.join(examples[:5])})")
        else:
            lines.append("  no problems")
        lines.append(
            json.dumps(
                {"soak": title, **self.figures, "problems": {k: len(v) for k, v in self.problems.items()}},
                ensure_ascii=False,
                default=str,
            )
        )
        return "\n".join(lines)


def keep_logs(run_dir: Path, name: str) -> Path:
    """Copy the ``*.log`` files under ``run_dir`` out of pytest's temporary directories (which
    later sessions delete) to ``$MINWON_SOAK_LOGS/<name>-<time>/``; returns that directory."""
    root = Path(os.environ.get("MINWON_SOAK_LOGS", "/tmp/minwon-soak-logs"))
    target = root / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for log in run_dir.rglob("*.log"):
        dest = target / log.relative_to(run_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, dest)
    return target


def non_json_lines(run_dir: Path, limit: int = 5) -> list[str]:
    """Lines of the processes' logs under ``run_dir`` that are not one JSON object each (a line cut
    short by a SIGKILL, the last one of its file, is not counted)."""
    bad: list[str] = []
    for log in sorted(run_dir.rglob("*.log")):
        lines = log.read_text("utf-8", errors="replace").split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip() or number == len(lines):
                continue
            try:
                ok = isinstance(json.loads(line), dict)
            except ValueError:
                ok = False
            if not ok:
                bad.append(f"{log.name}:{number}: {line[:200]}")
                if len(bad) >= limit:
                    return bad
    return bad


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def notice_latencies(acked: Sequence[Filing], states: dict[str, State]) -> dict[str, float | None]:
    """POST (first attempt) to receipt notice recorded, from the notice's ``created_at``."""
    from datetime import datetime

    values = []
    for item in acked:
        s = states.get(item.receipt or "")
        if s and s.receipt_notices and s.receipt_notices[0].get("created_at"):
            created = datetime.fromisoformat(s.receipt_notices[0]["created_at"]).timestamp()
            values.append(created - item.sent_at)
    return {
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values, default=None),
        "mean": statistics.fmean(values) if values else None,
    }
