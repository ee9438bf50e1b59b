"""Staff identity against a real OpenID Connect provider (Keycloak with deploy/keycloak/realm-minwon.json).

What the app relies on, checked at the source: the discovery document and JWKS of the issuer; access
tokens signed by a key of that JWKS (checked with joserfc), naming the issuer, the ``minwon-api``
audience, the client (``azp``), a five-minute lifetime and the staff claims (``preferred_username`` = the
staff id, ``name``, ``department``, a flat ``roles`` list); a tampered, foreign or expired token refused;
the console's authorization code flow with PKCE (S256) driven end to end with httpx; the password grant
only on the test client.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError
from joserfc.jwk import KeySet

from tests._infra import Identity, StaffUser

ROLES = (
    "handler",
    "team_lead",
    "section_chief",
    "complaint_office",
    "privacy_officer",
    "admin",
    "call_centre",
    "auditor",
)
ACCESS_TOKEN_LIFESPAN = 300
LEEWAY = 30  # seconds of clock skew a validator allows


# ------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def discovery(identity: Identity, client: httpx.Client) -> dict[str, Any]:
    response = client.get(identity.discovery_url)
    response.raise_for_status()
    return dict(response.json())


@pytest.fixture(scope="module")
def keys(discovery: dict[str, Any], client: httpx.Client) -> KeySet:
    response = client.get(discovery["jwks_uri"])
    response.raise_for_status()
    return KeySet.import_key_set(response.json())


def password_grant(
    identity: Identity,
    client: httpx.Client,
    discovery: dict[str, Any],
    user: StaffUser,
    *,
    client_id: str | None = None,
    password: str | None = None,
    **extra: str,
) -> httpx.Response:
    return client.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "password",
            "client_id": client_id or identity.test_client_id,
            "username": user.username,
            "password": password or user.password,
            "scope": "openid",
            **extra,
        },
    )


def token_for(identity: Identity, client: httpx.Client, discovery: dict[str, Any], user: StaffUser) -> dict[str, Any]:
    response = password_grant(identity, client, discovery, user)
    assert response.status_code == 200, response.text
    return dict(response.json())


def validate(token: str, keys: KeySet, identity: Identity, *, now: int | None = None) -> dict[str, Any]:
    """What the API's guard does with a bearer token: signature by a JWKS key, then the claims."""
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        now=now,
        leeway=LEEWAY,
        iss={"essential": True, "value": identity.issuer},
        aud={"essential": True, "value": identity.audience},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    ).validate(decoded.claims)
    return dict(decoded.claims)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


# ------------------------------------------------------------------ discovery
def test_discovery_document_names_the_issuer_keys_and_pkce(
    identity: Identity, discovery: dict[str, Any], keys: KeySet
) -> None:
    assert discovery["issuer"] == identity.issuer
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
    ):
        assert discovery[endpoint].startswith(identity.issuer + "/"), endpoint
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    signing = [k for k in keys.keys if k.get("use") == "sig" and k.alg == "RS256"]
    assert signing, "the JWKS holds no RS256 signing key"


# ------------------------------------------------------------------ bearer tokens
@pytest.mark.parametrize("role", ROLES)
def test_staff_token_validates_against_the_jwks_with_the_staff_claims(
    role: str, identity: Identity, client: httpx.Client, discovery: dict[str, Any], keys: KeySet
) -> None:
    user = identity.user(role=role)
    tokens = token_for(identity, client, discovery, user)
    header = b64url_json(tokens["access_token"].split(".")[0])
    assert header["alg"] == "RS256" and header["kid"] in {k.kid for k in keys.keys}

    claims = validate(tokens["access_token"], keys, identity)
    assert claims["azp"] == identity.test_client_id
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_LIFESPAN
    assert ACCESS_TOKEN_LIFESPAN - 5 <= tokens["expires_in"] <= ACCESS_TOKEN_LIFESPAN  # counted from the reply
    assert claims["exp"] > time.time()
    assert claims["preferred_username"] == user.username
    assert claims["name"] == user.name
    assert claims["department"] == user.department
    assert sorted(claims["roles"]) == sorted(user.roles)
    assert role in claims["realm_access"]["roles"]  # Keycloak's own place for realm roles, too

    # the ID token carries the same staff claims, for the console's session
    id_claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert id_claims["aud"] == identity.test_client_id
    assert (id_claims["department"], id_claims["roles"]) == (claims["department"], claims["roles"])


