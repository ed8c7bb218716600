"""The student side: private chats in, pipeline, replies out.

Updates run concurrently (``concurrent_updates``); the pipeline orders each student's
messages. This channel also holds a per-chat lock around "check the button, run the pipeline,
send the replies", so that replies leave in the order their messages came in and a double
press on one keyboard cannot answer two questions.

Flood control (bot.channels.telegram.flood) slows down a student who sends dozens of messages a
second: each message still goes through the pipeline, but the replies beyond the chat's
burst are held, merged (only the newest are sent) and flushed when the chat calms down.
A refused reply (the student blocked the bot) marks the student unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram import CHANNEL
from bot.channels.telegram.callbacks import StudentPress, parse, prompt_token, student_keyboard
from bot.channels.telegram.flood import PRUNE_AT, FloodGate
from bot.channels.telegram.texts import Texts, language_of
from bot.services.pipeline import Inbound, InboundKind, Outcome, Pipeline
from bot.services.render import Outbound
from bot.services.students import mark_unreachable
from core.vocabulary import RiskLevel

log = logging.getLogger(__name__)
MAX_TEXT = 4096
# Replies flood control never holds back, beside risk and new cases: a call for a human.
URGENT_COMMANDS = frozenset({"help", "talk"})
# A flooding student is told to slow down at most this often (seconds).
NOTE_EVERY = 60.0
# Held replies are sent no sooner than this after the last one (seconds).
MIN_PAUSE = 0.05
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


def last_prompt(replies: Sequence[Outbound]) -> str | None:
    """The token of the last question with buttons in these replies, if any."""
    for reply in reversed(replies):
        if reply.buttons:
            return prompt_token(reply.text, [key for key, _ in reply.buttons])
    return None


@dataclass
class _Held:
    """Replies held back from a flooding chat: only the newest are sent, when it calms down."""

    bot: Bot
    outcome: Outcome


def is_urgent(inbound: Inbound, outcome: Outcome) -> bool:
    """Replies that flood control never holds back: risk, a new case, a call for help."""
    if outcome.created_case_request:
        return True
    if outcome.assessment is not None and outcome.assessment.level >= RiskLevel.MODERATE:
        return True
    command = inbound.value.lstrip("/").split("@", 1)[0].lower()
    return inbound.kind == "command" and command in URGENT_COMMANDS


class StudentChannel:
    """Handlers for students in private chats."""

    def __init__(
        self,
        pipeline: Pipeline,
        texts: Texts,
        *,
        kick: Kick,
        clock: Clock,
        flood: FloodGate | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.texts = texts
        self.kick = kick
        self.clock = clock
        self.flood = flood or FloodGate(5, 1.0)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._held: dict[int, _Held] = {}
        self._flushers: dict[int, asyncio.Task[None]] = {}
        self._noted: dict[int, float] = {}

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
            # Every message reaches the pipeline, flooding or not: it is stored and scanned,
            # and a crisis is escalated. Flood control only decides when the replies go out.
            outcome = await self._handle(inbound)
            if self.flood.admit(chat.id) or is_urgent(inbound, outcome):
                await self._send(context.bot, chat.id, outcome)
            else:
                await self._hold(context.bot, chat.id, outcome)

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
            inbound = Inbound(
                channel=CHANNEL,
                external_id=str(user.id),
                kind="button",
                value=press.value,
                chat_id=str(message.chat.id),
                message_id=str(message.message_id),
                prompt=press.token,
            )
            # The pipeline checks the token in the step's own transaction.
            outcome = await self._handle(inbound)
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
            await self._send(context.bot, message.chat.id, outcome)

    async def _handle(self, inbound: Inbound) -> Outcome:
        # The new question's token commits with the step: older keyboards are stale from
        # then on, even while flood control holds the new one back.
        outcome = await self.pipeline.handle(inbound, self.clock(), prompt_of=last_prompt)
        if outcome.created_case_request:
            self.kick()  # committed: the green channel may page someone now
        return outcome

    async def _send(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        """Send these replies; they supersede any held ones."""
        held = self._held.pop(chat_id, None)
        if held is not None:
            # Older replies are dropped as duplicates; a document asked for is not.
            outcome.attachments[:0] = held.outcome.attachments
        try:
            await self.deliver(bot, chat_id, outcome)
        except Forbidden:
            await self._blocked(outcome.student_id, chat_id)

    async def _blocked(self, student_id: int, chat_id: int) -> None:
        """Telegram refused a reply: the student blocked the bot."""
        async with self.pipeline.sessions.begin() as session:
            changed = await mark_unreachable(session, student_id, self.clock(), why="reply refused")
        log.warning(
            "reply to chat %s refused (Forbidden)%s",
            chat_id,
            f"; student {student_id} marked unreachable" if changed else "",
        )

    async def _hold(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        """Hold back a flooding chat's replies; tell the student once; flush when calm."""
        previous = self._held.get(chat_id)
        if previous is not None:
            outcome.attachments[:0] = previous.outcome.attachments
        else:
            log.info("chat %s is flooding: replies held", chat_id)
        self._held[chat_id] = _Held(bot, outcome)
        now = self.flood.clock()
        if len(self._noted) >= PRUNE_AT:
            self._noted = {c: t for c, t in self._noted.items() if now - t < NOTE_EVERY}
        if now - self._noted.get(chat_id, -NOTE_EVERY) >= NOTE_EVERY:
            self._noted[chat_id] = now
            try:
                await bot.send_message(chat_id, self.texts.student("slow_down", outcome.language))
            except Forbidden:
                self._held.pop(chat_id, None)
                await self._blocked(outcome.student_id, chat_id)
                return
        if chat_id not in self._flushers:
            self._flushers[chat_id] = asyncio.create_task(self._flush_later(chat_id))

    async def _flush_later(self, chat_id: int) -> None:
        """Send the newest held replies as soon as the chat has a token again."""
        try:
            while chat_id in self._held:
                await asyncio.sleep(max(self.flood.wait(chat_id), MIN_PAUSE))
                async with self._lock(chat_id):
                    held = self._held.get(chat_id)
                    if held is not None and self.flood.admit(chat_id):
                        await self._send(held.bot, chat_id, held.outcome)
        except TelegramError as exc:
            log.warning("held replies to chat %s not sent: %s", chat_id, type(exc).__name__)
        finally:
            self._flushers.pop(chat_id, None)

    async def drain(self) -> None:
        """Send every held reply now (at shutdown): nothing a student is owed is lost."""
        for chat_id in list(self._held):
            async with self._lock(chat_id):
                held = self._held.get(chat_id)
                if held is None:
                    continue  # a flusher sent it while we waited for the lock
                try:
                    await self._send(held.bot, chat_id, held.outcome)
                except TelegramError as exc:
                    log.warning("held replies to chat %s lost: %s", chat_id, type(exc).__name__)
        flushers = list(self._flushers.values())
        for task in flushers:
            task.cancel()
        await asyncio.gather(*flushers, return_exceptions=True)
        self._noted.clear()

    def held(self, chat_id: int) -> Outcome | None:
        """The replies held back for a chat, if it is flooding."""
        held = self._held.get(chat_id)
        return held.outcome if held is not None else None

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
