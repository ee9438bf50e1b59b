"""Notification rules: which notices an event causes, to whom, on which channel,
when they may be sent, and how a delivery attempt ends.

Pure: no I/O, no clock reads (``now`` is passed in), no crypto. The handlers
open sealed contact details and pass them in already opened.

A notification is a record with a deterministic id, ``derive_id(cause event
id, template id, recipient role)``, so a redelivered, replayed or re-consumed
cause finds the record it already created and nothing is sent twice.

Glossary: notice / 통지; receipt confirmation / 접수 확인; supplementation /
보완; extension / 연장; progress notice / 진행상황 통지; result / 처리결과;
pre-warning / 사전예고; escalation / 독촉·상향보고; accountability (every
notice names the handler and contact) / 민원책임실명제; quiet hours / 야간
발송 제한; KakaoTalk AlimTalk / 알림톡; long SMS / LMS; postal letter / 우편
(e-그린우편).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon import topics
from minwon.docstore import iso
from minwon.events import Event, derive_id
from minwon.workcal import WorkCalendar

_SEOUL = ZoneInfo("Asia/Seoul")

# ------------------------------------------------------------------ vocabulary

CITIZEN, STAFF = "citizen", "staff"

# delivery status of a notification
PENDING = "pending"  # created, or waiting for contact details / the handler / a sealed part
DEFERRED = "deferred"  # quiet hours: sent at next_attempt_at
SENDING = "sending"  # claimed by a sender; the provider is being called
SENT = "sent"
FAILED = "failed"  # an attempt failed; retried at next_attempt_at
DEAD = "dead"  # retries exhausted (or no lawful channel for a legally required notice)
SKIPPED = "skipped"  # nothing to send: the citizen chose no channel for an optional notice
SUPERSEDED = "superseded"  # outdated before it went (the complaint finished, or a newer notice of its kind)
STATUSES = (PENDING, DEFERRED, SENDING, SENT, FAILED, DEAD, SKIPPED, SUPERSEDED)
FINAL = frozenset({SENT, DEAD, SKIPPED, SUPERSEDED})
DUE = (PENDING, DEFERRED, FAILED, SENDING)  # the delivery loop looks at these when next_attempt_at has come

# channels
SMS, LMS, ALIMTALK, EMAIL, POST, STAFF_MESSAGE = "sms", "lms", "alimtalk", "email", "post", "staff"
CHANNELS = (SMS, LMS, ALIMTALK, EMAIL, POST, STAFF_MESSAGE)
QUIET_CHANNELS = frozenset({SMS, LMS, ALIMTALK})
SMS_MAX_BYTES = 90  # one SMS: 90 bytes in EUC-KR/CP949 (a Hangul syllable takes 2: 45 syllables)

ROLE_CITIZEN = "citizen"


@dataclass(frozen=True)
class Template:
    """A message template; its text is ``templates/<id>.v<version>.txt.j2``."""

    id: str
    version: int
    audience: str
    title: str
    legal: bool = False
    """Legally required: exempt from quiet hours, never skipped, goes by post if nothing else."""
    letter: bool = False
    """A postal letter only (the result letter)."""
    needs_handler: bool = True
    """Waits for an assigned handler to name (a transfer may come before any assignment)."""
    to_handler: bool = False
    """A staff notice that can go only to the complaint's handler (the reply to the handler's own
    cooperation request): it waits until this service knows who that is, since the events saying so
    may come after its cause. Other staff notices to the role "handler" (deadline warnings) go to the
    department when no one handles the complaint."""

    @property
    def file(self) -> str:
        return template_file(self.id, self.version)


def template_file(template_id: str, version: int) -> str:
    return f"{template_id}.v{version}.txt.j2"


RECEIPT = "citizen.receipt"
REASSIGNED = "citizen.reassigned"
SUPPLEMENTATION = "citizen.supplementation"
EXTENSION = "citizen.extension"
PROGRESS = "citizen.progress"
TRANSFERRED = "citizen.transferred"
RESULT = "citizen.result"
RESULT_LETTER = "citizen.result.letter"
SURVEY = "citizen.survey"
COMPENSATION = "citizen.compensation"
STAFF_ASSIGNED = "staff.assigned"
STAFF_WARNING = "staff.warning"
STAFF_ESCALATED = "staff.escalated"
STAFF_COOPERATION_REQUESTED = "staff.cooperation_requested"
STAFF_COOPERATION_WARNING = "staff.cooperation_warning"
STAFF_COOPERATION_OVERDUE = "staff.cooperation_overdue"
STAFF_COOPERATION_REPLIED = "staff.cooperation_replied"

TEMPLATES: Mapping[str, Template] = {
    t.id: t
    for t in (
        Template(RECEIPT, 1, CITIZEN, "민원 접수 안내"),
        Template(REASSIGNED, 1, CITIZEN, "민원 담당자 변경 안내"),
        Template(SUPPLEMENTATION, 1, CITIZEN, "민원 보완 요청"),
        Template(EXTENSION, 1, CITIZEN, "민원 처리기간 연장 통지", legal=True),
        Template(PROGRESS, 2, CITIZEN, "민원 처리 진행상황 안내"),
        Template(TRANSFERRED, 1, CITIZEN, "민원 이송 통지", legal=True, needs_handler=False),
        Template(RESULT, 2, CITIZEN, "민원 처리결과 통지", legal=True),
        Template(RESULT_LETTER, 2, CITIZEN, "민원 처리결과 통지서", legal=True, letter=True),
        Template(SURVEY, 1, CITIZEN, "민원 만족도 조사 안내"),
        Template(COMPENSATION, 1, CITIZEN, "민원 서비스 이행기준 미준수 보상 안내"),
        Template(STAFF_ASSIGNED, 1, STAFF, "민원 배정 알림"),
        Template(STAFF_WARNING, 1, STAFF, "처리기한 사전예고"),
        Template(STAFF_ESCALATED, 1, STAFF, "처리기한 경과 독촉"),
        Template(STAFF_COOPERATION_REQUESTED, 1, STAFF, "협조 요청", needs_handler=False),
        Template(STAFF_COOPERATION_WARNING, 1, STAFF, "협조 회신기한 사전예고", needs_handler=False),
        Template(STAFF_COOPERATION_OVERDUE, 1, STAFF, "협조 회신기한 경과 독촉", needs_handler=False),
        Template(STAFF_COOPERATION_REPLIED, 1, STAFF, "협조 회신 도착", to_handler=True),
    )
}

OUTCOME_LABELS = {"accepted": "수용", "partly_accepted": "일부 수용", "rejected": "불수용"}
REMEDY_DEFAULT = "이의신청(결과 통지를 받은 날부터 60일 이내), 행정심판 또는 행정소송"
ROLE_LABELS = {
    "handler": "담당자",
    "team_lead": "팀장",
    "section_chief": "과장",
    "complaint_office": "민원담당관",
    "cooperating_department": "협조부서 담당자",
}


@dataclass(frozen=True)
class Policy:
    """Quiet hours, retries and leases (defaults: 21:00–08:00 and non-working days; 5 attempts)."""

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_on_non_working_days: bool = True
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_factor: float = 2.0
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    waiting_recheck: timedelta = timedelta(hours=1)
    office_contact: str = "120"
    """Used when the assignment named no contact for the handler (the 120 call centre)."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Where citizens reach the portal: links in notices are made absolute with it."""
    lookup_path: str = "/lookup"
    """The portal's lookup page (receipt number + check code), where the full answer is read."""
    answer_wait: timedelta = timedelta(minutes=10)
    """How long a result notice waits for the sealed answer; a close that has none (an old close
    without text) is then notified without the text."""


