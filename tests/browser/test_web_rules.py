"""The web front's own rules without a browser: roles, passwords, the signed session, CSRF,
the timeline merge and the form-to-API mapping (pure; no I/O except reading the data files)."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import pytest

from services.web import access, console, i18n, portal, timeline
from services.web.access import Staff
from services.web.auth import Directory, Signer, check_password, hash_password
from services.web.settings import DATA

ROOT = Path(__file__).resolve().parents[2]


def staff(role: str, department: str | None = None, id: str = "x-01") -> Staff:
    return Staff(id=id, name="이름", role=role, department=department)


def complaint(**kw: object) -> dict[str, object]:
    return {"status": "received", "department": "road", "handler": {"id": "road-01"}, **kw}


# ---------------------------------------------------------------- roles


def test_department_roles_read_only_their_own_department_whatever_is_asked() -> None:
    handler, lead = staff("handler", "road", "road-01"), staff("team_lead", "road", "road-lead")
    office, admin = staff("complaint_office"), staff("admin")
    assert access.department_filter(handler, "traffic") == "road"
    assert access.department_filter(lead, None) == "road"
    assert access.department_filter(office, "traffic") == "traffic"
    assert access.department_filter(admin, " ") is None
    assert access.may_view(handler, "road") and not access.may_view(handler, "traffic")
    assert not access.may_view(lead, None)  # not routed yet: the complaint office's
    assert access.may_view(office, None) and access.may_view(admin, "traffic")


def test_who_may_act_on_a_complaint() -> None:
    c = complaint()
    assert access.may_act(staff("handler", "road", "road-01"), c)
    assert not access.may_act(staff("handler", "road", "road-02"), c)  # a colleague's complaint
    assert not access.may_act(staff("handler", "traffic", "traffic-01"), c)
    assert access.may_act(staff("team_lead", "road", "road-lead"), c)
    assert not access.may_act(staff("team_lead", "traffic", "traffic-lead"), c)
    assert access.may_act(staff("complaint_office"), c)
    assert not access.may_act(staff("admin"), c)
    assert not access.may_act(staff("complaint_office"), complaint(status="closed"))


def test_what_each_role_may_read() -> None:
    assert access.may_see_complainant_ref(staff("complaint_office"), confidential=True)
    assert access.may_see_complainant_ref(staff("admin"), confidential=False)
    assert not access.may_see_complainant_ref(staff("admin"), confidential=True)
    assert not access.may_see_complainant_ref(staff("team_lead", "road"), confidential=False)
    assert access.may_read_survey_text(staff("team_lead", "road"))
    assert not access.may_read_survey_text(staff("handler", "road"))
    assert access.may_manage_holidays(staff("admin")) and not access.may_manage_holidays(staff("team_lead", "road"))


def test_a_role_is_checked_against_its_department() -> None:
    with pytest.raises(ValueError):
        Staff(id="a", name="a", role="handler")
    with pytest.raises(ValueError):
        Staff(id="a", name="a", role="admin", department="road")
    with pytest.raises(ValueError):
        Staff(id="a", name="a", role="mayor")


# ---------------------------------------------------------------- accounts, sessions, CSRF


def test_passwords_are_salted_scrypt_hashes() -> None:
    stored = hash_password("비밀-pass", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert check_password("비밀-pass", stored)
    assert not check_password("비밀-pasS", stored)
    assert hash_password("same", n=2**10) != hash_password("same", n=2**10)
    assert not check_password("x", "md5$abc")


def test_the_shipped_staff_file_matches_routing_departments() -> None:
    directory = Directory.load(DATA / "staff.json")
    departments = json.loads((ROOT / "services/routing/data/departments.json").read_text("utf-8"))
    for dept in departments:
        for h in dept["handlers"]:
            assert directory.get(h["id"]) == Staff(h["id"], h["name"], "handler", dept["code"])
        assert directory.get(f"{dept['code']}-lead").role == "team_lead"
    roles = {a.staff.role for a in directory.accounts.values()}
    assert roles == set(access.ROLES)
    assert all(a.password_hash.startswith("scrypt$") for a in directory.accounts.values())


def test_sign_in_and_lock_out_after_repeated_failures() -> None:
    ticks = count()
    directory = Directory.from_records(
        [
            {
                "id": "road-01",
                "name": "임",
                "role": "handler",
                "department": "road",
                "password_hash": hash_password("right", n=2**10),
            }
        ]
    )
    directory.clock = lambda: next(ticks)
    assert directory.authenticate("road-01", "right") == directory.get("road-01")
    assert directory.authenticate("nobody", "right") is None
    for _ in range(5):
        assert directory.authenticate("road-01", "wrong") is None
    assert directory.authenticate("road-01", "right") is None  # locked
    directory.clock = lambda: 10_000_000
    assert directory.authenticate("road-01", "right") is not None  # the lock expires


def test_a_session_cookie_is_signed_and_expires() -> None:
    signer = Signer("secret")
    cookie = signer.session("road-01", now=1000, ttl=60)
    assert signer.read_session(cookie, now=1059).sub == "road-01"
    assert signer.read_session(cookie, now=1061) is None
    body, mac = cookie.rsplit(".", 1)
    assert signer.read_session(f"{body}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", now=1000) is None
    assert Signer("other").read_session(cookie, now=1000) is None
    assert signer.read_session("garbage", now=1000) is None


def test_a_csrf_token_binds_the_browser_and_the_official() -> None:
    signer = Signer("secret")
    token = signer.csrf("nonce-1", "road-01")
    assert signer.check_csrf(token, "nonce-1", "road-01")
    assert not signer.check_csrf(token, "nonce-2", "road-01")
    assert not signer.check_csrf(token, "nonce-1", "road-02")
    assert not signer.check_csrf(None, "nonce-1", "road-01")
    assert not signer.check_csrf(token, None, "road-01")


# ---------------------------------------------------------------- timeline and forms


def test_the_timeline_merges_the_services_in_time_order() -> None:
    steps = timeline.merge(
        complaint={
            "timeline": [
                {"at": "2026-03-10T01:00:00+00:00", "step": "received", "detail": {"channel": "online"}},
                {"at": "2026-03-10T01:00:01+00:00", "step": "routed", "detail": {"department": "road"}},
                {"at": "2026-03-10T03:00:00+00:00", "step": "closed", "detail": {"outcome": "accepted"}},
            ]
        },
        assignment={"history": [{"at": "2026-03-10T10:00:01+09:00", "step": "routed", "department": "road"}]},
        clock={
            "received_at": "2026-03-10T10:00:00+09:00",
            "due_at": "2026-03-11T10:00:00+09:00",
            "period": "1d",
            "extensions": [],
            "signals": {"emitted": [{"name": "warning", "at": "2026-03-10T11:30:00+09:00"}]},
        },
        notifications=[
            {
                "created_at": "2026-03-10T01:00:02+00:00",
                "template": "citizen.receipt",
                "channel": "sms",
                "status": "sent",
                "sent_at": None,
            }
        ],
        compensation={"items": []},
        survey={"invited_at": "2026-03-10T03:00:05+00:00", "responded_at": None},
    )
    assert [(e.source, e.step) for e in steps] == [
        ("intake", "received"),
        ("deadline", "due_set"),
        ("routing", "routed"),
        ("notification", "citizen.receipt"),
        ("deadline", "warning"),
        ("intake", "closed"),
        ("survey", "invited"),
    ]
    # intake's copy of the routing fact is kept when routing did not answer
    alone = timeline.merge(
        complaint={"timeline": [{"at": "2026-03-10T01:00:01+00:00", "step": "routed", "detail": {}}]},
        assignment=None,
        clock=None,
        notifications=[],
        compensation=None,
        survey=None,
    )
    assert [(e.source, e.step) for e in alone] == [("intake", "routed")]


def test_forms_become_the_intake_api_bodies() -> None:
    assert console.action_body("acknowledge", {}) is None
    assert console.action_body("supplementation", {"reason": " 사진 ", "due": "2026-03-12T17:00"}) == {
        "reason": "사진",
        "due": "2026-03-12T17:00:00+09:00",
    }
    assert console.action_body("extend", {"reason": "조사", "period": "", "citizen_consent": "on"}) == {
        "reason": "조사",
        "period": None,
        "citizen_consent": True,
    }
    assert console.action_body("close", {"outcome": "rejected", "reasons": "r", "remedy": ""}) == {
        "outcome": "rejected",
        "text": None,
        "reasons": "r",
        "remedy": None,
    }
    filed = portal.filing(
        {
            "name": "김",
            "phone": "010",
            "email": "",
            "kind": "other",
            "title": "t",
            "body": "b",
            "category": "도로",
            "district": "중구",
            "consent_sms": "on",
            "priority": "on",
        }
    )
    assert filed["channel"] == "online" and filed["email"] is None and filed["priority"] is True
    assert filed["consent"] == {"sms": True, "alimtalk": False, "email": False, "post": False}


def test_every_string_and_label_exists_in_both_languages() -> None:
    assert set(i18n.STRINGS["ko"]) == set(i18n.STRINGS["en"])
    for group, table in i18n.LABELS.items():
        assert set(table["ko"]) == set(table["en"]), group
    assert i18n.pick("EN-us") == "en" and i18n.pick("fr") == "ko" and i18n.pick(None) == "ko"
    assert i18n.label("en", "kind", "petition") == "Petition"
    assert i18n.label("en", "kind", "unknown-code") == "unknown-code"
