"""Who is calling: staff identity from bearer JWTs, checked on every route before anything else.

- **Staff** carry a bearer JWT: from the city's OpenID Connect provider (validated against its
  JWKS: signature, issuer, audience, expiry) or, where a county runs no provider, from the
  built-in accounts (``minwon staff add``), signed by this deployment's own key. Either way the
  claims become a :class:`Principal`: id, name, department, roles.
- **Citizens** need no account: the routes they use are on the public allow-list and check the
  receipt number with its check code (or a signed survey token) themselves.
- **Agencies** use their own API keys, checked by the agency routes (listed in :data:`AGENCY`).

:class:`AuthMiddleware` runs on every HTTP request before routing, parsing and validation: a
request that is not on the allow-list and carries no valid identity gets 401. Roles and
department scope are then checked per route by :func:`requires` (403).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

log = logging.getLogger("minwon.auth")

# The roles, as the provider's ``roles`` claim (or realm roles) names them. docs/security.md has the table.
HANDLER = "handler"
TEAM_LEAD = "team_lead"
SECTION_CHIEF = "section_chief"
COMPLAINT_OFFICE = "complaint_office"
PRIVACY_OFFICER = "privacy_officer"
ADMIN = "admin"
CALL_CENTRE = "call_centre"
AUDITOR = "auditor"
ROLES = (HANDLER, TEAM_LEAD, SECTION_CHIEF, COMPLAINT_OFFICE, PRIVACY_OFFICER, ADMIN, CALL_CENTRE, AUDITOR)

STAFF = ROLES
"""Any official."""
CASEWORK = (HANDLER, TEAM_LEAD, SECTION_CHIEF, COMPLAINT_OFFICE, ADMIN)
"""Officials who act on complaints."""
INTAKE = (CALL_CENTRE, HANDLER, TEAM_LEAD, SECTION_CHIEF, COMPLAINT_OFFICE, ADMIN)
"""Officials who register complaints for citizens (counter, 120 call centre, mail)."""
LEADS = (TEAM_LEAD, SECTION_CHIEF, COMPLAINT_OFFICE, ADMIN)
"""Officials who approve and manage a department's work."""
OFFICE = (COMPLAINT_OFFICE, ADMIN)
"""The complaint office (민원과): every department's complaints."""
READERS = (*CASEWORK, AUDITOR)
"""Officials who may read (the auditor reads, never writes)."""

LOCAL_ISSUER = "minwon"
LOCAL_AUDIENCE = "minwon"

# --------------------------------------------------------------------------
# The one public allow-list. Everything else needs an identity.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]
    path: str
    why: str
    query: str | None = None
    """A query parameter the request must carry to be on this rule (the citizen's ``code``)."""

    def matches(self, method: str, path: str, query: str) -> bool:
        if method not in self.methods or not re.fullmatch(rf"(?:{self.path})/?", path):
            return False
        return self.query is None or re.search(rf"(^|&){re.escape(self.query)}=[^&]", query) is not None


_ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_READ = frozenset({"GET", "HEAD"})

PUBLIC: tuple[Rule, ...] = (
    Rule(_READ, r"/healthz|/readyz|/metrics", "health and metrics (scraped inside the cluster)"),
    Rule(_READ, r"/schema(/.*)?|/asyncapi(\.yaml)?", "the OpenAPI and AsyncAPI documents"),
    Rule(
        frozenset({"POST"}),
        r"/api/v1/complaints",
        "a citizen files online; staff channels and past received_at need a staff identity (intake checks)",
    ),
    Rule(_READ, r"/api/v1/complaints/[^/]+", "a citizen looks up a complaint with its check code", "code"),
    Rule(
        frozenset({"POST"}),
        r"/api/v1/complaints/[^/]+/(confirm|withdraw)",
        "a citizen confirms an oral complaint or withdraws one, with the check code (intake checks it)",
        "code",
    ),
    Rule(
        frozenset({"GET", "HEAD", "POST"}),
        r"/api/v1/complaints/[^/]+/attachments(/[^/]+(/thumbnail)?)?",
        "a citizen adds files to their complaint and reads them (and the answer's) with the check code",
        "code",
    ),
    Rule(_READ, r"/api/v1/compensations/charter", "the charter's compensation rules"),
    Rule(
        _READ,
        r"/api/v1/deadlines/(statutory-types|statistics/public)",
        "the statutory-type catalogue (민원처리기준표) for the filing forms; the published processing statistics "
        "(counts only, no person)",
    ),
    Rule(_READ, r"/api/v1/surveys/reports/[^/]+", "a published yearly survey report (drafts need staff: checked)"),
    Rule(
        frozenset({"GET", "HEAD", "POST"}),
        r"/api/v1/surveys/(?!stats$|complaints/|reports/|followups$)[^/]+",
        "a citizen answers a survey with its signed token",
    ),
    Rule(
        frozenset({"GET", "HEAD", "POST"}),
        r"/open311/v2/(services\.json|services/[^/]+|requests\.json|requests/[^/]+)",
        "Open311: discovery, public request views, filing (no personal data returned)",
    ),
    Rule(
        frozenset({"GET", "HEAD", "POST"}),
        r"/|/complaints(/new)?|/lookup(/attachments(/[^/]+)?)?|/statistics|/survey/[^/]+|/static/.+|/favicon\.ico|/console/log(in|out)(/.*)?",
        "the citizen portal, static files and the console's sign-in",
    ),
)

