"""Staff intake under ``/console/intake``: the 120 call centre and the counter register complaints
for citizens by phone, visit, mail, fax or orally (구술민원: the official writes, the citizen reads it
back on the screen and confirms; or later on the portal with the check code)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post

from services.web import access
from services.web.api import ApiError
from services.web.console import _local_instant, _text
from services.web.pages import Page, Web, WebError

STAFF_CHANNELS = ("phone", "visit", "mail", "fax", "oral")
LATE_CHANNELS = ("mail", "fax")
"""Channels whose arrival time is asked (a letter or fax registered after it arrived)."""
CONSENTS = ("sms", "alimtalk", "email", "post")


def staff_filing(form: dict[str, Any]) -> dict[str, Any]:
    """The intake API's filing from the staff intake form (a staff channel; ``received_at`` for late mail)."""
    received_at = _local_instant(_text(form, "received_at"))
    return {
        **{k: _text(form, k) or None for k in ("phone", "email", "address", "statutory_type", "received_at_reason")},
        **{k: _text(form, k) for k in ("name", "kind", "category", "district", "title", "body", "channel")},
        "received_at": received_at,
        "priority": _text(form, "priority") == "on",
        "whistleblower": _text(form, "whistleblower") == "on",
        "consent": {k: _text(form, f"consent_{k}") == "on" for k in CONSENTS},
    }


def build(web: Web) -> list[Any]:
    """The staff intake's route handlers."""

    async def _intake_form(
        page: Page, *, status: int = 200, values: dict[str, Any] | None = None, error: ApiError | None = None
    ) -> Response[str]:
        page.here = "/console/intake/new"
        async with web.api() as api:
            types = await api.statutory_types()
        return web.render(
            page,
            "console/intake.html.j2",
            status=status,
            values=values or {"channel": "phone"},
            error=error,
            key=str(uuid.uuid4()),
            channels=STAFF_CHANNELS,
            late=LATE_CHANNELS,
            consents=CONSENTS,
            statutory_types=types,
        )

    @get("/console/intake/new", include_in_schema=False)
    async def intake_new(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_register(staff):
            raise WebError(403, "error.forbidden")
        return await _intake_form(page)

    @post("/console/intake", include_in_schema=False, status_code=200)
    async def intake_file(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_register(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        body = staff_filing(form)
        values = {
            **{k: _text(form, k) for k in form if k not in ("csrf", "key")},
            **{k: _text(form, k) == "on" for k in ("priority", "whistleblower", *(f"consent_{c}" for c in CONSENTS))},
        }
        if body["channel"] not in STAFF_CHANNELS:
            body["channel"] = "phone"
        if body["channel"] in LATE_CHANNELS and not body["received_at"]:
            needed = page.t("intake.received_at_required")
            missing = ApiError(422, "received_at_required", needed, [{"field": "received_at", "message": needed}])
            return await _intake_form(page, status=422, values=values, error=missing)
        async with web.api(staff) as api:
            try:
                receipt = await api.file_for_citizen(
                    body, idempotency_key=f"web:{staff.id}:{_text(form, 'key') or uuid.uuid4()}"
                )
            except ApiError as error:
                if error.status not in (400, 409, 422):
                    raise
                return await _intake_form(page, status=422, values=values, error=error)
        page.here = "/console/intake/new"
        return web.render(
            page, "console/intake_receipt.html.j2", receipt=receipt, filing=body, oral=body["channel"] == "oral"
        )

    @post("/console/intake/{receipt_no:str}/confirm", include_in_schema=False, status_code=200)
    async def intake_confirm(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = web.staff_page(request)
        if not access.may_register(staff):
            raise WebError(403, "error.forbidden")
        form = await web.form(page)
        async with web.api(staff) as api:
            try:
                confirmed = await api.confirm(receipt_no, idempotency_key=f"web:{staff.id}:{_text(form, 'key')}")
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                page.here = "/console/intake/new"
                return web.render(
                    page,
                    "console/intake_receipt.html.j2",
                    status=error.status,
                    error=error,
                    receipt={"receipt_no": receipt_no},
                    filing={},
                    oral=True,
                )
        page.here = "/console/intake/new"
        return web.render(
            page, "console/intake_receipt.html.j2", receipt=confirmed, filing={}, oral=True, confirmed=True
        )

    return [intake_new, intake_file, intake_confirm]
