"""Who may see and do what in the console (역할별 권한). Pure: no I/O.

Roles: ``handler`` (담당자: their department's complaints; acts on those assigned to them),
``team_lead`` (팀장: their department; acts on any of its complaints), ``complaint_office``
(민원과: every department; acts on any complaint; manages holidays), ``admin`` (관리자: every
department, read-only on complaints; manages holidays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HANDLER, TEAM_LEAD, COMPLAINT_OFFICE, ADMIN = "handler", "team_lead", "complaint_office", "admin"
ROLES = (HANDLER, TEAM_LEAD, COMPLAINT_OFFICE, ADMIN)
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
            raise ValueError(f"staff {self.id}: a {self.role} {'needs' if self.role in DEPARTMENT_ROLES else 'has no'}"
                             " department")


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