SESSION = Rule(_ANY, r"/console(/.*)?", "console pages: the signed session cookie, else a redirect to sign-in")
"""Pages of the staff console: the web front checks its session on each (services/web)."""

AGENCY = Rule(
    frozenset({"GET", "HEAD", "POST", "DELETE"}),
    r"/api/v1/subscriptions(/(?!agencies(/|$))[^/]+(/replay|/deliveries)?)?",
    "agencies, with their own API key (checked by the route)",
)
"""Routes that agencies call with their own API key instead of a staff token."""


def _split(path_qs: str) -> tuple[str, str]:
    path, _, query = path_qs.partition("?")
    return path, query


def is_public(method: str, path: str) -> bool:
    path, query = _split(path)
    return any(rule.matches(method, path, query) for rule in PUBLIC)


def is_agency(method: str, path: str) -> bool:
    return AGENCY.matches(method, *_split(path))


def is_session(method: str, path: str) -> bool:
    return SESSION.matches(method, *_split(path))


# --------------------------------------------------------------------------
# The principal
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """An official, as their token names them."""

    id: str
    name: str
    department: str | None
    roles: frozenset[str]
    issuer: str = LOCAL_ISSUER

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def office(self) -> bool:
        """The complaint office (or an administrator) sees every department."""
        return self.has(*OFFICE)

    def may_see(self, department: str | None) -> bool:
        """Department scope: an official acts on their own department's complaints only."""
        return self.office or self.has(AUDITOR) or (department is not None and department == self.department)

    def audit(self) -> dict[str, Any]:
        """Who, for an audit record or a timeline entry."""
        return {"id": self.id, "name": self.name, "department": self.department, "roles": sorted(self.roles)}

    @classmethod
    def from_claims(cls, claims: dict[str, Any], issuer: str) -> Principal:
        roles = claims.get("roles")
        if roles is None:  # Keycloak's default place for realm roles
            roles = (claims.get("realm_access") or {}).get("roles", [])
        if isinstance(roles, str):
            roles = roles.split()
        known = frozenset(r for r in roles if r in ROLES)
        sub = str(claims.get("preferred_username") or claims.get("sub") or "")
        if not sub:
            raise Unauthenticated("the token names no one")
        department = claims.get("department")
        if isinstance(department, list):
            department = department[0] if department else None
        return cls(
            id=sub, name=str(claims.get("name") or sub), department=department or None, roles=known, issuer=issuer
        )


class Unauthenticated(Exception):
    """No identity, or one that does not hold."""


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------


@dataclass
class OidcProvider:
    """A city's OpenID Connect provider: its discovery document and JWKS, fetched and cached."""

    issuer: str
    audience: str
    fetch: Callable[[str], Any]
    """``async (url) -> dict``: a JSON GET (httpx in production, passed in for tests)."""
    jwks_ttl: float = 300.0
    _keys: KeySet | None = None
    _fetched: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def keys(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            if refresh or self._keys is None or time.monotonic() - self._fetched > self.jwks_ttl:
                discovery = await self.fetch(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
                if discovery.get("issuer") != self.issuer:
                    raise Unauthenticated("the provider's discovery document names another issuer")
                self._keys = KeySet.import_key_set(await self.fetch(discovery["jwks_uri"]))
                self._fetched = time.monotonic()
            return self._keys


@dataclass
class Verifier:
    """Validates bearer tokens (the city's provider, the local issuer, or both) into principals."""

    local_key: str | None = None
    """The built-in accounts' signing secret (HS256); ``None``: no local accounts."""
    provider: OidcProvider | None = None
    leeway: int = 30
    local_ttl: int = 3600

    def _local(self) -> OctKey:
        assert self.local_key is not None
        return OctKey.import_key(self.local_key.encode())

    def mint(self, principal: Principal, *, now: float | None = None, ttl: int | None = None) -> str:
        """A token of the local issuer for a built-in account (signed with joserfc, HS256)."""
        if self.local_key is None:
            raise RuntimeError("no local signing key: built-in accounts are off")
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": principal.id,
            "preferred_username": principal.id,
            "name": principal.name,
            "department": principal.department,
            "roles": sorted(principal.roles),
            "iat": issued,
            "exp": issued + (ttl or self.local_ttl),
        }
        return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._local(), algorithms=["HS256"])

    async def verify(self, token: str) -> Principal:
        try:
            header = json.loads(_b64decode(token.split(".")[0]))
        except (ValueError, IndexError) as exc:
            raise Unauthenticated("not a JWT") from exc
        alg = header.get("alg")
        if alg == "HS256" and self.local_key is not None:
            return self._check(token, self._local(), ["HS256"], LOCAL_ISSUER, LOCAL_AUDIENCE)
        if self.provider is not None and alg in ("RS256", "ES256", "PS256", "EdDSA"):
            keys = await self.provider.keys()
            kid = header.get("kid")
            if kid and kid not in {k.kid for k in keys.keys}:
                keys = await self.provider.keys(refresh=True)  # the provider rotated its keys
            return self._check(token, keys, [alg], self.provider.issuer, self.provider.audience)
        raise Unauthenticated("a token of an unknown issuer or algorithm")

    def _check(self, token: str, key: Any, algorithms: list[str], issuer: str, audience: str) -> Principal:
        try:
            decoded = jwt.decode(token, key, algorithms=algorithms)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=self.leeway, iss={"essential": True, "value": issuer}, exp={"essential": True}
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise Unauthenticated(f"token rejected: {type(exc).__name__}") from exc
        aud = claims.get("aud")
        audiences = set(aud) if isinstance(aud, list) else {aud} if aud else set()
        if audience not in audiences and claims.get("azp") != audience:
            raise Unauthenticated("token for another audience")
        return Principal.from_claims(claims, issuer)


