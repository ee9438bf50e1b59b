"""Compensation rules (보상): the charter's vouchers, the whistleblower reward,
the ledger they are written to, and the budget they are paid from.

Pure: no I/O, no clock reads (``now`` is passed in). The rules are data — a
:class:`Charter` read from a city's charter file (Pocheon's by default) — and
every function here returns the new state and the events it produces.

Glossary: compensation / 보상; culture voucher / 문화상품권; legal processing
period / 법정처리기간; immediate complaint / 즉결(즉시)민원; petition / 진정;
supplementation / 보완·보정; extension / 기간 연장; revisit caused by a staff
error / 담당직원의 실수로 인한 재방문; whistleblower reward / 부조리 신고보상금;
budget / 예산; reversal / 정정(반환) 기록.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from minwon import contracts as c
from minwon.docstore import iso
from minwon.errors import Conflict, DomainError, Invalid
from minwon.events import Event, derive_id

KST = ZoneInfo("Asia/Seoul")

# causes of a ledger entry
DEADLINE_BREACH = "deadline_breach"  # 법정처리기간 미준수
STAFF_REVISIT = "staff_revisit"  # 담당직원 실수로 인한 재방문
WHISTLEBLOWER = "whistleblower"  # 부조리 신고보상금
CAUSES = (DEADLINE_BREACH, STAFF_REVISIT, WHISTLEBLOWER)

# how it is paid
CULTURE_VOUCHER = "culture_voucher"  # 문화상품권
CASH_REWARD = "cash_reward"

# ledger entry kinds and statuses
GRANT, REVERSAL = "grant", "reversal"
GRANTED, AWAITING_APPROVAL, REFUSED, REJECTED = "granted", "awaiting_approval", "refused", "rejected"
BUDGET_EXHAUSTED = "budget_exhausted"

# the breach assessment of one complaint
PENDING, DECIDED = "pending", "decided"
GRANT_IT, EXCLUDE, WAIT = "grant", "exclude", "wait"

UNASSIGNED = "unassigned"

#: A verification instant lies from the first budget year on, and at most a clock skew ahead of now.
EARLIEST_VERIFICATION = datetime(2000, 1, 1, tzinfo=KST)
CLOCK_SKEW = timedelta(minutes=5)


# ---------------------------------------------------------------- the charter


@dataclass(frozen=True)
class Band:
    """Recovered amounts above ``over_krw`` earn ``base_krw`` + ``rate_percent`` % of the excess."""

    over_krw: int
    base_krw: int
    rate_percent: Decimal


@dataclass(frozen=True)
class RewardSchedule:
    """The whistleblower reward by recovered-amount band (보상금 지급기준)."""

    bands: tuple[Band, ...]
    no_recovery_krw: int = 0
    maximum_krw: int | None = None
    round_down_to_krw: int = 1000

    def reward(self, recovered_krw: int) -> int:
        """The reward for a verified report that recovered ``recovered_krw``."""
        if recovered_krw < 0:
            raise Invalid("recovered_amount_krw", "the recovered amount cannot be negative")
        if recovered_krw == 0:
            return self.no_recovery_krw
        band = [b for b in self.bands if recovered_krw > b.over_krw][-1]
        raw = Decimal(band.base_krw) + Decimal(recovered_krw - band.over_krw) * band.rate_percent / 100
        step = Decimal(self.round_down_to_krw)
        amount = int((raw / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        if self.maximum_krw is not None:
            amount = min(amount, self.maximum_krw)
        return amount


@dataclass(frozen=True)
class BreachRule:
    """A voucher when the legal period is missed, with the charter's exclusions."""

    amount_krw: int
    excluded_kinds: frozenset[str]
    exclude_immediate: bool = True
    exclude_supplementation: bool = True
    exclude_extension: bool = True
    instrument: str = CULTURE_VOUCHER


