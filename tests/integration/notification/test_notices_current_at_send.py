"""Issue 14 on both backends: a notice held by quiet hours is sent with the complaint's current facts or
dropped as superseded; the progress notice says 기한 경과 once the due date has passed; a holiday added
at run time (deadline.holiday_added) holds quiet-hour channels."""

from __future__ import annotations

from datetime import timedelta

from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from minwon import contracts as c
from minwon import topics
from minwon.events import Event
from services.notification import domain
from tests.integration.notification.helpers import MovingClock, app, listed, of, statuses, until
from tests.unit.notification.factories import HANDLER, NOW, assigned, event, filing, receipt_no, received

NEW_HANDLER = {"id": "h-202", "name": "이새담", "contact": "051-888-2222"}
NIGHT = NOW + timedelta(hours=13)  # Wednesday 23:00 in Seoul


def _filed_and_assigned(r: str) -> list:
    return [(topics.PRIVATE, filing(r)[0]), (topics.COMPLAINTS, received(r)), (topics.ROUTING, assigned(r))]


def _reassigned(r: str):
    return assigned(r, NEW_HANDLER, at=NOW + timedelta(hours=14), type=c.COMPLAINT_REASSIGNED)


def _superseded(template: str) -> float:
    return REGISTRY.get_sample_value("minwon_notification_superseded_total", {"template": template}) or 0.0


async def test_a_held_receipt_is_superseded_when_the_complaint_is_reassigned_then_closed(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    clock = MovingClock(NIGHT)
    r = receipt_no()
    before = _superseded(domain.RECEIPT)
    async with AsyncTestClient(app(backend, store, bus, clock=clock)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["deferred"])
        await pub.publish(topics.ROUTING, _reassigned(r))
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.REASSIGNED) == ["deferred"])
        await pub.publish(
            topics.COMPLAINTS, event(c.COMPLAINT_CLOSED, r, {"outcome": "accepted"}, at=NOW + timedelta(hours=15))
        )
        # dropped at once (the close wakes the complaint's notices), not when the morning comes
        items = await until(
            lambda: listed(client, r),
            lambda xs: (
                statuses(xs, domain.RECEIPT) == ["superseded"] and statuses(xs, domain.REASSIGNED) == ["superseded"]
            ),
        )
        receipt = of(items, domain.RECEIPT)[0]
        assert receipt["superseded_reason"] == "closed" and receipt["next_attempt_at"] is None
        assert receipt["attempts"] == 0 and receipt["sent_at"] is None and not receipt["deliveries"]
        assert _superseded(domain.RECEIPT) == before + 1
        clock.advance(timedelta(hours=10))  # Thursday 09:00: the delivery loop has nothing to send for them
        await until(
            lambda: listed(client, r),
            lambda xs: (
                statuses(xs, domain.STAFF_ASSIGNED)
                and all(s in domain.FINAL for s in statuses(xs, domain.STAFF_ASSIGNED))
            ),
        )
        items = await listed(client, r)
        for template in (domain.RECEIPT, domain.REASSIGNED):
            (one,) = of(items, template)
            assert one["status"] == "superseded" and not one["deliveries"], template


async def test_a_held_receipt_of_an_open_complaint_names_the_new_handler(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    clock = MovingClock(NIGHT)
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus, clock=clock)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["deferred"])
        await pub.publish(topics.ROUTING, _reassigned(r))
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.REASSIGNED) == ["deferred"])
        clock.advance(timedelta(hours=9, minutes=1))  # Thursday 08:01
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        text = of(items, domain.RECEIPT)[0]["deliveries"][0]["text"]
        assert NEW_HANDLER["name"] in text and NEW_HANDLER["contact"] in text
        assert HANDLER["name"] not in text and HANDLER["contact"] not in text