# ------------------------------------------------------------------ facts per complaint


def _iso(instant: datetime) -> str:
    """Sortable UTC text for stored instants (``docstore.iso``)."""
    return iso(instant)


def handler_from(data: Mapping[str, Any]) -> dict[str, Any]:
    """The handler named by an assignment event (routing's ``data.handler`` {id, name, contact},
    ``data.department`` code and ``data.department_name``)."""
    raw = data.get("handler") or {}
    if isinstance(raw, str):
        raw = {"name": raw}
    contact = (
        raw.get("contact") or raw.get("phone") or raw.get("tel") or data.get("handler_contact") or data.get("contact")
    )
    return {
        "id": raw.get("id") or data.get("handler_id"),
        "name": raw.get("name") or data.get("handler_name"),
        "contact": contact,
        "department": data.get("department_name") or data.get("department") or raw.get("department"),
        "department_code": data.get("department"),
    }


def note(
    state: Mapping[str, Any] | None,
    event: Event,
    *,
    sealed: str | None = None,
    contacts: Mapping[str, bool] | None = None,
    named: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The per-complaint facts after ``event``; ``None`` when the event changes nothing.

    ``sealed`` is the sealed part of a ``complaint.sealed`` event, already
    re-sealed with this service's key; ``contacts`` says which contact
    details (phone, email, address) a filing part holds, without them;
    ``named``: the official a part names (an answer's, public under 민원책임실명제).
    """
    data = event.data
    doc: dict[str, Any] = dict(state or {})
    doc.setdefault("receipt_no", event.subject)
    doc.setdefault("parts", [])
    for key in ("kind", "priority", "confidential", "received_at"):
        if key in data and key not in doc:
            doc[key] = data[key]
    if isinstance(data.get("consent"), Mapping):
        doc["consent"] = {k: bool(data["consent"].get(k)) for k in ("sms", "alimtalk", "email", "post")}

    if event.type == c.COMPLAINT_SEALED:
        part = data.get("part")
        if sealed is None or not part:
            return None
        if part == "filing":
            doc["contact"] = sealed
            doc["contacts"] = dict(contacts or {})
        else:
            entry = {
                "name": part,
                "occurred_at": data.get("occurred_at") or _iso(event.time),
                "sealed": sealed,
                "event": event.id,
            }
            if named and named.get("name"):
                entry["handler"] = dict(named)
            doc["parts"] = [p for p in doc["parts"] if p["event"] != event.id] + [entry]
    elif event.type in (c.COMPLAINT_ASSIGNED, c.COMPLAINT_REASSIGNED):
        doc["handler"] = handler_from(data)
        doc["department"] = doc["handler"]["department"] or doc.get("department")
        if event.type == c.COMPLAINT_ASSIGNED and not doc.get("first_assigned"):
            doc["first_assigned"] = event.id
    elif event.type == c.COMPLAINT_ROUTED:
        doc["department"] = data.get("department_name") or data.get("department") or doc.get("department")
    elif event.type in (c.DEADLINE_SET, c.DEADLINE_UPDATED):
        if data.get("due_at") is None and "due_at" not in data:
            return None
        doc["due_at"] = data.get("due_at")
        doc["due_noted_at"] = data.get("occurred_at") or _iso(event.time)
    elif event.type == c.COMPLAINT_CLOSED:
        doc["outcome"] = data.get("outcome")
        doc["closed_at"] = data.get("occurred_at") or _iso(event.time)
    elif event.type == c.COMPLAINT_WITHDRAWN:
        doc["withdrawn_at"] = data.get("occurred_at") or _iso(event.time)
    elif event.type == c.COMPLAINT_TRANSFERRED:
        doc["transferred_at"] = data.get("occurred_at") or _iso(event.time)
    elif event.type != c.COMPLAINT_RECEIVED:
        return None
    return doc


def find_part(state: Mapping[str, Any], ref: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The sealed part ``ref`` points at: same name and instant (the public and the sealed
    event of one step carry the same ``occurred_at``); without an instant, the latest."""
    parts = [p for p in state.get("parts", ()) if p["name"] == ref["name"]]
    if ref.get("occurred_at"):
        parts = [p for p in parts if _same_instant(p["occurred_at"], ref["occurred_at"])]
    return parts[-1] if parts else None


def _same_instant(a: str, b: str) -> bool:
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return a == b


# ------------------------------------------------------------------ which notices an event causes


@dataclass(frozen=True)
class Draft:
    """A notification decided but not yet created."""

    template: str
    role: str
    cause: Event
    vars: dict[str, Any] = field(default_factory=dict)
    part: dict[str, Any] | None = None
    urgent: bool = False

    @property
    def id(self) -> str:
        return notification_id(self.cause.id, self.template, self.role)

    def to_doc(self, now: datetime) -> dict[str, Any]:
        template = TEMPLATES[self.template]
        return {
            "_id": self.id,
            "id": self.id,
            "receipt_no": self.cause.subject,
            "template": template.id,
            "template_version": template.version,
            "audience": template.audience,
            "role": self.role,
            "legal": template.legal,
            "urgent": self.urgent,
            "cause": self.cause.id,
            "cause_type": self.cause.type,
            "vars": self.vars,
            "part": self.part,
            "status": PENDING,
            "waiting": [],
            "attempts": 0,
            "attempt_log": [],
            "channel": None,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "next_attempt_at": _iso(now),
            "sent_at": None,
            "claim": None,
            "error": None,
            "skip_reason": None,
            "to_masked": None,
            "text_masked": None,
            "text_sha256": None,
            "text_sealed": None,
            "letter": None,
            "delivery": None,
        }


def notification_id(cause_id: str, template: str, role: str) -> str:
    """The notification's deterministic id: one per cause, template and recipient role."""
    return derive_id(cause_id, template, role)


def plan(event: Event, state: Mapping[str, Any] | None) -> list[Draft]:
    """The notices ``event`` causes, given the complaint's facts after it."""
    state = state or {}
    data = event.data
    t = event.type
    if t == c.COMPLAINT_ASSIGNED or t == c.COMPLAINT_REASSIGNED:
        handler = handler_from(data)
        citizen = RECEIPT if t == c.COMPLAINT_ASSIGNED and state.get("first_assigned") == event.id else REASSIGNED
        return [
            Draft(citizen, ROLE_CITIZEN, event, {"handler": handler}),
            Draft(STAFF_ASSIGNED, "handler", event, {"handler": handler}),
        ]
    if t == c.COMPLAINT_SUPPLEMENTATION_REQUESTED:
        due = data.get("supplement_due")
        urgent = bool(data.get("urgent")) or (due is not None and _parse(due) - event.time <= timedelta(days=1))
        return [
            Draft(
                SUPPLEMENTATION,
                ROLE_CITIZEN,
                event,
                {"supplement_due": due},
                part=_part_ref("supplementation_requested", event, required=True),
                urgent=urgent,
            )
        ]
    if t == c.COMPLAINT_EXTENDED:
        return [
            Draft(
                EXTENSION,
                ROLE_CITIZEN,
                event,
                {
                    "period": data.get("period"),
                    "extension_no": data.get("extension_no"),
                    "occurred_at": data.get("occurred_at") or _iso(event.time),
                },
                part=_part_ref("extended", event, required=True),
            )
        ]
    if t == c.COMPLAINT_TRANSFERRED:
        return [
            Draft(
                TRANSFERRED,
                ROLE_CITIZEN,
                event,
                {"agency": data.get("agency")},
                part=_part_ref("transferred", event, required=True),
            )
        ]
    if t == c.DEADLINE_PROGRESS_DUE:
        due = data.get("due_at") or data.get("expected_due") or data.get("expected_completion")
        return [Draft(PROGRESS, ROLE_CITIZEN, event, {"due_at": due})]
    if t == c.COMPLAINT_CLOSED:
        outcome = data.get("outcome")
        # the answer (text, reasons, remedy, handler) travels sealed beside the close; a close that
        # has none (an old close without text) falls back, after ``Policy.answer_wait``, to the
        # "closed" part, which a rejection needs for its reasons and remedy
        ref = {
            **_part_ref("answer", event, required=True),
            "fallback": _part_ref("closed", event, required=outcome == "rejected"),
        }
        variables = {"outcome": outcome}
        return [
            Draft(RESULT, ROLE_CITIZEN, event, variables, part=ref),
            Draft(RESULT_LETTER, ROLE_CITIZEN, event, variables, part=ref),
        ]
    if t == c.SURVEY_INVITED:
        return [Draft(SURVEY, ROLE_CITIZEN, event, {"link": data.get("link"), "expires_at": data.get("expires_at")})]
    if t == c.COMPENSATION_GRANTED:
        return [
            Draft(
                COMPENSATION,
                ROLE_CITIZEN,
                event,
                {
                    "voucher_code": data.get("voucher_code"),
                    "amount_krw": data.get("amount_krw"),
                    "compensation_cause": data.get("cause"),
                },
            )
        ]
    if t in COOPERATION_NOTICES:
        template, default = COOPERATION_NOTICES[t]
        asked = {
            "to_department": data.get("department") if default != "handler" else None,
            "asked_department": data.get("department"),
            "request_id": data.get("request_id"),
            "request_due_at": data.get("due_at"),
            "working_days": data.get("working_days"),
        }
        return [
            Draft(template, r, event, asked, urgent=t == c.DEADLINE_COOPERATION_OVERDUE)
            for r in _roles(data.get("recipients")) or [default]
        ]
    if t == c.DEADLINE_WARNING:
        roles = _roles(data.get("recipients")) or ["handler"]
        return [Draft(STAFF_WARNING, r, event, {"due_at": data.get("due_at")}) for r in roles]
    if t == c.DEADLINE_ESCALATED:
        level = int(data.get("level") or 1)
        roles = _roles(data.get("recipients")) or ["handler"]
        return [
            Draft(STAFF_ESCALATED, r, event, {"level": level, "due_at": data.get("due_at")}, urgent=level >= 2)
            for r in roles
        ]
    return []


COOPERATION_NOTICES = {
    c.COMPLAINT_COOPERATION_REQUESTED: (STAFF_COOPERATION_REQUESTED, "cooperating_department"),
    c.DEADLINE_COOPERATION_WARNING: (STAFF_COOPERATION_WARNING, "cooperating_department"),
    c.DEADLINE_COOPERATION_OVERDUE: (STAFF_COOPERATION_OVERDUE, "team_lead"),
    c.COMPLAINT_COOPERATION_REPLIED: (STAFF_COOPERATION_REPLIED, "handler"),
}
"""협조 요청: the department asked is told of a request, warned before its due time, and its team lead
escalated to when it is overdue (``to_department``: theirs, not the complaint's); the lead handler is
told of the reply (its text stays in intake: the notice says only that it came)."""


def _roles(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    return list(dict.fromkeys(str(r) for r in raw or () if r))


def _part_ref(name: str, event: Event, *, required: bool) -> dict[str, Any]:
    return {"name": name, "occurred_at": event.data.get("occurred_at") or _iso(event.time), "required": required}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ------------------------------------------------------------------ can it be sent yet?


def missing(
    record: Mapping[str, Any], state: Mapping[str, Any], now: datetime | None = None, policy: Policy | None = None
) -> list[str]:
    """What a notice still waits for: the citizen's contact details, the handler, a sealed part.

    A part with a fallback (the result's answer) is waited for until ``policy.answer_wait`` after
    the notice was made; then the fallback is what the notice needs (without ``now``: no fallback).
    """
    if record["audience"] != CITIZEN:
        to_handler = TEMPLATES[record["template"]].to_handler and record["role"] == "handler"
        return ["handler"] if to_handler and not handler_of(record, state).get("name") else []
    out = []
    if not state.get("contact"):
        out.append("contact")
    ref = part_ref(record, state, now, policy)
    part = find_part(state, ref) if ref else None
    named = handler_of(record, state).get("name") or (part or {}).get("handler", {}).get("name")
    if not named and TEMPLATES[record["template"]].needs_handler:
        out.append("handler")  # the answer's own official does, for a complaint never assigned
    if ref and ref.get("required") and part is None:
        out.append(f"part:{ref['name']}")
    return out


def part_ref(
    record: Mapping[str, Any], state: Mapping[str, Any], now: datetime | None = None, policy: Policy | None = None
) -> Mapping[str, Any] | None:
    """The sealed part a notice uses: its own, or once that has not come within the wait, its fallback."""
    ref = record.get("part")
    if not ref or not ref.get("fallback") or find_part(state, ref) is not None:
        return ref
    deadline = answer_deadline(record, policy or Policy())
    if now is not None and deadline is not None and now >= deadline:
        return ref["fallback"]
    return ref


def answer_deadline(record: Mapping[str, Any], policy: Policy) -> datetime | None:
    """Until when a notice waits for a part that has a fallback (``None``: it has none)."""
    ref = record.get("part") or {}
    if not ref.get("fallback") or not record.get("created_at"):
        return None
    return _parse(record["created_at"]) + policy.answer_wait


def handler_of(record: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """The handler a notice names: the complaint's current one when it is sent (a notice held by quiet
    hours or retries names whoever handles the complaint by then), else the one its cause named."""
    named = (record.get("vars") or {}).get("handler") or {}
    current = state.get("handler") or {}
    return dict(current) if current.get("name") else dict(named)


# ------------------------------------------------------------------ superseded notices

MOOT_WHEN_FINISHED = frozenset(
    {RECEIPT, REASSIGNED, SUPPLEMENTATION, PROGRESS, STAFF_ASSIGNED, STAFF_WARNING, STAFF_ESCALATED}
)
"""Notices about a complaint in progress: outdated once it is closed, withdrawn or transferred.
Legally required notices (extension, transfer, result) and those that follow the end (survey,
compensation) are never dropped."""
LATEST_ONLY = frozenset({REASSIGNED, PROGRESS, STAFF_ASSIGNED, STAFF_WARNING, STAFF_ESCALATED})
"""Notices whose newer one of the same template and recipient role says all the older one would."""
FINISHED = (("closed_at", "closed"), ("withdrawn_at", "withdrawn"), ("transferred_at", "transferred"))


def latest_key(template: str, role: str) -> str:
    """The key of the complaint's newest notice of a kind (``state["latest"]``); no dots (a document
    store reads a dotted field name as a path)."""
    return f"{template}|{role}".replace(".", ":")


def newest(drafts: Sequence[Draft]) -> dict[str, str]:
    """The ``state["latest"]`` entries a batch of new notices sets (kinds that keep only the newest)."""
    return {latest_key(d.template, d.role): d.id for d in drafts if d.template in LATEST_ONLY}


def remember(
    state: Mapping[str, Any] | None, receipt_no: str, ids: Sequence[str], *, latest: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The facts with the complaint's notice ids noted, so that its events find its notices by id instead of
    querying all notices; ``latest``: the newest notice of each kind that keeps only the newest, set only by a
    notice new here (a replayed older cause does not make its notice the newest again). ``None``: all known."""
    known = list((state or {}).get("notices", []))
    new = [i for i in ids if i not in known]
    if not new:
        return None
    newest = dict((state or {}).get("latest") or {})
    newest.update({k: v for k, v in (latest or {}).items() if v in new})
    return {**(state or {"receipt_no": receipt_no}), "notices": known + new, "latest": newest}


def superseded(record: Mapping[str, Any], state: Mapping[str, Any]) -> str | None:
    """Why a notice not yet sent is outdated (``None``: it is not).

    - ``closed`` / ``withdrawn`` / ``transferred``: a notice about the complaint in progress (receipt,
      reassignment, supplementation request, progress, staff assignment, warning, escalation) whose
      complaint has ended, whatever the order its events came in;
    - ``newer_notice``: a reassignment, progress, staff assignment, warning or escalation notice when
      a newer one of the same template goes to the same role.
    """
    if record.get("status") in FINAL:
        return None
    template = record["template"]
    if template in MOOT_WHEN_FINISHED:
        for key, reason in FINISHED:
            if state.get(key):
                return reason
    if template in LATEST_ONLY:
        latest = (state.get("latest") or {}).get(latest_key(template, record["role"]))
        if latest and latest != record["id"]:
            return "newer_notice"
    return None


def superseded_record(record: Mapping[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    """Dropped, never sent: its information was outdated before it could go."""
    return {
        **record,
        "status": SUPERSEDED,
        "waiting": [],
        "claim": None,
        "superseded_reason": reason,
        "superseded_at": _iso(now),
        "updated_at": _iso(now),
        "next_attempt_at": None,
    }


# ------------------------------------------------------------------ channels


@dataclass(frozen=True)
class Consent:
    sms: bool = False
    alimtalk: bool = False
    email: bool = False
    post: bool = False

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> Consent:
        raw = raw or {}
        return cls(**{k: bool(raw.get(k)) for k in ("sms", "alimtalk", "email", "post")})


@dataclass(frozen=True)
class Choice:
    channel: str | None
    reason: str | None = None
    """Why there is no channel: ``no_consent``, ``covered_by_letter``, ``not_requested``, ``no_lawful_channel``."""


def electronic_channel(consent: Consent, contacts: Mapping[str, bool]) -> str | None:
    """AlimTalk, then SMS, then e-mail: the first the citizen opted in to and gave the contact for.

    SMS is used only with the citizen's opt-in (``consent.sms``).
    """
    if consent.alimtalk and contacts.get("phone"):
        return ALIMTALK
    if consent.sms and contacts.get("phone"):
        return SMS
    if consent.email and contacts.get("email"):
        return EMAIL
    return None


def choose_channel(record: Mapping[str, Any], consent: Consent, contacts: Mapping[str, bool]) -> Choice:
    """The channel a notice goes by.

    - staff notices: the staff messenger;
    - the result letter: by post when the citizen asked for post, or when no
      electronic channel can carry the (legally required) result;
    - other citizen notices: the citizen's electronic channel; a legally
      required one with none goes by post; an optional one is skipped.
    """
    template = TEMPLATES[record["template"]]
    if template.audience == STAFF:
        return Choice(STAFF_MESSAGE)
    electronic = electronic_channel(consent, contacts)
    if template.letter:
        if consent.post or electronic is None:
            return Choice(POST) if contacts.get("address") else Choice(None, "no_lawful_channel")
        return Choice(None, "not_requested")
    if electronic is not None:
        return Choice(electronic)
    if template.id == RESULT:
        return Choice(None, "covered_by_letter")
    if template.legal:
        return Choice(POST) if contacts.get("address") else Choice(None, "no_lawful_channel")
    return Choice(None, "no_consent")


def sms_kind(text: str) -> str:
    """SMS up to 90 bytes in EUC-KR/CP949 (45 Hangul syllables), LMS above."""
    return SMS if len(text.encode("cp949", errors="replace")) <= SMS_MAX_BYTES else LMS


def sized(channel: str, text: str) -> str:
    """An SMS whose text is over 90 bytes goes as LMS."""
    return sms_kind(text) if channel in (SMS, LMS) else channel


def fallback_channel(channel: str, text: str, consent: Consent, contacts: Mapping[str, bool]) -> str | None:
    """When AlimTalk fails: SMS or LMS by length, only for a citizen who opted in to SMS."""
    if channel != ALIMTALK or not (consent.sms and contacts.get("phone")):
        return None
    return sms_kind(text)


# ------------------------------------------------------------------ quiet hours


def quiet_until(
    channel: str, record: Mapping[str, Any], now: datetime, calendar: WorkCalendar, policy: Policy
) -> datetime | None:
    """When a notice held back by quiet hours may go; ``None``: it may go now.

    Quiet hours (default 21:00–08:00 Asia/Seoul, and whole non-working days)
    hold back SMS, LMS and AlimTalk; urgent and legally required notices are
    exempt, and other channels are never held.
    """
    if channel not in QUIET_CHANNELS or record.get("urgent") or record.get("legal"):
        return None
    allowed = next_allowed(now, calendar, policy)
    return None if allowed == calendar.local(now) else allowed


def next_allowed(now: datetime, calendar: WorkCalendar, policy: Policy) -> datetime:
    """The first instant at or after ``now`` outside quiet hours (in the calendar's zone)."""
    at = calendar.local(now)
    d = at.date()
    for _ in range(800):
        if not policy.quiet_on_non_working_days or calendar.is_working_day(d):
            for start, end in _open_segments(d, policy, calendar):
                if at < end:
                    return max(at, start)
        d += timedelta(days=1)
    raise ValueError("no allowed sending time within 800 days")  # pragma: no cover


def _open_segments(d: date, policy: Policy, calendar: WorkCalendar) -> list[tuple[datetime, datetime]]:
    zone = calendar.zone
    day_start = datetime.combine(d, time(0), zone)
    day_end = datetime.combine(d + timedelta(days=1), time(0), zone)
    qs, qe = datetime.combine(d, policy.quiet_start, zone), datetime.combine(d, policy.quiet_end, zone)
    if policy.quiet_start == policy.quiet_end:
        return [(day_start, day_end)]
    if policy.quiet_start > policy.quiet_end:  # over midnight: open between the end and the start
        return [(qe, qs)]
    return [(day_start, qs), (qe, day_end)]


# ------------------------------------------------------------------ retries


def backoff(attempts: int, policy: Policy) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base × factor^(attempts-1), capped."""
    if attempts < 1:
        raise ValueError("attempts start at 1")
    seconds = policy.backoff_base.total_seconds() * policy.backoff_factor ** (attempts - 1)
    return min(timedelta(seconds=seconds), policy.backoff_max)


def schedule(policy: Policy) -> list[timedelta]:
    """Every wait between attempts, up to the limit (then the notice is dead)."""
    return [backoff(n, policy) for n in range(1, policy.max_attempts)]


# ------------------------------------------------------------------ state transitions of a record


def attemptable(record: Mapping[str, Any], now: datetime) -> bool:
    """Whether a delivery attempt may start now."""
    if record["status"] in FINAL:
        return False
    if record["status"] == PENDING:
        return True  # new, or waiting for details whose arrival wakes it
    # deferred, failed, or "sending" by a sender that may have crashed: once its time has come
    return record.get("next_attempt_at") is None or record["next_attempt_at"] <= _iso(now)


def waiting(record: Mapping[str, Any], what: Sequence[str], now: datetime, policy: Policy) -> dict[str, Any]:
    """Pending until the missing inputs arrive (their arrival wakes it; a slow re-check too)."""
    recheck = now + policy.waiting_recheck
    deadline = answer_deadline(record, policy)
    if deadline is not None and now < deadline < recheck:
        recheck = deadline  # the fallback is taken then, even if nothing else arrives
    return {
        **record,
        "status": PENDING,
        "waiting": list(what),
        "updated_at": _iso(now),
        "next_attempt_at": _iso(recheck),
    }


def deferred(record: Mapping[str, Any], until: datetime, channel: str, now: datetime) -> dict[str, Any]:
    return {
        **record,
        "status": DEFERRED,
        "waiting": [],
        "channel": channel,
        "updated_at": _iso(now),
        "deferred_until": _iso(until),
        "next_attempt_at": _iso(until),
    }


def skipped(record: Mapping[str, Any], reason: str, now: datetime) -> dict[str, Any]:
    return {
        **record,
        "status": SKIPPED,
        "waiting": [],
        "skip_reason": reason,
        "updated_at": _iso(now),
        "next_attempt_at": None,
    }


def claim(record: Mapping[str, Any], token: str, channel: str, now: datetime, policy: Policy) -> dict[str, Any] | None:
    """Mark the notice "sending" before the provider is called; ``None`` if someone else holds it."""
    if not attemptable(record, now):
        return None
    return {
        **record,
        "status": SENDING,
        "waiting": [],
        "claim": token,
        "channel": channel,
        "attempts": int(record.get("attempts", 0)) + 1,
        "updated_at": _iso(now),
        "sending_since": _iso(now),
        "next_attempt_at": _iso(now + policy.lease),
    }


@dataclass(frozen=True)
class Try:
    """One provider call within an attempt."""

    channel: str
    outcome: str  # "sent" | "failed"
    error: str | None = None
    provider: str | None = None
    message_id: str | None = None
    duplicate: bool = False
    permanent: bool = False
    """A failure the provider says will not get better by retrying (an invalid number, ...)."""

    def entry(self, attempt: int, now: datetime) -> dict[str, Any]:
        return {
            "attempt": attempt,
            "at": _iso(now),
            "channel": self.channel,
            "outcome": self.outcome,
            "error": self.error,
            "provider": self.provider,
            "message_id": self.message_id,
            "duplicate": self.duplicate,
            "permanent": self.permanent,
        }


@dataclass(frozen=True)
class Rendered:
    """What was (or would have been) sent, kept as evidence: masked text, its hash, the sealed full text."""

    to_masked: str
    text_masked: str
    text_sha256: str
    text_sealed: str | None = None
    letter: dict[str, Any] | None = None


def delivered(
    record: Mapping[str, Any], tries: Sequence[Try], rendered: Rendered, now: datetime, source: str
) -> tuple[dict[str, Any], list[tuple[str, Event]]]:
    """The attempt succeeded: sent, and ``notification.sent`` (PII-free) announces it."""
    last = tries[-1]
    attempt = int(record["attempts"])
    new = {
        **record,
        "status": SENT,
        "channel": last.channel,
        "claim": None,
        "error": None,
        "updated_at": _iso(now),
        "sent_at": _iso(now),
        "next_attempt_at": None,
        "attempt_log": list(record.get("attempt_log", [])) + [t.entry(attempt, now) for t in tries],
        "to_masked": rendered.to_masked,
        "text_masked": rendered.text_masked,
        "text_sha256": rendered.text_sha256,
        "text_sealed": rendered.text_sealed,
        "letter": rendered.letter,
        "delivery": {"provider": last.provider, "message_id": last.message_id, "duplicate": last.duplicate},
    }
    extra = {"fallback_from": tries[0].channel} if len(tries) > 1 else {}
    event = notification_event(c.NOTIFICATION_SENT, new, now, source, "sent", extra)
    return new, [(topics.NOTIFICATIONS, event)]


def failed(
    record: Mapping[str, Any],
    tries: Sequence[Try],
    now: datetime,
    policy: Policy,
    source: str,
    *,
    permanent: bool = False,
    rendered: Rendered | None = None,
) -> tuple[dict[str, Any], list[tuple[str, Event]]]:
    """The attempt failed: retried after the backoff, or dead after the limit (or a permanent error).

    A dead notice is announced by ``notification.failed`` on the notifications
    topic and a copy on the dead-letter topic, for staff to act on.
    """
    attempt = int(record["attempts"])
    error = tries[-1].error if tries else "unknown"
    log = list(record.get("attempt_log", [])) + [t.entry(attempt, now) for t in tries]
    base = {
        **record,
        "claim": None,
        "error": error,
        "updated_at": _iso(now),
        "attempt_log": log,
        "channel": tries[-1].channel if tries else record.get("channel"),
    }
    if rendered is not None:
        base.update(
            to_masked=rendered.to_masked,
            text_masked=rendered.text_masked,
            text_sha256=rendered.text_sha256,
            letter=rendered.letter,
        )
    if permanent or attempt >= policy.max_attempts:
        return dead(base, error or "unknown", now, source)
    return {**base, "status": FAILED, "next_attempt_at": _iso(now + backoff(attempt, policy))}, []


Outcome = tuple[dict[str, Any], list[tuple[str, Event]]]


def dead(record: Mapping[str, Any], error: str, now: datetime, source: str) -> Outcome:
    new = {**record, "status": DEAD, "claim": None, "error": error, "updated_at": _iso(now), "next_attempt_at": None}
    event = notification_event(c.NOTIFICATION_FAILED, new, now, source, "failed", {"error": error})
    copy = event.model_copy(update={"id": derive_id(new["id"], "failed", topics.DEADLETTER)})
    return new, [(topics.NOTIFICATIONS, event), (topics.DEADLETTER, copy)]


def notification_event(
    type: str, record: Mapping[str, Any], now: datetime, source: str, what: str, extra: Mapping[str, Any] | None = None
) -> Event:
    """``notification.sent`` / ``notification.failed``: ids, channel, template and receipt number only."""
    return Event.new(
        type,
        id=derive_id(record["id"], what),
        source=source,
        subject=record["receipt_no"],
        time=now,
        data={
            "notification_id": record["id"],
            "receipt_no": record["receipt_no"],
            "channel": record.get("channel"),
            "template": record["template"],
            "template_version": record["template_version"],
            "audience": record["audience"],
            "role": record["role"],
            "cause": record["cause"],
            "cause_type": record["cause_type"],
            "legal": record.get("legal", False),
            "attempts": record.get("attempts", 0),
            **(extra or {}),
            "occurred_at": now.isoformat(),
        },
    )


# ------------------------------------------------------------------ what a template is given


def render_vars(
    record: Mapping[str, Any],
    state: Mapping[str, Any],
    *,
    contact: Mapping[str, Any] | None,
    part: Mapping[str, Any] | None,
    org_name: str,
    policy: Policy,
    channel: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The variables of a notice's template: its cause's facts, the complaint's, and opened details.

    Rendered when the notice is sent, from the complaint's facts then: the current handler, department,
    contact and due date (the cause's own due date only when notification has none of its own);
    ``overdue`` says the due date has passed by ``now`` (the progress notice then says 기한 경과).

    The result names the official of its answer (the answer part's handler) and carries the full
    text for e-mail and the letter; on SMS/LMS/AlimTalk (``short``) only the outcome and an
    absolute link to the portal's lookup, where the answer is read in full.
    """
    named = record.get("vars") or {}
    handler = handler_of(record, state)
    answered_by = answer_handler(part)
    if answered_by.get("name"):
        handler = {**handler, **{k: v for k, v in answered_by.items() if v}}
    due_at = state.get("due_at") if "due_at" in state else named.get("due_at")
    variables: dict[str, Any] = {
        **{k: v for k, v in named.items() if k != "handler"},
        "org_name": org_name,
        "receipt_no": record["receipt_no"],
        "handler_name": handler.get("name") or "",
        "handler_contact": handler.get("contact") or policy.office_contact,
        "department": handler.get("department") or state.get("department") or "",
        "due_at": due_at,
        "overdue": is_past(due_at, now),
        "role": record["role"],
        "role_label": ROLE_LABELS.get(record["role"], record["role"]),
        "citizen_name": (contact or {}).get("name") or "",
        "address": (contact or {}).get("address") or "",
        "lookup_url": lookup_url(policy.public_base_url, record["receipt_no"], policy.lookup_path),
        "short": channel in SHORT_CHANNELS,
    }
    if named.get("link"):
        variables["link"] = absolute_url(policy.public_base_url, named["link"])
    if record["template"] == EXTENSION:
        # the new due date, if the deadline service has announced it since the extension
        noted = state.get("due_noted_at")
        variables["new_due_at"] = (
            state.get("due_at")
            if noted and named.get("occurred_at") and _parse(noted) >= _parse(named["occurred_at"])
            else None
        )
    if record["template"] in (RESULT, RESULT_LETTER):
        outcome = named.get("outcome") or state.get("outcome")
        variables["outcome"] = outcome
        variables["outcome_label"] = OUTCOME_LABELS.get(outcome or "", outcome or "")
        variables["reasons"] = (part or {}).get("reasons")
        variables["remedy"] = (part or {}).get("remedy") or (REMEDY_DEFAULT if outcome == "rejected" else None)
        variables["answer_text"] = str((part or {}).get("text") or "").strip()
        variables["answered_at"] = (part or {}).get("answered_at")
    elif part is not None:
        variables["reason"] = part.get("reason")
    if record["template"] == TRANSFERRED:
        variables["agency_name"] = (part or {}).get("agency_name") or named.get("agency") or ""
    return variables


SHORT_CHANNELS = frozenset({SMS, LMS, ALIMTALK})
"""Channels that carry a short text and a link, not the answer in full."""


def is_past(due_at: Any, now: datetime | None) -> bool:
    """Whether a due instant (ISO text, with its zone) has passed by ``now``; a bare date counts
    from the end of that day in Seoul."""
    if not due_at or now is None:
        return False
    text = str(due_at)
    try:
        if len(text) == 10:
            return now >= datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(0), _SEOUL)
        at = datetime.fromisoformat(text)
    except ValueError:
        return False
    if at.tzinfo is None:
        at = at.replace(tzinfo=_SEOUL)
    return now >= at


def answer_handler(part: Mapping[str, Any] | None) -> dict[str, Any]:
    """The official an answer part names (민원책임실명제), in the shape of :func:`handler_from`."""
    raw = (part or {}).get("handler") or {}
    if not isinstance(raw, Mapping) or not raw.get("name"):
        return {}
    return {
        "name": raw.get("name"),
        "contact": raw.get("contact"),
        "department": raw.get("department_name") or raw.get("department"),
        "department_code": raw.get("department"),
    }


def absolute_url(base: str, link: str) -> str:
    """``link`` made absolute against ``base`` (one slash between them); an absolute link as it is."""
    link = str(link or "").strip()
    if re.match(r"^[a-z][a-z0-9+.-]*://", link, re.IGNORECASE):
        return link
    return f"{str(base or '').strip().rstrip('/')}/{link.lstrip('/')}"


def lookup_url(base: str, receipt_no: str, path: str = "/lookup") -> str:
    """The portal's lookup page for a receipt number, absolute."""
    return f"{absolute_url(base, path)}?receipt_no={quote(receipt_no, safe='-')}"


# ------------------------------------------------------------------ masking personal data


_PHONE = re.compile(r"(?<!\d)(0\d{1,2})[- .]?(\d{3,4})[- .]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])([A-Za-z0-9._%+-]*)(@[A-Za-z0-9.-]+)")


def mask_phone(phone: str) -> str:
    """``010-1234-5678`` -> ``010-****-5678``."""
    m = _PHONE.search(phone or "")
    if not m:
        return "*" * min(len(phone or ""), 8)
    return f"{m.group(1)}-{'*' * len(m.group(2))}-{m.group(3)}"


def mask_email(email: str) -> str:
    """``citizen@example.kr`` -> ``c******@example.kr``."""
    m = _EMAIL.fullmatch(email or "")
    if not m:
        return "***"
    return f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}"


def mask_name(name: str) -> str:
    """``홍길동`` -> ``홍*동``; ``홍길`` -> ``홍*``."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_address(address: str) -> str:
    """Keep the first two words (city, district): ``부산광역시 해운대구 ***``."""
    words = (address or "").split()
    return " ".join(words[:2] + ["***"]) if words else ""


def mask_text(text: str, *, names: Sequence[str] = (), addresses: Sequence[str] = (), keep: Sequence[str] = ()) -> str:
    """Text with known names and addresses, and every phone number and e-mail address, masked.

    ``keep``: public contacts left as they are (the handler's office number, 민원책임실명제).
    """
    out = text
    for address in sorted((a for a in addresses if a), key=len, reverse=True):
        out = out.replace(address, mask_address(address))
    for name in sorted((n for n in names if n and n.strip()), key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    public = {re.sub(r"\D", "", k) for k in keep if k}

    def phone(m: re.Match[str]) -> str:
        if "".join(m.groups()) in public:
            return m.group(0)
        return f"{m.group(1)}-{'*' * len(m.group(2))}-{m.group(3)}"

    out = _PHONE.sub(phone, out)
    return _EMAIL.sub(
        lambda m: m.group(0) if m.group(0) in keep else f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", out
    )


def mask_recipient(channel: str, address: str) -> str:
    if channel in (SMS, LMS, ALIMTALK):
        return mask_phone(address)
    if channel == EMAIL:
        return mask_email(address)
    if channel == POST:
        return mask_address(address)
    return address


def recipient_address(
    channel: str, contact: Mapping[str, Any] | None, record: Mapping[str, Any], state: Mapping[str, Any]
) -> str:
    """Where a notice goes: the citizen's phone, e-mail or address; a staff member's messenger address."""
    if channel in (SMS, LMS, ALIMTALK):
        return str((contact or {}).get("phone") or "")
    if channel == EMAIL:
        return str((contact or {}).get("email") or "")
    if channel == POST:
        return str((contact or {}).get("address") or "")
    to_department = (record.get("vars") or {}).get("to_department")
    if to_department:  # a cooperating department's officials (협조부서), not the complaint's own
        return f"{record['role']}@{to_department}"
    handler = handler_of(record, state)
    if record["role"] == "handler" and (handler.get("id") or handler.get("contact")):
        return str(handler.get("id") or handler.get("contact"))
    department = handler.get("department_code") or handler.get("department") or state.get("department") or "unassigned"
    return f"{record['role']}@{department}"


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()