@dataclass(frozen=True)
class Charter:
    city: str
    name: str
    version: str
    breach: BreachRule
    revisit_krw: int
    revisit_instrument: str
    whistleblower: RewardSchedule

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Charter:
        """Read a charter file's content; a malformed one fails loudly at start-up."""
        try:
            rules = data["rules"]
            breach = rules["deadline_breach"]
            revisit = rules["staff_revisit"]
            wb = rules["whistleblower"]
            bands = tuple(
                sorted(
                    (
                        Band(int(b["over_krw"]), int(b["base_krw"]), Decimal(str(b["rate_percent"])))
                        for b in wb["bands"]
                    ),
                    key=lambda b: b.over_krw,
                )
            )
            charter = cls(
                city=str(data["city"]),
                name=str(data.get("name", data["city"])),
                version=str(data["version"]),
                breach=BreachRule(
                    amount_krw=int(breach["amount_krw"]),
                    excluded_kinds=frozenset(breach.get("excluded_kinds", ())),
                    exclude_immediate=bool(breach.get("exclude_immediate", True)),
                    exclude_supplementation=bool(breach.get("exclude_supplementation", True)),
                    exclude_extension=bool(breach.get("exclude_extension", True)),
                    instrument=str(breach.get("instrument", CULTURE_VOUCHER)),
                ),
                revisit_krw=int(revisit["amount_krw"]),
                revisit_instrument=str(revisit.get("instrument", CULTURE_VOUCHER)),
                whistleblower=RewardSchedule(
                    bands=bands,
                    no_recovery_krw=int(wb.get("no_recovery_krw", 0)),
                    maximum_krw=None if wb.get("maximum_krw") is None else int(wb["maximum_krw"]),
                    round_down_to_krw=int(wb.get("round_down_to_krw", 1000)),
                ),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"malformed charter: {type(exc).__name__}: {exc}") from exc
        if not bands or bands[0].over_krw != 0:
            raise ValueError("malformed charter: the first whistleblower band starts at over_krw 0")
        if charter.breach.amount_krw < 0 or charter.revisit_krw < 0:
            raise ValueError("malformed charter: negative amount")
        return charter

    def summary(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "name": self.name,
            "version": self.version,
            "deadline_breach": {
                "amount_krw": self.breach.amount_krw,
                "instrument": self.breach.instrument,
                "excluded_kinds": sorted(self.breach.excluded_kinds),
                "exclude_immediate": self.breach.exclude_immediate,
                "exclude_supplementation": self.breach.exclude_supplementation,
                "exclude_extension": self.breach.exclude_extension,
            },
            "staff_revisit": {"amount_krw": self.revisit_krw, "instrument": self.revisit_instrument},
            "whistleblower": {
                "bands": [
                    {"over_krw": b.over_krw, "base_krw": b.base_krw, "rate_percent": str(b.rate_percent)}
                    for b in self.whistleblower.bands
                ],
                "no_recovery_krw": self.whistleblower.no_recovery_krw,
                "maximum_krw": self.whistleblower.maximum_krw,
                "round_down_to_krw": self.whistleblower.round_down_to_krw,
            },
        }


# ---------------------------------------------------- what we know of a complaint


@dataclass(frozen=True)
class Case:
    """The facts of one complaint the rules need, gathered from the lifecycle topics."""

    receipt_no: str
    kind: str | None = None
    department: str | None = None
    facts_seen: bool = False  # complaint.received was seen
    immediate: bool = False
    supplementation_requested: bool = False
    extended: bool = False
    supplementation_requested_at: str | None = None  # the first request (ISO); None: not known
    extended_at: str | None = None  # the first extension (ISO); None: not known
    breach: dict[str, Any] | None = None
    breach_status: str | None = None  # pending | decided
    breach_evaluate_after: str | None = None
    breach_outcome: dict[str, Any] | None = None
    revisits: tuple[dict[str, Any], ...] = ()  # reported revisits waiting to be granted
    revisit_evaluate_after: str | None = None

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["revisits"] = [dict(r) for r in self.revisits]
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Case:
        fields = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        fields["revisits"] = tuple(doc.get("revisits") or ())
        return cls(**fields)


def note_received(case: Case, data: Mapping[str, Any], *, now: datetime, settle: timedelta) -> Case:
    """The complaint's own facts; a breach that waited for them is assessed after ``settle``."""
    case = replace(case, kind=data.get("kind") or case.kind, facts_seen=True)
    if case.breach_status == PENDING and case.breach_evaluate_after is not None:
        case = replace(case, breach_evaluate_after=min(case.breach_evaluate_after, _iso(now + settle)))
    return case


