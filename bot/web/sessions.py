"""Browser sessions over HTTP: the cookie, its signature, its expiry, and the CSRF token.

The cookie carries ``token.signature``. A cookie signed with another server's secret (or
tampered with) is refused before the database is asked; a known token finds its server-side
session (only a hash of the token is stored). The CSRF token is an HMAC of the session token,
so it needs no storage, changes with every session and means nothing to another one.

The cookie is HttpOnly and SameSite=Lax (a link from WeChat opens the page with it), Secure
when students reach the server over HTTPS. A student's own device keeps it for the session's
lifetime; in shared-computer mode it is a session cookie (gone when the browser closes) and
the server ends the session after a short idle time as well.

One helper serves every kind of session: the chat page uses ``kind="student"``; a counselor
console makes its own with ``kind="counselor"`` and its own cookie name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import timedelta

from starlette.requests import HTTPConnection
from starlette.responses import Response

from bot.services.web_sessions import SessionRecord, SessionStore
from bot.web.signing import Signer

_COOKIE_PURPOSE = "session-cookie"
_CSRF_PURPOSE = "csrf"


class Absent(enum.Enum):
    """Why a request has no live session."""

    NONE = "none"  # no cookie at all
    FORGED = "forged"  # signed with another secret, or tampered with
    EXPIRED = "expired"  # a real session that expired, ended, or was never ours


@dataclass(frozen=True)
class Browser:
    """A request's live session, with its raw token (from the cookie) and CSRF token."""

    record: SessionRecord
    token: str
    csrf: str
    # Set the cookie on the response: the session is new, changed mode or slid forward.
    renew: bool = False

    @property
    def subject(self) -> str:
        """Who the session is (a student's chat identity, a counselor's id)."""
        return self.record.subject

    @property
    def shared(self) -> bool:
        """Shared-computer mode."""
        return self.record.shared


class CookieSessions:
    """Sessions of one kind, behind one cookie."""

    def __init__(
        self,
        store: SessionStore,
        signer: Signer,
        *,
        kind: str,
        cookie: str,
        lifetime: timedelta,
        shared_lifetime: timedelta,
        secure: bool,
        path: str = "/",
    ) -> None:
        self.store = store
        self.signer = signer
        self.kind = kind
        # The __Host- prefix pins a Secure cookie to this host and path "/".
        self.cookie = f"__Host-{cookie}" if secure and path == "/" else cookie
        self.lifetime = lifetime
        self.shared_lifetime = shared_lifetime
        self.secure = secure
        self.path = path

    def lifetime_of(self, shared: bool) -> timedelta:
        """How long a session of this mode lives after its last use."""
        return self.shared_lifetime if shared else self.lifetime

    def csrf_of(self, token: str) -> str:
        """The CSRF token of a session token."""
        return self.signer.mac(_CSRF_PURPOSE, token)

    def check_csrf(self, browser: Browser | None, given: str | None) -> bool:
        """Whether a form's CSRF token belongs to this live session."""
        return (
            browser is not None
            and bool(given)
            and self.signer.same(_CSRF_PURPOSE, browser.token, given or "")
        )

    async def current(self, request: HTTPConnection, *, touch: bool = True) -> Browser | Absent:
        """The request's live session, or why there is none.

        ``touch`` slides its expiry forward: what the person does counts as use, a page left
        open to listen for replies does not (a shared computer's idle timeout must bite).
        """
        raw = request.cookies.get(self.cookie)
        if not raw:
            return Absent.NONE
        token = self.signer.unsign(_COOKIE_PURPOSE, raw)
        if token is None:
            return Absent.FORGED
        record = await self.store.find(token, self.kind)
        if record is None:
            return Absent.EXPIRED
        if not touch:
            return Browser(record, token, self.csrf_of(token))
        touched = await self.store.touch(record, self.lifetime_of(record.shared))
        # A persistent cookie is renewed when its expiry moved; a session cookie never needs it.
        renew = touched is not record and not record.shared
        return Browser(touched, token, self.csrf_of(token), renew=renew)

    async def open(self, subject: str, *, shared: bool = False) -> Browser:
        """A new session for ``subject``; the response must set its cookie."""
        token, record = await self.store.open(
            self.kind, subject, shared=shared, lifetime=self.lifetime_of(shared)
        )
        return Browser(record, token, self.csrf_of(token), renew=True)

    async def set_shared(self, browser: Browser, shared: bool) -> Browser:
        """Switch shared-computer mode; the cookie is set again to match."""
        record = await self.store.set_shared(browser.record, shared, self.lifetime_of(shared))
        return replace(browser, record=record, renew=True)

    async def end(self, browser: Browser) -> None:
        """Sign out."""
        await self.store.end(browser.record)

    def write(self, response: Response, browser: Browser) -> None:
        """Set (or renew) the session's cookie on a response, when it needs it."""
        if not browser.renew:
            return
        response.set_cookie(
            self.cookie,
            self.signer.sign(_COOKIE_PURPOSE, browser.token),
            # Shared computers: a session cookie, gone when the browser closes.
            max_age=None if browser.shared else int(self.lifetime.total_seconds()),
            path=self.path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        """Remove the cookie."""
        response.delete_cookie(
            self.cookie, path=self.path, secure=self.secure, httponly=True, samesite="lax"
        )
