"""The Telegram channel's plug: a bot, the port to students' chats, the counselor notifier.

Every process that can reach Telegram gets the same plug from the bootstrap. ``heartguard run``
hands in its Application's bot (one rate limiter for updates, replies, reminders and alerts);
every other process (the worker, ``chat``, ``demo``) builds a bare bot from the token, so it
delivers Telegram alerts too instead of leaving them to a process that may not be running.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot

from bot.channels.port import Attachment, ChannelPlug, Delivery, DeliveryResult
from bot.channels.telegram import CHANNEL
from bot.channels.telegram.callbacks import prompt_token, student_keyboard
from bot.channels.telegram.notifier import TelegramNotifier
from bot.channels.telegram.texts import load_texts
from bot.config.settings import Settings
from bot.services.flood import FloodGate
from bot.services.render import Outbound

log = logging.getLogger(__name__)
MAX_TEXT = 4096
# Retries PTB's rate limiter makes itself after a RetryAfter, before the caller sees it.
RATE_LIMIT_RETRIES = 2
# Telegram allows about 30 messages a second overall: reminders stay just under it.
REMINDER_RATE = 29.0


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram-sized pieces, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces


def last_prompt(replies: Sequence[Outbound]) -> str | None:
    """The token of the last question with buttons in these replies, if any."""
    for reply in reversed(replies):
        if reply.buttons:
            return prompt_token(reply.text, [key for key, _ in reply.buttons])
    return None


def make_bot(settings: Settings) -> Bot:
    """A bare bot from the token (and ``telegram.base_url``), behind PTB's rate limiter."""
    token = settings.telegram.token
    if token is None:
        raise ValueError("no Telegram token")  # plug() checks first
    base_url = settings.telegram.base_url or "https://api.telegram.org/bot"
    return ExtBot(
        token.get_secret_value(),
        base_url=base_url,
        rate_limiter=AIORateLimiter(max_retries=RATE_LIMIT_RETRIES),
    )


class TelegramPort:
    """Delivers replies, held replies and reminders to students' private chats."""

    channel = CHANNEL

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._ready = False

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        """Send the replies in order (buttons on the ones that have them), then the files."""
        try:
            target = int(chat_id)
        except ValueError:
            return DeliveryResult(Delivery.FAILED, error="not a Telegram chat id")
        try:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True
            for reply in replies:
                pieces = split_text(reply.text) or [" "]
                for piece in pieces[:-1]:
                    await self.bot.send_message(target, piece)
                markup = None
                if reply.buttons:
                    keys = [key for key, _ in reply.buttons]
                    markup = student_keyboard(reply.buttons, prompt_token(reply.text, keys))
                await self.bot.send_message(target, pieces[-1], reply_markup=markup)
            for name, data in attachments:
                await self.bot.send_document(target, document=data, filename=name)
        except Forbidden:
            return DeliveryResult(Delivery.BLOCKED, error="Forbidden")
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return DeliveryResult(Delivery.RETRY, retry_after=seconds, error="RetryAfter")
        except BadRequest as exc:
            # Before NetworkError: PTB's BadRequest is a NetworkError, and retrying a bad
            # request only repeats it.
            return DeliveryResult(Delivery.FAILED, error=f"BadRequest: {exc.message}")
        except (NetworkError, TelegramError) as exc:
            return DeliveryResult(Delivery.RETRY, retry_after=1.0, error=type(exc).__name__)
        return DeliveryResult(Delivery.DELIVERED)


def plug(settings: Settings, bot: Bot | None = None) -> ChannelPlug | None:
    """The Telegram plug: None when no token is configured (and no bot is handed in)."""
    if bot is None and settings.telegram.token is None:
        return None
    from bot.channels.telegram.inbox import TelegramInbox  # it splits text with this module

    owned = bot is None
    chosen = bot if bot is not None else make_bot(settings)
    tg = settings.telegram

    async def close() -> None:
        try:
            await chosen.shutdown()
        except TelegramError as exc:
            log.debug("telegram bot shutdown: %s", type(exc).__name__)

    return ChannelPlug(
        name=CHANNEL,
        port=TelegramPort(chosen),
        notifier=TelegramNotifier(chosen, load_texts()),
        flood=FloodGate(tg.flood_burst, tg.flood_interval.total_seconds()),
        reminder_rate=REMINDER_RATE,
        inbox=TelegramInbox(chosen, load_texts(), zone=settings.schools.default_timezone),
        close=close if owned else None,
    )
