"""A test-only server that keeps the chat page's contract (``bot/channels/web/CONTRACT.md``).

The conversation lives in memory and the bot is an echo:
- text with "问" or "ask" gets a question with two answer buttons;
- any other text gets "你说：<text>";
- a pressed button gets "谢谢你告诉我。" at once and "我会一直在这里。" a moment later, so a
  line arrives while the page is idle;
- a command gets "（<command>）".

It records what it received (every send's fields, whether it asked for JSON) and how the page
listened (event streams and polls opened), for the tests to assert on.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.channels.web.assets import CHAT_TEMPLATE, STATIC_DIR, TEMPLATES_DIR
from bot.channels.web.lines import AnswerButton, ChatLine, Sender, page_lines
from bot.channels.web.ui_texts import ui_texts

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUESTION = "你今天感觉怎么样？"
BUTTONS = (AnswerButton("good", "还不错"), AnswerButton("bad", "不太好"))
THANKS = "谢谢你告诉我。"
LATER = "我会一直在这里。"
CRISIS_LINES = [
    {"name": "全国心理援助热线", "number": "12356", "hours": "24小时"},
    {"name": "急救", "number": "120", "hours": ""},
]


@dataclass(frozen=True)
class Received:
    """One send the server received."""

    fields: dict[str, str]
    wants_json: bool


@dataclass
class FakeChat:
    """The conversation, the page's settings and what the server saw."""

    later_delay: float = 0.5
    poll_wait: float = 10.0
    lines: list[ChatLine] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    opened: Counter[str] = field(default_factory=Counter)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    shared: bool = False
    banner: str | None = None
    events_status: int = 200
    refuse_next_send: str | None = None
    _changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # Made on first use, inside the server's own event loop.
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def add(
        self,
        sender: Sender,
        text: str,
        buttons: tuple[AnswerButton, ...] = (),
        prompt: str | None = None,
    ) -> ChatLine:
        line = ChatLine(
            id=len(self.lines) + 1,
            sender=sender,
            text=text,
            at=datetime.now(SHANGHAI),
            buttons=buttons,
            prompt=prompt,
        )
        async with self._condition():
            self.lines.append(line)
            self._condition().notify_all()
        return line

    async def after(self, after: int, wait: float) -> list[ChatLine]:
        """Lines stored after ``after``, waiting up to ``wait`` seconds for the first."""
        condition = self._condition()
        async with condition:
            try:
                async with asyncio.timeout(wait):
                    await condition.wait_for(lambda: any(line.id > after for line in self.lines))
            except TimeoutError:
                return []
            return [line for line in self.lines if line.id > after]

    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


def _int(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def chat_app(chat: FakeChat) -> Starlette:
    """The Starlette app serving the real page against ``chat``."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    later_tasks: set[asyncio.Task[None]] = set()

    async def page(request: Request, error: str | None = None) -> Response:
        lang = request.query_params.get("lang", "zh")
        context = {
            "lang": lang,
            "ui": ui_texts(lang),
            "lines": page_lines(chat.lines),
            "csrf": chat.csrf,
            "banner": chat.banner,
            "crisis_lines": CRISIS_LINES,
            "shared": chat.shared,
            "error": error,
        }
        return templates.TemplateResponse(request, CHAT_TEMPLATE, context)

    async def say_later(text: str) -> None:
        await asyncio.sleep(chat.later_delay)
        await chat.add("bot", text)

    async def answer(fields: dict[str, str]) -> str | None:
        if fields.get("csrf") != chat.csrf:
            return "页面已经过期，请刷新后再发。"
        if chat.refuse_next_send:
            refusal, chat.refuse_next_send = chat.refuse_next_send, None
            return refusal
        if "button" in fields:
            asked = [line for line in chat.lines if line.prompt == fields.get("prompt")]
            labels = {b.value: b.label for line in asked for b in line.buttons}
            await chat.add("student", labels.get(fields["button"], fields["button"]))
            await chat.add("bot", THANKS)
            task = asyncio.create_task(say_later(LATER))
            later_tasks.add(task)
            task.add_done_callback(later_tasks.discard)
        elif "command" in fields:
            await chat.add("student", ui_texts("zh").get("command_" + fields["command"], "?"))
            await chat.add("bot", f"（{fields['command']}）")
        else:
            text = fields.get("text", "")
            if not text.strip():
                return "请先写点什么。"
            await chat.add("student", text)
            if "问" in text or "ask" in text:
                await chat.add("bot", QUESTION, BUTTONS, f"mood-{len(chat.lines)}")
            else:
                await chat.add("bot", f"你说：{text}")
        return None

    async def send(request: Request) -> Response:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items()}
        wants_json = "application/json" in request.headers.get("accept", "")
        chat.received.append(Received(fields, wants_json))
        refusal = await answer(fields)
        if wants_json:
            if refusal:
                return JSONResponse({"ok": False, "error": refusal}, status_code=400)
            return JSONResponse({"ok": True})
        if refusal:
            return await page(request, refusal)
        return RedirectResponse("/chat#end", status_code=303)

    async def events(request: Request) -> Response:
        chat.opened["events"] += 1
        if chat.events_status != 200:
            return Response("no streams here", status_code=chat.events_status)
        start = max(
            _int(request.query_params.get("after")), _int(request.headers.get("last-event-id"))
        )

        async def stream() -> AsyncIterator[str]:
            last = start
            while True:
                lines = await chat.after(last, 15.0)
                if not lines:
                    yield ": keepalive\n\n"
                for line in lines:
                    data = json.dumps(line.as_json(), ensure_ascii=False)
                    yield f"id: {line.id}\ndata: {data}\n\n"
                    last = line.id

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def poll(request: Request) -> Response:
        chat.opened["poll"] += 1
        lines = await chat.after(_int(request.query_params.get("after")), chat.poll_wait)
        return JSONResponse({"lines": [line.as_json() for line in lines]})

    async def shared(request: Request) -> Response:
        form = await request.form()
        if form.get("csrf") == chat.csrf:
            chat.shared = form.get("shared") == "1"
        return RedirectResponse("/chat", status_code=303)

    return Starlette(
        routes=[
            Route("/chat", page, methods=["GET"]),
            Route("/chat/send", send, methods=["POST"]),
            Route("/chat/events", events, methods=["GET"]),
            Route("/chat/poll", poll, methods=["GET"]),
            Route("/chat/shared", shared, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
        ]
    )
