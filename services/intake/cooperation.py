"""Intake's HTTP API of cooperating departments (협조부서), under ``/api/v1/complaints``.

The lead department (its handler, its team lead) or the complaint office asks another department
for its input on a complaint; the department asked reads the complaint while the request is open
(every read written to the audit log) and replies; the lead department reads the reply and may
cancel the request. The question and the reply are staff-only: sealed in intake's store, never on
a topic, never to the citizen. Rules: :func:`services.intake.domain.request_cooperation` and the
functions after it; the clocks: :mod:`services.deadline.cooperation`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import HeaderParameter, Parameter, QueryParameter
from pydantic import BaseModel, Field

from minwon import auth
from services.intake import domain
from services.intake.domain import Complaint
from services.intake.handlers import Intake

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=200)]
"""A request's ``Idempotency-Key`` header: the same key and body again return the first answer."""
CASEWORK = [auth.requires(*auth.CASEWORK)]
STATES = {
    "open": [domain.COOPERATION_OPEN],
    "replied": [domain.COOPERATION_REPLIED],
    "cancelled": [domain.COOPERATION_CANCELLED],
    "all": [domain.COOPERATION_OPEN, domain.COOPERATION_REPLIED, domain.COOPERATION_CANCELLED],
}


class CooperationIn(BaseModel):
    department: str = Field(min_length=1, max_length=100, description="The department asked (routing's code)")
    department_name: str | None = Field(None, max_length=100)
    working_days: int | None = Field(
        None,
        description=f"Working days to reply (default "
        f"{domain.COOPERATION_DEFAULT_DAYS}, at most {domain.COOPERATION_MAX_DAYS})",
    )
    question: str = Field(min_length=1, max_length=domain.MAX_COOPERATION_TEXT)


class CooperationReplyIn(BaseModel):
    text: str = Field(min_length=1, max_length=domain.MAX_COOPERATION_TEXT)


def _leads(who: auth.Principal, complaint: Complaint) -> bool:
    """The lead department's officials and the complaint office see every request of the complaint."""
    return who.office or who.may_see(complaint.department)


async def readable(request: Request[Any, Any, Any], intake: Intake, receipt_no: str) -> Complaint:
    """The complaint, for its own department, the complaint office, or a department it has asked (an
    open request): that department's read is written to the audit log. 403 for anyone else."""
    complaint = await intake.get(receipt_no)
    who = auth.staff(request)
    if _leads(who, complaint):
        return complaint
    if domain.may_read_as_cooperating(complaint, who.department):
        await intake.audit(who.audit(), "read_as_cooperating_department", receipt_no, purpose="협조 요청 검토")
        return complaint
    raise PermissionDeniedException("this complaint belongs to another department and has not asked yours")


def cooperating_view(complaint: Complaint) -> dict[str, Any]:
    """What a department asked for its input sees of the complaint: no personal data."""
    return {
        **domain.public_view(complaint),
        "category": complaint.category,
        "district": complaint.district,
        "department_name": complaint.department_name,
        "priority": complaint.priority,
    }


