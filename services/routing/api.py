"""Routing's HTTP API under ``/api/v1/routing``: parse, call a handler, shape the response.

Every change names its actor: the signed-in official (``minwon.auth``);
rules and departments keep a version and an audit record for each change.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Router, get, patch, post, put
from litestar.di import Provide
from litestar.params import HeaderParameter, Parameter
from pydantic import BaseModel, ConfigDict, Field

from minwon import auth
from minwon.errors import Invalid
from services.routing import domain
from services.routing.domain import Department, Facts, Official
from services.routing.handlers import Routing

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=False, max_length=20, description="The rule version the change is based on"
    ),
]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=200)]
Kind = Literal[
    "statutory", "inquiry_law", "inquiry_system", "suggestion", "other", "grievance", "petition", "service_complaint"
]
Channel = Literal["online", "visit", "phone", "mail", "fax", "sns", "oral"]
Value = Annotated[str, Field(min_length=1, max_length=100)]
Values = Annotated[list[Value], Field(max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConditionsIn(_Strict):
    kinds: Values = Field(default_factory=list, description=f"Any of {', '.join(domain.KINDS)}")
    channels: Values = Field(default_factory=list, description=f"Any of {', '.join(domain.CHANNELS)}")
    statutory_types: Values = Field(default_factory=list, description="Contained in the statutory type")
    categories: Values = Field(default_factory=list, description="The category or one under it (환경 ⊇ 환경/소음)")
    districts: Values = Field(default_factory=list, description="구/군/읍·면·동, e.g. 해운대구 or 해운대구 우동")
    keywords: Values = Field(default_factory=list, description="Any of them in the title or body")
    exclude_keywords: Values = Field(default_factory=list, description="None of them in the title or body")


class ConditionsPatch(_Strict):
    kinds: Values | None = None
    channels: Values | None = None
    statutory_types: Values | None = None
    categories: Values | None = None
    districts: Values | None = None
    keywords: Values | None = None
    exclude_keywords: Values | None = None


class RuleBody(_Strict):
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(ge=0, le=domain.DEFAULT_PRIORITY, description="Lower numbers are tried first")
    department: str = Field(min_length=1, max_length=63)
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    description: str = Field("", max_length=2000)
    enabled: bool = True


class RuleIn(RuleBody):
    id: str | None = Field(None, min_length=2, max_length=63, description="Lowercase slug; generated if absent")


class RulePatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    priority: int | None = Field(None, ge=0, le=domain.DEFAULT_PRIORITY)
    department: str | None = Field(None, min_length=1, max_length=63)
    conditions: ConditionsPatch | None = None
    description: str | None = Field(None, max_length=2000)
    enabled: bool | None = None


class PreviewIn(_Strict):
    kind: Kind
    category: str = Field(min_length=1, max_length=100)
    district: str = Field(min_length=1, max_length=100)
    channel: Channel = "online"
    title: str = Field("", max_length=200)
    body: str = Field("", max_length=20000)
    statutory_type: str | None = Field(None, max_length=100)
    confidential: bool = False


class OfficialIn(_Strict):
    id: str = Field(min_length=2, max_length=63)
    name: str = Field(min_length=1, max_length=50, description="Public by law (민원책임실명제)")
    contact: str = Field(min_length=1, max_length=40, description="Office phone, public by law")
    on_duty: bool = True
    guardian: bool = Field(False, description="May serve as 민원후견인 for statutory complaints")

    def to_official(self) -> Official:
        return Official(**self.model_dump())


class OfficialPatch(_Strict):
    name: str | None = Field(None, min_length=1, max_length=50)
    contact: str | None = Field(None, min_length=1, max_length=40)
    on_duty: bool | None = None
    guardian: bool | None = None


class HoursIn(_Strict):
    """A department's working hours (부서 근무시간): its targets and SLA signals count on them."""

    always_open: bool = Field(False, description="24시간·연중무휴: every hour of every day, holidays included")
    days: list[str] | None = Field(None, max_length=7, description="Working weekdays: mon, tue, ... sun")
    periods: list[str] | None = Field(None, max_length=6, description="Spans like 09:00-12:00; 24:00 is midnight")
    open_on_holidays: bool = Field(False, description="Open on public holidays too")

    def spec(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class DepartmentPut(_Strict):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field("", max_length=40)
    handlers: list[OfficialIn] | None = Field(None, description="Absent: keep the current handlers")
    hours: HoursIn | None = Field(None, description="Absent: keep the current hours; null: the statutory hours")


class DepartmentIn(DepartmentPut):
    code: str = Field(min_length=2, max_length=63)


class ReassignIn(_Strict):
    department: str | None = Field(None, min_length=1, max_length=63)
    handler: str | None = Field(None, min_length=1, max_length=63)
    reason: str = Field(min_length=1, max_length=2000, description="Kept in routing's history; not published")
    reason_code: Literal["misrouted", "workload", "absence", "expertise", "other"] | None = None


READERS = [auth.requires(*auth.READERS)]
STAFF = [auth.requires(*auth.STAFF)]
LEADS = [auth.requires(*auth.LEADS)]
OFFICE = [auth.requires(*auth.OFFICE)]


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Invalid("If-Match", "If-Match is the rule's version number, e.g. 3")
    return int(raw)


class RuleController(Controller):
    path = "/api/v1/routing/rules"
    guards = READERS
    tags = ["routing"]

    @get("/")
    async def index(
        self, routing: Routing, enabled: bool | None = None, department: str | None = None
    ) -> dict[str, Any]:
        """The rule table in the order rules are tried (lower priority number first)."""
        return {"items": await routing.list_rules(enabled=enabled, department=department)}

    @post("/", status_code=201, guards=OFFICE)
    async def create(
        self, data: RuleIn, routing: Routing, request: Request[Any, Any, Any], idempotency_key: IdempotencyKey
    ) -> dict[str, Any]:
        return await routing.create_rule(
            data.model_dump(), actor=auth.staff(request).id, idempotency_key=idempotency_key
        )

    @get("/stats")
    async def stats(self, routing: Routing) -> dict[str, Any]:
        """Complaints each rule routed, and how many were moved to another department (misroutes)."""
        return {"items": await routing.rule_stats()}

    @get("/audit")
    async def audit(self, routing: Routing, limit: Annotated[int, Parameter(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """Every change to every rule, newest first: who, when, what."""
        return {"items": await routing.rules_audit(limit=limit)}

    @get("/{rule_id:str}")
    async def show(self, rule_id: str, routing: Routing) -> dict[str, Any]:
        """A rule with all its versions and its audit trail."""
        return await routing.get_rule(rule_id)

    @put("/{rule_id:str}", guards=OFFICE)
    async def replace(
        self, rule_id: str, data: RuleBody, routing: Routing, request: Request[Any, Any, Any], if_match: IfMatch
    ) -> dict[str, Any]:
        return await routing.change_rule(
            rule_id,
            data.model_dump(),
            actor=auth.staff(request).id,
            replace_all=True,
            expected_version=_version(if_match),
        )

    @patch("/{rule_id:str}", guards=OFFICE)
    async def update(
        self, rule_id: str, data: RulePatch, routing: Routing, request: Request[Any, Any, Any], if_match: IfMatch
    ) -> dict[str, Any]:
        changes = data.model_dump(exclude_unset=True)
        if isinstance(changes.get("conditions"), dict):
            changes["conditions"] = {k: v for k, v in changes["conditions"].items() if v is not None}
        return await routing.change_rule(
            rule_id, changes, actor=auth.staff(request).id, expected_version=_version(if_match)
        )

    @post("/{rule_id:str}/disable", status_code=200, guards=OFFICE)
    async def disable(self, rule_id: str, routing: Routing, request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await routing.change_rule(rule_id, {"enabled": False}, actor=auth.staff(request).id, action="disabled")

    @post("/{rule_id:str}/enable", status_code=200, guards=OFFICE)
    async def enable(self, rule_id: str, routing: Routing, request: Request[Any, Any, Any]) -> dict[str, Any]:
        return await routing.change_rule(rule_id, {"enabled": True}, actor=auth.staff(request).id, action="enabled")


@post("/api/v1/routing/preview", status_code=200, tags=["routing"], guards=STAFF)
async def preview(data: PreviewIn, routing: Routing) -> dict[str, Any]:
    """Which rule and department a complaint would get, and why. Nothing is stored or published."""
    return await routing.preview(Facts(**data.model_dump()))


class DepartmentController(Controller):
    path = "/api/v1/routing/departments"
    guards = READERS
    tags = ["routing"]

    @get("/")
    async def index(self, routing: Routing) -> dict[str, Any]:
        return {"items": await routing.list_departments()}

    @post("/", status_code=201, guards=OFFICE)
    async def create(self, data: DepartmentIn, routing: Routing, request: Request[Any, Any, Any]) -> dict[str, Any]:
        hours = domain.department_hours(data.hours.spec() if data.hours else None)
        dept = Department(data.code, data.name, data.phone, tuple(h.to_official() for h in data.handlers or ()), hours)
        return await routing.create_department(dept, actor=auth.staff(request).id)

    @get("/{code:str}")
    async def show(self, code: str, routing: Routing) -> dict[str, Any]:
        """A department with each handler's load (open complaints) and its queue length."""
        return await routing.get_department(code)

    @put("/{code:str}", guards=OFFICE)
    async def put(
        self, code: str, data: DepartmentPut, routing: Routing, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Create or update a department."""
        handlers = [h.to_official() for h in data.handlers] if data.handlers is not None else None
        hours = (data.hours.spec() if data.hours else None) if "hours" in data.model_fields_set else ...
        return await routing.put_department(
            code, name=data.name, phone=data.phone, handlers=handlers, actor=auth.staff(request).id, hours=hours
        )

    @post("/{code:str}/handlers", status_code=201, guards=LEADS)
    async def add_handler(
        self, code: str, data: OfficialIn, routing: Routing, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        auth.in_scope(auth.staff(request), code)
        return await routing.add_handler(code, data.to_official(), actor=auth.staff(request).id)

    @patch("/{code:str}/handlers/{handler_id:str}", guards=LEADS)
    async def update_handler(
        self, code: str, handler_id: str, data: OfficialPatch, routing: Routing, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Change a handler, e.g. ``{"on_duty": false}``; waiting complaints are retried at once."""
        auth.in_scope(auth.staff(request), code)
        changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
        return await routing.update_handler(code, handler_id, changes, actor=auth.staff(request).id)


class AssignmentController(Controller):
    path = "/api/v1/routing/assignments"
    guards = READERS
    tags = ["routing"]

    @get("/")
    async def index(
        self,
        routing: Routing,
        request: Request[Any, Any, Any],
        status: Literal["queued", "assigned", "closed"] | None = None,
        department: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Routed complaints, e.g. the waiting queue: ``?status=queued``; outside the complaint office, the
        official's own department."""
        who = auth.staff(request)
        if not (who.office or who.has(auth.AUDITOR)):
            department = who.department or "-"
        items = await routing.list_assignments(status=status, department=department, after=cursor, limit=limit)
        return {"items": items, "next_cursor": items[-1]["receipt_no"] if len(items) == limit else None}

    @get("/{receipt_no:str}")
    async def show(self, receipt_no: str, routing: Routing, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """The route, handler, guardian and their history for one complaint."""
        view = await routing.get_assignment(receipt_no)
        auth.in_scope(auth.staff(request), view.get("department"))
        return view

    @post("/{receipt_no:str}/reassign", status_code=200, guards=LEADS)
    async def reassign(
        self,
        receipt_no: str,
        data: ReassignIn,
        routing: Routing,
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        auth.in_scope(auth.staff(request), (await routing.get_assignment(receipt_no)).get("department"))
        return await routing.reassign(
            receipt_no,
            department=data.department,
            handler=data.handler,
            reason=data.reason,
            reason_code=data.reason_code,
            actor=auth.staff(request).id,
            idempotency_key=idempotency_key,
        )


def routes(routing: Routing) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[RuleController, preview, DepartmentController, AssignmentController],
            dependencies={"routing": Provide(lambda: routing, sync_to_thread=False, use_cache=True)},
        )
    ]