def note_supplementation(case: Case, occurred_at: str | None = None) -> Case:
    return replace(
        case,
        supplementation_requested=True,
        supplementation_requested_at=_earliest(case.supplementation_requested_at, occurred_at),
    )


def note_extension(case: Case, occurred_at: str | None = None) -> Case:
    return replace(case, extended=True, extended_at=_earliest(case.extended_at, occurred_at))


def _earliest(known: str | None, new: str | None) -> str | None:
    if not new:
        return known
    if not known:
        return new
    return known if _parse(known) <= _parse(new) else new


def within_period(requested_at: str | None, breach: Mapping[str, Any]) -> bool:
    """Was a supplementation or extension requested within the legal period? Only then does the
    charter exclude the breach; one requested after the period ran out does not undo it. A request
    whose time is not known counts as within (the earlier, conservative reading)."""
    limit = breach.get("due_at") or breach.get("breached_at")
    if not requested_at or not limit:
        return True
    return _parse(requested_at) < _parse(limit)


def note_department(case: Case, department: str | None, *, now: datetime, settle: timedelta) -> Case:
    """Routing named the department; revisits that waited for it are granted after ``settle``."""
    case = replace(case, department=department or case.department)
    if case.revisits and case.department and case.revisit_evaluate_after is not None:
        case = replace(case, revisit_evaluate_after=min(case.revisit_evaluate_after, _iso(now + settle)))
    return case


def note_revisit(case: Case, *, occurrence: str, occurred_at: str, now: datetime, settle: timedelta) -> Case:
    """A revisit caused by a staff error (재방문); it is granted once the paying department is known."""
    if any(r["occurrence"] == occurrence for r in case.revisits):
        return case
    pending = {"occurrence": occurrence, "occurred_at": occurred_at, "recorded_at": now.isoformat()}
    after = _iso(now + settle)
    return replace(
        case,
        revisits=(*case.revisits, pending),
        revisit_evaluate_after=min(case.revisit_evaluate_after or after, after),
    )


def assess_revisits(
    case: Case, charter: Charter, *, now: datetime, facts_wait: timedelta
) -> tuple[list[Claim], datetime | None]:
    """The revisits to grant now, and when to look again at those still waiting for the department.

    Routing's events travel on another topic than the revisit report, so the
    department may be learnt later; after ``facts_wait`` a revisit is charged
    to ``unassigned`` rather than left unpaid.
    """
    ready: list[Claim] = []
    later: list[datetime] = []
    for r in case.revisits:
        deadline = _parse(r["recorded_at"]) + facts_wait
        if case.department or now >= deadline:
            ready.append(revisit_claim(case, charter, occurrence=r["occurrence"], occurred_at=r["occurred_at"]))
        else:
            later.append(deadline)
    return ready, min(later) if later else None


def settle_revisits(case: Case, *, seen: Iterable[str], granted: Iterable[str], until: datetime | None) -> Case:
    """Drop the revisits now in the ledger; look again at those still waiting at ``until``.

    A revisit reported meanwhile (not ``seen`` by the assessment) keeps its own time.
    """
    done, looked = set(granted), set(seen)
    left = tuple(r for r in case.revisits if r["occurrence"] not in done)
    times = [_iso(until)] if until else []
    if any(r["occurrence"] not in looked for r in left) and case.revisit_evaluate_after:
        times.append(case.revisit_evaluate_after)
    return replace(case, revisits=left, revisit_evaluate_after=min(times) if left and times else None)


def note_immediate(case: Case, data: Mapping[str, Any]) -> Case:
    """A deadline whose period is 즉시 (immediately) marks the complaint immediate."""
    immediate = data.get("immediate") is True or str(data.get("period", "")).strip() in ("즉시", "immediate")
    return replace(case, immediate=True) if immediate else case


def note_breach(case: Case, data: Mapping[str, Any], *, now: datetime, settle: timedelta) -> Case:
    """Record a missed legal period; it is assessed once ``settle`` has passed.

    The wait lets lifecycle events that were published earlier but are
    consumed later (another topic, another partition) arrive first. The
    charter pays once per complaint, so a second breach is not recorded.
    """
    if case.breach is not None:
        return case
    breach = {
        "due_at": data.get("due_at"),
        "breached_at": data.get("breached_at"),
        "department": data.get("department"),
        "kind": data.get("kind"),
        "immediate": data.get("immediate") is True,
        "had_supplementation": data.get("had_supplementation") is True,
        "had_extension": data.get("had_extension") is True,
        "recorded_at": now.isoformat(),
    }
    return replace(
        case,
        breach=breach,
        breach_status=PENDING,
        breach_evaluate_after=_iso(now + settle),
        department=case.department or data.get("department"),
        kind=case.kind or data.get("kind"),
    )


