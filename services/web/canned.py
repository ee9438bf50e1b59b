"""Canned answers (답변 서식) under ``/console/templates``: the team leads and the complaint office
keep, per category, the answers handlers fill in (intake's answer-templates API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post

from services.web import access
from services.web.access import Staff
from services.web.api import ApiError
from services.web.console import _text
from services.web.pages import Page, Web, WebError


def build(web: Web) -> list[Any]:
    """The canned answers' route handlers."""

    async def _templates_page(
        page: Page,
        staff: Staff,
        *,
        status: int = 200,
        error: ApiError | None = None,
        done: str | None = None,
        category: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response[str]:
        async with web.api(staff) as api:
            items = await api.answer_templates(category or None)
        page.here = "/console/templates"
        return web.render(
            page,
            "console/templates.html.j2",
            status=status,
            templates=items,
            error=error,
            done=done,
            category=category or "",
            values=values or {},
        )

    @get("/console/templates", include_in_schema=False)
    async def templates(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_manage_templates(staff):
            raise WebError(403, "error.forbidden")
        done = request.query_params.get("done")
        return await _templates_page(
            page,
            staff,
            category=request.query_params.get("category"),
            done=done if done in ("added", "saved", "deleted") else None,
        )

    @post("/console/templates", include_in_schema=False, status_code=200)
    async def add_template(request: Request[Any, Any, Any]) -> Response[str]:
        return await _change_template(request, None, "added")

    @post("/console/templates/{template_id:str}", include_in_schema=False, status_code=200)
    async def edit_template(request: Request[Any, Any, Any], template_id: str) -> Response[str]:
        return await _change_template(request, template_id, "saved")

    @post("/console/templates/{template_id:str}/delete", include_in_schema=False, status_code=200)
    async def delete_template(request: Request[Any, Any, Any], template_id: str) -> Response[str]:
        return await _change_template(request, template_id, "deleted")

    async def _change_template(request: Request[Any, Any, Any], template_id: str | None, done: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_manage_templates(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        values = {k: _text(form, k) for k in ("category", "title", "text")}
        async with web.api(staff) as api:
            try:
                if done == "deleted" and template_id:
                    await api.delete_template(template_id)
                else:
                    await api.save_template(values, template_id)
            except ApiError as error:
                if error.status not in (400, 404, 409, 422):
                    raise
                return await _templates_page(
                    page,
                    staff,
                    status=409 if error.status == 409 else 422,
                    error=error,
                    values=values if template_id is None else None,
                )
        return web.redirect(page, f"/console/templates?{urlencode({'done': done})}")

    return [templates, add_template, edit_template, delete_template]
