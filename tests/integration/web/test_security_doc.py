"""docs/security.md lists every rule of the public allow-list (and the session and agency rules) and
every role, as libs/minwon/auth.py has them."""

from __future__ import annotations

from minwon import auth
from tests.e2e.harness import ROOT

DOC = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")


def test_the_allow_list_in_the_doc_is_the_one_in_the_code() -> None:
    for rule in (*auth.PUBLIC, auth.SESSION, auth.AGENCY):
        cell = "`" + rule.path.replace("|", "\\|") + "`"
        assert cell in DOC, f"docs/security.md does not list the rule {rule.path} ({rule.why})"
        assert rule.why.replace("|", "\\|") in DOC


def test_every_role_has_a_row() -> None:
    for role in auth.ROLES:
        assert f"\n| `{role}` (" in DOC, role
