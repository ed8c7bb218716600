"""``heartguard run``: one process, composed from the runtime and the servers it runs.

The runtime (``bot/bootstrap.py``) is the same in every process; ``run`` adds the servers the
settings ask for: Telegram's Application when the token is set, the web server (the chat page,
the WeChat callback when enabled, ``/healthz``) when ``web.enabled``. Either may run alone;
with neither, ``run`` says so in one line.

Stopping (SIGTERM or SIGINT): every server stops taking requests and lets the ones in flight
finish, replies held back by flood control are sent (to Telegram, or stored for the page),
a green-channel tick in flight finishes, and only then are connections closed.
"""

from __future__ import annotations

import asyncio
import html
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import text
from telegram.request import BaseRequest

from bot.bootstrap import AppContext, Runtime, build_runtime, coverage_warnings, open_app
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.channels.telegram.builder import build_application, token_of, webhook_secret_of
from bot.channels.telegram.kit import plug as telegram_plug
from bot.channels.web.kit import chat_group
from bot.channels.wechat.kit import wechat_group
from bot.config.settings import ENV_TOKEN, Settings
from bot.console.kit import console_groups
from bot.errors import HeartGuardError
from bot.services.web_sessions import SessionStore
from bot.web.app import RouteGroup
from bot.web.guard import Fallback
from bot.web.health import health_group
from bot.web.live import LineWatcher
from bot.web.secret import web_secret
from bot.web.server import WebServer
from bot.web.signing import Signer
from core.clock import Clock, utcnow

log = logging.getLogger(__name__)
# Expired sessions are deleted this often.
PRUNE_EVERY = 3600.0


class Server(Protocol):
    """One thing a process serves: Telegram's updates, the web server."""

    name: str

    async def start(self) -> None:
        """Start taking requests (a one-line HeartGuardError when it cannot)."""
        ...

    async def stop(self) -> None:
        """Stop taking requests and let the ones in flight finish."""
        ...

    async def close(self) -> None:
        """Release connections (after held replies and the last tick went out)."""
        ...


class WebService:
    """The web server as one of the process's servers."""

    name = "web"

    def __init__(self, server: WebServer) -> None:
        self.server = server

    async def start(self) -> None:
        """Listen."""
        await self.server.start()

    async def stop(self) -> None:
        """End streams, stop accepting, let requests in flight finish."""
        await self.server.stop()

    async def close(self) -> None:
        """Nothing left open."""


@dataclass
class Process:
    """A runtime and the servers that feed it."""

    runtime: Runtime
    servers: list[Server] = field(default_factory=list)

    def server(self, name: str) -> Server | None:
        """A server by name."""
        return next((s for s in self.servers if s.name == name), None)


def check_secrets(settings: Settings) -> None:
    """Fail before anything opens when a server the settings ask for lacks its secret."""
    if settings.telegram.token is None and not settings.web.enabled:
        raise HeartGuardError(
            f"nothing to serve: ${ENV_TOKEN} is not set and the web chat is off "
            "(set the token from @BotFather, or web.enabled = true in the config)"
        )
    if settings.telegram.token is not None:
        token_of(settings)
        if settings.telegram.mode == "webhook":
            webhook_secret_of(settings)
    if settings.web.enabled:
        web_secret(settings)
    if settings.wechat.enabled:
        from bot.channels.wechat.kit import check_wechat

        check_wechat(settings)


def fallback_page(settings: Settings) -> Fallback:
    """What a fault or an oversized body is answered with: still the crisis lines."""
    lines = "".join(
        f"<li>{html.escape(line.name_zh)} / {html.escape(line.name_en)}: "
        f'<a href="tel:{html.escape(line.number)}">{html.escape(line.number)}</a></li>'
        for line in settings.crisis_resources.lines
    )
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>心卫 HeartGuard</title></head><body>"
        "<p>出了点问题，请稍后再试。Something went wrong; please try again.</p>"
        "<p>如果你现在有危险，请马上拨打：If you are in danger now, call:</p>"
        f'<ul>{lines}</ul><p><a href="/chat">返回聊天 / Back to the chat</a></p></body></html>'
    ).encode()

    def answer(status: int, wants_json: bool) -> tuple[str, bytes]:
        if wants_json:
            sentence = "消息太长了，请分成几条发。" if status == 413 else "出了点问题，请再试一次。"
            body = f'{{"ok": false, "error": "{sentence}"}}'
            return "application/json", body.encode()
        return "text/html; charset=utf-8", page

    return answer


