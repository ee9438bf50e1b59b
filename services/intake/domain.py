"""Intake rules: who may file, what a complaint is, and how it moves.

Pure: no I/O, no clock reads (``now`` is passed in). Each command takes the
current :class:`Complaint` and returns the new one and the events it produces.

Glossary: complaint / 민원; receipt / 접수; supplementation / 보완;
extension / 연장; transfer / 이송; oral complaint / 구술민원;
revisit caused by a staff error / 재방문; whistleblower / 공익신고자.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from minwon import contracts as c
from minwon import extensions, statutory
from minwon.errors import Conflict, DomainError, Invalid
from minwon.events import Event, derive_id
from services.intake import geo

KINDS = (
    "statutory",  # 법정민원 (인허가·등록·증명)
    "inquiry_law",  # 질의민원 (법령)
    "inquiry_system",  # 질의민원 (제도·절차)
    "suggestion",  # 건의민원
    "other",  # 기타민원
    "grievance",  # 고충민원
    "petition",  # 진정
    "service_complaint",  # 서비스 불만 (charter)
)
CHANNELS = ("online", "visit", "phone", "mail", "fax", "sns", "oral")
STAFF_CHANNELS = frozenset({"visit", "phone", "mail", "fax", "oral"})
"""Channels an official registers for the citizen (counter, 120 call centre, mail room): staff only."""
FORWARDED_CHANNELS = frozenset({"mail", "fax"})  # start the 1-working-hour forwarding clock
OUTCOMES = ("accepted", "partly_accepted", "rejected")
#: No complaint still to be handled was received earlier (the working calendar starts in 2000).
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)
#: The longest a citizen may be given to supplement a complaint.
LONGEST_SUPPLEMENT_WAIT = timedelta(days=365)

# status -> commands allowed in it
DRAFT, RECEIVED, IN_PROGRESS, SUPPLEMENTING = "draft", "received", "in_progress", "awaiting_supplement"
CLOSED, WITHDRAWN, TRANSFERRED = "closed", "withdrawn", "transferred"
FINAL = frozenset({CLOSED, WITHDRAWN, TRANSFERRED})
OPEN = frozenset({RECEIVED, IN_PROGRESS, SUPPLEMENTING})

IDENTITY_MESSAGE = (
    "익명 민원은 처리할 수 없습니다: 성명과 주소 또는 연락처가 필요합니다. "
    "Anonymous complaints cannot be processed: a name and an address or a contact are required."
)


@dataclass(frozen=True)
class Consent:
    sms: bool = False
    alimtalk: bool = False
    email: bool = False
    post: bool = False


@dataclass(frozen=True)
class Identity:
    """Personal data: stays in intake's store, sealed; never on a shared topic."""

    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Filing:
    identity: Identity
    title: str
    body: str
    kind: str
    category: str
    district: str
    channel: str
    received_at: datetime | None = None
    received_at_reason: str | None = None
    statutory_type: str | None = None
    priority: bool = False
    whistleblower: bool = False
    consent: Consent = field(default_factory=Consent)
    location: str | None = None
    """Where the problem is (a place, not the citizen's address); sealed with the text."""


@dataclass(frozen=True)
class Step:
    at: str
    step: str
    detail: dict[str, Any] = field(default_factory=dict)
    by: dict[str, Any] | None = None
    """The acting official (:meth:`minwon.auth.Principal.audit`); ``None``: the citizen or the system."""


LIST_FIELDS = ("search_terms", "title_index", "repeat_of", "links", "notes", "cooperations")


@dataclass(frozen=True)
class Complaint:
    """A complaint as intake keeps it. Personal data is held only in ``sealed``."""

    receipt_no: str
    check_code: str
    complainant_ref: str
    sealed: str
    kind: str
    category: str
    district: str
    channel: str
    status: str
    received_at: str
    registered_at: str
    statutory_type: str | None = None
    priority: bool = False
    confidential: bool = False
    consent: Consent = field(default_factory=Consent)
    department: str | None = None
    department_name: str | None = None
    department_phone: str | None = None
    """The department's phone (from routing): the contact when no handler is named."""
    handler: dict[str, str] | None = None
    due_at: str | None = None
    period: str | None = None
    """The legal period of the clock (from the deadline service), e.g. ``7d``."""
    extensions: int = 0
    supplementations: int = 0
    outcome: str | None = None
    registered_by: dict[str, Any] | None = None
    """The official who registered it (staff channels, late receipts); ``None``: the citizen online."""
    last_actor: dict[str, Any] | None = None
    """The official of the latest staff command."""
    answer: dict[str, Any] | None = None
    """The answer (답변) and its approval (결재): see :func:`draft_answer`. Its text, reasons and remedy
    are only in ``answer["sealed"]``."""
    answer_state: str | None = None
    """``answer["state"]``, kept beside it for the approval queue's filter."""
    timeline: tuple[Step, ...] = ()
    search_terms: tuple[str, ...] = ()
    """Blind index for staff search: keyed terms of the name, phone, e-mail and text bigrams
    (:mod:`services.intake.similarity`); never a value in clear."""
    title_index: tuple[str, ...] = ()
    """The title's keyed bigrams, compared for repeats and duplicates."""
    identity_index: str | None = None
    """The citizen's keyed identity (normalised name and contact): their earlier complaints."""
    index_key: str | None = None
    """The personal-data key id the index terms were derived under (rotation re-indexes)."""
    repeat_of: tuple[str, ...] = ()
    """반복민원: the same citizen's earlier answered complaints on the same subject (two or more)."""
    links: tuple[str, ...] = ()
    """중복민원: other citizens' complaints about the same thing, linked by an official."""
    notes: tuple[dict[str, Any], ...] = ()
    """Officials' internal notes (``{"id", "at", "by", "sealed"}``): never to the citizen, never on a topic."""
    cooperations: tuple[dict[str, Any], ...] = ()
    """Requests to cooperating departments (협조 요청, :func:`request_cooperation`); their question and
    reply only sealed, never to the citizen, never on a topic."""

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["timeline"] = [asdict(s) for s in self.timeline]
        for name in LIST_FIELDS:
            doc[name] = list(doc[name])
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Complaint:
        fields = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        fields["consent"] = Consent(**(doc.get("consent") or {}))
        fields["timeline"] = tuple(Step(**s) for s in doc.get("timeline", ()))
        for name in LIST_FIELDS:
            fields[name] = tuple(doc.get(name) or ())
        return cls(**fields)

    @property
    def facts(self) -> dict[str, Any]:
        """The PII-free facts every lifecycle event carries."""
        return {
            "receipt_no": self.receipt_no,
            "complainant_ref": self.complainant_ref,
            "kind": self.kind,
            "category": self.category,
            "district": self.district,
            "channel": self.channel,
            "statutory_type": self.statutory_type,
            "priority": self.priority,
            "confidential": self.confidential,
            "received_at": self.received_at,
        }


