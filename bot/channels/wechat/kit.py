"""The WeChat channel's plug, its port to students, and its route group on the web server.

The answer to a student's message is the passive reply (``callback.py``). Everything that
comes later (a reply that missed the five seconds, a held reply, later a counselor's words, a
reminder) goes through :class:`WeChatPort`: the line is stored first, so the chat page always
has it; then it is pushed as a customer-service message while the 48-hour / 5-message window
is open, or, for a reminder, as a subscription notice. A line that cannot be pushed waits on
the chat page (the port says "failed" so the student service logs it; a reminder that waits
as the page's banner counts as delivered).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.channels.port import DELIVERED, Attachment, ChannelPlug, Delivery, DeliveryResult
from bot.channels.web.chat import ENTER_PURPOSE
from bot.channels.wechat import CHANNEL
from bot.channels.wechat.api import Outcome, SendResult, WeChatApi
from bot.channels.wechat.crypto import MessageCrypto
from bot.channels.wechat.replies import as_text, fit
from bot.channels.wechat.window import CUSTOMER_SERVICE_LIMIT, CUSTOMER_SERVICE_WINDOW
from bot.config.settings import Settings
from bot.config.web import ENV_WECHAT_APP_SECRET, ENV_WECHAT_TOKEN
from bot.errors import HeartGuardError
from bot.services.render import Outbound
from bot.services.transcript import Transcript
from bot.services.wechat_chats import WeChatChats
from bot.web.app import RouteGroup
from bot.web.live import LiveHub, identity_key
from bot.web.secret import web_secret
from bot.web.signing import Signer
from core.clock import Clock

if TYPE_CHECKING:
    from bot.bootstrap import PlugContext, Runtime

log = logging.getLogger(__name__)
# How long a link to the chat page in a WeChat message opens it. The link stands for the
# student's conversation, and messages get forwarded: a day, not forever.
LINK_TTL = timedelta(hours=24)
# Subscription notices carry short fields ("thing": 20 characters).
NOTICE_CHARS = 20
# WeChat's send API allows far more; this keeps a reminder run from bursting.
REMINDER_RATE = 20.0
# errcodes that mean the student left (unsubscribed, blocked us, unknown): unreachable.
LEFT = frozenset({40003, 43004, 43019})


def check_wechat(settings: Settings) -> None:
    """One-line errors for what ``wechat.enabled`` needs at start-up."""
    wechat = settings.wechat
    if wechat.token is None:
        raise HeartGuardError(
            f"wechat.enabled needs ${ENV_WECHAT_TOKEN}: the Token of the account's server settings"
        )
    if wechat.aes_key is not None:
        try:
            MessageCrypto(
                wechat.token.get_secret_value(), wechat.aes_key.get_secret_value(), wechat.app_id
            )
        except ValueError as exc:
            raise HeartGuardError(f"HEARTGUARD_WECHAT_AES_KEY: {exc}") from None
    if wechat.app_secret is None:
        log.warning(
            "wechat: $%s is not set: passive replies only (nothing later reaches WeChat; "
            "it waits on the chat page)",
            ENV_WECHAT_APP_SECRET,
        )


class Links:
    """Signed links that open the chat page as a WeChat chat's student."""

    def __init__(
        self, chats: WeChatChats, signer: Signer | None, public_url: str, clock: Clock
    ) -> None:
        self.chats = chats
        self.signer = signer
        self.public_url = public_url
        self.clock = clock

    async def to_page(self, openid: str) -> str | None:
        """A link to the chat page bound to this chat's student (None without a secret)."""
        if self.signer is None or not self.public_url:
            return None
        subject = await self.chats.page_identity(openid)
        if subject is None:
            return None
        token = self.signer.seal(ENTER_PURPOSE, {"s": subject}, expires=self.clock() + LINK_TTL)
        return f"{self.public_url}/chat/enter?t={token}"


def _delivery(result: SendResult) -> DeliveryResult:
    if result.outcome is Outcome.DELIVERED:
        return DELIVERED
    if result.errcode in LEFT:
        return DeliveryResult(Delivery.BLOCKED, error=result.reason)
    if result.outcome is Outcome.RETRY_LATER:
        return DeliveryResult(Delivery.RETRY, retry_after=1.0, error=result.reason)
    return DeliveryResult(Delivery.FAILED, error=f"{result.reason}; kept for the chat page")


