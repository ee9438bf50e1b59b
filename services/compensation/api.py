"""Compensation's HTTP API under ``/api/v1/compensations`` (staff only): parse, call a handler, shape the response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, Router, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from pydantic import BaseModel, Field

from minwon import auth
from minwon.errors import DomainError
from services.compensation import domain
from services.compensation.handlers import Compensation

Year = Annotated[int, Parameter(ge=2000, le=2099)]


READERS = [auth.requires(*auth.READERS)]
LEADS = [auth.requires(*auth.LEADS)]
OFFICE = [auth.requires(*auth.OFFICE)]


class WhistleblowerCaseIn(BaseModel):
    receipt_no: str = Field(min_length=1, max_length=64, description="The report's receipt number")
    complainant_ref: str = Field(
        min_length=3, max_length=64, description="Intake's pseudonymous complainant_ref (p-...); never a name"
    )
    department: str = Field(min_length=1, max_length=100, description="The paying department")
    verified: bool = Field(description="The investigation found the report true (사실로 판명)")
    recovered_amount_krw: int = Field(ge=0, description="Money recovered or levied thanks to the report")
    verified_at: datetime | None = None


class ApproveIn(BaseModel):
    approver: str = Field(min_length=1, max_length=100)


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ReverseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in this store, not on a topic)")
    code: Literal["error", "duplicate", "late_exclusion", "not_eligible", "other"] = "other"


class BudgetIn(BaseModel):
    limit_krw: int | None = Field(ge=0, description="The year's budget for the department (null: no limit)")


class CompensationController(Controller):
    path = "/api/v1/compensations"
    tags = ["compensation"]

    @get("/", guards=READERS)
    async def index(
        self,
        request: Request[Any, Any, Any],
        compensation: Compensation,
        receipt_no: Annotated[str, Parameter(min_length=1, max_length=64)],
    ) -> dict[str, Any]:
        """The ledger entries of one complaint (grants, refusals, reversals) and its breach assessment."""
        return await compensation.list(receipt_no=receipt_no)

    @get("/summary", guards=READERS)
    async def summary(self, request: Request[Any, Any, Any], compensation: Compensation, year: Year) -> dict[str, Any]:
        """Per department: count and amount granted (net of reversals), by cause; refusals; budget."""
        return await compensation.summary(year)

    @get("/charter")
    async def charter(self, compensation: Compensation) -> dict[str, Any]:
        """The rules in force (the charter file and its version)."""
        return compensation.charter.summary()

    @get("/budgets/{year:int}", guards=READERS)
    async def budgets(self, request: Request[Any, Any, Any], compensation: Compensation, year: int) -> dict[str, Any]:
        return {"year": year, "items": await compensation.budgets(year)}

    @put("/budgets/{year:int}/{department:str}", guards=OFFICE)
    async def set_budget(
        self, request: Request[Any, Any, Any], compensation: Compensation, year: int, department: str, data: BudgetIn
    ) -> dict[str, Any]:
        """Set a department's yearly budget; grants that do not fit what is left are refused."""
        if not 2000 <= year <= 2099:
            raise DomainError("invalid", "year out of range", 422, field="year")
        return (await compensation.set_budget(year, department, limit_krw=data.limit_krw)).to_doc()

    @post("/whistleblower-cases", status_code=201, guards=OFFICE)
    async def whistleblower_case(
        self, request: Request[Any, Any, Any], compensation: Compensation, data: WhistleblowerCaseIn
    ) -> Response[dict[str, Any]]:
        """A verified report of corruption: the reward from the schedule, by recovered amount."""
        entry, created = await compensation.open_whistleblower_case(
            receipt_no=data.receipt_no,
            complainant_ref=data.complainant_ref,
            department=data.department,
            verified=data.verified,
            recovered_krw=data.recovered_amount_krw,
            verified_at=data.verified_at,
        )
        return Response(domain.entry_view(entry), status_code=201 if created else 200)

    @get("/{entry_id:str}", guards=READERS)
    async def show(self, request: Request[Any, Any, Any], compensation: Compensation, entry_id: str) -> dict[str, Any]:
        return await compensation.view(entry_id)

    @post("/{entry_id:str}/approve", status_code=200, guards=LEADS)
    async def approve(
        self, request: Request[Any, Any, Any], compensation: Compensation, entry_id: str, data: ApproveIn
    ) -> dict[str, Any]:
        """Release a grant above the approval threshold (refused if the budget is spent)."""
        return domain.entry_view(await compensation.approve(entry_id, approver=data.approver))

    @post("/{entry_id:str}/reject", status_code=200, guards=LEADS)
    async def reject(
        self, request: Request[Any, Any, Any], compensation: Compensation, entry_id: str, data: RejectIn
    ) -> dict[str, Any]:
        by = auth.staff(request).id
        return domain.entry_view(await compensation.reject(entry_id, by=by, reason=data.reason))

    @post("/{entry_id:str}/reverse", status_code=201, guards=OFFICE)
    async def reverse(
        self, request: Request[Any, Any, Any], compensation: Compensation, entry_id: str, data: ReverseIn
    ) -> dict[str, Any]:
        """Correct a grant with a reversal entry; the grant itself is never edited."""
        by = auth.staff(request).id
        return domain.entry_view(await compensation.reverse(entry_id, reason=data.reason, code=data.code, by=by))


def routes(compensation: Compensation) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[CompensationController],
            dependencies={"compensation": Provide(lambda: compensation, sync_to_thread=False, use_cache=True)},
        )
    ]
