"""Department working hours (부서 근무시간) under ``/console/departments``: the complaint office sees
each department's hours and sets them (the statutory hours, round the clock, or its own days and
periods). Routing keeps them; the deadline service counts the department's targets and SLA signals
on them, while the legal periods keep the statutory calendar."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from services.web import access
from services.web.access import Staff
from services.web.api import ApiError
from services.web.console import _text
from services.web.pages import Page, Web, WebError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODES = ("statutory", "always_open", "custom")


def may_set_hours(staff: Staff) -> bool:
    """The complaint office and administrators (routing's department guard)."""
    return staff.role in (access.ADMIN, access.COMPLAINT_OFFICE)


def hours_from_form(form: dict[str, Any]) -> dict[str, Any] | None:
    """The routing API's ``hours`` from the form: None for the statutory hours."""
    mode = _text(form, "mode")
    if mode == "always_open":
        return {"always_open": True}
    if mode != "custom":
        return None
    days = form.get("days") or []
    periods = [p.strip() for p in _text(form, "periods").replace(";", ",").split(",") if p.strip()]
    return {
        "days": days if isinstance(days, list) else [days],
        "periods": periods,
        "open_on_holidays": _text(form, "open_on_holidays") == "on",
    }


def build(web: Web) -> list[Any]:
    """The department-hours route handlers."""

    async def _page(
        page: Page,
        staff: Staff,
        *,
        status: int = 200,
        error: ApiError | None = None,
        saved: str | None = None,
        failed: str | None = None,
    ) -> Response[str]:
        async with web.api(staff) as api:
            items = await api.departments()
        page.here = "/console/departments"
        return web.render(
            page,
            "console/department_hours.html.j2",
            status=status,
            items=items,
            error=error,
            saved=saved,
            failed=failed,
            days=DAYS,
            may_set=may_set_hours(staff),
        )

    @get("/console/departments", include_in_schema=False)
    async def departments(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        return await _page(page, staff, saved=request.query_params.get("saved"))

    @post("/console/departments/{code:str}/hours", include_in_schema=False, status_code=200)
    async def set_hours(request: Request[Any, Any, Any], code: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not may_set_hours(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        async with web.api(staff) as api:
            current = next((d for d in await api.departments() if d.get("code") == code), None)
            if current is None:
                raise WebError(404, "error.not_found")
            try:
                await api.set_department_hours(
                    code, name=current["name"], phone=current.get("phone") or "", hours=hours_from_form(form)
                )
            except ApiError as error:
                if error.status not in (400, 422):
                    raise
                return await _page(page, staff, error=error, failed=code, status=422)
        return web.redirect(page, f"/console/departments?{urlencode({'saved': code})}")

    return [departments, set_hours]
