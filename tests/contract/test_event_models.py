"""Every event type has a model; one event of each type, published through each bus adapter on each
topic it travels on, reaches a consumer's table as the same model."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

import services.notification.agencies.public  # noqa: F401 - registers the public stream's types
from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from tests import samples


def test_every_type_has_a_model_a_topic_and_a_valid_sample() -> None:
    constants = {v for k, v in vars(c).items() if k.isupper() and isinstance(v, str) and v.startswith("kr.minwon.")}
    assert constants <= set(c.MODELS), f"types without a model: {sorted(constants - set(c.MODELS))}"
    assert set(c.MODELS) - {
        "kr.minwon.test.happened.v1",
        "kr.minwon.test.filed.v1",
        "kr.minwon.test.security.v1",
    } <= set(samples.SAMPLES), "a type without a sample"
    names = {t.name for t in topics.TOPICS}
    for kind in samples.SAMPLES:
        assert c.TOPICS_OF[kind] and set(c.TOPICS_OF[kind]) <= names
        assert isinstance(c.payload(samples.event(kind)), c.model_of(kind))


def test_an_events_data_is_parsed_once_and_again_for_other_data(monkeypatch: pytest.MonkeyPatch) -> None:
    kind = next(iter(samples.SAMPLES))
    event = samples.event(kind)
    first = c.payload(event)
    assert c.payload(event) is first  # the groups of one process handling this event share its model
    same_id = event.model_copy(update={"data": dict(event.data)})
    assert c.payload(same_id) is not first and c.payload(same_id) == first  # other data: parsed anew
    monkeypatch.setattr(c, "PARSED_KEPT", 2)
    for _ in range(3):
        c.payload(samples.event(kind))
    assert len(c._PARSED) == 2  # the oldest dropped


def test_a_producer_cannot_publish_an_unknown_type_a_missing_field_or_on_another_topic() -> None:
    with pytest.raises(c.InvalidEvent, match="no model"):
        c.check(
            topics.COMPLAINTS,
            Event.new(
                "kr.minwon.complaint.invented.v1",
                source="/t",
                subject="x",
                data={},
                time=samples.event(c.COMPLAINT_CLOSED).time,
            ),
        )
    broken = samples.event(c.COMPLAINT_CLOSED)
    broken = broken.model_copy(update={"data": {k: v for k, v in broken.data.items() if k != "outcome"}})
    with pytest.raises(c.InvalidEvent, match="outcome: Field required"):
        c.check(topics.COMPLAINTS, broken)
    extra = samples.event(c.COMPLAINT_CLOSED, title="a title is personal data")
    with pytest.raises(c.InvalidEvent, match="title: Extra inputs"):
        c.check(topics.COMPLAINTS, extra)
    with pytest.raises(c.InvalidEvent, match="does not travel on minwon.routing.v1"):
        c.check(topics.ROUTING, samples.event(c.COMPLAINT_CLOSED))


async def test_a_table_runs_the_handler_of_the_type_with_its_model_and_skips_the_others() -> None:
    got: list[tuple[str, BaseModel]] = []

    async def closed(event: Event, data: Any) -> None:
        got.append((event.id, data))

    table = c.Table({c.COMPLAINT_CLOSED: closed, c.DEADLINE_BREACHED: closed})
    assert table.topics == [topics.COMPLAINTS, topics.DEADLINES]
    first = samples.event(c.COMPLAINT_CLOSED)
    await table(first)
    await table(samples.event(c.COMPLAINT_WITHDRAWN))  # another type on the same topic: not this consumer's
    assert len(got) == 1 and isinstance(got[0][1], c.ComplaintClosed) and got[0][1].outcome == "accepted"
    poison = first.model_copy(update={"data": {**first.data, "received_at": "not a time"}})
    with pytest.raises(c.InvalidEvent, match="received_at"):
        await table(poison)
    with pytest.raises(c.InvalidEvent, match="no model"):
        c.Table({"kr.minwon.complaint.invented.v1": closed})


async def test_one_of_each_type_reaches_a_consumer_as_the_same_model(backend: Any) -> None:
    bus = backend.bus()
    run = uuid.uuid4().hex[:8]
    sent: dict[str, Event] = {}
    for kind in samples.SAMPLES:
        for topic in c.TOPICS_OF[kind]:
            sent[f"{kind}@{topic}"] = samples.event(kind, id=f"{run}-{kind}-{topic}")
    received: dict[str, BaseModel] = {}

    def on(topic: str) -> Any:
        async def handle(event: Event, data: BaseModel) -> None:
            if event.id.startswith(run):
                received[f"{event.type}@{topic}"] = data

        return handle

    for topic in {t for types in c.TOPICS_OF.values() for t in types}:
        table = c.Table({kind: on(topic) for kind in samples.SAMPLES if topic in c.TOPICS_OF[kind]})
        bus.subscribe(f"contract-{run}-{topic}", [topic], table)
    await bus.start()
    try:
        for key, event in sent.items():
            await bus.publish(key.split("@")[1], event)
        deadline = asyncio.get_running_loop().time() + 60
        while len(received) < len(sent) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert set(received) == set(sent), f"not received: {sorted(set(sent) - set(received))}"
        for key, event in sent.items():
            assert received[key] == c.payload(event), key
            assert type(received[key]) is c.model_of(event.type)
    finally:
        await bus.stop()


async def test_a_record_whose_data_does_not_fit_is_dead_lettered_and_the_next_is_handled(backend: Any) -> None:
    """A producer outside the bus (or an older release) wrote a closure without its outcome: the table
    refuses it as InvalidEvent, the bus dead-letters it after its attempts, and the consumer moves on."""
    from tests.contract.test_bus import _append_garbage

    bus = backend.bus()
    subject = uuid.uuid4().hex
    handled: list[str] = []
    letters: list[Event] = []

    async def closed(event: Event, data: c.ComplaintClosed) -> None:
        if event.subject == subject:
            handled.append(data.outcome)

    async def dead(event: Event) -> None:
        if event.data.get("group") == "typed":
            letters.append(event)

    bus.subscribe("typed", [topics.COMPLAINTS], c.Table({c.COMPLAINT_CLOSED: closed}))
    bus.subscribe("watch-typed", [topics.DEADLETTER], dead)
    await bus.start()
    try:
        broken = samples.event(c.COMPLAINT_CLOSED, subject, id=f"{subject}-broken")
        broken = broken.model_copy(update={"data": {k: v for k, v in broken.data.items() if k != "outcome"}})
        await _append_garbage(backend, bus, topics.COMPLAINTS, broken.to_json())
        await bus.publish(topics.COMPLAINTS, samples.event(c.COMPLAINT_CLOSED, subject, outcome="rejected"))
        deadline = asyncio.get_running_loop().time() + 60
        while not (handled and letters) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        assert handled == ["rejected"]
        assert len(letters) == 1 and letters[0].data["event"]["id"] == f"{subject}-broken"
        assert letters[0].data["error"].startswith("InvalidEvent") and "outcome" in letters[0].data["error"]
    finally:
        await bus.stop()
