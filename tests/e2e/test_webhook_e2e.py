"""``heartguard run`` in webhook mode, as a real process, with the emulator calling it.

The bot registers its webhook with the emulator (setWebhook with the secret), the emulator
delivers each update through a relay that plays Telegram's part (the secret header, dates in
seconds), and the bot answers through the emulator as in polling mode. Calls without the
secret, or with a wrong one, are refused and change nothing.
"""

from __future__ import annotations

import signal
import sqlite3

import httpx
import pytest
from e2e_world import BotRun, Person, WebhookRelay, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SECRET = "e2e-webhook-secret_42"
STUDENT = 3003


def students_in(run: BotRun) -> int:
    path = run.database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM students").fetchone()[0])


async def test_webhook_mode_takes_signed_updates_only_and_stops_cleanly(
    bot_run: BotRun, telegram_client: httpx.AsyncClient
) -> None:
    port = free_port()
    bot_run.env["HEARTGUARD_TELEGRAM_WEBHOOK_SECRET"] = SECRET
    target = f"http://127.0.0.1:{port}/hooks/telegram"
    with WebhookRelay(target, SECRET) as relay:
        webhook = (
            "[telegram]\n"
            'mode = "webhook"\n'
            'webhook_listen = "127.0.0.1"\n'
            f"webhook_port = {port}\n"
            'webhook_path = "/hooks/telegram"\n'
            f'webhook_public_url = "{relay.url}"\n'
        )
        config = bot_run.config.read_text(encoding="utf-8")
        bot_run.config.write_text(config.replace("[telegram]\n", webhook), encoding="utf-8")
        bot_run.heartguard("db", "upgrade")
        bot_run.start()
        [registered] = bot_run.api_calls("setWebhook")
        assert registered["url"] == f"{relay.url}/hooks/telegram"
        assert registered["secret_token"] == SECRET

        forged = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1_793_000_000,
                "chat": {"id": 4040, "type": "private"},
                "from": {"id": 4040, "is_bot": False, "first_name": "X"},
                "text": "/start",
            },
        }
        async with httpx.AsyncClient(timeout=10) as direct:
            unsigned = await direct.post(target, json=forged)
            wrong = await direct.post(
                target, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
        assert (unsigned.status_code, wrong.status_code) == (403, 403)

        student = Person(telegram_client, STUDENT)
        await student.command("/start")
        shown, data = await student.expect_button(":zh")
        await student.press(shown, data)
        await student.expect_button(":agree")
        assert relay.statuses
        assert set(relay.statuses) == {200}
        assert students_in(bot_run) == 1  # the student; the forged /start changed nothing
        assert not [c for c in bot_run.api_calls("sendMessage") if c.get("chat_id") == 4040]

        assert bot_run.stop(signal.SIGTERM) == 0
    log = bot_run.log.read_text(encoding="utf-8")
    assert "running (webhook)" in log
    assert "telegram bot stopped" in log
