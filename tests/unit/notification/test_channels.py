"""Opt-in rules, channel choice, the AlimTalk → SMS/LMS fallback, and masking."""

from __future__ import annotations

import pytest

from minwon import contracts as c
from services.notification import domain
from services.notification.domain import Choice, Consent
from tests.unit.notification.factories import NOW, assigned, event, receipt_no

ALL = {"phone": True, "email": True, "address": True}


def record(template: str) -> dict:
    r = receipt_no()
    e = {
        domain.RECEIPT: assigned(r),
        domain.EXTENSION: event(c.COMPLAINT_EXTENDED, r, {"period": "7d"}),
        domain.RESULT: event(c.COMPLAINT_CLOSED, r, {"outcome": "rejected"}),
        domain.RESULT_LETTER: event(c.COMPLAINT_CLOSED, r, {"outcome": "rejected"}),
        domain.STAFF_WARNING: event(c.DEADLINE_WARNING, r, {}),
    }[template]
    state = domain.note(None, e) or {}
    return next(d for d in domain.plan(e, state) if d.template == template).to_doc(NOW)


def test_sms_only_for_citizens_who_opted_in() -> None:
    receipt = record(domain.RECEIPT)
    assert domain.choose_channel(receipt, Consent(sms=True), ALL).channel == domain.SMS
    assert domain.choose_channel(receipt, Consent(email=True), ALL).channel == domain.EMAIL
    nothing = domain.choose_channel(receipt, Consent(), ALL)
    assert nothing.channel is None and nothing.reason == "no_consent"
    # an opt-in without the contact detail is no channel either
    assert domain.choose_channel(receipt, Consent(sms=True), {"email": True}).channel is None


def test_alimtalk_first_then_sms_then_email() -> None:
    receipt = record(domain.RECEIPT)
    assert domain.choose_channel(receipt, Consent(sms=True, alimtalk=True, email=True), ALL).channel == domain.ALIMTALK
    assert domain.choose_channel(receipt, Consent(alimtalk=True, email=True), {"email": True}).channel == domain.EMAIL


def test_a_legally_required_notice_without_an_electronic_channel_goes_by_post() -> None:
    extension = record(domain.EXTENSION)
    assert domain.choose_channel(extension, Consent(), ALL).channel == domain.POST
    assert domain.choose_channel(extension, Consent(), {"phone": True}).reason == "no_lawful_channel"


def test_the_result_letter_goes_when_asked_for_or_when_nothing_else_can_carry_the_result() -> None:
    result, letter = record(domain.RESULT), record(domain.RESULT_LETTER)
    assert domain.choose_channel(result, Consent(sms=True), ALL).channel == domain.SMS
    assert domain.choose_channel(letter, Consent(sms=True), ALL).reason == "not_requested"
    assert domain.choose_channel(letter, Consent(sms=True, post=True), ALL).channel == domain.POST
    assert domain.choose_channel(result, Consent(), ALL).reason == "covered_by_letter"
    assert domain.choose_channel(letter, Consent(), ALL).channel == domain.POST
    assert domain.choose_channel(letter, Consent(), {"phone": True}).reason == "no_lawful_channel"


def test_staff_messages_use_the_staff_channel() -> None:
    assert domain.choose_channel(record(domain.STAFF_WARNING), Consent(), {}).channel == domain.STAFF_MESSAGE


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("가" * 45, domain.SMS),  # 90 bytes
        ("가" * 46, domain.LMS),  # 92 bytes
        ("a" * 90, domain.SMS),
        ("a" * 91, domain.LMS),
        ("가" * 44 + "ab", domain.SMS),  # 88 + 2
        ("가" * 44 + "abc", domain.LMS),  # 91
        ("똠" * 45, domain.SMS),  # outside KS X 1001's 2,350 syllables, still 2 bytes in CP949
    ],
)
def test_sms_or_lms_by_euc_kr_length(text, kind) -> None:
    assert domain.sms_kind(text) == kind


def test_an_sms_too_long_goes_as_lms() -> None:
    assert domain.sized(domain.SMS, "가" * 45) == domain.SMS
    assert domain.sized(domain.SMS, "가" * 46) == domain.LMS
    assert domain.sized(domain.ALIMTALK, "가" * 46) == domain.ALIMTALK


def test_alimtalk_falls_back_to_sms_or_lms_only_with_sms_opt_in() -> None:
    short, long = "접수되었습니다", "가" * 60
    phone = {"phone": True}
    assert domain.fallback_channel(domain.ALIMTALK, short, Consent(alimtalk=True, sms=True), phone) == domain.SMS
    assert domain.fallback_channel(domain.ALIMTALK, long, Consent(alimtalk=True, sms=True), phone) == domain.LMS
    assert domain.fallback_channel(domain.ALIMTALK, short, Consent(alimtalk=True), phone) is None
    assert domain.fallback_channel(domain.SMS, short, Consent(sms=True), phone) is None
    assert domain.fallback_channel(domain.ALIMTALK, short, Consent(alimtalk=True, sms=True), {}) is None


def test_masking() -> None:
    assert domain.mask_phone("010-1234-5678") == "010-****-5678"
    assert domain.mask_phone("01012345678") == "010-****-5678"
    assert domain.mask_phone("051-888-1234") == "051-***-1234"
    assert domain.mask_email("citizen@example.kr") == "c******@example.kr"
    assert domain.mask_name("홍길동") == "홍*동" and domain.mask_name("남궁민수") == "남**수"
    assert domain.mask_name("이산") == "이*"
    assert domain.mask_address("부산광역시 해운대구 우동 12번지") == "부산광역시 해운대구 ***"
    text = "홍길동 님, 010-2345-6789 또는 hong@example.kr 로 연락드립니다. 주소: 부산광역시 해운대구 우동 12번지"
    masked = domain.mask_text(text, names=["홍길동"], addresses=["부산광역시 해운대구 우동 12번지"])
    for secret in ("홍길동", "2345", "hong@", "우동 12번지"):
        assert secret not in masked
    assert "홍*동 님" in masked and "010-****-6789" in masked and "h***@example.kr" in masked
    office = domain.mask_text("담당 051-888-1234, 010-2345-6789", keep=["051-888-1234"])
    assert office == "담당 051-888-1234, 010-****-6789"
    assert domain.mask_recipient(domain.ALIMTALK, "010-2345-6789") == "010-****-6789"
    assert domain.mask_recipient(domain.POST, "부산광역시 해운대구 우동 12번지") == "부산광역시 해운대구 ***"


def test_no_electronic_consent_but_an_address_gets_the_letter() -> None:
    nothing = Consent()  # sms, alimtalk, e-mail and post all declined
    contacts = {"phone": True, "email": True, "address": True}
    assert domain.choose_channel(record(domain.RESULT_LETTER), nothing, contacts) == Choice(domain.POST)
    assert domain.choose_channel(record(domain.RESULT), nothing, contacts).reason == "covered_by_letter"
    # consent given but the contact missing counts as no electronic channel
    assert domain.choose_channel(record(domain.RESULT_LETTER), Consent(sms=True), {"address": True}) == Choice(
        domain.POST
    )
    # an electronic channel: the letter only when asked for
    assert domain.choose_channel(record(domain.RESULT_LETTER), Consent(email=True), contacts).channel is None
    # no address: no lawful channel for the letter
    assert domain.choose_channel(record(domain.RESULT_LETTER), nothing, {"phone": True}).reason == "no_lawful_channel"
