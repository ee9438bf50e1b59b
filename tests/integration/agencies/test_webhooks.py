"""Webhook deliveries on both backends: the projector's events reach a receiver signed; retries survive a
short outage; after a long one (an hour on the service's clock) the deliveries die into the dead-letter
topic and a replay catches the receiver up with the original ids — no gaps, no unflagged duplicates."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
from litestar.testing import AsyncTestClient

from minwon import contracts as c
from minwon import topics
from minwon.docstore import iso
from minwon.events import Event
from services.notification.agencies import public
from services.notification.agencies.public import Filter
from tests import spies
from tests.factories import STAFF
from tests.integration.agencies.helpers import (
    MovingClock,
    Receiver,
    close,
    deliveries,
    notification_app,
    register,
    subscribe,
    until,
)
from tests.unit.agencies import factories as f
from tests.unit.agencies.examples import load

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
verifier = load("verify_webhook")


def lifecycle(r: str, start: datetime, *, district: str = "해운대구") -> list[tuple[str, Event]]:
    """received → routed → assigned → closed, as intake and routing publish them, a millisecond apart."""
    at = [start + timedelta(milliseconds=n) for n in range(4)]
    return [
        (topics.COMPLAINTS, f.event(c.COMPLAINT_RECEIVED, r, {"district": district, "consent": {}}, at=at[0])),
        (topics.ROUTING, f.event(c.COMPLAINT_ROUTED, r, {"district": district, "department": "road"}, at=at[1])),
        (
            topics.ROUTING,
            f.event(
                c.COMPLAINT_ASSIGNED,
                r,
                {
                    "district": district,
                    "department": "road",
                    "handler": {"id": "h-1", "name": "김담당", "contact": "051-888-1234"},
                },
                at=at[2],
            ),
        ),
        (topics.COMPLAINTS, f.event(c.COMPLAINT_CLOSED, r, {"district": district, "outcome": "accepted"}, at=at[3])),
    ]


async def public_events(reader, since: datetime | None = None) -> list[Event]:
    return [e async for _, e in reader.read([topics.PUBLIC], since=since)]


async def test_matching_events_are_delivered_signed_and_valid(backend, monkeypatch) -> None:
    # the delivery loop's queries for due deliveries (a scan on a server without the index)
    queries = spies.finds(monkeypatch, "webhook_deliveries", lambda where: "next_attempt_at" in where)
    # the wheel's buckets written (a new delivery is proposed to the loop from memory, filed only if still
    # undelivered after a hold)
    filed = [*(spies.calls(monkeypatch, m, "webhook_delivery_timers") for m in ("create", "update"))]
    store, bus, pub = backend.store("notification"), backend.bus(), backend.bus()
    clock = MovingClock(f.NOW)
    receiver = Receiver()
    await receiver.start()
    try:
        async with AsyncTestClient(notification_app(backend, store, bus, clock=clock)) as client:
            agency = await register(client, f"wh-{backend.tag}", STAFF)
            hook = await subscribe(
                client,
                agency,
                mode="webhook",
                url=receiver.url,
                filter={"districts": ["해운대구"], "types": ["received", "assigned", "closed"]},
            )
            other = await subscribe(
                client, agency, mode="webhook", url=receiver.url + "/petitions", filter={"kinds": ["petition"]}
            )
            mine, theirs = f.receipt_no(), f.receipt_no()
            for topic, e in lifecycle(mine, clock()) + lifecycle(theirs, clock(), district="중구"):
                await pub.publish(topic, e)
            got = await until(lambda: _received(receiver), lambda xs: len(xs) >= 3)
            items = await until(
                lambda: deliveries(client, agency, hook["id"]),
                lambda xs: len(xs) == 3 and all(x["status"] == "delivered" for x in xs),
            )
            assert await deliveries(client, agency, other["id"]) == []
            on_topic = await until(lambda: public_events(pub), lambda es: len(es) >= 8)
    finally:
        await receiver.stop()
        await close(pub)

    pid = public.pseudonym(mine, b"test-public-id-secret")
    assert [x.event.type for x in sorted(got, key=lambda x: x.event.time)] == [
        c.PUBLIC_COMPLAINT_RECEIVED,
        c.PUBLIC_COMPLAINT_ASSIGNED,
        c.PUBLIC_COMPLAINT_CLOSED,
    ]
    wanted = Filter(districts=["해운대구"], types=["received", "assigned", "closed"])
    assert {x.event.id for x in got} == {e.id for e in on_topic if wanted.matches(e)}
    for x in got:
        assert x.event.subject == pid and not x.replay
        assert x.headers["content-type"] == "application/cloudevents+json"
        assert x.headers["x-minwon-event-id"] == x.event.id
        assert verifier.verify(x.body, x.headers["x-minwon-signature"], hook["secret"], now=x.at) > 0
        schema = json.loads((SCHEMAS / f"{x.event.type}.json").read_text("utf-8"))
        jsonschema.validate(json.loads(x.body), schema)
        assert mine not in x.body.decode() and "김담당" not in x.body.decode()
    # the documented verifier refuses an altered body and a delivery captured and resent later
    x = got[0]
    signed = x.headers["x-minwon-signature"]
    for body, now in ((x.body.replace(b'"other"', b'"petition"'), x.at), (x.body, x.at + 301)):
        try:
            verifier.verify(body, signed, hook["secret"], now=now)
        except verifier.InvalidSignature:
            continue
        raise AssertionError("accepted a tampered or stale delivery")
    assert {i["event_id"] for i in items} == {x.event.id for x in got}
    assert all(i["attempts"] == 1 and i["replay"] is False and "event" not in i for i in items)
    # the due deliveries came from their timer wheel, read by id; the query is the loop's first-pass safety net
    assert len(queries) == 1, queries
    assert filed == [[], []]  # each delivered within its hold: no bucket written


async def _received(receiver: Receiver):
    return list(receiver.got)


async def test_the_fan_out_reads_the_subscriptions_once_for_many_events_and_a_new_one_at_once(
    backend, monkeypatch
) -> None:
    """The active webhook subscriptions are read once for the events fanned out within a few seconds, not
    once per event; one created through this replica applies to the very next event."""
    reads = spies.finds(monkeypatch, "subscriptions", lambda where: where.get("mode") == "webhook")
    store, bus, pub = backend.store("notification"), backend.bus(), backend.bus()
    clock = MovingClock(f.NOW)
    receiver = Receiver()
    await receiver.start()
    try:
        async with AsyncTestClient(notification_app(backend, store, bus, clock=clock)) as client:
            agency = await register(client, f"fo-{backend.tag}", STAFF)
            first = await subscribe(client, agency, mode="webhook", url=receiver.url, filter={})
            for topic, e in [x for _ in range(3) for x in lifecycle(f.receipt_no(), clock())]:
                await pub.publish(topic, e)
            await until(lambda: deliveries(client, agency, first["id"]), lambda xs: len(xs) == 12)
            assert 1 <= len(reads) < 12  # twelve public events: four for each complaint
            second = await subscribe(client, agency, mode="webhook", url=receiver.url + "/second", filter={})
            last = f.receipt_no()
            for topic, e in lifecycle(last, clock()):
                await pub.publish(topic, e)
            theirs = await until(lambda: deliveries(client, agency, second["id"]), lambda xs: len(xs) == 4)
            ours = await until(lambda: deliveries(client, agency, first["id"]), lambda xs: len(xs) == 16)
    finally:
        await receiver.stop()
        await close(pub)
    newest = {i["event_id"] for i in ours} - {i["event_id"] for i in ours[4:]}  # newest first
    assert {i["event_id"] for i in theirs} == newest


async def test_retries_ride_out_a_short_outage(backend) -> None:
    store, bus, pub = backend.store("notification"), backend.bus(), backend.bus()
    clock = MovingClock(f.NOW)
    receiver = Receiver(status=500)  # up, but failing
    await receiver.start()
    try:
        async with AsyncTestClient(
            notification_app(backend, store, bus, clock=clock, webhook_max_attempts=5, webhook_backoff_base_seconds=60)
        ) as client:
            agency = await register(client, f"rt-{backend.tag}", STAFF)
            hook = await subscribe(client, agency, mode="webhook", url=receiver.url, filter={"types": ["received"]})
            r = f.receipt_no()
            await pub.publish(topics.COMPLAINTS, lifecycle(r, clock())[0][1])
            failed = await until(
                lambda: deliveries(client, agency, hook["id"]), lambda xs: len(xs) == 1 and xs[0]["status"] == "failed"
            )
            assert failed[0]["last_status_code"] == 500 and failed[0]["attempts"] == 1
            receiver.status = 204
            clock.advance(timedelta(seconds=61))
            done = await until(
                lambda: deliveries(client, agency, hook["id"]), lambda xs: xs[0]["status"] == "delivered"
            )
    finally:
        await receiver.stop()
        await close(pub)
    assert done[0]["attempts"] == 2 and [h["status_code"] for h in done[0]["history"]] == [500, 204]
    assert [x.headers.get("x-minwon-delivery") for x in receiver.got] == [done[0]["id"]] * 2


async def test_after_a_long_outage_a_replay_catches_up_without_gaps(backend) -> None:
    store, bus, pub = backend.store("notification"), backend.bus(), backend.bus()
    clock = MovingClock(f.NOW)
    receiver = Receiver()
    await receiver.start()
    try:
        async with AsyncTestClient(
            notification_app(
                backend,
                store,
                bus,
                clock=clock,
                webhook_max_attempts=4,
                webhook_backoff_base_seconds=60,
                webhook_backoff_max_seconds=600,
            )
        ) as client:
            agency = await register(client, f"ro-{backend.tag}", STAFF)
            hook = await subscribe(client, agency, mode="webhook", url=receiver.url, filter={"districts": ["해운대구"]})
            wanted = Filter(districts=["해운대구"])

            # before the outage: one complaint delivered
            for topic, e in lifecycle(f.receipt_no(), clock()):
                await pub.publish(topic, e)
            await until(lambda: _received(receiver), lambda xs: len(xs) == 4)

            # the receiver goes down (connections refused) for an hour of the service's clock
            await receiver.stop()
            down_at = clock()
            during = [f.receipt_no(), f.receipt_no()]
            for r in during:
                for topic, e in lifecycle(r, clock()):
                    await pub.publish(topic, e)
            await pub.publish(topics.COMPLAINTS, lifecycle(f.receipt_no(), clock(), district="중구")[0][1])
            await until(lambda: deliveries(client, agency, hook["id"], status="failed"), lambda xs: len(xs) == 8)
            for _ in range(12):  # an hour in five-minute steps: every retry comes due and fails
                clock.advance(timedelta(minutes=5))
                await until(
                    lambda: deliveries(client, agency, hook["id"]),
                    lambda xs: (
                        not any(
                            x["status"] in ("pending", "sending")
                            or (x["status"] == "failed" and x["next_attempt_at"] <= iso(clock()))
                            for x in xs
                        )
                    ),
                    timeout=30,
                )
            dead = await deliveries(client, agency, hook["id"], status="dead")
            assert len(dead) == 8 and all(d["attempts"] == 4 for d in dead)
            letters = await until(lambda: _dead_letters(pub), lambda es: len(es) >= 8)
            assert {e.data["delivery_id"] for e in letters} >= {d["id"] for d in dead}

            # back up: new events flow again as originals, then the agency replays from the outage
            await receiver.start()
            after = f.receipt_no()
            for topic, e in lifecycle(after, clock()):
                await pub.publish(topic, e)
            await until(lambda: _received(receiver), lambda xs: len(xs) == 8)
            since = down_at.isoformat()
            replay = await client.post(
                f"/api/v1/subscriptions/{hook['id']}/replay", params={"from": since}, headers=agency
            )
            assert replay.status_code == 202, replay.text
            assert replay.json()["count"] == 12 and replay.json()["truncated"] is False
            await until(lambda: _received(receiver), lambda xs: len(xs) == 20)
            flagged = await until(
                lambda: deliveries(client, agency, hook["id"], replay="true"),
                lambda xs: len(xs) == 12 and all(d["status"] == "delivered" for d in xs),
            )
            assert all(d["attempts"] == 1 for d in flagged)
            on_topic = [e for e in await public_events(pub) if wanted.matches(e)]
    finally:
        await receiver.stop()
        await close(pub)

    got = receiver.got
    assert {x.event.id for x in got} == {e.id for e in on_topic}  # no gaps
    unflagged = Counter(x.event.id for x in got if not x.replay)
    assert max(unflagged.values()) == 1  # no unflagged duplicates
    replayed = [x for x in got if x.replay]
    assert len(replayed) == 12 and {x.event.id for x in replayed} == {e.id for e in on_topic if e.time >= down_at}
    missed = {d["event_id"] for d in dead}
    assert missed <= {x.event.id for x in replayed} and not missed & set(unflagged)
    for x in got:  # every copy, original or replayed, is signed at its sending and verifies on arrival
        assert verifier.verify(x.body, x.headers["x-minwon-signature"], hook["secret"], now=x.at) > 0


async def _dead_letters(bus) -> list[Event]:
    return [e async for _, e in bus.read([topics.DEADLETTER]) if e.type == c.SUBSCRIPTION_DELIVERY_DEAD]
