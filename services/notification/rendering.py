"""Korean message text from the versioned Jinja2 templates in ``templates/``.

A template file is ``<template id>.v<version>.txt.j2``; a notification keeps
the version it was created with, so a retry renders the same wording even
after a newer version is added. Undefined variables are errors (StrictUndefined).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.notification.domain import TEMPLATES, template_file

TEMPLATE_DIR = Path(__file__).parent / "templates"
SEOUL = ZoneInfo("Asia/Seoul")
WEEKDAYS = "월화수목금토일"
_PERIOD = re.compile(r"^\s*(\d+)\s*([dhwmy])\s*$", re.IGNORECASE)
_PERIOD_UNITS = {"d": "일", "h": "근무시간", "w": "주", "m": "개월", "y": "년"}


def _instant(value: Any) -> datetime | date | None:
    if value in (None, ""):
        return None
    if isinstance(value, (datetime, date)):
        return value
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return date.fromisoformat(text[:10])


def kdate(value: Any) -> str:
    """``2026년 11월 20일(금)`` (Asia/Seoul)."""
    at = _instant(value)
    if at is None:
        return ""
    if isinstance(at, datetime):
        at = at.astimezone(SEOUL).date() if at.tzinfo else at.date()
    return f"{at.year}년 {at.month}월 {at.day}일({WEEKDAYS[at.weekday()]})"


def kdatetime(value: Any) -> str:
    """``2026년 11월 20일(금) 18:00`` (Asia/Seoul); a bare date as :func:`kdate`."""
    at = _instant(value)
    if at is None:
        return ""
    if not isinstance(at, datetime):
        return kdate(at)
    local = at.astimezone(SEOUL) if at.tzinfo else at
    return f"{kdate(local)} {local:%H:%M}"


def won(value: Any) -> str:
    """``10000`` -> ``10,000원``."""
    try:
        return f"{int(value):,}원"
    except (TypeError, ValueError):
        return f"{value}원"


def period_label(value: Any) -> str:
    """``7d`` -> ``7일``; ``16h`` -> ``16근무시간``; other text as it is."""
    m = _PERIOD.match(str(value or ""))
    if not m:
        return str(value or "")
    return f"{m.group(1)}{_PERIOD_UNITS[m.group(2).lower()]}"


class Renderer:
    """Renders notifications' text; one per service, built by the bootstrap."""

    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(kdate=kdate, kdatetime=kdatetime, won=won, period_label=period_label)

    def render(self, template_id: str, version: int, variables: Mapping[str, Any]) -> tuple[str, str]:
        """``(subject, text)`` of ``template_id`` at ``version``."""
        text = self.env.get_template(template_file(template_id, version)).render(**variables)
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
        return TEMPLATES[template_id].title, text

    def versions(self, template_id: str) -> list[int]:
        """The versions of a template that exist as files."""
        prefix = f"{template_id}.v"
        names = self.env.list_templates(filter_func=lambda n: n.startswith(prefix) and n.endswith(".txt.j2"))
        return sorted(
            int(n[len(prefix) : -len(".txt.j2")]) for n in names if n[len(prefix) : -len(".txt.j2")].isdigit()
        )
