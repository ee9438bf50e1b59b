"""The issue's main story with every official signing in through the real identity provider
(Keycloak with the realm deploy/keycloak/realm-minwon.json, the ``identity`` fixture): the 120
agent ``callcentre-01``, the routed handler (``road-01`` or ``road-02``), the team lead
``road-lead``. Chromium fills in the provider's own login form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests._infra import Identity
from tests.browser.conftest import STAFF_TOKEN, System
from tests.browser.test_answers import answer_story
from tests.e2e.harness import MinwonProcess


@pytest.fixture(scope="module")
def system(identity: Identity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """``minwon run`` whose console signs in at the provider (this module's ``new_page`` uses it)."""
    proc = MinwonProcess(
        tmp_path_factory.mktemp("browser-oidc"),
        env={
            **identity.as_env(),
            "MINWON_STAFF_TOKEN": STAFF_TOKEN,
            "MINWON_WEB_SESSION_SECRET": uuid.uuid4().hex,
        },
    )
    proc.start()
    try:
        yield System(proc)
    finally:
        proc.stop()


def provider_sign_in(identity: Identity) -> Any:
    def sign_in_as(page: Any, username: str) -> None:
        user = identity.users[username]
        page.goto("/console/login")
        expect(page).to_have_url(re.compile(re.escape(identity.issuer) + r"/protocol/openid-connect/auth"))
        page.locator("#username").fill(user.username)
        page.locator("#password").fill(user.password)
        page.locator("#kc-login").click()
        page.wait_for_url(re.compile(r".*/console/(?!login).*"))
        expect(page.locator(".who")).to_contain_text(user.name)

    return sign_in_as


def test_the_story_with_officials_signed_in_at_the_identity_provider(
    system: System, new_page: Any, identity: Identity
) -> None:
    lead = identity.user(role="team_lead", department="road")
    answer_story(
        system,
        new_page,
        provider_sign_in(identity),
        agent_id=identity.user(role="call_centre").username,
        lead_id=lead.username,
        lead_name=lead.name,
        screenshots=False,
    )
