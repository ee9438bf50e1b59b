"""The blind index and the repeat/duplicate rules (services/intake/similarity.py): pure, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, Invalid
from services.intake import domain
from services.intake import similarity as s
from services.intake.domain import Complaint
from tests.unit.intake.test_domain import registered

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _index(
    title: str, *, name: str = "홍길동", phone: str | None = "010-1234-5678", body: str = "본문", key: bytes = KEY
) -> s.IndexTerms:
    return s.index_terms(key, name=name, phone=phone, email="Hong@Example.KR", address=None, title=title, body=body)


def _earlier(
    no: str,
    title: str,
    *,
    answered: bool = True,
    category: str = "road",
    district: str = "해운대구",
    identity: str | None = "me",
    at: datetime = T0,
) -> s.Earlier:
    return s.Earlier(
        receipt_no=no,
        category=category,
        district=district,
        title=_index(title).title,
        identity=identity,
        received_at=at,
        answered=answered,
    )


def test_normalisation_of_names_phones_emails_and_text() -> None:
    assert s.normal_name(" 홍 길\t동 ") == "홍길동"
    assert s.normal_phone("010-1234 5678") == "01012345678"
    assert s.normal_email("  Hong@Example.KR ") == "hong@example.kr"
    assert s.normal_text("가로등, 고장!  (해운대)") == "가로등고장해운대"
    assert s.bigrams("가로 등!") == {"가로", "로등"}
    assert s.bigrams("등") == {"등"} and s.bigrams(" !") == set()


def test_a_search_term_equals_the_stored_term_of_the_same_normalised_value() -> None:
    stored = _index("가로등 고장", name="홍길동", phone="010-1234-5678", body="집 앞 가로등이 꺼졌습니다")
    assert set(s.query_terms(KEY, name="홍 길동")) <= set(stored.terms)
    assert set(s.query_terms(KEY, phone="01012345678")) <= set(stored.terms)
    assert set(s.query_terms(KEY, email="hong@example.kr")) <= set(stored.terms)
    assert set(s.query_terms(KEY, words=["꺼졌"])) <= set(stored.terms)
    assert not set(s.query_terms(KEY, name="김철수")) <= set(stored.terms)
    assert not set(s.query_terms(KEY, words=["신호등"])) <= set(stored.terms)


def test_terms_are_keyed_and_hold_no_value_in_clear() -> None:
    stored = _index("가로등 고장", name="홍길동")
    again = _index("가로등 고장", name="홍길동", key=OTHER_KEY)
    assert not set(stored.terms) & set(again.terms)  # another key: nothing in common
    flat = " ".join([*stored.terms, *stored.title, stored.identity or ""])
    for plain in ("홍길동", "01012345678", "hong@example.kr", "가로", "로등"):
        assert plain not in flat
    assert all(len(t) == 24 and int(t, 16) >= 0 for t in stored.terms)


def test_the_identity_needs_a_name_and_a_contact() -> None:
    assert s.identity_value("홍 길동", "010-1234-5678", None, None) == "홍길동|01012345678"
    assert s.identity_value("홍길동", None, "A@B.kr", None) == "홍길동|a@b.kr"
    assert s.identity_value("홍길동", None, None, None) is None
    assert s.identity_value(" ", "010", None, None) is None


def test_words_are_normalised_and_bounded() -> None:
    assert s.words_of("가로등,  고장! ") == ["가로등", "고장"]
    assert len(s.words_of(" ".join(f"단어{i}" for i in range(20)))) == s.MAX_WORDS
    assert s.text_matches(["가로등"], "가로 등 고장", "")
    assert not s.text_matches(["등가로"], "가로등", "가로 등")  # bigrams alone would not tell


def test_similarity_is_the_dice_coefficient_of_bigrams() -> None:
    a, b = _index("가로등 고장 신고").title, _index("가로등 고장 신고합니다").title
    assert s.similarity(a, b) == pytest.approx(12 / 15)
    assert s.similarity(a, a) == 1.0
    assert s.similarity(a, _index("불법 주차 단속 요청").title) == 0.0
    assert s.similarity([], a) == 0.0


def test_a_third_complaint_after_two_answers_on_the_same_subject_is_a_repeat() -> None:
    title = _index("가로등 고장 신고").title
    two = [_earlier("A-1", "가로등 고장 신고"), _earlier("A-2", "가로등 고장 신고합니다")]
    assert s.repeat_of(category="road", title=title, earlier=two) == ["A-1", "A-2"]
    assert s.repeat_of(category="road", title=title, earlier=two[:1]) == []
    unanswered = [two[0], _earlier("A-2", "가로등 고장 신고", answered=False)]
    assert s.repeat_of(category="road", title=title, earlier=unanswered) == []
    other_subject = [two[0], _earlier("A-3", "불법 주차 단속 요청")]
    assert s.repeat_of(category="road", title=title, earlier=other_subject) == []
    other_category = [two[0], _earlier("A-4", "가로등 고장 신고", category="traffic")]
    assert s.repeat_of(category="road", title=title, earlier=other_category) == []


def test_other_citizens_on_the_same_thing_within_a_week_are_suggested() -> None:
    this = _earlier("B-1", "우동 가로등 고장", identity="me")
    others = [
        _earlier("B-2", "우동 가로등이 고장났어요", identity="you", at=T0 + timedelta(days=2)),
        _earlier("B-3", "우동 가로등 고장", identity="me"),  # the same citizen: a repeat, not a duplicate
        _earlier("B-4", "우동 가로등 고장", identity="them", at=T0 + timedelta(days=8)),  # too late
        _earlier("B-5", "우동 가로등 고장", identity="them", district="수영구"),
        _earlier("B-6", "우동 가로등 고장", identity="them", category="traffic"),
        _earlier("B-7", "쓰레기 무단 투기", identity="them"),
        _earlier("B-8", "우동 가로등 고장", identity="them", at=T0 - timedelta(days=6)),
    ]
    found = s.link_suggestions(this, others)
    assert [x["receipt_no"] for x in found] == ["B-8", "B-2"]  # most alike first
    assert found[0]["similarity"] == 1.0 and 0.5 <= float(found[1]["similarity"]) < 1.0
    assert [x["receipt_no"] for x in s.link_suggestions(this, others, linked=["B-8"])] == ["B-2"]


# ------------------------------------------------ the domain's commands for them


def _complaint(**changes: Any) -> Complaint:
    return replace(registered(), **changes)


def test_a_note_is_kept_sealed_without_a_step_or_an_event() -> None:
    noted = domain.add_note(
        _complaint(),
        text="현장 확인",
        note_id="n1",
        sealed="k1:zz",
        now=T0,
        by={"id": "road-01", "name": "박담당", "roles": ["handler"]},
    )
    assert noted.notes == (
        {"id": "n1", "at": T0.isoformat(), "by": {"id": "road-01", "name": "박담당"}, "sealed": "k1:zz"},
    )
    assert noted.timeline == _complaint().timeline and "현장" not in str(noted.to_doc())
    for text in ("  ", "가" * (domain.MAX_NOTE + 1)):
        with pytest.raises(Invalid) as refused:
            domain.add_note(_complaint(), text=text, note_id="n2", sealed="k1:zz", now=T0, by={"id": "x"})
        assert refused.value.field == "text"


def test_a_link_is_recorded_once_and_never_to_itself() -> None:
    linked = domain.link(domain.link(_complaint(), "2026-BUSAN-0000009"), "2026-BUSAN-0000009")
    assert linked.links == ("2026-BUSAN-0000009",)
    assert Complaint.from_doc(linked.to_doc()).links == linked.links
    with pytest.raises(Invalid):
        domain.link(linked, linked.receipt_no)


def test_only_a_flagged_repeat_closes_as_one_with_the_statutory_notice() -> None:
    with pytest.raises(Conflict):
        domain.repeat_draft(_complaint(), reason="반복")
    flagged = _complaint(repeat_of=("2026-BUSAN-0000001", "2026-BUSAN-0000002"))
    with pytest.raises(Invalid):
        domain.repeat_draft(flagged, reason=" ")
    draft = domain.repeat_draft(flagged, reason="세 번째 같은 내용")
    assert "제23조" in draft.text and "2026-BUSAN-0000002" in draft.text and draft.outcome == "rejected"
    closed, events = domain.close_as_repeat(flagged, draft=draft, sealed="k1:aa", now=T0, source="/t", by=None)
    assert closed.status == domain.CLOSED and closed.answer_state == domain.ANSWER_APPROVED
    assert [e.type for e in events] == [c.COMPLAINT_CLOSED, c.COMPLAINT_SEALED, c.COMPLAINT_SEALED]
    assert [e.data["part"] for e in events[1:]] == ["closed", "answer"]  # as any rejection: the result notice's parts
    assert "제23조" in events[2].data["content"]["text"] and events[1].data["content"]["reasons"] == "세 번째 같은 내용"
    assert "제23조" not in str(events[0].data)  # the public event carries no text
    with pytest.raises(Conflict):
        domain.close_as_repeat(closed, draft=draft, sealed="k1:aa", now=T0, source="/t", by=None)


def test_reseal_covers_the_notes() -> None:
    doc = _complaint(notes=({"id": "n1", "at": "t", "by": None, "sealed": "k1:old"},)).to_doc()
    stale = lambda v: v.startswith("k1:")  # noqa: E731
    assert domain.needs_reseal({**doc, "sealed": "k2:x"}, stale=stale)
    again = domain.resealed({**doc, "sealed": "k2:x"}, stale=stale, again=lambda v: "k2:" + v[3:])
    assert again is not None and again["notes"][0]["sealed"] == "k2:old"
