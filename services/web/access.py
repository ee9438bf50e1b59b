"""Who may see and do what in the console (역할별 권한). Pure: no I/O.

Roles: ``handler`` (담당자: their department's complaints; acts on those assigned to them),
``team_lead`` (팀장: their department; acts on any of its complaints), ``complaint_office``
(민원과: every department; acts on any complaint; manages holidays), ``admin`` (관리자: every
department, read-only on complaints; manages holidays), ``call_centre`` (120 콜센터: registers
complaints for citizens by phone, visit, mail, fax or oral; sees no complaint).

Answers (답변): the official who may act on a complaint drafts and submits its answer; the team
lead (a section chief signs in as one) and the complaint office approve or return it (결재) and
maintain the canned answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HANDLER, TEAM_LEAD, COMPLAINT_OFFICE, ADMIN = "handler", "team_lead", "complaint_office", "admin"
CALL_CENTRE = "call_centre"
ROLES = (HANDLER, TEAM_LEAD, COMPLAINT_OFFICE, ADMIN, CALL_CENTRE)
REVIEWERS = frozenset({TEAM_LEAD, COMPLAINT_OFFICE})
REGISTRARS = frozenset({CALL_CENTRE, HANDLER, TEAM_LEAD, COMPLAINT_OFFICE})
DEPARTMENT_ROLES = frozenset({HANDLER, TEAM_LEAD})
OPEN_STATUSES = ("received", "in_progress", "awaiting_supplement")


@dataclass(frozen=True)
class Staff:
    """A signed-in official. ``department`` is set for handlers and team leads only."""

    id: str
    name: str
    role: str
    department: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"staff {self.id}: unknown role {self.role!r}")
        if (self.role in DEPARTMENT_ROLES) != bool(self.department):
            raise ValueError(
                f"staff {self.id}: a {self.role} {'needs' if self.role in DEPARTMENT_ROLES else 'has no'} department"
            )


def scope(staff: Staff) -> str | None:
    """The only department the official may look at, or None for every department."""
    return staff.department if staff.role in DEPARTMENT_ROLES else None


def department_filter(staff: Staff, asked: str | None) -> str | None:
    """The department a list is read for: a department role's own, whatever was asked."""
    own = scope(staff)
    if own is not None:
        return own
    return (asked or "").strip() or None


def may_view(staff: Staff, department: str | None) -> bool:
    """A complaint of ``department`` (None: not yet routed) may be opened."""
    if staff.role == CALL_CENTRE:
        return False
    own = scope(staff)
    return own is None or (department is not None and department == own)


def may_act(staff: Staff, complaint: Mapping[str, Any]) -> bool:
    """Acknowledge, request supplementation, extend, transfer or close this complaint."""
    if complaint.get("status") not in OPEN_STATUSES:
        return False
    if staff.role == COMPLAINT_OFFICE:
        return True
    if staff.role == TEAM_LEAD:
        return complaint.get("department") == staff.department
    if staff.role == HANDLER:
        handler = complaint.get("handler") or {}
        return complaint.get("department") == staff.department and handler.get("id") == staff.id
    return False


def may_see_complainant_ref(staff: Staff, *, confidential: bool) -> bool:
    """The pseudonymous complainant reference (repeat complaints); a whistleblower's only for the office."""
    if staff.role == COMPLAINT_OFFICE:
        return True
    return staff.role == ADMIN and not confidential


def may_read_survey_text(staff: Staff) -> bool:
    """The citizen's free-text survey answer: team leads and the complaint office."""
    return staff.role in (TEAM_LEAD, COMPLAINT_OFFICE)


def may_read_notification_text(staff: Staff) -> bool:
    """The masked text of notifications sent: the complaint office only."""
    return staff.role == COMPLAINT_OFFICE


def may_manage_holidays(staff: Staff) -> bool:
    return staff.role in (ADMIN, COMPLAINT_OFFICE)


def may_work_complaints(staff: Staff) -> bool:
    """The queue, the board and the complaint pages (the call centre registers only)."""
    return staff.role != CALL_CENTRE


def may_read_personal(staff: Staff, *, confidential: bool) -> bool:
    """The complainant's identity, contacts and the complaint's text (intake checks again and audits):
    the department's officials and the complaint office; a confidential or whistleblower complaint's
    identity only the complaint office."""
    if staff.role not in (HANDLER, TEAM_LEAD, COMPLAINT_OFFICE):
        return False
    return not confidential or staff.role == COMPLAINT_OFFICE


def may_draft_answer(staff: Staff, complaint: Mapping[str, Any]) -> bool:
    """Write, save and submit the answer: whoever may act on the complaint."""
    return may_act(staff, complaint)


def may_review_answer(staff: Staff, complaint: Mapping[str, Any]) -> bool:
    """Approve or return a submitted answer (결재): the department's team lead, the complaint office."""
    if staff.role == COMPLAINT_OFFICE:
        return True
    return staff.role == TEAM_LEAD and complaint.get("department") == staff.department


def may_review(staff: Staff) -> bool:
    """The approval queue."""
    return staff.role in REVIEWERS


def may_manage_templates(staff: Staff) -> bool:
    """Canned answers (답변 서식): team leads and the complaint office."""
    return staff.role in REVIEWERS


def may_register(staff: Staff) -> bool:
    """Register a complaint for a citizen (phone, visit, mail, fax, oral)."""
    return staff.role in REGISTRARS


def may_reassign(staff: Staff, complaint: Mapping[str, Any]) -> bool:
    """Move an open complaint to another department or handler: its team lead, the complaint office."""
    return complaint.get("status") in OPEN_STATUSES and may_review_answer(staff, complaint)


def may_set_answer_policy(staff: Staff) -> bool:
    """Whether a department's answers need approval: the complaint office decides."""
    return staff.role == COMPLAINT_OFFICE
