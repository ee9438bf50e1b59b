"""The public complaint stream for other agencies: its contract, the rules that project the
internal lifecycle onto it, and the projector that publishes it.

``minwon.public.complaints.v1`` carries CloudEvents (structured JSON) of six types
(``kr.minwon.public.complaint.<received|routed|assigned|extended|closed|breached>.v1``) whose
``data`` is one of the models below and nothing else (``extra="forbid"``):

- the complaint is named by a **pseudonymous id** (HMAC-SHA256 of the receipt number under
  ``MINWON_NOTIFICATION_PUBLIC_ID_SECRET``, 32 hex digits), never by its receipt number: receipt
  numbers are sequential and, with the check code, open the citizen's own view;
- no personal data, no free text, no complainant reference, no priority flag (it reveals age,
  disability or pregnancy), no handler names (see docs/public-events.md, "What is not in it");
- a complaint filed by a whistleblower (``confidential``) is not published at all.

Routing and deadline events can overtake the complaint's own (topics are not ordered among
themselves). Nothing is published for a complaint until an intake event says whether it is
confidential; what came earlier is held in the projection's state and published then, in order.

Ids are deterministic, ``derive_id(source event id, "public")``: a replayed or redelivered source
event gives the same public id, so an agency can drop duplicates by ``id``.

The AsyncAPI document (``docs/asyncapi.yaml``) and the JSON Schemas (``docs/schemas/``) are
generated from these models (``python -m services.notification.agencies.public docs``); a test fails when
the committed files and the code differ.

Glossary: complaint / 민원; pseudonymous id / 가명 식별자; whistleblower / 공익신고자.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from prometheus_client import Counter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minwon import contracts as c
from minwon import topics
from minwon.events import Event, derive_id
from minwon.outbox import Aggregates

log = logging.getLogger("minwon.notification")

PUBLISHED = Counter(
    "minwon_notification_public_events_total",
    "Public complaint events decided for minwon.public.complaints.v1 (docs/metrics.md)",
    ["type"],
)

# ------------------------------------------------------------------ settings


class PublicSettings(BaseSettings):
    """Settings of the public stream and the agency subscriptions (env prefix ``MINWON_NOTIFICATION_``)."""

    model_config = SettingsConfigDict(env_prefix="MINWON_NOTIFICATION_", extra="ignore")

    public_id_secret: str = "minwon-development-public-id-secret"
    """Keys the pseudonymous complaint ids. Changing it changes every id: that is a new major version (v2)."""
    webhook_allow_http_loopback: bool = False
    """Tests and local development only: accept ``http://127.0.0.1``/``localhost`` webhook URLs."""
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_max_attempts: int = Field(8, ge=1)
    webhook_backoff_base_seconds: float = Field(30.0, gt=0)
    webhook_backoff_factor: float = Field(2.0, ge=1)
    webhook_backoff_max_seconds: float = Field(3600.0, gt=0)
    webhook_lease_seconds: float = Field(120.0, gt=0)
    """A delivery left "sending" this long (its sender crashed) is tried again."""
    webhook_interval_seconds: float = Field(1.0, gt=0)
    webhook_batch_size: int = Field(100, ge=1)
    replay_max_events: int = Field(100_000, ge=1)
    """The most events one replay request re-delivers (ask again from a later time for more)."""


# ------------------------------------------------------------------ the contract

KINDS = (
    "statutory",
    "inquiry_law",
    "inquiry_system",
    "suggestion",
    "other",
    "grievance",
    "petition",
    "service_complaint",
)
CHANNELS = ("online", "visit", "phone", "mail", "fax", "sns", "oral")
OUTCOMES = ("accepted", "partly_accepted", "rejected")

Kind = Literal[
    "statutory", "inquiry_law", "inquiry_system", "suggestion", "other", "grievance", "petition", "service_complaint"
]
Channel = Literal["online", "visit", "phone", "mail", "fax", "sns", "oral"]
Outcome = Literal["accepted", "partly_accepted", "rejected"]

