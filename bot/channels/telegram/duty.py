"""``/duty`` for counselors: who is on duty now; ``/duty start`` and ``/duty end`` for themselves.

Only a linked counselor in their private chat may use it, and the board shows only their own
schools (every school for district-scope counselors), like /queue and /case.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import ContextTypes

from bot.channels.telegram.counselor import CounselorDesk
from bot.config.durations import parse_duration
from bot.services.counselor_desk import Who
from escalation import duty

log = logging.getLogger(__name__)
START = ("start", "on", "开始")
END = ("end", "stop", "off", "结束")


class DutyDesk:
    """The /duty command, on top of the counselor desk's identity and scope checks."""

    def __init__(self, desk: CounselorDesk, *, district_zone: str) -> None:
        self.desk = desk
        self.texts = desk.texts
        self.district_zone = district_zone

    async def on_duty(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/duty``, ``/duty start [4h]`` or ``/duty end``."""
        who = await self.desk.counselor_of(update)
        if who is None:
            return
        args = [a.lower() for a in context.args or []]
        if not args:
            await self.desk.reply(update, await self._board(who))
        elif args[0] in START and len(args) <= 2:
            await self._start(update, who, args[1] if len(args) == 2 else None)
        elif args[0] in END and len(args) == 1:
            await self._end(update, who)
        else:
            await self.desk.reply(update, self.texts.counselor("duty_usage"))

    async def _board(self, who: Who) -> str:
        now = self.desk.clock()
        shown = await self.desk.service.board(who)
        local = now.astimezone(ZoneInfo(self.district_zone)).strftime("%m-%d %H:%M")
        lines = [self.texts.counselor("duty_head", time=local)]
        nobody = self.texts.counselor("duty_nobody")
        for school in shown.schools:
            names = "、".join(school.on_duty) or nobody
            lines.append(self.texts.counselor("duty_school", school=school.name, names=names))
        if shown.more_schools:
            lines.append(f"… +{shown.more_schools}")
        if not shown.district:
            lines.append(self.texts.counselor("duty_district_none"))
        else:
            key = "duty_district_all" if shown.district_fallback else "duty_district"
            lines.append(self.texts.counselor(key, names="、".join(shown.district)))
        return "\n".join(lines)

    async def _start(self, update: Update, who: Who, length: str | None) -> None:
        try:
            span = parse_duration(length) if length else duty.DEFAULT_SHIFT
        except ValueError:
            await self.desk.reply(update, self.texts.counselor("duty_usage"))
            return
        try:
            until = await self.desk.service.start_shift(who, span)
        except duty.DutyError:
            await self.desk.reply(update, self._refusal(span))
            return
        log.info("counselor %s started an ad-hoc shift", who.counselor_id)
        shown = until.astimezone(ZoneInfo(self.district_zone)).strftime("%m-%d %H:%M")
        # "Alerts come to this chat" is true of their private chat, not of a group.
        await self.desk.reply_privately(update, self.texts.counselor("duty_started", until=shown))

    def _refusal(self, span: timedelta) -> str:
        if not timedelta(minutes=1) <= span <= duty.MAX_SHIFT:
            return self.texts.counselor("duty_usage")
        return self.texts.counselor("duty_not_eligible")

    async def _end(self, update: Update, who: Who) -> None:
        try:
            ended, rostered = await self.desk.service.end_shift(who)
        except duty.DutyError:
            await self.desk.reply(update, self.texts.counselor("duty_not_eligible"))
            return
        log.info("counselor %s: ad-hoc shift ended=%s", who.counselor_id, ended)
        lines = [self.texts.counselor("duty_ended" if ended else "duty_none_to_end")]
        if rostered:
            lines.append(self.texts.counselor("duty_still_rostered"))
        await self.desk.reply(update, "\n".join(lines))
