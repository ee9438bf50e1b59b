"""Routing rules: which department a complaint goes to, and who in it handles it.

Pure: no I/O, no clock reads (``now`` is passed in). The handlers load rules,
departments and loads, call these functions, and save what they return.

Glossary: routing / 부서 지정; rule / 배정 규칙; handler / 담당자;
guardian official / 민원후견인; complaint office / 민원과 (triage of what no
rule matches); district / 구·군·읍·면·동; misroute / 오배정; on duty / 근무 중;
accountability by name / 민원책임실명제 (a handler's name and office phone are
public, so they travel on the shared topic); working hours / 부서 근무시간 (a
department's own hours, e.g. 24시간·연중무휴, published with the department so the
deadline service counts its targets and SLAs on them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from minwon import contracts as c
from minwon.errors import Conflict, Invalid
from minwon.events import Event, derive_id
from minwon.workcal import HoursError, hours_from_spec

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

DEFAULT_RULE_ID = "default"
DEFAULT_PRIORITY = 1_000_000
MAX_PRIORITY = DEFAULT_PRIORITY - 1

QUEUED, ASSIGNED, CLOSED = "queued", "assigned", "closed"
RELEASED_BY = {c.COMPLAINT_CLOSED: "closed", c.COMPLAINT_WITHDRAWN: "withdrawn", c.COMPLAINT_TRANSFERRED: "transferred"}
REASON_CODES = ("misrouted", "workload", "absence", "expertise", "other")

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_CITY_LEVEL = ("특별자치시", "특별자치도", "광역시", "특별시", "도")
_ADMIN_SUFFIXES = ("특별자치시", "특별자치도", "광역시", "특별시", "시", "도", "군", "구", "읍", "면", "동", "가", "리")
_NUMBERED_DONG = re.compile(r"^(.+?)\d+(동|가)$")
_CATEGORY_SEPARATORS = re.compile(r"\s*[/>|·:]\s*")


# ------------------------------------------------------------------ text


def fold(text: str) -> str:
    """For comparing free text: NFKC (a Mac's decomposed Hangul too), case-folded, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def category_path(text: str) -> tuple[str, ...]:
    """``"환경 > 소음"``, ``"환경/소음"`` -> ``("환경", "소음")``."""
    text = unicodedata.normalize("NFKC", text).strip()
    return tuple(fold(p) for p in _CATEGORY_SEPARATORS.split(text) if p.strip())


def district_tokens(text: str) -> tuple[str, ...]:
    """``"부산광역시 해운대구 우1동"`` or ``"해운대구우1동"`` -> administrative units, city level dropped.

    A token written without spaces is split after a leading unit that ends
    in 시/군/구 (at least two letters) when what is left is itself a unit.
    """
    tokens: list[str] = []
    for token in unicodedata.normalize("NFKC", text).split():
        while True:
            cut = next(
                (
                    i
                    for i in range(2, len(token) - 1)
                    if token[i - 1] in "시군구" and token[i:].endswith(_ADMIN_SUFFIXES) and len(token) - i >= 2
                ),
                None,
            )
            if cut is None:
                break
            tokens.append(token[:cut])
            token = token[cut:]
        tokens.append(token)
    while len(tokens) > 1 and tokens[0].endswith(_CITY_LEVEL):
        tokens.pop(0)
    return tuple(tokens)


def _unit_matches(rule: str, unit: str) -> bool:
    if rule == unit:
        return True
    numbered = _NUMBERED_DONG.match(unit)
    if numbered and rule == numbered.group(1) + numbered.group(2):  # 반여동 covers 반여1동
        return True
    return unit.startswith(rule) and unit[len(rule) :] in _ADMIN_SUFFIXES  # 해운대 covers 해운대구


def district_matches(rule: str, district: str) -> bool:
    """The rule's units appear, in order and adjacent, among the complaint's units."""
    want, have = district_tokens(rule), district_tokens(district)
    if not want:
        return False
    return any(
        all(_unit_matches(w, h) for w, h in zip(want, have[i : i + len(want)], strict=True))
        for i in range(len(have) - len(want) + 1)
    )


def category_matches(rule: str, category: str) -> bool:
    """A rule's category covers itself and everything under it (``환경`` covers ``환경/소음``)."""
    want, have = category_path(rule), category_path(category)
    return bool(want) and have[: len(want)] == want


# ----------------------------------------------------------------- rules


CONDITION_FIELDS = ("kinds", "channels", "statutory_types", "categories", "districts", "keywords", "exclude_keywords")


@dataclass(frozen=True)
class Conditions:
    """All given conditions must hold; within one condition, any listed value will do."""

    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statutory_types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    """In the title or the body."""
    exclude_keywords: tuple[str, ...] = ()
    """None of these in the title or the body."""

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> Conditions:
        doc = doc or {}
        return cls(**{f: tuple(doc.get(f) or ()) for f in CONDITION_FIELDS})

    def to_doc(self) -> dict[str, list[str]]:
        return {f: list(getattr(self, f)) for f in CONDITION_FIELDS}

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in CONDITION_FIELDS if f != "exclude_keywords")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    priority: int
    department: str
    conditions: Conditions = field(default_factory=Conditions)
    enabled: bool = True
    description: str = ""
    version: int = 1

    @property
    def default(self) -> bool:
        return self.id == DEFAULT_RULE_ID

    def definition(self) -> dict[str, Any]:
        """What a version of the rule is (its id and bookkeeping aside)."""
        return {
            "name": self.name,
            "priority": self.priority,
            "department": self.department,
            "conditions": self.conditions.to_doc(),
            "enabled": self.enabled,
            "description": self.description,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Rule:
        return cls(
            id=doc["_id"] if "_id" in doc else doc["id"],
            name=doc["name"],
            priority=int(doc["priority"]),
            department=doc["department"],
            conditions=Conditions.from_doc(doc.get("conditions")),
            enabled=bool(doc.get("enabled", True)),
            description=doc.get("description", ""),
            version=int(doc.get("version", 1)),
        )


def fallback_rule(department: str) -> Rule:
    """The default rule when the table has none: everything unmatched goes to the complaint office."""
    return Rule(DEFAULT_RULE_ID, "미분류 민원 → 민원과 분류 (triage)", DEFAULT_PRIORITY, department, version=0)


@dataclass(frozen=True)
class Facts:
    """What a rule can look at. ``title`` and ``body`` live only in memory, only while matching."""

    kind: str
    category: str
    district: str
    channel: str
    statutory_type: str | None = None
    statutory_names: tuple[str, ...] = ()
    """Every name of the statutory type in the catalogue (code, Korean name, aliases): a rule naming
    the type in either vocabulary matches."""
    title: str = field(default="", repr=False)
    body: str = field(default="", repr=False)
    confidential: bool = False
    text_available: bool = True


@dataclass(frozen=True)
class Matched:
    """One condition that held: the rule's value, and the complaint's (never the text's)."""

    field: str
    rule_value: str | None = None
    value: str | None = None
    where: str | None = None

    def explain(self, *, confidential: bool) -> str:
        if self.field == "keywords":
            if confidential:
                return f"a keyword of the rule in the {self.where} (withheld: confidential complaint)"
            return f"keyword '{self.rule_value}' in the {self.where}"
        if self.field == "exclude_keywords":
            return "none of the excluded keywords"
        if self.field in ("kinds", "channels"):
            return f"{self.field[:-1]} is {self.value}"
        if self.field == "statutory_types":
            return f"statutory type '{self.value}' contains '{self.rule_value}'"
        label = "category" if self.field == "categories" else "district"
        return f"{label} '{self.value}' within '{self.rule_value}'"


def _any(values: Iterable[str], test: Any) -> str | None:
    return next((v for v in values if test(v)), None)


def evaluate(rule: Rule, facts: Facts) -> tuple[list[Matched], str | None]:
    """The conditions that held, and the first that failed (``None``: the rule matches)."""
    cond = rule.conditions
    matched: list[Matched] = []
    if cond.kinds:
        if facts.kind not in cond.kinds:
            return matched, "kinds"
        matched.append(Matched("kinds", value=facts.kind))
    if cond.channels:
        if facts.channel not in cond.channels:
            return matched, "channels"
        matched.append(Matched("channels", value=facts.channel))
    if cond.statutory_types:
        haves = [fold(n) for n in (facts.statutory_type, *facts.statutory_names) if n]
        hit = _any(cond.statutory_types, lambda v: any(fold(v) in have for have in haves))
        if hit is None:
            return matched, "statutory_types"
        matched.append(Matched("statutory_types", rule_value=hit, value=facts.statutory_type))
    if cond.categories:
        hit = _any(cond.categories, lambda v: category_matches(v, facts.category))
        if hit is None:
            return matched, "categories"
        matched.append(Matched("categories", rule_value=hit, value=facts.category))
    if cond.districts:
        hit = _any(cond.districts, lambda v: district_matches(v, facts.district))
        if hit is None:
            return matched, "districts"
        matched.append(Matched("districts", rule_value=hit, value=facts.district))
    if cond.keywords or cond.exclude_keywords:
        title, body = fold(facts.title), fold(facts.body)
        if cond.keywords:
            hit = _any(cond.keywords, lambda v: fold(v) in title or fold(v) in body)
            if hit is None:
                return matched, "keywords"
            word = fold(hit)
            where = "title and body" if word in title and word in body else "title" if word in title else "body"
            matched.append(Matched("keywords", rule_value=hit, where=where))
        if cond.exclude_keywords:
            if _any(cond.exclude_keywords, lambda v: fold(v) in title or fold(v) in body) is not None:
                return matched, "exclude_keywords"
            matched.append(Matched("exclude_keywords"))
    return matched, None


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    """Enabled rules in the order they are tried: lower priority number first, then id."""
    return sorted((r for r in rules if r.enabled and not r.default), key=lambda r: (r.priority, r.id))


@dataclass(frozen=True)
class Match:
    rule: Rule
    matched: tuple[Matched, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    """(rule id, the condition that failed) for each rule tried before this one."""
    confidential: bool = False
    text_available: bool = True

    @property
    def default(self) -> bool:
        return self.rule.default

    @property
    def reason(self) -> str:
        head = f"rule {self.rule.id} v{self.rule.version} ({self.rule.name})"
        if self.default:
            text = f"{head}: no rule matched; the complaint office triages it"
        else:
            text = f"{head}: " + "; ".join(m.explain(confidential=self.confidential) for m in self.matched)
        if not self.text_available:
            text += " [sealed text unavailable: keywords not checked]"
        return text

    def matched_docs(self) -> list[dict[str, Any]]:
        out = []
        for m in self.matched:
            doc = {k: v for k, v in asdict(m).items() if v is not None}
            if m.field == "keywords" and self.confidential:
                doc.pop("rule_value", None)
            out.append(doc)
        return out


def match(rules: Iterable[Rule], facts: Facts, *, default_department: str) -> Match:
    """The first enabled rule, in priority order, whose conditions all hold; else the default rule."""
    rules = list(rules)
    skipped: list[tuple[str, str]] = []
    for rule in ordered(rules):
        matched, failed = evaluate(rule, facts)
        if failed is None:
            return Match(rule, tuple(matched), tuple(skipped), facts.confidential, facts.text_available)
        skipped.append((rule.id, failed))
    default = next((r for r in rules if r.default), None) or fallback_rule(default_department)
    return Match(default, (), tuple(skipped), facts.confidential, facts.text_available)


# ------------------------------------------------------------ rule editing


def check_rule(rule: Rule, *, departments: Iterable[str]) -> None:
    """A rule a router can use: a known department, known kinds and channels, a sane priority."""
    if not _ID.match(rule.id):
        raise Invalid("id", "a rule id is 2-63 lowercase letters, digits or '-', e.g. traffic-parking")
    if not rule.name.strip():
        raise Invalid("name", "a rule has a name")
    if rule.department not in set(departments):
        raise Invalid("department", f"unknown department {rule.department!r}")
    if rule.default:
        if not rule.conditions.empty or rule.conditions.exclude_keywords:
            raise Invalid("conditions", "the default rule matches everything: it has no conditions")
        if not rule.enabled:
            raise Conflict("the default rule cannot be disabled: unmatched complaints need a department")
        return
    if not 0 <= rule.priority <= MAX_PRIORITY:
        raise Invalid("priority", f"priority is 0..{MAX_PRIORITY} (lower is tried first)")
    if rule.conditions.empty:
        raise Invalid(
            "conditions",
            "a rule needs at least one condition (kinds, channels, statutory_types, categories, districts or keywords)",
        )
    for name, allowed in (("kinds", KINDS), ("channels", CHANNELS)):
        bad = [v for v in getattr(rule.conditions, name) if v not in allowed]
        if bad:
            raise Invalid(f"conditions.{name}", f"unknown {name[:-1]} {bad[0]!r}; one of {', '.join(allowed)}")
    for name in CONDITION_FIELDS:
        if any(not fold(v) for v in getattr(rule.conditions, name)):
            raise Invalid(f"conditions.{name}", "condition values cannot be blank")


def _audit(action: str, version: int, actor: str, now: datetime, changes: dict[str, Any]) -> dict[str, Any]:
    return {"at": now.isoformat(), "actor": actor, "action": action, "version": version, "changes": changes}


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {k: {"from": old.get(k), "to": v} for k, v in new.items() if old.get(k) != v}


def new_rule_doc(rule: Rule, *, actor: str, now: datetime) -> dict[str, Any]:
    """Version 1 of a rule, with its first version snapshot and audit record."""
    definition = rule.definition()
    return {
        "id": rule.id,
        **definition,
        "version": 1,
        "updated_at": now.isoformat(),
        "updated_by": actor,
        "versions": [{"version": 1, "at": now.isoformat(), "actor": actor, **definition}],
        "audit": [_audit("created", 1, actor, now, _diff({}, definition))],
    }


def revise_rule_doc(
    doc: dict[str, Any], rule: Rule, *, action: str, actor: str, now: datetime
) -> dict[str, Any] | None:
    """The next version, or ``None`` when nothing changed (no empty versions)."""
    old = Rule.from_doc(doc).definition()
    new = rule.definition()
    changes = _diff(old, new)
    if not changes:
        return None
    version = int(doc["version"]) + 1
    return {
        **doc,
        **new,
        "version": version,
        "updated_at": now.isoformat(),
        "updated_by": actor,
        "versions": [*doc.get("versions", []), {"version": version, "at": now.isoformat(), "actor": actor, **new}],
        "audit": [*doc.get("audit", []), _audit(action, version, actor, now, changes)],
    }


def rule_view(doc: Mapping[str, Any], *, history: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("_id", "versions", "audit")}
    out["id"] = doc.get("id") or doc["_id"]
    if history:
        out["versions"] = doc.get("versions", [])
        out["audit"] = doc.get("audit", [])
    return out


# ------------------------------------------------------------ departments


@dataclass(frozen=True)
class Official:
    """A handler (담당자) of a department. Name and office phone are public (민원책임실명제)."""

    id: str
    name: str
    contact: str
    on_duty: bool = True
    guardian: bool = False
    """May serve as 민원후견인 (guardian official) for statutory complaints."""

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "contact": self.contact}


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    phone: str = ""
    handlers: tuple[Official, ...] = ()
    hours: Mapping[str, Any] | None = field(default=None, hash=False, compare=True)
    """Working hours (부서 근무시간) in the form :func:`department_hours` returns; None: the statutory hours."""

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Department:
        return cls(
            code=doc.get("code") or doc["_id"],
            name=doc["name"],
            phone=doc.get("phone", ""),
            handlers=tuple(Official(**h) for h in doc.get("handlers", ())),
            hours=doc.get("hours"),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "phone": self.phone,
            "handlers": [asdict(h) for h in self.handlers],
            "hours": self.hours,
        }

    def official(self, id: str) -> Official | None:
        return next((h for h in self.handlers if h.id == id), None)


def department_hours(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A department's working hours in their one stored and published form, e.g.
    ``{"always_open": true}`` → every day 00:00–24:00, holidays included; ``{"days": ["mon", ...],
    "periods": ["09:00-12:00", ...], "open_on_holidays": false}`` as given. None (or ``{}``): the
    statutory hours (weekdays 09–12, 13–18). Refused with :class:`Invalid` naming ``hours.<field>``."""
    try:
        hours = hours_from_spec(spec)
    except HoursError as error:
        raise Invalid(f"hours.{error.field}" if error.field else "hours", str(error)) from None
    return None if hours is None else hours.to_spec()


def check_department(dept: Department, *, others: Iterable[Department]) -> None:
    if not _ID.match(dept.code):
        raise Invalid("code", "a department code is 2-63 lowercase letters, digits or '-', e.g. traffic")
    if not dept.name.strip():
        raise Invalid("name", "a department has a name")
    department_hours(dept.hours)
    seen: set[str] = set()
    taken = {h.id: o.code for o in others if o.code != dept.code for h in o.handlers}
    for i, h in enumerate(dept.handlers):
        if not _ID.match(h.id):
            raise Invalid(f"handlers.{i}.id", "a handler id is 2-63 lowercase letters, digits or '-'")
        if h.id in seen or h.id in taken:
            raise Conflict(f"handler id {h.id} is already used", department=taken.get(h.id, dept.code))
        seen.add(h.id)
        if not h.name.strip():
            raise Invalid(f"handlers.{i}.name", "a handler is named (민원책임실명제)")
        if not h.contact.strip():
            raise Invalid(f"handlers.{i}.contact", "a handler has an office contact (민원책임실명제)")


def revise_department_doc(
    doc: dict[str, Any] | None, dept: Department, *, action: str, actor: str, now: datetime
) -> dict[str, Any] | None:
    old = Department.from_doc(doc).to_doc() if doc else {}
    new = dept.to_doc()
    changes = _diff(old, new)
    if doc is not None and not changes:
        return None
    version = int(doc.get("version", 0)) + 1 if doc else 1
    return {
        **(doc or {}),
        **new,
        "version": version,
        "updated_at": now.isoformat(),
        "updated_by": actor,
        "audit": [*(doc or {}).get("audit", []), _audit(action, version, actor, now, changes)],
    }


# ------------------------------------------------------------- assignment


@dataclass(frozen=True)
class Pick:
    handler: Official
    guardian: Official | None


def least_loaded(officials: Iterable[Official], loads: Mapping[str, int], *, cap: int = 0) -> Official | None:
    """The on-duty official with the fewest open complaints (ties: by id); ``cap`` > 0 bounds the load."""
    free = [h for h in officials if h.on_duty and (cap <= 0 or loads.get(h.id, 0) < cap)]
    return min(free, key=lambda h: (loads.get(h.id, 0), h.id), default=None)


def room(officials: Iterable[Official], loads: Mapping[str, int], *, cap: int = 0) -> int | None:
    """How many more complaints the on-duty officials can take under ``cap`` (``None``: no cap)."""
    if cap <= 0:
        return None
    return sum(max(0, cap - loads.get(h.id, 0)) for h in officials if h.on_duty)


def choose_guardian(dept: Department, guardian_loads: Mapping[str, int], *, handler: Official) -> Official | None:
    """민원후견인: a designated official of the department other than the handler; on duty first."""
    candidates = [h for h in dept.handlers if h.guardian and h.id != handler.id]
    return min(candidates, key=lambda h: (not h.on_duty, guardian_loads.get(h.id, 0), h.id), default=None)


QueueEntry = tuple[str, bool, str, str]
"""A waiting complaint as the queue index lists it: (receipt number, priority, received at, queued at)."""


def queue_entry(doc: Mapping[str, Any] | None) -> tuple[str, QueueEntry] | None:
    """The department whose queue an assignment waits in, and its entry there (``None``: it does not wait)."""
    if not doc or doc.get("status") != QUEUED or not doc.get("department"):
        return None
    return str(doc["department"]), (
        str(doc.get("receipt_no") or doc["_id"]),
        bool(doc.get("priority")),
        str(doc.get("received_at") or ""),
        str(doc.get("queued_at") or ""),
    )


def queue_key(receipt_no: str, priority: bool, received_at: str, queued_at: str | None) -> tuple[bool, str, str, str]:
    """Priority complaints (elderly, disabled, pregnant) first, then first come first served."""
    return (not priority, received_at, queued_at or "", receipt_no)


def queue_order(queue: Iterable[Assignment]) -> list[Assignment]:
    """The waiting complaints in the order they get a handler (:func:`queue_key`)."""
    return sorted(queue, key=lambda a: queue_key(a.receipt_no, a.priority, a.received_at, a.queued_at))


def take(loads: dict[str, int], guardian_loads: dict[str, int], pick: Pick) -> None:
    """Count a complaint given to ``pick`` in the loads a plan goes on with."""
    loads[pick.handler.id] = loads.get(pick.handler.id, 0) + 1
    if pick.guardian is not None:
        guardian_loads[pick.guardian.id] = guardian_loads.get(pick.guardian.id, 0) + 1


def pick_for(
    kind: str,
    dept: Department,
    loads: Mapping[str, int],
    guardian_loads: Mapping[str, int],
    *,
    handler_id: str | None = None,
    keep_guardian: str | None = None,
    cap: int = 0,
) -> Pick | None:
    """The handler (named, or the least-loaded on duty) and, for a statutory complaint, a guardian official.

    A statutory complaint goes to the least-loaded official who is not a
    designated guardian when one is free, so that a guardian is left to serve
    as its 민원후견인.
    """
    if handler_id:
        handler = dept.official(handler_id)
    elif kind == "statutory":
        handler = least_loaded((h for h in dept.handlers if not h.guardian), loads, cap=cap) or least_loaded(
            dept.handlers, loads, cap=cap
        )
    else:
        handler = least_loaded(dept.handlers, loads, cap=cap)
    if handler is None:
        return None
    if kind != "statutory":
        return Pick(handler, None)
    kept = dept.official(keep_guardian) if keep_guardian else None
    if kept is not None and kept.id != handler.id:
        return Pick(handler, kept)
    return Pick(handler, choose_guardian(dept, guardian_loads, handler=handler))


def plan(
    queue: Iterable[Assignment],
    dept: Department,
    loads: Mapping[str, int],
    guardian_loads: Mapping[str, int],
    *,
    cap: int = 0,
) -> list[tuple[Assignment, Pick]]:
    """Who takes which waiting complaint, in queue order, each time the least-loaded official."""
    loads, guardian_loads = dict(loads), dict(guardian_loads)
    out: list[tuple[Assignment, Pick]] = []
    for waiting in queue_order(a for a in queue if a.status == QUEUED and a.department == dept.code):
        pick = pick_for(
            waiting.kind, dept, loads, guardian_loads, keep_guardian=(waiting.guardian or {}).get("id"), cap=cap
        )
        if pick is None:
            break
        take(loads, guardian_loads, pick)
        out.append((waiting, pick))
    return out


@dataclass(frozen=True)
class Assignment:
    """One complaint's route and handler, and how they changed. No title, body or citizen data."""

    receipt_no: str
    status: str
    kind: str = ""
    category: str = ""
    district: str = ""
    channel: str = ""
    statutory_type: str | None = None
    priority: bool = False
    confidential: bool = False
    received_at: str = ""
    filing_event: str = ""
    department: str | None = None
    department_name: str | None = None
    rule_id: str | None = None
    rule_version: int | None = None
    reason: str | None = None
    matched: tuple[dict[str, Any], ...] = ()
    handler: dict[str, str] | None = None
    guardian: dict[str, str] | None = None
    pending: str | None = None
    """What the next handler pick announces: ``assigned`` or ``reassigned``."""
    queued_at: str | None = None
    routed_at: str | None = None
    assigned_at: str | None = None
    reassignments: int = 0
    misroute: dict[str, Any] | None = None
    closed_by: str | None = None
    history: tuple[dict[str, Any], ...] = ()

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["matched"] = list(self.matched)
        doc["history"] = list(self.history)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Assignment:
        fields = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        fields["matched"] = tuple(doc.get("matched", ()))
        fields["history"] = tuple(doc.get("history", ()))
        return cls(**fields)

    def _note(self, now: datetime, step: str, **detail: Any) -> tuple[dict[str, Any], ...]:
        return self.history + ({"at": now.isoformat(), "step": step, **detail},)


def _event(a: Assignment, type: str, id: str, data: dict[str, Any], now: datetime, source: str) -> Event:
    return Event.new(
        type,
        id=id,
        source=source,
        subject=a.receipt_no,
        time=now,
        data={"receipt_no": a.receipt_no, **data, "occurred_at": now.isoformat()},
    )


def route(
    facts: Facts,
    found: Match,
    dept: Department | None,
    *,
    receipt_no: str,
    priority: bool,
    received_at: str,
    cause: str,
    now: datetime,
    source: str,
) -> tuple[Assignment, list[Event]]:
    """Designate the department at once; the complaint waits for a handler in its queue."""
    code = found.rule.department
    name = dept.name if dept else code
    a = Assignment(
        receipt_no=receipt_no,
        status=QUEUED,
        kind=facts.kind,
        category=facts.category,
        district=facts.district,
        channel=facts.channel,
        statutory_type=facts.statutory_type,
        priority=priority,
        confidential=facts.confidential,
        received_at=received_at,
        filing_event=cause,
        department=code,
        department_name=name,
        rule_id=found.rule.id,
        rule_version=found.rule.version,
        reason=found.reason,
        matched=tuple(found.matched_docs()),
        pending="assigned",
        queued_at=now.isoformat(),
        routed_at=now.isoformat(),
    )
    a = replace(
        a, history=a._note(now, "routed", department=code, rule_id=found.rule.id, rule_version=found.rule.version)
    )
    data = {
        "department": code,
        "department_name": name,
        "department_phone": dept.phone if dept else None,
        "department_hours": dept.hours if dept else None,
        "rule_id": found.rule.id,
        "rule_version": found.rule.version,
        "reason": found.reason,
        "matched": list(a.matched),
        "priority": priority,
        "kind": facts.kind,
        "category": facts.category,
        "district": facts.district,
        "channel": facts.channel,
        "statutory_type": facts.statutory_type,
        "received_at": received_at,
    }
    return a, [_event(a, c.COMPLAINT_ROUTED, derive_id(cause, "routed"), data, now, source)]


def assign(
    a: Assignment, dept: Department, pick: Pick, *, now: datetime, source: str
) -> tuple[Assignment, list[Event]]:
    """Give a waiting complaint its handler (and, for a statutory one, its guardian official)."""
    if a.status != QUEUED or a.department != dept.code:
        raise Conflict(f"complaint {a.receipt_no} is not waiting in {dept.code}", status=a.status)
    handler, guardian = pick.handler.public(), pick.guardian.public() if pick.guardian else None
    reassigned = a.pending == "reassigned"
    previous = a.history[-1] if reassigned else {}
    new = replace(
        a,
        status=ASSIGNED,
        handler=handler,
        guardian=guardian,
        pending=None,
        queued_at=None,
        assigned_at=now.isoformat(),
        history=a._note(
            now,
            "reassigned" if reassigned else "assigned",
            department=dept.code,
            handler_id=handler["id"],
            guardian_id=guardian["id"] if guardian else None,
        ),
    )
    data: dict[str, Any] = {
        "department": dept.code,
        "department_name": dept.name,
        "department_phone": dept.phone or None,
        "department_hours": dept.hours,
        "handler": handler,
        "guardian": guardian,
        "priority": a.priority,
        "kind": a.kind,
        "received_at": a.received_at,
    }
    if not reassigned:
        event_id = derive_id(a.filing_event or a.receipt_no, "assigned")
        return new, [_event(new, c.COMPLAINT_ASSIGNED, event_id, data, now, source)]
    data.update(
        previous=previous.get("previous"),
        reason_code=previous.get("reason_code"),
        misroute=previous.get("misroute"),
        actor=previous.get("actor"),
    )
    event_id = derive_id(a.receipt_no, "reassigned", a.reassignments)
    return new, [_event(new, c.COMPLAINT_REASSIGNED, event_id, data, now, source)]


def reassign(
    a: Assignment,
    target: Department,
    *,
    handler_id: str | None,
    reason: str,
    reason_code: str | None,
    actor: str,
    now: datetime,
) -> Assignment:
    """Move a complaint to another department and/or handler; it waits until a handler is picked.

    Moving it to another department counts once as a misroute of the rule that
    first routed it.
    """
    if a.status == CLOSED or a.department is None:
        raise Conflict(
            f"complaint {a.receipt_no} is {a.closed_by or 'not routed'}; it cannot be reassigned", status=a.status
        )
    if not reason.strip():
        raise Invalid("reason", "a reassignment states its reason")
    if handler_id is not None:
        official = target.official(handler_id)
        if official is None:
            raise Invalid("handler", f"no handler {handler_id} in {target.code}")
        if not official.on_duty:
            raise Conflict(f"handler {handler_id} is not on duty", department=target.code)
        if a.handler and a.handler["id"] == handler_id and a.department == target.code:
            raise Conflict(f"complaint {a.receipt_no} is already with {handler_id}")
    elif target.code == a.department:
        raise Invalid("department", "name another department, or a handler, to reassign to")
    moved = target.code != a.department
    if reason_code is not None and reason_code not in REASON_CODES:
        raise Invalid("reason_code", f"reason_code is one of {', '.join(REASON_CODES)}")
    code = reason_code or ("misrouted" if moved else "workload")
    misroute = None
    if moved and a.misroute is None:
        misroute = {"rule_id": a.rule_id, "rule_version": a.rule_version, "from": a.department, "to": target.code}
    previous = {"department": a.department, "handler": a.handler}
    # Picking the first handler of a complaint still waiting where it was routed is its assignment.
    first_pick = not moved and a.handler is None and a.pending == "assigned"
    new = replace(
        a,
        status=QUEUED,
        department=target.code,
        department_name=target.name,
        handler=None,
        guardian=a.guardian if not moved else None,
        pending="assigned" if first_pick else "reassigned",
        queued_at=now.isoformat(),
        reassignments=a.reassignments + (0 if first_pick else 1),
        misroute=a.misroute or misroute,
        history=a._note(
            now,
            "reassignment_requested",
            department=target.code,
            handler_id=handler_id,
            previous=previous,
            reason=reason,
            reason_code=code,
            actor=actor,
            misroute=misroute,
        ),
    )
    return new


def release(a: Assignment | None, *, receipt_no: str, event_type: str, now: datetime) -> Assignment | None:
    """Closed, withdrawn or transferred: the handler's load drops and the queue forgets it.

    A release that overtakes the routing (another topic) leaves a closed
    record, so the late filing is not routed to anyone.
    """
    how = RELEASED_BY[event_type]
    if a is None:
        a = Assignment(receipt_no=receipt_no, status=CLOSED, closed_by=how)
        return replace(a, history=a._note(now, "released", by=how))
    if a.status == CLOSED:
        return None
    return replace(
        a,
        status=CLOSED,
        closed_by=how,
        pending=None,
        queued_at=None,
        history=a._note(now, "released", by=how, handler_id=(a.handler or {}).get("id")),
    )


def assignment_view(a: Assignment) -> dict[str, Any]:
    doc = a.to_doc()
    doc.pop("filing_event", None)
    return doc