def web_groups(runtime: Runtime, signer: Signer) -> list[RouteGroup]:
    """Everything the web server serves, in one list: the chat page, the console, the API."""
    settings = runtime.settings
    watcher = LineWatcher(runtime.live, runtime.transcript.changed, runtime.transcript.newest_id)
    store = SessionStore(runtime.sessions, clock=runtime.clock)
    pruning: list[asyncio.Task[None]] = []

    async def prune_forever() -> None:
        while True:
            try:
                removed = await store.prune()
                if removed:
                    log.info("web: %s expired session(s) removed", removed)
            except Exception as exc:
                log.warning("web: session pruning failed: %s", type(exc).__name__)
            await asyncio.sleep(PRUNE_EVERY)

    async def start_pruning() -> None:
        pruning.append(asyncio.create_task(prune_forever(), name="session-pruner"))

    async def stop_pruning() -> None:
        for task in pruning:
            task.cancel()
        await asyncio.gather(*pruning, return_exceptions=True)

    async def end_streams() -> None:
        runtime.live.close()

    async def database() -> str | None:
        try:
            async with runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None

    core = RouteGroup(
        "live",
        [],
        on_start=(watcher.start, start_pruning),
        on_stopping=(end_streams,),
        on_stop=(watcher.stop, stop_pruning),
    )
    groups = [
        core,
        health_group(database, runtime.scheduler.heartbeat),
        chat_group(runtime, signer),
        *console_groups(runtime, signer),
    ]
    if settings.wechat.enabled:
        groups.append(wechat_group(runtime, signer))
    return groups


def build_process(
    app: AppContext,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Clock = utcnow,
) -> Process:
    """The runtime with the servers the settings ask for."""
    settings = app.settings
    application = None
    plugs = {}
    if settings.telegram.token is not None:
        application = build_application(settings, request=request, updates_request=updates_request)
        # One bot (one rate limiter) for updates, replies, reminders and alerts.
        plugs[TELEGRAM] = telegram_plug(settings, bot=application.bot)
    signer = Signer(web_secret(settings)) if settings.web.enabled else None
    runtime = build_runtime(app, clock=clock, plugs=plugs, reminders=True)
    process = Process(runtime)
    if application is not None:
        from bot.channels.telegram.runner import BotProcess

        process.servers.append(BotProcess(runtime, application))
    if signer is not None:
        web = settings.web
        server = WebServer(
            web_groups(runtime, signer),
            host=web.listen,
            port=web.port,
            fallback=fallback_page(settings),
        )
        process.servers.append(WebService(server))
    return process


async def run_process(
    process: Process,
    stop: asyncio.Event,
    on_ready: Callable[[Process], None] | None = None,
) -> None:
    """Start the green channel and every server, wait for ``stop``, then stop in order."""
    runtime = process.runtime
    started: list[Server] = []
    try:
        # The detector loads its dictionaries on first use (seconds): not on a student's
        # first message, which must be answered at once.
        runtime.detector.assess("你好，今天过得怎么样", [])
        for server in process.servers:
            await server.start()
            started.append(server)
        # After the servers: a port in use stops the process before anything ran. A message
        # taken in between is not lost: its case request waits for the first tick, at once.
        runtime.scheduler.start()
        for line in await coverage_warnings(runtime.app, runtime.clock()):
            log.warning("%s", line)
        log.info("serving: %s", ", ".join(server.name for server in process.servers))
        if on_ready is not None:
            on_ready(process)
        await stop.wait()
        log.info("stopping: no new requests; finishing the ones in flight")
    finally:
        await asyncio.gather(*(server.stop() for server in started), return_exceptions=True)
        await runtime.students.drain()  # replies held back from flooding chats
        await runtime.scheduler.drain()  # a tick may still be sending through a channel
        for server in started:
            try:
                await server.close()
            except Exception as exc:
                log.warning("closing %s: %s", server.name, type(exc).__name__)
        await runtime.aclose()
        log.info("stopped")


@asynccontextmanager
async def _signals() -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Clock = utcnow,
    on_ready: Callable[[Process], None] | None = None,
) -> None:
    """Run until ``stop`` is set (by default: until SIGTERM or SIGINT)."""
    check_secrets(settings)  # a missing secret fails before anything is opened
    async with open_app(settings) as ctx:
        process = build_process(ctx, request=request, updates_request=updates_request, clock=clock)
        if stop is not None:
            await run_process(process, stop, on_ready)
            return
        async with _signals() as stopped:
            await run_process(process, stopped, on_ready)
