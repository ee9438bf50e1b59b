"""Staff search under ``/console/search`` (receipt number, name, phone, e-mail, words, district,
status, department, receipt dates), and the complaint page's casework forms under
``/console/casework``: internal notes, linking duplicates (중복민원) and closing a repeat (반복민원).

Intake matches personal data through its blind index and audits every search that uses it; the
results are the PII-free staff view.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, get, post

from services.web import access
from services.web.api import ApiError, _seg
from services.web.console import _text
from services.web.pages import Web, WebError

FIELDS = (
    "receipt_no",
    "name",
    "phone",
    "email",
    "words",
    "district",
    "status",
    "department",
    "received_from",
    "received_to",
)
STATUSES = ("received", "in_progress", "awaiting_supplement", "closed", "withdrawn", "transferred", "draft")


def criteria(query: dict[str, Any]) -> dict[str, str]:
    """The search form's filled fields (the rest left out)."""
    return {k: str(query.get(k) or "").strip() for k in FIELDS if str(query.get(k) or "").strip()}


def _back(receipt_no: str, done: str) -> str:
    return f"/console/complaints/{quote(receipt_no, safe='')}?{urlencode({'done': done})}#casework"


def build(web: Web) -> list[Any]:
    """The search page's and the casework forms' route handlers."""

    @get("/console/search", include_in_schema=False)
    async def search(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        asked = criteria(dict(request.query_params))
        rows: list[dict[str, Any]] | None = None
        error: ApiError | None = None
        status = 200
        if asked:
            async with web.api(staff) as api:
                try:
                    found = await api._json(
                        "GET", "/api/v1/complaints/search", staff=True, params={**asked, "limit": 100}
                    )
                    rows = found["items"]
                except ApiError as failed:
                    if failed.status not in (400, 422):
                        raise
                    error, status = failed, failed.status
        page.here = "/console/search"
        return web.render(
            page,
            "console/search.html.j2",
            status=status,
            asked=asked,
            rows=rows,
            error=error,
            statuses=STATUSES,
            scoped=access.scope(staff),
        )

    async def _casework(
        request: Request[Any, Any, Any], receipt_no: str, done: str, path: str, body: Any, *, office: bool = False
    ) -> Response[str]:
        page, staff = web.staff_page(request)
        form = await web.form(page)
        if not access.may_work_complaints(staff) or (office and staff.role != access.COMPLAINT_OFFICE):
            raise WebError(403, "error.forbidden")
        async with web.api(staff) as api:  # intake checks the role and the department's scope
            try:
                await api._json(
                    "POST",
                    f"/api/v1/complaints/{_seg(receipt_no)}/{path}",
                    staff=True,
                    json=body(form),
                    headers={"Idempotency-Key": f"web:{staff.id}:{uuid.uuid4()}"},
                )
            except ApiError as failed:
                if failed.status not in (400, 404, 409, 422):
                    raise
                return web.redirect(page, _back(receipt_no, "casework_failed"))
        return web.redirect(page, _back(receipt_no, done))

    @post("/console/casework/{receipt_no:str}/notes", include_in_schema=False, status_code=200)
    async def add_note(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        return await _casework(request, receipt_no, "note_added", "notes", lambda f: {"text": _text(f, "text")})

    @post("/console/casework/{receipt_no:str}/links", include_in_schema=False, status_code=200)
    async def link(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        return await _casework(request, receipt_no, "linked", "links", lambda f: {"receipt_no": _text(f, "other")})

    @post("/console/casework/{receipt_no:str}/close-as-repeat", include_in_schema=False, status_code=200)
    async def close_as_repeat(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        return await _casework(
            request,
            receipt_no,
            "closed_as_repeat",
            "close-as-repeat",
            lambda f: {"reason": _text(f, "reason")},
            office=True,
        )

    return [search, add_note, link, close_as_repeat]