# ---------------------------------------------------------------- filing


def district_of_filing(filing: Filing) -> str:
    """The district given, else the one the problem's location or the citizen's address names."""
    return geo.district_for(filing.district, filing.location, filing.identity.address)


def check_identity(identity: Identity) -> None:
    """The statute does not treat an unidentifiable person as a complainant."""
    if not identity.name.strip() or not any(
        (v or "").strip() for v in (identity.phone, identity.email, identity.address)
    ):
        raise DomainError("identity_required", IDENTITY_MESSAGE, 422, field="name")


def needs_staff(filing: Filing) -> bool:
    """A staff channel, or a receipt time given (the real arrival of mail, a visit, a call): only an
    official registers these; a citizen files online, received now."""
    return filing.channel in STAFF_CHANNELS or filing.received_at is not None


def check_filing(filing: Filing, now: datetime, *, max_age: timedelta) -> datetime:
    """Validate a filing and return its real receipt instant."""
    check_identity(filing.identity)
    if filing.kind not in KINDS:
        raise Invalid("kind", f"unknown kind {filing.kind!r}; one of {', '.join(KINDS)}")
    if filing.channel not in CHANNELS:
        raise Invalid("channel", f"unknown channel {filing.channel!r}; one of {', '.join(CHANNELS)}")
    if filing.kind == "statutory" and not filing.statutory_type:
        raise Invalid("statutory_type", "a statutory complaint names its type (민원처리기준표)")
    for name in ("title", "body", "category"):
        if not getattr(filing, name).strip():
            raise Invalid(name, f"{name} is required")
    if not district_of_filing(filing):
        raise Invalid("district", "district is required (or a location or address that names 구·군)")
    if filing.received_at is None:
        return now
    if filing.channel not in STAFF_CHANNELS:
        raise Invalid("received_at", "only staff-registered channels (visit, phone, mail, fax, oral) give received_at")
    if filing.received_at.tzinfo is None:
        raise Invalid("received_at", "received_at needs a UTC offset, e.g. 2026-11-20T10:00:00+09:00")
    if filing.received_at < EARLIEST_RECEIPT:
        raise Invalid("received_at", f"received_at cannot be before {EARLIEST_RECEIPT:%Y-%m-%d}")
    if filing.received_at > now:
        raise Invalid("received_at", "received_at cannot be in the future")
    if now - filing.received_at > max_age and not (filing.received_at_reason or "").strip():
        raise Invalid("received_at_reason", f"received_at older than {max_age.days} days needs a reason")
    return filing.received_at


def statutory_code(filing: Filing, catalogue: statutory.Catalogue) -> str | None:
    """The catalogue code of the filing's statutory type, named by its code, Korean name or an alias;
    an unknown name is refused naming ``statutory_type`` with the closest types, and only a statutory
    complaint has a type."""
    named = (filing.statutory_type or "").strip()
    if not named:
        return None
    if filing.kind != "statutory":
        raise Invalid("statutory_type", f"only a statutory complaint (kind statutory) has a type, not {filing.kind}")
    entry = catalogue.resolve(named)
    if entry is None:
        close = catalogue.close_matches(named)
        hint = f"; did you mean: {', '.join(close)}" if close else ""
        raise Invalid("statutory_type", f"unknown statutory type {named!r} (민원처리기준표){hint}")
    return entry.code


def receipt_number(year: int, org: str, sequence: int) -> str:
    """``YYYY-<org>-<7-digit sequence>``."""
    return f"{year:04d}-{org}-{sequence:07d}"


CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Check-code characters: no 0/O, 1/I/L, so a code read aloud or copied by hand stays right."""
CODE_LENGTH = 10
"""31**10, about 2**49.5 codes; with the lookup limits, guessing one is out of reach."""


def check_code(receipt_no: str, secret: bytes) -> str:
    """The code that proves the holder was given the receipt (HMAC of the number, in
    :data:`CODE_ALPHABET`). Codes issued before (six hexadecimal digits) are stored with their
    complaint and keep working."""
    number = int.from_bytes(hmac.new(secret, receipt_no.encode(), hashlib.sha256).digest(), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[digit])
    return "".join(chars)


def code_matches(complaint: Complaint, code: str) -> bool:
    """Constant-time; case, spaces and hyphens as a citizen may type them do not matter."""
    given = code.strip().upper().replace("-", "").replace(" ", "")
    return hmac.compare_digest(given.encode(), complaint.check_code.upper().encode())


def attempt_keys(receipt_no: str, client: str, now: datetime, window: timedelta) -> list[str]:
    """The counters a wrong check code adds to: its client address and its receipt number, in the
    fixed window ``now`` falls in."""
    n = int(now.timestamp() // window.total_seconds())
    return [f"addr:{client}:{n}", f"receipt:{receipt_no}:{n}"]


def retry_after(now: datetime, window: timedelta) -> int:
    """Whole seconds until the current window ends."""
    length = window.total_seconds()
    return max(1, math.ceil(length - now.timestamp() % length))


def register(
    filing: Filing,
    *,
    receipt_no: str,
    code: str,
    complainant_ref: str,
    sealed: str,
    received_at: datetime,
    now: datetime,
    source: str,
    by: dict[str, Any] | None = None,
) -> tuple[Complaint, list[Event]]:
    """A new complaint; an oral one waits as a draft for the citizen's confirmation. ``by``: the
    official who registers it (staff channels)."""
    oral = filing.channel == "oral"
    complaint = Complaint(
        receipt_no=receipt_no,
        check_code=code,
        complainant_ref=complainant_ref,
        sealed=sealed,
        kind=filing.kind,
        category=filing.category,
        district=district_of_filing(filing),
        channel=filing.channel,
        status=DRAFT if oral else RECEIVED,
        received_at=received_at.isoformat(),
        registered_at=now.isoformat(),
        statutory_type=filing.statutory_type,
        priority=filing.priority,
        confidential=filing.whistleblower,
        consent=filing.consent,
        registered_by=by,
        timeline=(Step(now.isoformat(), "drafted" if oral else "received", {"channel": filing.channel}, by),),
    )
    if oral:
        return complaint, []
    return complaint, _received(complaint, now, source)


def confirm(
    complaint: Complaint, *, now: datetime, source: str, at_counter: bool = False
) -> tuple[Complaint, list[Event]]:
    """The citizen confirms an oral complaint written down by staff. It keeps the time it was told
    (``received_at`` of the registration: the clock runs from when the citizen spoke, not from the
    read-back). With the check code the citizen confirms it themselves; ``at_counter``: an official
    confirms it with the citizen present (the official is stamped on the step by :func:`attribute`)."""
    _require(complaint, "confirm", {DRAFT})
    how = "official_at_counter" if at_counter else "citizen_with_check_code"
    confirmed = replace(
        complaint,
        status=RECEIVED,
        timeline=complaint.timeline + (Step(now.isoformat(), "received", {"confirmed": True, "confirmed_by": how}),),
    )
    return confirmed, _received(confirmed, now, source)


def _received(complaint: Complaint, now: datetime, source: str) -> list[Event]:
    data = {
        **complaint.facts,
        "consent": asdict(complaint.consent),
        "forwarding_clock": complaint.channel in FORWARDED_CHANNELS,
    }
    return [_event(complaint, c.COMPLAINT_RECEIVED, data, now, source, "received")]


def private_event(
    complaint: Complaint, part: str, content: dict[str, Any], now: datetime, source: str, *cause: object
) -> Event:
    """The restricted event for free text and contacts (``part``: filing, answer, extension, ...).

    Its ``content`` is sealed by the handler before it is stored or published;
    it goes only to ``minwon.private.complaints.v1``.
    """
    return _event(
        complaint,
        c.COMPLAINT_SEALED,
        {**complaint.facts, "consent": asdict(complaint.consent), "part": part, "content": content},
        now,
        source,
        "sealed",
        part,
        *cause,
    )


# ---------------------------------------------------------------- lifecycle


def _require(complaint: Complaint, command: str, allowed: set[str] | frozenset[str]) -> None:
    if complaint.status not in allowed:
        raise Conflict(
            f"cannot {command} a complaint that is {complaint.status}",
            status=complaint.status,
            receipt_no=complaint.receipt_no,
        )


def _event(complaint: Complaint, type: str, data: dict[str, Any], now: datetime, source: str, *cause: object) -> Event:
    return Event.new(
        type,
        id=derive_id(complaint.receipt_no, *cause),
        source=source,
        subject=complaint.receipt_no,
        time=now,
        data={"receipt_no": complaint.receipt_no, **data, "occurred_at": now.isoformat()},
    )


def _step(complaint: Complaint, **changes: Any) -> Complaint:
    return replace(complaint, **changes)


def _transition(
    complaint: Complaint,
    *,
    command: str,
    allowed: frozenset[str] | set[str],
    status: str,
    type: str,
    step: str,
    detail: dict[str, Any],
    now: datetime,
    source: str,
    private: dict[str, Any] | None = None,
    **changes: Any,
) -> tuple[Complaint, list[Event]]:
    """Move to ``status``; ``detail`` is public, ``private`` (free text) goes sealed."""
    _require(complaint, command, allowed)
    n = len(complaint.timeline)
    new = _step(
        complaint,
        status=status,
        timeline=complaint.timeline + (Step(now.isoformat(), step, detail),),
        **changes,
    )
    events = [_event(new, type, {**new.facts, **detail}, now, source, step, n)]
    if private:
        events.append(private_event(new, step, private, now, source, n))
    return new, events


def acknowledge(complaint: Complaint, *, now: datetime, source: str) -> tuple[Complaint, list[Event]]:
    """The handler's first response."""
    return _transition(
        complaint,
        command="acknowledge",
        allowed={RECEIVED},
        status=IN_PROGRESS,
        type=c.COMPLAINT_ACKNOWLEDGED,
        step="acknowledged",
        detail={},
        now=now,
        source=source,
    )


def request_supplementation(
    complaint: Complaint, *, reason: str, due: datetime | None, now: datetime, source: str
) -> tuple[Complaint, list[Event]]:
    """보완요구: the clock stops until the supplement arrives."""
    if not reason.strip():
        raise Invalid("reason", "a supplementation request states what is missing")
    if due is not None:
        if due.tzinfo is None:
            raise Invalid("due", "due needs a UTC offset, e.g. 2026-11-27T18:00:00+09:00")
        if not now < due <= now + LONGEST_SUPPLEMENT_WAIT:
            raise Invalid("due", f"due lies in the future, at most {LONGEST_SUPPLEMENT_WAIT.days} days ahead")
    detail = {"supplement_due": due.isoformat() if due else None}
    return _transition(
        complaint,
        command="request supplementation",
        allowed={RECEIVED, IN_PROGRESS},
        status=SUPPLEMENTING,
        type=c.COMPLAINT_SUPPLEMENTATION_REQUESTED,
        step="supplementation_requested",
        detail=detail,
        now=now,
        source=source,
        private={"reason": reason},
        supplementations=complaint.supplementations + 1,
    )


def receive_supplement(complaint: Complaint, *, now: datetime, source: str) -> tuple[Complaint, list[Event]]:
    return _transition(
        complaint,
        command="receive a supplement for",
        allowed={SUPPLEMENTING},
        status=IN_PROGRESS,
        type=c.COMPLAINT_SUPPLEMENT_RECEIVED,
        step="supplement_received",
        detail={},
        now=now,
        source=source,
    )


def extend(
    complaint: Complaint, *, reason: str, period: str | None, citizen_consent: bool, now: datetime, source: str
) -> tuple[Complaint, list[Event]]:
    """연장: once by up to the original period; again only with the citizen's consent — checked here,
    before the citizen is told, by the same rule the deadline service applies (:mod:`minwon.extensions`)."""
    if not reason.strip():
        raise Invalid("reason", "an extension states its reason (it is sent to the citizen)")
    _require(complaint, "extend", {RECEIVED, IN_PROGRESS})
    if complaint.period is None:
        raise Conflict("the processing period is not set yet; try again in a moment", status=complaint.status)
    extensions.check_extension(
        original=complaint.period, requested=period, granted=complaint.extensions, citizen_consent=citizen_consent
    )
    detail = {"period": period, "citizen_consent": citizen_consent, "extension_no": complaint.extensions + 1}
    return _transition(
        complaint,
        command="extend",
        allowed={RECEIVED, IN_PROGRESS},
        status=complaint.status,
        type=c.COMPLAINT_EXTENDED,
        step="extended",
        detail=detail,
        now=now,
        source=source,
        private={"reason": reason},
        extensions=complaint.extensions + 1,
    )


