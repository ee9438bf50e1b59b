"""How far a consumer group is behind on topics, read from the broker (a test's view from outside)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any


async def behind(bootstrap: str, group: str, topic_names: Iterable[str]) -> int:
    """Records on ``topic_names`` (physical names) past ``group``'s committed offsets; a partition the group
    never committed on counts from offset 0 (``KafkaBus.lag`` leaves those out)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(await _partitions(consumer, set(topic_names)))
        return sum(end - max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def _partitions(consumer: Any, topic_names: set[str]) -> list[Any]:
    from aiokafka import TopicPartition

    for _ in range(50):
        await consumer._client.force_metadata_update()
        known = {t: consumer.partitions_for_topic(t) for t in topic_names}
        if all(known.values()):
            return [TopicPartition(t, p) for t, ps in known.items() for p in sorted(ps)]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no partition metadata for {topic_names}")


async def caught_up(backend: Any, group: str, *topic_names: str, timeout: float = 30.0) -> None:
    """Wait until ``group`` has handled everything published on ``topic_names`` (logical names) in ``backend``'s
    topics. Kafka only: the embedded log hands a group its topics' records in one order, so there an event
    the caller saw handled, published after the others, already implies them."""
    if not backend.distributed:
        return
    prefix = f"t{backend.tag}."
    physical = [prefix + t for t in topic_names]
    bootstrap = backend.infra.kafka_bootstrap
    await drained(lambda: behind(bootstrap, prefix + group, physical), f"{group} on {topic_names}", timeout)


async def drained(count: Callable[[], Awaitable[int]], what: str, timeout: float = 30.0) -> None:
    """Poll ``count`` (records still to handle) until it reads 0; fail naming ``what`` after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := await count()) > 0:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: still {left} behind")
        await asyncio.sleep(0.2)
