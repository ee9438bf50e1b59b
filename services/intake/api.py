"""Intake's HTTP API under ``/api/v1/complaints``: parse, call a handler, shape the response."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter, QueryParameter
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
    """The staff listing's view: no personal data (a role that may see it reads it separately, at
    ``/personal``); the officials who acted are named."""
    view = domain.public_view(complaint)
    view.update(
        category=complaint.category,
        district=complaint.district,
        priority=complaint.priority,
        confidential=complaint.confidential,
        extensions=complaint.extensions,
        complainant_ref=complaint.complainant_ref,
        registered_by=complaint.registered_by,
        last_actor=complaint.last_actor,
        timeline=[{"at": s.at, "step": s.step, "detail": s.detail, "by": s.by} for s in complaint.timeline],
    )
    return view


CASEWORK = [auth.requires(*auth.CASEWORK)]
READERS = [auth.requires(*auth.READERS, auth.CALL_CENTRE)]
AUDIT = [auth.requires(auth.PRIVACY_OFFICER, auth.ADMIN)]
AUDIT_COLUMNS = ("at", "actor_id", "actor_name", "actor_department", "actor_roles", "receipt_no", "action", "purpose")


def _client(request: Request[Any, Any, Any], intake: Intake) -> str:
    """The caller's address, as the check-code limits count it: the peer, or, when the peer is a
    trusted proxy (the web front, a reverse proxy), the nearest untrusted address it forwards."""
    peer = request.client.host if request.client else "unknown"
    if peer not in intake.proxies:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in intake.proxies:
            return hop
    return peer


def _by(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return auth.staff(request).audit()


def _registrar(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The official registering a complaint for a citizen: 401 without identity, 403 without an intake role."""
    who = auth.principal_of(request)
    if who is None:
        raise NotAuthorizedException("staff channels and a given received_at need a staff identity")
    if not who.has(*auth.INTAKE):
        raise PermissionDeniedException(f"registering for a citizen needs one of the roles: {', '.join(auth.INTAKE)}")
    return who.audit()


def _audit_row(entry: dict[str, Any]) -> dict[str, Any]:
    actor = entry.get("actor") or {}
    return {"at": entry["at"], "actor_id": entry["actor_id"], "actor_name": actor.get("name"),
            "actor_department": actor.get("department"), "actor_roles": " ".join(actor.get("roles") or ()),
            "receipt_no": entry.get("receipt_no"), "action": entry["action"], "purpose": entry["purpose"]}


async def _in_scope(request: Request[Any, Any, Any], intake: Intake, receipt_no: str) -> Complaint:
    """The complaint, if the calling official may act on its department (403 otherwise)."""
    complaint = await intake.get(receipt_no)
    auth.in_scope(auth.staff(request), complaint.department)
    return complaint


