"""The chat page's requests: the page itself, sends, shared-computer mode, files, entry links.

Every send goes to the student service like any channel's message (stored, read by the
detector, escalated, answered through the web port); this module only translates a form into
an ``Inbound`` and an outcome into the answer the page expects (``CONTRACT.md``). A refusal is
a sentence for the student, never a 500: the page keeps what they typed, and the crisis lines
stay at the top of every page.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.channels.web import CHANNEL
from bot.channels.web.assets import CHAT_TEMPLATE, ENTER_TEMPLATE, TEMPLATES_DIR
from bot.channels.web.lines import AnswerButton, ChatLine, page_lines
from bot.channels.web.ui_texts import COMMANDS, MAX_TEXT, ui_texts
from bot.config.settings import Settings
from bot.services.pipeline import Inbound
from bot.services.student_service import StudentService
from bot.services.transcript import Line, Transcript, last_prompt
from bot.web.forms import BadForm, read_form
from bot.web.guard import BodyTooLarge
from bot.web.live import LiveHub, identity_key, student_key
from bot.web.sessions import Absent, Browser, CookieSessions
from bot.web.signing import Signer

log = logging.getLogger(__name__)
# A form with 2,000 CJK characters is about 18 KB urlencoded; anything past this is not ours.
SEND_LIMIT = 64 * 1024
SMALL_FORM = 4 * 1024
# What WeChat's links are signed for (``bot.channels.wechat`` makes them).
ENTER_PURPOSE = "chat-enter"


def new_subject() -> str:
    """A fresh chat identity for a browser (the external id of its "web" identity)."""
    return "w" + secrets.token_urlsafe(16)


def crisis_lines(settings: Settings, lang: str) -> list[dict[str, str]]:
    """The crisis lines at the top of every page, in the page's language."""
    return [
        {
            "name": line.name_en if lang == "en" else line.name_zh,
            "number": line.number,
            "hours": line.hours,
        }
        for line in settings.crisis_resources.lines
    ]


def chat_line(line: Line, zone: ZoneInfo) -> ChatLine:
    """A stored line as the page shows it, in the school's time zone."""
    return ChatLine(
        id=line.id,
        sender=line.sender,
        text=line.text,
        at=line.at.astimezone(zone),
        buttons=tuple(AnswerButton(value, label) for value, label in line.buttons),
        prompt=line.prompt,
        file=line.file,
    )


@dataclass(frozen=True)
class Refusal:
    """A send the page must be told about: the UI string and the status."""

    key: str
    status: int


