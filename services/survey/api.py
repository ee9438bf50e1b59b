"""Survey's HTTP API under ``/api/v1/surveys``: parse, call a handler, shape the response.

Citizens use only the signed link (``/{token}``); statistics, drafts and
improvement actions are for staff; a published report is public.
"""

from __future__ import annotations

import importlib.util
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, Router, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel, Field

from minwon import auth
from minwon.errors import DomainError, Invalid
from services.survey import domain
from services.survey.domain import Answers
from services.survey.handlers import Surveys

Year = Annotated[int, Parameter(ge=2000, le=2099)]
Score = Annotated[int, Field(ge=1, le=5)]


class ResponseIn(BaseModel):
    speed: Score = Field(description="신속성: how fast (1-5)")
    kindness: Score = Field(description="친절성: how kind (1-5)")
    result: Score = Field(description="처리결과: the result (1-5)")
    overall: Score = Field(description="종합 만족도: overall (1-5)")
    text: str | None = Field(
        None,
        max_length=domain.MAX_TEXT,
        description="Free text; kept in the survey store only, never published on a topic",
    )

    def answers(self) -> Answers:
        return Answers(
            speed=self.speed, kindness=self.kindness, result=self.result, overall=self.overall, text=self.text
        )


class FollowupIn(BaseModel):
    note: str = Field(min_length=1, max_length=domain.MAX_NOTE, description="What was done about the low score")


class ActionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    department: str | None = Field(None, max_length=100)


class ActionPatch(BaseModel):
    status: Literal["published"]
    url: str | None = Field(None, max_length=500, description="Where the improvement was published")


READERS = [auth.requires(*auth.READERS)]
OFFICE = [auth.requires(*auth.OFFICE)]
LEADS = [auth.requires(*auth.LEADS)]


_MEDIA = {
    "json": MediaType.JSON,
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml; charset=utf-8",
    "png": "image/png",
}


class SurveyController(Controller):
    path = "/api/v1/surveys"
    tags = ["survey"]

    @get("/stats", guards=READERS)
    async def stats(
        self,
        request: Request[Any, Any, Any],
        surveys: Surveys,
        year: Year,
        by: Literal["department", "channel", "kind", "month"] = "department",
    ) -> dict[str, Any]:
        """Invitations, responses, response rate and mean scores per department, channel, kind or month."""
        return await surveys.statistics(by=by, year=year)

    @get("/reports/{name:str}")
    async def report(self, request: Request[Any, Any, Any], surveys: Surveys, name: str) -> Response[Any]:
        """The yearly report as ``{year}.json``, ``.csv``, ``.svg`` (the chart) or ``.png`` (the chart, when the
        optional ``charts`` extra is installed); a draft (unpublished) needs staff."""
        year_text, _, ext = name.rpartition(".")
        if ext not in _MEDIA or not year_text.isdigit() or not 2000 <= int(year_text) <= 2099:
            raise Invalid("name", "ask for <year>.json, <year>.csv, <year>.svg or <year>.png")
        year = int(year_text)
        report = await surveys.report(year)
        if report["status"] != domain.PUBLISHED and not auth.staff(request).has(*auth.READERS):
            raise DomainError("forbidden", "a draft report is for staff", 403)
        if ext == "json":
            body: Any = report
        elif ext == "csv":
            body = domain.report_csv(report)
        elif ext == "svg":
            body = await surveys.report_svg(year)
        else:
            if importlib.util.find_spec("matplotlib") is None:
                raise DomainError(
                    "not_installed",
                    "the PNG chart needs the optional 'charts' extra "
                    "(pip install 'minwon[charts]'); the SVG chart is at <year>.svg",
                    501,
                )
            body = await surveys.report_png(year)
        headers = {"Content-Disposition": f'inline; filename="survey-report-{year}.{ext}"'}
        return Response(body, media_type=_MEDIA[ext], headers=headers)

    @post("/reports/{year:int}/publish", status_code=201, guards=OFFICE)
    async def publish(self, request: Request[Any, Any, Any], surveys: Surveys, year: int) -> dict[str, Any]:
        """Publish (freeze) the year's report; the 3-month improvement deadline starts now."""
        return await surveys.publish_report(year)

    @get("/reports/{year:int}/actions", guards=READERS)
    async def actions(self, surveys: Surveys, year: int) -> dict[str, Any]:
        """Improvement actions against the year's report, each flagged overdue or late."""
        items = await surveys.actions(year)
        return {"year": year, "items": items, "overdue": sum(1 for a in items if a["overdue"])}

    @post("/reports/{year:int}/actions", status_code=201, guards=OFFICE)
    async def add_action(
        self, request: Request[Any, Any, Any], surveys: Surveys, year: int, data: ActionIn
    ) -> dict[str, Any]:
        return await surveys.add_action(
            year, title=data.title, description=data.description, department=data.department
        )

    @patch("/reports/{year:int}/actions/{action_id:str}", guards=OFFICE)
    async def publish_action(
        self, request: Request[Any, Any, Any], surveys: Surveys, year: int, action_id: str, data: ActionPatch
    ) -> dict[str, Any]:
        return await surveys.publish_action(year, action_id, url=data.url)

    @get("/followups", guards=READERS)
    async def followups(
        self,
        request: Request[Any, Any, Any],
        surveys: Surveys,
        status: Literal["open", "resolved"] = "open",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 200,
    ) -> dict[str, Any]:
        """Low scores' follow-up tasks for the team lead, each with its due date; an official outside the
        complaint office sees their own department's."""
        who = auth.staff(request)
        department = None if (who.office or who.has(auth.AUDITOR)) else (who.department or "-")
        items = await surveys.followups(status=status, department=department, limit=limit)
        return {"items": items, "overdue": sum(1 for i in items if i["overdue"])}

    @post("/followups/{receipt_no:str}/resolve", status_code=200, guards=LEADS)
    async def resolve_followup(
        self, request: Request[Any, Any, Any], surveys: Surveys, receipt_no: str, data: FollowupIn
    ) -> dict[str, Any]:
        """The team lead records what was done about a low score; it leaves the open list."""
        who = auth.staff(request)
        return await surveys.resolve_followup(
            receipt_no, note=data.note, by=who.audit(), department_check=lambda dep: auth.in_scope(who, dep)
        )

    @get("/complaints/{receipt_no:str}", guards=READERS)
    async def for_staff(self, request: Request[Any, Any, Any], surveys: Surveys, receipt_no: str) -> dict[str, Any]:
        """A complaint's survey with the citizen's free text (staff only)."""
        return await surveys.for_staff(receipt_no)

    @get("/{token:str}")
    async def show(self, surveys: Surveys, token: str) -> dict[str, Any]:
        """The survey behind a link: 401 for a bad signature, 404 unknown; answered or expired are shown."""
        return await surveys.show(token)

    @post("/{token:str}", status_code=201)
    async def answer(self, surveys: Surveys, token: str, data: ResponseIn) -> dict[str, Any]:
        """Answer once: 401 bad signature, 409 already answered, 410 expired."""
        survey = await surveys.respond(token, data.answers())
        return {"survey_id": survey.survey_id, "status": survey.status, "responded_at": survey.responded_at}


def routes(surveys: Surveys) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[SurveyController],
            dependencies={"surveys": Provide(lambda: surveys, sync_to_thread=False, use_cache=True)},
        )
    ]
