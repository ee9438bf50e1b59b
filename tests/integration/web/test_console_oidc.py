"""The console signed in through the city's OpenID Connect provider (the real Keycloak of the
``identity`` fixture, realm deploy/keycloak/realm-minwon.json): the login redirect, the provider's
login form and the callback driven with httpx against ``minwon run``; the official's own access
token forwarded to the APIs; department scope on the API and in the console; the refresh of a
token that is about to expire (refresh tokens are single-use)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from minwon import auth
from services.web.oidc import OidcLogin
from tests._infra import Identity, StaffUser
from tests.e2e.harness import MinwonProcess, wait_for
from tests.factories import STAFF, complaint_payload


@pytest.fixture(scope="module")
def system(identity: Identity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinwonProcess]:
    proc = MinwonProcess(tmp_path_factory.mktemp("oidc"), env=identity.as_env())
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def provider_login(page: httpx.Response, user: StaffUser) -> str:
    """Keycloak's login form, filled and posted as a browser does; where the provider sends the browser."""
    form = re.search(r"<form\b[^>]*\bid=\"kc-form-login\"[^>]*>", page.text)
    assert form, page.text[:500]
    action = html.unescape(re.search(r"\baction=\"([^\"]+)\"", form.group(0)).group(1))  # type: ignore[union-attr]
    # Keycloak marks its cookies Secure, which a browser honours on http://127.0.0.1 and httpx does not
    cookies = "; ".join(h.split(";", 1)[0] for h in page.headers.get_list("set-cookie"))
    landed = httpx.post(
        action,
        headers={"cookie": cookies},
        timeout=30,
        data={"username": user.username, "password": user.password, "credentialId": ""},
    )
    assert landed.status_code == 302, landed.text[:500]
    return landed.headers["location"]


def console_sign_in(system: MinwonProcess, identity: Identity, user: StaffUser, next_path: str) -> httpx.Client:
    browser = httpx.Client(base_url=system.url, timeout=30)
    start = browser.get("/console/login", params={"next": next_path})
    assert start.status_code == 303, start.text[:300]
    to_provider = start.headers["location"]
    query = parse_qs(urlsplit(to_provider).query)
    assert to_provider.startswith(identity.issuer + "/protocol/openid-connect/auth")
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [identity.console_client_id]
    back = provider_login(browser.get(to_provider), user)
    assert back.startswith(system.url + "/console/login/callback?")
    done = browser.get(back)
    assert done.status_code == 303 and done.headers["location"] == next_path, done.text[:300]
    return browser


def password_token(identity: Identity, user: StaffUser) -> str:
    """TEST ONLY: the realm's test client's password grant, for direct API calls as ``user``."""
    token_url = identity.issuer + "/protocol/openid-connect/token"
    response = httpx.post(
        token_url,
        timeout=30,
        data={
            "grant_type": "password",
            "client_id": identity.test_client_id,
            "username": user.username,
            "password": user.password,
            "scope": "openid",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_console_signs_in_at_the_provider_and_calls_the_apis_as_that_official(
    system: MinwonProcess, identity: Identity
) -> None:
    filed = httpx.post(system.url + "/api/v1/complaints", json=complaint_payload(), timeout=15)
    assert filed.status_code == 201, filed.text
    receipt = filed.json()["receipt_no"]

    def assigned() -> dict | None:
        r = httpx.get(f"{system.url}/api/v1/routing/assignments/{receipt}", headers=STAFF, timeout=15)
        return r.json() if r.status_code == 200 and r.json().get("department") else None

    assert wait_for(assigned, timeout=30)["department"] == "road"

    lead = identity.user(role="team_lead", department="road")
    with closing(console_sign_in(system, identity, lead, f"/console/complaints/{receipt}")) as browser:
        page = browser.get(f"/console/complaints/{receipt}")  # the intake, deadline and routing APIs, as lead
        assert page.status_code == 200, page.text[:500]
        assert filed.json()["receipt_no"] in page.text and lead.name in page.text
        queue = browser.get("/console/queue")
        assert queue.status_code == 200 and receipt in queue.text

        assert browser.get("/console/login/callback", params={"state": "x", "code": "y"}).status_code == 400

        csrf = re.search(r'name="csrf" value="([^"]+)"', queue.text)
        assert csrf
        out = browser.post("/console/logout", data={"csrf": csrf.group(1)})
        assert out.status_code == 303, out.text[:300]
        logout = urlsplit(out.headers["location"])
        assert f"{logout.scheme}://{logout.netloc}{logout.path}" == identity.issuer + "/protocol/openid-connect/logout"
        assert "id_token_hint" in parse_qs(logout.query)
        assert browser.get("/console/queue").status_code == 303  # the tokens are gone here

    own = httpx.get(
        f"{system.url}/api/v1/complaints/{receipt}",
        timeout=15,
        headers={"Authorization": f"Bearer {password_token(identity, lead)}"},
    )
    assert own.status_code == 200, own.text

    other = identity.user(role="handler", department="traffic")
    refused = httpx.get(
        f"{system.url}/api/v1/complaints/{receipt}",
        timeout=15,
        headers={"Authorization": f"Bearer {password_token(identity, other)}"},
    )
    assert refused.status_code == 403, refused.text
    with closing(console_sign_in(system, identity, other, "/console/queue")) as browser:
        # another department's complaint: sent to the cooperation page, which refuses as none was asked of it
        page = browser.get(f"/console/complaints/{receipt}")
        assert page.status_code == 303 and page.headers["location"].endswith(f"/console/cooperation/{receipt}")
        assert browser.get(page.headers["location"]).status_code == 403
        assert receipt not in browser.get("/console/queue").text


def test_a_role_without_a_console_view_is_refused_at_the_callback(system: MinwonProcess, identity: Identity) -> None:
    user = identity.user(role="auditor")  # the call centre signs in to register complaints
    browser = httpx.Client(base_url=system.url, timeout=30)
    with browser:
        start = browser.get("/console/login")
        back = provider_login(browser.get(start.headers["location"]), user)
        assert browser.get(back).status_code == 403
        assert browser.get("/console/queue").status_code == 303  # not signed in


async def test_an_expiring_access_token_is_refreshed_once_and_a_refused_refresh_signs_out(
    identity: Identity, tmp_path: Path
) -> None:
    verifier = auth.Verifier(provider=auth.OidcProvider(identity.issuer, identity.audience, auth.httpx_fetch()))
    login = OidcLogin(identity.issuer, identity.console_client_id, verifier)
    redirect_uri = "http://127.0.0.1:9/console/login/callback"  # never reached: the test reads the redirect
    url, state = await login.start(redirect_uri=redirect_uri, next_path="/console/queue", now=time.time())
    with httpx.Client(timeout=30) as browser:
        back = provider_login(browser.get(url), identity.user(role="handler", department="road"))
    query = parse_qs(urlsplit(back).query)
    staff, _ = await login.finish(
        state=query["state"][0], code=query["code"][0], issuer=query["iss"][0], now=time.time()
    )
    assert (staff.role, staff.department) == ("handler", "road")
    first = await login.access_token(staff.session_id)
    assert first and await login.access_token(staff.session_id) == first  # still fresh: no refresh
    spent = login.sessions[staff.session_id].refresh_token

    later = time.time() + 3600
    second = await login.access_token(staff.session_id, now=later)
    assert second and second != first
    assert (await verifier.verify(second)).id == staff.id

    login.sessions[staff.session_id].refresh_token = spent  # single-use: a reused refresh token is refused
    login.sessions[staff.session_id].expires_at = 0
    assert await login.access_token(staff.session_id) is None
    assert login.staff(staff.session_id) is None
