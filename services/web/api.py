"""The services' HTTP APIs, as the web front calls them (httpx, one client per page request).

Staff calls carry the signed-in official's own bearer token (and name them in ``X-Actor``).
Intake's staff view is PII-free; the complainant's personal data and the complaint's text come
only from :meth:`Api.personal`, which intake writes to its audit log with the purpose given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from opentelemetry import propagate

T = TypeVar("T")
Doc = dict[str, Any]


@dataclass
class ApiError(Exception):
    """A service answered 4xx/5xx: its status, code, message and the fields to fix."""

    status: int
    code: str
    message: str
    fields: list[dict[str, Any]]

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class ApiUnavailable(Exception):
    """A service could not be reached."""


def _seg(value: str) -> str:
    return quote(str(value), safe="")


CLIENT: ContextVar[str | None] = ContextVar("web_client_address", default=None)
"""The address of the person whose page is being served (set per request by the web app): passed on in
``X-Forwarded-For``, so intake counts wrong check codes per citizen, not per web-front replica (intake
trusts the header only from the peers in ``MINWON_TRUSTED_PROXIES``)."""


RETRY_SOON = 2.0
"""A service's 503 asking to come back within this many seconds (a document that kept changing under
concurrent writers) is tried once more before the page shows the error; a longer wait (a store or broker
down) is shown at once."""


def _retry_soon(response: httpx.Response) -> float | None:
    """Seconds to wait before trying ``response``'s request again, or ``None``: not worth waiting for."""
    if response.status_code != 503:
        return None
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return wait if 0 <= wait <= RETRY_SOON else None


def _repeatable(method: str, headers: dict[str, str] | None) -> bool:
    """A request sent twice has the effect of one: a read, or a write under an Idempotency-Key."""
    return method in ("GET", "HEAD") or bool((headers or {}).get("Idempotency-Key"))


