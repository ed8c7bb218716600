"""The console's and the API's one way to act on a case and to read the queue and duty.

Thin: every call goes to a service that checks the counselor's scope and records the event
(:class:`~escalation.actions.CaseService`, :class:`~bot.services.takeover.TakeoverService`,
:class:`~bot.services.counselor_desk.CounselorDesk`). A refusal stays an exception: the page
turns "outside your schools" into a 404, anything else into a sentence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.case_commands import CASE_ACTIONS, Command
from bot.services.case_file import CaseFiles
from bot.services.counselor_desk import CounselorDesk, Who
from bot.services.coverage_report import CoverageReport, coverage_report
from bot.services.takeover import TakeoverService
from bot.services.web_sessions import REMEMBER_SECONDS
from core.clock import Clock
from escalation import duty
from escalation.actions import Actor, CaseService
from escalation.queue import QueueItem
from escalation.roster import ShiftSpec
from escalation.takeover import Owner, TakeoverRefused
from storage.models import ConversationOwner, Counselor, CounselorSchool, School

# What a counselor is told after an action, in both languages.
DONE = {
    "ack": "已确认 Acknowledged",
    "contacted": "已记录：已联系学生 Recorded: student contacted",
    "refer": "已转介 Referred",
    "resolve": "已结案 Resolved",
    "note": "备注已保存 Note saved",
    "take": "你已接手对话 You hold the conversation",
    "reply": "已发送 Sent",
    "handback": "对话已交还给机器人 Handed back to the bot",
    "transfer": "已转交 Transferred",
}


@dataclass(frozen=True)
class Outcome:
    """What an action did: the sentence, and whether the student got what they were told."""

    message: str
    delivered: bool = True
    message_id: int | None = None


class ConsoleDesk:
    """Acting and reading for a signed-in counselor (console) or a token's counselor (API)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        desk: CounselorDesk,
        files: CaseFiles,
        cases: CaseService,
        takeover: TakeoverService,
        clock: Clock,
        channels: frozenset[str],
        configured: Sequence[ShiftSpec],
        district_zone: str,
    ) -> None:
        self.sessions = sessions
        self.desk = desk
        self.files = files
        self.cases = cases
        self.takeover = takeover
        self.clock = clock
        self.channels = channels
        self.configured = tuple(configured)
        self.district_zone = district_zone
        self._who: dict[int, tuple[Who | None, float]] = {}

    async def who(self, counselor_id: int) -> Who | None:
        """The counselor, while active.

        Every console request asks (a page's polls too): the answer is trusted for
        REMEMBER_SECONDS, as sessions are, so a deactivated counselor loses the console within
        that time; every action is checked again by the service that takes it.
        """
        remembered = self._who.get(counselor_id)
        if remembered is not None and time.monotonic() - remembered[1] < REMEMBER_SECONDS:
            return remembered[0]
        async with self.sessions() as session:
            counselor = await session.get(Counselor, counselor_id)
        found = (
            Who(counselor.id, counselor.name)
            if counselor is not None and counselor.active
            else None
        )
        if len(self._who) > 1000:
            self._who.clear()
        self._who[counselor_id] = (found, time.monotonic())
        return found

    async def queue(self, who: Who, limit: int = 200) -> Sequence[QueueItem]:
        """Open cases in scope: most urgent, then longest waiting, first."""
        return await self.desk.queue(who, limit)

    async def holders(self, items: Sequence[QueueItem]) -> dict[int, str]:
        """Who holds each queued case's student's chat, by case id (none: the bot).

        One query for the whole queue (a live queue asks on every change).
        """
        students = {item.case.student_id: item.case.id for item in items}
        if not students:
            return {}
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(ConversationOwner.student_id, ConversationOwner.state, Counselor.name)
                    .outerjoin(Counselor, Counselor.id == ConversationOwner.counselor_id)
                    .where(ConversationOwner.student_id.in_(students))
                )
            ).all()
        found: dict[int, str] = {}
        for student_id, state, name in rows:
            if name is not None:
                found[students[student_id]] = name
            elif state != Owner.BOT.value:
                found[students[student_id]] = state
        return found

    async def act(self, who: Who, case_id: int, command: Command) -> Outcome:
        """Carry out one command (raises CaseActionError, NotAllowedError, TakeoverRefused)."""
        action, counselor = command.action, who.counselor_id
        if action in CASE_ACTIONS:
            await self.cases.act(
                case_id,
                action,
                Actor.counselor(counselor),
                self.clock(),
                note=command.note,
                resolution=command.resolution,
                hospital=command.hospital,
            )
            if command.note and action != "note":
                await self.cases.act(
                    case_id, "note", Actor.counselor(counselor), self.clock(), note=command.note
                )
            return Outcome(DONE[action])
        if action == "take":
            result = await self.takeover.take(case_id, counselor)
        elif action == "reply":
            try:
                result = await self.takeover.reply(case_id, counselor, command.text)
            except TakeoverRefused:
                # Writing is taking: the API's one call, the console's "send" on a free chat
                # (a chat another counselor holds still refuses the take).
                await self.takeover.take(case_id, counselor)
                result = await self.takeover.reply(case_id, counselor, command.text)
        elif action == "handback":
            result = await self.takeover.hand_back(case_id, counselor, command.note)
        else:
            result = await self.takeover.transfer(case_id, counselor, command.to, command.note)
        return Outcome(DONE[action], result.delivered, result.message_id)

    # -- duty ----------------------------------------------------------------------------------

    async def board(self, who: Who) -> duty.DutyBoard:
        """Who is on duty now for the counselor's schools and the district."""
        return await self.desk.board(who)

    async def coverage(self, now: datetime | None = None) -> CoverageReport:
        """The week's coverage gaps (every school's and the district's)."""
        async with self.sessions() as session:
            return await coverage_report(
                session,
                channels=self.channels,
                configured=self.configured,
                district_zone=self.district_zone,
                now=now or self.clock(),
            )

    async def start_shift(self, who: Who, hours: int) -> datetime:
        """An ad-hoc shift from now (raises DutyError)."""
        return await self.desk.start_shift(who, timedelta(hours=hours))

    async def end_shift(self, who: Who) -> tuple[bool, bool]:
        """End the ad-hoc shift."""
        return await self.desk.end_shift(who)

    async def scope_codes(self, who: Who) -> set[str] | None:
        """The codes of the schools a counselor covers; None for the district team (all)."""
        async with self.sessions() as session:
            counselor = await session.get(Counselor, who.counselor_id)
            if counselor is None or counselor.scope == "district":
                return None
            rows = await session.scalars(
                select(School.code)
                .join(CounselorSchool, CounselorSchool.school_id == School.id)
                .where(CounselorSchool.counselor_id == who.counselor_id)
            )
            return set(rows.all())
