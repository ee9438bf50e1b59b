"""Routing's subscriptions: sealed filings to route (restricted topic), and the
lifecycle events that release a handler's load."""

from __future__ import annotations

from minwon.bus import Handler
from services.routing.handlers import Routing


def subscriptions(routing: Routing) -> list[tuple[list[str], Handler]]:
    return [(routing.table.topics, routing.table)]
