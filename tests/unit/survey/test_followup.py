"""A low score's follow-up task: resolved once, with a note, by the team lead; overdue after its due date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from minwon.errors import DomainError, Invalid, NotFound
from services.survey import domain

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def low_scored(due: datetime) -> domain.Survey:
    s = domain.new_survey("2026-T-0000009")
    return replace(
        s,
        department="road",
        scores={"speed": 2, "kindness": 1, "result": 1, "overall": 1},
        low_score=True,
        followup={"status": "open", "opened_at": NOW.isoformat(), "due_at": due.isoformat()},
        followup_status="open",
    )


def test_an_open_follow_up_turns_overdue_after_its_due_date() -> None:
    s = low_scored(NOW + timedelta(days=5))
    assert not domain.followup_view(s, now=NOW)["overdue"]
    assert domain.followup_view(s, now=NOW + timedelta(days=5))["overdue"]


def test_resolving_needs_a_note_and_happens_once() -> None:
    s = low_scored(NOW + timedelta(days=5))
    with pytest.raises(Invalid) as caught:
        domain.resolve_followup(s, note="  ", by={"id": "lead"}, now=NOW)
    assert caught.value.field == "note"
    done = domain.resolve_followup(s, note="전화로 사과", by={"id": "lead", "name": "팀장"}, now=NOW)
    assert done.followup_status == "resolved" and done.followup["resolved_by"] == {"id": "lead", "name": "팀장"}
    assert not domain.followup_view(done, now=NOW + timedelta(days=9))["overdue"]
    with pytest.raises(DomainError) as again:
        domain.resolve_followup(done, note="다시", by={"id": "lead"}, now=NOW)
    assert again.value.status == 409
    with pytest.raises(NotFound):
        domain.resolve_followup(domain.new_survey("2026-T-1"), note="x", by={"id": "lead"}, now=NOW)
