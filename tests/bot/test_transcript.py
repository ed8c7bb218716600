"""The stored conversation of the chat page and WeChat, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.render import Outbound
from bot.services.transcript import Transcript, last_prompt, prompt_token
from bot.services.wechat_chats import WeChatChats
from storage.crypto import DataCipher
from storage.models import ChannelIdentity, Message, Student
from storage.rotation import rotate_all

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


async def chat(sessions: async_sessionmaker[AsyncSession], channel: str, external: str) -> int:
    async with sessions.begin() as session:
        student = Student(display_name="测试", status="active", created_at=T0)
        session.add(student)
        await session.flush()
        session.add(
            ChannelIdentity(
                student_id=student.id,
                channel=channel,
                external_id=external,
                chat_id=external,
                created_at=T0,
            )
        )
    return student.id


async def student_says(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, student_id: int, text: str
) -> None:
    async with sessions.begin() as session:
        session.add(
            Message(
                student_id=student_id,
                direction="in",
                kind="text",
                channel="web",
                text_enc=cipher.encrypt(text),
                created_at=T0,
            )
        )


QUESTION = Outbound("这周过得怎么样？", (("good", "还不错"), ("bad", "不太好")))


async def test_lines_come_back_in_order_with_buttons_labels_files_and_a_banner(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    transcript = Transcript(sessions, cipher, clock=Clock())
    sid = await chat(sessions, "web", "w1")
    await student_says(sessions, cipher, sid, "你好")
    stored = await transcript.append("web", "w1", [Outbound("欢迎"), QUESTION])
    assert stored is not None
    assert stored.student_id == sid
    lines = await transcript.recent(sid)
    assert [(line.sender, line.text) for line in lines] == [
        ("student", "你好"),
        ("bot", "欢迎"),
        ("bot", "这周过得怎么样？"),
    ]
    assert stored.last_line == lines[-1].id
    assert lines[-1].buttons == (("good", "还不错"), ("bad", "不太好"))
    assert (
        lines[-1].prompt == last_prompt([QUESTION]) == prompt_token(QUESTION.text, ["good", "bad"])
    )
    assert await transcript.button_label(sid, lines[-1].prompt or "", "bad") == "不太好"
    assert [line.text for line in await transcript.after(sid, lines[0].id)] == [
        "欢迎",
        "这周过得怎么样？",
    ]

    await transcript.append(
        "web", "w1", [Outbound("该做每周小调查啦", purpose="reminder")], [("data.json", b"{}")]
    )
    assert await transcript.banner(sid) == "该做每周小调查啦"
    newest = (await transcript.recent(sid))[-1]
    assert newest.file == "data.json"  # the reminder is a banner, not a line
    assert await transcript.file(sid, newest.id) == ("data.json", b"{}")
    assert await transcript.file(sid + 1, newest.id) is None
    await student_says(sessions, cipher, sid, "好的")
    assert await transcript.banner(sid) is None

    await transcript.append("web", "w1", [Outbound("我是陈老师", purpose="counselor")])
    assert (await transcript.recent(sid))[-1].sender == "counselor"
    assert await transcript.append("web", "nobody", [Outbound("x")]) is None
    found, rows = await transcript.chat_after("web", "w1", newest.id)
    assert found is not None
    assert [row.text for row in rows] == ["好的", "我是陈老师"]


async def test_every_line_is_ciphertext_and_rotates_with_the_data_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    old = DataCipher([old_key])
    transcript = Transcript(sessions, old, clock=Clock())
    sid = await chat(sessions, "web", "w2")
    await transcript.append("web", "w2", [QUESTION])
    chats = WeChatChats(sessions, old, clock=Clock())
    assert (await chats.receive("k1")).first
    assert await chats.answered("k1", "被动回复")
    async with sessions() as session:
        raw = (await session.execute(select(Message.text_enc, Message.extra_enc))).one()
    assert "这周".encode() not in raw[0]
    assert "不太好".encode() not in raw[1]

    both = DataCipher([new_key, old_key])
    assert await rotate_all(sessions, both) == 3  # text, buttons, the kept passive reply
    only_new = DataCipher([new_key])
    [line] = await Transcript(sessions, only_new, clock=Clock()).recent(sid)
    assert line.buttons == QUESTION.buttons
    assert (await WeChatChats(sessions, only_new, clock=Clock()).receive("k1")).reply == "被动回复"


async def test_a_wechat_window_allows_five_pushes_after_each_message(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    clock = Clock()
    chats = WeChatChats(sessions, cipher, clock=clock)
    await chat(sessions, "wechat", "oA")
    window = timedelta(hours=48)
    assert not await chats.take_slot("oA", window=window, limit=5)  # never wrote
    await chats.wrote("oA", clock())
    taken = [await chats.take_slot("oA", window=window, limit=5) for _ in range(6)]
    assert taken == [True] * 5 + [False]
    await chats.wrote("oA", clock())
    assert await chats.take_slot("oA", window=window, limit=5)
    clock.now += timedelta(hours=49)
    assert not await chats.take_slot("oA", window=window, limit=5)


async def test_a_receipt_is_first_once_and_keeps_its_reply(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    chats = WeChatChats(sessions, cipher, clock=Clock())
    assert (await chats.receive("m1")).first
    again = await chats.receive("m1")
    assert (again.first, again.status, again.reply) == (False, "handling", None)
    assert await chats.give_up_passive("m1")
    assert not await chats.answered("m1", "too late")  # late: the reply goes by push
    assert (await chats.receive("m1")).status == "late"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_page_identity_of_a_wechat_chat_is_the_same_student(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    chats = WeChatChats(sessions, cipher, clock=Clock())
    assert await chats.page_identity("oUnknown") is None
    sid = await chat(sessions, "wechat", "oB")
    subject = await chats.page_identity("oB")
    assert subject is not None
    assert await chats.page_identity("oB") == subject
    transcript = Transcript(sessions, cipher, clock=Clock())
    found = await transcript.student("web", subject)
    assert found is not None
    assert found.student_id == sid
