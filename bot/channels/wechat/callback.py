"""WeChat's calls to the account's server URL: verification, and students' messages.

- ``GET``: WeChat checks the server: a fresh, correct ``signature`` is answered with
  ``echostr``; anything else with 403.
- ``POST``: a message, in plaintext or safe (AES) mode. Refused before anything is stored: a
  body over 64 KiB (413), a forged or stale signature (403), XML that is malformed, carries a
  DTD or entities (400). A retried (or replayed) MsgId is never handled twice: it gets the
  stored passive reply, or WeChat's "success". A new message goes to the student service
  (stored, read by the detector, escalated) and is answered within WeChat's five seconds
  with a passive text reply; a reply too long for one message ends with a link to the chat
  page. If the pipeline takes longer than :data:`PASSIVE_BUDGET`, WeChat gets "success" and
  the reply follows as a customer-service message (and waits on the chat page regardless).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.wechat import CHANNEL
from bot.channels.wechat.crypto import MessageCrypto, check_fresh, check_signature
from bot.channels.wechat.errors import WeChatError
from bot.channels.wechat.kit import WeChatPort
from bot.channels.wechat.messages import (
    MAX_BODY_BYTES,
    InboundMessage,
    encrypted_reply,
    open_safe_mode,
    parse_message,
    text_reply,
)
from bot.channels.wechat.replies import as_text, fault_text, fit, needs_link
from bot.config.settings import Settings
from bot.services.pipeline import Inbound
from bot.services.student_service import StudentService
from bot.services.transcript import last_prompt
from bot.services.wechat_chats import receipt_key
from bot.web.forms import read_body
from bot.web.guard import BodyTooLarge
from bot.web.live import identity_key
from core.clock import Clock

log = logging.getLogger(__name__)
# WeChat waits five seconds for a passive reply; leave room for the network.
PASSIVE_BUDGET = 4.0
# A retry that finds its message still being handled waits this long for the reply.
RETRY_WAIT = 3.0
SUCCESS = "success"
# Menu buttons (CLICK events) whose key names a command the flows know.
MENU_COMMANDS = frozenset({"start", "talk", "checkin", "plan", "help", "mydata", "settings"})


def to_inbound(message: InboundMessage) -> Inbound | None:
    """What the student sent, for the pipeline; None for events nobody needs to answer."""
    openid = message.from_user

    def inbound(kind: str, value: str) -> Inbound:
        return Inbound(
            channel=CHANNEL,
            external_id=openid,
            chat_id=openid,
            kind=kind,  # type: ignore[arg-type]
            value=value,
            message_id=message.msg_id,
        )

    if message.msg_type == "text":
        content = message.content or ""
        return inbound("text", content) if content.strip() else None
    if message.msg_type == "event":
        event = (message.event or "").strip().lower()
        key = (message.event_key or "").strip().lower()
        if event == "subscribe":
            return inbound("command", "start")
        if event == "click" and key in MENU_COMMANDS:
            return inbound("command", key)
        return None  # unsubscribe, menu links, delivery reports: nothing to say
    return inbound("media", message.msg_type[:16])


def message_key(message: InboundMessage) -> str:
    """The receipt key of a message: its MsgId, or for events who, when and what."""
    if message.msg_id:
        return receipt_key("msg", message.msg_id)
    return receipt_key(
        "event", message.from_user, str(message.create_time), message.event or message.msg_type
    )


class WeChatCallback:
    """Serves ``wechat.path``."""

    def __init__(
        self, *, settings: Settings, students: StudentService, port: WeChatPort, clock: Clock
    ) -> None:
        wechat = settings.wechat
        if wechat.token is None:
            raise ValueError("the WeChat token is required")
        self.token = wechat.token.get_secret_value()
        self.crypto = (
            MessageCrypto(self.token, wechat.aes_key.get_secret_value(), wechat.app_id)
            if wechat.aes_key is not None
            else None
        )
        self.path = wechat.path
        self.students = students
        self.port = port
        self.clock = clock
        self.fault = fault_text([line.number for line in settings.crisis_resources.lines])
        self._handling: dict[str, asyncio.Task[str]] = {}

    def routes(self) -> list[Route]:
        """The callback's routes."""
        return [
            Route(self.path, self.verify, methods=["GET"]),
            Route(self.path, self.receive, methods=["POST"]),
        ]

    def _signed(self, request: Request) -> tuple[str, str]:
        """The call's timestamp and nonce, once its signature and freshness are checked."""
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        check_fresh(timestamp, self.clock())
        check_signature(self.token, timestamp, nonce, query.get("signature", ""))
        return timestamp, nonce

    async def verify(self, request: Request) -> Response:
        """WeChat's server check: echo ``echostr`` to a correctly signed, fresh call."""
        try:
            self._signed(request)
        except WeChatError as exc:
            log.warning("wechat verification refused: %s", type(exc).__name__)
            return PlainTextResponse("forbidden", status_code=exc.status)
        return PlainTextResponse(request.query_params.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        """One message or event from WeChat."""
        try:
            body = await read_body(request, MAX_BODY_BYTES)
            timestamp, nonce = self._signed(request)
            safe = request.query_params.get("encrypt_type", "raw").lower() == "aes"
            if safe:
                if self.crypto is None:
                    log.warning("wechat: a safe-mode call, but no EncodingAESKey is configured")
                    return PlainTextResponse("safe mode not configured", status_code=400)
                message = open_safe_mode(
                    body,
                    self.crypto,
                    timestamp=timestamp,
                    nonce=nonce,
                    msg_signature=request.query_params.get("msg_signature", ""),
                )
            else:
                message = parse_message(body)
        except BodyTooLarge:
            return PlainTextResponse("too large", status_code=413)
        except WeChatError as exc:
            log.warning("wechat call refused: %s", type(exc).__name__)
            return PlainTextResponse("refused", status_code=exc.status)
        key = message_key(message)
        receipt = await self.port.chats.receive(key)
        if not receipt.first:
            content = await self._repeat(key, receipt.status, receipt.reply)
            return self._answer(message, content, safe=safe)
        inbound = to_inbound(message)
        if inbound is None:
            await self.port.chats.answered(key, "")
            return PlainTextResponse(SUCCESS)
        # The message is handled to the end whether or not WeChat is still waiting.
        task = asyncio.create_task(self._handle(message.from_user, inbound, key))
        self._handling[key] = task
        task.add_done_callback(lambda _: self._handling.pop(key, None))
        done, _ = await asyncio.wait({task}, timeout=PASSIVE_BUDGET)
        if task in done and not task.cancelled() and task.exception() is None:
            return self._answer(message, task.result(), safe=safe)
        if task not in done and await self.port.chats.give_up_passive(key):
            log.warning("wechat: a reply missed the passive window; it follows by the send API")
            return PlainTextResponse(SUCCESS)
        # Stored just as time ran out, or failed: answer with what was kept.
        return self._answer(message, await self._repeat(key, "handling", None), safe=safe)

    async def _repeat(self, key: str, status: str, reply: str | None) -> str:
        """A retry's answer: the kept reply, a moment's wait for one, or nothing."""
        if status == "handling":
            task = self._handling.get(key)
            if task is not None:
                done, _ = await asyncio.wait({task}, timeout=RETRY_WAIT)
                if task in done and not task.cancelled() and task.exception() is None:
                    return task.result()
            current = await self.port.chats.status(key)
            status, reply = current.status, current.reply
        return reply if status == "answered" and reply else ""

    async def _handle(self, openid: str, inbound: Inbound, key: str) -> str:
        """The pipeline, the stored lines, the passive reply (or a later push when late)."""
        try:
            async with self.students.exchange(CHANNEL, openid) as exchange:
                outcome = await exchange.handle(inbound, prompt_of=last_prompt)
                await self.port.chats.wrote(openid, self.clock())
                stored = await self.port.transcript.append(
                    CHANNEL, openid, outcome.replies, outcome.attachments
                )
        except Exception as exc:
            log.error("wechat message could not be handled: %s", type(exc).__name__)
            await self.port.chats.answered(key, self.fault)
            return self.fault
        if stored is not None:
            self.port.live.announce(
                stored.student_id, stored.last_line, identity_key(CHANNEL, openid)
            )
        text = as_text(outcome.replies, outcome.language)
        files = bool(outcome.attachments)
        link = (
            await self.port.links.to_page(openid) if needs_link(text, attachments=files) else None
        )
        content = fit(text, outcome.language, link, force_link=files)
        if await self.port.chats.answered(key, content):
            return content
        # WeChat stopped waiting: the lines are stored; push them while the window is open.
        result = await self.port.push(openid, text, outcome.language, force_link=files)
        await self.students.settle(result, outcome.student_id, why="late reply refused")
        return ""

    def _answer(self, message: InboundMessage, content: str, *, safe: bool) -> Response:
        """A passive text reply (sealed in safe mode), or "success" for nothing to say."""
        if not content:
            return PlainTextResponse(SUCCESS)
        now = int(self.clock().timestamp())
        xml = text_reply(
            to_user=message.from_user, from_user=message.to_user, content=content, create_time=now
        )
        if safe and self.crypto is not None:
            sealed = self.crypto.seal(xml, timestamp=str(now), nonce=secrets.token_hex(8))
            xml = encrypted_reply(sealed)
        return Response(xml, media_type="application/xml")

    async def drain(self) -> None:
        """Let messages still being handled finish (their replies follow by the send API)."""
        pending = list(self._handling.values())
        if pending:
            await asyncio.wait(pending, timeout=10.0)

    def now(self) -> datetime:
        """The callback's clock."""
        return self.clock()
