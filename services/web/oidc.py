"""Console sign-in with the city's OpenID Connect provider (``MINWON_OIDC_ISSUER``).

The authorization code flow with PKCE (S256), through Authlib: ``/console/login`` sends the
browser to the provider with a fresh ``state``, ``nonce`` and code verifier (kept here, keyed
by the state, and bound to the browser by a signed cookie); ``/console/login/callback``
exchanges the code, validates the access token with :class:`minwon.auth.Verifier` (the
provider's JWKS, issuer, audience ``MINWON_OIDC_AUDIENCE``, expiry) and the ID token (the
console's client id, the nonce), and keeps the access and refresh tokens server-side, under a
random session id that the signed session cookie names. The console forwards the official's
own access token to the APIs and refreshes it (refresh tokens are single-use: one refresh at a
time per session) when it is about to expire; a refused refresh signs the official out.

The tokens live in this process's memory: a restart, or a second instance behind a balancer
without sticky sessions, asks the official to sign in again (the provider's own session makes
that one redirect).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from minwon import auth
from services.web import access
from services.web.access import Staff

PENDING_SECONDS = 600
"""How long a started sign-in may take at the provider."""
REFRESH_MARGIN = 30
"""Refresh an access token this many seconds before it expires."""

# The console role an official gets from their provider roles, strongest first.
CONSOLE_ROLES = (
    (auth.ADMIN, access.ADMIN),
    (auth.COMPLAINT_OFFICE, access.COMPLAINT_OFFICE),
    (auth.SECTION_CHIEF, access.TEAM_LEAD),
    (auth.TEAM_LEAD, access.TEAM_LEAD),
    (auth.HANDLER, access.HANDLER),
    (auth.CALL_CENTRE, access.CALL_CENTRE),
)


def _payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


class SignInFailed(Exception):
    """The provider's answer does not sign anyone in."""


@dataclass(frozen=True)
class ProviderStaff(Staff):
    """An official signed in through the provider; ``session_id`` names their tokens here."""

    session_id: str = field(default="", compare=False)


def console_staff(who: auth.Principal, session_id: str) -> ProviderStaff:
    """The console's view of a provider identity; refused when no role of theirs has a console view."""
    for provider_role, role in CONSOLE_ROLES:
        if who.has(provider_role):
            department = who.department if role in access.DEPARTMENT_ROLES else None
            if role in access.DEPARTMENT_ROLES and not department:
                raise SignInFailed(f"{who.id}: a {role} without a department")
            return ProviderStaff(id=who.id, name=who.name, role=role, department=department, session_id=session_id)
    raise SignInFailed(f"{who.id}: no role with a console view ({', '.join(sorted(who.roles)) or 'none'})")


@dataclass
class Pending:
    verifier: str
    nonce: str
    next_path: str
    redirect_uri: str
    started: float


