"""Compensation's subscriptions: the lifecycle facts the rules need, breaches and revisits."""

from __future__ import annotations

from minwon.bus import Handler
from services.compensation.handlers import Compensation


def subscriptions(compensation: Compensation) -> list[tuple[list[str], Handler]]:
    return [(compensation.table.topics, compensation.table)]
