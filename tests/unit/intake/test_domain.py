"""Intake rules, pure: identity, channels, received_at, receipt numbers, lifecycle transitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from minwon import contracts as c
from minwon.errors import Conflict, DomainError, Invalid
from services.intake import domain
from services.intake.domain import Complaint, Filing, Identity

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SRC = "/test/intake"
MAX_AGE = timedelta(days=30)


def filing(**changes) -> Filing:
    base = Filing(
        identity=Identity(name="김민원", phone="010-1111-2222"),
        title="불법 주차",
        body="매일 불법 주차가 있습니다",
        kind="other",
        category="traffic",
        district="수영구",
        channel="online",
    )
    return replace(base, **changes)


def registered(**changes) -> Complaint:
    complaint, _ = domain.register(
        filing(**changes),
        receipt_no="2026-BUSAN-0000001",
        code="ABC123",
        complainant_ref="p-1",
        sealed="k1:xx",
        received_at=NOW,
        now=NOW,
        source=SRC,
    )
    return domain.note_due(complaint, due_at=(NOW + timedelta(days=9)).isoformat(), at=NOW.isoformat(), period="7d")


@pytest.mark.parametrize(
    "identity",
    [
        Identity(name="", phone="010"),
        Identity(name="   ", address="부산"),
        Identity(name="김"),
        Identity(name="김", phone=" ", email="", address=None),
    ],
)
def test_anonymous_complaints_are_refused(identity: Identity) -> None:
    with pytest.raises(DomainError) as err:
        domain.check_filing(filing(identity=identity), NOW, max_age=MAX_AGE)
    assert err.value.status == 422 and err.value.field == "name"
    assert "Anonymous" in err.value.message and "익명" in err.value.message


@pytest.mark.parametrize("contact", [{"phone": "010"}, {"email": "a@b.kr"}, {"address": "부산 중구"}])
def test_a_name_and_any_one_contact_identify_the_complainant(contact: dict) -> None:
    assert domain.check_filing(filing(identity=Identity(name="김", **contact)), NOW, max_age=MAX_AGE) == NOW


@pytest.mark.parametrize("channel", domain.CHANNELS)
def test_every_channel_is_accepted(channel: str) -> None:
    assert domain.check_filing(filing(channel=channel), NOW, max_age=MAX_AGE) == NOW


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"kind": "statutory"}, "statutory_type"),
        ({"title": " "}, "title"),
        ({"channel": "online", "received_at": NOW - timedelta(hours=1)}, "received_at"),
        ({"channel": "mail", "received_at": NOW + timedelta(minutes=1)}, "received_at"),
        ({"channel": "mail", "received_at": datetime(2026, 11, 20, 9, 0)}, "received_at"),
        ({"channel": "fax", "received_at": NOW - timedelta(days=31)}, "received_at_reason"),
        ({"channel": "mail", "received_at": datetime(1, 1, 1, tzinfo=UTC), "received_at_reason": "old"}, "received_at"),
        (
            {"channel": "mail", "received_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "received_at_reason": "old"},
            "received_at",
        ),
        ({"channel": "visit", "received_at": datetime(9999, 12, 31, tzinfo=UTC)}, "received_at"),
    ],
)
def test_bad_filings_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(Invalid) as err:
        domain.check_filing(filing(**changes), NOW, max_age=MAX_AGE)
    assert err.value.field == field


def test_staff_channels_keep_the_real_arrival_time() -> None:
    earlier = NOW - timedelta(days=2)
    assert domain.check_filing(filing(channel="mail", received_at=earlier), NOW, max_age=MAX_AGE) == earlier
    old = NOW - timedelta(days=40)
    assert (
        domain.check_filing(
            filing(channel="visit", received_at=old, received_at_reason="우편 분실 후 재발견"), NOW, max_age=MAX_AGE
        )
        == old
    )


def test_the_earliest_receipt_is_accepted_with_a_reason() -> None:
    earliest = domain.EARLIEST_RECEIPT
    assert (
        domain.check_filing(
            filing(channel="mail", received_at=earliest, received_at_reason="문서고에서 발견"), NOW, max_age=MAX_AGE
        )
        == earliest
    )


@pytest.mark.parametrize(
    "due",
    [
        datetime(2026, 11, 27, 18, 0),  # no offset
        NOW - timedelta(minutes=1),
        NOW,
        NOW + domain.LONGEST_SUPPLEMENT_WAIT + timedelta(minutes=1),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))),
    ],
)
def test_a_supplementation_due_time_lies_ahead_within_the_longest_wait(due: datetime) -> None:
    with pytest.raises(Invalid) as err:
        domain.request_supplementation(registered(), reason="도면 누락", due=due, now=NOW, source=SRC)
    assert err.value.field == "due"


def test_a_supplementation_due_time_travels_on_the_event() -> None:
    due = NOW + domain.LONGEST_SUPPLEMENT_WAIT
    _, events = domain.request_supplementation(registered(), reason="도면 누락", due=due, now=NOW, source=SRC)
    assert events[0].data["supplement_due"] == due.isoformat()


def test_receipt_numbers_and_check_codes() -> None:
    assert domain.receipt_number(2026, "BUSAN", 42) == "2026-BUSAN-0000042"
    code = domain.check_code("2026-BUSAN-0000042", b"s")
    assert len(code) >= 10 and code == domain.check_code("2026-BUSAN-0000042", b"s")
    assert code != domain.check_code("2026-BUSAN-0000043", b"s")
    assert code != domain.check_code("2026-BUSAN-0000042", b"another deployment")


def test_check_codes_avoid_characters_misread_by_hand() -> None:
    codes = [domain.check_code(f"2026-BUSAN-{n:07d}", b"s") for n in range(500)]
    assert all(len(x) >= 10 for x in codes)
    assert not set("".join(codes)) & set("0O1IL")
    assert len(set("".join(codes))) == len(domain.CODE_ALPHABET)  # every character is used


def test_codes_match_as_typed_and_old_six_digit_codes_keep_working() -> None:
    new = replace(registered(), check_code="23456ABCDE")
    assert domain.code_matches(new, "23456abcde") and domain.code_matches(new, " 23456-ABCDE ")
    assert not domain.code_matches(new, "23456ABCDF") and not domain.code_matches(new, "")
    old = registered()  # issued before: six hexadecimal digits
    assert old.check_code == "ABC123" and domain.code_matches(old, "abc123")


def test_lookup_limits_count_per_address_and_receipt_in_fixed_windows() -> None:
    window = timedelta(minutes=15)
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    keys = domain.attempt_keys("R1", "10.0.0.1", start, window)
    assert keys[0].startswith("addr:10.0.0.1:") and keys[1].startswith("receipt:R1:")
    assert domain.attempt_keys("R1", "10.0.0.1", start + timedelta(minutes=14), window) == keys
    assert domain.attempt_keys("R1", "10.0.0.1", start + window, window) != keys
    assert domain.retry_after(start + timedelta(minutes=5), window) == 600
    assert domain.retry_after(start + timedelta(minutes=14, seconds=59.5), window) == 1


def test_staff_channels_and_given_receipt_times_need_an_official() -> None:
    assert not domain.needs_staff(filing())
    assert not domain.needs_staff(filing(channel="sns"))
    for channel in ("visit", "phone", "mail", "fax", "oral"):
        assert domain.needs_staff(filing(channel=channel))
    assert domain.needs_staff(filing(received_at=NOW - timedelta(days=1)))


def test_the_acting_official_is_on_the_complaint_and_its_steps_but_not_in_the_public_view() -> None:
    official = {"id": "kim", "name": "김담당", "department": "road", "roles": ["handler"]}
    counter = {"id": "lee", "name": "이접수", "department": "civil", "roles": ["call_centre"]}
    complaint, _ = domain.register(
        filing(channel="visit"),
        receipt_no="R2",
        code="C",
        complainant_ref="p-2",
        sealed="k1:x",
        received_at=NOW,
        now=NOW,
        source=SRC,
        by=counter,
    )
    assert complaint.registered_by == counter and complaint.timeline[0].by == counter
    acked, _ = domain.acknowledge(complaint, now=NOW, source=SRC)
    acked = domain.attribute(complaint, acked, official)
    assert acked.last_actor == official and acked.timeline[-1].by == official
    assert acked.timeline[0].by == counter  # earlier steps keep their official
    assert domain.attribute(complaint, acked, None) is acked
    assert Complaint.from_doc(acked.to_doc()) == acked
    view = domain.public_view(acked)
    assert all("by" not in step for step in view["timeline"])
    assert "kim" not in str(view) and "lee" not in str(view)


def test_an_oral_complaint_confirmed_at_the_counter_is_recorded_as_such() -> None:
    draft = registered(channel="oral")
    by_citizen, _ = domain.confirm(draft, now=NOW, source=SRC)
    at_counter, _ = domain.confirm(draft, now=NOW, source=SRC, at_counter=True)
    assert by_citizen.timeline[-1].detail["confirmed_by"] == "citizen_with_check_code"
    assert at_counter.timeline[-1].detail["confirmed_by"] == "official_at_counter"


def test_registration_emits_received_without_personal_data() -> None:
    complaint, events = domain.register(
        filing(channel="mail", received_at=NOW - timedelta(hours=3)),
        receipt_no="R1",
        code="C",
        complainant_ref="p-9",
        sealed="k1:zz",
        received_at=NOW - timedelta(hours=3),
        now=NOW,
        source=SRC,
    )
    assert complaint.status == domain.RECEIVED
    [event] = events
    assert event.type == c.COMPLAINT_RECEIVED and event.subject == "R1"
    assert event.data["forwarding_clock"] is True
    text = event.model_dump_json()
    for secret in ("김민원", "010-1111-2222", "불법 주차", "매일"):
        assert secret not in text


def test_oral_complaints_wait_for_confirmation() -> None:
    draft = registered(channel="oral")
    assert draft.status == domain.DRAFT
    with pytest.raises(Conflict):
        domain.acknowledge(draft, now=NOW, source=SRC)
    later = NOW + timedelta(minutes=10)
    confirmed, events = domain.confirm(draft, now=later, source=SRC)
    # received when the citizen told it, not when it was read back and confirmed
    assert confirmed.status == domain.RECEIVED and confirmed.received_at == draft.received_at == NOW.isoformat()
    assert [e.type for e in events] == [c.COMPLAINT_RECEIVED]
    assert events[0].data["received_at"] == NOW.isoformat()
    with pytest.raises(Conflict):
        domain.confirm(confirmed, now=later, source=SRC)


def _apply(complaint, *commands):
    events = []
    for command in commands:
        complaint, new = command(complaint)
        events += new
    return complaint, events


def test_the_whole_lifecycle_produces_one_event_per_step() -> None:
    t = NOW
    complaint, events = _apply(
        registered(),
        lambda x: domain.acknowledge(x, now=t, source=SRC),
        lambda x: domain.request_supplementation(x, reason="도면 누락", due=None, now=t, source=SRC),
        lambda x: domain.receive_supplement(x, now=t, source=SRC),
        lambda x: domain.extend(x, reason="현장 조사", period="7d", citizen_consent=False, now=t, source=SRC),
        lambda x: domain.close(x, outcome="accepted", reasons=None, remedy=None, now=t, source=SRC),
    )
    assert complaint.status == domain.CLOSED and complaint.extensions == 1 and complaint.supplementations == 1
    public = [e.type for e in events if e.type != c.COMPLAINT_SEALED]
    assert public == [
        c.COMPLAINT_ACKNOWLEDGED,
        c.COMPLAINT_SUPPLEMENTATION_REQUESTED,
        c.COMPLAINT_SUPPLEMENT_RECEIVED,
        c.COMPLAINT_EXTENDED,
        c.COMPLAINT_CLOSED,
    ]
    assert len({e.id for e in events}) == len(events)
    for event in events:
        if event.type != c.COMPLAINT_SEALED:
            assert "도면" not in event.model_dump_json() and "현장" not in event.model_dump_json()
    sealed = [e for e in events if e.type == c.COMPLAINT_SEALED]
    assert [e.data["part"] for e in sealed] == ["supplementation_requested", "extended"]


def test_event_ids_are_deterministic() -> None:
    a = domain.acknowledge(registered(), now=NOW, source=SRC)[1][0]
    b = domain.acknowledge(registered(), now=NOW + timedelta(hours=1), source=SRC)[1][0]
    assert a.id == b.id


@pytest.mark.parametrize(
    ("status", "command"),
    [
        (domain.CLOSED, lambda x: domain.close(x, outcome="accepted", reasons=None, remedy=None, now=NOW, source=SRC)),
        (domain.CLOSED, lambda x: domain.request_supplementation(x, reason="r", due=None, now=NOW, source=SRC)),
        (domain.RECEIVED, lambda x: domain.receive_supplement(x, now=NOW, source=SRC)),
        (domain.WITHDRAWN, lambda x: domain.acknowledge(x, now=NOW, source=SRC)),
        (
            domain.TRANSFERRED,
            lambda x: domain.extend(x, reason="r", period=None, citizen_consent=True, now=NOW, source=SRC),
        ),
        (
            domain.SUPPLEMENTING,
            lambda x: domain.close(x, outcome="accepted", reasons=None, remedy=None, now=NOW, source=SRC),
        ),
        (domain.IN_PROGRESS, lambda x: domain.acknowledge(x, now=NOW, source=SRC)),
        (domain.CLOSED, lambda x: domain.withdraw(x, now=NOW, source=SRC)),
    ],
)
def test_invalid_transitions_are_conflicts_with_the_current_state(status: str, command) -> None:
    with pytest.raises(Conflict) as err:
        command(replace(registered(), status=status))
    assert err.value.status == 409 and err.value.details["status"] == status


def test_second_extension_needs_consent() -> None:
    once, _ = domain.extend(registered(), reason="조사", period=None, citizen_consent=False, now=NOW, source=SRC)
    with pytest.raises(Conflict):
        domain.extend(once, reason="추가 조사", period=None, citizen_consent=False, now=NOW, source=SRC)
    twice, _ = domain.extend(once, reason="추가 조사", period=None, citizen_consent=True, now=NOW, source=SRC)
    assert twice.extensions == 2


def test_a_rejection_needs_reasons_and_remedy() -> None:
    with pytest.raises(Invalid) as err:
        domain.close(registered(), outcome="rejected", reasons=None, remedy="행정심판", now=NOW, source=SRC)
    assert err.value.field == "reasons"
    with pytest.raises(Invalid) as err:
        domain.close(registered(), outcome="rejected", reasons="법령상 불가", remedy=" ", now=NOW, source=SRC)
    assert err.value.field == "remedy"
    closed, events = domain.close(
        registered(), outcome="rejected", reasons="법령상 불가", remedy="행정심판 청구", now=NOW, source=SRC
    )
    assert closed.outcome == "rejected"
    assert events[1].data["content"] == {"reasons": "법령상 불가", "remedy": "행정심판 청구"}


def test_revisits_are_reported_each_time() -> None:
    once, e1 = domain.report_revisit(registered(), reason="서류 안내 오류", now=NOW, source=SRC)
    twice, e2 = domain.report_revisit(once, reason="재차 안내 오류", now=NOW, source=SRC)
    assert e1[0].type == e2[0].type == c.COMPLAINT_REVISIT_REPORTED
    assert e1[0].id != e2[0].id


def test_transfer_withdraw_and_the_public_view() -> None:
    transferred, events = domain.transfer(registered(), agency="국토교통부", reason="소관 아님", now=NOW, source=SRC)
    assert transferred.status == domain.TRANSFERRED and events[0].data["agency"] == "국토교통부"
    view = domain.public_view(
        domain.note_assigned(
            registered(),
            handler={"id": "h1", "name": "이담당", "contact": "051-888-1234"},
            department="road",
            at=NOW.isoformat(),
        )
    )
    assert view["handler"]["name"] == "이담당" and view["timeline"][-1]["step"] == "assigned"
    assert "sealed" not in view and "check_code" not in view
