"""Backoff schedule, claims, outcomes and the events they announce (PII-free)."""

from __future__ import annotations

from datetime import timedelta

from minwon import contracts as c
from minwon import topics
from services.notification import domain
from services.notification.domain import Rendered, Try
from tests.unit.notification.factories import NOW, assigned, receipt_no

POLICY = domain.Policy()
SRC = "/test/notification"
RENDERED = Rendered(to_masked="010-****-6789", text_masked="홍*동 님 ...", text_sha256="ab" * 32)


def new_record() -> dict:
    e = assigned(receipt_no())
    return domain.plan(e, domain.note(None, e))[0].to_doc(NOW)


def test_backoff_schedule() -> None:
    assert domain.schedule(POLICY) == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    capped = domain.Policy(
        max_attempts=10, backoff_base=timedelta(minutes=10), backoff_factor=3, backoff_max=timedelta(hours=1)
    )
    assert domain.schedule(capped)[:4] == [
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert len(domain.schedule(capped)) == 9


def test_one_sender_claims_a_notice_until_its_lease_runs_out() -> None:
    record = new_record()
    mine = domain.claim(record, "a", domain.SMS, NOW, POLICY)
    assert mine["status"] == domain.SENDING and mine["attempts"] == 1 and mine["claim"] == "a"
    assert domain.claim(mine, "b", domain.SMS, NOW + timedelta(seconds=10), POLICY) is None
    later = domain.claim(mine, "b", domain.SMS, NOW + POLICY.lease, POLICY)
    assert later["claim"] == "b" and later["attempts"] == 2


def test_a_failed_attempt_is_retried_after_the_backoff_then_dead() -> None:
    record = new_record()
    now = NOW
    for attempt in range(1, POLICY.max_attempts):
        record = domain.claim(record, f"t{attempt}", domain.SMS, now, POLICY)
        record, events = domain.failed(record, [Try(domain.SMS, "failed", error="http_500")], now, POLICY, SRC)
        assert record["status"] == domain.FAILED and events == []
        assert record["next_attempt_at"] == domain._iso(now + domain.backoff(attempt, POLICY))
        assert not domain.attemptable(record, now)
        now += domain.backoff(attempt, POLICY)
        assert domain.attemptable(record, now)
    record = domain.claim(record, "last", domain.SMS, now, POLICY)
    record, events = domain.failed(record, [Try(domain.SMS, "failed", error="http_500")], now, POLICY, SRC)
    assert record["status"] == domain.DEAD and record["attempts"] == POLICY.max_attempts
    assert [a["attempt"] for a in record["attempt_log"]] == list(range(1, POLICY.max_attempts + 1))
    (t1, failed), (t2, copy) = events
    assert (t1, t2) == (topics.NOTIFICATIONS, topics.DEADLETTER)
    assert failed.type == copy.type == c.NOTIFICATION_FAILED and failed.data == copy.data
    assert failed.id != copy.id and failed.subject == record["receipt_no"]
    assert failed.data["error"] == "http_500" and failed.data["attempts"] == POLICY.max_attempts
    assert not domain.attemptable(record, now + timedelta(days=1))


def test_a_permanent_failure_is_dead_at_once() -> None:
    record = domain.claim(new_record(), "t", domain.SMS, NOW, POLICY)
    record, events = domain.failed(
        record, [Try(domain.SMS, "failed", error="http_400", permanent=True)], NOW, POLICY, SRC, permanent=True
    )
    assert record["status"] == domain.DEAD and len(events) == 2


def test_delivered_announces_sent_without_personal_data() -> None:
    record = domain.claim(new_record(), "t", domain.ALIMTALK, NOW, POLICY)
    tries = [
        Try(domain.ALIMTALK, "failed", error="dev_simulated_failure"),
        Try(domain.LMS, "sent", provider="dev", message_id="m-1"),
    ]
    record, [(topic, sent)] = domain.delivered(record, tries, RENDERED, NOW, SRC)
    assert topic == topics.NOTIFICATIONS and sent.type == c.NOTIFICATION_SENT
    assert record["status"] == domain.SENT and record["channel"] == domain.LMS and record["claim"] is None
    assert [e["channel"] for e in record["attempt_log"]] == [domain.ALIMTALK, domain.LMS]
    assert sent.data["channel"] == domain.LMS and sent.data["fallback_from"] == domain.ALIMTALK
    assert sent.id == domain.derive_id(record["id"], "sent")
    assert set(sent.data) == {
        "notification_id",
        "receipt_no",
        "channel",
        "template",
        "template_version",
        "audience",
        "role",
        "cause",
        "cause_type",
        "legal",
        "attempts",
        "fallback_from",
        "occurred_at",
    }


def test_waiting_deferred_and_skipped() -> None:
    record = new_record()
    waiting = domain.waiting(record, ["contact"], NOW, POLICY)
    assert waiting["status"] == domain.PENDING and waiting["waiting"] == ["contact"]
    assert waiting["next_attempt_at"] == domain._iso(NOW + POLICY.waiting_recheck)
    deferred = domain.deferred(record, NOW + timedelta(hours=9), domain.SMS, NOW)
    assert deferred["status"] == domain.DEFERRED and not domain.attemptable(deferred, NOW)
    assert domain.attemptable(deferred, NOW + timedelta(hours=9))
    skipped = domain.skipped(record, "no_consent", NOW)
    assert skipped["status"] == domain.SKIPPED and not domain.attemptable(skipped, NOW)
