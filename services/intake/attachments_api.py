"""Attachments over HTTP, under ``/api/v1/complaints/{receipt_no}/attachments``.

- ``POST`` (``multipart/form-data``, one or more parts named ``file``; ``target`` = ``complaint``
  or ``answer``): an official of the complaint's department (or the complaint office) adds files
  to the complaint or its answer; the citizen, with ``?code=``, to their own complaint. 201 with
  the new files; 413 too large, 415 not an accepted type, 422 an unreadable image or too many files.
- ``GET``: the list (names, types, sizes; never the bytes); ``GET /{id}``: the file;
  ``GET /{id}/thumbnail``: an image's thumbnail. Officials as for the complaint's details; the
  citizen with ``?code=`` (the answer's files once the answer is given). Every read is audited.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide

from minwon import auth
from minwon.errors import DomainError
from services.intake import attachments as rules
from services.intake.api import _client
from services.intake.attachments_handlers import Attachments, Upload
from services.intake.domain import Complaint

FORM_SLACK = 64 * 1024
"""Room for the multipart framing and the other fields, beyond the files themselves."""


async def _complaint(
    request: Request[Any, Any, Any], attachments: Attachments, receipt_no: str, code: str | None
) -> tuple[Complaint, dict[str, Any] | None]:
    """The complaint and who asks: the citizen with the check code (``None``), else an official who may
    see the complaint's details (401 without identity, 403 outside its department)."""
    intake = attachments.intake
    if code is not None:
        return await intake.verify_code(receipt_no, code, client=_client(request, intake)), None
    who = auth.staff(request)
    if not who.has(*auth.CASEWORK):
        raise DomainError("forbidden", f"attachments need one of the roles: {', '.join(auth.CASEWORK)}", 403)
    complaint = await intake.get(receipt_no)
    auth.in_scope(who, complaint.department)
    if complaint.confidential and not who.office:
        raise DomainError("forbidden", "a confidential complaint's files are for the complaint office", 403)
    return complaint, who.audit()


def _download(data: bytes, media_type: str, name: str, *, inline: bool) -> Response[bytes]:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": rules.content_disposition(name, inline=inline),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def controller(attachments: Attachments) -> type[Controller]:
    """The controller, its body limit from the settings (one request carries up to the count limit)."""
    limits = attachments.limits
    max_request = limits.max_bytes * limits.max_count + FORM_SLACK

    class AttachmentController(Controller):
        path = "/api/v1/complaints/{receipt_no:str}/attachments"
        tags = ["intake"]

        @post("/", status_code=201, request_max_body_size=max_request)
        async def add(
            self,
            receipt_no: str,
            request: Request[Any, Any, Any],
            attachments: Attachments,
            code: str | None = None,
            target: str | None = None,
        ) -> dict[str, Any]:
            """Add files (form parts ``file``); ``target``: ``complaint`` (default) or ``answer``."""
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_request:
                raise DomainError(
                    "too_large", f"file: one request carries at most {max_request} bytes", 413, field="file"
                )
            complaint, by = await _complaint(request, attachments, receipt_no, code)
            if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
                raise DomainError(
                    "invalid", "send multipart/form-data with the files in parts named 'file'", 415, field="file"
                )
            form = await request.form()
            uploads = []
            for part in form.getall("file") if "file" in form else []:
                if not isinstance(part, UploadFile):
                    raise DomainError("invalid", "file: each part named 'file' is a file", 422, field="file")
                if part.file.seek(0, 2) > limits.max_bytes:
                    raise rules.too_large("file", limits.max_bytes)
                part.file.seek(0)
                uploads.append(Upload("file", part.filename, await part.read()))
            chosen = target or str(form.get("target") or rules.COMPLAINT)
            added = await attachments.add(complaint, uploads, target=chosen, by=by, citizen=by is None)
            return {"receipt_no": receipt_no, "items": added}

        @get("/")
        async def index(
            self, receipt_no: str, request: Request[Any, Any, Any], attachments: Attachments, code: str | None = None
        ) -> dict[str, Any]:
            complaint, by = await _complaint(request, attachments, receipt_no, code)
            return {
                "receipt_no": receipt_no,
                "items": await attachments.list(complaint, by=by),
                "limits": {
                    "max_bytes": limits.max_bytes,
                    "max_count": limits.max_count,
                    "types": [k.media_type for k in rules.KINDS],
                },
            }

        @get("/{attachment_id:str}")
        async def download(
            self,
            receipt_no: str,
            attachment_id: str,
            request: Request[Any, Any, Any],
            attachments: Attachments,
            code: str | None = None,
        ) -> Response[bytes]:
            complaint, by = await _complaint(request, attachments, receipt_no, code)
            data, media_type, name = await attachments.read(complaint, attachment_id, by=by)
            return _download(data, media_type, name, inline=False)

        @get("/{attachment_id:str}/thumbnail")
        async def thumbnail(
            self,
            receipt_no: str,
            attachment_id: str,
            request: Request[Any, Any, Any],
            attachments: Attachments,
            code: str | None = None,
        ) -> Response[bytes]:
            complaint, by = await _complaint(request, attachments, receipt_no, code)
            data, media_type, name = await attachments.read(complaint, attachment_id, by=by, thumbnail=True)
            return _download(data, media_type, f"thumb-{name}", inline=True)

    return AttachmentController


def routes(attachments: Attachments) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[controller(attachments)],
            dependencies={"attachments": Provide(lambda: attachments, sync_to_thread=False, use_cache=True)},
        )
    ]
