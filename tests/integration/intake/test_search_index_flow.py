"""Staff search through the blind index, repeated and duplicate complaints (제23조) and internal notes,
through intake's HTTP API on both backends (embedded SQLite; Kafka + MongoDB-wire)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient

from minwon import contracts as c
from minwon.events import Event
from minwon.host import Infrastructure, create_app
from minwon.outbox import Relay
from services.intake.api import ComplaintIn
from services.intake.bootstrap import bootstrap, build
from services.intake.settings import IntakeSettings
from tests import samples
from tests.factories import STAFF, complaint_payload, staff_headers

API = "/api/v1/complaints"


def _app(backend, store, bus):
    service = bootstrap(
        backend.settings(), store=store, bus=bus, intake_settings=IntakeSettings(answer_approval_default=False)
    )
    return create_app([service], Infrastructure(bus=bus, stores={"intake": store}))


def _handler(department: str) -> dict[str, str]:
    return staff_headers(f"handler-{uuid.uuid4().hex[:6]}", department=department, roles=("handler",))


async def _route(backend, store, bus, receipt: str, department: str) -> None:
    """Routing's fact, handed to intake's own handler (the one its consumer calls)."""
    intake = build(backend.settings(), store=store, relay=Relay(bus))
    await intake.on_event(
        Event.new(
            c.COMPLAINT_ROUTED,
            id=str(uuid.uuid4()),
            source="/test/routing",
            subject=receipt,
            time=datetime.now(UTC),
            data=samples.shaped(c.COMPLAINT_ROUTED, receipt_no=receipt, department=department),
        )
    )


async def _file(client, **overrides) -> tuple[dict, str]:
    payload = complaint_payload(**overrides)
    filed = await client.post(API, json=payload)
    assert filed.status_code == 201, filed.text
    return payload, filed.json()["receipt_no"]


async def test_search_by_name_and_by_a_word_respects_the_department_and_is_audited(backend) -> None:
    bus, store = backend.bus(), backend.store("intake")  # ``store``: the test's own client of intake's database
    road, parks = _handler("road"), _handler("parks")
    privacy = staff_headers("privacy-lee", department="audit", roles=("privacy_officer",))
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        mine, receipt = await _file(
            client, name="김 서연", phone="010-2222-3333", body="우동 시장 앞 보도블록이 깨져서 넘어질 뻔했습니다."
        )
        other, elsewhere = await _file(client, body="공원 벤치가 부서졌습니다. 보도블록도 들떠 있어요.")
        await _route(backend, store, bus, receipt, "road")
        await _route(backend, store, bus, elsewhere, "parks")

        async def found(headers, **params) -> list[str]:
            response = await client.get(f"{API}/search", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [x["receipt_no"] for x in response.json()["items"]]

        assert await found(road, name="김서연") == [receipt]  # spaces do not matter
        assert await found(road, phone="01022223333") == [receipt]  # nor hyphens
        assert await found(road, email=mine["email"].upper()) == [receipt]  # nor case
        assert await found(parks, name="김서연") == []  # another department's official
        assert await found(STAFF, name="김서연") == [receipt]  # the complaint office sees all
        assert await found(road, words="보도블록") == [receipt]
        assert await found(parks, words="보도블록") == [elsewhere]
        assert sorted(await found(STAFF, words="보도블록")) == sorted([receipt, elsewhere])
        assert await found(road, words="넘어질 시장") == [receipt]
        assert await found(road, words="블록보도") == []  # its bigrams are there, the word is not
        assert await found(road, name="김서연", words="벤치") == []
        assert await found(road, department="parks", name=other["name"]) == []  # the scope is not a filter
        assert await found(road, receipt_no=receipt) == [receipt]
        assert await found(road, district="해운대구", status="received") == [receipt]
        assert await found(road, received_from="2000-01-01", received_to="2001-01-01") == []
        assert await found(road, received_from="2000-01-01") == [receipt]

        refused = await client.get(f"{API}/search", params={"received_from": "어제"}, headers=road)
        assert refused.status_code == 422 and "received_from" in refused.text
        empty = await client.get(f"{API}/search", headers=road)
        assert empty.status_code == 422
        assert (await client.get(f"{API}/search", params={"name": "김서연"})).status_code == 401

        log = (await client.get(f"{API}/audit", headers=privacy)).json()["items"]
        searches = [x for x in log if x["action"] == "search_personal_data"]
        assert len(searches) == 12  # every search by name, phone, e-mail or words; none by receipt no. or district
        assert {x["purpose"] for x in searches} >= {"민원 검색 [name]", "민원 검색 [words]", "민원 검색 [name, words]"}
        assert "김서연" not in json.dumps(log, ensure_ascii=False)
    await bus.stop()


async def test_the_stored_index_holds_no_personal_data_in_clear(backend) -> None:
    bus, store = backend.bus(), backend.store("intake")  # ``store``: the test's own client of intake's database
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        payload, receipt = await _file(
            client, name="박지민", phone="010-5555-6666", body="어린이보호구역 과속방지턱 설치를 요청합니다"
        )
        noted = await client.post(
            f"{API}/{receipt}/notes", json={"text": "민원인 통화 완료, 박지민 님 재방문 예정"}, headers=STAFF
        )
        assert noted.status_code == 201, noted.text
        raw = await store.collection("complaints").get(receipt)
    await bus.stop()
    assert raw is not None and len(raw["search_terms"]) > 20 and raw["identity_index"] and raw["title_index"]
    text = json.dumps(raw, ensure_ascii=False)
    for plain in (
        "박지민",
        "01055556666",
        "010-5555-6666",
        payload["email"],
        "과속방지턱",
        "어린이",
        "방지",
        "재방문",
        "통화",
    ):
        assert plain not in text, plain
    key_id = raw["sealed"].split(":")[0]
    assert raw["index_key"] == key_id and raw["notes"][0]["sealed"].startswith(f"{key_id}:")


async def test_a_third_identical_complaint_after_two_answers_is_a_repeat_closed_with_the_notice(backend) -> None:
    bus = backend.bus()
    citizen = {"name": "이 민호", "phone": "010-7777-8888", "title": "우리 집 앞 가로등 고장", "category": "road"}
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        earlier = []
        for n in range(2):
            _, receipt = await _file(client, **citizen)
            closed = await client.post(
                f"{API}/{receipt}/close",
                headers=STAFF,
                json={"outcome": "accepted", "text": f"{n + 1}차 답변: 수리했습니다."},
            )
            assert closed.status_code == 200, closed.text
            assert closed.json()["repeat_of"] == []
            earlier.append(receipt)
        _, other_subject = await _file(client, **{**citizen, "title": "불법 주정차 단속 요청"})
        different = await client.get(f"{API}/{other_subject}", headers=STAFF)
        assert different.json()["repeat_of"] == []

        third = await client.post(API, json=complaint_payload(**{**citizen, "name": "이민호", "phone": "01077778888"}))
        receipt = third.json()["receipt_no"]
        view = (await client.get(f"{API}/{receipt}", headers=STAFF)).json()
        assert view["repeat_of"] == sorted(earlier)
        someone_else = (await client.post(API, json=complaint_payload(title=citizen["title"]))).json()["receipt_no"]
        assert (await client.get(f"{API}/{someone_else}", headers=STAFF)).json()["repeat_of"] == []

        not_office = await client.post(
            f"{API}/{receipt}/close-as-repeat", headers=_handler("road"), json={"reason": "반복 제출"}
        )
        assert not_office.status_code == 403
        not_repeat = await client.post(
            f"{API}/{someone_else}/close-as-repeat", headers=STAFF, json={"reason": "반복 제출"}
        )
        assert not_repeat.status_code == 409
        done = await client.post(
            f"{API}/{receipt}/close-as-repeat", headers=STAFF, json={"reason": "같은 내용으로 세 번째 제출"}
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "closed" and done.json()["outcome"] == "rejected"

        code = third.json()["check_code"]
        seen = (await client.get(f"{API}/{receipt}", params={"code": code})).json()
        answer = seen["answer"]  # the result the citizen is told, through the answer's sealed part
        assert "제23조" in answer["text"] and all(no in answer["text"] for no in earlier)
        assert answer["reasons"] == "같은 내용으로 세 번째 제출" and "행정심판" in answer["remedy"]
    await bus.stop()


async def test_two_citizens_reporting_the_same_streetlight_are_suggested_and_linked(backend) -> None:
    bus, store = backend.bus(), backend.store("intake")  # ``store``: the test's own client of intake's database
    road = _handler("road")
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        _, first = await _file(client, title="우동 123번지 앞 가로등 고장", district="해운대구")
        _, second = await _file(client, title="우동 123번지 가로등이 고장났어요", district="해운대구")
        _, unrelated = await _file(client, title="우동 쓰레기 무단투기 신고", district="해운대구")
        _, far = await _file(client, title="우동 123번지 앞 가로등 고장", district="수영구")
        for receipt in (first, second, unrelated, far):
            await _route(backend, store, bus, receipt, "road")

        view = (await client.get(f"{API}/{first}", headers=road)).json()
        assert [x["receipt_no"] for x in view["link_suggestions"]] == [second]
        assert view["link_suggestions"][0]["similarity"] >= 0.5
        hidden = (await client.get(f"{API}/{first}", headers=STAFF)).json()
        assert [x["receipt_no"] for x in hidden["link_suggestions"]] == [second]

        linked = await client.post(f"{API}/{first}/links", json={"receipt_no": second}, headers=road)
        assert linked.status_code == 200, linked.text
        assert linked.json()["links"] == [second]
        back = (await client.get(f"{API}/{second}", headers=road)).json()
        assert back["links"] == [first] and back["link_suggestions"] == []
        assert back["status"] == "received" and back["timeline"][-1]["step"] == "routed"  # its own clock and steps
        assert (await client.post(f"{API}/{first}/links", json={"receipt_no": first}, headers=road)).status_code == 422
        missing = await client.post(f"{API}/{first}/links", json={"receipt_no": "2026-X-0000000"}, headers=road)
        assert missing.status_code == 404
    await bus.stop()


async def test_notes_are_for_officials_who_may_see_the_complaint_never_for_the_citizen(backend) -> None:
    bus, store = backend.bus(), backend.store("intake")  # ``store``: the test's own client of intake's database
    road, parks = _handler("road"), _handler("parks")
    async with AsyncTestClient(_app(backend, backend.store("intake"), bus)) as client:
        filed = await client.post(API, json=complaint_payload())
        receipt, code = filed.json()["receipt_no"], filed.json()["check_code"]
        await _route(backend, store, bus, receipt, "road")
        added = await client.post(f"{API}/{receipt}/notes", json={"text": "현장 사진 요청함"}, headers=road)
        assert added.status_code == 201, added.text
        assert (await client.post(f"{API}/{receipt}/notes", json={"text": "x"}, headers=parks)).status_code == 403
        blank = await client.post(f"{API}/{receipt}/notes", json={"text": "   "}, headers=road)
        assert blank.status_code == 422 and "text" in blank.text
        view = (await client.get(f"{API}/{receipt}", headers=road)).json()
        assert [n["text"] for n in view["notes"]] == ["현장 사진 요청함"]
        assert view["notes"][0]["by"]["id"].startswith("handler-")
        citizen = await client.get(f"{API}/{receipt}", params={"code": code})
        assert citizen.status_code == 200 and "현장 사진" not in citizen.text and "notes" not in citizen.json()
    await bus.stop()


async def test_after_a_key_rotation_search_finds_both_keys_and_reseal_reindexes_under_the_new_one(backend) -> None:
    store, bus = backend.store("intake"), backend.bus()
    office = {"id": "office-kim", "name": "김민원", "roles": ["complaint_office"]}
    old_settings = backend.settings()
    filing = ComplaintIn(**complaint_payload(name="최 유리", phone="010-4444-1212")).to_filing()
    old, _ = await build(old_settings, store=store, relay=Relay(bus)).file_complaint(filing)
    old_id = old.index_key
    rotated = old_settings.model_copy(
        update={
            "pii_key": base64.b64encode(b"n" * 32).decode(),
            "pii_key_id": "k2",
            "pii_old_keys": f"{old_id}={old_settings.pii_key}",
        }
    )
    during = build(rotated, store=store, relay=Relay(bus))
    new, _ = await during.file_complaint(ComplaintIn(**complaint_payload(name="최유리")).to_filing())
    assert (old_id, new.index_key) == (old.index_key, "k2") and old_id != "k2"

    async def named() -> list[str]:
        found = await during.search({"name": "최유리"}, by=office, purpose="검색", after=None, limit=10)
        return sorted(x.receipt_no for x in found)

    both = sorted([old.receipt_no, new.receipt_no])
    assert await named() == both  # the old complaint under the old key's terms, the new one under the new
    stale = await store.collection("complaints").get(old.receipt_no)
    await during.reseal()
    fresh = await store.collection("complaints").get(old.receipt_no)
    assert fresh["index_key"] == "k2" and not set(fresh["search_terms"]) & set(stale["search_terms"])
    during = build(rotated.model_copy(update={"pii_old_keys": ""}), store=store, relay=Relay(bus))
    assert await named() == both  # the old key gone, everything found under the new one
    await bus.stop()
