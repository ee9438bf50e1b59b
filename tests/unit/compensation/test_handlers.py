"""The handlers over in-memory fakes: replays grant once, exclusions, settle delay, budget, approval, reversal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, Invalid
from services.compensation import domain
from tests.unit.compensation.factories import World, breached, event, receipt, received


async def test_a_breach_grants_once_even_when_the_event_is_handled_twice() -> None:
    w = World()
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    breach = breached(r, w.clock.now)
    await w.svc.on_event(breach)
    await w.svc.on_event(breach)
    [entry] = await w.ledger(r)
    [granted] = w.granted(r)
    assert entry["status"] == domain.GRANTED and entry["amount_krw"] == 10000
    assert granted.data["grant_id"] == entry["id"] == domain.entry_id(r, domain.DEADLINE_BREACH, "1")


async def test_a_breach_published_again_with_a_new_event_id_grants_nothing_more() -> None:
    w = World()
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(breached(r, w.clock.now))
    w.clock.advance(hours=1)
    await w.svc.on_event(breached(r, w.clock.now))  # e.g. the deadline service rebuilt and republished
    assert len(w.granted(r)) == 1 and len(await w.ledger(r)) == 1


@pytest.mark.parametrize("kind", ["petition", "other"])
async def test_petitions_and_immediate_complaints_get_nothing(kind: str) -> None:
    w = World()
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now, kind=kind))
    await w.svc.on_event(breached(r, w.clock.now, kind=kind))
    assert w.granted(r) == [] and await w.ledger(r) == []
    listing = await w.svc.list(receipt_no=r)
    assert listing["breach"]["outcome"] == "excluded" and listing["breach"]["reason"] == f"kind:{kind}"


@pytest.mark.parametrize("type", [c.COMPLAINT_EXTENDED, c.COMPLAINT_SUPPLEMENTATION_REQUESTED])
async def test_an_extended_or_supplemented_complaint_gets_nothing_without_flags_on_the_breach(type: str) -> None:
    w = World()
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    # requested within the period (before the breach's due time)
    await w.svc.on_event(event(type, r, w.clock.now - timedelta(hours=2), kind="inquiry_system"))
    await w.svc.on_event(breached(r, w.clock.now))  # no had_* flags
    assert w.granted(r) == [] and await w.ledger(r) == []


async def test_the_settle_delay_lets_a_late_consumed_extension_exclude_the_breach() -> None:
    w = World(settle=300)
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(breached(r, w.clock.now))
    assert await w.svc.assess_due() == 0  # not yet
    await w.svc.on_event(event(c.COMPLAINT_EXTENDED, r, w.clock.now - timedelta(hours=2), kind="inquiry_system"))
    w.clock.advance(seconds=301)
    assert await w.svc.assess_due() == 1
    assert w.granted(r) == []
    assert (await w.svc.list(receipt_no=r))["breach"]["reason"] == "extension"


async def test_the_loop_grants_a_settled_breach_once() -> None:
    w = World(settle=60)
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(breached(r, w.clock.now))
    w.clock.advance(seconds=61)
    await w.svc.assess_due()
    await w.svc.assess_due()
    assert len(w.granted(r)) == 1


async def test_a_breach_whose_facts_never_arrive_is_decided_after_the_wait() -> None:
    w = World(facts_wait=600)
    r = receipt()
    await w.svc.on_event(breached(r, w.clock.now))
    assert w.granted(r) == []
    w.clock.advance(seconds=601)
    await w.svc.assess_due()
    assert len(w.granted(r)) == 1


async def test_each_revisit_grants_and_a_redelivered_report_does_not() -> None:
    w = World()
    r = receipt()
    await w.svc.on_event(event(c.COMPLAINT_ROUTED, r, w.clock.now, department="민원과"))
    first = event(c.COMPLAINT_REVISIT_REPORTED, r, w.clock.now, kind="statutory")
    await w.svc.on_event(first)
    await w.svc.on_event(first)
    await w.svc.on_event(event(c.COMPLAINT_REVISIT_REPORTED, r, w.clock.now, kind="statutory"))
    grants = w.granted(r)
    assert len(grants) == 2 and {g.data["cause"] for g in grants} == {domain.STAFF_REVISIT}
    assert {g.data["department"] for g in grants} == {"민원과"}


async def test_once_the_budget_is_spent_grants_are_refused_and_recorded() -> None:
    w = World()
    year = w.clock.now.year
    await w.svc.set_budget(year, "건축과", limit_krw=15_000)
    first, second = receipt(), receipt()
    for r in (first, second):
        await w.svc.on_event(received(r, w.clock.now))
        await w.svc.on_event(breached(r, w.clock.now))
    assert len(w.granted(first)) == 1
    [refused] = w.refused(second)
    assert refused.data["reason"] == domain.BUDGET_EXHAUSTED
    [entry] = await w.ledger(second)
    assert entry["status"] == domain.REFUSED
    summary = await w.svc.summary(year)
    dept = summary["departments"]["건축과"]
    assert (dept["count"], dept["amount_krw"], dept["refused"]) == (1, 10000, 1)
    assert dept["budget"] == {"limit_krw": 15_000, "spent_krw": 10_000, "remaining_krw": 5_000}


async def test_a_default_budget_applies_until_one_is_set() -> None:
    w = World(default_budget=0)
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(breached(r, w.clock.now))
    assert len(w.refused(r)) == 1 and w.granted(r) == []


async def test_a_reward_above_the_threshold_waits_for_approval() -> None:
    w = World(threshold=100_000)
    r = receipt()
    entry, created = await w.svc.open_whistleblower_case(
        receipt_no=r,
        complainant_ref="p-0123",
        department="감사담당관",
        verified=True,
        recovered_krw=10_000_000,
        verified_at=None,
    )
    assert created and entry["status"] == domain.AWAITING_APPROVAL and entry["amount_krw"] == 3_000_000
    assert w.granted(r) == []
    again, created_again = await w.svc.open_whistleblower_case(
        receipt_no=r,
        complainant_ref="p-0123",
        department="감사담당관",
        verified=True,
        recovered_krw=10_000_000,
        verified_at=None,
    )
    assert not created_again and again["id"] == entry["id"]
    approved = await w.svc.approve(entry["id"], approver="감사담당관장")
    assert approved["status"] == domain.GRANTED
    [granted] = w.granted(r)
    assert granted.data["amount_krw"] == 3_000_000 and "p-0123" not in granted.to_json().decode()
    assert (await w.svc.approve(entry["id"], approver="감사담당관장"))["status"] == domain.GRANTED
    assert len(w.granted(r)) == 1


async def test_a_whistleblower_case_keeps_a_plausible_verification_time_and_refuses_year_one() -> None:
    w = World()
    r = receipt()
    with pytest.raises(Invalid) as refused:
        await w.svc.open_whistleblower_case(
            receipt_no=r,
            complainant_ref="p-1",
            department="감사담당관",
            verified=True,
            recovered_krw=1_000_000,
            verified_at=datetime(1, 1, 1, tzinfo=UTC),
        )
    assert refused.value.field == "verified_at" and await w.ledger(r) == []
    verified = w.clock.now - timedelta(days=3)
    entry, _ = await w.svc.open_whistleblower_case(
        receipt_no=r,
        complainant_ref="p-1",
        department="감사담당관",
        verified=True,
        recovered_krw=1_000_000,
        verified_at=verified,
    )
    assert entry["occurred_at"] == verified.isoformat()


async def test_approval_is_refused_when_the_budget_cannot_pay() -> None:
    w = World(threshold=100_000)
    await w.svc.set_budget(w.clock.now.year, "감사담당관", limit_krw=1_000_000)
    r = receipt()
    entry, _ = await w.svc.open_whistleblower_case(
        receipt_no=r,
        complainant_ref="p-1",
        department="감사담당관",
        verified=True,
        recovered_krw=10_000_000,
        verified_at=None,
    )
    refused = await w.svc.approve(entry["id"], approver="장")
    assert refused["status"] == domain.REFUSED and len(w.refused(r)) == 1
    with pytest.raises(Conflict):
        await w.svc.approve(entry["id"], approver="장")


async def test_a_reversal_writes_a_new_entry_releases_the_budget_and_happens_once() -> None:
    w = World()
    year = w.clock.now.year
    await w.svc.set_budget(year, "건축과", limit_krw=10_000)
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(breached(r, w.clock.now))
    [grant] = await w.ledger(r)
    reversal = await w.svc.reverse(grant["id"], reason="처리기간 계산 오류", code="error", by="s1")
    assert reversal["amount_krw"] == -10_000 and reversal["reverses"] == grant["id"]
    assert (await w.svc.get(grant["id"]))["status"] == domain.GRANTED  # never edited
    [reversed_event] = w.bus.of_type(c.COMPENSATION_REVERSED, r)
    assert reversed_event.data["grant_id"] == grant["id"]
    with pytest.raises(Conflict):
        await w.svc.reverse(grant["id"], reason="again", code="error", by="s1")
    [budget] = await w.svc.budgets(year)
    assert budget["spent_krw"] == 0
    listing = await w.svc.list(receipt_no=r)
    by_id = {item["id"]: item for item in listing["items"]}
    assert by_id[grant["id"]]["reversed_by"] == reversal["id"] and len(by_id) == 2
    assert (await w.svc.summary(year))["departments"]["건축과"]["amount_krw"] == 0


async def test_a_revisit_reported_before_routing_waits_for_the_department() -> None:
    w = World(facts_wait=3600)
    r = receipt()
    await w.svc.on_event(event(c.COMPLAINT_REVISIT_REPORTED, r, w.clock.now, kind="statutory"))
    assert w.granted(r) == []  # routing's event, on another topic, has not been consumed yet
    await w.svc.on_event(event(c.COMPLAINT_ROUTED, r, w.clock.now, department="세무과"))
    [granted] = w.granted(r)
    assert granted.data["department"] == "세무과"
    assert (await w.svc.store.cases.get(r))["revisits"] == []  # type: ignore[index]


async def test_a_revisit_whose_department_never_comes_is_charged_to_unassigned_after_the_wait() -> None:
    w = World(facts_wait=3600)
    r = receipt()
    await w.svc.on_event(event(c.COMPLAINT_REVISIT_REPORTED, r, w.clock.now, kind="statutory"))
    w.clock.advance(seconds=3599)
    await w.svc.assess_due()
    assert w.granted(r) == []
    w.clock.advance(seconds=1)
    await w.svc.assess_due()
    [granted] = w.granted(r)
    assert granted.data["department"] == domain.UNASSIGNED
