"""The citizen portal at ``/``: file a complaint (channel online), look it up with the receipt
number and check code (the answer with its reasons, remedy and the responsible official, once
given; an oral complaint written down by staff is confirmed there too), and answer the
satisfaction survey from its link (``/survey/<token>``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post

from services.web import attachments
from services.web.api import ApiError
from services.web.pages import Web, WebError

CONSENTS = ("sms", "alimtalk", "email", "post")
CONTACT = ("name", "phone", "email", "address")
CONTENT = ("kind", "category", "district", "title", "body", "statutory_type")
SCORES = ("speed", "kindness", "result", "overall")


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def filing(form: dict[str, Any]) -> dict[str, Any]:
    """The intake API's filing from the portal form: always channel ``online``."""
    return {
        **{k: _text(form, k) or None for k in ("phone", "email", "address", "statutory_type")},
        **{k: _text(form, k) for k in ("name", "kind", "category", "district", "title", "body")},
        "channel": "online",
        "priority": _text(form, "priority") == "on",
        "whistleblower": _text(form, "whistleblower") == "on",
        "consent": {k: _text(form, f"consent_{k}") == "on" for k in CONSENTS},
    }


def build(web: Web) -> list[Any]:
    """The portal's route handlers."""

    @get("/", include_in_schema=False)
    async def home(request: Request[Any, Any, Any]) -> Response[str]:
        return web.render(web.page(request), "portal/home.html.j2")

    # ------------------------------------------------------------ file a complaint

    @get("/complaints/new", include_in_schema=False)
    async def new(request: Request[Any, Any, Any]) -> Response[str]:
        async with web.api() as api:
            types = await api.statutory_types()
        return web.render(
            web.page(request), "portal/file.html.j2", values={}, key=str(uuid.uuid4()), statutory_types=types
        )

    @post("/complaints", include_in_schema=False, status_code=200, request_max_body_size=attachments.MAX_FORM_BYTES)
    async def file(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        page.here = "/complaints/new"
        form = await web.form(page)
        key = _text(form, "key") or str(uuid.uuid4())
        async with web.api() as api:
            try:
                receipt = await api.file_complaint(filing(form), idempotency_key=f"portal:{key}")
            except ApiError as error:
                if error.status not in (400, 409, 422):
                    raise
                values: dict[str, str | bool] = {k: _text(form, k) for k in (*CONTACT, *CONTENT)}
                values.update({k: _text(form, k) == "on" for k in ("priority", "whistleblower")})
                values.update({f"consent_{k}": _text(form, f"consent_{k}") == "on" for k in CONSENTS})
                types = await api.statutory_types()
                return web.render(
                    page, "portal/file.html.j2", status=422, values=values, key=key, error=error, statutory_types=types
                )
            attached, not_attached = await attachments.attach_filed(api, receipt, form)
        page.here = "/lookup"
        return web.render(page, "portal/receipt.html.j2", receipt=receipt, attached=attached, not_attached=not_attached)

    # ------------------------------------------------------------ look a complaint up

    @get("/lookup", include_in_schema=False)
    async def lookup_form(request: Request[Any, Any, Any]) -> Response[str]:
        """The lookup form; a notice's link names the receipt number (``?receipt_no=``), never the code."""
        asked = (request.query_params.get("receipt_no") or "").strip().upper()[:64]
        return web.render(web.page(request), "portal/lookup.html.j2", receipt_no=asked, code="")

    @post("/lookup", include_in_schema=False, status_code=200)
    async def lookup(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        page.here = "/lookup"
        form = await web.form(page)
        receipt_no, code = _text(form, "receipt_no").upper(), _text(form, "code").upper()
        complaint, confirmed, error = None, False, None
        if receipt_no and code:
            async with web.api() as api:
                if _text(form, "confirm") == "1":  # the citizen confirms an oral complaint with the check code
                    try:
                        await api.confirm(receipt_no, code=code, idempotency_key=f"portal:{uuid.uuid4()}")
                        confirmed = True
                    except ApiError as failed:
                        if failed.status not in (401, 403, 404, 409, 422, 429):
                            raise
                        error = failed
                complaint = await api.optional(api.complaint_for_citizen(receipt_no, code))
                files = await attachments.listing(api, receipt_no, code=code) if complaint else []
        return web.render(
            page,
            "portal/lookup.html.j2",
            status=200 if complaint else 404,
            receipt_no=receipt_no,
            code=code,
            complaint=complaint,
            not_found=complaint is None,
            confirmed=confirmed,
            error=error,
            files=files if complaint else [],
        )

    # ------------------------------------------------------------ the satisfaction survey

    @get("/survey/{token:str}", include_in_schema=False)
    async def survey(request: Request[Any, Any, Any], token: str) -> Response[str]:
        page = web.page(request)
        async with web.api() as api:
            try:
                view = await api.survey(token)
            except ApiError as error:
                if error.status in (401, 404):
                    raise WebError(404, "survey.invalid") from error
                raise
        return web.render(page, "portal/survey.html.j2", token=token, survey=view)

    @post("/survey/{token:str}", include_in_schema=False, status_code=200)
    async def answer(request: Request[Any, Any, Any], token: str) -> Response[str]:
        page = web.page(request)
        form = await web.form(page)
        body: dict[str, Any] = {k: _text(form, k) for k in SCORES}
        body["text"] = _text(form, "text") or None
        async with web.api() as api:
            try:
                await api.answer_survey(token, body)
            except ApiError as error:
                if error.status in (401, 404):
                    raise WebError(404, "survey.invalid") from error
                if error.status in (409, 410, 422):
                    view = await api.optional(api.survey(token))
                    return web.render(
                        page, "portal/survey.html.j2", status=error.status, token=token, survey=view or {}, error=error
                    )
                raise
        return web.render(page, "portal/survey.html.j2", token=token, survey={"status": "responded"}, thanks=True)

    return [home, new, file, lookup_form, lookup, survey, answer]