def transfer(
    complaint: Complaint, *, agency: str, reason: str, now: datetime, source: str, agency_name: str | None = None
) -> tuple[Complaint, list[Event]]:
    """이송: the complaint belongs to another agency (``agency_name``, if known, goes with the reason
    in the sealed part, for the citizen's notice)."""
    if not agency.strip():
        raise Invalid("agency", "name the agency the complaint is transferred to")
    if not reason.strip():
        raise Invalid("reason", "a transfer states its reason")
    return _transition(
        complaint,
        command="transfer",
        allowed=OPEN,
        status=TRANSFERRED,
        type=c.COMPLAINT_TRANSFERRED,
        step="transferred",
        detail={"agency": agency},
        now=now,
        source=source,
        private={"reason": reason, **({"agency_name": agency_name} if agency_name else {})},
    )


def close(
    complaint: Complaint, *, outcome: str, reasons: str | None, remedy: str | None, now: datetime, source: str
) -> tuple[Complaint, list[Event]]:
    """처리완료: a rejection carries its reasons and the remedy procedure."""
    if outcome not in OUTCOMES:
        raise Invalid("outcome", f"outcome is one of {', '.join(OUTCOMES)}")
    if outcome == "rejected":
        if not (reasons or "").strip():
            raise Invalid("reasons", "a rejection states its reasons")
        if not (remedy or "").strip():
            raise Invalid("remedy", "a rejection names the remedy procedure (이의신청·행정심판·행정소송)")
    return _transition(
        complaint,
        command="close",
        allowed={RECEIVED, IN_PROGRESS},
        status=CLOSED,
        type=c.COMPLAINT_CLOSED,
        step="closed",
        detail={"outcome": outcome},
        now=now,
        source=source,
        private={"reasons": reasons, "remedy": remedy} if reasons or remedy else None,
        outcome=outcome,
    )


def withdraw(complaint: Complaint, *, now: datetime, source: str) -> tuple[Complaint, list[Event]]:
    return _transition(
        complaint,
        command="withdraw",
        allowed=OPEN | {DRAFT},
        status=WITHDRAWN,
        type=c.COMPLAINT_WITHDRAWN,
        step="withdrawn",
        detail={},
        now=now,
        source=source,
    )


def report_revisit(complaint: Complaint, *, reason: str, now: datetime, source: str) -> tuple[Complaint, list[Event]]:
    """재방문: the citizen had to come back because of a staff error."""
    if not reason.strip():
        raise Invalid("reason", "describe the staff error that caused the revisit")
    if complaint.status == DRAFT:
        raise Conflict("a draft has no visit to repeat", status=complaint.status)
    return _transition(
        complaint,
        command="report a revisit for",
        allowed=OPEN | FINAL,
        status=complaint.status,
        type=c.COMPLAINT_REVISIT_REPORTED,
        step="revisit_reported",
        detail={},
        now=now,
        source=source,
        private={"reason": reason},
    )


def attribute(before: Complaint, after: Complaint, by: dict[str, Any] | None) -> Complaint:
    """Stamp the official who ran a command on the complaint and on the steps it added."""
    if by is None or after.timeline == before.timeline:
        return after
    n = len(before.timeline)
    steps = after.timeline[:n] + tuple(replace(s, by=by) for s in after.timeline[n:])
    return replace(after, timeline=steps, last_actor=by)


# ------------------------------------------------------- facts from elsewhere


def note_routed(
    complaint: Complaint,
    *,
    department: str,
    at: str,
    department_name: str | None = None,
    department_phone: str | None = None,
) -> Complaint:
    if department != complaint.department:
        complaint = replace(complaint, department_phone=None)
    return _step(
        complaint,
        department=department,
        department_name=department_name or complaint.department_name,
        department_phone=department_phone or complaint.department_phone,
        timeline=complaint.timeline + (Step(at, "routed", {"department": department}),),
    )


def note_assigned(
    complaint: Complaint,
    *,
    handler: dict[str, str],
    department: str,
    at: str,
    department_name: str | None = None,
    department_phone: str | None = None,
) -> Complaint:
    """``handler``: ``{"id", "name", "contact"}`` as routing publishes it (민원책임실명제)."""
    if department != complaint.department:
        complaint = replace(complaint, department_name=None, department_phone=None)
    return _step(
        complaint,
        handler=handler,
        department=department,
        department_name=department_name or complaint.department_name,
        department_phone=department_phone or complaint.department_phone,
        timeline=complaint.timeline + (Step(at, "assigned", {"handler": handler["name"]}),),
    )


def note_due(complaint: Complaint, *, due_at: str, at: str, period: str | None = None) -> Complaint:
    """The clock's due time (and its original period, which extensions are checked against)."""
    if period:
        complaint = _step(complaint, period=period)
    return _step(complaint, due_at=due_at, timeline=complaint.timeline + (Step(at, "due_set", {"due_at": due_at}),))


def public_view(complaint: Complaint) -> dict[str, Any]:
    """What the portal shows a citizen with the check code: no personal data, and no officials'
    identities (the steps' ``by`` stays in the staff view)."""
    return {
        "receipt_no": complaint.receipt_no,
        "status": complaint.status,
        "kind": complaint.kind,
        "channel": complaint.channel,
        "received_at": complaint.received_at,
        "department": complaint.department,
        "handler": complaint.handler,
        "due_at": complaint.due_at,
        "outcome": complaint.outcome,
        "timeline": [
            {"at": s.at, "step": s.step, "detail": s.detail} for s in complaint.timeline if s.step not in INTERNAL_STEPS
        ],
    }


# ------------------------------------------------------------- answers (답변, 결재)

