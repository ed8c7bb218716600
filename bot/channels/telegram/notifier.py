"""Green-channel alerts to counselors in Telegram, with action buttons.

Implements escalation's Notifier interface: channel "telegram", the address is the
counselor's chat id. The text is the shared plain rendering (escalation.notifiers.render),
so an alert says the same thing on every channel.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.channels.telegram.callbacks import TAKE, case_keyboard, open_actions
from bot.channels.telegram.errors import send_result
from bot.channels.telegram.texts import Texts
from escalation.notifiers.base import Alert, SendResult
from escalation.notifiers.render import fit, render

log = logging.getLogger(__name__)
# Telegram's limit is 4096 characters; bytes are a safe, stricter measure for fit().
MAX_TEXT_BYTES = 4000
WITH_BUTTONS = frozenset({"alert", "update"})


def alert_text(alert: Alert) -> str:
    """The alert as plain text within Telegram's size limit."""
    return fit(lambda a: render(a)[1], alert, MAX_TEXT_BYTES)


class TelegramNotifier:
    """Sends alerts through a bot: the bot process's own, or a bare one in other processes."""

    channel = "telegram"

    def __init__(self, bot: Bot, texts: Texts) -> None:
        self.bot = bot
        self.texts = texts
        self._ready = False

    async def send(self, alert: Alert) -> SendResult:
        """Deliver one alert; Telegram errors become retry/failed results, never exceptions."""
        try:
            chat_id = int(alert.address)
        except ValueError:
            return SendResult.failed("telegram address is not a chat id")
        markup = None
        if alert.kind in WITH_BUTTONS:
            markup = case_keyboard(
                alert.case_id,
                # Every alert about an open case offers to take over the student's chat.
                open_actions(alert.status, (*alert.actions, TAKE)),
                dict(self.texts.action_labels),
            )
        if not self._ready:
            # A bare bot (worker, chat) connects on its first alert; the bot process's bot
            # is already up, and initialize() then does nothing.
            try:
                await self.bot.initialize()
            except TelegramError as exc:
                return send_result(exc)
            self._ready = True
        edit = alert.extra.get("edit_message_id", "")
        if alert.kind == "update" and edit.isdigit():
            return await self._edit(chat_id, int(edit), alert, markup)
        try:
            message = await self.bot.send_message(chat_id, alert_text(alert), reply_markup=markup)
        except TelegramError as exc:
            result = send_result(exc)
            log.info(
                "telegram alert %s to chat %s not delivered (%s)",
                alert.notification_id,
                chat_id,
                "retry" if not result.permanent else "permanent",
            )
            return result
        return SendResult.delivered(external_id=str(message.message_id))

    async def _edit(
        self, chat_id: int, message_id: int, alert: Alert, markup: InlineKeyboardMarkup | None
    ) -> SendResult:
        """Show the case's new status on the alert the counselor already has."""
        try:
            await self.bot.edit_message_text(
                alert_text(alert), chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return SendResult.delivered(external_id=str(message_id))
            # The alert is gone (deleted, too old to edit): send the update as a new message.
            try:
                sent = await self.bot.send_message(chat_id, alert_text(alert), reply_markup=markup)
            except TelegramError as again:
                return send_result(again)
            return SendResult.delivered(external_id=str(sent.message_id))
        except TelegramError as exc:
            return send_result(exc)
        return SendResult.delivered(external_id=str(message_id))
