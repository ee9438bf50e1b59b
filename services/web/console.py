"""The officials' console under ``/console/``: sign-in, the queue, a complaint with its
complainant's data (read from intake on each view, audited with its purpose), its timeline across
the services, its actions and its answer (drafted from a canned answer, approved or returned by
the team lead), the approval queue, the overdue board, routing rules, holidays and satisfaction
statistics. Canned answers are in :mod:`services.web.canned`, staff intake in
:mod:`services.web.staff_intake`.

Roles are enforced here, on the server (:mod:`services.web.access`): a list is read for
the official's own department only, and a page a role may not see is refused (403)
before anything about the complaint is fetched or rendered.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post

from services.web import access, cooperation, timeline
from services.web.access import Staff
from services.web.api import Api, ApiError
from services.web.attachments import attachments_of
from services.web.oidc import ProviderStaff, SignInFailed
from services.web.pages import KST, OIDC_STATE_COOKIE, Page, SignIn, Web, WebError, instant

log = logging.getLogger("minwon.web")

ACTIONS = ("acknowledge", "supplementation", "supplement", "extend", "transfer", "close", "revisits", "withdraw")
# which actions a complaint's status offers (the intake API decides; this only hides useless buttons)
OFFERED = {
    "received": ("acknowledge", "supplementation", "extend", "transfer", "close", "revisits", "withdraw"),
    "in_progress": ("supplementation", "extend", "transfer", "close", "revisits", "withdraw"),
    "awaiting_supplement": ("supplement", "transfer", "revisits", "withdraw"),
}
STAT_GROUPINGS = ("department", "channel", "kind", "month")
ANSWER_STEPS = ("render", "save", "submit", "return", "approve")
REASON_CODES = ("misrouted", "workload", "absence", "expertise", "other")
"""Why a complaint is reassigned (routing's codes)."""
DONE = (
    *ACTIONS,
    "reassign",
    "voucher_approve",
    "voucher_reject",
    "answer_save",
    "answer_submit",
    "answer_return",
    "answer_approve",
)
OUTCOMES = ("accepted", "partly_accepted", "rejected")
PURPOSES = ("민원 처리", "사실 확인 전화", "현장 확인", "답변 작성", "이송 검토")
"""Why an official reads the complainant's data: intake writes it to the audit log with each read."""
DEFAULT_PURPOSE = PURPOSES[0]


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _local_instant(value: str) -> str | None:
    """A ``datetime-local`` field (Seoul time) as ISO 8601 with offset."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=KST).isoformat()
    except ValueError:
        return None


def action_body(action: str, form: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON the intake API takes for ``action``, from the posted form."""
    if action in ("acknowledge", "supplement", "withdraw"):
        return None
    if action == "revisits":
        return {"reason": _text(form, "reason")}
    if action == "supplementation":
        return {"reason": _text(form, "reason"), "due": _local_instant(_text(form, "due"))}
    if action == "extend":
        return {
            "reason": _text(form, "reason"),
            "period": _text(form, "period") or None,
            "citizen_consent": _text(form, "citizen_consent") == "on",
        }
    if action == "transfer":
        return {"agency": _text(form, "agency"), "reason": _text(form, "reason")}
    return {
        "outcome": _text(form, "outcome"),
        "text": _text(form, "text") or None,
        "reasons": _text(form, "reasons") or None,
        "remedy": _text(form, "remedy") or None,
    }


def answer_body(form: dict[str, Any]) -> dict[str, Any]:
    """The answer as intake's ``PUT /answer`` takes it, from the answer panel."""
    return {
        "outcome": _text(form, "outcome") or "accepted",
        "text": _text(form, "text"),
        "reasons": _text(form, "reasons") or None,
        "remedy": _text(form, "remedy") or None,
        "template_id": _text(form, "template_id") or None,
    }


def _day(value: str | None) -> date | None:
    """A ``<input type=date>`` value, or None."""
    try:
        return date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def _purpose(value: str | None) -> str:
    value = (value or "").strip()
    return value if 2 <= len(value) <= 300 else DEFAULT_PURPOSE


def _safe_next(value: str | None) -> str:
    value = (value or "").strip()
    return value if value.startswith("/console/") and "//" not in value and "\\" not in value else "/console/queue"


async def _department_docs(api: Api) -> list[dict[str, Any]]:
    try:
        return await api.departments()
    except ApiError:
        return []


async def _departments(api: Api) -> dict[str, str]:
    try:
        return {d["code"]: d["name"] for d in await api.departments()}
    except ApiError:
        return {}


async def _nothing() -> None:
    return None


async def _personal(api: Api, staff: Staff, receipt_no: str, *, confidential: bool, purpose: str) -> dict[str, Any]:
    """The complainant's data for this view (intake audits the read), or why it is not shown."""
    if not access.may_read_personal(staff, confidential=confidential):
        return {"hidden": "confidential" if confidential else "role"}
    try:
        return {"data": await api.personal(receipt_no, purpose)}
    except ApiError as error:
        if error.status in (403, 404):
            return {"hidden": "confidential" if confidential else "role"}
        raise


async def _answer(api: Api, receipt_no: str) -> dict[str, Any] | None:
    """``{"answer", "approval_required"}``, or None when intake offers no answers (yet)."""
    try:
        return await api.answer(receipt_no)
    except ApiError as error:
        if error.status in (403, 404, 405):
            return None
        raise


async def _templates(api: Api, category: str | None) -> list[dict[str, Any]]:
    try:
        return await api.answer_templates(category)
    except ApiError as error:
        if error.status in (403, 404, 405):
            return []
        raise


async def _with_clocks(api: Api, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each complaint with its deadline view (remaining working time, warnings)."""
    clocks = await asyncio.gather(*(api.optional(api.deadline(x["receipt_no"])) for x in items))
    rows = []
    for item, clock in zip(items, clocks, strict=True):
        emitted = {s["name"] for s in ((clock or {}).get("signals") or {}).get("emitted", [])}
        rows.append({**item, "clock": clock, "warned": "warning" in emitted, "breached": "breached" in emitted})
    return rows


def _due_day(row: dict[str, Any]) -> date | None:
    due = instant((row.get("clock") or {}).get("due_at") or row.get("due_at"))
    return due.astimezone(KST).date() if due else None


def _due_key(row: dict[str, Any]) -> tuple[bool, datetime, bool]:
    due = instant((row.get("clock") or {}).get("due_at") or row.get("due_at"))
    return due is None, due or datetime.max.replace(tzinfo=KST), not row.get("priority")


def build(web: Web) -> list[Any]:
    """The console's route handlers."""

    # ------------------------------------------------------------ sign-in

    @get("/console", include_in_schema=False)
    async def home(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        return web.redirect(page, "/console/queue" if access.may_work_complaints(staff) else "/console/intake/new")

    @get("/console/login", include_in_schema=False)
    async def login_form(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        page.staff = None  # the form's CSRF token is for a new sign-in
        next_path = _safe_next(request.query_params.get("next"))
        if web.oidc is not None:  # the city's provider: authorization code with PKCE
            redirect_uri = str(request.base_url).rstrip("/") + "/console/login/callback"
            url, state = await web.oidc.start(redirect_uri=redirect_uri, next_path=next_path, now=time.time())
            return web.redirect(page, url, cookies=[web.oidc_state_cookie(state)])
        return web.render(page, "console/login.html.j2", next=next_path)

    @get("/console/login/callback", include_in_schema=False)
    async def login_callback(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        page.staff = None
        state, code = request.query_params.get("state") or "", request.query_params.get("code") or ""
        cookie = request.cookies.get(OIDC_STATE_COOKIE) or ""
        if web.oidc is None or not state or not code or not secrets.compare_digest(cookie, state):
            raise WebError(400, "error.sign_in")
        try:
            staff, next_path = await web.oidc.finish(
                state=state, code=code, issuer=request.query_params.get("iss"), now=time.time()
            )
        except SignInFailed as exc:
            log.warning("provider sign-in refused", extra={"reason": str(exc)})
            raise WebError(403, "error.sign_in") from exc
        return web.redirect(page, next_path, cookies=[web.session_cookie(staff), web.oidc_state_cookie("")])

    @post("/console/login", include_in_schema=False, status_code=200)
    async def login(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        page.staff = None  # a new sign-in replaces any session
        page.here = "/console/login"
        form = await web.form(page)
        if web.oidc is not None:
            raise WebError(404, "error.not_found")  # sign-in is at the provider
        await web.refresh_directory(force=True)
        staff = web.directory.authenticate(_text(form, "staff_id"), str(form.get("password") or ""))
        if staff is None:
            return web.render(
                page,
                "console/login.html.j2",
                status=401,
                failed=True,
                next=_safe_next(_text(form, "next")),
                staff_id=_text(form, "staff_id"),
            )
        return web.redirect(page, _safe_next(_text(form, "next")), cookies=[web.session_cookie(staff)])

    @post("/console/logout", include_in_schema=False, status_code=200)
    async def logout(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        await web.form(page)
        if web.oidc is not None and isinstance(staff, ProviderStaff):
            home = str(request.base_url).rstrip("/") + "/"
            at_provider = await web.oidc.sign_out(staff.session_id, return_to=home)
            return web.redirect(page, at_provider or "/", cookies=[web.clear_session_cookie()])
        return web.redirect(page, "/console/login", cookies=[web.clear_session_cookie()])

    # ------------------------------------------------------------ my queue

    @get("/console/queue", include_in_schema=False)
    async def queue(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            return web.redirect(page, "/console/intake/new")
        wanted = (request.query_params.get("receipt_no") or "").strip().upper()
        if wanted:  # search by receipt number: the complaint page checks the department itself
            return web.redirect(page, f"/console/complaints/{quote(wanted, safe='')}")
        department = access.department_filter(staff, request.query_params.get("department"))
        asked_mine = request.query_params.get("mine")
        mine = asked_mine == "1" if asked_mine in ("0", "1") else staff.role == access.HANDLER
        status = request.query_params.get("status") or ""
        status = status if status in access.OPEN_STATUSES else ""
        overdue = request.query_params.get("overdue") == "1"
        due_by = _day(request.query_params.get("due_by"))
        async with web.api(staff) as api:
            items, names = await asyncio.gather(
                api.complaints(
                    department=department,
                    statuses=(status,) if status else access.OPEN_STATUSES,
                    limit=web.own.queue_limit,
                ),
                _departments(api),
            )
            if staff.role in access.DEPARTMENT_ROLES:  # defence in depth: never list another department's
                items = [x for x in items if x.get("department") == staff.department]
            if mine:
                items = [x for x in items if (x.get("handler") or {}).get("id") == staff.id]
            rows = sorted(await _with_clocks(api, items), key=_due_key)
        if overdue:
            rows = [x for x in rows if (x.get("clock") or {}).get("overdue") or x.get("overdue")]
        if due_by is not None:  # due on that day (Seoul) or before
            rows = [x for x in rows if (day := _due_day(x)) is not None and day <= due_by]
        return web.render(
            page,
            "console/queue.html.j2",
            rows=rows,
            department=department,
            mine=mine,
            departments=names,
            status_filter=status,
            overdue=overdue,
            statuses=access.OPEN_STATUSES,
            due_by=due_by.isoformat() if due_by else "",
        )

    # ------------------------------------------------------------ one complaint

    async def _complaint_page(
        page: Page,
        staff: Staff,
        receipt_no: str,
        *,
        status: int = 200,
        error: ApiError | None = None,
        done: str | None = None,
        purpose: str | None = None,
        answer_form: dict[str, Any] | None = None,
        coop_done: str | None = None,
    ) -> Response[str]:
        purpose = _purpose(purpose)
        async with web.api(staff) as api:
            complaint = await api.optional(api.complaint(receipt_no))
            if complaint is None:
                raise WebError(404, "error.not_found")
            if not access.may_view(staff, complaint.get("department")):
                raise WebError(403, "error.forbidden")
            confidential = bool(complaint.get("confidential"))
            drafting = access.may_draft_answer(staff, complaint)
            # two typed groups (asyncio.gather types at most six results), still all at once
            (assignment, clock, notes, comp, survey), (names, personal, answer, templates) = await asyncio.gather(
                asyncio.gather(
                    api.optional(api.assignment(receipt_no)),
                    api.optional(api.deadline(receipt_no)),
                    api.optional(api.notifications(receipt_no)),
                    api.optional(api.compensations(receipt_no)),
                    api.optional(api.survey_for_staff(receipt_no)),
                ),
                asyncio.gather(
                    _departments(api),
                    _personal(api, staff, receipt_no, confidential=confidential, purpose=purpose),
                    _answer(api, receipt_no),
                    _templates(api, complaint.get("category")) if drafting else _nothing(),
                ),
            )
            files = await attachments_of(api, receipt_no)
            asked = await cooperation.section(api, staff, complaint)
        if survey is not None and not access.may_read_survey_text(staff):
            survey = {k: v for k, v in survey.items() if k != "text"}
        if not access.may_read_notification_text(staff):
            notes = [
                {k: v for k, v in n.items() if k not in ("text", "to", "deliveries", "attempt_log")}
                for n in notes or []
            ]
        if not access.may_see_complainant_ref(staff, confidential=confidential):
            complaint = {k: v for k, v in complaint.items() if k != "complainant_ref"}
        steps = timeline.merge(
            complaint=complaint,
            assignment=assignment,
            clock=clock,
            notifications=notes or [],
            compensation=comp,
            survey=survey,
        )
        actions = OFFERED.get(complaint.get("status") or "", ()) if access.may_act(staff, complaint) else ()
        reassign_to: list[dict[str, Any]] = []
        if access.may_reassign(staff, complaint):
            async with web.api(staff) as api:
                reassign_to = await _department_docs(api)
        if answer is not None and answer.get("approval_required", True):  # closing goes through the approval
            actions = tuple(a for a in actions if a != "close")
        current = (answer or {}).get("answer") or {}
        state = current.get("state")
        may_edit = drafting and answer is not None and state in (None, "draft", "returned")
        may_review = access.may_review_answer(staff, complaint) and state == "submitted"
        form = answer_form or {k: current.get(k) for k in ("outcome", "text", "reasons", "remedy", "template_id")}
        page.here = f"/console/complaints/{quote(receipt_no, safe='')}"
        return web.render(
            page,
            "console/complaint.html.j2",
            status=status,
            complaint=complaint,
            assignment=assignment,
            clock=clock,
            notifications=notes or [],
            compensation=comp,
            survey=survey,
            steps=steps,
            actions=actions,
            error=error,
            done=done,
            departments=names,
            personal=personal,
            purpose=purpose,
            purposes=PURPOSES,
            answer=answer,
            current=current,
            may_edit=may_edit,
            may_review=may_review,
            templates=templates or [],
            form=form,
            outcomes=OUTCOMES,
            agencies=web.portal.get("agencies") or [],
            reassign_to=reassign_to,
            attachments=files,
            reason_codes=REASON_CODES,
            may_decide_vouchers=access.may_review_answer(staff, complaint),
            cooperation=asked,
            coop_done=coop_done if coop_done in cooperation.DONE else None,
        )

    @get("/console/complaints/{receipt_no:str}", include_in_schema=False)
    async def complaint_page(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = web.staff_page(request)
        done = request.query_params.get("done")
        try:
            return await _complaint_page(
                page,
                staff,
                receipt_no,
                done=done if done in DONE else None,
                purpose=request.query_params.get("purpose"),
                coop_done=done,
            )
        except (ApiError, WebError) as refused:  # another department's: its request's page, if it asked mine
            if refused.status != 403 or staff.role not in access.DEPARTMENT_ROLES:
                raise
            return web.redirect(page, f"/console/cooperation/{quote(receipt_no, safe='')}")

    async def _open_for(api: Api, staff: Staff, receipt_no: str) -> dict[str, Any]:
        complaint = await api.optional(api.complaint(receipt_no))
        if complaint is None:
            raise WebError(404, "error.not_found")
        if not access.may_view(staff, complaint.get("department")):
            raise WebError(403, "error.forbidden")
        return complaint

    def _back(receipt_no: str, done: str) -> str:
        return f"/console/complaints/{quote(receipt_no, safe='')}?{urlencode({'done': done})}"

    @post("/console/complaints/{receipt_no:str}/{action:str}", include_in_schema=False, status_code=200)
    async def act(request: Request[Any, Any, Any], receipt_no: str, action: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if action not in ACTIONS:
            raise WebError(404, "error.not_found")
        form = await web.form(page)
        async with web.api(staff) as api:
            complaint = await _open_for(api, staff, receipt_no)
            if not access.may_act(staff, complaint):
                raise WebError(403, "error.forbidden")
            try:
                await api.command(
                    receipt_no,
                    action,
                    action_body(action, form),
                    idempotency_key=f"web:{staff.id}:{_text(form, 'key') or uuid.uuid4()}",
                )
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                return await _complaint_page(page, staff, receipt_no, status=error.status, error=error)
        return web.redirect(page, _back(receipt_no, action))

    @post("/console/complaints/{receipt_no:str}/routing/reassign", include_in_schema=False, status_code=200)
    async def reassign(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = web.staff_page(request)
        form = await web.form(page)
        async with web.api(staff) as api:
            complaint = await _open_for(api, staff, receipt_no)
            if not access.may_reassign(staff, complaint):
                raise WebError(403, "error.forbidden")
            target = _text(form, "target")  # "<department>" or "<department>|<handler id>"
            department, _, handler = target.partition("|")
            body = {
                "department": department or None,
                "handler": handler or None,
                "reason": _text(form, "reason"),
                "reason_code": _text(form, "reason_code") or None,
            }
            try:
                await api.reassign(
                    receipt_no, body, idempotency_key=f"web:{staff.id}:{_text(form, 'key') or uuid.uuid4()}"
                )
            except ApiError as error:
                if error.status not in (400, 409, 422):
                    raise
                return await _complaint_page(
                    page, staff, receipt_no, status=409 if error.status == 409 else 422, error=error
                )
        return web.redirect(page, _back(receipt_no, "reassign"))

    @post(
        "/console/complaints/{receipt_no:str}/vouchers/{entry_id:str}/{decision:str}",
        include_in_schema=False,
        status_code=200,
    )
    async def decide_voucher(
        request: Request[Any, Any, Any], receipt_no: str, entry_id: str, decision: str
    ) -> Response[str]:
        page, staff = web.staff_page(request)
        if decision not in ("approve", "reject"):
            raise WebError(404, "error.not_found")
        form = await web.form(page)
        async with web.api(staff) as api:
            complaint = await _open_for(api, staff, receipt_no)
            if not access.may_review_answer(staff, complaint):  # the same leads approve vouchers
                raise WebError(403, "error.forbidden")
            entries = (await api.optional(api.compensations(receipt_no)) or {}).get("items") or []
            if entry_id not in {str(e.get("id")) for e in entries}:
                raise WebError(404, "error.not_found")
            body = {"approver": staff.id} if decision == "approve" else {"reason": _text(form, "reason")}
            try:
                await api.decide_voucher(entry_id, decision, body)
            except ApiError as error:
                if error.status not in (400, 409, 422):
                    raise
                return await _complaint_page(
                    page, staff, receipt_no, status=409 if error.status == 409 else 422, error=error
                )
        return web.redirect(page, _back(receipt_no, f"voucher_{decision}"))

    # ------------------------------------------------------------ the answer and its approval (결재)

    @post("/console/complaints/{receipt_no:str}/answer/{step:str}", include_in_schema=False, status_code=200)
    async def answer_step(request: Request[Any, Any, Any], receipt_no: str, step: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if step not in ANSWER_STEPS:
            raise WebError(404, "error.not_found")
        form = await web.form(page)
        body = answer_body(form)
        async with web.api(staff) as api:
            complaint = await _open_for(api, staff, receipt_no)
            reviewing = step in ("return", "approve")
            allowed = (
                access.may_review_answer(staff, complaint) if reviewing else access.may_draft_answer(staff, complaint)
            )
            if not allowed:
                raise WebError(403, "error.forbidden")
            try:
                if step == "render":  # fill the chosen canned answer in; nothing is saved yet
                    text = await api.render_answer(receipt_no, _text(form, "template_id"))
                    return await _complaint_page(
                        page, staff, receipt_no, answer_form={**body, "text": text}, purpose=_text(form, "purpose")
                    )
                if step in ("save", "submit"):
                    await api.save_answer(receipt_no, body)
                if step == "submit":
                    await api.answer_step(receipt_no, "submit")
                if step == "return":
                    await api.answer_step(receipt_no, "return", {"comment": _text(form, "comment")})
                if step == "approve":
                    await api.answer_step(receipt_no, "approve", {"comment": _text(form, "comment") or None})
            except ApiError as error:
                if error.status not in (400, 404, 409, 422):
                    raise
                return await _complaint_page(
                    page,
                    staff,
                    receipt_no,
                    status=409 if error.status == 409 else 422,
                    error=error,
                    answer_form=None if reviewing else body,
                )
        return web.redirect(page, _back(receipt_no, f"answer_{step}"))

    @get("/console/approvals", include_in_schema=False)
    async def approvals(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_review(staff):
            raise WebError(403, "error.forbidden")
        department = access.department_filter(staff, request.query_params.get("department"))
        async with web.api(staff) as api:
            items, names = await asyncio.gather(
                api.complaints(
                    department=department, statuses=(None,), answer_state="submitted", limit=web.own.queue_limit
                ),
                _departments(api),
            )
            items = [x for x in items if x.get("answer_state") == "submitted"]
            if staff.role in access.DEPARTMENT_ROLES:
                items = [x for x in items if x.get("department") == staff.department]
            rows = sorted(await _with_clocks(api, items), key=_due_key)
            policies = await api.answer_policies() if access.may_set_answer_policy(staff) else None
        return web.render(
            page,
            "console/approvals.html.j2",
            rows=rows,
            department=department,
            departments=names,
            policies=policies,
            done=request.query_params.get("done") == "policy",
        )

    @post("/console/approvals/policy/{department:str}", include_in_schema=False, status_code=200)
    async def set_policy(request: Request[Any, Any, Any], department: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_set_answer_policy(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        async with web.api(staff) as api:
            await api.set_answer_policy(department, approval_required=_text(form, "approval_required") == "1")
        return web.redirect(page, "/console/approvals?done=policy#policies")

    # ------------------------------------------------------------ low-score follow-ups (survey)

    @get("/console/followups", include_in_schema=False)
    async def followups(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_review(staff):
            raise WebError(403, "error.forbidden")
        async with web.api(staff) as api:
            found, names = await asyncio.gather(api.followups(), _departments(api))
        return web.render(
            page,
            "console/followups.html.j2",
            rows=found["items"],
            departments=names,
            done=request.query_params.get("done") == "1",
        )

    @post("/console/followups/{receipt_no:str}/resolve", include_in_schema=False, status_code=200)
    async def resolve_followup(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_review(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        async with web.api(staff) as api:
            await api.resolve_followup(receipt_no, note=_text(form, "note"))
        return web.redirect(page, "/console/followups?done=1")

    # ------------------------------------------------------------ overdue and pre-warning board

    @get("/console/board", include_in_schema=False)
    async def board(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        department = access.department_filter(staff, request.query_params.get("department"))
        async with web.api(staff) as api:
            overdue, running, names = await asyncio.gather(
                api.deadlines(overdue=True, department=department, limit=web.own.queue_limit),
                api.deadlines(status="open", department=department, limit=web.own.queue_limit),
                _departments(api),
            )
            late = {x["receipt_no"] for x in overdue}
            overdue_rows = await _with_clocks(api, overdue)
            others = await _with_clocks(api, [x for x in running if x["receipt_no"] not in late])
        if staff.role in access.DEPARTMENT_ROLES:
            overdue_rows = [x for x in overdue_rows if x.get("department") == staff.department]
            others = [x for x in others if x.get("department") == staff.department]
        warned = sorted((x for x in others if x["warned"]), key=_due_key)
        return web.render(
            page,
            "console/board.html.j2",
            overdue=sorted(overdue_rows, key=_due_key),
            warned=warned,
            department=department,
            departments=names,
        )

    # ------------------------------------------------------------ routing rules

    async def _rules_page(
        page: Page,
        staff: Staff,
        *,
        preview: dict[str, Any] | None = None,
        asked: dict[str, Any] | None = None,
        error: ApiError | None = None,
        status: int = 200,
    ) -> Response[str]:
        async with web.api(staff) as api:
            rules, names = await asyncio.gather(api.rules(), _departments(api))
        page.here = "/console/rules"
        return web.render(
            page,
            "console/rules.html.j2",
            status=status,
            rules=rules,
            preview=preview,
            asked=asked or {},
            error=error,
            departments=names,
        )

    @get("/console/rules", include_in_schema=False)
    async def rules(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        return await _rules_page(page, staff)

    @post("/console/rules/preview", include_in_schema=False, status_code=200)
    async def preview(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        form = await web.form(page)
        asked = {
            k: _text(form, k) for k in ("kind", "category", "district", "channel", "title", "body", "statutory_type")
        }
        body = {**asked, "statutory_type": asked["statutory_type"] or None, "channel": asked["channel"] or "online"}
        async with web.api(staff) as api:
            try:
                result = await api.preview_route(body)
            except ApiError as error:
                if error.status not in (400, 422):
                    raise
                return await _rules_page(page, staff, asked=asked, error=error, status=422)
        return await _rules_page(page, staff, preview=result, asked=asked)

    # ------------------------------------------------------------ holidays

    async def _holidays_page(
        page: Page, staff: Staff, *, error: ApiError | None = None, added: str | None = None, status: int = 200
    ) -> Response[str]:
        async with web.api(staff) as api:
            items = await api.holidays()
        page.here = "/console/holidays"
        return web.render(page, "console/holidays.html.j2", status=status, holidays=items, error=error, added=added)

    @get("/console/holidays", include_in_schema=False)
    async def holidays(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        return await _holidays_page(page, staff, added=request.query_params.get("added"))

    @post("/console/holidays", include_in_schema=False, status_code=200)
    async def add_holiday(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_manage_holidays(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        day = _text(form, "date")
        async with web.api(staff) as api:
            try:
                await api.add_holiday(day, _text(form, "name"))
            except ApiError as error:
                if error.status not in (400, 409, 422):
                    raise
                return await _holidays_page(page, staff, error=error, status=422)
        return web.redirect(page, f"/console/holidays?{urlencode({'added': day})}")

    # ------------------------------------------------------------ satisfaction statistics

    def _year(value: str | None) -> int:
        now = datetime.now(KST).year
        return int(value) if value and value.isdigit() and 2000 <= int(value) <= 2099 else now

    @get("/console/stats", include_in_schema=False)
    async def stats(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        year = _year(request.query_params.get("year"))
        by = request.query_params.get("by") or "department"
        by = by if by in STAT_GROUPINGS else "department"
        async with web.api(staff) as api:
            result, names = await asyncio.gather(api.survey_stats(year=year, by=by), _departments(api))
        return web.render(
            page, "console/stats.html.j2", stats=result, year=year, by=by, groupings=STAT_GROUPINGS, departments=names
        )

    @get("/console/stats/report/{year:int}", include_in_schema=False)
    async def report_chart(request: Request[Any, Any, Any], year: int) -> Response[bytes]:
        """The yearly survey report's chart (SVG, shown in an <img>: no script runs in it)."""
        _, staff = web.staff_page(request)
        if not 2000 <= year <= 2099:
            raise WebError(404, "error.not_found")
        async with web.api(staff) as api:
            svg = await api.survey_report_svg(year)
        return Response(
            svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        )

    return [
        home,
        login_form,
        login_callback,
        login,
        logout,
        queue,
        complaint_page,
        act,
        reassign,
        decide_voucher,
        answer_step,
        approvals,
        set_policy,
        board,
        rules,
        preview,
        holidays,
        add_holiday,
        stats,
        report_chart,
        followups,
        resolve_followup,
    ]


__all__ = ["build", "SignIn", "action_body", "answer_body"]
