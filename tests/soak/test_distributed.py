"""Soak, distributed: the six services as separate processes (``minwon service <name>``) on the
soak's own Kafka and FerretDB. Concurrent citizens file N complaints while random services are
SIGKILLed and restarted, FerretDB is stopped for a while once and Kafka is restarted once.
Every acknowledged complaint ends routed, with a deadline clock and exactly one receipt notice;
nothing is dead-lettered; every consumer group's lag is 0."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from apps.registry import SERVICES
from minwon.bus import KafkaBus
from minwon.topics import DEADLETTER
from tests.factories import STAFF_TEST_SECRET as STAFF
from tests.soak.harness import (
    Citizens,
    Fault,
    FaultLog,
    SoakConfig,
    Verdict,
    crash_and_restart,
    distributed_env,
    endpoints,
    filings,
    keep_logs,
    non_json_lines,
    notice_latencies,
    run_faults,
    service_processes,
    start_all,
    stop_all,
    sweep,
    wait_lag_zero,
    wait_processed,
)

CONFIG = SoakConfig.from_env()
pytestmark = [
    pytest.mark.infra,
    pytest.mark.timeout(CONFIG.test_timeout(CONFIG.distributed_complaints, CONFIG.ferretdb_outage)),
]
T = TypeVar("T")


def kafka_lag(bootstrap: str, prefix: str) -> dict[tuple[str, str, int], int]:
    """Committed offset vs end offset of every partition each of the run's consumer groups has
    committed on, read from the broker (what ``kafka-consumer-groups --describe`` shows)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    async def read() -> dict[tuple[str, str, int], int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="soak-lag")
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="soak-lag")
        await admin.start()
        await consumer.start()
        try:
            groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
            out = {}
            for group in groups:
                committed = await admin.list_consumer_group_offsets(group)
                if not committed:
                    continue
                ends = await consumer.end_offsets(list(committed))
                for tp, meta in committed.items():
                    out[(group[len(prefix) :], tp.topic[len(prefix) :], tp.partition)] = max(0, ends[tp] - meta.offset)
            return out
        finally:
            await consumer.stop()
            await admin.close()

    return asyncio.run(read())


def intake_documents(uri: str, database: str, receipts: list[str]) -> dict[str, object]:
    """What intake stored for these complaints: version, status and the events still waiting in
    the outbox (a complaint the other services never saw shows here whether it was published)."""
    from pymongo import MongoClient

    with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
        docs = {d["_id"]: d for d in client[database]["complaints"].find({"_id": {"$in": receipts}})}
    return {
        r: None
        if r not in docs
        else {
            "version": docs[r].get("_v"),
            "status": docs[r].get("status"),
            "outbox": [(e.get("topic"), (e.get("event") or {}).get("type")) for e in docs[r].get("_outbox", [])],
        }
        for r in receipts
    }


def dead_letters(bootstrap: str, prefix: str) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        bus = KafkaBus(bootstrap, client_id="soak-reader", prefix=prefix)
        return [
            {
                "subject": e.subject,
                "group": e.data.get("group"),
                "topic": e.data.get("topic"),
                "error": e.data.get("error"),
            }
            async for _, e in bus.read([DEADLETTER])
        ]

    return asyncio.run(read())