@dataclass(frozen=True)
class Assessment:
    outcome: str  # grant | exclude | wait
    reason: str | None = None
    until: datetime | None = None  # wait: assess again then (earlier if the facts arrive)


def assess_breach(case: Case, charter: Charter, *, now: datetime, facts_wait: timedelta) -> Assessment:
    """Does this missed legal period earn the charter's voucher?

    Excluded: immediate complaints (즉결), the charter's excluded kinds
    (기타 즉시 처리, 진정), and complaints that had a supplementation request
    or an extension — known from the lifecycle events this service tracks,
    or from the breach event's own flags.
    """
    if case.breach is None or case.breach_status != PENDING:
        raise Conflict("no breach waits for assessment", receipt_no=case.receipt_no)
    breach = case.breach
    rule = charter.breach
    kind = case.kind or breach.get("kind")
    if rule.exclude_immediate and (case.immediate or breach.get("immediate")):
        return Assessment(EXCLUDE, "immediate")
    if kind in rule.excluded_kinds:
        return Assessment(EXCLUDE, f"kind:{kind}")
    supplemented = case.supplementation_requested and within_period(case.supplementation_requested_at, breach)
    if rule.exclude_supplementation and (supplemented or breach.get("had_supplementation")):
        return Assessment(EXCLUDE, "supplementation")
    extended = case.extended and within_period(case.extended_at, breach)
    if rule.exclude_extension and (extended or breach.get("had_extension")):
        return Assessment(EXCLUDE, "extension")
    if not case.facts_seen and now < _parse(breach["recorded_at"]) + facts_wait:
        return Assessment(WAIT, "complaint_facts_not_seen", until=_parse(breach["recorded_at"]) + facts_wait)
    if kind is None:
        return Assessment(EXCLUDE, "kind_unknown")
    return Assessment(GRANT_IT)


def postpone(case: Case, *, until: datetime) -> Case:
    return replace(case, breach_evaluate_after=_iso(until))


def settle_breach(case: Case, *, outcome: str, reason: str | None, entry_id: str | None, now: datetime) -> Case:
    return replace(
        case,
        breach_status=DECIDED,
        breach_outcome={"outcome": outcome, "reason": reason, "entry_id": entry_id, "at": now.isoformat()},
    )


def breach_claim(case: Case, charter: Charter) -> Claim:
    assert case.breach is not None
    at = case.breach.get("breached_at") or case.breach["recorded_at"]
    return Claim(
        receipt_no=case.receipt_no,
        cause=DEADLINE_BREACH,
        occurrence="1",  # the charter pays once per complaint (1회)
        amount_krw=charter.breach.amount_krw,
        instrument=charter.breach.instrument,
        department=case.breach.get("department") or case.department or UNASSIGNED,
        rule_version=charter.version,
        occurred_at=at,
        basis={"due_at": case.breach.get("due_at"), "breached_at": case.breach.get("breached_at")},
    )


def revisit_claim(case: Case, charter: Charter, *, occurrence: str, occurred_at: str) -> Claim:
    """Each revisit caused by a staff error is its own occurrence."""
    return Claim(
        receipt_no=case.receipt_no,
        cause=STAFF_REVISIT,
        occurrence=occurrence,
        amount_krw=charter.revisit_krw,
        instrument=charter.revisit_instrument,
        department=case.department or UNASSIGNED,
        rule_version=charter.version,
        occurred_at=occurred_at,
        basis={},
    )


def check_verified_at(verified_at: datetime, now: datetime) -> datetime:
    """When the investigation found the report true: an instant with an offset, not before 2000, not ahead of now."""
    if verified_at.tzinfo is None:
        raise Invalid("verified_at", "verified_at needs a UTC offset, e.g. 2026-11-20T10:00:00+09:00")
    if verified_at < EARLIEST_VERIFICATION:
        raise Invalid("verified_at", f"verified_at cannot be before {EARLIEST_VERIFICATION:%Y-%m-%d}")
    if verified_at > now + CLOCK_SKEW:
        raise Invalid("verified_at", "verified_at cannot be in the future")
    return verified_at


