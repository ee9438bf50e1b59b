"""The deadline service's subscriptions: the complaint lifecycle (intake) and assignments (routing)."""

from __future__ import annotations

from minwon import topics
from minwon.bus import Handler
from services.deadline.handlers import Deadlines

#: The topics a clock is built from; a rebuild replays them (and the service's own topic).
INPUTS = (topics.COMPLAINTS, topics.ROUTING)


def subscriptions(deadlines: Deadlines) -> list[tuple[list[str], Handler]]:
    return [(list(INPUTS), deadlines.on_event)]
