"""The counselor side in Telegram: /link, alert buttons, /queue, /case and /note.

Someone is a counselor here only because their Telegram account is a counselor's "telegram"
contact (linked with a one-time code in a private chat), never because of anything a message
says. They act as counselors in that private chat, and in the counselor groups registered in
config (``telegram.counselor_groups``), where the bot answers only linked counselors. Case
lists and timelines asked for in a group go to the asker's private chat, so a group never
shows more than who did what. Every action and every case view goes through escalation's
CaseService, which checks scope and records the event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import CallbackQuery, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram.callbacks import (
    TAKE,
    CounselorPress,
    case_keyboard,
    open_actions,
    parse,
)
from bot.channels.telegram.texts import Texts
from bot.services.case_refs import CaseRef, parse_case_ref
from bot.services.counselor_desk import CounselorDesk as DeskService
from bot.services.counselor_desk import Who
from bot.services.one_time_codes import Redemption
from escalation.actions import Actor, CaseActionError, NotAllowedError
from escalation.cases import case_number
from escalation.notifiers.render import PRIORITY, STATUS, wish_words

log = logging.getLogger(__name__)
STATUS_MARK = "—— 状态 Status:"
QUEUE_LIMIT = 30
TIMELINE_LIMIT = 20


def _status(status: str) -> tuple[str, str]:
    return STATUS.get(status, (status, status))


def _priority(priority: str) -> tuple[str, str]:
    return PRIORITY.get(priority, (priority, priority.upper()))


def _age(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since) / timedelta(minutes=1)))
    if minutes < 120:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 2880 else f"{minutes // 1440}d"


def with_status(text: str, line: str) -> str:
    """The alert text with its status line replaced (or added)."""
    kept = [ln for ln in text.splitlines() if not ln.startswith(STATUS_MARK)]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, "", line])


class CounselorDesk:
    """Handlers for counselors in their private chats."""

    def __init__(
        self, service: DeskService, texts: Texts, *, zone: str, groups: Iterable[int] = ()
    ) -> None:
        self.service = service
        self.texts = texts
        self.clock = service.clock
        self.zone = ZoneInfo(zone)
        self.groups = frozenset(groups)
        # The alert's "Take over" button (the takeover desk plugs in here).
        self.take: Callable[[Update, Who, int], Awaitable[None]] | None = None

    async def who(self, user_id: int) -> Who | None:
        """The active counselor linked to this Telegram account (its private chat id), if any."""
        return await self.service.who(str(user_id))

    async def reply(self, update: Update, text: str) -> None:
        """Answer in the chat the update came from."""
        message = update.effective_message
        if message is not None:
            await message.get_bot().send_message(message.chat.id, text)

    def in_group(self, update: Update) -> bool:
        """Whether the update comes from a registered counselor group."""
        chat = update.effective_chat
        return chat is not None and chat.id in self.groups

    async def counselor_of(self, update: Update) -> Who | None:
        """The linked counselor writing in their private chat or a counselor group.

        Anyone else there is told it is for counselors; other chats get nothing.
        """
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            return None
        if chat.type == chat.PRIVATE:
            who = await self.who(chat.id)
        elif chat.id in self.groups and not user.is_bot:
            who = await self.who(user.id)
        else:
            return None
        if who is None:
            await self.reply(update, self.texts.counselor("not_counselor"))
        return who

    async def reply_privately(
        self, update: Update, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Case details: in the chat itself when private; from a group, to the asker's own chat."""
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        bot = message.get_bot()
        if not self.in_group(update):
            await bot.send_message(message.chat.id, text, reply_markup=markup)
            return
        try:
            await bot.send_message(user.id, text, reply_markup=markup)
        except (Forbidden, BadRequest) as exc:
            # They blocked the bot, or never opened a private chat with it ("chat not found").
            log.info("counselor chat %s not reachable privately: %s", user.id, type(exc).__name__)
            await self.reply(update, self.texts.counselor("private_refused"))
            return
        await self.reply(update, self.texts.counselor("sent_privately"))

    async def on_link(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/link CODE``: attach this private chat to the counselor the code was issued for."""
        chat = update.effective_chat
        if chat is None:
            return
        if chat.type != chat.PRIVATE:
            await self.reply(update, self.texts.counselor("link_private"))
            return
        if not context.args:
            await self.reply(update, self.texts.counselor("link_usage"))
            return
        result = await self.service.link(" ".join(context.args), str(chat.id))
        if result.outcome is Redemption.OK:
            log.info("chat %s linked to counselor %s", chat.id, result.counselor_id)
            await self.reply(update, self.texts.counselor("link_ok", name=result.counselor_name))
        else:
            log.info("chat %s: link code %s", chat.id, result.outcome.value)
            await self.reply(update, self.texts.counselor(f"link_{result.outcome.value}"))

    async def on_chat(self, update: Update, _context: ContextTypes.DEFAULT_TYPE, who: Who) -> None:
        """Anything else a linked counselor writes: what they can do here."""
        await self.reply(update, self.texts.counselor("help", name=who.name))

    async def on_press(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on an alert's action button."""
        query = update.callback_query
        if query is None:
            return
        press = parse(query.data)
        if not isinstance(press, CounselorPress):
            # Forged or garbled data: answered before anything reads the database.
            await query.answer(self.texts.counselor("invalid_button"), show_alert=True)
            return
        message = query.message
        own_chat = (
            message is not None
            and message.chat.type == message.chat.PRIVATE
            and message.chat.id == query.from_user.id
        )
        counselor_group = message is not None and message.chat.id in self.groups
        mine = (own_chat or counselor_group) and not query.from_user.is_bot
        who = await self.who(query.from_user.id) if mine else None
        if who is None:
            await query.answer(self.texts.counselor("not_counselor"), show_alert=True)
            return
        if press.action == TAKE:
            if self.take is None:
                await query.answer(self.texts.counselor("refused_not_now"), show_alert=True)
                return
            await query.answer()
            await self.take(update, who, press.case_id)
            return
        now = self.clock()
        try:
            case = await self.service.cases.act(
                press.case_id, press.action, Actor.counselor(who.counselor_id), now
            )
        except NotAllowedError:
            await query.answer(self.texts.counselor("refused_scope"), show_alert=True)
            return
        except CaseActionError:
            await self._refuse(query, press.case_id, message)
            return
        log.info("counselor %s: %s on case %s", who.counselor_id, press.action, case.id)
        await query.answer(
            self.texts.counselor(
                "done", action=self.texts.action(press.action), case=case_number(case)
            )
        )
        await self._show_status(message, case, who.name, now)

    async def _refuse(
        self, query: CallbackQuery, case_id: int, message: MaybeInaccessibleMessage | None
    ) -> None:
        case = await self.service.case(case_id)
        if case is None:
            await query.answer(self.texts.counselor("no_case", id=case_id), show_alert=True)
            return
        zh, en = _status(case.status)
        await query.answer(
            self.texts.counselor("refused_status", case=case_number(case), status=zh, status_en=en),
            show_alert=True,
        )
        if isinstance(message, Message):
            # Leave only the buttons that still apply, so the refusal is not repeated.
            markup = case_keyboard(
                case.id, open_actions(case.status), dict(self.texts.action_labels)
            )
            try:
                await message.edit_reply_markup(reply_markup=markup)
            except TelegramError as exc:
                log.debug("alert keyboard not refreshed: %s", type(exc).__name__)

    async def _show_status(
        self, message: MaybeInaccessibleMessage | None, case: Any, name: str, now: datetime
    ) -> None:
        if not isinstance(message, Message) or message.text is None:
            return
        zh, en = _status(case.status)
        line = self.texts.counselor(
            "status_line",
            status=zh,
            status_en=en,
            who=name,
            time=now.astimezone(self.zone).strftime("%m-%d %H:%M"),
        )
        markup = case_keyboard(case.id, open_actions(case.status), dict(self.texts.action_labels))
        try:
            await message.edit_text(with_status(message.text, line), reply_markup=markup)
        except TelegramError as exc:
            log.debug("alert message not edited: %s", type(exc).__name__)

    async def on_queue(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/queue``: open cases in the counselor's scope, most urgent and oldest first."""
        who = await self.counselor_of(update)
        if who is None:
            return
        now = self.clock()
        rows = await self.service.queue(who, QUEUE_LIMIT)
        if not rows:
            await self.reply_privately(update, self.texts.counselor("queue_empty"))
            return
        lines = [self.texts.counselor("queue_head")]
        for item in rows:
            case, school = item.case, item.school_name
            p_zh, p_en = _priority(case.priority)
            lines.append(
                self.texts.counselor(
                    "queue_line",
                    id=case.id,
                    priority=f"{p_zh} {p_en}",
                    status=_status(case.status)[0],
                    school=school or "（匿名 / anonymous）",
                    age=_age(case.created_at, now),
                )
            )
        await self.reply_privately(update, "\n".join(lines))

    async def on_case(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/case N``: one case and its timeline; the view itself is recorded."""
        who = await self.counselor_of(update)
        if who is None:
            return
        arg = (context.args or [""])[0]
        ref = parse_case_ref(arg)
        if ref is None:
            await self.reply(update, self.texts.counselor("case_usage"))
            return
        if not await self._exists(ref):
            await self.reply(update, self.texts.counselor("no_case", id=str(ref).lstrip("#")))
            return
        try:
            view = await self.service.view(ref.case_id, who)
        except NotAllowedError:
            await self.reply(update, self.texts.counselor("refused_scope"))
            return
        except CaseActionError:
            await self.reply(update, self.texts.counselor("no_case", id=arg))
            return
        case, events = view.case, view.events
        p_zh, p_en = _priority(case.priority)
        s_zh, s_en = _status(case.status)
        lines = [
            self.texts.counselor(
                "case_head",
                case=case_number(case),
                id=case.id,
                priority=p_zh,
                priority_en=p_en,
                status=s_zh,
                status_en=s_en,
                school=view.school or "（匿名 / anonymous）",
                reason=case.reason,
            ),
        ]
        wished = wish_words(case.wishes or {})
        if wished is not None:
            lines.append(self.texts.counselor("wishes", time=wished[0], channel=wished[1]))
        owner = self.texts.counselor(f"owner_{view.owner}", name=view.owner_name or "")
        lines += [self.texts.counselor("owner_line", owner=owner), ""]
        for event in events[-TIMELINE_LIMIT:]:
            lines.append(
                self.texts.counselor(
                    "case_event",
                    time=event.at.astimezone(self.zone).strftime("%m-%d %H:%M"),
                    actor=event.actor,
                    action=event.action,
                )
            )
        markup = case_keyboard(case.id, open_actions(case.status), dict(self.texts.action_labels))
        await self.reply_privately(update, "\n".join(lines), markup)

    async def _exists(self, ref: CaseRef) -> bool:
        """Whether the reference names a case (a printed number must match its year)."""
        case = await self.service.case(ref.case_id)
        return case is not None and ref.matches(case)

    async def on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/note N text``: add a note to a case's timeline (scope-checked like /case)."""
        who = await self.counselor_of(update)
        message = update.effective_message
        if who is None or message is None:
            return
        args = context.args or []
        parts = (message.text or "").split(maxsplit=2)
        ref = parse_case_ref(args[0]) if args else None
        if len(args) < 2 or len(parts) < 3 or ref is None:
            await self.reply(update, self.texts.counselor("note_usage"))
            return
        case_id = ref.case_id
        if not await self._exists(ref):
            await self.reply(update, self.texts.counselor("no_case", id=str(ref).lstrip("#")))
            return
        try:
            # The note as typed, line breaks included (context.args splits on whitespace).
            case = await self.service.cases.act(
                case_id, "note", Actor.counselor(who.counselor_id), self.clock(), note=parts[2]
            )
        except NotAllowedError:
            await self.reply(update, self.texts.counselor("refused_scope"))
            return
        except CaseActionError:
            await self.reply(update, self.texts.counselor("no_case", id=case_id))
            return
        log.info("counselor %s: note on case %s", who.counselor_id, case.id)
        await self.reply(update, self.texts.counselor("note_ok", case=case_number(case)))