async def test_a_newer_progress_notice_supersedes_a_held_older_one(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    clock = MovingClock(NIGHT)
    r = receipt_no()
    async with AsyncTestClient(app(backend, store, bus, clock=clock)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        first = event(
            c.DEADLINE_PROGRESS_DUE,
            r,
            {"expected_completion": "2026-12-18T09:00:00+00:00"},
            at=NIGHT,
            id=f"{r}-progress-1",
        )
        await pub.publish(topics.DEADLINES, first)
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.PROGRESS) == ["deferred"])
        second = event(
            c.DEADLINE_PROGRESS_DUE,
            r,
            {"expected_completion": "2026-12-18T09:00:00+00:00"},
            at=NIGHT + timedelta(minutes=5),
            id=f"{r}-progress-2",
        )
        await pub.publish(topics.DEADLINES, second)
        items = await until(
            lambda: listed(client, r), lambda xs: sorted(statuses(xs, domain.PROGRESS)) == ["deferred", "superseded"]
        )
        older = next(i for i in of(items, domain.PROGRESS) if i["cause"] == first.id)
        assert older["status"] == "superseded" and older["superseded_reason"] == "newer_notice"
        clock.advance(timedelta(hours=9, minutes=1))
        items = await until(
            lambda: listed(client, r), lambda xs: sorted(statuses(xs, domain.PROGRESS)) == ["sent", "superseded"]
        )
        assert [i["cause"] for i in of(items, domain.PROGRESS) if i["status"] == "sent"] == [second.id]


async def test_a_progress_notice_after_the_due_date_says_overdue(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    past = "2026-11-17T09:00:00+00:00"  # Tuesday 18:00 in Seoul; NOW is Wednesday 10:00
    async with AsyncTestClient(app(backend, store, bus)) as client:
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        await pub.publish(topics.DEADLINES, event(c.DEADLINE_SET, r, {"due_at": past}, at=NOW - timedelta(days=30)))
        await pub.publish(topics.DEADLINES, event(c.DEADLINE_PROGRESS_DUE, r, {"expected_completion": past}))
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.PROGRESS) == ["sent"])
        progress = of(items, domain.PROGRESS)[0]
        assert progress["template_version"] == 2
        text = progress["deliveries"][0]["text"]
        assert "기한 경과" in text and "2026년 11월 17일(화) 18:00" in text
        assert "처리완료 예정일" not in text


async def test_a_holiday_added_at_run_time_holds_a_notice_until_the_next_working_day(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    clock = MovingClock(NOW + timedelta(days=1))  # Thursday 2026-11-19 10:00 in Seoul, a working day
    r = receipt_no()
    holiday = Event.new(
        c.DEADLINE_HOLIDAY_ADDED,
        source="/test/deadline",
        subject="calendar",
        time=NOW,
        id=f"holiday-{r}",
        data={"date": "2026-11-19", "name": "임시공휴일", "actor": "admin", "occurred_at": NOW.isoformat()},
    )
    async with AsyncTestClient(app(backend, store, bus, clock=clock)) as client:
        await pub.publish(topics.DEADLINES, holiday)
        days = backend.store("notification").collection("holidays")  # the test's own client (its event loop)
        await until(lambda: days.find({}), lambda ds: [d["date"] for d in ds] == ["2026-11-19"])
        for topic, e in _filed_and_assigned(r):
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["deferred"])
        receipt = of(items, domain.RECEIPT)[0]
        assert receipt["next_attempt_at"] == "2026-11-19T23:00:00.000000+00:00"  # Friday 08:00 in Seoul
        assert receipt["attempts"] == 0 and not receipt["deliveries"]
        # staff messages are not held
        await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.STAFF_ASSIGNED) == ["sent"])
        clock.advance(timedelta(hours=22, minutes=1))  # Friday 08:01
        items = await until(lambda: listed(client, r), lambda xs: statuses(xs, domain.RECEIPT) == ["sent"])
        assert len(of(items, domain.RECEIPT)[0]["deliveries"]) == 1
