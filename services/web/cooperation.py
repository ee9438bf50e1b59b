"""Cooperating departments (협조부서) in the console.

- ``/console/cooperation``: the requests addressed to my department (협조 요청), with their due dates
  and overdue marks.
- ``/console/cooperation/{receipt_no}``: a complaint as the department asked sees it (no personal
  data; its text read for the purpose given, audited by intake), each request to my department with
  its question and the reply form.
- the complaint page's section (:func:`section`): the lead department asks another department, sees
  the replies, cancels a request.

Intake decides who may do what (the lead department asks and cancels; only the department asked
replies, while its request is open); the pages only offer the forms.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post

from services.web import access
from services.web.access import Staff
from services.web.api import Api, ApiError, _seg
from services.web.pages import Web, WebError

DEFAULT_DAYS = 3
DONE = ("asked", "replied", "cancelled", "failed")
STATES = ("open", "replied", "cancelled", "all")


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _days(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def may_ask(staff: Staff, complaint: dict[str, Any]) -> bool:
    """Ask another department, cancel a request: whoever may act on the complaint (its handler, its
    team lead, the complaint office)."""
    return access.may_act(staff, complaint)


def overdue(row: dict[str, Any], now: datetime) -> bool:
    """An open request past its due time (or one the deadline service reported overdue)."""
    if row.get("state") != "open":
        return False
    due = row.get("due_at")
    return bool(row.get("overdue")) or (isinstance(due, str) and datetime.fromisoformat(due) <= now)


async def section(api: Api, staff: Staff, complaint: dict[str, Any]) -> dict[str, Any] | None:
    """The complaint page's cooperation section: the requests (questions and replies) and the
    departments one may ask; None when intake shows none to this official."""
    try:
        found = await api._json("GET", f"/api/v1/complaints/{_seg(complaint['receipt_no'])}/cooperation", staff=True)
    except ApiError as error:
        if error.status in (403, 404, 405):
            return None
        raise
    asking = may_ask(staff, complaint)
    departments: list[dict[str, Any]] = []
    if asking:
        try:
            departments = [d for d in await api.departments() if d.get("code") != complaint.get("department")]
        except ApiError:
            departments = []
    return {
        "items": found.get("items", []),
        "may_ask": asking,
        "departments": departments,
        "default_days": DEFAULT_DAYS,
    }


async def _names(api: Api) -> dict[str, str]:
    """Departments' names by code (routing's list); codes stay as they are if it cannot be read."""
    try:
        return {d["code"]: d["name"] for d in await api.departments()}
    except ApiError:
        return {}


def _back(receipt_no: str, done: str, *, lead: bool) -> str:
    path = "/console/complaints/" if lead else "/console/cooperation/"
    return f"{path}{quote(receipt_no, safe='')}?{urlencode({'done': done})}#cooperation"


def build(web: Web) -> list[Any]:
    """The cooperation pages' route handlers."""

    @get("/console/cooperation", include_in_schema=False)
    async def addressed(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        state = request.query_params.get("state") or "open"
        state = state if state in STATES else "open"
        department = access.department_filter(staff, request.query_params.get("department"))
        rows: list[dict[str, Any]] = []
        async with web.api(staff) as api:
            names = await _names(api)
            if department:
                found = await api._json(
                    "GET",
                    "/api/v1/complaints/cooperation-requests",
                    staff=True,
                    params={"department": department, "state": state},
                )
                rows = found.get("items", [])
        now = datetime.now().astimezone()
        rows = [{**r, "late": overdue(r, now)} for r in rows]
        rows.sort(key=lambda r: (r.get("due_at") is None, r.get("due_at") or "", r["requested_at"]))
        page.here = "/console/cooperation"
        return web.render(
            page,
            "console/cooperation.html.j2",
            rows=rows,
            state=state,
            states=STATES,
            department=department,
            departments=names,
        )

    @get("/console/cooperation/{receipt_no:str}", include_in_schema=False)
    async def asked(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        path = f"/api/v1/complaints/{_seg(receipt_no)}/cooperation"
        async with web.api(staff) as api:
            try:
                requests = await api._json("GET", path, staff=True)
            except ApiError as error:
                if error.status == 403:
                    raise WebError(403, "error.forbidden") from None
                if error.status == 404:
                    raise WebError(404, "error.not_found") from None
                raise
            complaint: dict[str, Any] | None = None
            try:  # read while a request to my department is open (audited by intake)
                complaint = await api._json("GET", f"{path}/complaint", staff=True)
            except ApiError as error:
                if error.status != 403:
                    raise
            names = await _names(api)
            text: dict[str, Any] | None = None
            if complaint is not None:
                try:
                    text = await api._json("GET", f"{path}/text", staff=True, params={"purpose": "협조 요청 검토"})
                except ApiError as error:
                    if error.status not in (403, 404):
                        raise
        done = request.query_params.get("done")
        mine = [
            r
            for r in requests.get("items", [])
            if r.get("department") == staff.department or staff.role == access.COMPLAINT_OFFICE
        ]
        page.here = f"/console/cooperation/{quote(receipt_no, safe='')}"
        return web.render(
            page,
            "console/cooperation_complaint.html.j2",
            receipt_no=receipt_no,
            complaint=complaint,
            text=text,
            requests=mine,
            done=done if done in DONE else None,
            departments=names,
        )

    async def _post(
        request: Request[Any, Any, Any], receipt_no: str, path: str, body: Any, done: str, *, lead: bool
    ) -> Response[str]:
        page, staff = web.staff_page(request)
        form = await web.form(page)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        async with web.api(staff) as api:  # intake checks the department and the request's state
            try:
                await api._json(
                    "POST",
                    f"/api/v1/complaints/{_seg(receipt_no)}/cooperation{path}",
                    staff=True,
                    json=body(form),
                    headers={"Idempotency-Key": f"web:{staff.id}:{uuid.uuid4()}"},
                )
            except ApiError as failed:
                if failed.status not in (400, 403, 404, 409, 422):
                    raise
                return web.redirect(page, _back(receipt_no, "failed", lead=lead))
        return web.redirect(page, _back(receipt_no, done, lead=lead))

    @post("/console/cooperation/{receipt_no:str}/ask", include_in_schema=False, status_code=200)
    async def ask(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        return await _post(
            request,
            receipt_no,
            "",
            lambda f: {
                "department": _text(f, "department"),
                "working_days": _days(_text(f, "working_days")),
                "question": _text(f, "question"),
            },
            "asked",
            lead=True,
        )

    @post("/console/cooperation/{receipt_no:str}/{request_id:str}/reply", include_in_schema=False, status_code=200)
    async def reply(request: Request[Any, Any, Any], receipt_no: str, request_id: str) -> Response[str]:
        return await _post(
            request,
            receipt_no,
            f"/{_seg(request_id)}/reply",
            lambda f: {"text": _text(f, "text")},
            "replied",
            lead=False,
        )

    @post("/console/cooperation/{receipt_no:str}/{request_id:str}/cancel", include_in_schema=False, status_code=200)
    async def cancel(request: Request[Any, Any, Any], receipt_no: str, request_id: str) -> Response[str]:
        return await _post(request, receipt_no, f"/{_seg(request_id)}/cancel", lambda f: {}, "cancelled", lead=True)

    return [addressed, asked, ask, reply, cancel]
