"""Satisfaction survey rules (만족도 조사): who is invited and when, the signed
link, a response, the statistics, the charter's yearly report and its
improvement actions.

Pure: no I/O, no clock reads (``now`` is passed in). Free text a citizen
writes stays in this service's store; no event carries it.

Glossary: satisfaction survey / 만족도 조사; invitation / 조사 안내;
yearly report / 연간 고객만족도 조사 결과 공표; improvement action /
개선사항·조치내용 (published within 3 months of the results, charter).
"""

from __future__ import annotations

import base64
import calendar as _calendar
import csv
import hashlib
import hmac
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon.docstore import iso
from minwon.errors import Conflict, DomainError, Invalid, NotFound
from minwon.events import Event, derive_id
from minwon.workcal import WorkCalendar

KST = ZoneInfo("Asia/Seoul")
DIMENSIONS = ("speed", "kindness", "result", "overall")  # 신속성, 친절성, 처리결과, 종합
GROUPINGS = ("department", "channel", "kind", "month")
UNKNOWN = "unknown"

# a survey's status
TRACKING = "tracking"  # the complaint is open
SCHEDULED = "scheduled"  # closed: the invitation timer is set
INVITED = "invited"
RESPONDED = "responded"
SKIPPED = "skipped"  # closed, but not invited (no consent, too old)
ENDED = "ended"  # withdrawn or transferred: no survey

# improvement actions
PLANNED, PUBLISHED = "planned", "published"


# ---------------------------------------------------------------- the survey of one complaint


@dataclass(frozen=True)
class Survey:
    receipt_no: str
    survey_id: str
    kind: str | None = None
    channel: str | None = None
    department: str | None = None
    handler: dict[str, str] | None = None
    facts_seen: bool = False
    contactable: bool = False
    status: str = TRACKING
    closed_at: str | None = None
    outcome: str | None = None
    invite_at: str | None = None
    invited_at: str | None = None
    invited_year: int | None = None
    expires_at: str | None = None
    link: str | None = None
    skip_reason: str | None = None
    responded_at: str | None = None
    responded_year: int | None = None
    scores: dict[str, int] | None = None
    low_score: bool = False
    text: str | None = None  # the citizen's free text: this store only
    followup: dict[str, Any] | None = None
    """A low score's follow-up task for the department's team lead: status (open | resolved), due_at,
    resolved_at, resolved_by, note."""
    followup_status: str | None = None  # open | resolved: indexed for the team lead's list

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Survey:
        return cls(**{k: v for k, v in doc.items() if k in cls.__dataclass_fields__})


def survey_id(receipt_no: str) -> str:
    """One survey per complaint."""
    return derive_id(receipt_no, "survey")


def new_survey(receipt_no: str) -> Survey:
    return Survey(receipt_no=receipt_no, survey_id=survey_id(receipt_no))


def note_received(s: Survey, data: Mapping[str, Any]) -> Survey:
    """The complaint's facts, and whether the citizen may be contacted (SMS, 알림톡 or e-mail consent)."""
    consent = data.get("consent") or {}
    contactable = any(consent.get(k) is True for k in ("sms", "alimtalk", "email"))
    return replace(
        s,
        kind=data.get("kind") or s.kind,
        channel=data.get("channel") or s.channel,
        contactable=contactable,
        facts_seen=True,
    )


def note_routed(s: Survey, *, department: str | None) -> Survey:
    return replace(s, department=department or s.department)


def note_assigned(s: Survey, *, department: str | None, handler: Mapping[str, Any] | None) -> Survey:
    kept = {k: str(v) for k, v in (handler or {}).items() if k in ("id", "name") and v} or s.handler
    return replace(s, department=department or s.department, handler=kept)


def note_ended(s: Survey, *, reason: str) -> Survey:
    """A withdrawn or transferred complaint is not surveyed."""
    if s.status != TRACKING:
        return s
    return replace(s, status=ENDED, skip_reason=reason)


def note_closed(
    s: Survey, *, closed_at: datetime, outcome: str | None, now: datetime, delay: timedelta, max_age: timedelta
) -> Survey:
    """Closed (처리완료): set the invitation timer, once per complaint.

    A closure older than ``max_age`` (a replay of old history) invites nobody.
    """
    if s.status != TRACKING:
        return s
    base = replace(s, closed_at=closed_at.isoformat(), outcome=outcome)
    if now - closed_at > max_age:
        return replace(base, status=SKIPPED, skip_reason="closed_too_long_ago")
    return replace(base, status=SCHEDULED, invite_at=iso(closed_at + delay))


