"""The Kafka adapter reads in batches and commits a batch's offsets once, after every record of it
was handled: a backlog costs the broker a commit per batch, not per record, and is still handled in
order and committed to its end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from minwon import topics
from minwon.bus import KafkaBus, RetryPolicy
from minwon.events import Event

BACKLOG = 300


def _event(subject: str, n: int) -> Event:
    return Event.new(
        "kr.minwon.test.happened.v1",
        source="/test",
        subject=subject,
        data={"n": n},
        time=datetime.now(UTC),
        id=f"{subject}-{n}",
    )


async def _committed(bootstrap: str, group: str) -> dict[Any, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()}
    finally:
        await admin.close()


async def test_a_backlog_is_handled_in_order_with_a_commit_per_batch(
    infra: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = 0
    original = AIOKafkaConsumer.commit

    async def counted(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> None:
        nonlocal commits
        commits += 1
        await original(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", counted)  # counts the real commits, each still sent

    tag = uuid.uuid4().hex[:10]
    prefix = f"t{tag}."
    bus = KafkaBus(
        infra.kafka_bootstrap,
        client_id=f"test-{tag}",
        prefix=prefix,
        partitions=2,
        retry=RetryPolicy(attempts=3, first_delay=0.05, max_delay=0.5),
    )
    subjects = [uuid.uuid4().hex for _ in range(5)]
    for n in range(BACKLOG // len(subjects)):
        for subject in subjects:
            await bus.publish(topics.COMPLAINTS, _event(subject, n))
    seen: dict[str, list[int]] = {}

    async def handler(event: Event) -> None:
        seen.setdefault(event.subject, []).append(event.data["n"])

    bus.subscribe("batches", [topics.COMPLAINTS], handler)
    await bus.start()
    try:
        expected = list(range(BACKLOG // len(subjects)))
        deadline = asyncio.get_running_loop().time() + 60
        while sum(len(v) for v in seen.values()) < BACKLOG:
            assert asyncio.get_running_loop().time() < deadline, "backlog not handled in time"
            await asyncio.sleep(0.05)
        assert all(seen[s] == expected for s in subjects), "a subject's events out of order or repeated"
        # committed to the end once the last batch is done
        while sum((await _committed(infra.kafka_bootstrap, prefix + "batches")).values()) < BACKLOG:
            assert asyncio.get_running_loop().time() < deadline, "offsets not committed to the end"
            await asyncio.sleep(0.2)
    finally:
        await bus.stop()
    # at most 100 records a batch: a commit per record would be 300
    assert 0 < commits <= BACKLOG // 10, commits