PSEUDONYM = r"^[0-9a-f]{32}$"
LABEL_MAX = 50
VERSION = "1.0.0"
"""The contract's version: the major is the ``v1`` in the topic and type names; minors are additive."""


class ComplaintFacts(BaseModel):
    """What every public complaint event carries."""

    model_config = ConfigDict(extra="forbid")

    complaint_id: str = Field(
        pattern=PSEUDONYM,
        description=(
            "Pseudonymous complaint id: stable for one complaint across all its events; not the receipt number "
            "and not derivable from it without the deployment's secret."
        ),
    )
    kind: Kind = Field(description="Kind of complaint (민원 종류).")
    category: str | None = Field(
        None,
        max_length=LABEL_MAX,
        description=("Category code chosen at filing; null when it looked like contact details."),
    )
    district: str | None = Field(None, max_length=LABEL_MAX, description="District (구·군) of the complaint.")
    channel: Channel | None = Field(None, description="How the complaint arrived.")
    department: str | None = Field(
        None, max_length=LABEL_MAX, description=("Code of the department handling it, once routed.")
    )
    received_at: AwareDatetime | None = Field(None, description="When it was received (접수).")
    due_at: AwareDatetime | None = Field(
        None,
        description=(
            "The legal due time as known when this event was published (null until the deadline service set it). "
            "After an extension the new due time appears on the complaint's next event."
        ),
    )
    occurred_at: AwareDatetime = Field(description="When the step this event announces happened.")


class ComplaintReceived(ComplaintFacts):
    """A complaint was received (접수)."""


class ComplaintRouted(ComplaintFacts):
    """The complaint was given its handling department."""

    department: str = Field(max_length=LABEL_MAX, description="Code of the handling department.")


class ComplaintAssigned(ComplaintFacts):
    """A handler of the department took the complaint (the handler is not named here)."""

    department: str = Field(max_length=LABEL_MAX, description="Code of the handling department.")
    reassigned: bool = Field(False, description="True when the complaint moved to another handler or department.")


class ComplaintExtended(ComplaintFacts):
    """The processing period was extended (연장), with notice to the citizen."""

    extension_no: int = Field(ge=1, description="1 for the first extension, 2 for a second (citizen's consent).")
    period: str | None = Field(
        None,
        pattern=r"^([0-9]{1,4}[hdwmy]|immediate)$",
        description="The extension's length, e.g. 7d; null for the original period.",
    )


class ComplaintClosed(ComplaintFacts):
    """The complaint was answered and closed (처리완료)."""

    outcome: Outcome = Field(description="accepted, partly_accepted or rejected.")
    on_time: bool | None = Field(None, description="Closed by its due time; null when no due time was known.")


class ComplaintBreached(ComplaintFacts):
    """The legal processing period ran out before the complaint was closed."""

    due_at: AwareDatetime = Field(description="The due time that was missed.")
    breached_at: AwareDatetime = Field(description="When the period ran out.")
    had_extension: bool = Field(description="The period had been extended.")
    had_supplementation: bool = Field(description="The clock had been paused for a supplementation (보완).")


class ComplaintTransferred(ComplaintFacts):
    """The complaint was transferred (이송) to the agency competent for it; this deployment's clock stops.
    The receiving agency is named by its code; the reason (free text) is never on this stream."""

    agency: str | None = Field(
        max_length=LABEL_MAX, description="Code of the receiving agency (null if it is not a short code-like label)."
    )


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 envelope (structured JSON mode) of every public event."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Unique per event and stable across replays: drop a repeated id.")
    source: str = Field(description="URI of the publishing deployment, e.g. https://minwon.example.go.kr/public.")
    specversion: Literal["1.0"] = "1.0"
    type: str
    time: AwareDatetime = Field(description="When the step happened (the source event's time).")
    subject: str = Field(pattern=PSEUDONYM, description="The pseudonymous complaint id (also the Kafka key).")
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = Field(None, description="W3C trace context (CloudEvents distributed tracing).")


class ReceivedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.received.v1"]
    data: ComplaintReceived


class RoutedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.routed.v1"]
    data: ComplaintRouted


class AssignedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.assigned.v1"]
    data: ComplaintAssigned


class ExtendedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.extended.v1"]
    data: ComplaintExtended


class ClosedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.closed.v1"]
    data: ComplaintClosed


class BreachedEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.breached.v1"]
    data: ComplaintBreached


class TransferredEvent(CloudEvent):
    type: Literal["kr.minwon.public.complaint.transferred.v1"]
    data: ComplaintTransferred


EVENTS: dict[str, type[CloudEvent]] = {
    c.PUBLIC_COMPLAINT_RECEIVED: ReceivedEvent,
    c.PUBLIC_COMPLAINT_ROUTED: RoutedEvent,
    c.PUBLIC_COMPLAINT_ASSIGNED: AssignedEvent,
    c.PUBLIC_COMPLAINT_EXTENDED: ExtendedEvent,
    c.PUBLIC_COMPLAINT_CLOSED: ClosedEvent,
    c.PUBLIC_COMPLAINT_BREACHED: BreachedEvent,
    c.PUBLIC_COMPLAINT_TRANSFERRED: TransferredEvent,
}
DATA: dict[str, type[ComplaintFacts]] = {
    t: cast(type[ComplaintFacts], m.model_fields["data"].annotation) for t, m in EVENTS.items()
}
for _type, _model in DATA.items():  # checked like every internal type before it is published
    c.register(_type, topics.PUBLIC)(_model)
SHORT = {t: t.split(".")[-2] for t in EVENTS}  # received, routed, ...


ShortType = Literal["received", "routed", "assigned", "extended", "closed", "breached", "transferred"]


class Filter(BaseModel):
    """What a subscriber receives: every list empty means everything; values within a list are alternatives."""

    model_config = ConfigDict(extra="forbid")

    types: list[ShortType] = Field(
        default_factory=list, max_length=7, description="Event types by short name: received, routed, ..."
    )
    kinds: list[Kind] = Field(default_factory=list, max_length=len(KINDS))
    categories: list[str] = Field(default_factory=list, max_length=200)
    districts: list[str] = Field(default_factory=list, max_length=200)

    def matches(self, event: Event) -> bool:
        data = event.data
        return (
            event.type in EVENTS
            and (not self.types or SHORT[event.type] in self.types)
            and (not self.kinds or data.get("kind") in self.kinds)
            and (not self.categories or data.get("category") in self.categories)
            and (not self.districts or data.get("district") in self.districts)
        )


def validate(event: Event | Mapping[str, Any]) -> CloudEvent:
    """Check a public event against its contract (raises ``ValueError`` naming what is wrong)."""
    doc = event.to_doc() if isinstance(event, Event) else dict(event)
    model = EVENTS.get(str(doc.get("type")))
    if model is None:
        raise ValueError(f"not a public event type: {doc.get('type')!r}")
    return model.model_validate(doc)


# ------------------------------------------------------------------ the projection (pure)

SOURCES = frozenset(
    {
        c.COMPLAINT_RECEIVED,
        c.COMPLAINT_EXTENDED,
        c.COMPLAINT_CLOSED,
        c.COMPLAINT_TRANSFERRED,
        c.COMPLAINT_ROUTED,
        c.COMPLAINT_ASSIGNED,
        c.COMPLAINT_REASSIGNED,
        c.DEADLINE_SET,
        c.DEADLINE_UPDATED,
        c.DEADLINE_BREACHED,
    }
)
"""The internal events the projection reads; every other event is ignored without a write."""

