"""Event types every service may publish or consume (``kr.minwon.<domain>.<event>.v1``).

The data of every event on a shared topic is free of personal data: a
pseudonymous complainant reference, codes, times and ids only. Titles, bodies,
names and contacts travel only sealed, on the restricted topic
``minwon.private.complaints.v1`` (docs/privacy.md).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date as Day
from typing import Any, ClassVar, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from minwon import topics
from minwon.events import Event, event_type

# intake -> minwon.complaints.v1
COMPLAINT_RECEIVED = event_type("complaint", "received")
COMPLAINT_ACKNOWLEDGED = event_type("complaint", "acknowledged")
COMPLAINT_SUPPLEMENTATION_REQUESTED = event_type("complaint", "supplementation_requested")
COMPLAINT_SUPPLEMENT_RECEIVED = event_type("complaint", "supplement_received")
COMPLAINT_EXTENDED = event_type("complaint", "extended")
COMPLAINT_TRANSFERRED = event_type("complaint", "transferred")
COMPLAINT_CLOSED = event_type("complaint", "closed")
COMPLAINT_WITHDRAWN = event_type("complaint", "withdrawn")
COMPLAINT_REVISIT_REPORTED = event_type("complaint", "revisit_reported")
# cooperating departments (협조부서): a request, its reply and its cancellation (the texts stay in intake)
COMPLAINT_COOPERATION_REQUESTED = event_type("complaint", "cooperation_requested")
COMPLAINT_COOPERATION_REPLIED = event_type("complaint", "cooperation_replied")
COMPLAINT_COOPERATION_CANCELLED = event_type("complaint", "cooperation_cancelled")

# intake -> minwon.private.complaints.v1 (restricted: routing and notification)
COMPLAINT_SEALED = event_type("complaint", "sealed")

# routing -> minwon.routing.v1
COMPLAINT_ROUTED = event_type("complaint", "routed")
COMPLAINT_ASSIGNED = event_type("complaint", "assigned")
COMPLAINT_REASSIGNED = event_type("complaint", "reassigned")

# deadline -> minwon.deadlines.v1
DEADLINE_SET = event_type("deadline", "set")
DEADLINE_UPDATED = event_type("deadline", "updated")
DEADLINE_WARNING = event_type("deadline", "warning")
DEADLINE_ESCALATED = event_type("deadline", "escalated")
DEADLINE_BREACHED = event_type("deadline", "breached")
DEADLINE_SLA_MISSED = event_type("deadline", "sla_missed")
DEADLINE_PROGRESS_DUE = event_type("deadline", "progress_due")
DEADLINE_HOLIDAY_ADDED = event_type("deadline", "holiday_added")
# a cooperation request's own clock: its due time set, the warning before it, and the overdue escalation
DEADLINE_COOPERATION_SET = event_type("deadline", "cooperation_set")
DEADLINE_COOPERATION_WARNING = event_type("deadline", "cooperation_warning")
DEADLINE_COOPERATION_OVERDUE = event_type("deadline", "cooperation_overdue")

# notification -> minwon.notifications.v1
NOTIFICATION_SENT = event_type("notification", "sent")
NOTIFICATION_FAILED = event_type("notification", "failed")

# compensation -> minwon.compensations.v1
COMPENSATION_GRANTED = event_type("compensation", "granted")
COMPENSATION_REFUSED = event_type("compensation", "refused")
COMPENSATION_REVERSED = event_type("compensation", "reversed")

# survey -> minwon.surveys.v1
SURVEY_INVITED = event_type("survey", "invited")
SURVEY_RESPONDED = event_type("survey", "responded")
SURVEY_LOW_SCORE = event_type("survey", "low_score")

# notification -> minwon.public.complaints.v1 (other agencies; docs/public-events.md, docs/asyncapi.yaml)
PUBLIC_COMPLAINT_RECEIVED = event_type("public.complaint", "received")
PUBLIC_COMPLAINT_ROUTED = event_type("public.complaint", "routed")
PUBLIC_COMPLAINT_ASSIGNED = event_type("public.complaint", "assigned")
PUBLIC_COMPLAINT_EXTENDED = event_type("public.complaint", "extended")
PUBLIC_COMPLAINT_CLOSED = event_type("public.complaint", "closed")
PUBLIC_COMPLAINT_BREACHED = event_type("public.complaint", "breached")
PUBLIC_COMPLAINT_TRANSFERRED = event_type("public.complaint", "transferred")

# any consumer -> minwon.deadletter.v1: a record it kept failing on; an operator's redrive of one
DEADLETTER_MESSAGE = event_type("deadletter", "message")
DEADLETTER_REDRIVEN = event_type("deadletter", "redriven")

# notification -> minwon.deadletter.v1: a webhook delivery to an agency given up on
SUBSCRIPTION_DELIVERY_DEAD = event_type("subscription", "delivery_dead")


# ====================================================================== the models
#
# One pydantic model per event type: the ``data`` of its CloudEvent. Producers' events are checked
# against it before they are stored in an outbox or published (:func:`check`), consumers receive it
# (:func:`payload`, :class:`minwon.service.Handlers`), and docs/asyncapi-internal.yaml is generated
# from it. A field added here is additive (v1); removing or retyping one is a v2.


class Data(BaseModel):
    """The data of one event type. Unknown fields are refused: a producer and its consumers agree on
    every field, or a test fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(Data):
    """An official as events name them: id, name and office phone (staff data, not the citizen's)."""

    id: str
    name: str
    contact: str | None = None


