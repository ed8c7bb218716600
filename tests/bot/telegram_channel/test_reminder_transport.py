"""Reminders through a real Bot object over the recording Bot API: errors classified."""

from __future__ import annotations

from fake_telegram import RecordingRequest
from telegram import Bot

from bot.channels.telegram.reminders import TelegramReminderTransport


def bot_for(api: RecordingRequest) -> Bot:
    return Bot("123:ABC", request=api, get_updates_request=api)


async def test_a_reminder_is_sent_to_the_chat() -> None:
    api = RecordingRequest()
    transport = TelegramReminderTransport(bot_for(api))
    result = await transport.send("4242", "该做每周小调查啦")
    assert result.outcome == "ok"
    [call] = api.of("sendMessage")
    assert (int(call.params["chat_id"]), call.params["text"]) == (4242, "该做每周小调查啦")


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
    transport = TelegramReminderTransport(bot_for(api))
    blocked = await transport.send("1", "x")
    limited = await transport.send("1", "x")
    missing = await transport.send("1", "x")
    assert blocked.outcome == "forbidden"
    assert (limited.outcome, limited.retry_after) == ("retry", 3.0)
    assert missing.outcome == "error"