def whistleblower_claim(
    charter: Charter,
    *,
    receipt_no: str,
    complainant_ref: str,
    department: str,
    verified: bool,
    recovered_krw: int,
    verified_at: datetime,
) -> Claim:
    """A verified report of corruption earns the ordinance's reward."""
    if not verified:
        raise Invalid("verified", "only a report the investigation found true earns a reward")
    if not complainant_ref.startswith("p-"):
        raise Invalid("complainant_ref", "give intake's pseudonymous complainant_ref (p-...), never an identity")
    if not department.strip():
        raise Invalid("department", "name the paying department")
    amount = charter.whistleblower.reward(recovered_krw)
    if amount <= 0:
        raise Invalid("recovered_amount_krw", "the reward schedule pays nothing for this recovered amount")
    return Claim(
        receipt_no=receipt_no,
        cause=WHISTLEBLOWER,
        occurrence="1",
        amount_krw=amount,
        instrument=CASH_REWARD,
        department=department.strip(),
        rule_version=charter.version,
        occurred_at=verified_at.isoformat(),
        basis={"recovered_amount_krw": recovered_krw},
        complainant_ref=complainant_ref,
    )


# ---------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class Claim:
    """What a rule says is owed, before the ledger decides to grant it."""

    receipt_no: str
    cause: str
    occurrence: str
    amount_krw: int
    instrument: str
    department: str
    rule_version: str
    occurred_at: str
    basis: dict[str, Any] = field(default_factory=dict)
    complainant_ref: str | None = None

    @property
    def entry_id(self) -> str:
        return entry_id(self.receipt_no, self.cause, self.occurrence)

    @property
    def year(self) -> int:
        return year_of(_parse(self.occurred_at))


def entry_id(receipt_no: str, cause: str, occurrence: str) -> str:
    """The idempotency key: one ledger entry per (complaint, cause, occurrence)."""
    return derive_id(receipt_no, cause, occurrence)


def reversal_id(grant_id: str) -> str:
    """A grant is reversed at most once."""
    return derive_id(grant_id, "reversal")


def year_of(instant: datetime) -> int:
    """The budget year: the calendar year in Korea."""
    return instant.astimezone(KST).year


def voucher_code(secret: bytes, grant_id: str) -> str:
    """16 characters (base32) derived from the grant id: the same grant, the same code."""
    digest = hmac.new(secret, grant_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:16]


def needs_approval(amount_krw: int, threshold_krw: int | None) -> bool:
    return threshold_krw is not None and amount_krw > threshold_krw


def open_entry(
    claim: Claim,
    *,
    budget_ok: bool | None,
    now: datetime,
    voucher_secret: bytes,
    source: str,
) -> tuple[dict[str, Any], list[Event]]:
    """The ledger entry for a claim: granted, refused (budget spent) or awaiting approval (``budget_ok`` None)."""
    gid = claim.entry_id
    status = AWAITING_APPROVAL if budget_ok is None else GRANTED if budget_ok else REFUSED
    entry: dict[str, Any] = {
        "id": gid,
        "kind": GRANT,
        "receipt_no": claim.receipt_no,
        "cause": claim.cause,
        "occurrence": claim.occurrence,
        "amount_krw": claim.amount_krw,
        "instrument": claim.instrument,
        "rule_version": claim.rule_version,
        "department": claim.department,
        "year": claim.year,
        "occurred_at": claim.occurred_at,
        "basis": claim.basis,
        "status": status,
        "reason": BUDGET_EXHAUSTED if status == REFUSED else None,
        "voucher_code": voucher_code(voucher_secret, gid),
        "created_at": now.isoformat(),
        "history": [{"at": now.isoformat(), "status": status}],
    }
    if claim.complainant_ref:
        entry["complainant_ref"] = claim.complainant_ref  # stored here only, never on a topic
    events = []
    if status == GRANTED:
        events.append(_granted(entry, now, source))
    elif status == REFUSED:
        events.append(_refused(entry, now, source))
    return entry, events


