"""The takeover is channel-neutral: a student on another channel, a counselor in Telegram.

The student writes through the console channel, whose port here records what it is asked to
deliver and can answer like WeChat outside its 48-hour window ("blocked") or like a busy
channel ("retry"); the counselor works from Telegram as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from tg_world import COUNSELOR, Chat, Clock, texts_of

from bot.bootstrap import AppContext
from bot.channels.port import DELIVERED, Attachment, Delivery, DeliveryResult
from bot.channels.telegram.runner import BotProcess
from bot.services.pipeline import Inbound
from bot.services.render import Outbound
from storage.models import Case, CaseEvent, Student

District = dict[str, object]
WHO = "web-student-1"


@dataclass
class RecordingPort:
    """A student port that records each delivery and answers as told."""

    channel: str = "console"
    sent: list[tuple[str, str]] = field(default_factory=list)
    answer: DeliveryResult = DELIVERED

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        if self.answer.ok:
            self.sent += [(chat_id, reply.text) for reply in replies]
        return self.answer

    def texts(self) -> str:
        return "\n".join(text for _, text in self.sent)


async def say(process: BotProcess, kind: str, value: str) -> None:
    await process.runtime.students.receive(
        Inbound(channel="console", external_id=WHO, kind=kind, value=value, chat_id=WHO)  # type: ignore[arg-type]
    )


async def test_a_console_student_taken_over_from_telegram(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    port = RecordingPort()
    process.runtime.students.attach(port)
    assert "已绑定" in texts_of(await chat.command(COUNSELOR, f"/link {district['link']}"))
    for kind, value in (
        ("command", "start"),
        ("button", "zh"),
        ("button", "agree"),
        ("text", str(district["code"])),
        ("button", "reminder_none"),
    ):
        await say(process, kind, value)
    await say(process, "text", "我想自杀")
    await process.runtime.green.engine.tick(clock())
    async with ctx.sessions() as session:
        case = await session.scalar(select(Case))
        student = await session.scalar(select(Student).where(Student.status == "active"))
    assert case is not None
    assert student is not None
    assert case.student_id == student.id

    port.sent.clear()
    calls = await chat.command(COUNSELOR, f"/take {case.id}")
    assert port.texts().startswith("陈老师来了")
    assert "已告诉学生你来了" in texts_of(calls)

    await say(process, "text", "我在学校天台")
    assert port.texts().count("\n") == 0  # the bot said nothing more
    assert chat.api.sent_to(COUNSELOR)[-1].text.endswith("我在学校天台")

    await chat.command(COUNSELOR, f"/reply {case.id} 待在原地，我马上到")
    assert port.sent[-1] == (WHO, "陈老师：待在原地，我马上到")

    # Outside WeChat's window, or the student blocked us: the counselor is told at once.
    port.answer = DeliveryResult(Delivery.BLOCKED, error="48h")
    calls = await chat.command(COUNSELOR, f"/reply {case.id} 你还在吗")
    assert "没有送达" in texts_of(calls)
    port.answer = DeliveryResult(Delivery.RETRY, retry_after=5)
    calls = await chat.command(COUNSELOR, f"/reply {case.id} 你还在吗")
    assert "暂时没有送达" in texts_of(calls)
    async with ctx.sessions() as session:
        undelivered = (
            await session.scalars(
                select(CaseEvent.details).where(CaseEvent.action == "message_undelivered")
            )
        ).all()
        refreshed = await session.get(Student, student.id)
    assert [d["status"] for d in undelivered] == ["blocked", "retry"]
    assert refreshed is not None
    assert refreshed.status == "unreachable"
