"""Taking over a student's chat from Telegram: /take, /reply (or reply-to), /handback, /transfer.

Only translation: each command becomes one call of the channel-neutral takeover service,
which checks scope, moves the conversation's owner and records the case event. A student's
words are only ever shown in the counselor's private chat: /reply is refused in a group, and
the recent messages shown on /take go to the private chat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.channels.port import Delivery
from bot.channels.telegram.counselor import CounselorDesk
from bot.channels.telegram.inbox import case_of_inbox
from bot.services.counselor_desk import Who
from bot.services.takeover import TakeoverResult, TakeoverService
from escalation.actions import CaseActionError, NotAllowedError
from escalation.notifiers.render import one_line
from escalation.takeover import TakeoverRefused

log = logging.getLogger(__name__)
DISTRICT = ("district", "区", "区危机干预")


def _case_arg(text: str | None) -> int | None:
    value = (text or "").lstrip("#")
    return int(value) if value.isdigit() else None


class TakeoverDesk:
    """Takeover commands, on top of the counselor desk's identity checks."""

    def __init__(self, desk: CounselorDesk, service: TakeoverService) -> None:
        self.desk = desk
        self.service = service
        self.texts = desk.texts
        self.zone: ZoneInfo = desk.zone

    async def _guarded(
        self, update: Update, case_id: int, call: Callable[[], Awaitable[TakeoverResult]]
    ) -> TakeoverResult | None:
        """Run one service call; a refusal is explained to the counselor."""
        try:
            return await call()
        except NotAllowedError as exc:
            key = "refused_colleague" if "counselor #" in str(exc) else "refused_scope"
            await self.desk.reply(update, self.texts.counselor(key))
        except TakeoverRefused as exc:
            key = f"refused_{exc.reason}"
            if key not in self.texts.counselor_texts:
                key = "refused_not_now"
            await self.desk.reply(update, self.texts.counselor(key, id=case_id))
        except CaseActionError:
            case = await self.desk.service.case(case_id)
            if case is None:
                await self.desk.reply(update, self.texts.counselor("no_case", id=case_id))
            else:
                await self.desk.reply(update, self.texts.counselor("refused_not_now"))
        return None

    def _delivery(self, result: TakeoverResult, ok_key: str) -> str:
        if result.delivery.ok:
            return self.texts.counselor(ok_key, id=result.case_id, case=result.case_number)
        status = result.delivery.status
        key = {Delivery.BLOCKED: "blocked", Delivery.RETRY: "retry"}.get(status, "failed")
        return self.texts.counselor(f"undelivered_{key}")

    async def on_take(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/take N``: this counselor takes over the student's chat."""
        who = await self.desk.counselor_of(update)
        if who is None:
            return
        case_id = _case_arg((context.args or [""])[0])
        if case_id is None:
            await self.desk.reply(update, self.texts.counselor("take_usage"))
            return
        await self.take(update, who, case_id)

    async def take(self, update: Update, who: Who, case_id: int) -> None:
        """Take the chat (from /take or the alert's button) and show what the student said."""
        result = await self._guarded(
            update, case_id, lambda: self.service.take(case_id, who.counselor_id)
        )
        if result is None:
            return
        log.info("counselor %s took the chat of case %s", who.counselor_id, case_id)
        lines = [
            self.texts.counselor(
                "taken",
                case=result.case_number,
                id=result.case_id,
                student=one_line(result.student),
                acked=self.texts.counselor("taken_acked") if result.acknowledged else "",
                acked_en=self.texts.counselor("taken_acked_en") if result.acknowledged else "",
            ),
            self._delivery(result, "told"),
        ]
        if result.recent:
            lines += ["", self.texts.counselor("taken_recent")]
            for line in result.recent:
                lines.append(
                    self.texts.counselor(
                        "recent_line",
                        time=line.at.astimezone(self.zone).strftime("%H:%M"),
                        who=self.texts.counselor(
                            "recent_student" if line.from_student else "recent_counselor"
                        ),
                        text=line.text,
                    )
                )
        await self.desk.reply_privately(update, "\n".join(lines))

    async def on_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/reply N text``: the counselor's words to the student (private chat only)."""
        who = await self.desk.counselor_of(update)
        message = update.effective_message
        if who is None or message is None:
            return
        if self.desk.in_group(update):
            await self.desk.reply(update, self.texts.counselor("reply_private"))
            return
        parts = (message.text or "").split(maxsplit=2)
        case_id = _case_arg(parts[1]) if len(parts) == 3 else None
        if case_id is None:
            await self.desk.reply(update, self.texts.counselor("reply_usage"))
            return
        await self.send(update, who, case_id, parts[2])

    async def on_reply_to(self, update: Update, who: Who, message: Message) -> bool:
        """A reply (Telegram's reply-to) to a relayed message: the words go to that student."""
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return False
        case_id = case_of_inbox(replied.text)
        if case_id is None or not message.text:
            return False
        await self.send(update, who, case_id, message.text)
        return True

    async def send(self, update: Update, who: Who, case_id: int, text: str) -> None:
        """Send and say whether it reached the student."""
        result = await self._guarded(
            update, case_id, lambda: self.service.reply(case_id, who.counselor_id, text)
        )
        if result is not None:
            await self.desk.reply(update, self._delivery(result, "sent"))

    async def on_handback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/handback N [note]``: give the chat back to the bot, with a note for the timeline."""
        who = await self.desk.counselor_of(update)
        message = update.effective_message
        if who is None or message is None:
            return
        parts = (message.text or "").split(maxsplit=2)
        case_id = _case_arg(parts[1]) if len(parts) >= 2 else None
        if case_id is None:
            await self.desk.reply(update, self.texts.counselor("handback_usage"))
            return
        note = parts[2] if len(parts) == 3 else ""
        result = await self._guarded(
            update, case_id, lambda: self.service.hand_back(case_id, who.counselor_id, note)
        )
        if result is not None:
            log.info("counselor %s handed back the chat of case %s", who.counselor_id, case_id)
            await self.desk.reply(
                update, self.texts.counselor("handed_back", case=result.case_number)
            )

    async def on_transfer(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/transfer N COUNSELOR_ID|district [note]``: pass the chat on."""
        who = await self.desk.counselor_of(update)
        message = update.effective_message
        if who is None or message is None:
            return
        parts = (message.text or "").split(maxsplit=3)
        case_id = _case_arg(parts[1]) if len(parts) >= 3 else None
        target = parts[2].lower() if len(parts) >= 3 else ""
        if case_id is None or not (target.isdigit() or target in DISTRICT):
            await self.desk.reply(update, self.texts.counselor("transfer_usage"))
            return
        to = int(target) if target.isdigit() else None
        note = parts[3] if len(parts) == 4 else ""
        result = await self._guarded(
            update, case_id, lambda: self.service.transfer(case_id, who.counselor_id, to, note)
        )
        if result is not None:
            await self.desk.reply(
                update, self.texts.counselor("transferred", case=result.case_number)
            )