def approve(
    entry: Mapping[str, Any], *, budget_ok: bool, approver: str, now: datetime, source: str
) -> tuple[dict[str, Any], list[Event]]:
    """An approver releases a grant above the threshold; with the budget spent it is refused."""
    _require_status(entry, AWAITING_APPROVAL, "approve")
    if not approver.strip():
        raise Invalid("approver", "name the approver")
    status = GRANTED if budget_ok else REFUSED
    new = {
        **entry,
        "status": status,
        "reason": None if budget_ok else BUDGET_EXHAUSTED,
        "approved_by": approver,
        "history": [*entry.get("history", []), {"at": now.isoformat(), "status": status, "by": approver}],
    }
    return new, [_granted(new, now, source) if budget_ok else _refused(new, now, source)]


def reject(
    entry: Mapping[str, Any], *, by: str, reason: str, now: datetime, source: str
) -> tuple[dict[str, Any], list[Event]]:
    """An approver declines a grant awaiting approval; the reason stays in this store."""
    _require_status(entry, AWAITING_APPROVAL, "reject")
    if not reason.strip():
        raise Invalid("reason", "a rejection states its reason")
    new = {
        **entry,
        "status": REJECTED,
        "reason": "rejected",
        "rejection_note": reason,
        "history": [*entry.get("history", []), {"at": now.isoformat(), "status": REJECTED, "by": by}],
    }
    return new, [_refused(new, now, source)]


def reverse(
    entry: Mapping[str, Any], *, reason: str, code: str, by: str, now: datetime, source: str
) -> tuple[dict[str, Any], list[Event]]:
    """A correction is a new entry with the opposite amount; the grant itself is never edited."""
    if entry.get("kind") != GRANT:
        raise Conflict("only a grant can be reversed", id=entry.get("id"))
    _require_status(entry, GRANTED, "reverse")
    if not reason.strip():
        raise Invalid("reason", "a reversal states its reason")
    rid = reversal_id(entry["id"])
    reversal = {
        "id": rid,
        "kind": REVERSAL,
        "reverses": entry["id"],
        "receipt_no": entry["receipt_no"],
        "cause": entry["cause"],
        "occurrence": entry["occurrence"],
        "amount_krw": -int(entry["amount_krw"]),
        "instrument": entry["instrument"],
        "rule_version": entry["rule_version"],
        "department": entry["department"],
        "year": entry["year"],
        "occurred_at": now.isoformat(),
        "status": REVERSAL,
        "reason": code,
        "reversal_note": reason,  # free text: this store only
        "by": by,
        "created_at": now.isoformat(),
        "history": [{"at": now.isoformat(), "status": REVERSAL, "by": by}],
    }
    event = Event.new(
        c.COMPENSATION_REVERSED,
        id=derive_id(rid, "reversed"),
        source=source,
        subject=entry["receipt_no"],
        time=now,
        data={
            "receipt_no": entry["receipt_no"],
            "grant_id": entry["id"],
            "reversal_id": rid,
            "amount_krw": int(entry["amount_krw"]),
            "cause": entry["cause"],
            "rule_version": entry["rule_version"],
            "department": entry["department"],
            "reason_code": code,
            "occurred_at": now.isoformat(),
        },
    )
    return reversal, [event]


def _require_status(entry: Mapping[str, Any], status: str, command: str) -> None:
    if entry.get("status") != status:
        raise Conflict(
            f"cannot {command} an entry that is {entry.get('status')}", id=entry.get("id"), status=entry.get("status")
        )


def _granted(entry: Mapping[str, Any], now: datetime, source: str) -> Event:
    return Event.new(
        c.COMPENSATION_GRANTED,
        id=derive_id(entry["id"], "granted"),
        source=source,
        subject=entry["receipt_no"],
        time=now,
        data={
            "receipt_no": entry["receipt_no"],
            "grant_id": entry["id"],
            "amount_krw": entry["amount_krw"],
            "cause": entry["cause"],
            "instrument": entry["instrument"],
            "rule_version": entry["rule_version"],
            "department": entry["department"],
            "voucher_code": entry["voucher_code"],
            "occurred_at": now.isoformat(),
        },
    )


