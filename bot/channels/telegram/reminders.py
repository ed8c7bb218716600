"""Sending reminders through the bot: one text to one chat, failures classified."""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.services.reminders import Delivery


class TelegramReminderTransport:
    """Implements bot.services.reminders.ReminderTransport with the application's bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, text: str) -> Delivery:
        """Send; Forbidden means the student blocked the bot."""
        try:
            await self.bot.send_message(chat_id=int(chat_id), text=text)
        except Forbidden:
            return Delivery("forbidden", error="Forbidden")
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return Delivery("retry", retry_after=seconds, error="RetryAfter")
        except (BadRequest, ValueError) as exc:
            # Before NetworkError: PTB's BadRequest is a NetworkError, and retrying a bad
            # request only repeats it.
            return Delivery("error", error=type(exc).__name__)
        except (TimedOut, NetworkError) as exc:
            return Delivery("retry", retry_after=1.0, error=type(exc).__name__)
        return Delivery("ok")