ANSWER_DRAFT, ANSWER_SUBMITTED, ANSWER_RETURNED, ANSWER_APPROVED = "draft", "submitted", "returned", "approved"
ANSWER_STATES = (ANSWER_DRAFT, ANSWER_SUBMITTED, ANSWER_RETURNED, ANSWER_APPROVED)
ANSWERABLE = frozenset({RECEIVED, IN_PROGRESS})
"""Complaint statuses in which an answer is written, submitted and decided."""
MAX_ANSWER_TEXT = 20000
MAX_COMMENT = 2000
INTERNAL_STEPS = frozenset({"answer_drafted", "answer_submitted", "answer_returned", "answer_approved"})
"""The approval's steps: the officials' own business, not on the citizen's timeline."""
PLACEHOLDERS = ("민원인", "접수번호", "접수일", "처리기한", "담당자", "담당부서", "연락처", "오늘")
"""Template placeholders, written ``{민원인}``: complainant, receipt number, receipt date, due date,
handler, department, handler's contact, today."""
KST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class AnswerDraft:
    """What the handler writes. ``text``, ``reasons`` and ``remedy`` are sealed before they are kept."""

    outcome: str
    text: str
    reasons: str | None = None
    remedy: str | None = None
    template_id: str | None = None

    @property
    def private(self) -> dict[str, Any]:
        return {"text": self.text or None, "reasons": self.reasons, "remedy": self.remedy}


def check_answer(draft: AnswerDraft, *, text_required: bool = True) -> None:
    """An outcome, a text; a rejection states its reasons and the remedy procedure."""
    if draft.outcome not in OUTCOMES:
        raise Invalid("outcome", f"outcome is one of {', '.join(OUTCOMES)}")
    if text_required and not draft.text.strip():
        raise Invalid("text", "an answer has a text (답변 내용)")
    if len(draft.text) > MAX_ANSWER_TEXT:
        raise Invalid("text", f"an answer is at most {MAX_ANSWER_TEXT} characters")
    if draft.outcome == "rejected":
        if not (draft.reasons or "").strip():
            raise Invalid("reasons", "a rejection states its reasons")
        if not (draft.remedy or "").strip():
            raise Invalid("remedy", "a rejection names the remedy procedure (이의신청·행정심판·행정소송)")


def approval_required(policies: dict[str, bool], department: str | None, *, default: bool) -> bool:
    """Whether the department's answers need the team lead's approval (결재); unset: ``default``."""
    if department is not None and department in policies:
        return policies[department]
    return default


def _who(by: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"id": by["id"], "name": by.get("name")} if by else None


def _answer_state(complaint: Complaint, command: str, allowed: set[str | None]) -> dict[str, Any]:
    _require(complaint, command, ANSWERABLE)
    if complaint.answer_state not in allowed:
        state = complaint.answer_state or "none"
        raise Conflict(
            f"cannot {command} an answer that is {state}", answer_state=state, receipt_no=complaint.receipt_no
        )
    return dict(complaint.answer or {})


def _with_answer(complaint: Complaint, answer: dict[str, Any], step: Step) -> Complaint:
    return replace(complaint, answer=answer, answer_state=answer["state"], timeline=complaint.timeline + (step,))


def draft_answer(
    complaint: Complaint, draft: AnswerDraft, *, sealed: str, now: datetime, by: dict[str, Any] | None
) -> tuple[Complaint, list[Event]]:
    """Write (or rewrite) the answer: while the complaint is open and the answer is not with the
    team lead or approved. ``sealed``: the draft's :attr:`AnswerDraft.private`, sealed."""
    previous = _answer_state(complaint, "draft", {None, ANSWER_DRAFT, ANSWER_RETURNED})
    check_answer(draft)
    answer = {
        "state": ANSWER_DRAFT,
        "outcome": draft.outcome,
        "sealed": sealed,
        "template_id": draft.template_id,
        "drafted_by": _who(by),
        "drafted_at": now.isoformat(),
        "submitted_at": None,
        "approved_at": None,
        "reviews": list(previous.get("reviews", [])),
    }
    return _with_answer(complaint, answer, Step(now.isoformat(), "answer_drafted", {"outcome": draft.outcome})), []


def submit_answer(
    complaint: Complaint,
    *,
    approval_required: bool,
    opened: dict[str, Any],
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
) -> tuple[Complaint, list[Event]]:
    """Send the answer for approval; where the department needs none, it is approved and the
    complaint closed at once. ``opened``: the answer's sealed part, opened."""
    answer = _answer_state(complaint, "submit", {ANSWER_DRAFT, ANSWER_RETURNED})
    answer.update(state=ANSWER_SUBMITTED, submitted_at=now.isoformat())
    submitted = _with_answer(complaint, answer, Step(now.isoformat(), "answer_submitted", {}))
    if not approval_required:
        return _approve(submitted, comment=None, opened=opened, now=now, source=source, by=by, review=False)
    return submitted, []


def return_answer(
    complaint: Complaint, *, comment: str, now: datetime, by: dict[str, Any] | None
) -> tuple[Complaint, list[Event]]:
    """The team lead sends the answer back with a comment; the clock keeps running."""
    if not comment.strip():
        raise Invalid("comment", "a returned answer says what to change")
    if len(comment) > MAX_COMMENT:
        raise Invalid("comment", f"a comment is at most {MAX_COMMENT} characters")
    answer = _answer_state(complaint, "return", {ANSWER_SUBMITTED})
    review = {"at": now.isoformat(), "by": _who(by), "decision": ANSWER_RETURNED, "comment": comment}
    answer.update(state=ANSWER_RETURNED, reviews=[*answer.get("reviews", []), review])
    return _with_answer(complaint, answer, Step(now.isoformat(), "answer_returned", {"comment": comment})), []


def approve_answer(
    complaint: Complaint,
    *,
    comment: str | None,
    opened: dict[str, Any],
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
) -> tuple[Complaint, list[Event]]:
    """The team lead approves: the complaint closes with the answer's outcome."""
    if comment is not None and len(comment) > MAX_COMMENT:
        raise Invalid("comment", f"a comment is at most {MAX_COMMENT} characters")
    _answer_state(complaint, "approve", {ANSWER_SUBMITTED})
    return _approve(complaint, comment=comment, opened=opened, now=now, source=source, by=by, review=True)