def _refused(entry: Mapping[str, Any], now: datetime, source: str) -> Event:
    return Event.new(
        c.COMPENSATION_REFUSED,
        id=derive_id(entry["id"], "refused"),
        source=source,
        subject=entry["receipt_no"],
        time=now,
        data={
            "receipt_no": entry["receipt_no"],
            "grant_id": entry["id"],
            "amount_krw": entry["amount_krw"],
            "cause": entry["cause"],
            "rule_version": entry["rule_version"],
            "department": entry["department"],
            "reason": entry["reason"],
            "occurred_at": now.isoformat(),
        },
    )


# ---------------------------------------------------------------- the budget


@dataclass(frozen=True)
class Budget:
    """What a department may pay out in a year (None: no limit) and what it has committed."""

    year: int
    department: str
    limit_krw: int | None
    spent_krw: int = 0

    @property
    def remaining_krw(self) -> int | None:
        return None if self.limit_krw is None else self.limit_krw - self.spent_krw

    def to_doc(self) -> dict[str, Any]:
        return {**asdict(self), "remaining_krw": self.remaining_krw}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Budget:
        return cls(
            year=int(doc["year"]),
            department=str(doc["department"]),
            limit_krw=doc.get("limit_krw"),
            spent_krw=int(doc.get("spent_krw", 0)),
        )


def budget_id(year: int, department: str) -> str:
    return f"{year}:{department}"


def reserve(budget: Budget, amount_krw: int) -> Budget | None:
    """Commit ``amount_krw``; None when it does not fit what is left (refusal once spent)."""
    if budget.limit_krw is not None and budget.spent_krw + amount_krw > budget.limit_krw:
        return None
    return replace(budget, spent_krw=budget.spent_krw + amount_krw)


def release(budget: Budget, amount_krw: int) -> Budget:
    return replace(budget, spent_krw=max(0, budget.spent_krw - amount_krw))


def set_limit(budget: Budget, limit_krw: int | None) -> Budget:
    if limit_krw is not None and limit_krw < 0:
        raise Invalid("limit_krw", "a budget cannot be negative")
    return replace(budget, limit_krw=limit_krw)


# ---------------------------------------------------------------- reporting


def entry_view(entry: Mapping[str, Any], *, reversed_by: str | None = None) -> dict[str, Any]:
    view = {k: v for k, v in entry.items() if not k.startswith("_")}
    if entry.get("kind") == GRANT:
        view["reversed_by"] = reversed_by
    return view


def summarize(entries: Iterable[Mapping[str, Any]], budgets: Iterable[Budget] = ()) -> dict[str, Any]:
    """Per department: what was paid (net of reversals), by cause; refusals; pending approvals; budget."""
    out: dict[str, dict[str, Any]] = {}

    def dept(name: str) -> dict[str, Any]:
        return out.setdefault(
            name,
            {
                "count": 0,
                "amount_krw": 0,
                "causes": {},
                "refused": 0,
                "awaiting_approval": 0,
                "reversed": 0,
                "budget": None,
            },
        )

    for e in entries:
        d = dept(e["department"])
        cause = d["causes"].setdefault(e["cause"], {"count": 0, "amount_krw": 0})
        status = e.get("status")
        if status == GRANTED:
            d["count"] += 1
            d["amount_krw"] += int(e["amount_krw"])
            cause["count"] += 1
            cause["amount_krw"] += int(e["amount_krw"])
        elif status == REVERSAL:
            d["count"] -= 1
            d["amount_krw"] += int(e["amount_krw"])  # negative
            d["reversed"] += 1
            cause["count"] -= 1
            cause["amount_krw"] += int(e["amount_krw"])
        elif status in (REFUSED, REJECTED):
            d["refused"] += 1
        elif status == AWAITING_APPROVAL:
            d["awaiting_approval"] += 1
    for b in budgets:
        dept(b.department)["budget"] = {
            "limit_krw": b.limit_krw,
            "spent_krw": b.spent_krw,
            "remaining_krw": b.remaining_krw,
        }
    return {
        "departments": dict(sorted(out.items())),
        "total": {
            "count": sum(d["count"] for d in out.values()),
            "amount_krw": sum(d["amount_krw"] for d in out.values()),
            "refused": sum(d["refused"] for d in out.values()),
        },
    }


def _parse(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise DomainError("naive_time", f"time without a UTC offset: {value}", 422)
    return instant


def _iso(instant: datetime) -> str:
    return iso(instant)
