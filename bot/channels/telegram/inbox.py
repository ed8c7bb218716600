"""The counselor inbox in Telegram: a taken chat's messages in the counselor's private chat.

Each item names its case in a first line the bot can read back, so the counselor answers a
student by replying (Telegram's reply-to) to the message that relayed their words, or with
``/reply N text``. Only a private chat (a positive chat id) ever gets a student's words: a
counselor group on the roster is paged like a person, but never sees what a student wrote.
"""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import TelegramError

from bot.channels.inbox import InboxItem, InboxKind
from bot.channels.telegram import CHANNEL
from bot.channels.telegram.kit import split_text
from bot.channels.telegram.texts import Texts
from escalation.notifiers.render import one_line

log = logging.getLogger(__name__)
# The first line of every inbox message: "💬 案例 Case #12 · 2026-00012 · 测试甲".
HEAD = re.compile(r"^\S* ?案例 Case #(\d+) ·")
LEVELS = {
    "imminent": "‼️ 紧急信号 IMMINENT",
    "high": "❗ 高风险信号 HIGH",
    "moderate": "⚠️ 需要留意 MODERATE",
    "low": "· 低 low",
}


def case_of_inbox(text: str | None) -> int | None:
    """The case an inbox message is about, read from its first line."""
    match = HEAD.match(text or "")
    return int(match.group(1)) if match else None


def private_chat(item: InboxItem) -> int | None:
    """The counselor's first Telegram contact that is a private chat, if any."""
    for channel, address in item.contacts:
        if channel == CHANNEL and address.lstrip("-").isdigit() and int(address) > 0:
            return int(address)
    return None


class TelegramInbox:
    """Writes inbox items to the counselor's private chat with the bot."""

    name = CHANNEL

    def __init__(self, bot: Bot, texts: Texts, *, zone: str = "Asia/Shanghai") -> None:
        self.bot = bot
        self.texts = texts
        self.zone = ZoneInfo(zone)

    def render(self, item: InboxItem) -> str:
        """The message text: the case line, then what happened."""
        head = self.texts.counselor(
            "inbox_head", id=item.case_id, case=item.case_number, student=one_line(item.student)
        )
        if item.kind is InboxKind.STUDENT:
            flag = LEVELS.get(item.level or "", "")
            body = [flag] if flag and item.level in ("moderate", "high", "imminent") else []
            if item.level in ("high", "imminent"):
                body.append(self.texts.counselor("inbox_raised"))
            body.append(item.text)
            return "\n".join([head, *body])
        return "\n".join(
            [
                head,
                self.texts.counselor(
                    f"inbox_{item.kind.value}", id=item.case_id, status=item.status
                ),
            ]
        )

    async def deliver(self, item: InboxItem) -> bool:
        """Send to the counselor's private chat; False when they have none or it fails."""
        chat = private_chat(item)
        if chat is None:
            return False
        try:
            for piece in split_text(self.render(item)):
                await self.bot.send_message(chat, piece)
        except TelegramError as exc:
            log.warning(
                "inbox item for counselor %s (case %s) not delivered: %s",
                item.counselor_id,
                item.case_id,
                type(exc).__name__,
            )
            return False
        return True