def test_test_users_cover_every_role_in_several_departments(identity: Identity) -> None:
    assert {r for u in identity.users.values() for r in u.roles} == set(ROLES)
    handlers = {u.department for u in identity.users.values() if "handler" in u.roles}
    assert len(handlers) >= 2
    assert all(u.department for u in identity.users.values())


def test_tampered_foreign_and_expired_tokens_are_refused(
    identity: Identity, client: httpx.Client, discovery: dict[str, Any], keys: KeySet
) -> None:
    user = identity.user(role="handler")
    token = token_for(identity, client, discovery, user)["access_token"]
    header, payload, signature = token.split(".")
    claims = validate(token, keys, identity)

    # a handler who writes themselves the admin role and another department: the signature no longer holds
    forged = dict(b64url_json(payload), roles=["admin"], department="audit")
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{b64url(json.dumps(forged).encode())}.{signature}", keys, algorithms=["RS256"])
    # a flipped signature byte
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[0] ^= 0x01
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload}.{b64url(bytes(flipped))}", keys, algorithms=["RS256"])
    # an unsigned token ("alg": "none") with the original claims
    unsigned = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    with pytest.raises(JoseError):
        jwt.decode(f"{unsigned}.{payload}.", keys, algorithms=["RS256"])
    # a key set that is not the issuer's: no key with the token's kid
    with pytest.raises(JoseError):
        jwt.decode(token, KeySet.generate_key_set("RSA", 2048, count=1), algorithms=["RS256"])
    # signed by the provider, but for another issuer or another audience
    with pytest.raises(InvalidClaimError):
        validate(token, keys, Identity(issuer=identity.issuer + "-other", provider="", users={}))
    with pytest.raises(InvalidClaimError):
        validate(token, keys, Identity(issuer=identity.issuer, provider="", users={}, audience="another-api"))
    # expired: accepted up to the leeway past "exp", refused after it
    validate(token, keys, identity, now=claims["exp"] + LEEWAY - 1)
    with pytest.raises(ExpiredTokenError):
        validate(token, keys, identity, now=claims["exp"] + LEEWAY + 1)


def test_machine_client_gets_a_token_with_client_credentials_and_no_staff_role(
    identity: Identity, client: httpx.Client, discovery: dict[str, Any], keys: KeySet
) -> None:
    response = client.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(identity.api_client_id, identity.api_client_secret),
    )
    assert response.status_code == 200, response.text
    claims = validate(response.json()["access_token"], keys, identity)
    assert claims["azp"] == claims["client_id"] == identity.api_client_id
    assert not claims.get("roles"), "a machine client holds no staff role until one is granted"
    # a wrong secret gets nothing
    refused = client.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(identity.api_client_id, "not-the-secret"),
    )
    assert refused.status_code == 401


def test_password_grant_only_on_the_test_client_and_only_with_the_password(
    identity: Identity, client: httpx.Client, discovery: dict[str, Any]
) -> None:
    user = identity.user(role="handler", department="waste")
    refused = password_grant(identity, client, discovery, user, client_id=identity.console_client_id)
    assert refused.status_code in (400, 401) and refused.json()["error"] == "unauthorized_client"
    refused = password_grant(
        identity, client, discovery, user, client_id=identity.api_client_id, client_secret=identity.api_client_secret
    )
    assert refused.status_code in (400, 401) and refused.json()["error"] == "unauthorized_client"
    wrong = password_grant(identity, client, discovery, user, password="not-" + user.password)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_grant"
    # a good sign-in right after clears the failure count (the realm locks out after ten)
    assert password_grant(identity, client, discovery, user).status_code == 200


# ------------------------------------------------------------------ the console: authorization code + PKCE
class _Callback(BaseHTTPRequestHandler):
    """The console's redirect URI, on a port chosen by the system (loopback: any port is allowed)."""

    received: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).received.append(self.path)
        body = b"signed in"
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
        pass


