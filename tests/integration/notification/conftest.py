"""``pub``: a bus of the test's own (its event loop), to publish the other services' events and read outcomes.

The app under test runs its own bus in the test client's event loop; a Kafka
client cannot be shared across loops.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.integration.notification.helpers import close


@pytest.fixture
async def pub(backend: Any) -> AsyncIterator[Any]:
    bus = backend.bus()
    yield bus
    await close(bus)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def service_logs() -> Iterator[list[logging.LogRecord]]:
    """The notification service's log records (the app's logging set-up replaces the root handlers,
    so pytest's caplog does not see them)."""
    logger, handler = logging.getLogger("minwon.notification"), _Records()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)
