"""The student side: private chats in, the student service, replies out through the port.

Updates run concurrently (``concurrent_updates``); the student service orders each student's
messages, applies flood control and marks a student who blocked the bot unreachable. This
module only translates: a Telegram update becomes an ``Inbound``, and a button press is
answered (and its keyboard taken away) between the pipeline and the replies.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram import CHANNEL
from bot.channels.telegram.callbacks import StudentPress, parse
from bot.channels.telegram.kit import last_prompt
from bot.channels.telegram.texts import Texts, language_of
from bot.services.pipeline import Inbound, InboundKind
from bot.services.student_service import StudentService

log = logging.getLogger(__name__)

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
            # The whole line: the pipeline runs the command and reads the words after it.
            return inbound("command", message.text[1:])
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


class StudentChannel:
    """Handlers for students in private chats."""

    def __init__(self, students: StudentService, texts: Texts) -> None:
        self.students = students
        self.texts = texts

    async def on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text, edits, captions, media and commands from a student."""
        inbound = to_inbound(update)
        if inbound is None or update.effective_chat is None:
            return
        # Every message reaches the pipeline, flooding or not: it is stored and scanned, and
        # a crisis is escalated. Flood control only decides when the replies go out.
        await self.students.receive(inbound, prompt_of=last_prompt)

    async def on_press(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
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
        inbound = Inbound(
            channel=CHANNEL,
            external_id=str(user.id),
            kind="button",
            value=press.value,
            chat_id=str(message.chat.id),
            message_id=str(message.message_id),
            prompt=press.token,
        )
        async with self.students.exchange(CHANNEL, inbound.external_id) as exchange:
            # The pipeline checks the token in the step's own transaction.
            outcome = await exchange.handle(inbound, prompt_of=last_prompt)
            if outcome.stale:
                known = outcome.student_id != 0
                language = outcome.language if known else language_of(user.language_code)
                await query.answer(self.texts.student("stale_button", language))
                log.info("stale button press in chat %s", message.chat.id)
                return
            await query.answer()
            try:
                # The answer is taken: take the keyboard away so it cannot be pressed twice.
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as exc:
                log.debug("keyboard of chat %s kept: %s", message.chat.id, type(exc).__name__)
            await exchange.reply()

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
