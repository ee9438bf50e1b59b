"""Webhook deliveries of the public stream to agencies: signed, retried, dead-lettered, replayable.

- **Fan-out** (consumer group ``minwon-notification-webhooks`` on ``minwon.public.complaints.v1``):
  for every active webhook subscription whose filter matches, one delivery record with the id
  ``derive_id(event id, subscription id)``; ``create`` refuses a second one for a redelivered event.
- **The delivery loop** sends what is due: a record is claimed (compare-and-set to ``sending`` with a
  lease, so one replica sends it), POSTed, and its outcome written; a failure is retried after an
  exponential backoff (``next_attempt_at``) and, after the last attempt, the record is ``dead`` and a
  ``kr.minwon.subscription.delivery_dead.v1`` goes to ``minwon.deadletter.v1`` in the same write.
- **Replay** reads the public topic back from a time (``bus.read(since=...)``), applies the filter and
  creates new records carrying the **original** events (same ids) flagged ``X-Minwon-Replay: true``.
  Original records of those events not yet delivered are superseded, so each event then has at most
  one unflagged copy and the agency drops repeats by the CloudEvents ``id``.

Each POST carries the CloudEvent as ``application/cloudevents+json`` and the headers
``X-Minwon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``,
``X-Minwon-Delivery`` (the record id), ``X-Minwon-Event-Id`` and, on a replay, ``X-Minwon-Replay: true``.
A 2xx answer is a delivery; anything else, a timeout or a refused connection is a failed attempt.
Deliveries are at least once and not ordered across retries: order by the event's ``time``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from prometheus_client import Counter
from pydantic import BaseModel

from minwon import contracts as c
from minwon import topics
from minwon.bus import Bus
from minwon.crypto import Sealer
from minwon.docstore import Collection, DocumentStore, iso
from minwon.events import Event, derive_id
from minwon.outbox import Aggregates, Decide, public
from minwon.refreshed import Refreshed
from minwon.timers import TimeIndex, due_ids
from services.notification.agencies.public import EVENTS, Filter

log = logging.getLogger("minwon.notification")

DELIVERIES = Counter(
    "minwon_notification_webhook_deliveries_total",
    "Webhook delivery attempts to agencies, per outcome (delivered, failed, dead)",
    ["outcome"],
)

SIGNATURE_HEADER = "X-Minwon-Signature"
REPLAY_HEADER = "X-Minwon-Replay"
DELIVERY_HEADER = "X-Minwon-Delivery"
EVENT_ID_HEADER = "X-Minwon-Event-Id"
CONTENT_TYPE = "application/cloudevents+json"

# delivery status
PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"  # retried at next_attempt_at
DEAD = "dead"  # attempts exhausted
SUPERSEDED = "superseded"  # a replay took it over before it was delivered
CANCELLED = "cancelled"  # the subscription was deleted before it was delivered
STATUSES = (PENDING, SENDING, DELIVERED, FAILED, DEAD, SUPERSEDED, CANCELLED)
DUE = (PENDING, FAILED, SENDING)
UNDELIVERED = (PENDING, FAILED)
HISTORY = 10


# ------------------------------------------------------------------ signing


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# ------------------------------------------------------------------ delivery states (pure)


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_factor: float = 2.0
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def backoff(attempts: int, policy: Policy) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base × factor^(attempts-1), capped."""
    seconds = policy.backoff_base.total_seconds() * policy.backoff_factor ** max(0, attempts - 1)
    return min(timedelta(seconds=seconds), policy.backoff_max)


def new_delivery(
    *, id: str, subscription: Mapping[str, Any], event: Event, now: datetime, replay_id: str | None = None
) -> dict[str, Any]:
    return {
        "_id": id,
        "id": id,
        "subscription_id": subscription["id"],
        "agency": subscription["agency"],
        "event_id": event.id,
        "event_type": event.type,
        "event_time": iso(event.time),
        "subject": event.subject,
        "event": event.to_doc(),
        "replay": replay_id is not None,
        "replay_id": replay_id,
        "status": PENDING,
        "attempts": 0,
        "created_at": iso(now),
        "next_attempt_at": iso(now),
        "delivered_at": None,
        "last_error": None,
        "last_status_code": None,
        "history": [],
    }


def is_due(d: Mapping[str, Any], now: datetime) -> bool:
    return d["status"] in DUE and (d.get("next_attempt_at") or "") <= iso(now)


