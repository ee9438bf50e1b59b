"""The deadline service's subscriptions, derived from its handler table (:attr:`Deadlines.HANDLES`):
the complaint lifecycle (intake) and assignments (routing)."""

from __future__ import annotations

from minwon import contracts
from minwon.bus import Handler
from services.deadline.handlers import Deadlines

#: The topics a clock is built from; a rebuild replays them (and the service's own topic).
INPUTS = tuple(contracts.topics_of(Deadlines.HANDLES))


def subscriptions(deadlines: Deadlines) -> list[tuple[list[str], Handler]]:
    return [(deadlines.table.topics, deadlines.table)]