def _approve(
    complaint: Complaint,
    *,
    comment: str | None,
    opened: dict[str, Any],
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
    review: bool,
) -> tuple[Complaint, list[Event]]:
    answer = dict(complaint.answer or {})
    reviews = list(answer.get("reviews", []))
    if review:
        reviews.append({"at": now.isoformat(), "by": _who(by), "decision": ANSWER_APPROVED, "comment": comment})
    answer.update(state=ANSWER_APPROVED, approved_at=now.isoformat(), reviews=reviews)
    detail: dict[str, Any] = {"comment": comment} if comment else {}
    if not review:
        detail["approval_required"] = False
    approved = _with_answer(complaint, answer, Step(now.isoformat(), "answer_approved", detail))
    return _close_answered(approved, opened=opened, now=now, source=source)


def _close_answered(
    complaint: Complaint, *, opened: dict[str, Any], now: datetime, source: str
) -> tuple[Complaint, list[Event]]:
    """Close with the (approved) answer: the public COMPLAINT_CLOSED and the sealed "answer" part."""
    answer = complaint.answer or {}
    n = len(complaint.timeline)
    closed, events = close(
        complaint,
        outcome=answer["outcome"],
        reasons=opened.get("reasons"),
        remedy=opened.get("remedy"),
        now=now,
        source=source,
    )
    content = answer_content(closed, opened)
    return closed, [*events, private_event(closed, "answer", content, now, source, n)]


def close_directly(
    complaint: Complaint,
    *,
    approval_required: bool,
    draft: AnswerDraft,
    sealed: str,
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
) -> tuple[Complaint, list[Event]]:
    """처리완료 without approval (the department's policy allows it): the answer, its ``text``
    possibly empty, is recorded as approved and travels to the citizen."""
    if approval_required:
        raise DomainError(
            "approval_required",
            "this department's answers need the team lead's approval (결재): draft the answer and submit it",
            409,
            details={"receipt_no": complaint.receipt_no, "department": complaint.department},
        )
    _require(complaint, "close", ANSWERABLE)
    check_answer(draft, text_required=False)
    previous = complaint.answer or {}
    answer = {
        "state": ANSWER_APPROVED,
        "outcome": draft.outcome,
        "sealed": sealed,
        "template_id": draft.template_id,
        "drafted_by": _who(by),
        "drafted_at": now.isoformat(),
        "submitted_at": None,
        "approved_at": now.isoformat(),
        "reviews": list(previous.get("reviews", [])),
    }
    answered = replace(complaint, answer=answer, answer_state=ANSWER_APPROVED)
    return _close_answered(answered, opened=draft.private, now=now, source=source)


def accountable(complaint: Complaint) -> dict[str, Any]:
    """민원책임실명제: the official named to the citizen, with a contact. The assigned handler (name
    and office phone as routing publishes them), else the official who wrote the answer; the contact
    falls back to the department's phone."""
    handler = complaint.handler or {}
    drafter = (complaint.answer or {}).get("drafted_by") or {}
    return {
        "name": handler.get("name") or drafter.get("name"),
        "department": complaint.department,
        "department_name": complaint.department_name or complaint.department,
        "contact": handler.get("contact") or complaint.department_phone,
    }


def answer_content(complaint: Complaint, opened: dict[str, Any]) -> dict[str, Any]:
    """The answer as the citizen receives it (the sealed "answer" part; the portal's lookup)."""
    answer = complaint.answer or {}
    return {
        "outcome": answer.get("outcome"),
        "text": opened.get("text"),
        "reasons": opened.get("reasons"),
        "remedy": opened.get("remedy"),
        "answered_at": answer.get("approved_at"),
        "handler": accountable(complaint),
    }


def answer_view(complaint: Complaint, opened: dict[str, Any]) -> dict[str, Any] | None:
    """The answer as officials see it (AnswerView), ``opened``: its sealed part, opened."""
    answer = complaint.answer
    if answer is None:
        return None
    keys = ("state", "outcome", "template_id", "drafted_by", "drafted_at", "submitted_at", "approved_at")
    return {
        **{k: answer.get(k) for k in keys},
        "text": opened.get("text"),
        "reasons": opened.get("reasons"),
        "remedy": opened.get("remedy"),
        "reviews": list(answer.get("reviews", [])),
    }


# ------------------------------------------------------------------ templates


def check_template(*, category: str, title: str, text: str) -> None:
    for name, value in (("category", category), ("title", title), ("text", text)):
        if not value.strip():
            raise Invalid(name, f"a template has a {name}")


def _date(value: str | datetime | None) -> str | None:
    if value is None:
        return None
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    day = instant.astimezone(KST)
    return f"{day.year}년 {day.month}월 {day.day}일"


def template_values(
    complaint: Complaint, *, name: str | None, today: datetime, drafter: dict[str, Any] | None = None
) -> dict[str, str | None]:
    """The placeholders' values for ``complaint`` (dates as Korean dates in KST)."""
    who = accountable(complaint)
    return {
        "민원인": name,
        "접수번호": complaint.receipt_no,
        "접수일": _date(complaint.received_at),
        "처리기한": _date(complaint.due_at),
        "담당자": who["name"] or (drafter or {}).get("name"),
        "담당부서": who["department_name"],
        "연락처": who["contact"],
        "오늘": _date(today),
    }


def fill_template(text: str, values: dict[str, str | None]) -> str:
    """Replace each known ``{placeholder}`` that has a value; one without a value stays as written,
    for the handler to fill in."""
    for key in PLACEHOLDERS:
        value = values.get(key)
        if value is not None:
            text = text.replace("{" + key + "}", value)
    return text


# ---------------------------------------------------------------- key rotation


def resealed(
    doc: dict[str, Any], *, stale: Callable[[str], bool], again: Callable[[str], str]
) -> dict[str, Any] | None:
    """The complaint document with each sealed value that is ``stale`` (under an old key) sealed
    ``again`` under the current key: the personal data, the answer and the internal notes. None when
    nothing is stale."""
    new = dict(doc)
    if isinstance(doc.get("sealed"), str) and stale(doc["sealed"]):
        new["sealed"] = again(doc["sealed"])
    answer = doc.get("answer")
    if isinstance(answer, dict) and isinstance(answer.get("sealed"), str) and stale(answer["sealed"]):
        new["answer"] = {**answer, "sealed": again(answer["sealed"])}
    notes = doc.get("notes") or []
    if any(stale(n["sealed"]) for n in notes):
        new["notes"] = [{**n, "sealed": again(n["sealed"])} if stale(n["sealed"]) else n for n in notes]
    asked = doc.get("cooperations") or []
    if any(isinstance(e.get(k), str) and stale(e[k]) for e in asked for k in COOPERATION_SEALED):
        new["cooperations"] = [
            {**e, **{k: again(e[k]) for k in COOPERATION_SEALED if isinstance(e.get(k), str) and stale(e[k])}}
            for e in asked
        ]
    return new if new != doc else None


