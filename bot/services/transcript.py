"""The stored conversation of the chat page and WeChat: every line in, every line out.

The pipeline stores what a student sends (``messages`` rows, direction "in"). For the channels
that show a conversation (the web chat page, and WeChat, whose chats open on that page), every
line the student is shown is stored too, in the same table (direction "out", encrypted like
everything a student reads or writes). So a reload shows the conversation, another process can
deliver a line, and /mydata and /delete cover it without a second place to forget.

A student's lines are written under their row lock (as the pipeline writes theirs), so on
PostgreSQL a line's id never commits before a smaller one of the same student: a reader that
has shown line N may safely ask for lines after N.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.render import Outbound
from core.clock import Clock
from storage.crypto import DataCipher
from storage.models import ChannelIdentity, Message, Student

log = logging.getLogger(__name__)

Sender = Literal["student", "bot", "counselor"]
# The channels whose conversations are stored whole and shown on the chat page.
SHOWN_CHANNELS = ("web", "wechat")
# The newest lines a page shows when it opens.
PAGE_LINES = 200

# Statements every chat message runs, built once with their values bound at execution:
# building a statement cost more than running it (issue 16).
_CHAT = (
    select(Student.id, Student.language)
    .join(ChannelIdentity, ChannelIdentity.student_id == Student.id)
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
)
_CHAT_LOCKED = _CHAT.with_for_update(of=Student)
_IDENTITY = select(ChannelIdentity.id).where(
    ChannelIdentity.channel == bindparam("channel"),
    ChannelIdentity.external_id == bindparam("external_id"),
)
_INSERT_LINE = insert(Message)


def _shown(student_id: Any) -> tuple[Any, ...]:
    """Which of a student's lines a chat page shows (``student_id``: a value or a column)."""
    return (
        Message.student_id == student_id,
        Message.channel.in_(SHOWN_CHANNELS),
        # A counselor's words are stored twice: the takeover's record (kind "counselor")
        # and the line the student's port stored as shown; the page shows the latter once.
        Message.kind.not_in(("reminder", "counselor")),
    )


# A page's wake-up in one statement: who is behind the chat, with the lines after the last
# one it showed (outer-joined, so a student with none still comes back, as one row).
_CHAT_AFTER = (
    select(Student.id, Student.language, Message)
    .join(ChannelIdentity, ChannelIdentity.student_id == Student.id)
    .outerjoin(Message, and_(*_shown(Student.id), Message.id > bindparam("after")))
    .where(
        ChannelIdentity.channel == bindparam("channel"),
        ChannelIdentity.external_id == bindparam("external_id"),
    )
    .order_by(Message.id)
    .limit(PAGE_LINES)
)
_RELINK_TRIES = 3


def prompt_token(text: str, keys: Sequence[str]) -> str:
    """A short name for one question: the same question asked again gets the same token."""
    digest = hashlib.sha256("\x1f".join([text, *keys]).encode("utf-8")).hexdigest()
    return digest[:12]


def last_prompt(replies: Sequence[Outbound]) -> str | None:
    """The token of the last question with buttons in these replies (the pipeline's prompt_of)."""
    for reply in reversed(replies):
        if reply.buttons:
            return prompt_token(reply.text, [key for key, _ in reply.buttons])
    return None


@dataclass(frozen=True)
class Line:
    """One stored line as a page shows it."""

    id: int
    sender: Sender
    text: str
    at: datetime
    buttons: tuple[tuple[str, str], ...] = ()
    prompt: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class ChatStudent:
    """Who is behind a chat identity: the student row and their language.

    ``last_line``: after :meth:`Transcript.append`, the id of the last line it stored.
    """

    student_id: int
    language: str
    last_line: int = 0


# Media kinds a student may send on WeChat, as the page names them.
_MEDIA = {"zh": "（{kind}）", "en": "({kind})"}


