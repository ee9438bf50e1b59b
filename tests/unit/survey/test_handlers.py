"""The survey handlers over in-memory fakes: the stored timer, one invitation, answering, reports, actions."""

from __future__ import annotations

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, DomainError
from services.survey import domain
from services.survey.domain import Answers
from tests.unit.survey.factories import World, assigned, closed, event, receipt, received


async def _closed_complaint(w: World, *, sms: bool = True, department: str = "건축과") -> str:
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now, sms=sms))
    await w.svc.on_event(assigned(r, w.clock.now, department))
    await w.svc.on_event(closed(r, w.clock.now))
    return r


async def test_the_timer_is_stored_and_fires_once_after_the_delay() -> None:
    w = World(delay=3600)
    r = await _closed_complaint(w)
    doc = await w.svc.store.surveys.get(r)
    assert doc is not None and doc["status"] == domain.SCHEDULED and doc["invite_at"]
    assert await w.svc.invite_due() == 0 and w.invitations() == []
    w.clock.advance(seconds=3599)
    assert await w.svc.invite_due() == 0
    w.clock.advance(seconds=1)
    assert await w.svc.invite_due() == 1
    assert await w.svc.invite_due() == 0
    [invitation] = w.invitations(r)
    assert invitation.data["link"].startswith("/survey/") and invitation.data["department"] == "건축과"


async def test_a_redelivered_or_repeated_closure_invites_once() -> None:
    w = World(delay=0)
    r = await _closed_complaint(w)
    again = closed(r, w.clock.now)
    await w.svc.on_event(again)
    await w.svc.on_event(again)
    w.clock.advance(days=1)
    await w.svc.invite_due()
    assert len(w.invitations(r)) == 1


async def test_no_consent_no_invitation() -> None:
    w = World(delay=0)
    r = await _closed_complaint(w, sms=False)
    assert w.invitations(r) == []
    assert (await w.svc.for_staff(r))["skip_reason"] == "no_consent"


async def test_a_withdrawn_complaint_is_not_surveyed() -> None:
    w = World(delay=0)
    r = receipt()
    await w.svc.on_event(received(r, w.clock.now))
    await w.svc.on_event(event(c.COMPLAINT_WITHDRAWN, r, w.clock.now))
    assert (await w.svc.for_staff(r))["status"] == domain.ENDED


async def test_answering_through_the_link_once() -> None:
    w = World(delay=0)
    r = await _closed_complaint(w)
    token = w.token(w.invitations(r)[0])
    view = await w.svc.show(token)
    assert view["status"] == domain.INVITED and view["expired"] is False
    survey = await w.svc.respond(token, Answers(speed=2, kindness=1, result=2, overall=1, text="불친절"))
    assert survey.status == domain.RESPONDED
    [responded] = w.bus.of_type(c.SURVEY_RESPONDED, r)
    [low] = w.bus.of_type(c.SURVEY_LOW_SCORE, r)
    assert responded.data["scores"]["overall"] == 1 and low.data["department"] == "건축과"
    assert low.data["handler"] == {"id": "h-17", "name": "김담당"}
    assert "불친절" not in responded.to_json().decode() + low.to_json().decode()
    with pytest.raises(DomainError) as reused:
        await w.svc.respond(token, Answers(speed=5, kindness=5, result=5, overall=5))
    assert reused.value.status == 409
    assert (await w.svc.for_staff(r))["text"] == "불친절"


async def test_an_expired_link_is_gone() -> None:
    w = World(delay=0, valid_days=14)
    r = await _closed_complaint(w)
    token = w.token(w.invitations(r)[0])
    w.clock.advance(days=14)
    with pytest.raises(DomainError) as expired:
        await w.svc.respond(token, Answers(speed=5, kindness=5, result=5, overall=5))
    assert expired.value.status == 410
    assert (await w.svc.show(token))["expired"] is True


async def test_statistics_reports_and_improvement_actions() -> None:
    w = World(delay=0)
    answered = {}
    for department, overall in (("건축과", 5), ("건축과", 3), ("민원과", 1)):
        r = await _closed_complaint(w, department=department)
        await w.svc.respond(w.token(w.invitations(r)[0]), Answers(speed=4, kindness=4, result=4, overall=overall))
        answered[r] = overall
    await _closed_complaint(w, department="도로과")  # invited, never answered
    year = w.clock.now.year
    stats = await w.svc.statistics(by="department", year=year)
    groups = {g["key"]: g for g in stats["groups"]}
    assert groups["건축과"]["mean"]["overall"] == 4.0 and groups["건축과"]["responses"] == 2
    assert groups["도로과"]["invited"] == 1 and groups["도로과"]["responses"] == 0
    assert stats["total"]["low_scores"] == 1

    draft = await w.svc.report(year)
    assert draft["status"] == "draft" and draft["by_department"] == stats["groups"]
    with pytest.raises(Conflict):
        await w.svc.add_action(year, title="친절 교육", description="", department="민원과")
    published = await w.svc.publish_report(year)
    assert published["status"] == domain.PUBLISHED

    # a response after publication does not move the published numbers
    late = await _closed_complaint(w, department="민원과")
    await w.svc.respond(w.token(w.invitations(late)[0]), Answers(speed=1, kindness=1, result=1, overall=1))
    assert (await w.svc.report(year))["total"] == published["total"]
    assert (await w.svc.statistics(by="department", year=year))["total"]["responses"] == 4

    action = await w.svc.add_action(year, title="친절 교육", description="전 직원 교육", department="민원과")
    assert action["overdue"] is False and action["due_at"] == published["improvement_due_at"]
    w.clock.advance(days=100)
    [listed] = await w.svc.actions(year)
    assert listed["overdue"] is True
    done = await w.svc.publish_action(year, action["id"], url="https://example.go.kr/notice/7")
    assert (done["status"], done["overdue"], done["late"]) == (domain.PUBLISHED, False, True)
    await w.svc.refresh_gauges()


async def test_the_gauges_follow_the_store() -> None:
    from services.survey import metrics

    w = World(delay=0)
    r = await _closed_complaint(w, department="감사과")
    await w.svc.respond(w.token(w.invitations(r)[0]), Answers(speed=4, kindness=4, result=4, overall=2))
    await w.svc.refresh_gauges()
    assert metrics.SCORE_MEAN.labels(department="감사과")._value.get() == 2.0
