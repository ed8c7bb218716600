"""The console channel: talk to HeartGuard from a terminal, or script it with JSON lines.

It uses the same database and pipeline as production; only the transport differs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.services.pipeline import Inbound, InboundKind, Outcome, Pipeline

CHANNEL = "console"
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real clock, at the edge where it belongs."""
    return datetime.now(UTC)


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
        pipeline: Pipeline,
        clock: Clock = system_clock,
        after_commit: Callable[[Outcome], Awaitable[None]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.after_commit = after_commit
        self.last_buttons: dict[str, tuple[tuple[str, str], ...]] = {}

    async def send(self, who: str, kind: InboundKind, value: str) -> Outcome:
        """One message from ``who``."""
        outcome = await self.pipeline.handle(
            Inbound(channel=CHANNEL, external_id=who, chat_id=who, kind=kind, value=value),
            self.clock(),
        )
        if outcome.replies:
            self.last_buttons[who] = outcome.replies[-1].buttons
        if self.after_commit is not None:
            await self.after_commit(outcome)
        return outcome

    async def run_jsonl(self, source: TextIO, sink: TextIO) -> int:
        """JSON lines in, JSON lines out; returns the number of unusable input lines."""
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
            outcome = await self.send(who, kind, value)
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
            self._show(await self.send(who, kind, value), sink)

    def _show(self, outcome: Outcome, sink: TextIO) -> None:
        for reply in outcome.replies:
            sink.write("心卫> " + reply.text.replace("\n", "\n      ") + "\n")
            for index, (_, label) in enumerate(reply.buttons, start=1):
                sink.write(f"      {index}) {label}\n")
        for name, data in outcome.attachments:
            target = Path("var") / "exports" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            sink.write(f"      [已保存 / saved: {target}]\n")
        sink.flush()


def _parse(line: str) -> tuple[str, InboundKind, str]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not a JSON object") from None
    if not isinstance(data, dict) or not isinstance(data.get("from"), str) or not data["from"]:
        raise ValueError('expected {"from": "student", "text": "..."} or "button" or "command"')
    who = data["from"]
    if isinstance(data.get("button"), str | int) and not isinstance(data.get("button"), bool):
        return who, "button", str(data["button"])
    if isinstance(data.get("command"), str):
        return who, "command", data["command"].lstrip("/")
    if isinstance(data.get("media"), str):
        return who, "media", data["media"]
    if isinstance(data.get("text"), str):
        kind, value = classify(data["text"])
        return who, kind, value if kind == "command" else data["text"]
    raise ValueError('expected a "text", "button", "command" or "media" field')


def _emit(sink: TextIO, payload: dict[str, Any]) -> None:
    sink.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sink.flush()


def stdio() -> tuple[TextIO, TextIO]:
    """Standard input and output, for the CLI."""
    return sys.stdin, sys.stdout
