"""The deadline service's HTTP API under ``/api/v1/deadlines``: parse, call a handler, shape the response."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from pydantic import BaseModel, ConfigDict, Field

from minwon import auth
from services.deadline import statistics_export
from services.deadline.handlers import Deadlines


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PauseIn(_Strict):
    start: datetime = Field(description="ISO 8601 with offset")
    end: datetime = Field(description="ISO 8601 with offset; after start")


class PreviewIn(_Strict):
    received_at: datetime = Field(description="ISO 8601 with offset, e.g. 2026-03-10T10:00:00+09:00")
    kind: str | None = Field(None, max_length=40, description="A kind of complaint (statutory, inquiry_law, ...)")
    period: str | None = Field(
        None, max_length=20, description="3h, 40h, 5d, 14d, 2w, 1m, 1y or immediate; overrides the kind's period"
    )
    statutory_type: str | None = Field(None, max_length=100, description="For kind statutory (민원처리기준표)")
    pauses: list[PauseIn] = Field(default_factory=list, max_length=50, description="Supplementation waits (보완)")
    extend: str | None = Field(None, max_length=20, description="A first extension (연장) by this period")


class HolidayIn(_Strict):
    date: date
    name: str = Field(min_length=1, max_length=100, description="e.g. 임시공휴일")


GroupBy = Annotated[str, Parameter(max_length=20, description="department, category, channel or month")]
FirstMonth = Annotated[str | None, QueryParameter(name="from", max_length=7, description="first month, YYYY-MM")]
LastMonth = Annotated[str | None, QueryParameter(name="to", max_length=7, description="last month, YYYY-MM")]
Department = Annotated[str | None, Parameter(max_length=100, description="one department (the complaint office)")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STAFF = [auth.requires(*auth.STAFF)]
READERS = [auth.requires(*auth.READERS)]
OFFICE = [auth.requires(*auth.OFFICE)]


class DeadlineController(Controller):
    path = "/api/v1/deadlines"
    tags = ["deadline"]

    @post("/preview", status_code=200, guards=STAFF)
    async def preview(self, data: PreviewIn, deadlines: Deadlines) -> dict[str, Any]:
        """The due time, warning and escalation ladder a complaint would get (nothing is stored)."""
        return deadlines.preview(
            received_at=data.received_at,
            kind=data.kind,
            period=data.period,
            statutory_type=data.statutory_type,
            pauses=[(p.start, p.end) for p in data.pauses],
            extend=data.extend,
        )

    @get("/statutory-types")
    async def statutory_types(
        self, deadlines: Deadlines, q: Annotated[str | None, Parameter(max_length=100)] = None
    ) -> dict[str, Any]:
        """The statutory-type catalogue (민원처리기준표): code, Korean name, aliases, period and the department
        it usually goes to; ``q`` filters by a part of any name. Public: the filing forms offer it."""
        return {"items": deadlines.statutory_types(q)}

    @get("/calendar/holidays", guards=STAFF)
    async def holidays(self, deadlines: Deadlines) -> dict[str, Any]:
        """Holidays an administrator added, with the progress of the recomputation each started."""
        return {"items": await deadlines.holidays()}

    @post("/calendar/holidays", status_code=201, guards=OFFICE)
    async def add_holiday(
        self, data: HolidayIn, request: Request[Any, Any, Any], deadlines: Deadlines
    ) -> Response[dict[str, Any]]:
        """Add a non-working day (임시공휴일): every open clock due on or after it is recomputed."""
        doc, created = await deadlines.add_holiday(data.date, data.name, auth.staff(request).id)
        return Response(doc, status_code=201 if created else 200)

    @get("/statistics", guards=READERS)
    async def statistics(
        self,
        request: Request[Any, Any, Any],
        deadlines: Deadlines,
        group_by: GroupBy = "department",
        first: FirstMonth = None,
        last: LastMonth = None,
        department: Department = None,
    ) -> dict[str, Any]:
        """Processing statistics (처리 통계) by department, category, channel or month of receipt: on-time rate,
        mean and 90th-percentile working days, backlog and overdue (docs/statistics.md). An official outside
        the complaint office sees their own department's."""
        return await deadlines.statistics(
            group_by=group_by, first=first, last=last, department=_scope(request, department)
        )

    @get("/statistics.csv", guards=READERS, media_type="text/csv")
    async def statistics_csv(
        self,
        request: Request[Any, Any, Any],
        deadlines: Deadlines,
        group_by: GroupBy = "department",
        first: FirstMonth = None,
        last: LastMonth = None,
        department: Department = None,
    ) -> Response[bytes]:
        """The statistics as CSV (UTF-8 with BOM)."""
        result = await deadlines.statistics(
            group_by=group_by, first=first, last=last, department=_scope(request, department)
        )
        return _file(
            statistics_export.to_csv(result), "text/csv; charset=utf-8", statistics_export.filename(result, "csv")
        )

    @get("/statistics.xlsx", guards=READERS, media_type=XLSX)
    async def statistics_xlsx(
        self,
        request: Request[Any, Any, Any],
        deadlines: Deadlines,
        group_by: GroupBy = "department",
        first: FirstMonth = None,
        last: LastMonth = None,
        department: Department = None,
    ) -> Response[bytes]:
        """The statistics as an XLSX workbook (a sheet of figures, a sheet of definitions)."""
        result = await deadlines.statistics(
            group_by=group_by, first=first, last=last, department=_scope(request, department)
        )
        return _file(statistics_export.to_xlsx(result), XLSX, statistics_export.filename(result, "xlsx"))

    @get("/statistics/public")
    async def public_statistics(
        self,
        deadlines: Deadlines,
        group_by: GroupBy = "department",
        year: Annotated[int | None, Parameter(ge=2000, le=2099)] = None,
    ) -> dict[str, Any]:
        """The published figures of a year (the charter's 공표): counts and rates only, no complaint and no
        person. Public."""
        return await deadlines.public_statistics(group_by=group_by, year=year)

    @get("/{receipt_no:str}", guards=READERS)
    async def show(self, receipt_no: str, request: Request[Any, Any, Any], deadlines: Deadlines) -> dict[str, Any]:
        """One complaint's clock: due time, remaining working time, pauses, extensions, signals."""
        clock = await deadlines.get(receipt_no)
        auth.in_scope(auth.staff(request), clock.get("department"))
        return clock

    @get("/", guards=READERS)
    async def index(
        self,
        request: Request[Any, Any, Any],
        deadlines: Deadlines,
        overdue: bool = False,
        department: str | None = None,
        status: Annotated[str | None, Parameter(pattern="^(pending|open|paused|closed|refused)$")] = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Clocks by receipt number; ``overdue=true``: running and past their due time. An official outside
        the complaint office sees their own department's clocks."""
        who = auth.staff(request)
        if not (who.office or who.has(auth.AUDITOR)):
            department = who.department or "-"
        items = await deadlines.list(overdue=overdue, department=department, status=status, after=cursor, limit=limit)
        return {"items": items, "next_cursor": items[-1]["receipt_no"] if len(items) == limit else None}


def _scope(request: Request[Any, Any, Any], department: str | None) -> str | None:
    """The department an official may read: their own, unless the complaint office or an auditor."""
    who = auth.staff(request)
    return department if who.office or who.has(auth.AUDITOR) else (who.department or "(none)")


def _file(body: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def routes(deadlines: Deadlines) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[DeadlineController],
            dependencies={"deadlines": Provide(lambda: deadlines, sync_to_thread=False, use_cache=True)},
        )
    ]