class ChatPage:
    """``/chat``, ``/chat/send``, ``/chat/shared``, ``/chat/signout``, files and entry links."""

    def __init__(
        self,
        *,
        settings: Settings,
        students: StudentService,
        transcript: Transcript,
        cookies: CookieSessions,
        live: LiveHub,
        signer: Signer,
    ) -> None:
        self.settings = settings
        self.students = students
        self.transcript = transcript
        self.cookies = cookies
        self.live = live
        self.signer = signer
        self.zone = ZoneInfo(settings.schools.default_timezone)
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    def routes(self) -> list[Route]:
        """The page's routes."""
        return [
            Route("/chat", self.page, methods=["GET"]),
            Route("/chat/send", self.send, methods=["POST"]),
            Route("/chat/shared", self.shared, methods=["POST"]),
            Route("/chat/signout", self.signout, methods=["POST"]),
            Route("/chat/files/{line:int}", self.file, methods=["GET"]),
            Route("/chat/enter", self.enter, methods=["GET", "POST"]),
        ]

    # -- the page ----------------------------------------------------------------------------

    async def _browser(self, request: Request) -> tuple[Browser, str | None]:
        """The live session, or a new one (and the note to show when an old one was lost)."""
        found = await self.cookies.current(request)
        if isinstance(found, Browser):
            return found, None
        note = None if found is Absent.NONE else "session_new"
        return await self.cookies.open(new_subject()), note

    async def page(self, request: Request) -> Response:
        """The conversation so far, straight away: no sign-in wall."""
        browser, note = await self._browser(request)
        if request.query_params.get("erased"):
            note = "erased"
        elif request.query_params.get("ended"):
            note = "session_ended"
        elif request.query_params.get("expired"):
            note = "link_expired"
        return await self._render(request, browser, note=note)

    async def _render(
        self,
        request: Request,
        browser: Browser,
        *,
        note: str | None = None,
        draft: str | None = None,
        status: int = 200,
    ) -> Response:
        student = await self.transcript.student(CHANNEL, browser.subject)
        lang = "en" if student is not None and student.language == "en" else "zh"
        ui = ui_texts(lang)
        lines: list[ChatLine] = []
        banner = None
        if student is not None:
            stored = await self.transcript.recent(student.student_id, language=lang)
            lines = [chat_line(line, self.zone) for line in stored]
            banner = await self.transcript.banner(student.student_id)
        context: dict[str, Any] = {
            "lang": lang,
            "ui": ui,
            "lines": page_lines(lines),
            "csrf": browser.csrf,
            "banner": banner,
            "crisis_lines": crisis_lines(self.settings, lang),
            "shared": browser.shared,
            "error": ui[note] if note else None,
            "draft": draft,
        }
        response = self.templates.TemplateResponse(
            request, CHAT_TEMPLATE, context, status_code=status
        )
        self.cookies.write(response, browser)
        return response

    # -- sending -----------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        """One message, button press or shortcut from the page."""
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            fields = await read_form(request, SEND_LIMIT)
        except BodyTooLarge:
            return await self._refuse(request, Refusal("refused_too_long", 413), wants_json)
        except BadForm:
            return await self._refuse(request, Refusal("refused_empty", 400), wants_json)
        if not fields:
            # An empty body: nothing to send, whoever sent it.
            return await self._refuse(request, Refusal("refused_empty", 400), wants_json)
        found = await self.cookies.current(request)
        if not isinstance(found, Browser) or not self.cookies.check_csrf(found, fields.get("csrf")):
            # Never a 500, never a silent loss: the student's words go back in the box.
            return await self._refuse(
                request, Refusal("refused_session", 403), wants_json, draft=fields.get("text")
            )
        inbound = await self._inbound(found.subject, fields)
        if isinstance(inbound, Refusal):
            return await self._refuse(
                request, inbound, wants_json, browser=found, draft=fields.get("text")
            )
        try:
            outcome = await self.students.receive(inbound, prompt_of=last_prompt)
        except Exception as exc:
            log.error("web send failed for a chat: %s", type(exc).__name__)
            return await self._refuse(
                request,
                Refusal("refused_fault", 503),
                wants_json,
                browser=found,
                draft=fields.get("text"),
            )
        if not outcome.replies or self.students.held(CHANNEL, found.subject) is not None:
            # The student's own line is stored though no reply was (held by flood control):
            # the port woke nobody, so show the line now.
            self.live.notify(identity_key(CHANNEL, found.subject), student_key(outcome.student_id))
        if outcome.stale:
            return await self._refuse(
                request, Refusal("refused_stale", 409), wants_json, browser=found
            )
        if outcome.erased:
            # Their data is gone, the chat identity with it: this browser starts afresh.
            await self.cookies.store.end_subject(self.cookies.kind, found.subject)
            target = "/chat?erased=1"
            response: Response = (
                JSONResponse({"ok": True, "reload": target})
                if wants_json
                else RedirectResponse(target, status_code=303)
            )
            self.cookies.clear(response)
            return response
        if wants_json:
            response = JSONResponse({"ok": True})
        else:
            response = RedirectResponse("/chat#end", status_code=303)
        self.cookies.write(response, found)
        return response

    async def _inbound(self, subject: str, fields: dict[str, str]) -> Inbound | Refusal:
        def make(kind: Any, value: str, **extra: Any) -> Inbound:
            return Inbound(
                channel=CHANNEL,
                external_id=subject,
                chat_id=subject,
                kind=kind,
                value=value,
                **extra,
            )

        if fields.get("button"):
            value = fields["button"][:64]
            prompt = fields.get("prompt", "")[:32]
            label = await self._label(subject, prompt, value)
            return make("button", value, prompt=prompt, label=label)
        if "command" in fields:
            command = fields["command"]
            if command not in COMMANDS:
                return Refusal("refused_empty", 400)
            student = await self.transcript.student(CHANNEL, subject)
            lang = student.language if student is not None else "zh"
            return make("command", command, label=ui_texts(lang)["command_" + command])
        text = fields.get("text", "")
        if not text.strip():
            return Refusal("refused_empty", 400)
        if len(text) > MAX_TEXT:
            return Refusal("refused_too_long", 413)
        return make("text", text)

    async def _label(self, subject: str, prompt: str, value: str) -> str | None:
        """The label of the pressed button, from the stored question it answers."""
        student = await self.transcript.student(CHANNEL, subject)
        if student is None or not prompt:
            return None
        return await self.transcript.button_label(student.student_id, prompt, value)

    async def _refuse(
        self,
        request: Request,
        refusal: Refusal,
        wants_json: bool,
        *,
        browser: Browser | None = None,
        draft: str | None = None,
    ) -> Response:
        if wants_json:
            lang = "zh"
            if browser is not None:
                student = await self.transcript.student(CHANNEL, browser.subject)
                lang = student.language if student is not None else "zh"
            return JSONResponse(
                {"ok": False, "error": ui_texts(lang)[refusal.key]}, status_code=refusal.status
            )
        if browser is None:
            browser, _ = await self._browser(request)
        kept = draft[:MAX_TEXT] if draft and refusal.key != "refused_stale" else None
        return await self._render(
            request, browser, note=refusal.key, draft=kept, status=refusal.status
        )

    # -- the rest ----------------------------------------------------------------------------

    async def shared(self, request: Request) -> Response:
        """Turn shared-computer mode on or off (a plain form in both modes)."""
        response = RedirectResponse("/chat", status_code=303)
        try:
            fields = await read_form(request, SMALL_FORM)
        except (BodyTooLarge, BadForm):
            return response
        found = await self.cookies.current(request)
        if isinstance(found, Browser) and self.cookies.check_csrf(found, fields.get("csrf")):
            self.cookies.write(
                response, await self.cookies.set_shared(found, fields.get("shared") == "1")
            )
        return response

    async def signout(self, request: Request) -> Response:
        """End the session now (shared computers): the next visitor sees a fresh page."""
        response = RedirectResponse("/chat?ended=1", status_code=303)
        try:
            fields = await read_form(request, SMALL_FORM)
        except (BodyTooLarge, BadForm):
            return response
        found = await self.cookies.current(request)
        if isinstance(found, Browser) and self.cookies.check_csrf(found, fields.get("csrf")):
            await self.cookies.end(found)
            self.live.notify(identity_key(CHANNEL, found.subject))
            self.cookies.clear(response)
        return response

    async def file(self, request: Request) -> Response:
        """A file from the conversation (the student's /mydata export), for its student only."""
        found = await self.cookies.current(request)
        student = (
            await self.transcript.student(CHANNEL, found.subject)
            if isinstance(found, Browser)
            else None
        )
        stored = (
            await self.transcript.file(student.student_id, request.path_params["line"])
            if student is not None
            else None
        )
        if stored is None:
            return Response("not found", status_code=404, media_type="text/plain")
        name, data = stored
        return Response(
            data,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def enter(self, request: Request) -> Response:
        """Open the page as the chat a signed link names (a WeChat reply's link to the page).

        ``GET`` shows one button; only its ``POST`` (with this browser's CSRF token) binds the
        browser to the chat. A link opened by another site's redirect therefore binds
        nothing: no page can slip a browser into a conversation that is not its owner's,
        where what they then typed would be read by whoever made the link.
        """
        if request.method == "GET":
            token = request.query_params.get("t", "")
            if self._subject_of(token) is None:
                return RedirectResponse("/chat?expired=1", status_code=303)
            browser, _ = await self._browser(request)
            ui = ui_texts("zh")
            page = self.templates.TemplateResponse(
                request,
                ENTER_TEMPLATE,
                {
                    "lang": "zh",
                    "ui": ui,
                    "csrf": browser.csrf,
                    "token": token,
                    "crisis_lines": crisis_lines(self.settings, "zh"),
                },
            )
            self.cookies.write(page, browser)
            return page
        try:
            fields = await read_form(request, SMALL_FORM)
        except (BodyTooLarge, BadForm):
            return RedirectResponse("/chat", status_code=303)
        found = await self.cookies.current(request)
        subject = self._subject_of(fields.get("t", ""))
        if not isinstance(found, Browser) or not self.cookies.check_csrf(found, fields.get("csrf")):
            return RedirectResponse("/chat", status_code=303)
        if subject is None:
            return RedirectResponse("/chat?expired=1", status_code=303)
        if subject != found.subject:
            await self.cookies.end(found)
            found = await self.cookies.open(subject, shared=found.shared)
        response = RedirectResponse("/chat#end", status_code=303)
        self.cookies.write(response, found)
        return response

    def _subject_of(self, token: str) -> str | None:
        data = self.signer.open(ENTER_PURPOSE, token, now=self.students.now())
        subject = data.get("s") if data is not None else None
        return subject if isinstance(subject, str) and subject else None
