"""Staff notices of cooperation requests (협조 요청) on both backends: the department asked hears of the
request and of its overdue escalation (its team lead), the lead handler of the reply; each once, also
when the events are delivered again."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from minwon import contracts as c
from minwon import topics
from services.notification import domain
from tests import samples
from tests.integration.notification.helpers import MovingClock, app, listed, of, until
from tests.unit.notification.factories import HANDLER, assigned, filing, receipt_no, received

WANTED = (domain.STAFF_COOPERATION_REQUESTED, domain.STAFF_COOPERATION_OVERDUE, domain.STAFF_COOPERATION_REPLIED)


async def test_the_department_asked_its_team_lead_and_the_lead_handler_are_told_once(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    facts = {"department": "parks", "from_department": "road", "request_id": "c-7"}
    cooperation = [
        (topics.COMPLAINTS, samples.event(c.COMPLAINT_COOPERATION_REQUESTED, r, id=f"{r}-asked", **facts)),
        (topics.DEADLINES, samples.event(c.DEADLINE_COOPERATION_OVERDUE, r, id=f"{r}-overdue", **facts)),
        (topics.COMPLAINTS, samples.event(c.COMPLAINT_COOPERATION_REPLIED, r, id=f"{r}-replied", **facts)),
    ]
    async with AsyncTestClient(app(backend, store, bus, clock=MovingClock())) as client:
        for topic, e in [
            (topics.PRIVATE, filing(r)[0]),
            (topics.COMPLAINTS, received(r)),
            (topics.ROUTING, assigned(r)),
            *cooperation,
            *cooperation,
        ]:  # the second time: redelivered
            await pub.publish(topic, e)

        def all_sent(items: list[dict]) -> bool:
            return all([i["status"] for i in of(items, t)] == ["sent"] for t in WANTED)

        items = await until(lambda: listed(client, r), all_sent)
        (asked,) = of(items, domain.STAFF_COOPERATION_REQUESTED)
        assert asked["role"] == "cooperating_department" and asked["to"].endswith("@parks")
        (overdue,) = of(items, domain.STAFF_COOPERATION_OVERDUE)
        assert overdue["role"] == "team_lead" and overdue["to"].endswith("@parks") and overdue["urgent"] is True
        assert "독촉" in overdue["text"]
        (replied,) = of(items, domain.STAFF_COOPERATION_REPLIED)
        assert replied["role"] == "handler" and "@parks" not in (replied["to"] or "")
        assert HANDLER["name"] in replied["text"]


async def test_a_reply_noted_before_the_assignment_waits_to_name_the_handler(backend, pub) -> None:
    """The reply and the assignment come on two topics, in no set order: the lead handler's notice goes
    once the assignment says who that is, naming them."""
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    facts = {"department": "parks", "from_department": "road", "request_id": "c-8"}
    replied = samples.event(c.COMPLAINT_COOPERATION_REPLIED, r, id=f"{r}-replied", **facts)
    async with AsyncTestClient(app(backend, store, bus, clock=MovingClock())) as client:
        for topic, e in [
            (topics.PRIVATE, filing(r)[0]),
            (topics.COMPLAINTS, received(r)),
            (topics.COMPLAINTS, replied),
        ]:
            await pub.publish(topic, e)

        def waiting(items: list[dict]) -> bool:  # attempted, and found waiting (a new notice is pending too)
            return [(i["status"], i["waiting"]) for i in of(items, domain.STAFF_COOPERATION_REPLIED)] == [
                ("pending", ["handler"])
            ]

        await until(lambda: listed(client, r), waiting)
        await pub.publish(topics.ROUTING, assigned(r))

        def sent(items: list[dict]) -> bool:
            return [i["status"] for i in of(items, domain.STAFF_COOPERATION_REPLIED)] == ["sent"]

        (notice,) = of(await until(lambda: listed(client, r), sent), domain.STAFF_COOPERATION_REPLIED)
        assert HANDLER["name"] in notice["text"] and "@parks" not in (notice["to"] or "")
