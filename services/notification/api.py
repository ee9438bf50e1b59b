"""The notification API under ``/api/v1/notifications`` (staff only): records and deliveries,
personal data masked (``010-****-5678``); sealed texts are never returned."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Router, get
from litestar.di import Provide
from litestar.params import Parameter

from minwon import auth
from services.notification.handlers import Notifier

READERS = [auth.requires(*auth.READERS)]


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notification"]

    @get("/", guards=READERS)
    async def index(
        self,
        request: Request[Any, Any, Any],
        notifier: Notifier,
        receipt_no: Annotated[str, Parameter(min_length=1, max_length=100)],
    ) -> dict[str, Any]:
        """Every notification of a complaint (citizen and staff), oldest first, with its deliveries."""
        return {"receipt_no": receipt_no, "items": await notifier.list(receipt_no=receipt_no)}

    @get("/{notification_id:str}", guards=READERS)
    async def show(self, notification_id: str, request: Request[Any, Any, Any], notifier: Notifier) -> dict[str, Any]:
        return await notifier.get(notification_id)


def routes(notifier: Notifier) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[NotificationController],
            dependencies={
                "notifier": Provide(lambda: notifier, sync_to_thread=False, use_cache=True),
            },
        )
    ]
