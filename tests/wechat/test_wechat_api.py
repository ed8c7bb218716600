"""The WeChat send client against a local server that plays WeChat's API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from wechat_fake import FakeWeChat, running_fake

from bot.channels.wechat.api import (
    CUSTOMER_SERVICE_PATH,
    SUBSCRIPTION_PATH,
    TOKEN_PATH,
    Outcome,
    WeChatApi,
)

APP_ID = "wx0123456789abcdef"
SECRET = "s3cret-app-secret"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with running_fake() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(fake: FakeWeChat, clock: Clock) -> AsyncIterator[WeChatApi]:
    async with WeChatApi(APP_ID, SECRET, base_url=fake.url, clock=clock) as client:
        yield client


async def test_a_text_goes_out_as_utf8_json_with_one_token_for_many_sends(
    api: WeChatApi, fake: FakeWeChat
) -> None:
    first = await api.send_text("oStudent1", "老师回复你了：明天见")
    second = await api.send_text("oStudent2", "second")
    assert first.delivered
    assert second.delivered
    [token_call] = fake.to(TOKEN_PATH)
    assert token_call.body == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": SECRET,
        "force_refresh": False,
    }
    sends = fake.to(CUSTOMER_SERVICE_PATH)
    assert [call.query["access_token"] for call in sends] == ["token-1", "token-1"]
    assert sends[0].body == {
        "touser": "oStudent1",
        "msgtype": "text",
        "text": {"content": "老师回复你了：明天见"},
    }
    assert "老师".encode() in sends[0].raw


async def test_a_token_is_renewed_before_it_expires(
    api: WeChatApi, fake: FakeWeChat, clock: Clock
) -> None:
    await api.send_text("o1", "a")
    clock.now += 7200 - 300 - 1
    await api.send_text("o1", "b")
    clock.now += 2
    await api.send_text("o1", "c")
    assert [call.query["access_token"] for call in fake.to(CUSTOMER_SERVICE_PATH)] == [
        "token-1",
        "token-1",
        "token-2",
    ]


async def test_a_token_wechat_calls_expired_is_refreshed_once_and_the_send_retried(
    api: WeChatApi, fake: FakeWeChat
) -> None:
    await api.send_text("o1", "a")
    fake.expire_tokens()
    result = await api.send_text("o1", "b")
    assert result.delivered
    assert [call.query["access_token"] for call in fake.to(CUSTOMER_SERVICE_PATH)] == [
        "token-1",
        "token-1",
        "token-2",
    ]


async def test_a_token_refused_twice_asks_to_retry_later_without_looping(
    api: WeChatApi, fake: FakeWeChat
) -> None:
    fake.script(CUSTOMER_SERVICE_PATH, 40001, 40001)
    result = await api.send_text("o1", "a")
    assert result.outcome is Outcome.RETRY_LATER
    assert result.errcode == 40001
    assert len(fake.to(CUSTOMER_SERVICE_PATH)) == 2
    assert len(fake.to(TOKEN_PATH)) == 2


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [
        (45015, Outcome.BLOCKED),
        (45047, Outcome.BLOCKED),
        (43004, Outcome.BLOCKED),
        (40003, Outcome.BLOCKED),
        (-1, Outcome.RETRY_LATER),
        (45009, Outcome.RETRY_LATER),
        (45011, Outcome.RETRY_LATER),
        (48001, Outcome.FAILED),
    ],
)
async def test_customer_service_errcodes_map_to_outcomes(
    api: WeChatApi, fake: FakeWeChat, errcode: int, outcome: Outcome
) -> None:
    fake.script(CUSTOMER_SERVICE_PATH, errcode)
    result = await api.send_text("o1", "a")
    assert (result.outcome, result.errcode) == (outcome, errcode)
    assert len(fake.to(CUSTOMER_SERVICE_PATH)) == 1


async def test_a_subscription_notice_wraps_each_value(api: WeChatApi, fake: FakeWeChat) -> None:
    result = await api.send_subscription(
        "oStudent",
        "tmpl-1",
        {"thing1": "每周心情小调查", "time2": "2026-03-02 16:00"},
        page="https://heartguard.example/chat",
    )
    assert result.delivered
    [call] = fake.to(SUBSCRIPTION_PATH)
    assert call.body == {
        "touser": "oStudent",
        "template_id": "tmpl-1",
        "data": {"thing1": {"value": "每周心情小调查"}, "time2": {"value": "2026-03-02 16:00"}},
        "page": "https://heartguard.example/chat",
    }


async def test_a_refused_subscription_is_blocked(api: WeChatApi, fake: FakeWeChat) -> None:
    fake.script(SUBSCRIPTION_PATH, 43101)
    result = await api.send_subscription("oStudent", "tmpl-1", {"thing1": "x"})
    assert (result.outcome, result.errcode) == (Outcome.BLOCKED, 43101)
    assert "page" not in fake.to(SUBSCRIPTION_PATH)[0].body


@pytest.mark.parametrize(
    ("errcode", "outcome"),
    [(40125, Outcome.FAILED), (40001, Outcome.FAILED), (-1, Outcome.RETRY_LATER)],
)
async def test_a_refused_token_request_sends_nothing(
    api: WeChatApi, fake: FakeWeChat, errcode: int, outcome: Outcome
) -> None:
    fake.token_errcode = errcode
    result = await api.send_text("o1", "a")
    assert (result.outcome, result.errcode) == (outcome, errcode)
    assert fake.to(CUSTOMER_SERVICE_PATH) == []


async def test_an_http_error_asks_to_retry_later(api: WeChatApi, fake: FakeWeChat) -> None:
    fake.http_status = 502
    result = await api.send_text("o1", "a")
    assert result.outcome is Outcome.RETRY_LATER
    assert len(fake.calls) == 1


async def test_an_unreachable_api_asks_to_retry_later() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with WeChatApi(APP_ID, SECRET, base_url=f"http://127.0.0.1:{port}") as client:
        result = await client.send_text("o1", "a")
    assert (result.outcome, result.reason) == (Outcome.RETRY_LATER, "network error")


async def test_concurrent_sends_share_one_token_request(api: WeChatApi, fake: FakeWeChat) -> None:
    results = await asyncio.gather(*(api.send_text(f"o{n}", "hi") for n in range(5)))
    assert all(result.delivered for result in results)
    assert len(fake.to(TOKEN_PATH)) == 1
    assert len(fake.to(CUSTOMER_SERVICE_PATH)) == 5


def test_repr_hides_the_secret() -> None:
    shown = repr(WeChatApi(APP_ID, SECRET, http=object()))  # type: ignore[arg-type]
    assert APP_ID in shown
    assert SECRET not in shown
