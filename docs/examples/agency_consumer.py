"""Read minwon's public complaint stream from Kafka — a starting point for an agency (``pip install aiokafka``).

Your operator gives you: the bootstrap address, the Kafka user ``agency-<code>`` and its password
(SCRAM-SHA-512 over TLS), and the CA certificate. You may read ``minwon.public.complaints.v1`` with
consumer groups whose names start with ``agency-<code>.``. Messages are CloudEvents in structured JSON
(``application/cloudevents+json``), keyed by the pseudonymous complaint id, so one complaint's events
stay in order. Delivery is at least once: drop an ``id`` you have already handled. Contract:
docs/public-events.md and docs/asyncapi.yaml.

    MINWON_KAFKA=kafka.example:9093 AGENCY_CODE=busan-police MINWON_KAFKA_PASSWORD=... \
        MINWON_KAFKA_CA=ca.crt python agency_consumer.py
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context

TOPIC = "minwon.public.complaints.v1"


def handle(event: dict[str, Any]) -> None:
    """Your logic here; ``event["data"]`` follows the schema of ``event["type"]`` (docs/schemas/)."""
    data = event["data"]
    print(
        event["time"],
        event["type"].split(".")[-2],
        data["complaint_id"],
        data["kind"],
        data.get("district"),
        data.get("department"),
    )


async def consume(
    *,
    bootstrap: str,
    group: str,
    topic: str = TOPIC,
    username: str | None = None,
    password: str | None = None,
    cafile: str | None = None,
    security_protocol: str = "SASL_SSL",
    on_event: Callable[[dict[str, Any]], None] = handle,
    stop_after: int | None = None,
    idle_seconds: float | None = None,
) -> int:
    """Consume from the group's committed position (the beginning for a new group); commit after handling.

    ``stop_after``/``idle_seconds`` end the loop (for a trial run); otherwise it runs until cancelled.
    """
    options: dict[str, Any] = {}
    if security_protocol != "PLAINTEXT":
        options.update(
            security_protocol=security_protocol,
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=username,
            sasl_plain_password=password,
            ssl_context=create_ssl_context(cafile=cafile),
        )
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )
    seen: OrderedDict[str, None] = OrderedDict()  # recent ids; keep them in your database in earnest
    handled = 0
    await consumer.start()
    try:
        while stop_after is None or handled < stop_after:
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch and idle_seconds is not None:
                idle_seconds -= 1
                if idle_seconds <= 0:
                    break
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["id"] not in seen:
                        on_event(event)
                        seen[event["id"]] = None
                        if len(seen) > 100_000:
                            seen.popitem(last=False)
                    handled += 1
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()
    return handled


if __name__ == "__main__":
    code = os.environ["AGENCY_CODE"]
    asyncio.run(
        consume(
            bootstrap=os.environ["MINWON_KAFKA"],
            group=f"agency-{code}.complaints",
            username=f"agency-{code}",
            password=os.environ["MINWON_KAFKA_PASSWORD"],
            cafile=os.environ.get("MINWON_KAFKA_CA"),
        )
    )
