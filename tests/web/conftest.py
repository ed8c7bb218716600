"""The chat page against HeartGuard itself: a seeded school and ``heartguard run`` on a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from heartguard_server import RunningHeartGuard, heartguard_settings, seed_school


@pytest.fixture
def school(db_url: str) -> dict[str, Any]:
    """Codes for two roster students of a school whose counselor is on duty."""
    return asyncio.run(seed_school(db_url))


@pytest.fixture
def heartguard(db_url: str, school: dict[str, Any]) -> Iterator[RunningHeartGuard]:
    """HeartGuard with the web chat on, serving until the test ends."""
    server = RunningHeartGuard(heartguard_settings(db_url))
    server.start()
    yield server
    server.stop()