class ComplaintController(Controller):
    path = "/api/v1/complaints"
    tags = ["intake"]

    @post("/", status_code=201)
    async def file(self, data: ComplaintIn, request: Request[Any, Any, Any], intake: Intake,
                   idempotency_key: IdempotencyKey) -> Response[dict[str, Any]]:
        """File a complaint. Stored durably before 201; a repeated Idempotency-Key returns the first result.
        Citizens file online; a staff channel (visit, phone, mail, fax, oral) or a ``received_at`` needs an
        official with an intake role (call centre, handler, complaint office, ...), who is recorded."""
        filing = data.to_filing()
        by = _registrar(request) if domain.needs_staff(filing) else None
        complaint, created = await intake.file_complaint(filing, idempotency_key=idempotency_key, by=by)
        body = {"receipt_no": complaint.receipt_no, "check_code": complaint.check_code,
                "status": complaint.status, "received_at": complaint.received_at}
        return Response(body, status_code=201 if created else 200)

    @get("/{receipt_no:str}")
    async def show(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                   code: str | None = None) -> dict[str, Any]:
        """A citizen with the check code sees the PII-free status and timeline; staff of the complaint's
        department (or the complaint office) see the same with more facts."""
        if code is not None:
            return await intake.get_for_citizen(receipt_no, code, client=_client(request, intake))
        return staff_view(await _in_scope(request, intake, receipt_no))

    @get("/{receipt_no:str}/personal", guards=CASEWORK)
    async def personal(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                       purpose: Annotated[str, Parameter(min_length=2, max_length=300)]) -> dict[str, Any]:
        """The complainant's personal data and the complaint's text, for an official of its department
        (a confidential or whistleblower complaint: the complaint office only). Each read is written to
        the audit log with its ``purpose``."""
        complaint = await _in_scope(request, intake, receipt_no)
        who = auth.staff(request)
        if complaint.confidential and not who.office:
            raise PermissionDeniedException("a confidential complaint's personal data is for the complaint office")
        return await intake.personal_data(receipt_no, by=who.audit(), purpose=purpose)

    @get("/audit", guards=AUDIT)
    async def audit(
        self,
        intake: Intake,
        receipt_no: str | None = None,
        actor: str | None = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        """The audit log of officials' access (privacy officer, administrator): reads of personal data and
        staff actions, oldest first, filtered by complaint, official and time (``from`` inclusive, ``to``
        exclusive)."""
        items = await intake.audit_log(receipt_no=receipt_no, actor=actor, since=since, until=until,
                                       after=cursor, limit=limit)
        return {"items": [_audit_row(x) for x in items],
                "next_cursor": items[-1]["_id"] if len(items) == limit else None}

    @get("/audit.csv", guards=AUDIT, media_type="text/csv")
    async def audit_csv(
        self,
        intake: Intake,
        receipt_no: str | None = None,
        actor: str | None = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> Response[str]:
        """The same entries as CSV, for the privacy officer's records (every page, oldest first)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS)
        writer.writeheader()
        cursor = None
        while True:
            items = await intake.audit_log(receipt_no=receipt_no, actor=actor, since=since, until=until,
                                           after=cursor, limit=1000)
            writer.writerows(_audit_row(x) for x in items)
            if len(items) < 1000:
                break
            cursor = items[-1]["_id"]
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="minwon-audit.csv"'})

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
        by = None
        if code is not None:
            await intake.verify_code(receipt_no, code, client=_client(request, intake))
        elif not auth.staff(request).has(*auth.INTAKE):
            raise DomainError("forbidden", "confirming for a citizen needs a counter or call-centre role", 403)
        else:
            by = _by(request)  # at the counter, the citizen present: recorded as such
        return staff_view(await intake.confirm(receipt_no, idempotency_key=idempotency_key, by=by))

    @post("/{receipt_no:str}/acknowledge", status_code=200, guards=CASEWORK)
    async def acknowledge(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                          idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key,
                               lambda x: domain.acknowledge(x, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/supplementation", status_code=200, guards=CASEWORK)
    async def request_supplementation(self, receipt_no: str, data: SupplementationIn, request: Request[Any, Any, Any],
                                      intake: Intake, idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key, lambda x: domain.request_supplementation(
            x, reason=data.reason, due=data.due, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/supplement", status_code=200, guards=CASEWORK)
    async def receive_supplement(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                                 idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key,
                               lambda x: domain.receive_supplement(x, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/extend", status_code=200, guards=CASEWORK)
    async def extend(self, receipt_no: str, data: ExtendIn, request: Request[Any, Any, Any], intake: Intake,
                     idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key, lambda x: domain.extend(
            x, reason=data.reason, period=data.period, citizen_consent=data.citizen_consent,
            now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/transfer", status_code=200, guards=CASEWORK)
    async def transfer(self, receipt_no: str, data: TransferIn, request: Request[Any, Any, Any], intake: Intake,
                       idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key, lambda x: domain.transfer(
            x, agency=data.agency, reason=data.reason, now=intake.clock(), source=intake.source))

    @post("/{receipt_no:str}/close", status_code=200, guards=CASEWORK)
    async def close(self, receipt_no: str, data: CloseIn, request: Request[Any, Any, Any], intake: Intake,
                    idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key, lambda x: domain.close(
            x, outcome=data.outcome, reasons=data.reasons, remedy=data.remedy, now=intake.clock(),
            source=intake.source))

    @post("/{receipt_no:str}/withdraw", status_code=200)
    async def withdraw(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake,
                       idempotency_key: IdempotencyKey, code: str | None = None) -> dict[str, Any]:
        """The citizen (with the check code) or staff withdraw a complaint."""
        by = None
        if code is not None:
            await intake.verify_code(receipt_no, code, client=_client(request, intake))
        else:
            await _in_scope(request, intake, receipt_no)
            by = _by(request)
        return staff_view(await intake.run(receipt_no, lambda x: domain.withdraw(x, now=intake.clock(),
                                           source=intake.source), idempotency_key=idempotency_key, by=by,
                                           action="withdraw"))

    @post("/{receipt_no:str}/revisits", status_code=200, guards=CASEWORK)
    async def report_revisit(self, receipt_no: str, data: ReasonIn, request: Request[Any, Any, Any], intake: Intake,
                             idempotency_key: IdempotencyKey) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(request, intake, receipt_no, idempotency_key, lambda x: domain.report_revisit(
            x, reason=data.reason, now=intake.clock(), source=intake.source))

    @staticmethod
    async def _run(request: Request[Any, Any, Any], intake: Intake, receipt_no: str, key: str | None,
                   command: Any) -> dict[str, Any]:
        """A staff command: the official is recorded on the complaint, its timeline and the audit log."""
        action = request.scope["route_handler"].handler_name
        return staff_view(await intake.run(receipt_no, command, idempotency_key=key, by=_by(request),
                                           action=action))


def routes(intake: Intake) -> list[Any]:
    return [Router(path="/", route_handlers=[ComplaintController],
                   dependencies={"intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True)})]