@dataclass
class Tokens:
    staff: ProviderStaff
    access_token: str
    refresh_token: str | None
    expires_at: float
    id_token: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OidcLogin:
    """The console's client of the provider: the sign-in flow and the signed-in officials' tokens."""

    def __init__(self, issuer: str, client_id: str, verifier: auth.Verifier, *, timeout: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.verifier = verifier
        self.id_tokens = auth.Verifier(provider=auth.OidcProvider(issuer, client_id, auth.httpx_fetch(timeout)))
        self.timeout = timeout
        self._discovery: dict[str, Any] | None = None
        self.pending: dict[str, Pending] = {}
        self.sessions: dict[str, Tokens] = {}

    def _client(self) -> Any:
        import authlib.deprecate  # noqa: F401 - installs its own "always" filter first

        with warnings.catch_warnings():  # Authlib prefers the httpx2 fork; httpx is what minwon uses
            warnings.filterwarnings("ignore", message="The httpx module is deprecated")
            from authlib.integrations.httpx_client import AsyncOAuth2Client
        return AsyncOAuth2Client(
            client_id=self.client_id,
            token_endpoint_auth_method="none",
            code_challenge_method="S256",
            scope="openid",
            timeout=self.timeout,
        )

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(self.issuer + "/.well-known/openid-configuration")
                response.raise_for_status()
                found = dict(response.json())
            if found.get("issuer") != self.issuer:
                raise SignInFailed("the provider's discovery document names another issuer")
            self._discovery = found
        return self._discovery

    async def start(self, *, redirect_uri: str, next_path: str, now: float) -> tuple[str, str]:
        """The provider's authorization URL and the state it will come back with."""
        self.pending = {k: p for k, p in self.pending.items() if now - p.started < PENDING_SECONDS}
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(64)
        endpoint = (await self.discovery())["authorization_endpoint"]
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=state, code_verifier=verifier, nonce=nonce, redirect_uri=redirect_uri
            )
        self.pending[state] = Pending(verifier, nonce, next_path, redirect_uri, now)
        return url, state

    async def finish(self, *, state: str, code: str, issuer: str | None, now: float) -> tuple[ProviderStaff, str]:
        """Exchange the code; the signed-in official and the page they were going to."""
        pending = self.pending.pop(state, None)
        if pending is None or now - pending.started >= PENDING_SECONDS:
            raise SignInFailed("an unknown or expired sign-in")
        if issuer is not None and issuer != self.issuer:  # RFC 9207
            raise SignInFailed("the answer names another issuer")
        endpoint = (await self.discovery())["token_endpoint"]
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.verifier,
                    redirect_uri=pending.redirect_uri,
                )
            except Exception as exc:  # Authlib raises its OAuthError, httpx its own
                raise SignInFailed(f"the code exchange failed: {type(exc).__name__}") from exc
        await self._check_id_token(token.get("id_token"), pending.nonce)
        session_id = secrets.token_urlsafe(24)
        tokens = await self._tokens(token, session_id, now)
        tokens.id_token = token.get("id_token")
        self.sessions[session_id] = tokens
        return tokens.staff, pending.next_path

    async def _check_id_token(self, id_token: str | None, nonce: str) -> None:
        if not id_token:
            raise SignInFailed("no ID token")
        try:
            await self.id_tokens.verify(id_token)  # signature, issuer, audience (this client), expiry
        except auth.Unauthenticated as exc:
            raise SignInFailed(f"ID token: {exc}") from exc
        claims = _payload(id_token)  # its signature was just checked
        if not secrets.compare_digest(str(claims.get("nonce") or ""), nonce):
            raise SignInFailed("ID token: another nonce")

    async def _tokens(self, token: dict[str, Any], session_id: str, now: float) -> Tokens:
        access_token = str(token.get("access_token") or "")
        try:
            who = await self.verifier.verify(access_token)
        except auth.Unauthenticated as exc:
            raise SignInFailed(f"access token: {exc}") from exc
        expires_at = float(token.get("expires_at") or now + float(token.get("expires_in") or 60))
        return Tokens(console_staff(who, session_id), access_token, token.get("refresh_token"), expires_at)

    def staff(self, session_id: str) -> ProviderStaff | None:
        tokens = self.sessions.get(session_id)
        return tokens.staff if tokens else None

    async def access_token(self, session_id: str, *, now: float | None = None) -> str | None:
        """The official's access token, refreshed when about to expire; None: signed out."""
        tokens = self.sessions.get(session_id)
        if tokens is None:
            return None
        async with tokens.lock:  # refresh tokens are single-use
            moment = now if now is not None else time.time()
            if tokens.expires_at - REFRESH_MARGIN > moment:
                return tokens.access_token
            if not tokens.refresh_token:
                self.sessions.pop(session_id, None)
                return None
            endpoint = (await self.discovery())["token_endpoint"]
            async with self._client() as client:
                try:
                    token = await client.refresh_token(endpoint, refresh_token=tokens.refresh_token)
                    fresh = await self._tokens(dict(token), session_id, moment)
                except Exception:  # refused (revoked, disabled, expired): sign out
                    self.sessions.pop(session_id, None)
                    return None
            if fresh.refresh_token is None:
                fresh.refresh_token = tokens.refresh_token
            tokens.staff, tokens.access_token = fresh.staff, fresh.access_token
            tokens.refresh_token, tokens.expires_at = fresh.refresh_token, fresh.expires_at
            return tokens.access_token

    async def sign_out(self, session_id: str, *, return_to: str) -> str | None:
        """Forget the official's tokens; the provider's logout URL that ends its session too (else the
        next sign-in would pass through the provider without asking), coming back to ``return_to``."""
        tokens = self.sessions.pop(session_id, None)
        endpoint = (await self.discovery()).get("end_session_endpoint")
        if tokens is None or not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": return_to}
        if tokens.id_token:
            query["id_token_hint"] = tokens.id_token
        return f"{endpoint}?{urlencode(query)}"
