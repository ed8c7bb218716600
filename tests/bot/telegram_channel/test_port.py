"""The Telegram port over a real Bot object and the recording Bot API: outcomes told apart."""

from __future__ import annotations

from fake_telegram import RecordingRequest
from telegram import Bot

from bot.channels.port import Delivery
from bot.channels.telegram.kit import TelegramPort
from bot.services.render import Outbound


def port_for(api: RecordingRequest) -> TelegramPort:
    return TelegramPort(Bot("123:ABC", request=api, get_updates_request=api))


async def test_a_reminder_is_sent_to_the_chat() -> None:
    api = RecordingRequest()
    result = await port_for(api).deliver("4242", [Outbound("该做每周小调查啦")])
    assert result.status is Delivery.DELIVERED
    [call] = api.of("sendMessage")
    assert (int(call.params["chat_id"]), call.params["text"]) == (4242, "该做每周小调查啦")


async def test_buttons_long_texts_and_files_go_out_in_order() -> None:
    api = RecordingRequest()
    long = "一" * 5000
    result = await port_for(api).deliver(
        "7",
        [Outbound(long), Outbound("选一个", (("yes", "是"), ("no", "不是")))],
        [("mydata.json", b"{}")],
    )
    assert result.ok
    sent = api.of("sendMessage")
    assert [len(c.params["text"]) for c in sent] == [4096, 904, 3]
    assert "reply_markup" in sent[-1].params
    assert len(api.of("sendDocument")) == 1


async def test_blocked_rate_limited_and_bad_chats_are_told_apart() -> None:
    api = RecordingRequest(
        failures={
            "sendMessage": [
                {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                {
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3},
                },
                {"error_code": 400, "description": "Bad Request: chat not found"},
            ]
        }
    )
    port = port_for(api)
    blocked = await port.deliver("1", [Outbound("x")])
    limited = await port.deliver("1", [Outbound("x")])
    missing = await port.deliver("1", [Outbound("x")])
    assert blocked.status is Delivery.BLOCKED
    assert (limited.status, limited.retry_after) == (Delivery.RETRY, 3.0)
    assert missing.status is Delivery.FAILED
    assert (await port.deliver("not-a-chat", [Outbound("x")])).status is Delivery.FAILED