class InvalidEvent(ValueError):
    """An event whose type has no model, that travels on a topic its model does not, or whose data
    does not fit: a producer's bug, or a poison record for a consumer (dead-lettered, never retried
    forever)."""


M = TypeVar("M", bound=type[BaseModel])
MODELS: dict[str, type[BaseModel]] = {}
"""Event type -> model of its data."""
TOPICS_OF: dict[str, tuple[str, ...]] = {}
"""Event type -> the topics it travels on."""


def register(type: str, *on: str) -> Callable[[M], M]:
    """Declare ``type``'s model and the topics it travels on (a service may register its own types)."""

    def add(model: M) -> M:
        if MODELS.get(type, model) is not model:
            raise ValueError(f"{type} already has a model")
        MODELS[type] = model
        TOPICS_OF[type] = tuple(on)
        return model

    return add


def model_of(type: str) -> type[BaseModel]:
    try:
        return MODELS[type]
    except KeyError:
        raise InvalidEvent(f"{type}: no model for this event type") from None


_PARSED: OrderedDict[str, tuple[dict[str, Any], BaseModel]] = OrderedDict()
"""The latest events' data as their models, by event id (each group of a process handling the same event
object parses it once), the oldest dropped first. Kept here, not on the event: a private attribute of a
pydantic model costs every event made and every read of it."""

PARSED_KEPT = 4096


def payload(event: Event) -> BaseModel:
    """The event's data as its model (:class:`InvalidEvent` when it does not fit); parsed once per event."""
    cached = _PARSED.get(event.id)
    if cached is not None and cached[0] is event.data:
        return cached[1]
    model = model_of(event.type)
    try:
        found = model.model_validate(event.data)
    except ValidationError as error:
        raise InvalidEvent(f"{event.type} {event.id}: {_first(error)}") from error
    _PARSED[event.id] = (event.data, found)
    while len(_PARSED) > PARSED_KEPT:
        _PARSED.popitem(last=False)
    return found