def invite(s: Survey, *, now: datetime, secret: bytes, valid_for: timedelta, source: str) -> tuple[Survey, list[Event]]:
    """The timer fired: invite a contactable, consenting citizen with a signed link."""
    if s.status != SCHEDULED or s.invite_at is None or s.invite_at > iso(now):
        return s, []
    if not s.facts_seen:
        return replace(s, status=SKIPPED, skip_reason="no_consent_record"), []
    if not s.contactable:
        return replace(s, status=SKIPPED, skip_reason="no_consent"), []
    expires = now + valid_for
    token = make_token(secret, receipt_no=s.receipt_no, survey_id=s.survey_id, expires_at=expires)
    link = f"/survey/{token}"
    new = replace(
        s,
        status=INVITED,
        invited_at=now.isoformat(),
        invited_year=_local(now).year,
        expires_at=expires.isoformat(),
        link=link,
    )
    event = Event.new(
        c.SURVEY_INVITED,
        id=derive_id(s.survey_id, "invited"),
        source=source,
        subject=s.receipt_no,
        time=now,
        data={
            "receipt_no": s.receipt_no,
            "survey_id": s.survey_id,
            "link": link,
            "expires_at": expires.isoformat(),
            "department": s.department,
            "occurred_at": now.isoformat(),
        },
    )
    return new, [event]


@dataclass(frozen=True)
class Answers:
    speed: int
    kindness: int
    result: int
    overall: int
    text: str | None = None

    def scores(self) -> dict[str, int]:
        return {d: getattr(self, d) for d in DIMENSIONS}


MAX_TEXT = 2000


def respond(
    s: Survey,
    answers: Answers,
    *,
    claims: TokenClaims,
    now: datetime,
    low_threshold: int,
    source: str,
    followup_due: datetime | None = None,
) -> tuple[Survey, list[Event]]:
    """A citizen's answer, once, before the link expires. A low overall score alerts the department and
    opens a follow-up task for its team lead, due at ``followup_due`` (default: a week later)."""
    if claims.survey_id != s.survey_id:
        raise bad_token()
    if s.status == RESPONDED:
        raise DomainError("already_answered", "this survey has already been answered", 409)
    if s.status != INVITED:
        raise NotFound("survey", s.survey_id)
    if now >= claims.expires_at:
        raise DomainError("expired", "this survey link has expired", 410)
    for dim, value in answers.scores().items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise Invalid(dim, f"{dim} is a score from 1 to 5")
    text = (answers.text or "").strip() or None
    if text is not None and len(text) > MAX_TEXT:
        raise Invalid("text", f"at most {MAX_TEXT} characters")
    scores = answers.scores()
    low = scores["overall"] <= low_threshold
    new = replace(
        s,
        status=RESPONDED,
        responded_at=now.isoformat(),
        responded_year=_local(now).year,
        scores=scores,
        low_score=low,
        text=text,
    )
    if low:
        due = followup_due or now + timedelta(days=7)
        new = replace(
            new,
            followup={"status": FOLLOWUP_OPEN, "opened_at": now.isoformat(), "due_at": due.isoformat()},
            followup_status=FOLLOWUP_OPEN,
        )
    facts = {
        "receipt_no": s.receipt_no,
        "survey_id": s.survey_id,
        "department": s.department,
        "channel": s.channel,
        "kind": s.kind,
        "occurred_at": now.isoformat(),
    }
    events = [
        Event.new(
            c.SURVEY_RESPONDED,
            id=derive_id(s.survey_id, "responded"),
            source=source,
            subject=s.receipt_no,
            time=now,
            data={**facts, "scores": scores},
        )
    ]
    if low:
        events.append(
            Event.new(
                c.SURVEY_LOW_SCORE,
                id=derive_id(s.survey_id, "low_score"),
                source=source,
                subject=s.receipt_no,
                time=now,
                data={
                    **facts,
                    "handler": s.handler,
                    "overall": scores["overall"],
                    "scores": scores,
                    "threshold": low_threshold,
                },
            )
        )
    return new, events


# ---------------------------------------------------------------- the signed link


@dataclass(frozen=True)
class TokenClaims:
    receipt_no: str
    survey_id: str
    expires_at: datetime


def bad_token() -> DomainError:
    return DomainError("invalid_token", "this survey link is not valid", 401)