def _b64decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --------------------------------------------------------------------------
# The middleware and the route guard
# --------------------------------------------------------------------------


def bearer(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class AuthMiddleware:
    """On every HTTP request, before routing and validation: resolve the bearer token into
    ``scope["principal"]``; refuse with 401 what is neither public, nor an agency route, nor
    carried by a valid identity."""

    def __init__(self, app: ASGIApp, verifier: Verifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = cast("HTTPScope", scope)  # what the check above established
        method = scope["method"]
        path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
        token = bearer(scope.get("headers", ()))
        principal: Principal | None = None
        agency = is_agency(method, path)
        if token is not None and not (agency and token.count(".") != 2):  # agency keys are not JWTs
            try:
                principal = await self.verifier.verify(token)
            except Unauthenticated as exc:
                await _refuse(send, 401, "unauthenticated", str(exc))
                return
        scope["principal"] = principal  # type: ignore[typeddict-unknown-key]
        if principal is None and not (agency or is_public(method, path) or is_session(method, path)):
            await _refuse(send, 401, "unauthenticated", "sign in: this route needs a staff identity")
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="minwon"'))
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    done: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(done)


def principal_of(connection: Any) -> Principal | None:
    return connection.scope.get("principal")


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A Litestar guard: the caller is an official holding one of ``roles`` (403 otherwise)."""
    from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

    wanted = tuple(roles) or STAFF

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        who = principal_of(connection)
        if who is None:
            raise NotAuthorizedException("sign in: this route needs a staff identity")
        if not who.has(*wanted):
            raise PermissionDeniedException(f"needs one of the roles: {', '.join(wanted)}")

    guard.roles = wanted  # type: ignore[attr-defined] # read by the route-coverage test and docs
    return guard


def staff(connection: Any) -> Principal:
    """The official calling a staff route (the guard has run, so there is one)."""
    who = principal_of(connection)
    if who is None:
        from litestar.exceptions import NotAuthorizedException

        raise NotAuthorizedException("sign in: this route needs a staff identity")
    return who


def in_scope(who: Principal, department: str | None) -> None:
    """403 unless ``who`` may act on a complaint of ``department``."""
    if not who.may_see(department):
        from litestar.exceptions import PermissionDeniedException

        raise PermissionDeniedException("this complaint belongs to another department")


def httpx_fetch(timeout: float = 5.0) -> Callable[[str], Any]:
    async def fetch(url: str) -> Any:
        import httpx

        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()

    return fetch


def verifier_from(settings: Any) -> Verifier:
    """The verifier a deployment's settings describe (``MINWON_OIDC_*``, ``MINWON_AUTH_SECRET``)."""
    provider = None
    if getattr(settings, "oidc_issuer", None):
        provider = OidcProvider(settings.oidc_issuer, settings.oidc_audience, httpx_fetch())
    return Verifier(local_key=getattr(settings, "auth_secret", None) or None, provider=provider)


__all__: Sequence[str] = (
    "ROLES",
    "PUBLIC",
    "AGENCY",
    "SESSION",
    "Principal",
    "Verifier",
    "OidcProvider",
    "AuthMiddleware",
    "requires",
    "staff",
    "in_scope",
    "is_public",
    "is_agency",
    "verifier_from",
    "Unauthenticated",
)
