"""The command menu students see, registered with Telegram in Chinese and English."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.channels.telegram.texts import Texts

log = logging.getLogger(__name__)
STUDENT_COMMANDS = (
    "start",
    "checkin",
    "talk",
    "help",
    "plan",
    "settings",
    "mydata",
    "delete",
    "cancel",
)


def menu(texts: Texts, language: str) -> list[BotCommand]:
    """The student commands with their descriptions in one language."""
    described = dict(texts.commands(language))
    return [BotCommand(name, described[name]) for name in STUDENT_COMMANDS]


async def register_commands(bot: Bot, texts: Texts) -> bool:
    """Set the menu: Chinese as the default, English for English-language clients.

    A failure is logged, not fatal: the commands work without the menu.
    """
    try:
        await bot.set_my_commands(menu(texts, "zh"))
        await bot.set_my_commands(menu(texts, "en"), language_code="en")
    except TelegramError as exc:
        log.warning("command menu not registered: %s", type(exc).__name__)
        return False
    return True