def _first(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "data"
    return f"{where}: {first['msg']} ({error.error_count()} error(s))"


def check(topic: str, event: Event) -> BaseModel:
    """A producer's event before it is stored or published: a registered type, on one of its topics,
    with data that fits its model."""
    found = payload(event)
    if topic not in TOPICS_OF[event.type]:
        raise InvalidEvent(f"{event.type} does not travel on {topic} (only {', '.join(TOPICS_OF[event.type])})")
    return found


On = Callable[[Event, Any], Awaitable[object]]
"""A handler of one event type: the event (envelope) and its data as the type's model."""


class Table:
    """A consumer's ``{event type: handler}`` table; its topics (the subscription) are derived from it.

    Called with an event, it runs the handler of the event's type with the data as its model; an
    event of another type on the same topics is not this consumer's business and is skipped; data
    that does not fit the model raises :class:`InvalidEvent` (a poison record: dead-lettered)."""

    def __init__(self, handlers: Mapping[str, On]) -> None:
        for type in handlers:
            model_of(type)  # every handled type has a model
        self.handlers = dict(handlers)

    @property
    def topics(self) -> list[str]:
        """The topics the handled types travel on."""
        return topics_of(self.handlers)

    async def run(self, event: Event) -> object | None:
        """The handler's result for an event of a handled type; ``None`` for any other type."""
        on = self.handlers.get(event.type)
        return None if on is None else await on(event, payload(event))

    async def __call__(self, event: Event) -> None:
        await self.run(event)


def topics_of(types: Iterable[str]) -> list[str]:
    """The topics events of ``types`` travel on (each type's first topic), in the topic registry's order."""
    wanted = {TOPICS_OF[type][0] for type in types if model_of(type)}
    return [t.name for t in topics.TOPICS if t.name in wanted]


def starts(event: Event) -> bool:
    """Whether ``event`` begins a complaint's life (its receipt): the documents a service keeps per
    complaint are usually created by it, so their first write need not read them first
    (:meth:`~minwon.outbox.Aggregates.apply`'s ``creating``)."""
    return event.type == COMPLAINT_RECEIVED


class Consumer:
    """A handler class's table: ``HANDLES`` names the method of each event type it consumes, :attr:`table`
    binds them (the subscription is derived from it) and :meth:`on_event` is the bus consumer."""

    HANDLES: ClassVar[dict[str, str]] = {}
    """Event type -> the name of the method that handles it, given the event and its data as the model."""

    @functools.cached_property
    def table(self) -> Table:
        return table(self.HANDLES, self)

    async def on_event(self, event: Event) -> None:
        """The bus consumer: the handler of the event's type, with its data as the type's model."""
        await self.table(event)


def table(handles: Mapping[str, str], on: object) -> Table:
    """The table of ``handles`` (``{event type: method name}``, declared by a service's handler class)
    bound to ``on``, its instance."""
    return Table({type: getattr(on, name) for type, name in handles.items()})


# ---------------------------------------------------------------------- intake: minwon.complaints.v1


class ComplaintFacts(Data):
    """The PII-free facts every complaint lifecycle event carries."""

    receipt_no: str = Field(description="The complaint's receipt number (also the event's subject and key).")
    complainant_ref: str = Field(description="Pseudonymous complainant reference (keyed hash, not reversible).")
    kind: str = Field(description="Kind of complaint (민원 종류): statutory, grievance, inquiry_law, ...")
    category: str = Field(description="Category code chosen at filing.")
    district: str = Field(description="District (구·군); 미상 when unknown.")
    channel: str = Field(description="How it arrived: online, visit, phone, mail, fax, sns, oral.")
    statutory_type: str | None = Field(description="The statutory complaint type (법정민원), if any.")
    priority: bool = Field(description="Handled first (e.g. a vulnerable citizen).")
    confidential: bool = Field(description="A whistleblower's complaint: no name anywhere, no compensation.")
    received_at: AwareDatetime = Field(description="When it was received (접수): the clock starts here.")
    occurred_at: AwareDatetime = Field(description="When the step this event announces happened.")


class Consent(Data):
    """The channels the citizen agreed to be contacted on."""

    sms: bool = False
    alimtalk: bool = False
    email: bool = False
    post: bool = False


@register(COMPLAINT_RECEIVED, topics.COMPLAINTS)
class ComplaintReceived(ComplaintFacts):
    """A complaint was received (접수)."""

    consent: Consent
    forwarding_clock: bool = Field(description="Arrived by mail or fax: the one-working-hour forwarding SLA runs.")


@register(COMPLAINT_ACKNOWLEDGED, topics.COMPLAINTS)
class ComplaintAcknowledged(ComplaintFacts):
    """The handler acknowledged the complaint (first response)."""


@register(COMPLAINT_SUPPLEMENTATION_REQUESTED, topics.COMPLAINTS)
class ComplaintSupplementationRequested(ComplaintFacts):
    """Supplementation (보완) was requested: the clock pauses. The reason travels sealed."""

    supplement_due: AwareDatetime | None = Field(description="When the supplement is due; null: the default wait.")


@register(COMPLAINT_SUPPLEMENT_RECEIVED, topics.COMPLAINTS)
class ComplaintSupplementReceived(ComplaintFacts):
    """The supplement arrived: the clock runs again."""


@register(COMPLAINT_EXTENDED, topics.COMPLAINTS)
class ComplaintExtended(ComplaintFacts):
    """The processing period was extended (연장). The reason travels sealed."""

    period: str | None = Field(description="The extension's length (e.g. 7d); null: the original period.")
    citizen_consent: bool = Field(description="The citizen agreed (required for a second extension).")
    extension_no: int = Field(ge=1, description="1 for the first extension, 2 for the second.")


@register(COMPLAINT_TRANSFERRED, topics.COMPLAINTS)
class ComplaintTransferred(ComplaintFacts):
    """Transferred (이송) to the competent agency: this deployment's clock stops."""

    agency: str = Field(description="Code of the receiving agency.")


@register(COMPLAINT_CLOSED, topics.COMPLAINTS)
class ComplaintClosed(ComplaintFacts):
    """Answered and closed (처리완료)."""

    outcome: str = Field(description="accepted, partly_accepted or rejected.")


@register(COMPLAINT_WITHDRAWN, topics.COMPLAINTS)
class ComplaintWithdrawn(ComplaintFacts):
    """The citizen withdrew the complaint (취하)."""


@register(COMPLAINT_REVISIT_REPORTED, topics.COMPLAINTS)
class ComplaintRevisitReported(ComplaintFacts):
    """Staff reported a needless revisit the office caused (a compensation cause). The reason travels sealed."""


# ---------------------------------------------------------------------- intake: the restricted topic


@register(COMPLAINT_SEALED, topics.PRIVATE)
class ComplaintSealed(ComplaintFacts):
    """Free text and contacts of one part of a complaint, sealed (AES-GCM) for routing and notification."""

    consent: Consent
    part: str = Field(description="filing, answer, extended, supplementation_requested, transferred, ...")
    sealed: str = Field(description="The sealed JSON content (the deployment's key; opened only by its readers).")


# ---------------------------------------------------------------------- routing: minwon.routing.v1


class Placement(Data):
    """Where routing placed the complaint."""

    receipt_no: str
    department: str = Field(description="Code of the handling department.")
    department_name: str
    department_phone: str | None = None
    department_hours: dict[str, Any] | None = Field(
        None, description=("The department's working hours (service targets follow them); null: the standard calendar.")
    )
    priority: bool
    kind: str
    received_at: AwareDatetime | None
    occurred_at: AwareDatetime


@register(COMPLAINT_ROUTED, topics.ROUTING)
class ComplaintRouted(Placement):
    """Given its department by a routing rule; it waits in the department's queue for a handler."""

    rule_id: str
    rule_version: int
    reason: str = Field(description="Why the rule matched (codes and keywords, no personal data).")
    matched: list[dict[str, Any]]
    category: str
    district: str
    channel: str
    statutory_type: str | None


@register(COMPLAINT_ASSIGNED, topics.ROUTING)
class ComplaintAssigned(Placement):
    """A handler (and for a statutory complaint a guardian official) was named."""

    handler: Person
    guardian: Person | None = None


@register(COMPLAINT_REASSIGNED, topics.ROUTING)
class ComplaintReassigned(ComplaintAssigned):
    """Moved to another handler or department."""

    previous: dict[str, Any] | None = None
    reason_code: str | None = None
    misroute: dict[str, Any] | None = None
    actor: str | None = None


# ---------------------------------------------------------------------- deadline: minwon.deadlines.v1


class ClockFacts(Data):
    """What every clock event carries: the legal clock as it stands."""

    receipt_no: str
    kind: str
    statutory_type: str | None
    period: str = Field(description="The processing period, e.g. 7d, 3h, immediate.")
    basis: str = Field(description="days or hours.")
    immediate: bool
    received_at: AwareDatetime
    due_at: AwareDatetime | None
    warning_at: AwareDatetime | None
    paused: bool
    extensions: int
    department: str | None
    department_name: str | None
    handler: Person | None
    occurred_at: AwareDatetime


@register(DEADLINE_SET, topics.DEADLINES)
class DeadlineSet(ClockFacts):
    """The clock started: its due time and warning time."""


@register(DEADLINE_UPDATED, topics.DEADLINES)
class DeadlineUpdated(ClockFacts):
    """The due time moved (extension, supplementation, an added holiday, ...)."""

    reason: str
    previous_due_at: AwareDatetime | None
    extension_no: int | None = None
    citizen_consent: bool | None = None
    holiday: Day | None = None


class Signal(ClockFacts):
    """A timed signal of the clock."""

    signal: str
    scheduled_at: AwareDatetime
    generation: int
    recipients: list[str]


@register(DEADLINE_WARNING, topics.DEADLINES)
class DeadlineWarning(Signal):
    """The due time is near."""


@register(DEADLINE_ESCALATED, topics.DEADLINES)
class DeadlineEscalated(Signal):
    """Escalated to the next level (team lead, head of department)."""

    level: int


@register(DEADLINE_BREACHED, topics.DEADLINES)
class DeadlineBreached(Signal):
    """The legal period ran out before the complaint was closed."""

    breached_at: AwareDatetime
    had_supplementation: bool
    had_extension: bool


@register(DEADLINE_SLA_MISSED, topics.DEADLINES)
class DeadlineSlaMissed(Signal):
    """A service target (forwarding, assignment, a charter stage) was missed."""

    sla: str
    sla_due_at: AwareDatetime
    stage: str | None = None


@register(DEADLINE_PROGRESS_DUE, topics.DEADLINES)
class DeadlineProgressDue(Signal):
    """A long complaint owes the citizen a progress notice."""

    expected_completion: AwareDatetime | None


@register(DEADLINE_HOLIDAY_ADDED, topics.DEADLINES)
class DeadlineHolidayAdded(Data):
    """An administrator added a holiday (임시공휴일); clocks due after it move."""

    date: Day
    name: str
    actor: str
    occurred_at: AwareDatetime


# ---------------------------------------------------------------------- notification: minwon.notifications.v1


class Delivery(Data):
    """A notice's outcome: ids, channel and template only."""

    notification_id: str
    receipt_no: str
    channel: str | None
    template: str
    template_version: int
    audience: str = Field(description="citizen or staff.")
    role: str
    cause: str = Field(description="The id of the event that caused the notice.")
    cause_type: str
    legal: bool = Field(description="A notice the law requires.")
    attempts: int
    occurred_at: AwareDatetime


@register(NOTIFICATION_SENT, topics.NOTIFICATIONS)
class NotificationSent(Delivery):
    """A notice was delivered."""

    fallback_from: str | None = Field(None, description="The channel tried first, when a fallback delivered it.")


@register(NOTIFICATION_FAILED, topics.NOTIFICATIONS, topics.DEADLETTER)
class NotificationFailed(Delivery):
    """A notice was given up on (also copied to the dead-letter topic)."""

    error: str


# ---------------------------------------------------------------------- compensation: minwon.compensations.v1


class Entry(Data):
    receipt_no: str
    grant_id: str
    amount_krw: int
    cause: str = Field(description="deadline_breach, staff_revisit, ...")
    rule_version: str
    department: str
    occurred_at: AwareDatetime


@register(COMPENSATION_GRANTED, topics.COMPENSATIONS)
class CompensationGranted(Entry):
    """A voucher was granted (the charter's compensation)."""

    instrument: str
    voucher_code: str


@register(COMPENSATION_REFUSED, topics.COMPENSATIONS)
class CompensationRefused(Entry):
    """A compensation was refused (budget exhausted, whistleblower, ...)."""

    reason: str


@register(COMPENSATION_REVERSED, topics.COMPENSATIONS)
class CompensationReversed(Entry):
    """A granted voucher was reversed."""

    reversal_id: str
    reason_code: str


# ---------------------------------------------------------------------- survey: minwon.surveys.v1


@register(SURVEY_INVITED, topics.SURVEYS)
class SurveyInvited(Data):
    """A citizen was invited to a satisfaction survey."""

    receipt_no: str
    survey_id: str
    link: str = Field(description="The signed survey path (no personal data).")
    expires_at: AwareDatetime
    department: str | None
    occurred_at: AwareDatetime


@register(SURVEY_RESPONDED, topics.SURVEYS)
class SurveyResponded(Data):
    """The citizen answered (scores 1-5; the free text stays in the survey store)."""

    receipt_no: str
    survey_id: str
    department: str | None
    channel: str | None
    kind: str | None
    scores: dict[str, int]
    occurred_at: AwareDatetime


@register(SURVEY_LOW_SCORE, topics.SURVEYS)
class SurveyLowScore(SurveyResponded):
    """The overall score was at or below the threshold: the team lead follows up."""

    handler: Person | None
    overall: int
    threshold: int


# ---------------------------------------------------------------------- dead letters: minwon.deadletter.v1


@register(SUBSCRIPTION_DELIVERY_DEAD, topics.DEADLETTER)
class SubscriptionDeliveryDead(Data):
    """A webhook delivery to an agency was given up on."""

    delivery_id: str
    subscription_id: str
    agency: str
    event_id: str
    event_type: str
    replay: bool
    attempts: int
    error: str | None
    status_code: int | None
    occurred_at: AwareDatetime


@register(DEADLETTER_MESSAGE, topics.DEADLETTER)
class DeadLetter(Data):
    """A record a consumer group kept failing on: the event (or the unparsable text) and the error."""

    group: str
    topic: str
    error: str
    attempts: int
    event: dict[str, Any] | None = Field(None, description="The failing event as it was received.")
    raw: str | None = Field(None, description="The start of an unparsable record.")
    position: str | None = None


@register(DEADLETTER_REDRIVEN, topics.DEADLETTER)
class DeadLetterRedriven(Data):
    """An operator re-drove a dead letter to its group (``minwon deadletter redrive``)."""

    letter_id: str
    letter_time: AwareDatetime
    at: AwareDatetime
    group: str
    topic: str
    event_id: str | None


# ---------------------------------------------------------------------- cooperating departments (협조부서)


class Cooperation(Data):
    """A cooperation request's PII-free facts: the question and the reply stay sealed in intake."""

    receipt_no: str
    request_id: str = Field(description="The request's id within the complaint.")
    department: str = Field(description="The department asked (routing's code).")
    from_department: str = Field(description="The lead department that asks.")
    working_days: int = Field(ge=1, description="Working days given to reply.")
    requested_at: AwareDatetime
    occurred_at: AwareDatetime


class CooperationOnComplaint(Cooperation):
    kind: str
    category: str
    district: str


@register(COMPLAINT_COOPERATION_REQUESTED, topics.COMPLAINTS)
class ComplaintCooperationRequested(CooperationOnComplaint):
    """The lead department asked another department for its input (협조 요청)."""


@register(COMPLAINT_COOPERATION_REPLIED, topics.COMPLAINTS)
class ComplaintCooperationReplied(CooperationOnComplaint):
    """The department asked replied (the reply is for the lead department only)."""

    replied_at: AwareDatetime


@register(COMPLAINT_COOPERATION_CANCELLED, topics.COMPLAINTS)
class ComplaintCooperationCancelled(CooperationOnComplaint):
    """The lead department cancelled its request."""

    cancelled_at: AwareDatetime


class CooperationClock(Cooperation):
    due_at: AwareDatetime = Field(description="When the reply is due (working days on the working calendar).")
    warning_at: AwareDatetime = Field(description="When the department asked is warned.")


@register(DEADLINE_COOPERATION_SET, topics.DEADLINES)
class DeadlineCooperationSet(CooperationClock):
    """A cooperation request's clock: its due and warning times."""


class CooperationSignal(CooperationClock):
    signal: str = Field(description="warning or overdue.")
    recipients: list[str] = Field(description="Roles in the department asked: cooperating_department, team_lead.")


@register(DEADLINE_COOPERATION_WARNING, topics.DEADLINES)
class DeadlineCooperationWarning(CooperationSignal):
    """One working day (or half the time) before the reply is due."""


@register(DEADLINE_COOPERATION_OVERDUE, topics.DEADLINES)
class DeadlineCooperationOverdue(CooperationSignal):
    """No reply by the due time: escalated to the department asked's team lead."""
