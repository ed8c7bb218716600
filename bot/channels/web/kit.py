"""The chat page's plug: its port to students (stored lines that wake the page) and flood limits.

A reply to a web student is a stored line: the port writes it (encrypted) and wakes the
student's open page at once; a page in another process hears of it from its line watcher. A
web student cannot block us, so the port answers delivered, or "retry" when the database is
away (the student service logs it; the student's next message finds the conversation as the
pipeline left it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.channels.port import DELIVERED, Attachment, ChannelPlug, Delivery, DeliveryResult
from bot.channels.web import CHANNEL
from bot.channels.web.assets import STATIC_DIR, STATIC_PREFIX
from bot.channels.web.chat import ChatPage
from bot.channels.web.stream import LineStream
from bot.services.flood import FloodGate
from bot.services.render import Outbound
from bot.services.transcript import Transcript
from bot.services.web_sessions import SessionStore
from bot.web.app import RouteGroup
from bot.web.live import LiveHub, identity_key
from bot.web.sessions import CookieSessions
from bot.web.signing import Signer

if TYPE_CHECKING:
    from bot.bootstrap import PlugContext, Runtime

log = logging.getLogger(__name__)
# Reminders to web students are rows in the database: no outside rate limit to respect.
REMINDER_RATE = 200.0


class WebPort:
    """Delivers to chat pages by storing lines and waking the pages that show them."""

    channel = CHANNEL

    def __init__(self, transcript: Transcript, live: LiveHub) -> None:
        self.transcript = transcript
        self.live = live

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        """Store the lines for the chat's student and wake their pages."""
        try:
            student = await self.transcript.append(CHANNEL, chat_id, replies, attachments)
        except Exception as exc:  # the database: the port never raises for delivery problems
            log.warning("web delivery not stored: %s", type(exc).__name__)
            return DeliveryResult(Delivery.RETRY, retry_after=1.0, error=type(exc).__name__)
        if student is None:
            return DeliveryResult(Delivery.FAILED, error="no such chat")
        self.live.announce(student.student_id, student.last_line, identity_key(CHANNEL, chat_id))
        return DELIVERED


def plug(ctx: PlugContext) -> ChannelPlug | None:
    """The web plug: None unless ``web.enabled``."""
    web = ctx.settings.web
    if not web.enabled:
        return None
    return ChannelPlug(
        name=CHANNEL,
        port=WebPort(ctx.transcript, ctx.live),
        flood=FloodGate(web.flood_burst, web.flood_interval.total_seconds()),
        reminder_rate=REMINDER_RATE,
    )


def chat_group(runtime: Runtime, signer: Signer) -> RouteGroup:
    """The chat page's routes and assets, for ``heartguard run``'s web server."""
    settings = runtime.settings
    cookies = CookieSessions(
        SessionStore(runtime.sessions, clock=runtime.clock),
        signer,
        kind="student",
        cookie="hg_chat",
        lifetime=settings.web.session_lifetime,
        shared_lifetime=settings.web.shared_idle_timeout,
        secure=settings.web.secure,
    )
    page = ChatPage(
        settings=settings,
        students=runtime.students,
        transcript=runtime.transcript,
        cookies=cookies,
        live=runtime.live,
        signer=signer,
    )
    stream = LineStream(
        transcript=runtime.transcript,
        cookies=cookies,
        live=runtime.live,
        zone=ZoneInfo(settings.schools.default_timezone),
    )
    return RouteGroup(
        "chat",
        [
            *page.routes(),
            *stream.routes(),
            Mount(STATIC_PREFIX, StaticFiles(directory=str(STATIC_DIR)), name="static"),
        ],
    )
