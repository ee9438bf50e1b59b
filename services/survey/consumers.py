"""Survey's subscriptions: complaint lifecycle (consent, closure) and routing (department, handler)."""

from __future__ import annotations

from minwon import topics
from minwon.bus import Handler
from services.survey.handlers import Surveys


def subscriptions(surveys: Surveys) -> list[tuple[list[str], Handler]]:
    return [([topics.COMPLAINTS, topics.ROUTING], surveys.on_event)]
