"""Answers with approval (답변, 결재) over HTTP, on both backends: the handler drafts, the team lead
returns and approves, the complaint closes, the citizen reads the answer; department scope and roles;
the per-department policy; templates; the answer sealed at rest and on the private topic only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient

from apps.host import Infrastructure, create_app
from minwon import contracts as c
from minwon import topics
from minwon.crypto import Sealer
from minwon.events import Event
from services.intake.bootstrap import bootstrap
from tests import samples
from tests.factories import STAFF, complaint_payload, staff_headers

API = "/api/v1/complaints"
HANDLER = {"id": "road-01", "name": "임성훈", "contact": "051-000-2061"}


def _app(backend, store, bus):
    service = bootstrap(backend.settings(), store=store, bus=bus)
    return create_app([service], Infrastructure(bus=bus, stores={"intake": store}))


def _official(role: str, department: str, id: str | None = None, name: str = "공무원") -> dict[str, str]:
    return staff_headers(id or f"{role}-{uuid.uuid4().hex[:6]}", department=department, roles=(role,), name=name)


class World:
    """One intake app, with a bus of the test's own loop to play routing's facts."""

    def __init__(self, backend) -> None:
        self.backend, self.bus = backend, backend.bus()
        self.probe = backend.bus() if backend.distributed else self.bus

    async def __aenter__(self) -> World:
        if self.probe is not self.bus:
            await self.probe.start()
        self.client = await AsyncTestClient(_app(self.backend, self.backend.store("intake"), self.bus)).__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.__aexit__(*exc)
        if self.probe is not self.bus:
            await self.probe.stop()
        await self.bus.stop()

    async def file(self, department: str = "road", **overrides) -> tuple[str, str, dict]:
        payload = complaint_payload(**overrides)
        filed = (await self.client.post(API, json=payload)).json()
        receipt = filed["receipt_no"]
        await self.probe.publish(
            topics.ROUTING,
            Event.new(
                c.COMPLAINT_ASSIGNED,
                id=str(uuid.uuid4()),
                source="/test/routing",
                subject=receipt,
                time=datetime.now(UTC),
                data=samples.shaped(
                    c.COMPLAINT_ASSIGNED,
                    receipt_no=receipt,
                    department=department,
                    department_name="도로관리과" if department == "road" else department,
                    handler=HANDLER,
                ),
            ),
        )
        for _ in range(150):
            view = (await self.client.get(f"{API}/{receipt}", headers=STAFF)).json()
            if view["department"] == department and view["handler"]:
                return receipt, filed["check_code"], payload
            await asyncio.sleep(0.1)
        raise AssertionError("the assignment fact did not arrive")

    async def events(self, receipt: str, topic: str, part: str | None = None) -> list[Event]:
        bus = self.backend.bus() if self.backend.distributed else self.bus
        for _ in range(100):
            found = [
                e
                async for _, e in bus.read([topic])
                if e.subject == receipt and (part is None or e.data.get("part") == part)
            ]
            if found:
                return found
            await asyncio.sleep(0.1)
        return []


async def test_draft_return_redraft_approve_closes_and_the_citizen_reads_the_answer(backend) -> None:
    handler = _official("handler", "road", "road-01", "임성훈")
    lead = _official("team_lead", "road", name="박팀장")
    async with World(backend) as w:
        client = w.client
        receipt, code, payload = await w.file()
        path = f"{API}/{receipt}/answer"
        assert (await client.get(path, headers=handler)).json() == {"answer": None, "approval_required": True}

        first = {"outcome": "accepted", "text": f"가로등을 교체하였습니다 초안-{receipt}"}
        drafted = await client.put(path, json=first, headers=handler)
        assert drafted.status_code == 200, drafted.text
        assert drafted.json()["answer"]["state"] == "draft"
        assert drafted.json()["answer"]["drafted_by"] == {"id": "road-01", "name": "임성훈"}
        submitted = await client.post(f"{path}/submit", headers=handler)
        assert submitted.status_code == 200 and submitted.json()["answer"]["state"] == "submitted"
        assert submitted.json()["status"] == "received"
        assert (await client.put(path, json=first, headers=handler)).status_code == 409  # with the lead now

        queue = (await client.get(API, params={"answer_state": "submitted"}, headers=lead)).json()["items"]
        assert receipt in [x["receipt_no"] for x in queue] and queue[0]["answer_state"] == "submitted"
        assert (await client.post(f"{path}/approve", json={}, headers=handler)).status_code == 403
        other_lead = _official("team_lead", "parks")
        assert (await client.post(f"{path}/approve", json={}, headers=other_lead)).status_code == 403
        empty = await client.post(f"{path}/return", json={"comment": ""}, headers=lead)
        assert empty.status_code in (400, 422) and "comment" in empty.text
        returned = await client.post(f"{path}/return", json={"comment": "처리 일자를 적어 주세요"}, headers=lead)
        assert returned.status_code == 200 and returned.json()["answer"]["state"] == "returned"
        assert returned.json()["answer"]["reviews"][0]["comment"] == "처리 일자를 적어 주세요"
        view = (await client.get(f"{API}/{receipt}", headers=handler)).json()
        assert view["timeline"][-1]["step"] == "answer_returned"
        assert view["timeline"][-1]["detail"]["comment"] == "처리 일자를 적어 주세요"
        assert view["status"] == "received"  # the clock keeps running
        queue = (await client.get(API, params={"answer_state": "submitted"}, headers=lead)).json()["items"]
        assert receipt not in [x["receipt_no"] for x in queue]

        final = f"11월 20일 가로등을 교체하였습니다 최종-{receipt}"
        assert (await client.put(path, json={"outcome": "accepted", "text": final}, headers=handler)).status_code == 200
        assert (await client.post(f"{path}/submit", headers=handler)).status_code == 200
        approved = await client.post(f"{path}/approve", json={"comment": "확인"}, headers=lead)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "closed" and approved.json()["answer"]["state"] == "approved"
        assert [r["decision"] for r in approved.json()["answer"]["reviews"]] == ["returned", "approved"]
        again = await client.post(f"{path}/approve", json={}, headers=lead)
        assert again.status_code == 409

        public = (await client.get(f"{API}/{receipt}", params={"code": code})).json()
        assert public["status"] == "closed" and public["outcome"] == "accepted"
        assert public["answer"]["text"] == final and public["answer"]["outcome"] == "accepted"
        assert public["answer"]["handler"] == {
            "name": "임성훈",
            "department": "road",
            "department_name": "도로관리과",
            "contact": "051-000-2061",
        }
        assert "처리 일자를 적어 주세요" not in json.dumps(public, ensure_ascii=False)  # the lead's note is internal
        assert [s["step"] for s in public["timeline"]][-1] == "closed"

        raw = json.dumps(await backend.store("intake").collection("complaints").get(receipt), ensure_ascii=False)
        assert final not in raw and "가로등을 교체하였습니다" not in raw and "sealed" in raw

        [answer] = await w.events(receipt, topics.PRIVATE, "answer")
        content = Sealer("c1", backend.settings().contacts_key).open_json(answer.data["sealed"], context=receipt)
        assert content["text"] == final and content["handler"]["name"] == "임성훈"
        assert content["handler"]["contact"] == "051-000-2061" and content["outcome"] == "accepted"
        assert final not in answer.model_dump_json()
        public_events = await w.events(receipt, topics.COMPLAINTS)
        closed = [e for e in public_events if e.type == c.COMPLAINT_CLOSED]
        assert len(closed) == 1 and closed[0].data["outcome"] == "accepted"
        assert "text" not in closed[0].data
        assert not [e for e in public_events if final in e.model_dump_json() or payload["name"] in e.model_dump_json()]


async def test_another_departments_handler_is_refused_and_only_leads_decide(backend) -> None:
    handler = _official("handler", "road")
    stranger = _official("handler", "parks")
    async with World(backend) as w:
        client = w.client
        receipt, _, payload = await w.file(location="해운대구 우동 123 앞")
        path = f"{API}/{receipt}/answer"
        assert (await client.get(path, headers=stranger)).status_code == 403
        assert (await client.put(path, json={"outcome": "accepted", "text": "x"}, headers=stranger)).status_code == 403
        assert (
            await client.get(f"{API}/{receipt}/personal", params={"purpose": "확인"}, headers=stranger)
        ).status_code == 403
        mine = await client.get(f"{API}/{receipt}/personal", params={"purpose": "현장 확인"}, headers=handler)
        assert mine.status_code == 200 and mine.json()["location"] == "해운대구 우동 123 앞"
        assert mine.json()["body"] == payload["body"]
        drafted = await client.put(path, json={"outcome": "accepted", "text": "처리"}, headers=handler)
        assert drafted.status_code == 200
        assert (await client.post(f"{path}/submit", headers=stranger)).status_code == 403
        assert (await client.post(f"{path}/submit", headers=handler)).status_code == 200
        for role in ("handler", "call_centre", "auditor"):
            r = await client.post(f"{path}/approve", json={}, headers=_official(role, "road"))
            assert r.status_code == 403, (role, r.text)
        r = await client.post(f"{path}/return", json={"comment": "x"}, headers=handler)
        assert r.status_code == 403
        chief = await client.post(f"{path}/approve", headers=_official("section_chief", "road"))  # no body
        assert chief.status_code == 200 and chief.json()["status"] == "closed"

        # a submitted answer of a complaint withdrawn meanwhile leaves the approval queue
        gone, gone_code, _ = await w.file()
        await client.put(f"{API}/{gone}/answer", json={"outcome": "accepted", "text": "처리"}, headers=handler)
        await client.post(f"{API}/{gone}/answer/submit", headers=handler)
        queue = lambda: client.get(API, params={"answer_state": "submitted"}, headers=_official("team_lead", "road"))  # noqa: E731
        assert gone in [x["receipt_no"] for x in (await queue()).json()["items"]]
        assert (await client.post(f"{API}/{gone}/withdraw", params={"code": gone_code})).status_code == 200
        assert gone not in [x["receipt_no"] for x in (await queue()).json()["items"]]
        assert (await client.post(f"{API}/{gone}/answer/approve", json={}, headers=STAFF)).status_code == 409


async def test_rejections_need_a_remedy_and_the_department_policy_decides_on_approval(backend) -> None:
    handler = _official("handler", "road")
    async with World(backend) as w:
        client = w.client
        receipt, code, _ = await w.file()
        path = f"{API}/{receipt}/answer"
        rejected = {"outcome": "rejected", "text": "요청하신 사항은 처리할 수 없습니다", "reasons": "사유지입니다"}
        bad = await client.put(path, json=rejected, headers=handler)
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "remedy"
        blocked = await client.post(
            f"{API}/{receipt}/close", json={"outcome": "accepted", "text": "끝"}, headers=handler
        )
        assert blocked.status_code == 409 and blocked.json()["error"] == "approval_required"

        policy = f"{API}/answer-policies/road"
        assert (await client.put(policy, json={"approval_required": False}, headers=handler)).status_code == 403
        lead = _official("team_lead", "road")
        assert (await client.put(policy, json={"approval_required": False}, headers=lead)).status_code == 403
        assert (await client.put(policy, json={"approval_required": False}, headers=STAFF)).status_code == 200
        policies = (await client.get(f"{API}/answer-policies", headers=handler)).json()
        assert policies == {"default_required": True, "departments": {"road": False}}
        assert (await client.get(path, headers=handler)).json()["approval_required"] is False

        remedy = "처분이 있음을 안 날부터 90일 이내 행정심판 청구"
        assert (await client.put(path, json={**rejected, "remedy": remedy}, headers=handler)).status_code == 200
        done = await client.post(f"{path}/submit", headers=handler)
        assert done.status_code == 200 and done.json()["status"] == "closed", done.text
        assert done.json()["answer"]["state"] == "approved"
        public = (await client.get(f"{API}/{receipt}", params={"code": code})).json()
        assert public["outcome"] == "rejected"
        assert (public["answer"]["reasons"], public["answer"]["remedy"]) == ("사유지입니다", remedy)

        # a direct close, allowed now, records its text as the answer and sends it
        other, other_code, _ = await w.file()
        closed = await client.post(
            f"{API}/{other}/close", json={"outcome": "accepted", "text": f"완료-{other}"}, headers=handler
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        public = (await client.get(f"{API}/{other}", params={"code": other_code})).json()
        assert public["answer"]["text"] == f"완료-{other}"
        assert await w.events(other, topics.PRIVATE, "answer")


async def test_templates_are_kept_by_leads_and_render_the_complaint(backend) -> None:
    handler = _official("handler", "road")
    lead = _official("team_lead", "road", name="박팀장")
    category = f"road-{uuid.uuid4().hex[:6]}"
    async with World(backend) as w:
        client = w.client
        receipt, _, payload = await w.file(category=category)
        tpl = {
            "category": category,
            "title": "수리 완료",
            "text": "{민원인}님, 접수번호 {접수번호} 민원은 {담당부서} {담당자}({연락처})가 처리하였습니다.",
        }
        assert (await client.post(f"{API}/answer-templates", json=tpl, headers=handler)).status_code == 403
        assert (await client.post(f"{API}/answer-templates", json={**tpl, "title": ""}, headers=lead)).status_code in (
            400,
            422,
        )
        created = await client.post(f"{API}/answer-templates", json=tpl, headers=lead)
        assert created.status_code == 201, created.text
        template = created.json()
        assert template["updated_by"]["name"] == "박팀장" and template["category"] == category
        listed = (await client.get(f"{API}/answer-templates", params={"category": category}, headers=handler)).json()
        assert [x["id"] for x in listed["items"]] == [template["id"]]
        assert (await client.get(f"{API}/answer-templates", params={"category": "none-such"}, headers=handler)).json()[
            "items"
        ] == []
        assert (await client.get(f"{API}/answer-templates")).status_code == 401

        rendered = await client.post(
            f"{API}/{receipt}/answer/render", json={"template_id": template["id"]}, headers=handler
        )
        assert rendered.status_code == 200, rendered.text
        assert rendered.json()["text"] == (
            f"{payload['name']}님, 접수번호 {receipt} 민원은 도로관리과 임성훈(051-000-2061)가 처리하였습니다."
        )
        stranger = _official("handler", "parks")
        assert (
            await client.post(f"{API}/{receipt}/answer/render", json={"template_id": template["id"]}, headers=stranger)
        ).status_code == 403
        log = (
            await client.get(
                f"{API}/audit", params={"receipt_no": receipt}, headers=_official("privacy_officer", "audit")
            )
        ).json()["items"]
        assert [(x["action"], x["purpose"]) for x in log] == [("read_personal_data", "답변 작성")]

        tid = template["id"]
        changed = await client.put(
            f"{API}/answer-templates/{tid}", json={**tpl, "title": "수리 완료(개정)"}, headers=lead
        )
        assert changed.status_code == 200 and changed.json()["title"] == "수리 완료(개정)"
        assert (await client.put(f"{API}/answer-templates/{tid}", json=tpl, headers=handler)).status_code == 403
        assert (await client.delete(f"{API}/answer-templates/{tid}", headers=handler)).status_code == 403
        assert (await client.delete(f"{API}/answer-templates/{tid}", headers=lead)).status_code == 200
        assert (await client.delete(f"{API}/answer-templates/{tid}", headers=lead)).status_code == 404
        assert (
            await client.post(f"{API}/{receipt}/answer/render", json={"template_id": tid}, headers=handler)
        ).status_code == 404