class WeChatPort:
    """Stores every line for the page, then pushes it to WeChat within WeChat's limits."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        transcript: Transcript,
        chats: WeChatChats,
        live: LiveHub,
        links: Links,
        api: WeChatApi | None,
        template_id: str = "",
        template_field: str = "thing1",
    ) -> None:
        self.transcript = transcript
        self.chats = chats
        self.live = live
        self.links = links
        self.api = api
        self.template_id = template_id
        self.template_field = template_field

    async def deliver(
        self, chat_id: str, replies: Sequence[Outbound], attachments: Sequence[Attachment] = ()
    ) -> DeliveryResult:
        """Store the lines (the page shows them), then push them if WeChat allows."""
        try:
            student = await self.transcript.append(CHANNEL, chat_id, replies, attachments)
        except Exception as exc:  # the database: a port never raises for delivery problems
            log.warning("wechat delivery not stored: %s", type(exc).__name__)
            return DeliveryResult(Delivery.RETRY, retry_after=1.0, error=type(exc).__name__)
        if student is None:
            return DeliveryResult(Delivery.FAILED, error="no such chat")
        self.live.announce(student.student_id, student.last_line, identity_key(CHANNEL, chat_id))
        if replies and all(reply.purpose == "reminder" for reply in replies):
            return await self._remind(chat_id, replies[-1].text)
        text = as_text(replies, student.language)
        return await self.push(chat_id, text, student.language, force_link=bool(attachments))

    async def push(
        self, openid: str, text: str, language: str, *, force_link: bool = False
    ) -> DeliveryResult:
        """A customer-service message, if the window has a slot (the line is stored already)."""
        if self.api is None:
            return DeliveryResult(Delivery.FAILED, error="no AppSecret; kept for the chat page")
        if not await self.chats.take_slot(
            openid, window=CUSTOMER_SERVICE_WINDOW, limit=CUSTOMER_SERVICE_LIMIT
        ):
            return DeliveryResult(
                Delivery.FAILED, error="customer-service window closed; kept for the chat page"
            )
        link = await self.links.to_page(openid)
        body = fit(text, language, link, force_link=True)
        return _delivery(await self.api.send_text(openid, body))

    async def _remind(self, openid: str, text: str) -> DeliveryResult:
        """A subscription notice where the student accepted one; else the page's banner."""
        if self.api is None or not self.template_id:
            return DELIVERED  # stored: the chat page shows it as a banner on the next visit
        short = text if len(text) <= NOTICE_CHARS else text[: NOTICE_CHARS - 1] + "…"
        result = await self.api.send_subscription(
            openid,
            self.template_id,
            {self.template_field: short},
            page=await self.links.to_page(openid),
        )
        if result.outcome is Outcome.DELIVERED or result.errcode not in LEFT:
            # Not accepted (43101) or refused for now: the banner is waiting on the page.
            return DELIVERED
        return DeliveryResult(Delivery.BLOCKED, error=result.reason)


def _signer(settings: Settings) -> Signer | None:
    try:
        return Signer(web_secret(settings))
    except HeartGuardError as exc:
        log.warning("wechat: no links to the chat page: %s", exc)
        return None


def plug(ctx: PlugContext) -> ChannelPlug | None:
    """The WeChat plug: None unless ``wechat.enabled``."""
    settings = ctx.settings
    wechat = settings.wechat
    if not wechat.enabled:
        return None
    api = (
        WeChatApi(wechat.app_id, wechat.app_secret.get_secret_value(), base_url=wechat.api_base_url)
        if wechat.app_secret is not None
        else None
    )
    chats = WeChatChats(ctx.app.sessions, ctx.app.cipher, clock=ctx.clock)
    port = WeChatPort(
        transcript=ctx.transcript,
        chats=chats,
        live=ctx.live,
        links=Links(chats, _signer(settings), settings.web.public_url, ctx.clock),
        api=api,
        template_id=wechat.reminder_template_id,
        template_field=wechat.reminder_field,
    )
    return ChannelPlug(
        name=CHANNEL,
        port=port,
        reminder_rate=REMINDER_RATE,
        close=api.aclose if api is not None else None,
    )


def wechat_group(runtime: Runtime, signer: Signer) -> RouteGroup:
    """WeChat's callback on the web server (``wechat.path``)."""
    from bot.channels.wechat.callback import WeChatCallback

    plugged = runtime.plugs.get(CHANNEL)
    if plugged is None or not isinstance(plugged.port, WeChatPort):
        raise HeartGuardError("wechat.enabled, but the WeChat channel is not plugged in")
    callback = WeChatCallback(
        settings=runtime.settings,
        students=runtime.students,
        port=plugged.port,
        clock=runtime.clock,
    )
    return RouteGroup("wechat", callback.routes(), on_stop=(callback.drain,))
