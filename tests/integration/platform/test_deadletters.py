"""``minwon deadletter list|show|redrive`` on both backends: the embedded log and Kafka.

The command runs as an operator runs it, through ``apps.cli.main`` with the backend named by the
environment, in a thread of its own (it runs its own event loop, as on the command line).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps import cli
from minwon import topics
from minwon.bus import Bus
from minwon.deadletters import LETTER
from minwon.events import Event
from tests import samples

# ------------------------------------------------------------------ factories


def original(topic_tag: str = "complaint.received", **data: Any) -> Event:
    receipt = f"2AA-{uuid.uuid4().hex[:10]}"
    return Event.new(
        f"kr.minwon.{topic_tag}.v1",
        source="/minwon/intake",
        subject=receipt,
        data=samples.shaped(f"kr.minwon.{topic_tag}.v1", receipt_no=receipt, **data),
        time=datetime.now(UTC),
    )


def letter(
    event: Event, *, group: str, topic: str, error: str = "KeyError: 'department'", time: datetime | None = None
) -> Event:
    """A letter as the bus writes it for a record it parsed."""
    return Event.new(
        LETTER,
        source=f"/minwon/{group}",
        subject=event.subject,
        time=time or datetime.now(UTC),
        id=f"{event.id}:{group}",
        data={"group": group, "topic": topic, "error": error, "attempts": 5, "event": event.to_doc()},
    )


# ------------------------------------------------------------------ running the command


@pytest.fixture
def operator(backend: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``await operator("list", "--json")`` -> (exit code, stdout, stderr), on the test's backend."""
    monkeypatch.setenv("MINWON_BACKEND", backend.name)
    monkeypatch.setenv("MINWON_DATA_DIR", str(backend.tmp / "var"))
    if backend.distributed:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", backend.infra.kafka_bootstrap)
        monkeypatch.setenv("MINWON_KAFKA_TOPIC_PREFIX", f"t{backend.tag}.")
        monkeypatch.setenv("MINWON_KAFKA_PARTITIONS", "2")

    async def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(cli.main, ["deadletter", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def listed(operator: Any, *flags: str) -> dict[str, dict[str, Any]]:
    code, out, err = await operator("list", "--json", *flags)
    assert code == 0, err
    return {x["id"]: x for x in json.loads(out)}


async def on_topic(bus: Bus, topic: str, event_id: str) -> list[Event]:
    return [e async for _, e in bus.read([topic]) if e.id == event_id]


# ------------------------------------------------------------------ tests


async def test_list_shows_the_letters_and_show_prints_the_original_event(backend: Any, operator: Any) -> None:
    bus = backend.bus()
    first, second = original(), original("complaint.routed", department="roads")
    letters = [
        letter(first, group="minwon-routing", topic=topics.COMPLAINTS),
        letter(second, group="minwon-deadline", topic=topics.ROUTING, error="TimeoutError: store"),
    ]
    try:
        for x in letters:
            await bus.publish(topics.DEADLETTER, x)
        # not a bus letter: the agencies' given-up webhook delivery shares the topic
        other = Event.new(
            "kr.minwon.subscription.delivery_dead.v1",
            source="/minwon/notification",
            subject="x",
            time=datetime.now(UTC),
            data={
                "delivery_id": "d-1",
                "subscription_id": "s-1",
                "agency": "molit",
                "event_id": "e-1",
                "event_type": "kr.minwon.public.complaint.received.v1",
                "replay": False,
                "attempts": 8,
                "error": "http_503",
                "status_code": 503,
                "occurred_at": datetime.now(UTC).isoformat(),
            },
        )
        await bus.publish(topics.DEADLETTER, other)

        found = await listed(operator)
        assert set(found) == {x.id for x in letters}
        assert found[letters[1].id]["group"] == "minwon-deadline"
        assert found[letters[1].id]["topic"] == topics.ROUTING
        assert found[letters[1].id]["event_type"] == "kr.minwon.complaint.routed.v1"
        assert found[letters[1].id]["attempts"] == 5 and found[letters[1].id]["status"] == "pending"
        assert set(await listed(operator, "--group", "minwon-routing")) == {letters[0].id}
        assert set(await listed(operator, "--topic", topics.ROUTING)) == {letters[1].id}

        code, out, _ = await operator("list")
        assert code == 0
        assert letters[0].id in out and letters[1].id in out and "TimeoutError: store" in out
        assert other.id not in out

        code, out, _ = await operator("show", letters[1].id)
        assert code == 0
        shown = json.loads(out)
        assert shown["event"] == second.to_doc()
        assert shown["error"] == "TimeoutError: store"

        code, _, err = await operator("show", "no-such-letter")
        assert code == 1 and "no dead letter 'no-such-letter'" in err
    finally:
        await bus.stop()


async def test_redrive_republishes_the_original_once_and_list_hides_it(backend: Any, operator: Any) -> None:
    bus = backend.bus()
    event = original(district="수영구")
    dead = letter(event, group="minwon-notification", topic=topics.COMPLAINTS)
    try:
        await bus.publish(topics.DEADLETTER, dead)
        assert await on_topic(bus, topics.COMPLAINTS, event.id) == []

        code, out, err = await operator("redrive", dead.id, "--dry-run")
        assert code == 0, err
        assert f"would redrive {dead.id}" in out
        assert await on_topic(bus, topics.COMPLAINTS, event.id) == []

        code, out, err = await operator("redrive", dead.id)
        assert code == 0, err
        assert f"redriven {dead.id}: {event.type} {event.id} -> {topics.COMPLAINTS}" in out
        (again,) = await on_topic(bus, topics.COMPLAINTS, event.id)
        assert (again.type, again.subject, again.data) == (event.type, event.subject, event.data)

        code, _, err = await operator("redrive", dead.id)
        assert code == 1
        assert f"letter {dead.id} was already redriven" in err
        code, _, err = await operator("redrive")
        assert code == 2 and "give a letter id or --all" in err
        assert len(await on_topic(bus, topics.COMPLAINTS, event.id)) == 1

        assert dead.id not in await listed(operator)
        everything = await listed(operator, "--all")
        assert everything[dead.id]["status"] == "redriven" and everything[dead.id]["redriven_at"]
    finally:
        await bus.stop()


async def write_garbage(backend: Any, topic: str, text: str) -> None:
    """A producer that writes a record that is not an event (a bug elsewhere, a foreign client)."""
    if backend.distributed:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=backend.infra.kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(f"t{backend.tag}.{topic}", text.encode(), key=b"garbage")
        finally:
            await producer.stop()
    else:
        with sqlite3.connect(backend.tmp / "var" / "events.db") as db:
            db.execute(
                "INSERT INTO log (topic, key, event_id, time, body) VALUES (?, 'garbage', 'garbage', ?, ?)",
                (topic, datetime.now(UTC).isoformat(), text),
            )


async def test_a_raw_letter_is_listed_and_its_redrive_refused(backend: Any, operator: Any) -> None:
    bus = backend.bus()
    handled: list[str] = []

    async def handler(e: Event) -> None:
        handled.append(e.id)

    bus.subscribe("minwon-survey", [topics.ROUTING], handler)
    await bus.start()
    event = original()
    good = letter(event, group="minwon-survey", topic=topics.COMPLAINTS)
    try:
        await write_garbage(backend, topics.ROUTING, '{"broken": tru')
        raws: list[Event] = []
        for _ in range(300):
            raws = [e async for _, e in bus.read([topics.DEADLETTER]) if "raw" in e.data]
            if raws:
                break
            await asyncio.sleep(0.1)
        (raw,) = raws
        await bus.publish(topics.DEADLETTER, good)

        found = await listed(operator)
        assert set(found) == {raw.id, good.id}
        assert found[raw.id]["unparsable"] is True and found[raw.id]["position"] == raw.data["position"]
        assert found[raw.id]["group"] == "minwon-survey" and found[raw.id]["topic"] == topics.ROUTING
        assert found[raw.id]["event_type"] is None
        code, out, _ = await operator("show", raw.id)
        assert code == 0 and json.loads(out)["raw"] == '{"broken": tru'

        code, _, err = await operator("redrive", raw.id)
        assert code == 1
        assert f"unparsable record at {raw.data['position']}" in err and "cannot be redriven" in err

        # --all redrives what it can and says what it skipped
        code, out, err = await operator("redrive", "--all", "--group", "minwon-survey")
        assert code == 0
        assert f"redriven {good.id}" in out and "1 redriven, 1 skipped" in out
        assert f"letter {raw.id} holds an unparsable record" in err
        assert len(await on_topic(bus, topics.COMPLAINTS, event.id)) == 1
        assert set(await listed(operator)) == {raw.id}
        assert handled == []
    finally:
        await bus.stop()


async def test_a_letter_written_again_after_its_redrive_is_pending_again(backend: Any, operator: Any) -> None:
    bus = backend.bus()
    event = original()
    first = letter(event, group="minwon-deadline", topic=topics.COMPLAINTS)
    try:
        await bus.publish(topics.DEADLETTER, first)
        code, _, err = await operator("redrive", first.id)
        assert code == 0, err
        assert first.id not in await listed(operator)
        # the redriven event failed in the same group again: same letter id, a later copy
        await bus.publish(
            topics.DEADLETTER,
            letter(
                event,
                group="minwon-deadline",
                topic=topics.COMPLAINTS,
                error="KeyError: 'due'",
                time=datetime.now(UTC) + timedelta(seconds=1),
            ),
        )
        found = await listed(operator)
        assert found[first.id]["status"] == "pending" and found[first.id]["error"] == "KeyError: 'due'"
        code, _, err = await operator("redrive", first.id)
        assert code == 0, err
        assert len(await on_topic(bus, topics.COMPLAINTS, event.id)) == 2
    finally:
        await bus.stop()


async def test_the_group_that_failed_handles_a_redriven_event(backend: Any, operator: Any) -> None:
    """A letter the bus wrote itself: after the redrive the failed group handles the event, and the group
    that had handled it gets the same id again (which its inbox drops)."""
    bus = backend.bus()
    delivered: dict[str, list[str]] = {"fails": [], "fine": []}
    broken = True

    def group(name: str) -> Any:
        async def handler(e: Event) -> None:
            if name == "fails" and broken:
                raise RuntimeError("store unavailable")
            delivered[name].append(e.id)

        return handler

    bus.subscribe("fails", [topics.SURVEYS], group("fails"))
    bus.subscribe("fine", [topics.SURVEYS], group("fine"))
    await bus.start()
    try:
        event = original("survey.invited")
        await bus.publish(topics.SURVEYS, event)
        letter_id = f"{event.id}:fails"
        for _ in range(300):
            if await on_topic(bus, topics.DEADLETTER, letter_id):
                break
            await asyncio.sleep(0.1)
        found = await listed(operator)
        assert found[letter_id]["group"] == "fails" and found[letter_id]["topic"] == topics.SURVEYS
        assert found[letter_id]["error"].startswith("RuntimeError")
        assert delivered == {"fails": [], "fine": [event.id]}

        broken = False
        code, _, err = await operator("redrive", letter_id)
        assert code == 0, err
        for _ in range(300):
            if delivered["fails"] and len(delivered["fine"]) > 1:
                break
            await asyncio.sleep(0.1)
        assert delivered == {"fails": [event.id], "fine": [event.id, event.id]}
        assert letter_id not in await listed(operator)
    finally:
        await bus.stop()
