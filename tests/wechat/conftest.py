"""WeChat against HeartGuard itself: the local fake of WeChat's API and HeartGuard pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from heartguard_server import RunningHeartGuard, free_port, heartguard_settings, seed_school
from wechat_calls import AES_KEY, APP_ID, TOKEN
from wechat_fake import FakeWeChat, running_fake


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    """WeChat's API, played locally; it records every call."""
    with running_fake() as server:
        yield server


@pytest.fixture
def server(db_url: str, fake: FakeWeChat) -> Iterator[RunningHeartGuard]:
    """HeartGuard with the web chat and the WeChat account on (safe mode possible)."""
    asyncio.run(seed_school(db_url))
    port = free_port()
    running = RunningHeartGuard(
        heartguard_settings(
            db_url,
            port=port,
            web={"public_url": f"http://127.0.0.1:{port}"},
            wechat={"enabled": True, "app_id": APP_ID, "api_base_url": fake.url},
            environ={
                "HEARTGUARD_WECHAT_TOKEN": TOKEN,
                "HEARTGUARD_WECHAT_AES_KEY": AES_KEY,
                "HEARTGUARD_WECHAT_APP_SECRET": "app-secret-for-tests",
            },
        )
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningHeartGuard) -> Iterator[httpx.Client]:
    """An HTTP client playing WeChat's servers."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
