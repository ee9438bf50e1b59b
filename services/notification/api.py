"""The notification API under ``/api/v1/notifications`` (staff only): records and deliveries,
personal data masked (``010-****-5678``); sealed texts are never returned."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Router, get
from litestar.di import Provide
from litestar.params import Parameter

from minwon.errors import DomainError
from services.notification.handlers import Notifier


def _staff(request: Request[Any, Any, Any], token: str) -> None:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if given != token:
        raise DomainError("unauthorized", "staff token required (Authorization: Bearer ...)", 401)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notification"]

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        notifier: Notifier,
        staff_token: str,
        receipt_no: Annotated[str, Parameter(min_length=1, max_length=100)],
    ) -> dict[str, Any]:
        """Every notification of a complaint (citizen and staff), oldest first, with its deliveries."""
        _staff(request, staff_token)
        return {"receipt_no": receipt_no, "items": await notifier.list(receipt_no=receipt_no)}

    @get("/{notification_id:str}")
    async def show(self, notification_id: str, request: Request[Any, Any, Any], notifier: Notifier,
                   staff_token: str) -> dict[str, Any]:
        _staff(request, staff_token)
        return await notifier.get(notification_id)


def routes(notifier: Notifier, *, staff_token: str) -> list[Any]:
    return [Router(path="/", route_handlers=[NotificationController], dependencies={
        "notifier": Provide(lambda: notifier, sync_to_thread=False, use_cache=True),
        "staff_token": Provide(lambda: staff_token, sync_to_thread=False, use_cache=True),
    })]