_INTAKE = frozenset({c.COMPLAINT_RECEIVED, c.COMPLAINT_EXTENDED, c.COMPLAINT_CLOSED, c.COMPLAINT_TRANSFERRED})
_PUBLISHED = {
    c.COMPLAINT_RECEIVED: c.PUBLIC_COMPLAINT_RECEIVED,
    c.COMPLAINT_ROUTED: c.PUBLIC_COMPLAINT_ROUTED,
    c.COMPLAINT_ASSIGNED: c.PUBLIC_COMPLAINT_ASSIGNED,
    c.COMPLAINT_REASSIGNED: c.PUBLIC_COMPLAINT_ASSIGNED,
    c.COMPLAINT_EXTENDED: c.PUBLIC_COMPLAINT_EXTENDED,
    c.COMPLAINT_CLOSED: c.PUBLIC_COMPLAINT_CLOSED,
    c.DEADLINE_BREACHED: c.PUBLIC_COMPLAINT_BREACHED,
    c.COMPLAINT_TRANSFERRED: c.PUBLIC_COMPLAINT_TRANSFERRED,
}
_CONTACT_LIKE = re.compile(r"@|[0-9]{4,}|[0-9]+[-. )][0-9]+[-. ][0-9]+|https?:|www\.", re.IGNORECASE)
_PERIOD = re.compile(r"^([0-9]{1,4}[hdwmy]|immediate)$")


def pseudonym(receipt_no: str, secret: bytes) -> str:
    """The public id of a complaint: HMAC-SHA256(secret, receipt number), 32 hex digits (128 bits)."""
    return hmac.new(secret, receipt_no.encode(), hashlib.sha256).hexdigest()[:32]


def public_id(source_event_id: str) -> str:
    return derive_id(source_event_id, "public")


def label(value: Any) -> str | None:
    """A category, district or department code as published: null when it is not a short code-like
    label (too long, or looks like a phone number, an e-mail address or a link)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > LABEL_MAX or _CONTACT_LIKE.search(text):
        return None
    return text


def _enum(value: Any, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


def _note_facts(state: dict[str, Any], data: Mapping[str, Any]) -> None:
    """Keep what the public events may say about the complaint (code-like labels only)."""
    facts = state.setdefault("facts", {})
    for key in ("kind", "channel", "received_at"):
        if data.get(key) is not None:
            facts[key] = data[key]
    for key in ("category", "district"):
        if key in data:
            facts[key] = label(data.get(key))


def _base(state: Mapping[str, Any], occurred_at: str) -> dict[str, Any]:
    facts = state.get("facts", {})
    return {
        "complaint_id": state["complaint_id"],
        "kind": facts.get("kind"),
        "category": facts.get("category"),
        "district": facts.get("district"),
        "channel": _enum(facts.get("channel"), CHANNELS),
        "department": state.get("department"),
        "received_at": facts.get("received_at"),
        "due_at": state.get("due_at"),
        "occurred_at": occurred_at,
    }


def _data(type: str, state: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """The public data of a held or current source event, from the state and the event's own facts."""
    d = source["data"]
    out = _base(state, d.get("occurred_at") or source["time"])
    if type in (c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED):
        out["department"] = label(d.get("department"))
        if type != c.COMPLAINT_ROUTED:
            out["reassigned"] = type == c.COMPLAINT_REASSIGNED
    elif type == c.COMPLAINT_EXTENDED:
        period = d.get("period")
        out.update(
            extension_no=int(d.get("extension_no") or 1),
            period=period if isinstance(period, str) and _PERIOD.match(period) else None,
        )
    elif type == c.COMPLAINT_CLOSED:
        due = state.get("due_at")
        on_time = None if not due else datetime.fromisoformat(out["occurred_at"]) <= datetime.fromisoformat(due)
        out.update(outcome=d.get("outcome"), on_time=on_time)
    elif type == c.COMPLAINT_TRANSFERRED:
        out["agency"] = label(d.get("agency"))
    elif type == c.DEADLINE_BREACHED:
        out.update(
            due_at=d.get("due_at") or state.get("due_at"),
            breached_at=d.get("breached_at") or source["time"],
            had_extension=bool(d.get("had_extension")),
            had_supplementation=bool(d.get("had_supplementation")),
        )
    return out


