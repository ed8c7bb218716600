"""The Telegram tests' small world: constants, a hand-moved clock and a chat driver.

``Chat`` sends updates through the real Application and returns the Bot API calls they caused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fake_telegram import Call, RecordingRequest, Updates

from bot.channels.telegram.runner import BotProcess

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
TOKEN = "123456:offline-test-token"
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "BB01,初二(1)班,8,S001,测试甲,yes\n"
    "BB02,初二(2)班,8,S101,测试丙,yes\n"
).encode()
STUDENT = 4242
COUNSELOR = 5151


class Clock:
    """Moves one second per reading, so events keep their order."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Chat:
    """Sends updates through the real Application and returns the API calls they caused."""

    def __init__(self, process: BotProcess, api: RecordingRequest) -> None:
        self.process = process
        self.api = api
        self.make = Updates(process.application.bot)

    async def send(self, update: object) -> list[Call]:
        mark = len(self.api.calls)
        await self.process.application.process_update(update)
        return self.api.calls[mark:]

    async def text(self, user: int, text: str) -> list[Call]:
        return await self.send(self.make.text(user, text))

    async def command(self, user: int, text: str) -> list[Call]:
        return await self.send(self.make.command(user, text))

    def keyboard(self, chat_id: int) -> Call:
        """The newest message with buttons sent to a chat."""
        with_buttons = [c for c in self.api.sent_to(chat_id) if c.callback_data]
        assert with_buttons, "no keyboard was sent to this chat"
        return with_buttons[-1]

    async def press(self, user: int, key: str, keyboard: Call | None = None) -> list[Call]:
        """Press the button whose option key is ``key`` (default: on the newest keyboard)."""
        shown = keyboard or self.keyboard(user)
        [data] = [d for d in shown.callback_data if d.endswith(f":{key}")]
        assert shown.message_id is not None
        return await self.send(
            self.make.press(user, data, message_id=shown.message_id, text=shown.text)
        )

    async def first_option(self, user: int) -> list[Call]:
        shown = self.keyboard(user)
        assert shown.message_id is not None
        return await self.send(
            self.make.press(
                user, shown.callback_data[0], message_id=shown.message_id, text=shown.text
            )
        )


def texts_of(calls: list[Call]) -> str:
    return "\n".join(c.text for c in calls if c.method == "sendMessage")


async def onboard(chat: Chat, user: int, code: str) -> None:
    """/start, Chinese, consent, the enrollment code, no reminders: the home menu is shown."""
    await chat.command(user, "/start")
    await chat.press(user, "zh")
    await chat.press(user, "agree")
    await chat.text(user, code)
    if any(d.endswith(":reminder_none") for d in chat.keyboard(user).callback_data):
        await chat.press(user, "reminder_none")
