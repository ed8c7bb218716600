"""Telegram failures: classified in one place, and the one central error handler.

Logs carry ids (update, chat) and exception types with code locations, never an exception's
message: messages can quote what a student wrote. Nothing from an update is forwarded
anywhere; the student gets a fixed supportive text with the crisis lines.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import traceback
from collections.abc import Callable

from telegram import Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ContextTypes

from bot.channels.telegram.texts import Texts, language_of
from escalation.notifiers.base import SendResult

log = logging.getLogger(__name__)


class Verdict(enum.StrEnum):
    """What to do after a failed call to Telegram."""

    RETRY = "retry"  # flood control, a timeout, the network: try again later
    PERMANENT = "permanent"  # this chat will not take it (blocked, gone, migrated, bad token)
    DROP = "drop"  # the request itself is wrong (BadRequest): log it, do not repeat it


def classify(exc: TelegramError) -> Verdict:
    """The one place that knows which Telegram errors are worth retrying."""
    # BadRequest and TimedOut are NetworkErrors in PTB's hierarchy: test them first.
    if isinstance(exc, BadRequest):
        return Verdict.DROP
    if isinstance(exc, Forbidden | ChatMigrated | InvalidToken):
        return Verdict.PERMANENT
    if isinstance(exc, RetryAfter | TimedOut | NetworkError):
        return Verdict.RETRY
    return Verdict.RETRY


def describe(exc: TelegramError) -> str:
    """Type and Telegram's own description (it never quotes message text)."""
    return f"{type(exc).__name__}: {exc.message}"


def send_result(exc: TelegramError) -> SendResult:
    """A failed alert delivery, as the green channel's outbox understands it."""
    if classify(exc) is Verdict.RETRY:
        return SendResult.retry(describe(exc))
    return SendResult.failed(describe(exc))


def where(exc: BaseException, depth: int = 6) -> str:
    """The innermost code locations of an exception, without its message."""
    frames = traceback.extract_tb(exc.__traceback__)[-depth:]
    return " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames)


ResourcesOf = Callable[[str], str]


class ErrorHandler:
    """PTB's error callback: log ids, reassure the student, forward nothing."""

    def __init__(self, texts: Texts, resources: ResourcesOf) -> None:
        self.texts = texts
        self.resources = resources

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one error raised while processing an update (or while polling)."""
        exc = context.error
        if exc is None:
            return
        if not isinstance(update, Update):
            # Polling and webhook problems: PTB retries on its own.
            log.warning("telegram: %s while fetching updates", type(exc).__name__)
            return
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else None
        log.error(
            "update %s (chat %s) failed: %s at %s",
            update.update_id,
            chat_id,
            type(exc).__name__,
            where(exc),
        )
        if chat is None or chat.type != chat.PRIVATE or isinstance(exc, Forbidden):
            return
        if update.callback_query is not None:
            # The spinner stops by itself if this fails; the message below matters more.
            with contextlib.suppress(TelegramError):
                await update.callback_query.answer()
        user = update.effective_user
        language = language_of(user.language_code if user is not None else None)
        text = self.texts.student("error", language, resources=self.resources(language))
        try:
            await context.bot.send_message(chat.id, text)
        except TelegramError as err:
            log.warning("could not tell chat %s about a failure: %s", chat.id, type(err).__name__)
