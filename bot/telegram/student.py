"""The student side: private chats in, pipeline, replies out.

Updates run concurrently (``concurrent_updates``); the pipeline orders each student's
messages. This channel also holds a per-chat lock around "check the button, run the pipeline,
send the replies", so that replies leave in the order their messages came in and a double
press on one keyboard cannot answer two questions.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.pipeline import Inbound, InboundKind, Outcome, Pipeline
from bot.telegram.callbacks import StudentPress, parse, prompt_token, student_keyboard
from bot.telegram.prompts import CHANNEL, PromptStore
from bot.telegram.texts import Texts, language_of

log = logging.getLogger(__name__)
MAX_TEXT = 4096
# A Telegram message kind → the media name the flows get (they answer it gently).
_MEDIA = (
    "sticker",
    "voice",
    "photo",
    "video",
    "video_note",
    "animation",
    "audio",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)

Clock = Callable[[], datetime]
Kick = Callable[[], None]


def to_inbound(update: Update) -> Inbound | None:
    """What a student sent, as the pipeline's Inbound; None for service messages."""
    edited = update.edited_message is not None
    message = update.edited_message or update.message
    user = update.effective_user
    if message is None or user is None:
        return None

    def inbound(kind: InboundKind, value: str) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            external_id=str(user.id),
            kind=kind,
            value=value,
            chat_id=str(message.chat.id),
            message_id=str(message.message_id),
        )

    if message.text is not None:
        if not edited and _is_command(message):
            return inbound("command", message.text[1:].split(maxsplit=1)[0] or "help")
        return inbound("edited" if edited else "text", message.text)
    if message.caption:
        return inbound("edited" if edited else "caption", message.caption)
    for kind in _MEDIA:
        if getattr(message, kind, None):
            return inbound("media", kind)
    return None


def _is_command(message: Message) -> bool:
    entities = message.entities or ()
    return bool(message.text and message.text.startswith("/")) and any(
        e.type == e.BOT_COMMAND and e.offset == 0 for e in entities
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Telegram-sized pieces, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces


def last_prompt(outcome: Outcome) -> str | None:
    """The token of the last question with buttons in these replies, if any."""
    for reply in reversed(outcome.replies):
        if reply.buttons:
            return prompt_token(reply.text, [key for key, _ in reply.buttons])
    return None


class StudentChannel:
    """Handlers for students in private chats."""

    def __init__(
        self,
        pipeline: Pipeline,
        prompts: PromptStore,
        texts: Texts,
        *,
        kick: Kick,
        clock: Clock,
    ) -> None:
        self.pipeline = pipeline
        self.prompts = prompts
        self.texts = texts
        self.kick = kick
        self.clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        return lock

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, edits, captions, media and commands from a student."""
        inbound = to_inbound(update)
        chat = update.effective_chat
        if inbound is None or chat is None:
            return
        async with self._lock(chat.id):
            await self._run(context.bot, chat.id, inbound)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on one of our answer buttons: to the pipeline only when it is current."""
        query = update.callback_query
        if query is None:
            return
        press = parse(query.data)
        message = query.message
        user = query.from_user
        if (
            not isinstance(press, StudentPress)
            or message is None
            or message.chat.type != message.chat.PRIVATE
            or message.chat.id != user.id
        ):
            # Not from a keyboard we showed this student in their own chat.
            await query.answer(
                self.texts.student("foreign_button", language_of(user.language_code))
            )
            return
        async with self._lock(message.chat.id):
            prompt = await self.prompts.current(user.id)
            if prompt is None or prompt.token is None or prompt.token != press.token:
                language = prompt.language if prompt else language_of(user.language_code)
                await query.answer(self.texts.student("stale_button", language))
                log.info("stale button press in chat %s", message.chat.id)
                return
            await query.answer()
            try:
                # The answer is given: take the keyboard away so it cannot be pressed twice.
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as exc:
                log.debug("keyboard of chat %s kept: %s", message.chat.id, type(exc).__name__)
            inbound = Inbound(
                channel=CHANNEL,
                external_id=str(user.id),
                kind="button",
                value=press.value,
                chat_id=str(message.chat.id),
                message_id=str(message.message_id),
            )
            await self._run(context.bot, message.chat.id, inbound)

    async def _run(self, bot: Bot, chat_id: int, inbound: Inbound) -> None:
        outcome = await self.pipeline.handle(inbound, self.clock())
        if outcome.created_case_request:
            self.kick()  # committed: the green channel may page someone now
        await self.deliver(bot, chat_id, outcome)
        if outcome.replies and not outcome.erased:
            try:
                await self.prompts.remember(int(inbound.external_id), last_prompt(outcome))
            except SQLAlchemyError as exc:
                # The replies are out; a lost token only makes the new buttons look stale
                # (typing the answer still works).
                log.warning("prompt of chat %s not stored: %s", chat_id, type(exc).__name__)

    async def deliver(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        """Send the replies in order, buttons on the ones that have them, then attachments."""
        for reply in outcome.replies:
            pieces = split_text(reply.text) or [" "]
            for piece in pieces[:-1]:
                await bot.send_message(chat_id, piece)
            markup = None
            if reply.buttons:
                keys = [key for key, _ in reply.buttons]
                markup = student_keyboard(reply.buttons, prompt_token(reply.text, keys))
            await bot.send_message(chat_id, pieces[-1], reply_markup=markup)
        for name, data in outcome.attachments:
            await bot.send_document(chat_id, document=data, filename=name)

    async def on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything a person says to us in a group: one line pointing to a private chat."""
        chat = update.effective_chat
        user = update.effective_user
        message = update.effective_message
        if chat is None or user is None or user.is_bot or message is None:
            return
        if not _addressed_to(message, context.bot.username):
            return
        await context.bot.send_message(chat.id, self.texts.student("private_only", None))


def _addressed_to(message: Message, username: str) -> bool:
    """A command for us (bare, or /cmd@us) or a mention of us; not one for another bot."""
    text = (message.text or message.caption or "").lower()
    mine = f"@{username}".lower()
    if text.startswith("/"):
        first = text.split(maxsplit=1)[0]
        return "@" not in first or first.endswith(mine)
    return mine in text
