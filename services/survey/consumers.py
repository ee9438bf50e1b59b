"""Survey's subscriptions, derived from its handler table (:attr:`Surveys.HANDLES`): the complaint
lifecycle (consent, closure) and routing (department, handler)."""

from __future__ import annotations

from minwon.bus import Handler
from services.survey.handlers import Surveys


def subscriptions(surveys: Surveys) -> list[tuple[list[str], Handler]]:
    return [(surveys.table.topics, surveys.table)]
