"""The citizen receives the answer, on both backends: intake's sealed "answer" part (published here
as intake publishes it) fills the result notice. E-mail (to a local SMTP server) and the letter PDF
(to the spool) carry the full text and the official who answered; SMS carries a short text and an
absolute link; a redelivered answer or close sends nothing twice."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from pypdf import PdfReader

from minwon import contracts as c
from minwon import topics
from services.notification import domain
from tests.integration.notification.helpers import SmtpServer, app, listed, of, until
from tests.kafka_lag import caught_up
from tests.unit.notification.factories import NOW, assigned, event, filing, receipt_no, received, sealed

BASE = "https://minwon.busan.example/"  # a trailing slash: the links still have one slash
CLOSED_AT = NOW + timedelta(days=3)


def answer_part(r: str, consent: dict[str, bool], *, outcome: str = "accepted", **changes: Any):
    content = {
        "outcome": outcome,
        "text": f"요청하신 보도블록을 {r[-4:]}일에 교체하였습니다.\n이용에 불편을 드려 죄송합니다.",
        "reasons": None,
        "remedy": None,
        "answered_at": CLOSED_AT.isoformat(),
        "handler": {"name": "최답변", "department": "ROAD", "department_name": "도로관리과", "contact": "051-888-4321"},
        **changes,
    }
    return sealed(r, "answer", content, at=CLOSED_AT, consent=consent), content


def _story(r: str, consent: dict[str, bool], outcome: str = "accepted") -> tuple[list, dict[str, Any]]:
    sealed_filing, contact = filing(r, consent=consent)
    closed = event(c.COMPLAINT_CLOSED, r, {"outcome": outcome}, at=CLOSED_AT)
    return [
        (topics.PRIVATE, sealed_filing),
        (topics.COMPLAINTS, received(r, consent)),
        (topics.ROUTING, assigned(r)),
        (topics.COMPLAINTS, closed),
    ], contact


def _mail_text(raw: str) -> str:
    message = email.message_from_string(raw, policy=email.policy.default)
    return message.get_body(("plain",)).get_content()


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _flat(text: str) -> str:
    return "".join(text.split())


def _done(xs: list[dict[str, Any]]) -> bool:
    return (
        all(i["status"] in domain.FINAL for i in of(xs, domain.RESULT) + of(xs, domain.RESULT_LETTER))
        and len(of(xs, domain.RESULT) + of(xs, domain.RESULT_LETTER)) == 2
    )


async def test_the_answer_goes_in_full_by_email_and_letter_once(backend, pub, tmp_path) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": False, "alimtalk": False, "email": True, "post": True}
    story, contact = _story(r, consent)
    answer, content = answer_part(r, consent)
    server = SmtpServer()
    port = await server.start()
    spool = tmp_path / "letters"
    try:
        async with AsyncTestClient(
            app(
                backend,
                store,
                bus,
                email_provider="smtp",
                smtp_host="127.0.0.1",
                smtp_port=port,
                post_provider="spool",
                spool_dir=spool,
                public_base_url=BASE,
            )
        ) as client:
            for topic, e in story:
                await pub.publish(topic, e)
            # closed, but the answer has not come: the result waits for it (never sent without the text)
            await until(
                lambda: listed(client, r), lambda xs: [i["waiting"] for i in of(xs, domain.RESULT)] == [["part:answer"]]
            )
            assert not [m for m in server.messages if "처리결과" in _mail_text(m["data"])]
            await pub.publish(topics.PRIVATE, answer)
            items = await until(
                lambda: listed(client, r),
                lambda xs: [i["status"] for i in of(xs, domain.RESULT) + of(xs, domain.RESULT_LETTER)] == ["sent"] * 2,
            )
            # the answer and the close again (a redelivery): nothing is sent twice
            await pub.publish(topics.PRIVATE, answer)
            await pub.publish(*story[-1])
            marker = assigned(
                r, {"id": "h-3", "name": "표지담당"}, at=CLOSED_AT + timedelta(hours=1), type=c.COMPLAINT_REASSIGNED
            )
            await pub.publish(topics.ROUTING, marker)
            items = await until(
                lambda: listed(client, r),
                lambda xs: (
                    len(of(xs, domain.REASSIGNED)) == 1 and of(xs, domain.REASSIGNED)[0]["status"] in domain.FINAL
                ),
            )
            await caught_up(backend, "minwon-notification", topics.PRIVATE, topics.COMPLAINTS)  # the redelivered too
            items = await listed(client, r)
    finally:
        await server.stop()

    result, letter = of(items, domain.RESULT), of(items, domain.RESULT_LETTER)
    assert len(result) == 1 and len(letter) == 1
    assert result[0]["channel"] == domain.EMAIL and letter[0]["channel"] == domain.POST
    assert result[0]["attempts"] == 1 and letter[0]["attempts"] == 1

    mails = [m for m in server.messages if "처리결과" in _mail_text(m["data"])]
    assert len(mails) == 1, mails
    assert contact["email"] in mails[0]["rcpt"][0]
    mail = _mail_text(mails[0]["data"])
    assert content["text"] in mail and "처리결과: 수용" in mail
    assert "도로관리과 최답변 (연락처 051-888-4321)" in mail  # 민원책임실명제: who answered, not only who was assigned
    assert f"https://minwon.busan.example/lookup?receipt_no={r}" in mail

    pdfs = sorted(spool.glob("*.pdf"))
    assert [p.stem for p in pdfs] == [letter[0]["id"]]  # one letter, however often the answer came
    text = _pdf_text(pdfs[0].read_bytes())
    for line in content["text"].splitlines():
        assert _flat(line) in _flat(text), line  # the same answer text, as a reader extracts it
    assert _flat("최답변") in _flat(text) and "051-888-4321" in text and _flat("도로관리과") in _flat(text)
    assert _flat("처리결과: 수용") in _flat(text)
    meta = json.loads((spool / f"{letter[0]['id']}.json").read_text())
    assert meta["receipt_no"] == r


async def test_the_answer_by_sms_is_short_with_an_absolute_link(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": True, "alimtalk": False, "email": False, "post": False}
    story, _ = _story(r, consent, outcome="rejected")
    answer, content = answer_part(
        r,
        consent,
        outcome="rejected",
        reasons="보행자 통행 폭 기준에 미달합니다",
        remedy="이의신청(60일 이내) 또는 행정심판",
    )
    async with AsyncTestClient(app(backend, store, bus, public_base_url=BASE)) as client:
        await pub.publish(topics.PRIVATE, answer)  # the sealed answer may come before the close
        for topic, e in story:
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), _done)
    (result,) = of(items, domain.RESULT)
    assert result["status"] == "sent" and result["channel"] in (domain.SMS, domain.LMS)
    lines = result["deliveries"][0]["text"].splitlines()
    assert "처리결과: 불수용" in lines and "답변 전문은 아래 링크에서 확인하세요" in lines
    assert f"https://minwon.busan.example/lookup?receipt_no={r}" in lines
    assert content["text"].splitlines()[0] not in result["text"] and content["reasons"] not in result["text"]
    assert "최답변" in result["text"] and "051-888-4321" in result["text"]
    assert of(items, domain.RESULT_LETTER)[0]["status"] == "skipped"  # an electronic channel; no letter asked


async def test_no_electronic_consent_but_an_address_gets_the_answer_by_letter(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": False, "alimtalk": False, "email": False, "post": False}
    story, contact = _story(r, consent)
    story = [(topic, e) for topic, e in story if topic != topics.ROUTING]  # answered without an assignment
    answer, content = answer_part(r, consent)
    async with AsyncTestClient(app(backend, store, bus)) as client:
        for topic, e in [*story, (topics.PRIVATE, answer)]:
            await pub.publish(topic, e)
        items = await until(lambda: listed(client, r), _done)
        reader = backend.store("notification")
        (letter,) = of(items, domain.RESULT_LETTER)
        stored = await reader.collection("letters").get(letter["id"])
    assert letter["status"] == "sent" and letter["channel"] == domain.POST
    assert letter["to"] == domain.mask_address(contact["address"])
    assert of(items, domain.RESULT)[0]["skip_reason"] == "covered_by_letter"
    text = _pdf_text(base64.b64decode(stored["pdf_b64"]))
    assert _flat(content["text"].splitlines()[0]) in _flat(text)
    assert _flat("도로관리과 최답변 (연락처 051-888-4321)") in _flat(text)  # the answer names its official


async def test_a_survey_link_in_the_notice_is_absolute(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": True, "alimtalk": False, "email": False, "post": False}
    sealed_filing, _ = filing(r, consent=consent)
    invited = event(c.SURVEY_INVITED, r, {"link": "/survey/tok-abc"}, at=CLOSED_AT)
    async with AsyncTestClient(app(backend, store, bus, public_base_url=BASE)) as client:
        for topic, e in [
            (topics.PRIVATE, sealed_filing),
            (topics.COMPLAINTS, received(r, consent)),
            (topics.ROUTING, assigned(r)),
            (topics.SURVEYS, invited),
        ]:
            await pub.publish(topic, e)
        items = await until(
            lambda: listed(client, r), lambda xs: [i["status"] for i in of(xs, domain.SURVEY)] == ["sent"]
        )
    assert "https://minwon.busan.example/survey/tok-abc" in of(items, domain.SURVEY)[0]["text"].splitlines()


async def test_a_transfer_notifies_the_citizen_with_the_agency_and_reason(backend, pub) -> None:
    store, bus = backend.store("notification"), backend.bus()
    r = receipt_no()
    consent = {"sms": False, "alimtalk": False, "email": True, "post": False}
    sealed_filing, _ = filing(r, consent=consent)
    at = NOW + timedelta(hours=2)
    transferred = event(c.COMPLAINT_TRANSFERRED, r, {"agency": "MOLIT"}, at=at)
    part = sealed(
        r,
        "transferred",
        {"reason": "국도 관리는 국토교통부 소관입니다", "agency_name": "국토교통부"},
        at=at,
        consent=consent,
    )
    async with AsyncTestClient(app(backend, store, bus)) as client:
        # transferred by the complaint office before any assignment: no handler is waited for
        for topic, e in [
            (topics.PRIVATE, sealed_filing),
            (topics.COMPLAINTS, received(r, consent)),
            (topics.COMPLAINTS, transferred),
        ]:
            await pub.publish(topic, e)
        await until(
            lambda: listed(client, r),
            lambda xs: [i["waiting"] for i in of(xs, domain.TRANSFERRED)] == [["part:transferred"]],
        )
        await pub.publish(topics.PRIVATE, part)
        await pub.publish(topics.PRIVATE, part)
        items = await until(
            lambda: listed(client, r), lambda xs: [i["status"] for i in of(xs, domain.TRANSFERRED)] == ["sent"]
        )
    (notice,) = of(items, domain.TRANSFERRED)
    assert notice["channel"] == domain.EMAIL and notice["legal"] and len(notice["deliveries"]) == 1
    assert "국토교통부 소관 사항이어서 해당 기관으로 이송" in notice["text"]
    assert "이송 사유: 국도 관리는 국토교통부 소관입니다" in notice["text"] and "(연락처 120)" in notice["text"]
