"""Intake's subscriptions: who handles a complaint and when it is due, for its timeline."""

from __future__ import annotations

from minwon.bus import Handler
from services.intake.handlers import Intake


def subscriptions(intake: Intake) -> list[tuple[list[str], Handler]]:
    return [(intake.table.topics, intake.table)]
