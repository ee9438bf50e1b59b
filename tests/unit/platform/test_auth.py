"""Identity: bearer tokens into principals, the allow-list, roles and department scope (no I/O)."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from minwon import auth
from minwon.auth import OidcProvider, Principal, Unauthenticated, Verifier

SECRET = "a-test-signing-secret-of-some-length-000000"
ISSUER = "https://idp.example.go.kr/realms/minwon"


def official(**kw) -> Principal:
    base = {"id": "road-01", "name": "김도로", "department": "road", "roles": frozenset({"handler"})}
    return Principal(**{**base, **kw})


async def test_a_local_token_round_trips_into_the_same_principal() -> None:
    v = Verifier(local_key=SECRET)
    who = await v.verify(v.mint(official()))
    assert (who.id, who.name, who.department, who.roles) == ("road-01", "김도로", "road", frozenset({"handler"}))


async def test_expired_tampered_and_foreign_tokens_are_refused() -> None:
    v = Verifier(local_key=SECRET, leeway=0)
    with pytest.raises(Unauthenticated):
        await v.verify(v.mint(official(), now=time.time() - 7200, ttl=60))
    token = v.mint(official())
    head, body, sig = token.split(".")
    forged = Verifier(local_key="another-secret-of-the-same-sort-0000000000").mint(official(roles=frozenset({"admin"})))
    with pytest.raises(Unauthenticated):
        await v.verify(f"{head}.{forged.split('.')[1]}.{sig}")
    with pytest.raises(Unauthenticated):
        await v.verify(forged)
    with pytest.raises(Unauthenticated):
        await v.verify("not-a-token")
    with pytest.raises(Unauthenticated):
        await v.verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")  # {"alg": "none"}


async def test_provider_tokens_are_checked_against_its_keys_issuer_and_audience() -> None:
    keys = KeySet.generate_key_set("RSA", 2048, count=1)
    key = keys.keys[0]
    fetched: list[str] = []

    async def fetch(url: str) -> dict:
        fetched.append(url)
        if url.endswith("openid-configuration"):
            return {"issuer": ISSUER, "jwks_uri": ISSUER + "/protocol/openid-connect/certs"}
        return keys.as_dict(private=False)

    v = Verifier(provider=OidcProvider(ISSUER, "minwon-console", fetch))
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "account",
        "azp": "minwon-console",
        "sub": "uuid-1",
        "preferred_username": "waste-lead",
        "name": "박팀장",
        "department": "waste",
        "realm_access": {"roles": ["team_lead", "offline_access"]},
        "iat": now,
        "exp": now + 300,
    }
    header = {"alg": "RS256", "kid": key.kid}
    who = await v.verify(jwt.encode(header, claims, key))
    assert (who.id, who.department, who.roles, who.issuer) == ("waste-lead", "waste", frozenset({"team_lead"}), ISSUER)
    for bad in ({"iss": "https://elsewhere"}, {"azp": "other", "aud": "other"}, {"exp": now - 600}):
        with pytest.raises(Unauthenticated):
            await v.verify(jwt.encode(header, {**claims, **bad}, key))
    stranger = KeySet.generate_key_set("RSA", 2048, count=1).keys[0]
    with pytest.raises(Unauthenticated):
        await v.verify(jwt.encode({"alg": "RS256", "kid": stranger.kid}, claims, stranger))
    assert len([u for u in fetched if u.endswith("certs")]) == 2  # an unknown key id refetches the JWKS once


def test_the_allow_list_is_short_and_exact() -> None:
    assert auth.is_public("POST", "/api/v1/complaints")
    assert auth.is_public("GET", "/api/v1/complaints/2026-BUSAN-0000001?code=ABC123")
    assert not auth.is_public("GET", "/api/v1/complaints")
    assert not auth.is_public("POST", "/api/v1/routing/rules")
    assert not auth.is_public("GET", "/api/v1/complaints/2026-BUSAN-0000001")
    assert not auth.is_public("POST", "/api/v1/complaints/2026-BUSAN-0000001/close")
    assert not auth.is_public("GET", "/healthz/../api/v1/routing/rules")
    assert len(auth.PUBLIC) <= 12


def test_department_scope_and_the_complaint_office() -> None:
    assert official().may_see("road") and not official().may_see("waste")
    assert official(roles=frozenset({"complaint_office"}), department="civil").may_see("waste")
    assert not official().may_see(None)
    assert Principal.from_claims({"sub": "x", "roles": ["handler", "root"]}, ISSUER).roles == {"handler"}
    with pytest.raises(Unauthenticated):
        Principal.from_claims({"roles": ["handler"]}, ISSUER)


def test_oct_keys_sign_only_with_a_configured_secret() -> None:
    with pytest.raises(RuntimeError):
        Verifier().mint(official())