class CooperationController(Controller):
    path = "/api/v1/complaints"
    tags = ["intake", "cooperation"]

    @get("/cooperation-requests", guards=CASEWORK)
    async def addressed(
        self,
        request: Request[Any, Any, Any],
        intake: Intake,
        department: Annotated[str | None, Parameter(max_length=100)] = None,
        which: Annotated[Literal["open", "replied", "cancelled", "all"], QueryParameter(name="state")] = "open",
        limit: Annotated[int, Parameter(ge=1, le=200)] = 100,
    ) -> dict[str, Any]:
        """The requests addressed to a department (협조 요청): the caller's own; the complaint office
        names any department."""
        who = auth.staff(request)
        if not who.office:
            department = who.department
        if not department:
            return {"items": []}
        return {
            "department": department,
            "items": await intake.cooperation_requests(department, states=STATES[which], limit=limit),
        }

    @get("/{receipt_no:str}/cooperation", guards=CASEWORK)
    async def show(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake) -> dict[str, Any]:
        """The complaint's requests with their questions and replies: every request for the lead department
        and the complaint office; its own requests (open or answered) for a department asked."""
        complaint = await intake.get(receipt_no)
        who = auth.staff(request)
        every = _leads(who, complaint)
        if not every and not any(e["department"] == who.department for e in complaint.cooperations):
            raise PermissionDeniedException("this complaint has not asked your department")
        return {
            "receipt_no": receipt_no,
            "lead_department": complaint.department,
            "items": intake.cooperations_of(complaint, department=who.department, every=every),
        }

    @get("/{receipt_no:str}/cooperation/complaint", guards=CASEWORK)
    async def complaint(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake) -> dict[str, Any]:
        """The complaint as a department asked reads it (no personal data; the read is audited)."""
        return cooperating_view(await readable(request, intake, receipt_no))

    @get("/{receipt_no:str}/cooperation/text", guards=CASEWORK)
    async def text(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        purpose: Annotated[str, Parameter(min_length=2, max_length=300)] = "협조 요청 검토",
    ) -> dict[str, Any]:
        """The complaint's title, text and place for a department asked (never the complainant's name or
        contacts); the read is written to the audit log with its ``purpose``. A confidential complaint's
        text stays with its own department and the complaint office."""
        complaint = await readable(request, intake, receipt_no)
        who = auth.staff(request)
        if complaint.confidential and not _leads(who, complaint):
            raise PermissionDeniedException("a confidential complaint's text is not shared with other departments")
        data = await intake.personal_data(receipt_no, by=who.audit(), purpose=purpose)
        return {k: data.get(k) for k in ("receipt_no", "title", "body", "location")}

    @post("/{receipt_no:str}/cooperation", status_code=201, guards=CASEWORK)
    async def ask(
        self,
        receipt_no: str,
        data: CooperationIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> Response[dict[str, Any]]:
        """협조 요청: the lead department (or the complaint office) asks ``department`` for its input within
        ``working_days`` working days; the deadline service keeps its clock."""
        complaint = await intake.get(receipt_no)
        who = auth.staff(request)
        auth.in_scope(who, complaint.department)
        complaint, request_id = await intake.request_cooperation(
            receipt_no,
            department=data.department,
            department_name=data.department_name,
            working_days=data.working_days,
            question=data.question,
            by=who.audit(),
            idempotency_key=idempotency_key,
        )
        return Response(
            {
                "receipt_no": receipt_no,
                "request_id": request_id,
                "items": intake.cooperations_of(complaint, department=who.department, every=True),
            },
            status_code=201,
        )

    @post("/{receipt_no:str}/cooperation/{request_id:str}/reply", status_code=200, guards=CASEWORK)
    async def reply(
        self,
        receipt_no: str,
        request_id: str,
        data: CooperationReplyIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        """The department asked replies (for the lead department only; never to the citizen)."""
        who = auth.staff(request)
        complaint = await intake.reply_cooperation(
            receipt_no,
            request_id,
            text=data.text,
            department=None if who.office else who.department,
            by=who.audit(),
            idempotency_key=idempotency_key,
        )
        return {
            "receipt_no": receipt_no,
            "request_id": request_id,
            "items": intake.cooperations_of(complaint, department=who.department, every=who.office),
        }

    @post("/{receipt_no:str}/cooperation/{request_id:str}/cancel", status_code=200, guards=CASEWORK)
    async def cancel(
        self,
        receipt_no: str,
        request_id: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        """The lead department withdraws its request: the clock stops."""
        complaint = await intake.get(receipt_no)
        who = auth.staff(request)
        auth.in_scope(who, complaint.department)
        complaint = await intake.cancel_cooperation(
            receipt_no, request_id, by=who.audit(), idempotency_key=idempotency_key
        )
        return {
            "receipt_no": receipt_no,
            "request_id": request_id,
            "items": intake.cooperations_of(complaint, department=who.department, every=True),
        }