def test_distributed_soak_with_crashes_and_outages(
    tmp_path: Path, soak_config: SoakConfig, soak_infra, summaries: list[str]
) -> None:
    config = soak_config
    brokers = soak_infra.service_env()
    tag = f"soak{uuid.uuid4().hex[:8]}"
    prefix = f"{tag}."
    services = service_processes(tmp_path, distributed_env(brokers, tag))
    rng = random.Random(config.seed)
    verdict = Verdict()
    log = FaultLog()
    try:
        start_all(services)
        at = endpoints(services, STAFF)

        def outage() -> None:
            soak_infra.ferretdb_stop()
            time.sleep(config.ferretdb_outage)
            soak_infra.ferretdb_start()

        faults = [
            Fault(0.35, f"FerretDB stopped {config.ferretdb_outage:g} s", outage),
            Fault(0.65, "Kafka restarted", soak_infra.kafka_restart),
        ]
        for i in range(config.service_kills):
            victim = rng.choice(SERVICES)
            faults.append(
                Fault(
                    round((i + 0.5) / config.service_kills, 3), f"SIGKILL {victim}", crash_and_restart(services[victim])
                )
            )

        citizens = Citizens(
            lambda: services["intake"].url,
            filings(config.distributed_complaints),
            clients=config.clients,
            give_up=max(config.give_up_seconds, 2 * config.ferretdb_outage),
            rate=config.distributed_rate,
        )
        citizens.start()
        chaos = run_faults(citizens, faults, log)
        citizens.join()
        chaos.join(timeout=600)
        acked = verdict.citizens(citizens)

        receipts = [f.receipt for f in acked if f.receipt]
        states, drained = wait_processed(at, receipts, timeout=config.drain_seconds)
        lag_wait, lag = wait_lag_zero([p.url for p in services.values()], timeout=60 if drained is not None else 0)
        broker_lag = _retry(lambda: kafka_lag(brokers["KAFKA_BOOTSTRAP_SERVERS"], prefix))
        time.sleep(3)  # a late duplicate notice would show up now
        final = sweep(at, receipts, with_intake=True)
        wrong = verdict.check_states(acked, final)
        if wrong:
            verdict.figures["wrong_in_intake_store"] = _retry(
                lambda: intake_documents(
                    brokers["MONGODB_URI"], f"{tag}_intake", [f.receipt for f in wrong[:5] if f.receipt]
                )
            )
        latency = notice_latencies(acked, final)
        dead = [p.name for p in services.values() if not p.alive]
    finally:
        stop_all(services)
    letters = _retry(lambda: dead_letters(brokers["KAFKA_BOOTSTRAP_SERVERS"], prefix))

    verdict.figures.update(
        seed=config.seed,
        faults=log.entries,
        drained_seconds_after_filing=None if drained is None else round(drained, 1),
        lag_zero_after_seconds=None if lag_wait is None else round(lag_wait, 1),
        lag_nonzero={"/".join(k): v for k, v in lag.items() if v != 0},
        broker_lag_nonzero={f"{g}/{t}/{p}": v for (g, t, p), v in broker_lag.items() if v},
        post_to_receipt_notice_s={k: None if v is None else round(v, 2) for k, v in latency.items()},
        dead_letters=len(letters),
    )
    for error in log.errors:
        verdict.problem("fault could not be run", error)
    for name in dead:
        verdict.problem("service exited by itself", name)
    if drained is None:
        verdict.problem("backlog not drained", f"within {config.drain_seconds:.0f} s")
    if lag_wait is None:
        verdict.problem("consumer lag not 0 (/metrics)", str(verdict.figures["lag_nonzero"]))
    if verdict.figures["broker_lag_nonzero"]:
        verdict.problem("consumer lag not 0 (broker)", str(verdict.figures["broker_lag_nonzero"]))
    for letter in letters:
        verdict.problem("dead letters", f"{letter['subject']} {letter['group']} {letter['error']}")
    for line in non_json_lines(tmp_path):  # every process writes one JSON object a line
        verdict.problem("log line is not JSON", line)
    if verdict.problems:
        verdict.figures["logs"] = str(keep_logs(tmp_path, "distributed"))
    summaries.append(
        verdict.render(
            f"distributed soak ({config.size}, {config.distributed_complaints} complaints, {config.service_kills} "
            f"service SIGKILLs, FerretDB down {config.ferretdb_outage:g} s, Kafka restarted)"
        )
    )
    assert not verdict.problems, verdict.brief()


def _retry(read: Callable[[], T], attempts: int = 3) -> T:
    for attempt in range(attempts):
        try:
            return read()
        except Exception:  # noqa: BLE001 - the broker may still be settling after its restart
            if attempt == attempts - 1:
                raise
            time.sleep(5)
    raise AssertionError("unreachable")