def to_public(state: Mapping[str, Any], source: Mapping[str, Any], *, origin: str) -> Event:
    """The public event of one source event (given as its document), checked against the contract."""
    type = _PUBLISHED[source["type"]]
    data = DATA[type].model_validate(_data(source["type"], state, source)).model_dump(mode="json")
    return Event.new(
        type,
        id=public_id(source["id"]),
        source=origin,
        subject=state["complaint_id"],
        time=datetime.fromisoformat(source["time"]),
        data=data,
    )


def project(
    state: dict[str, Any] | None, event: Event, *, complaint_id: str, origin: str
) -> tuple[dict[str, Any] | None, list[tuple[str, Event]]]:
    """Note what ``event`` says about the complaint and decide the public events it releases.

    Returns ``(new state or None for "no change", [(topic, event)])``. Nothing is published before
    an intake event has told whether the complaint is confidential; what came before is held and
    released, in arrival order, with that intake event. A confidential complaint publishes nothing.
    """
    if event.type not in SOURCES:
        return None, []
    new: dict[str, Any] = (
        json.loads(json.dumps(state))
        if state
        else {"complaint_id": complaint_id, "known": False, "confidential": False, "held": [], "facts": {}}
    )
    data = event.data
    if event.type in _INTAKE:
        new["known"] = True
        new["confidential"] = bool(new.get("confidential") or data.get("confidential"))  # once confidential, always
        _note_facts(new, data)
    elif event.type == c.COMPLAINT_ROUTED:
        _note_facts(new, data)
    elif event.type in (c.DEADLINE_SET, c.DEADLINE_UPDATED):
        if "due_at" in data:
            new["due_at"] = data.get("due_at")
        return new, []
    if event.type in (c.COMPLAINT_ROUTED, c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED):
        new["department"] = label(data.get("department")) or new.get("department")
    if not new.get("facts", {}).get("kind") and data.get("kind"):
        new.setdefault("facts", {})["kind"] = data["kind"]

    doc = event.to_doc()
    if not new["known"]:
        new["held"] = [*new.get("held", []), _held(doc)]
        return new, []
    if new["confidential"]:
        new["held"] = []
        return new, []
    out: list[tuple[str, Event]] = []
    for held in new.get("held", []):
        out.append((topics.PUBLIC, to_public(new, held, origin=origin)))
    new["held"] = []
    out.append((topics.PUBLIC, to_public(new, doc, origin=origin)))
    return new, out


