"""Intake's HTTP API under ``/api/v1/complaints``: parse, call a handler, shape the response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel, Field

from minwon import auth
from minwon.errors import DomainError
from services.intake import domain
from services.intake.domain import Complaint, Consent, Filing, Identity
from services.intake.handlers import Intake

IdempotencyKey = Annotated[str | None, Parameter(header="Idempotency-Key", required=False, max_length=200)]


class ConsentIn(BaseModel):
    sms: bool = False
    alimtalk: bool = False
    email: bool = False
    post: bool = False


class ComplaintIn(BaseModel):
    name: str = Field("", max_length=100, description="Complainant's name (required: no anonymous complaints)")
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    kind: str = Field(description=f"One of {', '.join(domain.KINDS)}")
    category: str = Field(min_length=1, max_length=100)
    district: str = Field(min_length=1, max_length=100)
    channel: Literal["online", "visit", "phone", "mail", "fax", "sns", "oral"] = "online"
    received_at: datetime | None = Field(None, description="Staff channels: the real arrival time (ISO 8601 with offset)")
    received_at_reason: str | None = Field(None, max_length=500)
    statutory_type: str | None = Field(None, max_length=100)
    priority: bool = Field(False, description="Elderly, disabled or pregnant citizen")
    whistleblower: bool = False
    consent: ConsentIn = Field(default_factory=ConsentIn)

    def to_filing(self) -> Filing:
        return Filing(
            identity=Identity(name=self.name, phone=self.phone, email=self.email, address=self.address),
            title=self.title,
            body=self.body,
            kind=self.kind,
            category=self.category,
            district=self.district,
            channel=self.channel,
            received_at=self.received_at,
            received_at_reason=self.received_at_reason,
            statutory_type=self.statutory_type,
            priority=self.priority,
            whistleblower=self.whistleblower,
            consent=Consent(**self.consent.model_dump()),
        )


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class SupplementationIn(ReasonIn):
    due: datetime | None = None


class ExtendIn(ReasonIn):
    period: str | None = Field(None, description="e.g. 7d; default: the original period")
    citizen_consent: bool = False


class TransferIn(ReasonIn):
    agency: str = Field(min_length=1, max_length=200)


class CloseIn(BaseModel):
    outcome: Literal["accepted", "partly_accepted", "rejected"]
    reasons: str | None = Field(None, max_length=5000)
    remedy: str | None = Field(None, max_length=2000)


def staff_view(complaint: Complaint) -> dict[str, Any]:
    """The staff listing's view: no personal data (a role that may see it reads it separately)."""
    view = domain.public_view(complaint)
    view.update(
        category=complaint.category,
        district=complaint.district,
        priority=complaint.priority,
        confidential=complaint.confidential,
        extensions=complaint.extensions,
        complainant_ref=complaint.complainant_ref,
    )
    return view


CASEWORK = [auth.requires(*auth.CASEWORK)]
READERS = [auth.requires(*auth.READERS, auth.CALL_CENTRE)]


async def _in_scope(request: Request[Any, Any, Any], intake: Intake, receipt_no: str) -> Complaint:
    """The complaint, if the calling official may act on its department (403 otherwise)."""
    complaint = await intake.get(receipt_no)
    auth.in_scope(auth.staff(request), complaint.department)
    return complaint


