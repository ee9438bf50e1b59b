"""Webhook signing (and the documented verifier), backoff, and the delivery states."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from minwon import contracts as c
from minwon import topics
from minwon.docstore import iso
from services.notification.agencies import webhooks as w
from services.notification.agencies.public import project, pseudonym
from tests.unit.agencies.examples import load
from tests.unit.agencies.factories import NOW, ORIGIN, SECRET, receipt_no, received

verifier = load("verify_webhook")
SUB = {"id": "sub-1", "agency": "busan-police"}
POLICY = w.Policy(
    max_attempts=3,
    backoff_base=timedelta(seconds=30),
    backoff_factor=2.0,
    backoff_max=timedelta(minutes=5),
    lease=timedelta(minutes=2),
)


def public_event():
    r = receipt_no()
    _, [(_, event)] = project(None, received(r), complaint_id=pseudonym(r, SECRET), origin=ORIGIN)
    return event


def test_the_signature_is_the_documented_hmac_and_the_example_verifier_accepts_it() -> None:
    body = public_event().to_json()
    header = w.signature("whsec_abc", 1_763_427_600, body)
    mac = hmac.new(b"whsec_abc", b"1763427600." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1763427600,v1={mac}"
    assert verifier.verify(body, header, "whsec_abc", now=1_763_427_600 + 299) == 1_763_427_600


@pytest.mark.parametrize("change", ["body", "secret", "old", "future", "header", "missing"])
def test_the_example_verifier_rejects_tampering_old_timestamps_and_garbage(change: str) -> None:
    body, t = public_event().to_json(), 1_763_427_600
    header, secret, now = w.signature("whsec_abc", t, body), "whsec_abc", t + 10
    if change == "body":
        body = body.replace(b'"other"', b'"petition"')
    elif change == "secret":
        secret = "whsec_abd"
    elif change == "old":
        now = t + 301
    elif change == "future":
        now = t - 301
    elif change == "header":
        header = header.replace("t=", "t=x")
    else:
        header = None
    with pytest.raises(verifier.InvalidSignature):
        verifier.verify(body, header, secret, now=now)


def test_a_second_v1_value_is_accepted_during_a_secret_change() -> None:
    body, t = b'{"id":"x"}', 1_763_427_600
    old, new = w.signature("old", t, body), w.signature("new", t, body)
    both = f"{new},{old.split(',')[1]}"
    assert verifier.verify(body, both, "old", now=t) == t
    assert verifier.verify(body, both, "new", now=t) == t


def test_backoff_grows_exponentially_to_its_cap() -> None:
    assert [w.backoff(n, POLICY) for n in (1, 2, 3, 4, 5)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
        timedelta(minutes=5),
    ]


def test_a_delivery_is_claimed_once_and_records_each_outcome() -> None:
    d = w.new_delivery(id="d1", subscription=SUB, event=public_event(), now=NOW)
    assert d["status"] == w.PENDING and d["next_attempt_at"] == iso(NOW)
    assert w.claim(d, "t1", NOW - timedelta(seconds=1), POLICY) is None  # not yet due
    claimed = w.claim(d, "t1", NOW, POLICY)
    assert claimed and claimed["status"] == w.SENDING and claimed["attempts"] == 1
    assert w.claim(claimed, "t2", NOW, POLICY) is None  # leased to t1
    assert w.finish(claimed, "t2", w.Outcome(True, 204), NOW, POLICY, ORIGIN) == (None, [])  # not t2's
    done, events = w.finish(claimed, "t1", w.Outcome(True, 204), NOW, POLICY, ORIGIN)
    assert done and done["status"] == w.DELIVERED and done["delivered_at"] == iso(NOW) and events == []
    assert done["history"][-1]["status_code"] == 204
    # a stale "sending" record (its sender crashed) is due again once the lease has run out
    assert w.claim(claimed, "t3", NOW + POLICY.lease, POLICY) is not None


def test_failures_are_retried_with_backoff_then_dead_lettered() -> None:
    event = public_event()
    d = w.new_delivery(id="d2", subscription=SUB, event=event, now=NOW)
    now = NOW
    for attempt in (1, 2):
        d = w.claim(d, f"t{attempt}", now, POLICY)
        d, events = w.finish(d, f"t{attempt}", w.Outcome(False, error="connect_error"), now, POLICY, ORIGIN)
        assert d["status"] == w.FAILED and events == []
        assert d["next_attempt_at"] == iso(now + w.backoff(attempt, POLICY))
        now += w.backoff(attempt, POLICY)
    d = w.claim(d, "t3", now, POLICY)
    d, [(topic, letter)] = w.finish(d, "t3", w.Outcome(False, 503, "http_503"), now, POLICY, ORIGIN)
    assert d["status"] == w.DEAD and d["attempts"] == 3 and d["next_attempt_at"] is None
    assert topic == topics.DEADLETTER and letter.type == c.SUBSCRIPTION_DELIVERY_DEAD
    assert letter.data["event_id"] == event.id and letter.data["delivery_id"] == "d2"
    assert letter.subject == event.subject and letter.data["error"] == "http_503"
    assert [h["attempt"] for h in d["history"]] == [1, 2, 3]


def test_only_undelivered_records_are_superseded_or_cancelled() -> None:
    d = w.new_delivery(id="d3", subscription=SUB, event=public_event(), now=NOW)
    assert w.supersede(d, "r1", NOW)["status"] == w.SUPERSEDED
    assert w.cancel(d, NOW)["status"] == w.CANCELLED
    delivered = {**d, "status": w.DELIVERED}
    assert w.supersede(delivered, "r1", NOW) is None and w.cancel(delivered, NOW) is None


def test_replayed_deliveries_are_flagged_in_their_headers() -> None:
    event = public_event()
    original = w.new_delivery(id="o", subscription=SUB, event=event, now=NOW)
    replayed = w.new_delivery(id="r", subscription=SUB, event=event, now=NOW, replay_id="x")
    body = event.to_json()
    h1, h2 = w.headers(original, "s", body, 1), w.headers(replayed, "s", body, 1)
    assert w.REPLAY_HEADER not in h1 and h2[w.REPLAY_HEADER] == "true"
    assert h1[w.EVENT_ID_HEADER] == h2[w.EVENT_ID_HEADER] == event.id
    assert h1["Content-Type"] == "application/cloudevents+json"
    view = w.delivery_view({**replayed, "_v": 3})
    assert "event" not in view and "_v" not in view and view["replay"] is True
