"""Invitations and the signed link, pure: consent, the timer, one survey per complaint, token life cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from minwon import contracts as c
from minwon.errors import DomainError, Invalid
from services.survey import domain
from services.survey.domain import Answers, Survey

SECRET = b"s3cret"
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
DELAY = timedelta(hours=24)
VALID = timedelta(days=14)
MAX_AGE = timedelta(days=30)


def tracked(*, sms: bool = True, email: bool = False, alimtalk: bool = False) -> Survey:
    s = domain.new_survey("2026-T-0000001")
    s = domain.note_received(
        s,
        {
            "kind": "grievance",
            "channel": "visit",
            "consent": {"sms": sms, "alimtalk": alimtalk, "email": email, "post": True},
        },
    )
    return domain.note_assigned(s, department="건축과", handler={"id": "h-1", "name": "김담당", "phone": "010"})


def scheduled(s: Survey | None = None, at: datetime = NOW) -> Survey:
    return domain.note_closed(s or tracked(), closed_at=at, outcome="accepted", now=at, delay=DELAY, max_age=MAX_AGE)


def invited(at: datetime = NOW + DELAY) -> tuple[Survey, str]:
    s, [event] = domain.invite(scheduled(), now=at, secret=SECRET, valid_for=VALID, source="/t")
    return s, event.data["link"].removeprefix("/survey/")


def answers(overall: int = 4, text: str | None = "담당자가 친절했습니다") -> Answers:
    return Answers(speed=3, kindness=5, result=4, overall=overall, text=text)


# ---------------------------------------------------------------- invitation


def test_closure_sets_a_timer_after_the_delay() -> None:
    s = scheduled()
    assert s.status == domain.SCHEDULED and s.invite_at == "2026-11-21T01:00:00.000000+00:00"


def test_nothing_is_sent_before_the_timer_fires() -> None:
    s = scheduled()
    same, events = domain.invite(s, now=NOW + DELAY - timedelta(seconds=1), secret=SECRET, valid_for=VALID, source="/t")
    assert same == s and events == []


def test_the_invitation_carries_a_signed_link_and_its_expiry() -> None:
    s, token = invited()
    assert s.status == domain.INVITED and s.link == f"/survey/{token}"
    claims = domain.read_token(SECRET, token)
    assert claims.receipt_no == s.receipt_no and claims.survey_id == s.survey_id
    assert claims.expires_at == NOW + DELAY + VALID
    _, [event] = domain.invite(scheduled(), now=NOW + DELAY, secret=SECRET, valid_for=VALID, source="/t")
    assert event.type == c.SURVEY_INVITED
    assert set(event.data) >= {"receipt_no", "survey_id", "link", "expires_at"}
    assert event.id == domain.invite(scheduled(), now=NOW + DELAY, secret=SECRET, valid_for=VALID, source="/t")[1][0].id


@pytest.mark.parametrize("channel", ["sms", "email", "alimtalk"])
def test_any_contact_consent_is_enough(channel: str) -> None:
    s = domain.note_closed(
        tracked(**{"sms": False, channel: True}),
        closed_at=NOW,
        outcome="accepted",
        now=NOW,
        delay=DELAY,
        max_age=MAX_AGE,
    )
    assert domain.invite(s, now=NOW + DELAY, secret=SECRET, valid_for=VALID, source="/t")[0].status == domain.INVITED


def test_no_consent_no_invitation() -> None:
    s, events = domain.invite(
        scheduled(tracked(sms=False)), now=NOW + DELAY, secret=SECRET, valid_for=VALID, source="/t"
    )
    assert (s.status, s.skip_reason, events) == (domain.SKIPPED, "no_consent", [])


def test_without_the_received_event_consent_is_unknown_and_nobody_is_invited() -> None:
    s = scheduled(domain.new_survey("2026-T-0000002"))
    s, events = domain.invite(s, now=NOW + DELAY, secret=SECRET, valid_for=VALID, source="/t")
    assert (s.status, s.skip_reason, events) == (domain.SKIPPED, "no_consent_record", [])


def test_one_survey_per_complaint() -> None:
    s, _ = invited()
    again = domain.note_closed(
        s,
        closed_at=NOW + timedelta(days=2),
        outcome="accepted",
        now=NOW + timedelta(days=2),
        delay=DELAY,
        max_age=MAX_AGE,
    )
    assert again == s
    assert domain.survey_id("2026-T-0000001") == s.survey_id


def test_withdrawn_or_transferred_complaints_are_not_surveyed() -> None:
    s = domain.note_ended(tracked(), reason="withdrawn")
    assert s.status == domain.ENDED
    assert domain.note_closed(s, closed_at=NOW, outcome="accepted", now=NOW, delay=DELAY, max_age=MAX_AGE) == s


def test_a_replayed_old_closure_invites_nobody() -> None:
    s = domain.note_closed(
        tracked(), closed_at=NOW - timedelta(days=31), outcome="accepted", now=NOW, delay=DELAY, max_age=MAX_AGE
    )
    assert (s.status, s.skip_reason) == (domain.SKIPPED, "closed_too_long_ago")


def test_the_handler_kept_is_id_and_name_only() -> None:
    assert tracked().handler == {"id": "h-1", "name": "김담당"}


# ---------------------------------------------------------------- token life cycle


def test_a_valid_token_is_answered_once() -> None:
    s, token = invited()
    claims = domain.read_token(SECRET, token)
    done, events = domain.respond(
        s, answers(), claims=claims, now=NOW + DELAY + timedelta(hours=1), low_threshold=2, source="/t"
    )
    assert done.status == domain.RESPONDED and done.scores == {"speed": 3, "kindness": 5, "result": 4, "overall": 4}
    assert [e.type for e in events] == [c.SURVEY_RESPONDED]
    with pytest.raises(DomainError) as reused:
        domain.respond(
            done, answers(), claims=claims, now=NOW + DELAY + timedelta(hours=2), low_threshold=2, source="/t"
        )
    assert (reused.value.status, reused.value.code) == (409, "already_answered")


def test_an_expired_token_is_gone() -> None:
    s, token = invited()
    claims = domain.read_token(SECRET, token)
    with pytest.raises(DomainError) as expired:
        domain.respond(s, answers(), claims=claims, now=claims.expires_at, low_threshold=2, source="/t")
    assert (expired.value.status, expired.value.code) == (410, "expired")
    ok, _ = domain.respond(
        s, answers(), claims=claims, now=claims.expires_at - timedelta(seconds=1), low_threshold=2, source="/t"
    )
    assert ok.status == domain.RESPONDED


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
        lambda t: domain._b64(domain._unb64(t.split(".")[0]).replace(b"|", b"9|", 1)) + "." + t.split(".")[1],
        lambda t: t.split(".")[0],  # no signature
        lambda t: "not-a-token",
        lambda t: "%%%.###",
    ],
)
def test_a_tampered_token_is_refused(tamper: object) -> None:
    _, token = invited()
    with pytest.raises(DomainError) as bad:
        domain.read_token(SECRET, tamper(token))  # type: ignore[operator]
    assert (bad.value.status, bad.value.code) == (401, "invalid_token")


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = domain.make_token(b"other", receipt_no="r", survey_id="s", expires_at=NOW)
    with pytest.raises(DomainError) as bad:
        domain.read_token(SECRET, token)
    assert bad.value.status == 401


def test_a_later_expiry_cannot_be_forged_into_the_token() -> None:
    _, token = invited()
    body, sig = token.split(".")
    receipt_no, sid, exp = domain._unb64(body).decode().split("|")
    forged = domain._b64(f"{receipt_no}|{sid}|{int(exp) + 86400 * 365}".encode()) + "." + sig
    with pytest.raises(DomainError):
        domain.read_token(SECRET, forged)


def test_a_token_for_another_survey_is_refused() -> None:
    s, _ = invited()
    other = domain.make_token(SECRET, receipt_no=s.receipt_no, survey_id="another", expires_at=NOW + timedelta(days=99))
    with pytest.raises(DomainError) as bad:
        domain.respond(s, answers(), claims=domain.read_token(SECRET, other), now=NOW, low_threshold=2, source="/t")
    assert bad.value.status == 401


# ---------------------------------------------------------------- the answer


@pytest.mark.parametrize("field", ["speed", "kindness", "result", "overall"])
@pytest.mark.parametrize("value", [0, 6, -1])
def test_scores_are_one_to_five(field: str, value: int) -> None:
    s, token = invited()
    bad = Answers(**{**{"speed": 3, "kindness": 3, "result": 3, "overall": 3}, field: value})
    with pytest.raises(Invalid) as err:
        domain.respond(s, bad, claims=domain.read_token(SECRET, token), now=NOW + DELAY, low_threshold=2, source="/t")
    assert err.value.field == field


@pytest.mark.parametrize(("overall", "low"), [(1, True), (2, True), (3, False), (5, False)])
def test_a_low_overall_score_alerts_the_department(overall: int, low: bool) -> None:
    s, token = invited()
    done, events = domain.respond(
        s, answers(overall), claims=domain.read_token(SECRET, token), now=NOW + DELAY, low_threshold=2, source="/t"
    )
    lows = [e for e in events if e.type == c.SURVEY_LOW_SCORE]
    assert done.low_score is low and len(lows) == int(low)
    if low:
        assert lows[0].data["department"] == "건축과" and lows[0].data["overall"] == overall


def test_free_text_stays_in_the_store_and_off_every_event() -> None:
    s, token = invited()
    text = "담당 공무원 이름과 제 전화번호 010-1234-5678"
    done, events = domain.respond(
        s, answers(1, text), claims=domain.read_token(SECRET, token), now=NOW + DELAY, low_threshold=2, source="/t"
    )
    assert done.text == text
    assert len(events) == 2
    for event in events:
        assert "text" not in event.data and "010-1234-5678" not in event.to_json().decode()


def test_a_response_counts_in_its_korean_year() -> None:
    s, [event] = domain.invite(scheduled(), now=NOW + DELAY, secret=SECRET, valid_for=timedelta(days=60), source="/t")
    token = event.data["link"].removeprefix("/survey/")
    at = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 2027-01-01 00:30 in Seoul
    done, _ = domain.respond(
        s, answers(), claims=domain.read_token(SECRET, token), now=at, low_threshold=2, source="/t"
    )
    assert done.responded_year == 2027
