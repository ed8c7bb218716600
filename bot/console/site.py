"""What every console page shares: who is signed in, CSRF on every post, rendering, sign-in.

A counselor session is a ``kind="counselor"`` cookie session under its own cookie name: a
student's chat cookie is another name and another kind, so it never opens the console. The
sign-in form carries a token bound to a short-lived pre-sign-in cookie (no other site can
post it), and a good sign-in always opens a *new* session and ends the one the browser had,
so a session id planted before sign-in is worth nothing after it (no fixation).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.console.assets import TEMPLATES_DIR
from bot.services.access import Access
from bot.services.console_desk import ConsoleDesk
from bot.services.counselor_desk import Who
from bot.web.forms import BadForm, read_form
from bot.web.guard import BodyTooLarge
from bot.web.sessions import Browser, CookieSessions
from bot.web.signing import Signer

log = logging.getLogger(__name__)
FORM_LIMIT = 32 * 1024
# A counselor's session: a working day after the last use; idle on a shared computer less.
LIFETIME = timedelta(hours=12)
SHARED_IDLE = timedelta(minutes=30)
PRE_COOKIE = "hg_console_pre"
_SIGNIN_PURPOSE = "console-signin"
EXPIRED = "页面已过期，请再试一次 The page expired; try again"


@dataclass(frozen=True)
class Desk:
    """A signed-in counselor's request: their session and who they are."""

    browser: Browser
    who: Who


class ConsoleSite:
    """Sessions, CSRF and templates for the console's pages."""

    def __init__(
        self,
        *,
        desk: ConsoleDesk,
        access: Access,
        cookies: CookieSessions,
        signer: Signer,
        zone: str,
    ) -> None:
        self.desk = desk
        self.access = access
        self.cookies = cookies
        self.signer = signer
        self.zone = ZoneInfo(zone)
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
        self.templates.env.filters["local"] = self.local

    def local(self, value: Any, fmt: str = "%m-%d %H:%M") -> str:
        """A time in the district's zone, as the pages print it."""
        return value.astimezone(self.zone).strftime(fmt) if value is not None else ""

    # -- who -----------------------------------------------------------------------------------

    async def signed_in(self, request: Request, *, touch: bool = True) -> Desk | None:
        """The counselor behind the request's console session, if any (and still active)."""
        found = await self.cookies.current(request, touch=touch)
        if not isinstance(found, Browser) or not found.subject.isdigit():
            return None
        who = await self.desk.who(int(found.subject))
        return Desk(found, who) if who is not None else None

    async def posted(self, request: Request) -> tuple[Desk, dict[str, str]] | None:
        """A form post by a signed-in counselor with this session's CSRF token, else None."""
        try:
            fields = await read_form(request, FORM_LIMIT)
        except (BodyTooLarge, BadForm):
            return None
        desk = await self.signed_in(request)
        if desk is None or not self.cookies.check_csrf(desk.browser, fields.get("csrf")):
            log.info("console post refused: no session or wrong CSRF token")
            return None
        return desk, fields

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        desk: Desk | None = None,
        status: int = 200,
    ) -> Response:
        """A page; a signed-in one carries the CSRF token and renews the cookie."""
        full = {"me": desk.who if desk else None, "csrf": desk.browser.csrf if desk else ""}
        full.update(context)
        response = self.templates.TemplateResponse(request, template, full, status_code=status)
        if desk is not None:
            self.cookies.write(response, desk.browser)
        return response

    def to_signin(self) -> Response:
        """Send a visitor without a session to the sign-in page."""
        return RedirectResponse("/console/signin", status_code=303)

    def not_found(self, request: Request, desk: Desk) -> Response:
        """The same answer for a case that does not exist and one outside the scope."""
        return self.render(request, "missing.html", {}, desk=desk, status=404)

    # -- sign-in -------------------------------------------------------------------------------

    async def signin_page(self, request: Request) -> Response:
        """``GET /console/signin``: the form, with a token tied to this browser.

        Shown to a signed-in counselor too: signing in as someone else ends their session.
        """
        return self._signin_form(request, None)

    def _signin_form(self, request: Request, error: str | None, status: int = 200) -> Response:
        pre = secrets.token_urlsafe(24)
        response = self.templates.TemplateResponse(
            request,
            "signin.html",
            {
                "me": None,
                "csrf": self.signer.mac(_SIGNIN_PURPOSE, pre),
                "error": error,
            },
            status_code=status,
        )
        response.set_cookie(
            PRE_COOKIE,
            pre,
            max_age=3600,
            path="/console",
            secure=self.cookies.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def signin(self, request: Request) -> Response:
        """``POST /console/signin``: password and TOTP code; a new session on success."""
        try:
            fields = await read_form(request, FORM_LIMIT)
        except (BodyTooLarge, BadForm):
            return self._signin_form(request, "表单无效 Invalid form", 400)
        pre = request.cookies.get(PRE_COOKIE, "")
        if not pre or not self.signer.same(_SIGNIN_PURPOSE, pre, fields.get("csrf", "")):
            return self._signin_form(
                request, "页面已过期，请再试一次 The page expired; try again", 403
            )
        who = fields.get("who", "").strip()[:100]
        password = fields.get("password", "")[:1000]
        code = fields.get("totp", "").strip()[:12] or None
        source = request.client.host if request.client is not None else "unknown"
        counselor_id = (
            await self.access.verify_login(who, password, code, source=source)
            if who and password
            else None
        )
        if counselor_id is None:
            return self._signin_form(
                request,
                "名字、密码或验证码不对，或尝试次数太多，请稍后再试 "
                "Wrong name, password or code, or too many attempts; try again later",
                401,
            )
        old = await self.cookies.current(request, touch=False)
        if isinstance(old, Browser):
            await self.cookies.end(old)  # never carry a session across a sign-in
        browser = await self.cookies.open(str(counselor_id), shared=fields.get("shared") == "1")
        log.info("counselor %s signed in to the console", counselor_id)
        response = RedirectResponse("/console", status_code=303)
        self.cookies.write(response, browser)
        response.delete_cookie(PRE_COOKIE, path="/console")
        return response

    async def signout(self, request: Request) -> Response:
        """``POST /console/signout``: end the session now."""
        response = RedirectResponse("/console/signin", status_code=303)
        posted = await self.posted(request)
        if posted is not None:
            await self.cookies.end(posted[0].browser)
            self.cookies.clear(response)
        return response