class ComplaintController(Controller):
    path = "/api/v1/complaints"
    tags = ["intake"]

    @post("/", status_code=201)
    async def file(self, data: ComplaintIn, intake: Intake, idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        """File a complaint. Stored durably before 201; a repeated Idempotency-Key returns the first result."""
        complaint, created = await intake.file_complaint(data.to_filing(), idempotency_key=idempotency_key)
        body = {"receipt_no": complaint.receipt_no, "check_code": complaint.check_code,
                "status": complaint.status, "received_at": complaint.received_at}
        return Response(body, status_code=201 if created else 200)

    @get("/{receipt_no:str}")
    async def show(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                   code: str | None = None) -> dict[str, Any]:
        """A citizen with the check code sees the PII-free status and timeline; staff of the complaint's
        department (or the complaint office) see the same with more facts."""
        if code is not None:
            return await intake.get_for_citizen(receipt_no, code)
        return staff_view(await _in_scope(request, intake, receipt_no))

    @get("/", guards=READERS)
    async def index(
        self,
        request: Request[Any, Any, Any],
        intake: Intake,
        status: str | None = None,
        department: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
        overdue: bool = False,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Staff listing with filters and cursor pagination; an official outside the complaint office
        sees their own department's complaints."""
        who = auth.staff(request)
        if not (who.office or who.has(auth.AUDITOR)):
            department = who.department or "-"
        items = await intake.list(
            filters={"status": status, "department": department, "kind": kind, "channel": channel,
                     "overdue": overdue},
            after=cursor, limit=limit,
        )
        next_cursor = items[-1].receipt_no if len(items) == limit else None
        return {"items": [staff_view(x) for x in items], "next_cursor": next_cursor}

    @post("/{receipt_no:str}/confirm", status_code=200)
    async def confirm(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                      idempotency_key: IdempotencyKey, code: str | None = None) -> dict[str, Any]:
        """The citizen confirms an oral complaint written down by staff (구술민원): with the check code, or at
        the counter in an official's session with the citizen present."""
        if code is not None:
            await intake.get_for_citizen(receipt_no, code)
        elif not auth.staff(request).has(*auth.INTAKE):
            raise DomainError("forbidden", "confirming for a citizen needs a counter or call-centre role", 403)
        return staff_view(await intake.confirm(receipt_no, idempotency_key=idempotency_key))

    @post("/{receipt_no:str}/acknowledge", status_code=200, guards=CASEWORK)
    async def acknowledge(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                          idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key,
                               lambda x: domain.acknowledge(x, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/supplementation", status_code=200, guards=CASEWORK)
    async def request_supplementation(self, receipt_no: str, data: SupplementationIn, request: Request[Any, Any, Any],
                                      intake: Intake, idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key, lambda x: domain.request_supplementation(
            x, reason=data.reason, due=data.due, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/supplement", status_code=200, guards=CASEWORK)
    async def receive_supplement(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                                 idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key,
                               lambda x: domain.receive_supplement(x, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/extend", status_code=200, guards=CASEWORK)
    async def extend(self, receipt_no: str, data: ExtendIn, request: Request[Any, Any, Any], intake: Intake,
                     idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key, lambda x: domain.extend(
            x, reason=data.reason, period=data.period, citizen_consent=data.citizen_consent,
            now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/transfer", status_code=200, guards=CASEWORK)
    async def transfer(self, receipt_no: str, data: TransferIn, request: Request[Any, Any, Any], intake: Intake,
                       idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key, lambda x: domain.transfer(
            x, agency=data.agency, reason=data.reason, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/close", status_code=200, guards=CASEWORK)
    async def close(self, receipt_no: str, data: CloseIn, request: Request[Any, Any, Any], intake: Intake,
                    idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key, lambda x: domain.close(
            x, outcome=data.outcome, reasons=data.reasons, remedy=data.remedy, now=intake.clock(),
            source=intake.source))

    @post("/{receipt_no:str}/withdraw", status_code=200)
    async def withdraw(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                       idempotency_key: IdempotencyKey, code: str | None = None) -> dict[str, Any]:
        """The citizen (with the check code) or staff withdraw a complaint."""
        if code is not None:
            await intake.get_for_citizen(receipt_no, code)
        else:
            await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key,
                               lambda x: domain.withdraw(x, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/revisits", status_code=200, guards=CASEWORK)
    async def report_revisit(self, receipt_no: str, data: ReasonIn, request: Request[Any, Any, Any], intake: Intake,
                             idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(intake, receipt_no, idempotency_key, lambda x: domain.report_revisit(
            x, reason=data.reason, now=intake.clock(), source=intake.source))

    @staticmethod
    async def _run(intake: Intake, receipt_no: str, key: str | None, command: Any) -> dict[str, Any]:
        return staff_view(await intake.run(receipt_no, command, idempotency_key=key))


def routes(intake: Intake) -> list[Any]:
    return [Router(path="/", route_handlers=[ComplaintController],
                   dependencies={"intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True)})]