def make_token(secret: bytes, *, receipt_no: str, survey_id: str, expires_at: datetime) -> str:
    """``base64url(receipt|survey|expiry) . base64url(HMAC-SHA256)``."""
    payload = f"{receipt_no}|{survey_id}|{int(expires_at.timestamp())}".encode()
    signature = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(secret: bytes, token: str) -> TokenClaims:
    """The claims of a token this service signed; anything else is refused the same way."""
    try:
        body, sig = token.split(".", 1)
        payload = _unb64(body)
        expected = hmac.new(secret, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            raise ValueError("signature")
        receipt_no, sid, exp = payload.decode().split("|")
        return TokenClaims(receipt_no, sid, datetime.fromtimestamp(int(exp), UTC))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_token() from exc


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def survey_view(s: Survey) -> dict[str, Any]:
    """What the citizen's form shows: no free text, no personal data."""
    return {
        "receipt_no": s.receipt_no,
        "survey_id": s.survey_id,
        "status": s.status,
        "expires_at": s.expires_at,
        "questions": list(DIMENSIONS),
        "scale": [1, 5],
    }


# ---------------------------------------------------------------- statistics


def record(s: Survey | Mapping[str, Any]) -> dict[str, Any]:
    """The PII-free row statistics are computed from (no free text)."""
    doc = s.to_doc() if isinstance(s, Survey) else s
    return {
        k: doc.get(k) for k in ("department", "channel", "kind", "invited_at", "responded_at", "scores", "low_score")
    }


def _local(instant: datetime) -> datetime:
    return instant.astimezone(KST)


def _month(value: str) -> str:
    return _local(datetime.fromisoformat(value)).strftime("%Y-%m")


def _year(value: str | None) -> int | None:
    return _local(datetime.fromisoformat(value)).year if value else None


def _key(row: Mapping[str, Any], by: str, when: str) -> str:
    if by == "month":
        return _month(row[when])
    return str(row.get(by) or UNKNOWN)


def statistics(rows: Iterable[Mapping[str, Any]], *, by: str, year: int) -> dict[str, Any]:
    """Invitations, responses, response rate, mean scores and low scores, per ``by`` for ``year`` (KST).

    A response counts in the year (and month) it was given; an invitation in
    the year (and month) it was sent.
    """
    if by not in GROUPINGS:
        raise Invalid("by", f"by is one of {', '.join(GROUPINGS)}")
    invited: Counter[str] = Counter()
    answered: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    all_answers: list[Mapping[str, Any]] = []
    total_invited = 0
    for row in rows:
        if row.get("invited_at") and _year(row["invited_at"]) == year:
            invited[_key(row, by, "invited_at")] += 1
            total_invited += 1
        if row.get("responded_at") and row.get("scores") and _year(row["responded_at"]) == year:
            answered[_key(row, by, "responded_at")].append(row)
            all_answers.append(row)
    groups = [
        {"key": key, **_summary(invited[key], answered.get(key, []))} for key in sorted(set(invited) | set(answered))
    ]
    return {"year": year, "by": by, "groups": groups, "total": _summary(total_invited, all_answers)}


def _summary(invited: int, answers: list[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(answers)
    means = {d: (round(sum(a["scores"][d] for a in answers) / n, 3) if n else None) for d in DIMENSIONS}
    distribution = Counter(a["scores"]["overall"] for a in answers)
    return {
        "invited": invited,
        "responses": n,
        "response_rate": round(n / invited, 3) if invited else None,
        "mean": means,
        "low_scores": sum(1 for a in answers if a.get("low_score")),
        "overall_distribution": {str(k): distribution.get(k, 0) for k in range(1, 6)},
    }


# ---------------------------------------------------------------- the yearly report


def yearly_report(
    rows: Iterable[Mapping[str, Any]],
    *,
    year: int,
    title: str,
    generated_at: datetime,
    published_at: datetime | None = None,
    improvement_due_at: datetime | None = None,
) -> dict[str, Any]:
    """The charter's yearly satisfaction report (연 1회 이상 조사, 결과 공표), ready to publish."""
    rows = list(rows)
    sections = {by: statistics(rows, by=by, year=year) for by in GROUPINGS}
    return {
        "title": title,
        "year": year,
        "status": PUBLISHED if published_at else "draft",
        "generated_at": generated_at.isoformat(),
        "published_at": published_at.isoformat() if published_at else None,
        "improvement_due_at": improvement_due_at.isoformat() if improvement_due_at else None,
        "dimensions": list(DIMENSIONS),
        "scale": [1, 5],
        "total": sections["department"]["total"],
        **{f"by_{by}": sections[by]["groups"] for by in GROUPINGS},
    }


CSV_COLUMNS = (
    "section",
    "key",
    "invited",
    "responses",
    "response_rate",
    *(f"mean_{d}" for d in DIMENSIONS),
    "low_scores",
)


def report_csv(report: Mapping[str, Any]) -> str:
    """One row per group of every section, and a total row; UTF-8, comma-separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def row(section: str, key: str, g: Mapping[str, Any]) -> list[Any]:
        return [
            section,
            key,
            g["invited"],
            g["responses"],
            _blank(g["response_rate"]),
            *(_blank(g["mean"][d]) for d in DIMENSIONS),
            g["low_scores"],
        ]

    writer.writerow(row("total", str(report["year"]), report["total"]))
    for by in GROUPINGS:
        for g in report[f"by_{by}"]:
            writer.writerow(row(by, g["key"], g))
    return out.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def improvement_due(published_at: datetime, *, months: int = 3, calendar: WorkCalendar | None = None) -> datetime:
    """The end of the charter's period for publishing improvements: ``months`` after publication.

    By the calendar with the first day included: the period ends the day
    before the corresponding day of the last month (its last day when it has
    none), and moves to the next working day when that is a Saturday or a
    public holiday. The deadline is the end of that day (KST).
    """
    cal = calendar or WorkCalendar()
    start = published_at.astimezone(KST).date()
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    last_of_month = _calendar.monthrange(year, month)[1]
    if start.day <= last_of_month:
        last = date(year, month, start.day) - timedelta(days=1)
    else:
        last = date(year, month, last_of_month)
    last = cal.working_day_on_or_after(last)
    return datetime.combine(last + timedelta(days=1), time(0), KST)


def publish_report(
    existing: Mapping[str, Any] | None,
    report: dict[str, Any],
    *,
    now: datetime,
    months: int,
    calendar: WorkCalendar | None = None,
) -> dict[str, Any]:
    """Freeze the report as published: its numbers no longer move and the improvement clock starts."""
    if existing and existing.get("published_at"):
        raise Conflict(
            "this year's report is already published", year=report["year"], published_at=existing["published_at"]
        )
    due = improvement_due(now, months=months, calendar=calendar)
    snapshot = {**report, "status": PUBLISHED, "published_at": now.isoformat(), "improvement_due_at": due.isoformat()}
    return {
        "year": report["year"],
        "published_at": now.isoformat(),
        "improvement_due_at": due.isoformat(),
        "report": snapshot,
    }


def new_action(
    report_doc: Mapping[str, Any] | None,
    *,
    action_id: str,
    year: int,
    title: str,
    description: str,
    department: str | None,
    now: datetime,
) -> dict[str, Any]:
    """An improvement action registered against a published report, due by its improvement deadline."""
    if not report_doc or not report_doc.get("published_at"):
        raise Conflict(f"publish the {year} report before registering improvement actions", year=year)
    if not title.strip():
        raise Invalid("title", "an improvement action has a title")
    return {
        "id": action_id,
        "year": year,
        "title": title.strip(),
        "description": description.strip(),
        "department": department,
        "status": PLANNED,
        "registered_at": now.isoformat(),
        "due_at": report_doc["improvement_due_at"],
        "published_at": None,
        "url": None,
    }


def publish_action(action: Mapping[str, Any], *, url: str | None, now: datetime) -> dict[str, Any]:
    """The action's result is published (개선사항과 조치내용 공표)."""
    if action["status"] == PUBLISHED:
        raise Conflict("this improvement action is already published", id=action["id"])
    return {**action, "status": PUBLISHED, "published_at": now.isoformat(), "url": url}


def action_view(action: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """An action with its flags: overdue (unpublished past the deadline) or published late."""
    due = datetime.fromisoformat(action["due_at"])
    published = action.get("published_at")
    return {
        **{k: v for k, v in action.items() if not k.startswith("_")},
        "overdue": published is None and now >= due,
        "late": published is not None and datetime.fromisoformat(published) >= due,
    }


# ---------------------------------------------------------------- low-score follow-up

FOLLOWUP_OPEN, FOLLOWUP_RESOLVED = "open", "resolved"
MAX_NOTE = 2000


def resolve_followup(s: Survey, *, note: str, by: Mapping[str, Any], now: datetime) -> Survey:
    """The team lead records what was done about a low score (a call back, a correction, training)."""
    if s.followup is None:
        raise NotFound("follow-up", s.receipt_no)
    if s.followup.get("status") == FOLLOWUP_RESOLVED:
        raise DomainError("already_resolved", "this follow-up is already resolved", 409)
    note = (note or "").strip()
    if not note:
        raise Invalid("note", "say what was done about the low score")
    if len(note) > MAX_NOTE:
        raise Invalid("note", f"at most {MAX_NOTE} characters")
    done = {
        **s.followup,
        "status": FOLLOWUP_RESOLVED,
        "resolved_at": now.isoformat(),
        "note": note,
        "resolved_by": {"id": by.get("id"), "name": by.get("name")},
    }
    return replace(s, followup=done, followup_status=FOLLOWUP_RESOLVED)


def followup_view(s: Survey, *, now: datetime) -> dict[str, Any]:
    """One line of the team lead's follow-up list (the citizen's free text included: staff only)."""
    f = s.followup or {}
    due = f.get("due_at")
    return {
        "receipt_no": s.receipt_no,
        "department": s.department,
        "handler": s.handler,
        "scores": s.scores,
        "text": s.text,
        "responded_at": s.responded_at,
        **f,
        "overdue": f.get("status") == FOLLOWUP_OPEN
        and isinstance(due, str)
        and bool(due)
        and now >= datetime.fromisoformat(due),
    }
