"""Intake's HTTP API under ``/api/v1/complaints``: parse, call a handler, shape the response."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter, QueryParameter
from pydantic import BaseModel, Field

from minwon import auth
from minwon.errors import DomainError
from services.intake import domain
from services.intake.attachments_handlers import Attachments
from services.intake.cooperation import CooperationController, IdempotencyKey
from services.intake.domain import Complaint, Consent, Filing, Identity
from services.intake.handlers import Intake


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
    district: str = Field("", max_length=100, description="구·군; when empty, read from location or address")
    channel: Literal["online", "visit", "phone", "mail", "fax", "sns", "oral"] = "online"
    received_at: datetime | None = Field(
        None, description="Staff channels: the real arrival time (ISO 8601 with offset)"
    )
    received_at_reason: str | None = Field(None, max_length=500)
    statutory_type: str | None = Field(None, max_length=100)
    priority: bool = Field(False, description="Elderly, disabled or pregnant citizen")
    whistleblower: bool = False
    consent: ConsentIn = Field(default_factory=ConsentIn)
    location: str | None = Field(None, max_length=300, description="Where the problem is (not the citizen's address)")

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
            location=self.location or None,
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
    agency_name: str | None = Field(None, max_length=200, description="The receiving agency's name, for the citizen")


class CloseIn(BaseModel):
    outcome: Literal["accepted", "partly_accepted", "rejected"]
    reasons: str | None = Field(None, max_length=5000)
    remedy: str | None = Field(None, max_length=2000)
    text: str | None = Field(None, max_length=domain.MAX_ANSWER_TEXT, description="The answer to the citizen")

    def to_draft(self) -> domain.AnswerDraft:
        return domain.AnswerDraft(outcome=self.outcome, text=self.text or "", reasons=self.reasons, remedy=self.remedy)


class AnswerIn(BaseModel):
    outcome: Literal["accepted", "partly_accepted", "rejected"]
    text: str = Field(min_length=1, max_length=domain.MAX_ANSWER_TEXT)
    reasons: str | None = Field(None, max_length=5000)
    remedy: str | None = Field(None, max_length=2000)
    template_id: str | None = Field(None, max_length=100)

    def to_draft(self) -> domain.AnswerDraft:
        return domain.AnswerDraft(
            outcome=self.outcome, text=self.text, reasons=self.reasons, remedy=self.remedy, template_id=self.template_id
        )


class ReturnIn(BaseModel):
    comment: str = Field(min_length=1, max_length=domain.MAX_COMMENT)


class ApproveIn(BaseModel):
    comment: str | None = Field(None, max_length=domain.MAX_COMMENT)


class RenderIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=100)


class TemplateIn(BaseModel):
    category: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=domain.MAX_ANSWER_TEXT)


class PolicyIn(BaseModel):
    approval_required: bool


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=domain.MAX_NOTE)


class LinkIn(BaseModel):
    receipt_no: str = Field(min_length=1, max_length=40, description="The other citizen's complaint")


def _instant(name: str, value: str | None) -> datetime | None:
    """A search bound: ``YYYY-MM-DD`` (the day's start in KST) or an ISO 8601 time with an offset."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise DomainError("invalid", f"{name} is a date (YYYY-MM-DD) or an ISO 8601 time", 422, field=name) from None
    return at if at.tzinfo else at.replace(tzinfo=domain.KST)


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
        department_name=complaint.department_name,
        answer_state=complaint.answer_state,
        complainant_ref=complaint.complainant_ref,
        registered_by=complaint.registered_by,
        last_actor=complaint.last_actor,
        repeat_of=list(complaint.repeat_of),
        links=list(complaint.links),
        timeline=[{"at": s.at, "step": s.step, "detail": s.detail, "by": s.by} for s in complaint.timeline],
    )
    return view