def claim(d: Mapping[str, Any], token: str, now: datetime, policy: Policy) -> dict[str, Any] | None:
    """Take a due record for one attempt (None: not due, nothing to write)."""
    if not is_due(d, now):
        return None
    return {
        **d,
        "status": SENDING,
        "claim": token,
        "attempts": d["attempts"] + 1,
        "next_attempt_at": iso(now + policy.lease),
    }


def _tried(d: Mapping[str, Any], outcome: Outcome, now: datetime) -> dict[str, Any]:
    entry = {"at": iso(now), "attempt": d["attempts"], "status_code": outcome.status_code, "error": outcome.error}
    return {
        **d,
        "claim": None,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
        "history": [*d.get("history", []), entry][-HISTORY:],
    }


def finish(
    d: Mapping[str, Any], token: str, outcome: Outcome, now: datetime, policy: Policy, origin: str
) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
    """Record an attempt: delivered, retried later, or dead (with its dead letter)."""
    if d["status"] != SENDING or d.get("claim") != token:
        return None, []  # the lease ran out and another sender took it
    new = _tried(d, outcome, now)
    if outcome.ok:
        return {**new, "status": DELIVERED, "delivered_at": iso(now), "next_attempt_at": None}, []
    if d["attempts"] < policy.max_attempts:
        return {**new, "status": FAILED, "next_attempt_at": iso(now + backoff(d["attempts"], policy))}, []
    letter = Event.new(
        c.SUBSCRIPTION_DELIVERY_DEAD,
        id=derive_id(d["id"], "dead"),
        source=origin,
        subject=d["subject"],
        time=now,
        data={
            "delivery_id": d["id"],
            "subscription_id": d["subscription_id"],
            "agency": d["agency"],
            "event_id": d["event_id"],
            "event_type": d["event_type"],
            "replay": d["replay"],
            "attempts": d["attempts"],
            "error": outcome.error,
            "status_code": outcome.status_code,
            "occurred_at": now.isoformat(),
        },
    )
    return {**new, "status": DEAD, "next_attempt_at": None}, [(topics.DEADLETTER, letter)]


def supersede(d: Mapping[str, Any], by: str, now: datetime) -> dict[str, Any] | None:
    if d["status"] not in UNDELIVERED:
        return None
    return {**d, "status": SUPERSEDED, "superseded_by": by, "next_attempt_at": None, "closed_at": iso(now)}


def superseding(by: str, now: datetime) -> Decide:
    """The decision that marks a still-undelivered record as superseded by ``by``."""
    return lambda d: (supersede(d, by, now) if d else None, [])


