"""What every page needs: the language, the signed-in official, CSRF, the API client and
the Jinja2 templates (rendered here, so the front is a plain Router list any app can mount)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import jinja2
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie

from minwon import auth
from minwon.settings import Settings
from services.web import access, i18n
from services.web.access import Staff
from services.web.accounts import Accounts, open_store
from services.web.api import Api
from services.web.auth import Directory, Signer, new_nonce
from services.web.oidc import OidcLogin, ProviderStaff
from services.web.settings import WebSettings, api_base

HERE = Path(__file__).resolve().parent
KST = ZoneInfo("Asia/Seoul")
SESSION_COOKIE = "minwon_session"
CSRF_COOKIE = "minwon_csrf"
LANG_COOKIE = "minwon_lang"
OIDC_STATE_COOKIE = "minwon_oidc_state"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class WebError(Exception):
    """Render the error page with ``status`` and the message ``key``."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


class SignIn(Exception):
    """Not signed in: go to the sign-in page, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def kst(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO instant as Seoul local time."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        return instant.strftime(fmt)
    return instant.astimezone(KST).strftime(fmt)


def instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=KST)


@dataclass
class Page:
    """One request's view of the visitor."""

    request: Request[Any, Any, Any]
    lang: str
    nonce: str
    staff: Staff | None
    signer: Signer
    cookies: list[Cookie] = field(default_factory=list)
    here: str | None = None
    """The GET page a posted form's result belongs to (for the language switch)."""

    @property
    def csrf(self) -> str:
        return self.signer.csrf(self.nonce, self.staff.id if self.staff else "")

    def t(self, key: str) -> str:
        return i18n.t(self.lang, key)

    def label(self, group: str, code: Any) -> str:
        return i18n.label(self.lang, group, code)

    def period(self, value: Any) -> str:
        return i18n.period(self.lang, value)

    def breach_reason(self, value: Any) -> str:
        return i18n.breach_reason(self.lang, value)

    def routing_reason(self, assignment: Any) -> str:
        return i18n.routing_reason(self.lang, assignment)

    def field_name(self, field: Any) -> str:
        return i18n.field_name(self.lang, field)

    def api_error(self, error: Any) -> str:
        return i18n.api_error(self.lang, error)

    def lang_url(self, lang: str) -> str:
        get = self.request.method == "GET" and self.here is None
        params = {k: v for k, v in self.request.query_params.items() if k != "lang"} if get else {}
        params["lang"] = lang
        return f"{self.here or self.request.url.path or '/'}?{urlencode(params)}"