CASEWORK = [auth.requires(*auth.CASEWORK)]
READERS = [auth.requires(*auth.READERS, auth.CALL_CENTRE)]
LEADS = [auth.requires(*auth.LEADS)]
OFFICE = [auth.requires(*auth.OFFICE)]
STAFF = [auth.requires(*auth.STAFF)]
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
    return {
        "at": entry["at"],
        "actor_id": entry["actor_id"],
        "actor_name": actor.get("name"),
        "actor_department": actor.get("department"),
        "actor_roles": " ".join(actor.get("roles") or ()),
        "receipt_no": entry.get("receipt_no"),
        "action": entry["action"],
        "purpose": entry["purpose"],
    }


async def _in_scope(request: Request[Any, Any, Any], intake: Intake, receipt_no: str) -> Complaint:
    """The complaint, if the calling official may act on its department (403 otherwise)."""
    complaint = await intake.get(receipt_no)
    auth.in_scope(auth.staff(request), complaint.department)
    return complaint


class ComplaintController(Controller):
    path = "/api/v1/complaints"
    tags = ["intake"]

    @post("/", status_code=201)
    async def file(
        self, data: ComplaintIn, request: Request[Any, Any, Any], intake: Intake, idempotency_key: IdempotencyKey
    ) -> Response[dict[str, Any]]:
        """File a complaint. Stored durably before 201; a repeated Idempotency-Key returns the first result.
        Citizens file online; a staff channel (visit, phone, mail, fax, oral) or a ``received_at`` needs an
        official with an intake role (call centre, handler, complaint office, ...), who is recorded."""
        filing = data.to_filing()
        by = _registrar(request) if domain.needs_staff(filing) else None
        complaint, created = await intake.file_complaint(filing, idempotency_key=idempotency_key, by=by)
        body = {
            "receipt_no": complaint.receipt_no,
            "check_code": complaint.check_code,
            "status": complaint.status,
            "received_at": complaint.received_at,
        }
        return Response(body, status_code=201 if created else 200)

    @get("/{receipt_no:str}")
    async def show(
        self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake, code: str | None = None
    ) -> dict[str, Any]:
        """A citizen with the check code sees the PII-free status and timeline; staff of the complaint's
        department (or the complaint office) see the same with more facts."""
        if code is not None:
            return await intake.get_for_citizen(receipt_no, code, client=_client(request, intake))
        complaint = await _in_scope(request, intake, receipt_no)
        who = auth.staff(request)
        suggestions = [x for x in await intake.link_suggestions(complaint) if who.may_see(x["department"])]
        return {**staff_view(complaint), "notes": intake.notes_of(complaint), "link_suggestions": suggestions}

    @get("/search", guards=READERS)
    async def search(
        self,
        request: Request[Any, Any, Any],
        intake: Intake,
        receipt_no: Annotated[str | None, Parameter(max_length=40)] = None,
        name: Annotated[str | None, Parameter(max_length=100)] = None,
        phone: Annotated[str | None, Parameter(max_length=40)] = None,
        email: Annotated[str | None, Parameter(max_length=200)] = None,
        words: Annotated[str | None, Parameter(max_length=200)] = None,
        district: Annotated[str | None, Parameter(max_length=100)] = None,
        status: Annotated[str | None, Parameter(max_length=40)] = None,
        department: Annotated[str | None, Parameter(max_length=100)] = None,
        category: Annotated[str | None, Parameter(max_length=100)] = None,
        received_from: Annotated[str | None, Parameter(max_length=40)] = None,
        received_to: Annotated[str | None, Parameter(max_length=40)] = None,
        purpose: Annotated[str, Parameter(min_length=2, max_length=300)] = "민원 검색",
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Staff search by receipt number, name, phone, e-mail, words of the title or body, district,
        status, department, category and receipt dates (``received_from`` inclusive, ``received_to``
        exclusive). Personal data is matched through a keyed blind index, never in clear; a search by
        name, phone, e-mail or words is written to the audit log. An official outside the complaint
        office finds their own department's complaints only, as in the listing."""
        who = auth.staff(request)
        if not any(
            (receipt_no, name, phone, email, words, district, status, department, category, received_from, received_to)
        ):
            raise DomainError("invalid", "give at least one search criterion", 422, field="q")
        if not (who.office or who.has(auth.AUDITOR)):
            department = who.department or "-"
        criteria = {
            "receipt_no": receipt_no,
            "name": name,
            "phone": phone,
            "email": email,
            "words": words,
            "district": district,
            "status": status,
            "department": department,
            "category": category,
            "received_from": _instant("received_from", received_from),
            "received_to": _instant("received_to", received_to),
        }
        items = await intake.search(criteria, by=who.audit(), purpose=purpose, after=cursor, limit=limit)
        return {
            "items": [staff_view(x) for x in items],
            "next_cursor": items[-1].receipt_no if len(items) == limit else None,
        }

    @post("/{receipt_no:str}/notes", status_code=201, guards=CASEWORK)
    async def add_note(
        self, receipt_no: str, data: NoteIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        """An internal note: for officials who may see the complaint; never to the citizen, never on a topic."""
        await _in_scope(request, intake, receipt_no)
        complaint = await intake.add_note(receipt_no, data.text, by=_by(request))
        return {"receipt_no": receipt_no, "notes": intake.notes_of(complaint)}

    @post("/{receipt_no:str}/links", status_code=200, guards=CASEWORK)
    async def link(
        self, receipt_no: str, data: LinkIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        """Link another citizen's complaint about the same thing (중복민원), both ways; each citizen keeps
        their own notice and clock."""
        await _in_scope(request, intake, receipt_no)
        await _in_scope(request, intake, data.receipt_no)
        return staff_view(await intake.link(receipt_no, data.receipt_no, by=_by(request)))

    @post("/{receipt_no:str}/close-as-repeat", status_code=200, guards=OFFICE)
    async def close_as_repeat(
        self,
        receipt_no: str,
        data: ReasonIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        """반복민원 종결 (민원처리법 제23조): the complaint office closes a complaint flagged as a repeat; the
        statutory notice (the earlier receipt numbers, the reason, the remedy) reaches the citizen as
        the result notice."""
        return staff_view(
            await intake.close_as_repeat(
                receipt_no, reason=data.reason, by=_by(request), idempotency_key=idempotency_key
            )
        )

    @get("/{receipt_no:str}/personal", guards=CASEWORK)
    async def personal(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        purpose: Annotated[str, Parameter(min_length=2, max_length=300)],
    ) -> dict[str, Any]:
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
        items = await intake.audit_log(
            receipt_no=receipt_no, actor=actor, since=since, until=until, after=cursor, limit=limit
        )
        return {
            "items": [_audit_row(x) for x in items],
            "next_cursor": items[-1]["_id"] if len(items) == limit else None,
        }

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
            items = await intake.audit_log(
                receipt_no=receipt_no, actor=actor, since=since, until=until, after=cursor, limit=1000
            )
            writer.writerows(_audit_row(x) for x in items)
            if len(items) < 1000:
                break
            cursor = items[-1]["_id"]
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="minwon-audit.csv"'},
        )

    @get("/", guards=READERS)
    async def index(
        self,
        request: Request[Any, Any, Any],
        intake: Intake,
        status: str | None = None,
        department: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
        answer_state: Literal["draft", "submitted", "returned", "approved"] | None = None,
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
            filters={
                "status": status,
                "department": department,
                "kind": kind,
                "channel": channel,
                "answer_state": answer_state,
                "overdue": overdue,
            },
            after=cursor,
            limit=limit,
        )
        next_cursor = items[-1].receipt_no if len(items) == limit else None
        return {"items": [staff_view(x) for x in items], "next_cursor": next_cursor}

    @post("/{receipt_no:str}/confirm", status_code=200)
    async def confirm(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
        code: str | None = None,
    ) -> dict[str, Any]:
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
    async def acknowledge(
        self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake, idempotency_key: IdempotencyKey
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.acknowledge(x, now=intake.clock(), source=intake.source),
        )

    @post("/{receipt_no:str}/supplementation", status_code=200, guards=CASEWORK)
    async def request_supplementation(
        self,
        receipt_no: str,
        data: SupplementationIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.request_supplementation(
                x, reason=data.reason, due=data.due, now=intake.clock(), source=intake.source
            ),
        )

    @post("/{receipt_no:str}/supplement", status_code=200, guards=CASEWORK)
    async def receive_supplement(
        self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake, idempotency_key: IdempotencyKey
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.receive_supplement(x, now=intake.clock(), source=intake.source),
        )

    @post("/{receipt_no:str}/extend", status_code=200, guards=CASEWORK)
    async def extend(
        self,
        receipt_no: str,
        data: ExtendIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.extend(
                x,
                reason=data.reason,
                period=data.period,
                citizen_consent=data.citizen_consent,
                now=intake.clock(),
                source=intake.source,
            ),
        )

    @post("/{receipt_no:str}/transfer", status_code=200, guards=CASEWORK)
    async def transfer(
        self,
        receipt_no: str,
        data: TransferIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.transfer(
                x,
                agency=data.agency,
                reason=data.reason,
                now=intake.clock(),
                source=intake.source,
                agency_name=data.agency_name,
            ),
        )

    @post("/{receipt_no:str}/close", status_code=200, guards=CASEWORK)
    async def close(
        self,
        receipt_no: str,
        data: CloseIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
        attachments: Attachments | None,
    ) -> dict[str, Any]:
        """처리완료 with the answer (``text``, ending with the list of the answer's files), where the
        department's answers need no approval; otherwise 409 ``approval_required``: draft, submit and
        have it approved."""
        await _in_scope(request, intake, receipt_no)
        draft = await attachments.enclose(receipt_no, data.to_draft()) if attachments else data.to_draft()
        return staff_view(await intake.close(receipt_no, draft, by=_by(request), idempotency_key=idempotency_key))

    # -------------------------------------------------------- answers (답변, 결재)

    @get("/{receipt_no:str}/answer", guards=CASEWORK)
    async def get_answer(self, receipt_no: str, request: Request[Any, Any, Any], intake: Intake) -> dict[str, Any]:
        """The answer (opened) and whether this department's answers need approval."""
        await _in_scope(request, intake, receipt_no)
        return await intake.answer(receipt_no)

    @put("/{receipt_no:str}/answer", status_code=200, guards=CASEWORK)
    async def put_answer(
        self,
        receipt_no: str,
        data: AnswerIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        """Draft (or redraft a returned) answer; its text, reasons and remedy are kept sealed."""
        await _in_scope(request, intake, receipt_no)
        complaint = await intake.draft_answer(
            receipt_no, data.to_draft(), by=_by(request), idempotency_key=idempotency_key
        )
        return {"answer": intake.answer_of(complaint)}

    @post("/{receipt_no:str}/answer/submit", status_code=200, guards=CASEWORK)
    async def submit_answer(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
        attachments: Attachments | None,
    ) -> dict[str, Any]:
        """Send the answer for approval (결재); without a required approval it closes the complaint. Its text
        ends with the list of the answer's files (붙임), redrafted first if it does not."""
        await _in_scope(request, intake, receipt_no)
        if attachments is not None:
            await attachments.enclose_saved(receipt_no, by=_by(request))
        complaint = await intake.submit_answer(receipt_no, by=_by(request), idempotency_key=idempotency_key)
        return {"answer": intake.answer_of(complaint), "status": complaint.status}

    @post("/{receipt_no:str}/answer/return", status_code=200, guards=LEADS)
    async def return_answer(
        self,
        receipt_no: str,
        data: ReturnIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        """The team lead returns the answer with a comment; the clock keeps running."""
        await _in_scope(request, intake, receipt_no)
        complaint = await intake.return_answer(
            receipt_no, comment=data.comment, by=_by(request), idempotency_key=idempotency_key
        )
        return {"answer": intake.answer_of(complaint), "status": complaint.status}

    @post("/{receipt_no:str}/answer/approve", status_code=200, guards=LEADS)
    async def approve_answer(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
        data: ApproveIn | None = None,
    ) -> dict[str, Any]:
        """The team lead approves: the complaint is closed with the answer, which goes to the citizen."""
        await _in_scope(request, intake, receipt_no)
        complaint = await intake.approve_answer(
            receipt_no, comment=data.comment if data else None, by=_by(request), idempotency_key=idempotency_key
        )
        return {"answer": intake.answer_of(complaint), "status": complaint.status}

    @post("/{receipt_no:str}/answer/render", status_code=200, guards=CASEWORK)
    async def render_answer(
        self, receipt_no: str, data: RenderIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        """A template's text with this complaint's placeholders filled (the name read is audited)."""
        await _in_scope(request, intake, receipt_no)
        return {"text": await intake.render_answer(receipt_no, data.template_id, by=_by(request))}

    @get("/answer-templates", guards=STAFF)
    async def list_templates(
        self, intake: Intake, category: Annotated[str | None, Parameter(max_length=100)] = None
    ) -> dict[str, Any]:
        return {"items": await intake.templates(category=category)}

    @post("/answer-templates", status_code=201, guards=LEADS)
    async def create_template(
        self, data: TemplateIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        """A canned answer for a category (team leads maintain them)."""
        return await intake.save_template(
            None, category=data.category, title=data.title, text=data.text, by=_by(request)
        )

    @put("/answer-templates/{template_id:str}", status_code=200, guards=LEADS)
    async def update_template(
        self, template_id: str, data: TemplateIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        return await intake.save_template(
            template_id, category=data.category, title=data.title, text=data.text, by=_by(request)
        )

    @delete("/answer-templates/{template_id:str}", status_code=200, guards=LEADS)
    async def delete_template(
        self, template_id: str, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        await intake.delete_template(template_id, by=_by(request))
        return {"id": template_id, "deleted": True}

    @get("/answer-policies", guards=STAFF)
    async def list_policies(self, intake: Intake) -> dict[str, Any]:
        """Which departments' answers need the team lead's approval (결재), and the default."""
        return await intake.policies()

    @put("/answer-policies/{department:str}", status_code=200, guards=OFFICE)
    async def set_policy(
        self, department: str, data: PolicyIn, request: Request[Any, Any, Any], intake: Intake
    ) -> dict[str, Any]:
        return await intake.set_policy(department, approval_required=data.approval_required, by=_by(request))

    @post("/{receipt_no:str}/withdraw", status_code=200)
    async def withdraw(
        self,
        receipt_no: str,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
        code: str | None = None,
    ) -> dict[str, Any]:
        """The citizen (with the check code) or staff withdraw a complaint."""
        by = None
        if code is not None:
            await intake.verify_code(receipt_no, code, client=_client(request, intake))
        else:
            await _in_scope(request, intake, receipt_no)
            by = _by(request)
        return staff_view(
            await intake.run(
                receipt_no,
                lambda x: domain.withdraw(x, now=intake.clock(), source=intake.source),
                idempotency_key=idempotency_key,
                by=by,
                action="withdraw",
            )
        )

    @post("/{receipt_no:str}/revisits", status_code=200, guards=CASEWORK)
    async def report_revisit(
        self,
        receipt_no: str,
        data: ReasonIn,
        request: Request[Any, Any, Any],
        intake: Intake,
        idempotency_key: IdempotencyKey,
    ) -> dict[str, Any]:
        await _in_scope(request, intake, receipt_no)
        return await self._run(
            request,
            intake,
            receipt_no,
            idempotency_key,
            lambda x: domain.report_revisit(x, reason=data.reason, now=intake.clock(), source=intake.source),
        )

    @staticmethod
    async def _run(
        request: Request[Any, Any, Any], intake: Intake, receipt_no: str, key: str | None, command: Any
    ) -> dict[str, Any]:
        """A staff command: the official is recorded on the complaint, its timeline and the audit log."""
        action = request.scope["route_handler"].handler_name
        return staff_view(await intake.run(receipt_no, command, idempotency_key=key, by=_by(request), action=action))


def routes(intake: Intake, attachments: Attachments | None = None) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[ComplaintController, CooperationController],
            dependencies={
                "intake": Provide(lambda: intake, sync_to_thread=False, use_cache=True),
                "attachments": Provide(lambda: attachments, sync_to_thread=False, use_cache=True),
            },
        )
    ]