def needs_reseal(doc: dict[str, Any], *, stale: Callable[[str], bool]) -> bool:
    given = doc.get("answer")
    answer: dict[str, Any] = given if isinstance(given, dict) else {}
    notes = [n.get("sealed") for n in doc.get("notes") or []]
    notes += [e.get(k) for e in doc.get("cooperations") or [] for k in COOPERATION_SEALED]
    return any(isinstance(v, str) and stale(v) for v in (doc.get("sealed"), answer.get("sealed"), *notes))


# ------------------------------------------- repeats, duplicates, notes (제23조)

MAX_NOTE = 2000
REPEAT_NOTICE = (
    "「민원 처리에 관한 법률」 제23조에 따라 알려드립니다. 같은 내용의 민원을 정당한 사유 없이 반복하여 "
    "제출하셨고, 이미 {count}회 답변드렸습니다(접수번호 {earlier}). 이번 민원은 종결 처리합니다."
)
REPEAT_REMEDY = "이 처리에 이의가 있으면 이의신청, 행정심판 또는 행정소송을 제기할 수 있습니다."


def add_note(
    complaint: Complaint, *, text: str, note_id: str, sealed: str, now: datetime, by: dict[str, Any]
) -> Complaint:
    """An official's internal note (``sealed``: its text, sealed). No step, no event: the citizen's
    timeline and the topics never see it."""
    if not text.strip():
        raise Invalid("text", "a note has a text")
    if len(text) > MAX_NOTE:
        raise Invalid("text", f"a note is at most {MAX_NOTE} characters")
    note = {"id": note_id, "at": now.isoformat(), "by": _who(by), "sealed": sealed}
    return replace(complaint, notes=complaint.notes + (note,))


def link(complaint: Complaint, other: str) -> Complaint:
    """Record a link to another citizen's complaint about the same thing (each keeps its own notice
    and clock); linking twice changes nothing."""
    if other == complaint.receipt_no:
        raise Invalid("receipt_no", "a complaint is not linked to itself")
    if other in complaint.links:
        return complaint
    return replace(complaint, links=complaint.links + (other,))


def repeat_draft(complaint: Complaint, *, reason: str) -> AnswerDraft:
    """The statutory notice of a repeat's closing (종결), as the answer the citizen receives."""
    if not reason.strip():
        raise Invalid("reason", "state why the complaint is closed as a repeat")
    if len(reason) > MAX_COMMENT:
        raise Invalid("reason", f"a reason is at most {MAX_COMMENT} characters")
    if len(complaint.repeat_of) < 2:
        raise Conflict(
            "only a complaint flagged as a repeat (two earlier answers or more) is closed as one",
            receipt_no=complaint.receipt_no,
        )
    text = REPEAT_NOTICE.format(count=len(complaint.repeat_of), earlier=", ".join(complaint.repeat_of))
    return AnswerDraft(outcome="rejected", text=text, reasons=reason, remedy=REPEAT_REMEDY)


def close_as_repeat(
    complaint: Complaint, *, draft: AnswerDraft, sealed: str, now: datetime, source: str, by: dict[str, Any] | None
) -> tuple[Complaint, list[Event]]:
    """The complaint office closes a repeat with the statutory notice (no approval step: 제23조 closing
    is the office's decision); the notice travels like any answer."""
    _require(complaint, "close as a repeat", ANSWERABLE)
    answer = {
        "state": ANSWER_APPROVED,
        "outcome": draft.outcome,
        "sealed": sealed,
        "template_id": None,
        "drafted_by": _who(by),
        "drafted_at": now.isoformat(),
        "submitted_at": None,
        "approved_at": now.isoformat(),
        "reviews": list((complaint.answer or {}).get("reviews", [])),
        "repeat": True,
    }
    answered = replace(complaint, answer=answer, answer_state=ANSWER_APPROVED)
    return _close_answered(answered, opened=draft.private, now=now, source=source)


# ------------------------------------------------------- cooperating departments (협조부서)

COOPERATION_OPEN, COOPERATION_REPLIED, COOPERATION_CANCELLED = "open", "replied", "cancelled"
COOPERATION_DEFAULT_DAYS = 3
"""Working days a cooperating department is given when the request names none."""
COOPERATION_MAX_DAYS = 30
MAX_COOPERATION_TEXT = 4000
COOPERATION_SEALED = ("question_sealed", "reply_sealed")
"""A request's sealed texts (re-sealed on key rotation like the notes)."""


def _cooperation(complaint: Complaint, request_id: str) -> dict[str, Any]:
    for entry in complaint.cooperations:
        if entry["id"] == request_id:
            return dict(entry)
    raise DomainError(
        "not_found", f"no cooperation request {request_id} on {complaint.receipt_no}", 404, field="request_id"
    )


def _with_cooperation(complaint: Complaint, entry: dict[str, Any]) -> Complaint:
    if not any(e["id"] == entry["id"] for e in complaint.cooperations):
        return replace(complaint, cooperations=complaint.cooperations + (entry,))
    return replace(
        complaint, cooperations=tuple(entry if e["id"] == entry["id"] else e for e in complaint.cooperations)
    )


def _cooperation_event(
    complaint: Complaint, type: str, entry: dict[str, Any], what: str, now: datetime, source: str, **extra: Any
) -> Event:
    """PII-free: codes, departments, the request id and its days; never the question or the reply."""
    data = {
        "request_id": entry["id"],
        "department": entry["department"],
        "from_department": entry["from_department"],
        "working_days": entry["working_days"],
        "requested_at": entry["requested_at"],
        "kind": complaint.kind,
        "category": complaint.category,
        "district": complaint.district,
        **extra,
    }
    return _event(complaint, type, data, now, source, "cooperation", entry["id"], what)


def check_cooperation_text(name: str, text: str, what: str) -> None:
    if not text.strip():
        raise Invalid(name, f"a cooperation {what} has a text")
    if len(text) > MAX_COOPERATION_TEXT:
        raise Invalid(name, f"a cooperation {what} is at most {MAX_COOPERATION_TEXT} characters")


