"""The console channel: talk to HeartGuard from a terminal, or script it with JSON lines.

It uses the same database, pipeline and student service as production; only the transport
differs (replies are printed from the outcome, so the console plugs in no port).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from bot.services.pipeline import Inbound, InboundKind, Outcome
from bot.services.student_service import StudentService
from bot.services.students import printable

CHANNEL = "console"
# A chat identity is stored in 64 characters (student_channels.external_id).
MAX_FROM = 64
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_FIELD: dict[str, str] = {"button": "button", "command": "command", "media": "media"}
_FIELD_DEFAULT = "text"
log = logging.getLogger(__name__)
_FAILED = (
    "心卫> 出了点问题，刚才那条消息没能处理，请再发一次。需要帮助请拨打 12356、120 或 110。\n"
    "      Something went wrong with that message; please send it again. "
    "For help now, call 12356, 120 or 110.\n"
)


def classify(line: str, buttons: tuple[tuple[str, str], ...] = ()) -> tuple[InboundKind, str]:
    """Typed console input → (kind, value): /commands, a number for a shown button, or text."""
    stripped = line.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        return "command", stripped[1:]
    if buttons and stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return "button", buttons[int(stripped) - 1][0]
    return "text", line


class Console:
    """Feeds console input to the pipeline for any number of named students."""

    def __init__(
        self,
        students: StudentService,
        after_commit: Callable[[Outcome], Awaitable[None]] | None = None,
    ) -> None:
        self.students = students
        self.after_commit = after_commit
        self.last_buttons: dict[str, tuple[tuple[str, str], ...]] = {}

    async def send(self, who: str, kind: InboundKind, value: str) -> Outcome:
        """One message from ``who``."""
        outcome = await self.students.receive(
            Inbound(channel=CHANNEL, external_id=who, chat_id=who, kind=kind, value=value)
        )
        if outcome.replies:
            self.last_buttons[who] = outcome.replies[-1].buttons
        if self.after_commit is not None:
            await self.after_commit(outcome)
        return outcome

    async def run_jsonl(self, source: TextIO, sink: TextIO) -> int:
        """JSON lines in, JSON lines out; returns the number of unusable input lines.

        Every line gets its own answer: a line that cannot be used gets one error line, and
        the next line is read as if nothing had happened (a crisis after garbage is still a
        crisis).
        """
        bad = 0
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                who, kind, value = _parse(line)
            except ValueError as exc:
                bad += 1
                _emit(sink, {"error": str(exc), "line": number})
                continue
            try:
                outcome = await self.send(who, kind, value)
            except Exception as exc:
                # The step rolled back; say so for this line and go on with the next. The
                # exception's text may quote the input, so only its type is logged.
                bad += 1
                log.error("jsonl line %s failed: %s", number, type(exc).__name__)
                _emit(sink, {"error": f"internal error ({type(exc).__name__})", "line": number})
                continue
            for reply in outcome.replies:
                _emit(
                    sink,
                    {
                        "to": who,
                        "text": reply.text,
                        "buttons": [label for _, label in reply.buttons],
                    },
                )
            for name, data in outcome.attachments:
                _emit(sink, {"to": who, "file": name, "data": json.loads(data)})
            for event in outcome.events:
                _emit(sink, {**event, "student": who})
        return bad

    async def run_interactive(self, who: str, source: TextIO, sink: TextIO) -> None:
        """A chat in the terminal; buttons are shown as numbered options."""
        sink.write("（输入 /help 查看求助方式，/cancel 退出当前话题，Ctrl-D 结束。）\n")
        outcome = await self.send(who, "command", "start")
        self._show(outcome, sink)
        while True:
            sink.write("你> ")
            sink.flush()
            line = await asyncio.to_thread(source.readline)
            if not line:
                sink.write("\n再见，照顾好自己。\n")
                return
            if not line.strip():
                continue
            kind, value = classify(line.rstrip("\n"), self.last_buttons.get(who, ()))
            try:
                outcome = await self.send(who, kind, value)
            except Exception as exc:
                # One bad line never ends the chat; its text stays out of the log.
                log.error("console message failed: %s", type(exc).__name__)
                sink.write(_FAILED)
                continue
            self._show(outcome, sink)

    def _show(self, outcome: Outcome, sink: TextIO) -> None:
        for reply in outcome.replies:
            sink.write("心卫> " + reply.text.replace("\n", "\n      ") + "\n")
            for index, (_, label) in enumerate(reply.buttons, start=1):
                sink.write(f"      {index}) {label}\n")
        for name, data in outcome.attachments:
            target = Path("var") / "exports" / name
            try:
                _save(target, data)
            except OSError as exc:
                sink.write(f"      [没能保存 / could not save {target}: {exc.strerror}]\n")
                continue
            sink.write(f"      [已保存 / saved: {target}]\n")
        sink.flush()


def _parse(line: str) -> tuple[str, InboundKind, str]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not a JSON object") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("from"), str) or not data["from"]:
        raise ValueError('expected {"from": "student", "text": "..."} or "button" or "command"')
    who = data["from"]
    if len(who) > MAX_FROM or _CONTROL.search(who):
        raise ValueError(f'"from": expected 1-{MAX_FROM} characters without control characters')
    who, kind, value = who, *_content(data)
    if "\x00" in value:
        raise ValueError(f'"{_FIELD.get(kind, _FIELD_DEFAULT)}" contains a NUL character')
    return who, kind, value


def _content(data: dict[str, Any]) -> tuple[InboundKind, str]:
    if isinstance(data.get("button"), str | int) and not isinstance(data.get("button"), bool):
        return "button", str(data["button"])
    if isinstance(data.get("command"), str):
        return "command", data["command"].lstrip("/")
    if isinstance(data.get("media"), str):
        return "media", data["media"]
    if isinstance(data.get("text"), str):
        kind, value = classify(data["text"])
        return kind, value if kind == "command" else data["text"]
    raise ValueError('expected a "text", "button", "command" or "media" field')


def _save(target: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file beside it, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _emit(sink: TextIO, payload: dict[str, Any]) -> None:
    # printable(): a lone surrogate in an echoed value must not stop the run at the write.
    sink.write(printable(json.dumps(payload, ensure_ascii=False, default=str)) + "\n")
    sink.flush()
