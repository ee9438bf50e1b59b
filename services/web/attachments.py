"""Attachments in the console and the portal, through intake's attachment API.

Console: the complaint page lists the complaint's and the answer's files with thumbnails of images
(served here with the official's own token, so intake applies the department scope and audits each
read); officials of the department add files to the complaint or to its answer. Portal: the citizen
adds photos and documents when filing (uploaded with the check code right after the filing), and
the lookup lists their files and, once answered, the answer's; a download is a POST carrying the
receipt number and check code, never a link holding the code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException

from services.web import access
from services.web.api import Api, ApiError, ApiUnavailable
from services.web.pages import Page, Web, WebError

PORTAL_FILES = 5
"""Files the filing form carries at most (intake's own limits apply to each)."""
MAX_FORM_BYTES = 55 * 1024 * 1024
"""A form with files: the filing form's five files of up to 10 MB, and the rest of the form."""
TARGETS = ("complaint", "answer")


def _path(receipt_no: str, rest: str = "") -> str:
    return f"/api/v1/complaints/{quote(receipt_no, safe='')}/attachments{rest}"


def uploads(form: dict[str, Any], name: str) -> list[UploadFile]:
    """The files of the form field ``name`` (an empty file input sends one nameless, empty part)."""
    value = form.get(name)
    parts = value if isinstance(value, list) else [value]
    return [p for p in parts if isinstance(p, UploadFile) and p.filename]


async def send(
    api: Api, receipt_no: str, files: list[UploadFile], *, code: str | None = None, target: str = "complaint"
) -> dict[str, Any]:
    """Upload ``files`` to intake (staff: the official's token; citizen: the check code)."""
    parts = [("file", (f.filename, await f.read(), f.content_type or "application/octet-stream")) for f in files]
    params = {"target": target, **({"code": code} if code else {})}
    try:
        response = await api.client.post(
            _path(receipt_no, "/"), params=params, files=parts, headers=api._headers(staff=code is None)
        )
    except httpx.HTTPError as exc:
        raise ApiUnavailable(f"POST attachments: {type(exc).__name__}") from exc
    return _checked(response)


def _checked(response: httpx.Response) -> Any:
    """The JSON (or the response itself); a refusal raised as the API client raises it."""
    if response.status_code >= 500:
        raise ApiUnavailable(f"attachments: {response.status_code}")
    if response.status_code < 400:
        return response.json() if "json" in response.headers.get("content-type", "") else response
    refusal = _body(response)
    raise ApiError(
        response.status_code,
        str(refusal.get("error", "error")),
        str(refusal.get("message", response.reason_phrase)),
        list(refusal.get("fields") or []),
    )


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


async def listing(api: Api, receipt_no: str, *, code: str | None = None) -> list[dict[str, Any]] | None:
    """The files an official (or the citizen, with the code) may see: None when intake refuses (403:
    a confidential complaint's files are for the complaint office), empty when it cannot answer."""
    try:
        response = await api.client.get(
            _path(receipt_no, "/"), params={"code": code} if code else None, headers=api._headers(staff=code is None)
        )
        return list(_checked(response)["items"])
    except ApiError as error:
        return None if error.status == 403 else []
    except (ApiUnavailable, httpx.HTTPError, KeyError, TypeError):
        return []


async def fetch(api: Api, receipt_no: str, id: str, *, thumbnail: bool, code: str | None = None) -> Response[bytes]:
    """One file (or thumbnail) as intake serves it, its headers kept (type, name, no-store, sandbox)."""
    try:
        response = await api.client.get(
            _path(receipt_no, f"/{quote(id, safe='')}{'/thumbnail' if thumbnail else ''}"),
            params={"code": code} if code else None,
            headers=api._headers(staff=code is None),
        )
    except httpx.HTTPError as exc:
        raise ApiUnavailable(f"GET attachment: {type(exc).__name__}") from exc
    _checked(response)
    keep = ("content-disposition", "cache-control", "x-content-type-options", "content-security-policy")
    return Response(
        response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        headers={k: response.headers[k] for k in keep if k in response.headers},
    )


async def attach_filed(
    api: Api, receipt: dict[str, Any], form: dict[str, Any], *, field: str = "attachments"
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The form's files (field ``field``), sent one by one with the complaint's check code: those attached,
    and (name, error code) of those refused (the complaint is received either way)."""
    attached: list[dict[str, Any]] = []
    refused: list[tuple[str, str]] = []
    for n, part in enumerate(uploads(form, field)):
        if n >= PORTAL_FILES:
            refused.append((str(part.filename), "too_many_files"))
            continue
        try:
            attached += (await send(api, receipt["receipt_no"], [part], code=receipt["check_code"]))["items"]
        except ApiError as error:
            if error.status not in (409, 413, 415, 422):
                raise
            refused.append((str(part.filename), error.code))
    return attached, refused


def split(files: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {target: [f for f in files if f.get("target") == target] for target in TARGETS}


def _text(form: dict[str, Any], key: str) -> str:
    value = form.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip() if not isinstance(value, UploadFile) else ""


def build(web: Web) -> list[Any]:
    """The attachment routes of the console and the portal."""

    def _staff(request: Request[Any, Any, Any]) -> tuple[Page, access.Staff]:
        page, staff = web.staff_page(request)
        if not access.may_work_complaints(staff):
            raise WebError(403, "error.forbidden")
        return page, staff

    @get("/console/complaints/{receipt_no:str}/attachments/{attachment_id:str}", include_in_schema=False)
    async def console_file(request: Request[Any, Any, Any], receipt_no: str, attachment_id: str) -> Response[bytes]:
        _, staff = _staff(request)
        async with web.api(staff) as api:
            return await fetch(api, receipt_no, attachment_id, thumbnail=False)

    @get("/console/complaints/{receipt_no:str}/attachments/{attachment_id:str}/thumbnail", include_in_schema=False)
    async def console_thumbnail(
        request: Request[Any, Any, Any], receipt_no: str, attachment_id: str
    ) -> Response[bytes]:
        _, staff = _staff(request)
        async with web.api(staff) as api:
            return await fetch(api, receipt_no, attachment_id, thumbnail=True)

    async def _form(page: Page) -> dict[str, Any] | None:
        """The posted form, or None when it is larger than :data:`MAX_FORM_BYTES` (refused whole)."""
        try:
            return await web.form(page)
        except ClientException as exc:
            if exc.status_code == 413:
                return None
            raise

    @post(
        "/console/complaints/{receipt_no:str}/attachments",
        include_in_schema=False,
        status_code=200,
        request_max_body_size=MAX_FORM_BYTES,
    )
    async def console_add(request: Request[Any, Any, Any], receipt_no: str) -> Response[str]:
        page, staff = _staff(request)
        back = f"/console/complaints/{quote(receipt_no, safe='')}"
        form = await _form(page)
        if form is None:
            return web.redirect(page, f"{back}?attachment_error=too_large#attachments")
        target = _text(form, "target") if _text(form, "target") in TARGETS else "complaint"
        files = uploads(form, "file")
        if not files:
            return web.redirect(page, f"{back}?attachment_error=empty#attachments")
        async with web.api(staff) as api:
            try:
                await send(api, receipt_no, files, target=target)
            except ApiError as error:
                if error.status not in (409, 413, 415, 422):
                    raise
                return web.redirect(page, f"{back}?attachment_error={quote(error.code)}#attachments")
        return web.redirect(page, f"{back}?attachment_added={target}#attachments")

    @post("/lookup/attachments/{attachment_id:str}", include_in_schema=False, status_code=200)
    async def portal_file(request: Request[Any, Any, Any], attachment_id: str) -> Response[bytes]:
        page = web.page(request)
        form = await web.form(page)
        receipt_no, code = _text(form, "receipt_no").upper(), _text(form, "code").upper()
        if not receipt_no or not code:
            raise WebError(404, "error.not_found")
        async with web.api() as api:
            return await fetch(api, receipt_no, attachment_id, thumbnail=_text(form, "thumbnail") == "1", code=code)

    @post("/lookup/attachments", include_in_schema=False, status_code=200, request_max_body_size=MAX_FORM_BYTES)
    async def portal_add(request: Request[Any, Any, Any]) -> Response[str]:
        """The citizen adds files to their open complaint (보완 서류, more photos) from the lookup page."""
        page = web.page(request)
        page.here = "/lookup"
        form = await _form(page)
        if form is None:
            return web.render(page, "error.html.j2", status=413, message_key="attachments.error.too_large")
        receipt = {"receipt_no": _text(form, "receipt_no").upper(), "check_code": _text(form, "code").upper()}
        if not receipt["receipt_no"] or not receipt["check_code"]:
            raise WebError(404, "error.not_found")
        async with web.api() as api:
            attached, refused = await attach_filed(api, receipt, form, field="file")
        return web.render(
            page,
            "portal/attached.html.j2",
            status=200 if attached or not refused else 422,
            receipt=receipt,
            attached=attached,
            not_attached=refused,
            chosen=bool(attached or refused),
        )

    return [console_file, console_thumbnail, console_add, portal_file, portal_add]


async def attachments_of(api: Api, receipt_no: str) -> dict[str, Any]:
    """The complaint page's files, by target (``complaint``, ``answer``); ``hidden`` when intake refused."""
    files = await listing(api, receipt_no)
    return {**split(files or []), "hidden": files is None}