@pytest.fixture
def callback() -> Iterator[tuple[str, list[str]]]:
    handler = type("Callback", (_Callback,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/console/auth/callback", handler.received
    finally:
        server.shutdown()
        server.server_close()


def login_form_action(page: str) -> str:
    form = re.search(r"<form\b[^>]*\bid=\"kc-form-login\"[^>]*>", page)
    assert form, "no login form on the provider's page"
    action = re.search(r"\baction=\"([^\"]+)\"", form.group(0))
    assert action
    return html.unescape(action.group(1))


def sign_in(
    identity: Identity,
    discovery: dict[str, Any],
    user: StaffUser,
    redirect_uri: str,
    received: list[str],
    *,
    challenge: str,
    nonce: str,
) -> str:
    """The browser's part: the login form, the credentials posted, the redirect to the console followed."""
    state = secrets.token_urlsafe(16)
    with httpx.Client(timeout=30.0, follow_redirects=True) as browser:
        login_page = browser.get(
            discovery["authorization_endpoint"],
            params={
                "client_id": identity.console_client_id,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": redirect_uri,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert login_page.status_code == 200, login_page.text[:500]
        # The login cookies go back as a browser sends them: Keycloak marks them Secure, which a browser
        # honours on http://127.0.0.1 (a secure context) and httpx's cookie jar does not.
        cookies = "; ".join(h.split(";", 1)[0] for h in login_page.headers.get_list("set-cookie"))
        landed = browser.post(
            login_form_action(login_page.text),
            headers={"cookie": cookies},
            data={"username": user.username, "password": user.password, "credentialId": ""},
        )
        assert landed.status_code == 200 and landed.text == "signed in", landed.text[:500]
        assert landed.history and landed.history[-1].status_code == 302
    query = parse_qs(urlsplit(received[-1]).query)
    assert query["state"] == [state]
    assert query["iss"] == [identity.issuer]  # RFC 9207: the response names its issuer
    return query["code"][0]


def test_console_signs_in_with_authorization_code_and_pkce(
    identity: Identity, discovery: dict[str, Any], keys: KeySet, callback: tuple[str, list[str]]
) -> None:
    redirect_uri, received = callback
    user = identity.user(role="team_lead", department="road")
    verifier = secrets.token_urlsafe(64)
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    nonce = secrets.token_urlsafe(16)
    token_endpoint = discovery["token_endpoint"]
    exchange = {
        "grant_type": "authorization_code",
        "client_id": identity.console_client_id,
        "redirect_uri": redirect_uri,
    }

    with httpx.Client(timeout=30.0) as console:
        # a code without its verifier (an intercepted code) is worth nothing, and spent
        code = sign_in(identity, discovery, user, redirect_uri, received, challenge=challenge, nonce=nonce)
        for verifier_sent in ("x" * 64, verifier):
            refused = console.post(token_endpoint, data={**exchange, "code": code, "code_verifier": verifier_sent})
            assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"

        code = sign_in(identity, discovery, user, redirect_uri, received, challenge=challenge, nonce=nonce)
        tokens = console.post(token_endpoint, data={**exchange, "code": code, "code_verifier": verifier})
        assert tokens.status_code == 200, tokens.text
        replay = console.post(token_endpoint, data={**exchange, "code": code, "code_verifier": verifier})
        assert replay.status_code == 400  # single-use
    assert len(received) == 2

    body = tokens.json()
    claims = validate(body["access_token"], keys, identity)
    assert claims["azp"] == identity.console_client_id
    assert (claims["preferred_username"], claims["department"], claims["roles"]) == (
        user.username,
        user.department,
        list(user.roles),
    )
    id_claims = jwt.decode(body["id_token"], keys, algorithms=["RS256"]).claims
    assert id_claims["aud"] == identity.console_client_id
    assert id_claims["nonce"] == nonce and id_claims["name"] == user.name


def test_console_requires_pkce_s256_and_a_registered_redirect(
    identity: Identity, discovery: dict[str, Any], callback: tuple[str, list[str]]
) -> None:
    redirect_uri, received = callback
    base = {
        "client_id": identity.console_client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect_uri,
        "state": "s",
    }
    challenge = b64url(hashlib.sha256(secrets.token_urlsafe(64).encode()).digest())
    with httpx.Client(timeout=30.0, follow_redirects=False) as browser:
        for params in ({}, {"code_challenge": challenge, "code_challenge_method": "plain"}):
            response = browser.get(discovery["authorization_endpoint"], params={**base, **params})
            assert response.status_code == 302
            query = parse_qs(urlsplit(response.headers["location"]).query)
            assert query["error"] == ["invalid_request"], query
        foreign = browser.get(
            discovery["authorization_endpoint"],
            params={
                **base,
                "redirect_uri": "https://attacker.example/console/auth/callback",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert foreign.status_code == 400
    assert received == []