def _held(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a held event keeps: its id, type, time and the few fields the projection reads."""
    keep = (
        "department",
        "occurred_at",
        "period",
        "extension_no",
        "outcome",
        "due_at",
        "breached_at",
        "had_extension",
        "had_supplementation",
        "agency",
    )
    return {
        "id": doc["id"],
        "type": doc["type"],
        "time": doc["time"],
        "data": {k: doc["data"][k] for k in keep if k in doc["data"]},
    }


# ------------------------------------------------------------------ the projector (handler)


class Projector:
    """Consumes the lifecycle topics and publishes the public stream (outbox, one write per event)."""

    def __init__(self, states: Aggregates, *, secret: bytes, origin: str) -> None:
        self.states = states
        self.secret = secret
        self.origin = origin

    @functools.cached_property
    def table(self) -> c.Table:
        """Every source type of the public stream -> :meth:`on_source` (the subscription is derived from it)."""
        return c.Table(dict.fromkeys(SOURCES, self.on_source))

    async def on_event(self, event: Event) -> None:
        await self.table(event)

    async def on_source(self, event: Event, data: BaseModel) -> None:
        complaint_id = pseudonym(event.subject, self.secret)
        applied = await self.states.apply(
            event.subject,
            lambda s: project(s, event, complaint_id=complaint_id, origin=self.origin),
            cause=event.id,
            creating=c.starts(event),
        )
        for published in applied.events:
            PUBLISHED.labels(type=SHORT[published.type]).inc()
        if applied.events:
            log.info(
                "public events published",
                extra={"event_id": event.id, "complaint_id": complaint_id, "count": len(applied.events)},
            )


# ------------------------------------------------------------------ the documents (AsyncAPI, JSON Schema)

DOC_SERVER = "kafka.minwon.example.go.kr:9093"
"""The server named in the published AsyncAPI document: each deployment tells agencies its real address."""


def asyncapi() -> Any:
    """The AsyncAPI 3.0 specification of the public topic, from a documentation-only FastStream broker
    (nothing connects: the broker is never started)."""
    from faststream.kafka import KafkaBroker
    from faststream.security import SASLScram512
    from faststream.specification import AsyncAPI

    broker = KafkaBroker(
        DOC_SERVER,
        security=SASLScram512(username="agency-<code>", password="<password>", use_ssl=True),
        description="Per-agency SCRAM-SHA-512 credentials over TLS; read-only on minwon.public.complaints.v1 "
        'with consumer groups agency-<code>.* (docs/public-events.md, "Kafka").',
        specification_url=DOC_SERVER,
    )
    for type, model in EVENTS.items():
        broker.publisher(
            topics.PUBLIC,
            schema=model,
            title=type,
            description=(DATA[type].__doc__ or "").strip() + " Key: the pseudonymous complaint id. "
            "Content type: application/cloudevents+json.",
        )
    return AsyncAPI(
        broker,
        title="minwon public complaint events",
        version=VERSION,
        description=(
            "Complaint lifecycle events for other agencies: CloudEvents 1.0 in structured JSON mode on "
            "Kafka topic minwon.public.complaints.v1, also delivered to subscribed webhooks "
            "(POST /api/v1/subscriptions). No personal data, no free text. Versioning: additive within "
            "v1; a breaking change is published as v2 beside v1 (docs/public-events.md)."
        ),
        schema_version="3.0.0",
    ).to_specification()


def asyncapi_json() -> dict[str, Any]:
    """The specification as JSON data, its maps in a stable order (lifecycle order, then by name)."""
    return json.loads(_asyncapi_text())


@functools.cache
def _asyncapi_text() -> str:
    spec = json.loads(asyncapi().to_json())
    order = {type: n for n, type in enumerate(EVENTS)}

    def rank(key: str) -> tuple[int, str]:
        return order.get(key.split(":")[0], len(order)), key

    for path in (("channels",), ("operations",), ("components", "messages"), ("components", "schemas")):
        parent = spec
        for key in path[:-1]:
            parent = parent.get(key, {})
        if path[-1] in parent:
            parent[path[-1]] = {k: parent[path[-1]][k] for k in sorted(parent[path[-1]], key=rank)}
    spec["servers"] = {"agencies": spec["servers"].pop("development")}
    return json.dumps(spec, ensure_ascii=False).replace("#/servers/development", "#/servers/agencies")


def asyncapi_yaml() -> str:
    import yaml

    return yaml.safe_dump(asyncapi_json(), sort_keys=False, allow_unicode=True, width=110)


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per public event type, keyed by file name."""
    out = {}
    for type, model in EVENTS.items():
        schema = model.model_json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{type}.json", **schema}
        out[f"{type}.json"] = schema
    return out


def write_docs(docs: Path) -> list[Path]:
    """(Re)generate docs/asyncapi.yaml and docs/schemas/*.json."""
    written = [docs / "asyncapi.yaml"]
    written[0].write_text(asyncapi_yaml(), encoding="utf-8")
    (docs / "schemas").mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        path = docs / "schemas" / name
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m services.notification.agencies.public docs
    for path in write_docs(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
