"""The HTTP side of the agencies' subscriptions, under ``/api/v1/subscriptions`` (administrators register
agencies, agencies manage their own subscriptions with their API key), and the public topic's AsyncAPI
document at ``/asyncapi`` and ``/asyncapi.yaml``. The rules and the store are in
:mod:`services.notification.agencies.subscriptions`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, Router, delete, get, post
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter

from minwon import auth
from services.notification.agencies import public
from services.notification.agencies.subscriptions import AgencyIn, SubscriptionIn, Subscriptions, subscription_view

ADMIN = [auth.requires(auth.ADMIN, auth.COMPLAINT_OFFICE)]


async def _agency(request: Request[Any, Any, Any], subs: Subscriptions) -> str:
    key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    return await subs.authenticate(key.strip())


class SubscriptionController(Controller):
    path = "/api/v1/subscriptions"
    tags = ["subscriptions"]

    @post("/agencies", status_code=201, guards=ADMIN)
    async def create_agency(
        self, data: AgencyIn, request: Request[Any, Any, Any], subs: Subscriptions
    ) -> dict[str, Any]:
        """Register an agency (staff). The API key is shown in this answer only."""
        return await subs.create_agency(code=data.code, name=data.name)

    @get("/agencies", guards=ADMIN)
    async def list_agencies(self, request: Request[Any, Any, Any], subs: Subscriptions) -> dict[str, Any]:
        return {"items": await subs.list_agencies()}

    @post("/agencies/{code:str}/key", status_code=200, guards=ADMIN)
    async def rotate_key(self, code: str, request: Request[Any, Any, Any], subs: Subscriptions) -> dict[str, Any]:
        """Issue a new API key for an agency (staff); the old key stops working at once."""
        return await subs.rotate_key(code=code)

    @post("/", status_code=201)
    async def create(
        self, data: SubscriptionIn, request: Request[Any, Any, Any], subs: Subscriptions
    ) -> dict[str, Any]:
        """Subscribe (agency). A webhook's signing secret is shown in this answer only."""
        return await subs.create(await _agency(request, subs), data)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], subs: Subscriptions) -> dict[str, Any]:
        return {"items": await subs.list(await _agency(request, subs))}

    @get("/{subscription_id:str}")
    async def show(self, subscription_id: str, request: Request[Any, Any, Any], subs: Subscriptions) -> dict[str, Any]:
        return subscription_view(await subs.get(await _agency(request, subs), subscription_id))

    @delete("/{subscription_id:str}", status_code=200)
    async def remove(
        self, subscription_id: str, request: Request[Any, Any, Any], subs: Subscriptions
    ) -> dict[str, Any]:
        """Stop a subscription; its deliveries not yet made are cancelled."""
        return await subs.delete(await _agency(request, subs), subscription_id)

    @post("/{subscription_id:str}/replay", status_code=202)
    async def replay(
        self,
        subscription_id: str,
        request: Request[Any, Any, Any],
        subs: Subscriptions,
        from_: Annotated[str, QueryParameter(name="from", min_length=10, max_length=64)],
    ) -> dict[str, Any]:
        """Re-deliver every matching event since ``from`` (ISO 8601) with its original id, marked
        ``X-Minwon-Replay: true``; undelivered originals of those events are superseded."""
        return await subs.replay(await _agency(request, subs), subscription_id, from_)

    @get("/{subscription_id:str}/deliveries")
    async def deliveries(
        self,
        subscription_id: str,
        request: Request[Any, Any, Any],
        subs: Subscriptions,
        status: str | None = None,
        replay: bool | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """The subscription's delivery records, newest first."""
        agency = await _agency(request, subs)
        return {
            "subscription_id": subscription_id,
            "items": await subs.deliveries(agency, subscription_id, status=status, replay=replay, limit=limit),
        }


@get("/asyncapi", media_type=MediaType.JSON, tags=["subscriptions"])
async def asyncapi_json() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the public topic (the same as docs/asyncapi.yaml)."""
    return public.asyncapi_json()


@get("/asyncapi.yaml", tags=["subscriptions"])
async def asyncapi_yaml() -> Response[str]:
    return Response(public.asyncapi_yaml(), media_type="application/yaml")


def routes(subs: Subscriptions) -> list[Any]:
    return [
        Router(
            path="/",
            route_handlers=[SubscriptionController, asyncapi_json, asyncapi_yaml],
            dependencies={
                "subs": Provide(lambda: subs, sync_to_thread=False, use_cache=True),
            },
        )
    ]
