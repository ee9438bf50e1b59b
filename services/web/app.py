"""The web front's composition root.

``routes(settings)`` is what a host mounts: ``minwon run`` serves it beside the six services'
APIs on the same port (``apps/registry.py``); ``create_app(settings)`` serves it alone
(``minwon web``), calling the APIs at ``MINWON_WEB_API_URL``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import httpx
from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.static_files import create_static_files_router
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from minwon import telemetry
from minwon.settings import Settings, development_defaults, refuse_development_secrets
from services.web import canned, console, cooperation, department_hours, portal, search, staff_intake, statistics
from services.web.accounts import Accounts
from services.web.api import CLIENT, ApiError, ApiUnavailable
from services.web.attachments import build as attachment_routes
from services.web.pages import HERE, SignIn, Web, WebError
from services.web.settings import WebSettings

log = logging.getLogger("minwon.web")


def routes(
    settings: Settings,
    own: WebSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    accounts: Accounts | None = None,
) -> list[Any]:
    """The portal, the console and their static files, as a Router list (no connection is opened here:
    the built-in accounts' store opens on the first page)."""
    web = Web(settings, own, transport=transport, accounts=accounts)

    def error_page(request: Request[Any, Any, Any], status: int, key: str) -> Response[str]:
        page = web.page(request)
        return web.render(page, "error.html.j2", status=status, message_key=key)

    def on_web_error(request: Request[Any, Any, Any], exc: WebError) -> Response[str]:
        return error_page(request, exc.status, exc.key)

    def on_sign_in(request: Request[Any, Any, Any], exc: SignIn) -> Response[str]:
        return web.redirect(web.page(request), f"/console/login?{urlencode({'next': exc.next_path})}")

    def on_unavailable(request: Request[Any, Any, Any], exc: ApiUnavailable) -> Response[str]:
        log.warning("api unavailable", extra={"error": str(exc)})
        return error_page(request, 503, "error.unavailable")

    def on_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[str]:
        log.warning("api refused", extra={"status": exc.status, "code": exc.code})
        if exc.status == 404:
            return error_page(request, 404, "error.not_found")
        if exc.status == 403:
            return error_page(request, 403, "error.forbidden")
        return error_page(request, 502, "error.unavailable")

    def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
        log.error("page failed", exc_info=exc, extra={"path_template": request.scope.get("path_template")})
        return error_page(request, 500, "error.unavailable")

    async def before_page(request: Request[Any, Any, Any]) -> None:
        CLIENT.set(request.client.host if request.client else None)  # passed on to the services
        await web.refresh_directory()  # a disabled account is signed out here, within seconds

    pages = Router(
        path="/",
        route_handlers=[
            *portal.build(web),
            *attachment_routes(web),
            *console.build(web),
            *canned.build(web),
            *staff_intake.build(web),
            *department_hours.build(web),
            *search.build(web),
            *statistics.build(web),
            *cooperation.build(web),
        ],
        before_request=before_page,
        exception_handlers={
            WebError: on_web_error,
            SignIn: on_sign_in,
            ApiUnavailable: on_unavailable,
            ApiError: on_api_error,
            Exception: on_unexpected,
        },
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static/web", directories=[HERE / "static"], name="web-static", include_in_schema=False
    )
    return [pages, static]


def create_app(settings: Settings, own: WebSettings | None = None) -> Litestar:
    """The web front alone, for ``minwon web`` (the services run elsewhere). In production it refuses to
    start with a development secret, as the services do: the signing key of its tokens for the built-in
    accounts and its session secret."""
    own = own or WebSettings()
    refuse_development_secrets(settings, fields=("auth_secret",), also=development_defaults(own))

    @get("/healthz", media_type=MediaType.JSON, include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/metrics", include_in_schema=False)
    async def metrics() -> Response[bytes]:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Litestar(
        route_handlers=[healthz, metrics, *routes(settings, own)],
        logging_config=None,
        debug=False,
        openapi_config=None,
        middleware=[telemetry.http_middleware(lambda _: "web")],
    )