class Web:
    """Built once by :func:`services.web.app.routes`; no connection is opened until a page asks."""

    def __init__(
        self,
        settings: Settings,
        own: WebSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        accounts: Accounts | None = None,
    ) -> None:
        self.settings = settings
        self.own = own or WebSettings()
        self.base_url = api_base(settings, self.own)
        self.verifier = auth.verifier_from(settings)
        self.directory = Directory({})
        """The built-in accounts, as :meth:`refresh_directory` last read them from the store."""
        self._accounts = accounts
        self._directory_read = float("-inf")
        self._accounts_lock = asyncio.Lock()
        self.oidc = (
            OidcLogin(settings.oidc_issuer, self.own.oidc_client_id, self.verifier) if settings.oidc_issuer else None
        )
        """Sign-in with the city's provider (``MINWON_OIDC_ISSUER``), instead of the built-in accounts."""
        self.signer = Signer(self.own.session_secret)
        self.portal = json.loads(self.own.portal_file.read_text("utf-8"))
        self.transport = transport
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["kst"] = kst
        self.templates.globals["new_key"] = lambda: str(uuid.uuid4())

    # ---------------------------------------------------------------- the visitor

    def page(self, request: Request[Any, Any, Any]) -> Page:
        cookies: list[Cookie] = []
        asked = request.query_params.get("lang")
        if asked is not None:
            lang = i18n.pick(asked)
            cookies.append(self._cookie(LANG_COOKIE, lang, max_age=365 * 86400))
        else:
            lang = i18n.pick(request.cookies.get(LANG_COOKIE))
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        if len(nonce) < 16:
            nonce = new_nonce()
            cookies.append(self._cookie(CSRF_COOKIE, nonce))
        session = self.signer.read_session(request.cookies.get(SESSION_COOKIE), now=time.time())
        staff: Staff | None = None
        if session is not None:
            staff = self.oidc.staff(session.sub) if self.oidc else self.directory.get(session.sub)
        return Page(request=request, lang=lang, nonce=nonce, staff=staff, signer=self.signer, cookies=cookies)

    def staff_page(self, request: Request[Any, Any, Any]) -> tuple[Page, Staff]:
        page = self.page(request)
        if page.staff is None:
            path = request.url.path
            query = request.url.query
            raise SignIn(f"{path}?{query}" if query and request.method == "GET" else path)
        return page, page.staff

    async def form(self, page: Page) -> dict[str, Any]:
        """The posted form, after its CSRF token is checked."""
        form = await page.request.form()
        data = {k: form.getall(k) if len(form.getall(k)) > 1 else form.get(k) for k in form.keys()}
        token = data.get("csrf")  # one text field; twice posted or a file is no token
        if not self.signer.check_csrf(
            token if isinstance(token, str) else None,
            page.request.cookies.get(CSRF_COOKIE),
            page.staff.id if page.staff else "",
        ):
            raise WebError(403, "error.csrf")
        return data

    def _cookie(self, key: str, value: str, *, max_age: int | None = None) -> Cookie:
        return Cookie(
            key=key,
            value=value,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.own.secure_cookies,
            max_age=max_age,
        )

    def session_cookie(self, staff: Staff) -> Cookie:
        """Names the account (built-in) or the server-side tokens (the provider's sign-in)."""
        ttl = self.own.session_hours * 3600
        subject = staff.session_id if isinstance(staff, ProviderStaff) else staff.id
        return self._cookie(SESSION_COOKIE, self.signer.session(subject, now=time.time(), ttl=ttl), max_age=int(ttl))

    # ---------------------------------------------------------------- the built-in accounts

    async def accounts(self) -> Accounts:
        """The built-in accounts' store, opened on first use; on the embedded backend an empty store
        gets the sample accounts of ``MINWON_WEB_STAFF_FILE`` (never in production)."""
        async with self._accounts_lock:
            if self._accounts is None:
                accounts = Accounts(open_store(self.settings))
                if not self.settings.production:
                    await accounts.load_samples(self.own.staff_file)
                self._accounts = accounts
        return self._accounts

    async def refresh_directory(self, *, force: bool = False) -> None:
        """Re-read the accounts (at most every ``MINWON_WEB_DIRECTORY_SECONDS``): a disabled account's
        session ends at the next refresh, and with it the five-minute tokens minted for it."""
        if self.oidc is not None:
            return
        now = time.monotonic()
        if not force and now - self._directory_read < self.own.directory_seconds:
            return
        self.directory.replace(await (await self.accounts()).list())
        self._directory_read = now

    def oidc_state_cookie(self, state: str) -> Cookie:
        """Binds a sign-in at the provider to the browser that started it (empty: cleared)."""
        return self._cookie(OIDC_STATE_COOKIE, state, max_age=600 if state else 0)

    def clear_session_cookie(self) -> Cookie:
        return self._cookie(SESSION_COOKIE, "", max_age=0)

    # ---------------------------------------------------------------- the services

    @asynccontextmanager
    async def api(self, staff: Staff | None = None) -> AsyncIterator[Api]:
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self.own.api_timeout_seconds, transport=self.transport
        ) as client:
            yield Api(
                client,
                staff_token=await self.bearer_for(staff) if staff else "",
                actor=staff.id if staff else None,
                concurrency=self.own.api_concurrency,
            )

    async def bearer_for(self, staff: Staff) -> str:
        """The official's bearer token: their own access token from the provider (refreshed when due),
        else a five-minute token of the built-in accounts' issuer."""
        if isinstance(staff, ProviderStaff) and self.oidc is not None:
            token = await self.oidc.access_token(staff.session_id)
            if token is None:  # the provider refused the refresh: sign in again
                raise SignIn("/console/queue")
            return token
        return self.token_for(staff)

    def token_for(self, staff: Staff) -> str:
        """The signed-in official's bearer token for the services (the built-in accounts' issuer)."""
        return self.verifier.mint(
            auth.Principal(id=staff.id, name=staff.name, department=staff.department, roles=frozenset({staff.role})),
            ttl=300,
        )

    # ---------------------------------------------------------------- responses

    def render(self, page: Page, template: str, *, status: int = 200, **context: Any) -> Response[str]:
        html = self.templates.get_template(template).render(
            page=page,
            t=page.t,
            label=page.label,
            period=page.period,
            breach_reason=page.breach_reason,
            routing_reason=page.routing_reason,
            field_name=page.field_name,
            api_error=page.api_error,
            lang=page.lang,
            staff=page.staff,
            csrf=page.csrf,
            access=access,
            portal=self.portal,
            **context,
        )
        headers = dict(SECURITY_HEADERS)
        if page.staff is not None or template.startswith("console/") or status >= 400:
            headers["Cache-Control"] = "no-store"
        return Response(html, status_code=status, media_type=MediaType.HTML, headers=headers, cookies=page.cookies)

    def redirect(self, page: Page, location: str, *, cookies: list[Cookie] | None = None) -> Response[str]:
        return Response(
            "",
            status_code=303,
            headers={"Location": location, "Cache-Control": "no-store"},
            cookies=[*page.cookies, *(cookies or [])],
            media_type=MediaType.TEXT,
        )