class Api:
    def __init__(
        self, client: httpx.AsyncClient, *, staff_token: str, actor: str | None = None, concurrency: int = 8
    ) -> None:
        self.client = client
        self.staff_token = staff_token
        self.actor = actor
        self._limit = asyncio.Semaphore(concurrency)

    # ---------------------------------------------------------------- plumbing

    def _headers(self, staff: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        client = CLIENT.get()
        if client:
            headers["X-Forwarded-For"] = client
        if staff:
            headers["Authorization"] = f"Bearer {self.staff_token}"
            if self.actor:
                headers["X-Actor"] = self.actor
        headers.update(extra or {})
        return headers

    async def _send(
        self,
        method: str,
        path: str,
        *,
        staff: bool = False,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in (1, 2):
            async with self._limit:
                try:
                    response = await self.client.request(
                        method, path, params=params, json=json, headers=self._headers(staff, headers)
                    )
                except httpx.HTTPError as exc:
                    raise ApiUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
            wait = _retry_soon(response) if attempt == 1 and _repeatable(method, headers) else None
            if wait is None:
                break
            await asyncio.sleep(wait)  # a moment's contention (503 "busy"): the page need not fail for it
        if response.status_code >= 500:
            raise ApiUnavailable(f"{method} {path}: {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            raise ApiError(
                response.status_code,
                str(body.get("error", "error")),
                str(body.get("message", response.reason_phrase)),
                list(body.get("fields") or []),
            )
        return response

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        return (await self._send(method, path, **kw)).json()

    async def optional(self, call: Awaitable[T]) -> T | None:
        """``call``'s result, or None when the service does not know the complaint (404)."""
        try:
            return await call
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    # ---------------------------------------------------------------- intake

    async def file_complaint(self, body: Doc, *, idempotency_key: str | None) -> Doc:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._json("POST", "/api/v1/complaints/", json=body, headers=headers)

    async def complaint(self, receipt_no: str) -> Doc:
        return await self._json("GET", f"/api/v1/complaints/{_seg(receipt_no)}", staff=True)

    async def complaint_for_citizen(self, receipt_no: str, code: str) -> Doc:
        return await self._json("GET", f"/api/v1/complaints/{_seg(receipt_no)}", params={"code": code})

    async def complaints(
        self,
        *,
        department: str | None,
        statuses: Iterable[str | None],
        limit: int,
        answer_state: str | None = None,
        overdue: bool = False,
    ) -> list[Doc]:
        """Every complaint of ``department`` in ``statuses`` (cursor pages), at most ``limit``."""

        async def one(status: str | None) -> list[Doc]:
            out: list[Doc] = []
            cursor = None
            while len(out) < limit:
                page = await self._json(
                    "GET",
                    "/api/v1/complaints/",
                    staff=True,
                    params={
                        "department": department,
                        "status": status,
                        "cursor": cursor,
                        "limit": 200,
                        "answer_state": answer_state,
                        "overdue": "true" if overdue else None,
                    },
                )
                out.extend(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            return out

        pages = await asyncio.gather(*(one(s) for s in statuses))
        return [x for page in pages for x in page][:limit]

    async def file_for_citizen(self, body: Doc, *, idempotency_key: str) -> Doc:
        """A complaint registered by an official (phone, visit, mail, fax, oral), who is recorded."""
        return await self._json(
            "POST", "/api/v1/complaints/", staff=True, json=body, headers={"Idempotency-Key": idempotency_key}
        )

    async def personal(self, receipt_no: str, purpose: str) -> Doc:
        """The complainant's personal data and the complaint's text: one audit entry per call."""
        return await self._json(
            "GET", f"/api/v1/complaints/{_seg(receipt_no)}/personal", staff=True, params={"purpose": purpose}
        )

    async def confirm(self, receipt_no: str, *, code: str | None = None, idempotency_key: str) -> Doc:
        """An oral complaint confirmed: at the counter (staff session) or by the citizen with the check code."""
        return await self._json(
            "POST",
            f"/api/v1/complaints/{_seg(receipt_no)}/confirm",
            staff=code is None,
            params={"code": code},
            headers={"Idempotency-Key": idempotency_key},
        )

    async def answer(self, receipt_no: str) -> Doc:
        return await self._json("GET", f"/api/v1/complaints/{_seg(receipt_no)}/answer", staff=True)

    async def save_answer(self, receipt_no: str, body: Doc) -> Doc:
        return await self._json("PUT", f"/api/v1/complaints/{_seg(receipt_no)}/answer", staff=True, json=body)

    async def answer_step(self, receipt_no: str, step: str, body: Doc | None = None) -> Doc:
        """``submit``, ``return`` (with a comment) or ``approve`` the answer."""
        return await self._json("POST", f"/api/v1/complaints/{_seg(receipt_no)}/answer/{step}", staff=True, json=body)

    async def render_answer(self, receipt_no: str, template_id: str) -> str:
        return str(
            (
                await self._json(
                    "POST",
                    f"/api/v1/complaints/{_seg(receipt_no)}/answer/render",
                    staff=True,
                    json={"template_id": template_id},
                )
            )["text"]
        )

    async def answer_templates(self, category: str | None = None) -> list[Doc]:
        return (
            await self._json("GET", "/api/v1/complaints/answer-templates", staff=True, params={"category": category})
        )["items"]

    async def save_template(self, body: Doc, template_id: str | None = None) -> Doc:
        if template_id is None:
            return await self._json("POST", "/api/v1/complaints/answer-templates", staff=True, json=body)
        return await self._json(
            "PUT", f"/api/v1/complaints/answer-templates/{_seg(template_id)}", staff=True, json=body
        )

    async def delete_template(self, template_id: str) -> Doc:
        return await self._json("DELETE", f"/api/v1/complaints/answer-templates/{_seg(template_id)}", staff=True)

    async def followups(self, *, status: str = "open") -> Doc:
        return await self._json("GET", "/api/v1/surveys/followups", staff=True, params={"status": status})

    async def resolve_followup(self, receipt_no: str, *, note: str) -> Doc:
        return await self._json(
            "POST", f"/api/v1/surveys/followups/{_seg(receipt_no)}/resolve", staff=True, json={"note": note}
        )

    async def answer_policies(self) -> Doc:
        return await self._json("GET", "/api/v1/complaints/answer-policies", staff=True)

    async def set_answer_policy(self, department: str, *, approval_required: bool) -> Doc:
        return await self._json(
            "PUT",
            f"/api/v1/complaints/answer-policies/{_seg(department)}",
            staff=True,
            json={"approval_required": approval_required},
        )

    async def command(self, receipt_no: str, action: str, body: Doc | None, *, idempotency_key: str) -> Doc:
        return await self._json(
            "POST",
            f"/api/v1/complaints/{_seg(receipt_no)}/{action}",
            staff=True,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    # ---------------------------------------------------------------- routing

    async def assignment(self, receipt_no: str) -> Doc:
        return await self._json("GET", f"/api/v1/routing/assignments/{_seg(receipt_no)}", staff=True)

    async def reassign(self, receipt_no: str, body: Doc, *, idempotency_key: str) -> Doc:
        return await self._json(
            "POST",
            f"/api/v1/routing/assignments/{_seg(receipt_no)}/reassign",
            staff=True,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def rules(self) -> list[Doc]:
        return (await self._json("GET", "/api/v1/routing/rules/", staff=True))["items"]

    async def departments(self) -> list[Doc]:
        return (await self._json("GET", "/api/v1/routing/departments/", staff=True))["items"]

    async def set_department_hours(self, code: str, *, name: str, phone: str, hours: Doc | None) -> Doc:
        """Set a department's working hours (None: the statutory hours); its handlers are kept."""
        return await self._json(
            "PUT",
            f"/api/v1/routing/departments/{_seg(code)}",
            staff=True,
            json={"name": name, "phone": phone, "hours": hours},
        )

    async def preview_route(self, body: Doc) -> Doc:
        return await self._json("POST", "/api/v1/routing/preview", staff=True, json=body)

    # ---------------------------------------------------------------- deadline

    async def deadline(self, receipt_no: str) -> Doc:
        return await self._json("GET", f"/api/v1/deadlines/{_seg(receipt_no)}", staff=True)

    async def deadlines(
        self, *, overdue: bool = False, department: str | None = None, status: str | None = None, limit: int = 500
    ) -> list[Doc]:
        out: list[Doc] = []
        cursor = None
        while len(out) < limit:
            page = await self._json(
                "GET",
                "/api/v1/deadlines/",
                staff=True,
                params={
                    "overdue": "true" if overdue else None,
                    "department": department,
                    "status": status,
                    "cursor": cursor,
                    "limit": 200,
                },
            )
            out.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return out[:limit]

    async def statutory_types(self) -> list[Doc]:
        """The statutory-type catalogue (민원처리기준표) the filing forms offer; empty when unavailable."""
        try:
            return list((await self._json("GET", "/api/v1/deadlines/statutory-types"))["items"])
        except (ApiError, ApiUnavailable, KeyError, TypeError):
            return []

    async def holidays(self) -> list[Doc]:
        return (await self._json("GET", "/api/v1/deadlines/calendar/holidays", staff=True))["items"]

    async def add_holiday(self, day: str, name: str) -> Doc:
        return await self._json(
            "POST", "/api/v1/deadlines/calendar/holidays", staff=True, json={"date": day, "name": name}
        )

    # ---------------------------------------------------------------- notification, compensation

    async def notifications(self, receipt_no: str) -> list[Doc]:
        return (await self._json("GET", "/api/v1/notifications/", staff=True, params={"receipt_no": receipt_no}))[
            "items"
        ]

    async def compensations(self, receipt_no: str) -> Doc:
        return await self._json("GET", "/api/v1/compensations/", staff=True, params={"receipt_no": receipt_no})

    async def decide_voucher(self, entry_id: str, decision: str, body: Doc) -> Doc:
        """``approve`` (approver) or ``reject`` (reason) a voucher grant waiting for approval."""
        return await self._json("POST", f"/api/v1/compensations/{_seg(entry_id)}/{decision}", staff=True, json=body)

    # ---------------------------------------------------------------- survey

    async def survey_for_staff(self, receipt_no: str) -> Doc:
        return await self._json("GET", f"/api/v1/surveys/complaints/{_seg(receipt_no)}", staff=True)

    async def survey(self, token: str) -> Doc:
        return await self._json("GET", f"/api/v1/surveys/{_seg(token)}")

    async def answer_survey(self, token: str, body: Doc) -> Doc:
        return await self._json("POST", f"/api/v1/surveys/{_seg(token)}", json=body)

    async def survey_stats(self, *, year: int, by: str) -> Doc:
        return await self._json("GET", "/api/v1/surveys/stats", staff=True, params={"year": year, "by": by})

    async def survey_report_svg(self, year: int) -> bytes:
        return (await self._send("GET", f"/api/v1/surveys/reports/{year}.svg", staff=True)).content
