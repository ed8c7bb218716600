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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram import CHANNEL
from bot.channels.telegram.callbacks import CounselorPress, case_keyboard, open_actions, parse
from bot.channels.telegram.texts import Texts
from bot.services import counselor_links
from bot.services.enrollment import Redemption
from escalation.actions import Actor, CaseActionError, CaseService, NotAllowedError
from escalation.cases import case_number
from escalation.notifiers.render import PRIORITY, STATUS
from storage.models import OPEN_STATUSES, Case, Counselor, CounselorContact, CounselorSchool, School

log = logging.getLogger(__name__)
STATUS_MARK = "—— 状态 Status:"
QUEUE_LIMIT = 30
TIMELINE_LIMIT = 20
# How old the in-memory list of linked Telegram accounts may get (seconds); see CounselorDesk.who.
DIRECTORY_TTL = 30.0

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Who:
    """The counselor behind a chat."""

    counselor_id: int
    name: str


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
        self,
        sessions: async_sessionmaker[AsyncSession],
        service: CaseService,
        texts: Texts,
        *,
        clock: Clock,
        zone: str,
        groups: Iterable[int] = (),
    ) -> None:
        self.sessions = sessions
        self.service = service
        self.texts = texts
        self.clock = clock
        self.zone = ZoneInfo(zone)
        self.groups = frozenset(groups)
        self._linked: frozenset[str] = frozenset()
        self._linked_at = -DIRECTORY_TTL

    async def _maybe_linked(self, user_id: int) -> bool:
        """Whether this account may be a linked counselor, from a list kept up to 30 s old.

        Every private message asks, and nearly all come from students: reading the short list
        of linked accounts twice a minute, instead of the database per message, saves a
        transaction on each. A "yes" is always checked against the database (so an unlinked
        or deactivated counselor loses access at once); a "no" may be up to DIRECTORY_TTL old
        only for an account linked through another bot process (this one adds its own links
        at once), which is then answered as a student until the list is read again.
        """
        now = time.monotonic()
        if now - self._linked_at >= DIRECTORY_TTL:
            async with self.sessions() as session:
                addresses = await session.scalars(
                    select(CounselorContact.address).where(CounselorContact.channel == CHANNEL)
                )
                self._linked = frozenset(addresses)
            self._linked_at = now
        return str(user_id) in self._linked

    async def who(self, user_id: int) -> Who | None:
        """The active counselor linked to this Telegram account (its private chat id), if any."""
        if not await self._maybe_linked(user_id):
            return None
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Counselor.id, Counselor.name)
                    .join(CounselorContact, CounselorContact.counselor_id == Counselor.id)
                    .where(
                        CounselorContact.channel == CHANNEL,
                        CounselorContact.address == str(user_id),
                        Counselor.active.is_(True),
                    )
                    .order_by(CounselorContact.id)
                    .limit(1)
                )
            ).first()
        return Who(row[0], row[1]) if row is not None else None

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
        async with self.sessions.begin() as session:
            result = await counselor_links.redeem(
                session,
                " ".join(context.args),
                channel=CHANNEL,
                address=str(chat.id),
                now=self.clock(),
            )
        if result.outcome is Redemption.OK:
            self._linked |= {str(chat.id)}
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
        message = query.message
        own_chat = (
            message is not None
            and message.chat.type == message.chat.PRIVATE
            and message.chat.id == query.from_user.id
        )
        counselor_group = message is not None and message.chat.id in self.groups
        mine = (own_chat or counselor_group) and not query.from_user.is_bot
        who = await self.who(query.from_user.id) if mine else None
        if not isinstance(press, CounselorPress) or who is None:
            await query.answer(self.texts.counselor("not_counselor"), show_alert=True)
            return
        now = self.clock()
        try:
            case = await self.service.act(
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
        async with self.sessions() as session:
            case = await session.get(Case, case_id)
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
        self, message: MaybeInaccessibleMessage | None, case: Case, name: str, now: datetime
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
        rank = sql_case((Case.priority == "emergency", 0), (Case.priority == "urgent", 1), else_=2)
        async with self.sessions() as session:
            counselor = await session.get(Counselor, who.counselor_id)
            query = (
                select(Case, School.name)
                .outerjoin(School, School.id == Case.school_id)
                .where(Case.status.in_(OPEN_STATUSES))
                .order_by(rank, Case.created_at)
                .limit(QUEUE_LIMIT)
            )
            if counselor is None or counselor.scope != "district":
                query = query.where(
                    Case.school_id.in_(
                        select(CounselorSchool.school_id).where(
                            CounselorSchool.counselor_id == who.counselor_id
                        )
                    )
                )
            rows = (await session.execute(query)).all()
        if not rows:
            await self.reply_privately(update, self.texts.counselor("queue_empty"))
            return
        lines = [self.texts.counselor("queue_head")]
        for case, school in rows:
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
        arg = (context.args or [""])[0].lstrip("#")
        if not arg.isdigit():
            await self.reply(update, self.texts.counselor("case_usage"))
            return
        try:
            case, events = await self.service.view(
                int(arg), Actor.counselor(who.counselor_id), self.clock()
            )
        except NotAllowedError:
            await self.reply(update, self.texts.counselor("refused_scope"))
            return
        except CaseActionError:
            await self.reply(update, self.texts.counselor("no_case", id=arg))
            return
        async with self.sessions() as session:
            school = await session.get(School, case.school_id) if case.school_id else None
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
                school=school.name if school else "（匿名 / anonymous）",
                reason=case.reason,
            ),
            "",
        ]
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

    async def on_note(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/note N text``: add a note to a case's timeline (scope-checked like /case)."""
        who = await self.counselor_of(update)
        message = update.effective_message
        if who is None or message is None:
            return
        args = context.args or []
        parts = (message.text or "").split(maxsplit=2)
        if len(args) < 2 or len(parts) < 3 or not args[0].lstrip("#").isdigit():
            await self.reply(update, self.texts.counselor("note_usage"))
            return
        case_id = int(args[0].lstrip("#"))
        try:
            # The note as typed, line breaks included (context.args splits on whitespace).
            case = await self.service.act(
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