def cancel(d: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    if d["status"] not in DUE:
        return None
    return {**d, "status": CANCELLED, "claim": None, "next_attempt_at": None, "closed_at": iso(now)}


def delivery_view(d: Mapping[str, Any]) -> dict[str, Any]:
    out = public(dict(d)) or {}
    for key in ("event", "claim", "subject"):
        out.pop(key, None)
    return out


def headers(d: Mapping[str, Any], secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    out = {
        "Content-Type": CONTENT_TYPE,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        DELIVERY_HEADER: d["id"],
        EVENT_ID_HEADER: d["event_id"],
        "User-Agent": "minwon-webhooks/1",
    }
    if d.get("replay"):
        out[REPLAY_HEADER] = "true"
    return out


# ------------------------------------------------------------------ the sender (adapter)


class Sender(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome: ...


@dataclass
class HttpSender:
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            ) as client:
                response = await client.post(url, content=body, headers=dict(headers))
        except httpx.TimeoutException:
            return Outcome(False, error="timeout")
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"connect_error_{type(exc).__name__.lower()}")
        if 200 <= response.status_code < 300:
            return Outcome(True, status_code=response.status_code)
        return Outcome(False, status_code=response.status_code, error=f"http_{response.status_code}")


FRESH_HOLD = 10.0
"""Seconds a new delivery waits before it is filed in the wheel (see :func:`delivery_wheel`)."""
FRESH_KEPT = 10_000
"""New deliveries a process proposes to its delivery loop from memory (more are found in the wheel)."""
SUBSCRIPTIONS_TTL = 2.0
"""Seconds the active webhook subscriptions are reused for the events fanned out (one read per event
otherwise). One created or deleted through this replica applies at once, through another within this."""
Active = list[tuple[dict[str, Any], Filter]]
"""The active webhook subscriptions, each with its filter."""


def delivery_wheel(
    store: DocumentStore, clock: Callable[[], datetime], lease_hold: float = 2.0, fresh_hold: float = FRESH_HOLD
) -> TimeIndex:
    """The deliveries' next attempts, filed by minute (``minwon.timers``): the delivery loop reads them by id
    each second instead of querying every delivery (a scan of them all on a server without the index, as
    the deliveries of a city's subscribers grow by the thousand a day). Two times are filed only if still
    there after a hold, since their writer usually clears them sooner: a sender's lease (``lease_hold``),
    and a new delivery's first attempt (``fresh_hold``), which the process that created it proposes to its
    loop from memory. A crash within a hold leaves the delivery to the safety-net query."""

    def hold(d: Mapping[str, Any]) -> float | None:
        if d.get("status") == SENDING:
            return lease_hold
        return fresh_hold if d.get("status") == PENDING and not d.get("attempts") else None

    return TimeIndex(
        store.collection("webhook_delivery_timers", deletes=True),
        ("next_attempt_at",),
        clock=clock,
        shards=16,  # smaller buckets where many subscribe
        hold=hold,
    )


# ------------------------------------------------------------------ handlers


@dataclass
class Webhooks:
    """The fan-out consumer, the delivery loop and replays."""

    subscriptions: Collection
    deliveries: Aggregates
    """The deliveries, their next attempts filed in a timer wheel (:func:`delivery_wheel`)."""
    records: Collection
    sealer: Sealer
    bus: Bus
    sender: Sender
    policy: Policy
    clock: Callable[[], datetime]
    origin: str
    batch_size: int = 100
    replay_max: int = 100_000
    wall: Callable[[], float] = time.time
    """Signs with wall-clock seconds: the receiver compares them with its own clock, whatever ``clock`` says."""
    fresh: deque[str] = field(default_factory=lambda: deque(maxlen=FRESH_KEPT))
    """Deliveries this process created and its loop has not tried yet (filed in the wheel after a hold)."""
    subscriptions_ttl: float = SUBSCRIPTIONS_TTL
    _active: Refreshed[Active] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        async def read() -> Active:
            subs = await self.subscriptions.find({"mode": "webhook", "status": "active"})
            return [(sub, Filter.model_validate(sub.get("filter") or {})) for sub in subs]

        self._active = Refreshed(read)

    def forget_subscriptions(self) -> None:
        """A subscription was created or deleted through this process: the next event reads them."""
        self._active.forget()

    async def setup(self) -> None:
        await self.records.ensure_index("status", "next_attempt_at")
        await self.records.ensure_index("subscription_id", "created_at")
        await self.records.ensure_index("subscription_id", "event_id")

    # -------------------------------------------------------------- fan-out

    @functools.cached_property
    def table(self) -> c.Table:
        """Every public event type -> :meth:`on_public_event` (the subscription is derived from it)."""
        return c.Table(dict.fromkeys(EVENTS, self.on_public_event))

    async def on_public_event(self, event: Event, data: BaseModel) -> None:
        """One delivery per matching webhook subscription (a redelivered event creates none)."""
        now = self.clock()
        for sub, wanted in await self._active.get(self.subscriptions_ttl):
            if not wanted.matches(event):
                continue
            doc = new_delivery(id=derive_id(event.id, sub["id"]), subscription=sub, event=event, now=now)
            if await self.deliveries.create(doc):
                self.fresh.append(doc["_id"])
                log.info(
                    "webhook delivery created",
                    extra={"delivery_id": doc["id"], "event_id": event.id, "subscription_id": sub["id"]},
                )

    # -------------------------------------------------------------- the delivery loop

    async def deliver_due(self) -> int:
        """One pass: every delivery whose time has come (new, retry, or a sender's lease ran out), found in
        the deliveries' timer wheel by id; the query over the deliveries is its safety net."""
        now = self.clock()
        where = {"status": {"$in": list(DUE)}}

        async def scan() -> list[dict[str, Any]]:
            return await self.records.find(
                {**where, "next_attempt_at": {"$lte": iso(now)}},
                sort=[("next_attempt_at", 1), ("event_time", 1)],
                limit=self.batch_size,
            )

        (wheel,) = self.deliveries.timers
        fresh = [self.fresh.popleft() for _ in range(min(len(self.fresh), self.batch_size))]
        due = await due_ids(
            wheel, self.records, now=now, limit=self.batch_size, time_field="next_attempt_at", where=where, scan=scan
        )
        due = list(dict.fromkeys([*fresh, *due]))
        for id in due:
            try:
                await self.attempt(id)
            except Exception as exc:  # noqa: BLE001 - the record stays due; the next pass tries again
                log.warning("webhook attempt failed", extra={"delivery_id": id, "error": type(exc).__name__})
        return len(due)

    async def attempt(self, id: str) -> dict[str, Any] | None:
        now = self.clock()
        token = uuid.uuid4().hex
        applied = await self.deliveries.apply(id, lambda d: (claim(d, token, now, self.policy) if d else None, []))
        d = applied.state
        if d is None or d.get("claim") != token:
            return d
        sub = await self.subscriptions.get(d["subscription_id"])
        if sub is None or sub.get("status") != "active":
            return (await self.deliveries.apply(id, lambda x: (cancel(x, self.clock()) if x else None, []))).state
        secret = self.sealer.open(sub["secret_sealed"], context=sub["id"])
        body = Event.model_validate(d["event"]).to_json()
        outcome = await self.sender.post(sub["url"], body, headers(d, secret, body, int(self.wall())))
        done = self.clock()
        applied = await self.deliveries.apply(
            id, lambda x: finish(x, token, outcome, done, self.policy, self.origin) if x else (None, [])
        )
        state = applied.state or {}
        DELIVERIES.labels(outcome=state.get("status") if state.get("status") in (DELIVERED, DEAD) else "failed").inc()
        log.info(
            "webhook attempt",
            extra={
                "delivery_id": id,
                "subscription_id": d["subscription_id"],
                "status": state.get("status"),
                "attempt": d["attempts"],
                "status_code": outcome.status_code,
                "error": outcome.error,
            },
        )
        return state

    # -------------------------------------------------------------- replay

    async def replay(self, sub: Mapping[str, Any], since: datetime) -> dict[str, Any]:
        """Re-deliver every matching public event from ``since`` with its original id, flagged as a replay."""
        now = self.clock()
        replay_id = uuid.uuid4().hex
        want = Filter.model_validate(sub.get("filter") or {})
        open_by_event: dict[str, list[str]] = {}
        for doc in await self.records.find({"subscription_id": sub["id"], "status": {"$in": list(UNDELIVERED)}}):
            open_by_event.setdefault(doc["event_id"], []).append(doc["_id"])
        count, superseded, truncated, last = 0, 0, False, None
        async for _, event in self.bus.read([topics.PUBLIC], since=since):
            if not want.matches(event):
                continue
            if count >= self.replay_max:
                truncated = True
                break
            replay_delivery = derive_id(event.id, sub["id"], "replay", replay_id)
            # not filed one by one in the wheel: the loop's safety-net query takes them up, a page a pass
            if await self.records.create(
                new_delivery(id=replay_delivery, subscription=sub, event=event, now=now, replay_id=replay_id)
            ):
                count += 1
                last = event.time
            for older in open_by_event.pop(event.id, []):
                applied = await self.deliveries.apply(older, superseding(replay_delivery, now))
                if (applied.state or {}).get("superseded_by") == replay_delivery:
                    superseded += 1
        for wheel in self.deliveries.timers:
            wheel.rescan_soon()
        log.info(
            "webhook replay",
            extra={
                "subscription_id": sub["id"],
                "replay_id": replay_id,
                "count": count,
                "superseded": superseded,
                "truncated": truncated,
            },
        )
        return {
            "replay_id": replay_id,
            "from": since.isoformat(),
            "count": count,
            "superseded": superseded,
            "truncated": truncated,
            "last_event_time": last.isoformat() if last else None,
        }

    # -------------------------------------------------------------- queries and housekeeping

    async def list(
        self, *, subscription_id: str, status: str | None, limit: int, replay: bool | None = None
    ) -> list[dict[str, Any]]:
        where: dict[str, Any] = {"subscription_id": subscription_id}
        if status:
            where["status"] = status
        if replay is not None:
            where["replay"] = replay
        docs = await self.records.find(where, sort=[("created_at", -1), ("_id", 1)], limit=limit)
        return [delivery_view(d) for d in docs]

    async def cancel_open(self, subscription_id: str) -> int:
        now, n = self.clock(), 0
        for doc in await self.records.find({"subscription_id": subscription_id, "status": {"$in": list(DUE)}}):
            applied = await self.deliveries.apply(doc["_id"], lambda d: (cancel(d, now) if d else None, []))
            n += (applied.state or {}).get("status") == CANCELLED
        return n


def policy(max_attempts: int, base_seconds: float, factor: float, max_seconds: float, lease_seconds: float) -> Policy:
    return Policy(
        max_attempts=max_attempts,
        backoff_base=timedelta(seconds=base_seconds),
        backoff_factor=factor,
        backoff_max=timedelta(seconds=max_seconds),
        lease=timedelta(seconds=lease_seconds),
    )
