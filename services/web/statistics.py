"""Processing statistics (처리 통계): the console's table, chart and exports under ``/console/statistics``
(deadline's staff API, scoped to the official's department outside the complaint office), and the
portal's public figures at ``/statistics`` (deadline's public API: counts only, no person)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from services.web.api import ApiError
from services.web.pages import Web

KST = ZoneInfo("Asia/Seoul")
GROUPINGS = ("department", "category", "channel", "month")
FILES = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PATH = "/api/v1/deadlines/statistics"


def _by(value: str | None) -> str:
    return value if value in GROUPINGS else "department"


def _query(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The console's filters, passed on as given (deadline names a bad one)."""
    q = request.query_params
    return {
        "group_by": _by(q.get("by")),
        "from": (q.get("from") or "").strip() or None,
        "to": (q.get("to") or "").strip() or None,
    }


def build(web: Web) -> list[Any]:
    """The statistics pages' route handlers."""

    @get("/console/statistics", include_in_schema=False)
    async def console_statistics(request: Request[Any, Any, Any]) -> Response[str]:
        page, staff = web.staff_page(request)
        params = _query(request)
        error = None
        async with web.api(staff) as api:
            try:
                result = await api._json("GET", PATH, staff=True, params=params)
            except ApiError as refused:
                if refused.status != 422:
                    raise
                error, result = refused, None
        return web.render(
            page,
            "console/statistics.html.j2",
            status=422 if error else 200,
            result=result,
            error=error,
            by=params["group_by"],
            first=params["from"] or "",
            last=params["to"] or "",
            groupings=GROUPINGS,
        )

    @get("/console/statistics.csv", include_in_schema=False)
    async def console_csv(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _export(request, "csv")

    @get("/console/statistics.xlsx", include_in_schema=False)
    async def console_xlsx(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _export(request, "xlsx")

    async def _export(request: Request[Any, Any, Any], ext: str) -> Response[bytes]:
        _, staff = web.staff_page(request)
        async with web.api(staff) as api:
            answer = await api._send("GET", f"{PATH}.{ext}", staff=True, params=_query(request))
        return Response(
            answer.content,
            media_type=FILES[ext],
            headers={
                "Content-Disposition": answer.headers.get(
                    "content-disposition", f'attachment; filename="statistics.{ext}"'
                ),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @get("/statistics", include_in_schema=False)
    async def public_statistics(request: Request[Any, Any, Any]) -> Response[str]:
        page = web.page(request)
        year_text = request.query_params.get("year") or ""
        this_year = datetime.now(KST).year
        year = int(year_text) if year_text.isdigit() and 2000 <= int(year_text) <= this_year else this_year
        by = _by(request.query_params.get("by"))
        async with web.api() as api:
            result = await api._json("GET", f"{PATH}/public", params={"year": year, "group_by": by})
        return web.render(
            page,
            "portal/statistics.html.j2",
            result=result,
            by=by,
            year=year,
            years=list(range(this_year, this_year - 5, -1)),
            groupings=GROUPINGS,
        )

    return [console_statistics, console_csv, console_xlsx, public_statistics]