def request_cooperation(
    complaint: Complaint,
    *,
    request_id: str,
    department: str,
    working_days: int | None,
    question: str,
    sealed: str,
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
    department_name: str | None = None,
) -> tuple[Complaint, list[Event]]:
    """협조 요청: the lead department asks another department for its input, within ``working_days``
    (default :data:`COOPERATION_DEFAULT_DAYS`) counted by the deadline service on the working calendar.
    ``sealed``: the question, sealed. One open request per department at a time."""
    _require(complaint, "request cooperation on", OPEN)
    if complaint.department is None:
        raise Conflict("the complaint has no lead department yet", receipt_no=complaint.receipt_no)
    department = department.strip()
    if not department:
        raise Invalid("department", "name the cooperating department")
    if department == complaint.department:
        raise Invalid("department", "a cooperating department is another department than the lead one")
    days = COOPERATION_DEFAULT_DAYS if working_days is None else working_days
    if not 1 <= days <= COOPERATION_MAX_DAYS:
        raise Invalid("working_days", f"between 1 and {COOPERATION_MAX_DAYS} working days")
    check_cooperation_text("question", question, "request")
    if any(e["department"] == department and e["state"] == COOPERATION_OPEN for e in complaint.cooperations):
        raise Conflict(
            "this department already has an open request on the complaint",
            department=department,
            receipt_no=complaint.receipt_no,
        )
    if any(e["id"] == request_id for e in complaint.cooperations):
        raise Conflict("a cooperation request with this id exists", request_id=request_id)
    entry = {
        "id": request_id,
        "department": department,
        "department_name": department_name,
        "from_department": complaint.department,
        "working_days": days,
        "state": COOPERATION_OPEN,
        "requested_at": now.isoformat(),
        "requested_by": _who(by),
        "question_sealed": sealed,
        "due_at": None,
        "warning_at": None,
        "overdue": False,
        "reply_sealed": None,
        "replied_at": None,
        "replied_by": None,
        "cancelled_at": None,
        "cancelled_by": None,
    }
    new = _with_cooperation(complaint, entry)
    return new, [_cooperation_event(new, c.COMPLAINT_COOPERATION_REQUESTED, entry, "requested", now, source)]


def reply_cooperation(
    complaint: Complaint,
    *,
    request_id: str,
    department: str | None,
    text: str,
    sealed: str,
    now: datetime,
    source: str,
    by: dict[str, Any] | None,
) -> tuple[Complaint, list[Event]]:
    """The cooperating department's reply (``sealed``: its text): for the lead handler only, never to the
    citizen. ``department``: the replying official's (None: the complaint office, on its behalf)."""
    entry = _cooperation(complaint, request_id)
    _require(complaint, "reply to a cooperation request on", OPEN)
    if department is not None and department != entry["department"]:
        raise DomainError(
            "forbidden", "only the department asked replies to a cooperation request", 403, field="request_id"
        )
    if entry["state"] != COOPERATION_OPEN:
        raise Conflict(
            f"cannot reply to a cooperation request that is {entry['state']}",
            state=entry["state"],
            request_id=request_id,
        )
    check_cooperation_text("text", text, "reply")
    entry.update(state=COOPERATION_REPLIED, reply_sealed=sealed, replied_at=now.isoformat(), replied_by=_who(by))
    new = _with_cooperation(complaint, entry)
    return new, [
        _cooperation_event(
            new, c.COMPLAINT_COOPERATION_REPLIED, entry, "replied", now, source, replied_at=now.isoformat()
        )
    ]


def cancel_cooperation(
    complaint: Complaint, *, request_id: str, now: datetime, source: str, by: dict[str, Any] | None
) -> tuple[Complaint, list[Event]]:
    """The lead department withdraws its request: its clock stops, no reply is expected."""
    entry = _cooperation(complaint, request_id)
    if entry["state"] != COOPERATION_OPEN:
        raise Conflict(
            f"cannot cancel a cooperation request that is {entry['state']}", state=entry["state"], request_id=request_id
        )
    entry.update(state=COOPERATION_CANCELLED, cancelled_at=now.isoformat(), cancelled_by=_who(by))
    new = _with_cooperation(complaint, entry)
    return new, [
        _cooperation_event(
            new, c.COMPLAINT_COOPERATION_CANCELLED, entry, "cancelled", now, source, cancelled_at=now.isoformat()
        )
    ]


def note_cooperation_clock(
    complaint: Complaint,
    *,
    request_id: str,
    due_at: str | None = None,
    warning_at: str | None = None,
    overdue: bool | None = None,
) -> Complaint:
    """What the deadline service announced of a request's clock (its due time, that it is overdue)."""
    try:
        entry = _cooperation(complaint, request_id)
    except DomainError:
        return complaint  # a clock of a request this complaint does not have: nothing to note
    if due_at is not None:
        entry.update(due_at=due_at, warning_at=warning_at)
    if overdue is not None:
        entry["overdue"] = overdue
    return _with_cooperation(complaint, entry)


def may_read_as_cooperating(complaint: Complaint, department: str | None) -> bool:
    """An official of ``department`` may read the complaint while it has asked them (an open request on a
    complaint still open: once it is closed, withdrawn or transferred, the request is moot)."""
    return (
        department is not None
        and complaint.status in OPEN
        and any(e["department"] == department and e["state"] == COOPERATION_OPEN for e in complaint.cooperations)
    )


def cooperation_view(entry: dict[str, Any], *, question: str | None, reply: str | None) -> dict[str, Any]:
    """A request as officials see it (``question``/``reply``: opened, or None when not theirs to read)."""
    keys = (
        "id",
        "department",
        "department_name",
        "from_department",
        "working_days",
        "state",
        "requested_at",
        "requested_by",
        "due_at",
        "warning_at",
        "overdue",
        "replied_at",
        "replied_by",
        "cancelled_at",
        "cancelled_by",
    )
    return {**{k: entry.get(k) for k in keys}, "question": question, "reply": reply}


def visible_cooperations(complaint: Complaint, department: str | None, *, every: bool) -> list[dict[str, Any]]:
    """The requests an official sees: all of them (the lead department, the complaint office: ``every``),
    else only those addressed to their ``department``."""
    return [e for e in complaint.cooperations if every or e["department"] == department]