class Transcript:
    """Reads and writes the stored lines of the channels in :data:`SHOWN_CHANNELS`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, *, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.clock = clock

    # -- who ---------------------------------------------------------------------------------

    async def student(self, channel: str, external_id: str) -> ChatStudent | None:
        """The student behind a chat identity (None before its first message)."""
        async with self.sessions() as session:
            row = (
                await session.execute(_CHAT, {"channel": channel, "external_id": external_id})
            ).first()
        return ChatStudent(row[0], row[1]) if row is not None else None

    # -- writing -----------------------------------------------------------------------------

    async def append(
        self,
        channel: str,
        external_id: str,
        replies: Sequence[Outbound],
        attachments: Sequence[tuple[str, bytes]] = (),
        *,
        sender: Sender = "bot",
    ) -> ChatStudent | None:
        """Store lines for the student behind a chat; who that is, or None for an unknown chat."""
        for _ in range(_RELINK_TRIES):
            async with self.sessions.begin() as session:
                chat = {"channel": channel, "external_id": external_id}
                found = (await session.execute(_CHAT_LOCKED, chat)).first()
                if found is None:
                    # Unknown, or moved to its roster student while we waited for the lock.
                    if await session.scalar(_IDENTITY, chat) is None:
                        return None
                    continue
                ids = await self._add(
                    session, found[0], channel, external_id, replies, attachments, sender
                )
                return ChatStudent(found[0], found[1], max(ids, default=0))
        return None

    async def append_for(
        self,
        student_id: int,
        channel: str,
        replies: Sequence[Outbound],
        *,
        sender: Sender = "counselor",
    ) -> bool:
        """Store lines for a student by id (a counselor's words); False if they are gone."""
        async with self.sessions.begin() as session:
            found = await session.scalar(
                select(Student.id).where(Student.id == student_id).with_for_update()
            )
            if found is None:
                return False
            await self._add(session, student_id, channel, None, replies, (), sender)
        return True

    async def _add(
        self,
        session: AsyncSession,
        student_id: int,
        channel: str,
        chat_id: str | None,
        replies: Sequence[Outbound],
        attachments: Sequence[tuple[str, bytes]],
        sender: Sender,
    ) -> list[int]:
        """Insert the lines with Core (no unit of work for rows nothing reads back); their ids."""
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for reply in replies:
            extra: dict[str, Any] = {}
            if reply.buttons:
                extra["buttons"] = [list(button) for button in reply.buttons]
                extra["prompt"] = prompt_token(reply.text, [key for key, _ in reply.buttons])
            rows.append(
                {
                    "student_id": student_id,
                    "direction": "out",
                    "kind": "reminder" if reply.purpose == "reminder" else "text",
                    "channel": channel,
                    "channel_chat_id": chat_id,
                    "text_enc": self.cipher.encrypt(reply.text),
                    "sender": "counselor" if reply.purpose == "counselor" else sender,
                    "extra_enc": self._seal(extra) if extra else None,
                    "created_at": now,
                }
            )
        for name, data in attachments:
            rows.append(
                {
                    "student_id": student_id,
                    "direction": "out",
                    "kind": "file",
                    "channel": channel,
                    "channel_chat_id": chat_id,
                    "text_enc": self.cipher.encrypt(name),
                    "sender": sender,
                    "extra_enc": self._seal(
                        {"file": name, "data": base64.b64encode(data).decode("ascii")}
                    ),
                    "created_at": now,
                }
            )
        connection = await session.connection()
        ids: list[int] = []
        for row in rows:
            # One INSERT per line, in order: ids ascend as the page shows them.
            key = (await connection.execute(_INSERT_LINE, row)).inserted_primary_key
            assert key is not None  # a single-row INSERT always reports its key
            ids.append(key[0])
        return ids

    def _seal(self, extra: dict[str, Any]) -> bytes:
        return self.cipher.encrypt(json.dumps(extra, ensure_ascii=False))

    # -- reading -----------------------------------------------------------------------------

    async def recent(self, student_id: int, *, language: str = "zh") -> list[Line]:
        """The newest lines of a student's conversation, oldest first (a page that opens)."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    self._lines(student_id).order_by(Message.id.desc()).limit(PAGE_LINES)
                )
            ).all()
        return [self._line(row, language) for row in reversed(rows)]

    async def after(
        self, student_id: int, after: int, *, language: str = "zh", limit: int = PAGE_LINES
    ) -> list[Line]:
        """Lines stored after line ``after``, oldest first."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    self._lines(student_id)
                    .where(Message.id > after)
                    .order_by(Message.id)
                    .limit(limit)
                )
            ).all()
        return [self._line(row, language) for row in rows]

    async def chat_after(
        self, channel: str, external_id: str, after: int
    ) -> tuple[ChatStudent | None, list[Line]]:
        """Who is behind a chat and the lines after ``after``, read together (a page's wake-up)."""
        chat = {"channel": channel, "external_id": external_id, "after": after}
        async with self.sessions() as session:
            found = (await session.execute(_CHAT_AFTER, chat)).all()
        if not found:
            return None, []
        student = ChatStudent(found[0][0], found[0][1])
        return student, [
            self._line(row, student.language) for _, _, row in found if row is not None
        ]

    def _lines(self, student_id: int) -> Any:
        return select(Message).where(*_shown(student_id))

    async def banner(self, student_id: int) -> str | None:
        """The newest reminder the student has not answered yet (nothing written since)."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Message.id, Message.text_enc)
                    .where(
                        Message.student_id == student_id,
                        Message.kind == "reminder",
                        Message.channel.in_(SHOWN_CHANNELS),
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                )
            ).first()
            if row is None or row[1] is None:
                return None
            answered = await session.scalar(
                select(Message.id)
                .where(
                    and_(
                        Message.student_id == student_id,
                        Message.direction == "in",
                        Message.id > row[0],
                    )
                )
                .limit(1)
            )
        return None if answered is not None else self.cipher.decrypt(row[1])

    async def button_label(self, student_id: int, prompt: str, value: str) -> str | None:
        """The label of a button on the question ``prompt`` names (among the newest lines)."""
        async with self.sessions() as session:
            details = (
                await session.scalars(
                    select(Message.extra_enc)
                    .where(
                        Message.student_id == student_id,
                        Message.direction == "out",
                        Message.extra_enc.is_not(None),
                        Message.channel.in_(SHOWN_CHANNELS),
                    )
                    .order_by(Message.id.desc())
                    .limit(20)
                )
            ).all()
        for token in details:
            if token is None:
                continue
            extra = json.loads(self.cipher.decrypt(token))
            if extra.get("prompt") == prompt:
                labels = {str(key): str(label) for key, label in extra.get("buttons", [])}
                return labels.get(value)
        return None

    async def file(self, student_id: int, line_id: int) -> tuple[str, bytes] | None:
        """A file line's name and bytes, if it is this student's."""
        async with self.sessions() as session:
            row = await session.get(Message, line_id)
        if row is None or row.student_id != student_id or row.kind != "file" or not row.extra_enc:
            return None
        extra = json.loads(self.cipher.decrypt(row.extra_enc))
        return str(extra["file"]), base64.b64decode(extra["data"])

    async def changed(self, after: int, *, limit: int = 500) -> list[tuple[int, int]]:
        """(line id, student id) of lines stored after ``after``, for processes to wake pages."""
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Message.id, Message.student_id)
                    .where(Message.id > after, Message.channel.in_(SHOWN_CHANNELS))
                    .order_by(Message.id)
                    .limit(limit)
                )
            ).all()
        return [(line_id, student_id) for line_id, student_id in rows]

    async def newest_id(self) -> int:
        """The largest line id stored so far (where a watcher starts)."""
        async with self.sessions() as session:
            found = await session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
        return found or 0

    def _line(self, row: Message, language: str) -> Line:
        text = self.cipher.decrypt(row.text_enc) if row.text_enc is not None else ""
        extra: dict[str, Any] = (
            json.loads(self.cipher.decrypt(row.extra_enc)) if row.extra_enc is not None else {}
        )
        if row.direction == "in":
            label = extra.get("label")
            if isinstance(label, str) and label:
                text = label
            elif row.kind == "command":
                text = "/" + text
            elif row.kind == "media":
                text = _MEDIA.get(language, _MEDIA["zh"]).format(kind=text)
            return Line(row.id, "student", text, row.created_at)
        sender: Sender = "counselor" if row.sender == "counselor" else "bot"
        buttons = tuple(
            (str(key), str(label)) for key, label in extra.get("buttons", []) if key and label
        )
        prompt = extra.get("prompt") if buttons else None
        return Line(
            row.id,
            sender,
            text,
            row.created_at,
            buttons=buttons,
            prompt=prompt if isinstance(prompt, str) else None,
            file=str(extra["file"]) if row.kind == "file" and "file" in extra else None,
        )
