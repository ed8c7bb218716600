"""The Telegram server of ``heartguard run``: the bot's Application over the process's runtime.

``bot/process.py`` composes the process; this is Telegram's part of it. Start-up fails with
one line when the Telegram API refuses the token or cannot be reached. Stopping, it stops
taking updates and lets the ones in flight finish; the process then drains held replies and
lets a green-channel tick finish before :meth:`BotProcess.close` shuts the bot down.
"""

from __future__ import annotations

import logging

from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application
from telegram.request import BaseRequest

from bot.bootstrap import AppContext, Runtime, build_runtime, configured_shifts
from bot.channels.telegram import CHANNEL
from bot.channels.telegram.builder import build_application, webhook_secret_of
from bot.channels.telegram.commands import register_commands
from bot.channels.telegram.counselor import CounselorDesk
from bot.channels.telegram.duty import DutyDesk
from bot.channels.telegram.errors import ErrorHandler
from bot.channels.telegram.handlers import ALLOWED_UPDATES, install
from bot.channels.telegram.kit import plug
from bot.channels.telegram.student import StudentChannel
from bot.channels.telegram.takeover import TakeoverDesk
from bot.channels.telegram.texts import load_texts
from bot.errors import HeartGuardError
from bot.services.counselor_desk import CounselorDesk as DeskService
from core.clock import Clock, utcnow

log = logging.getLogger(__name__)


class BotProcess:
    """The Telegram application over a runtime: the process's Telegram server."""

    name = CHANNEL

    def __init__(self, runtime: Runtime, application: Application) -> None:  # type: ignore[type-arg]
        settings = runtime.settings
        self.runtime = runtime
        self.settings = settings
        self.texts = load_texts()
        self.application = application
        self.students = StudentChannel(runtime.students, self.texts)
        zone = settings.schools.default_timezone
        self.desk = CounselorDesk(
            DeskService(
                runtime.sessions,
                runtime.green.cases,
                channel=CHANNEL,
                clock=runtime.clock,
                district_zone=zone,
                configured=configured_shifts(settings),
            ),
            self.texts,
            zone=zone,
            groups=settings.telegram.counselor_groups,
        )
        self.duty = DutyDesk(self.desk, district_zone=zone)
        self.takeover = TakeoverDesk(self.desk, runtime.takeover)
        self.desk.take = self.takeover.take
        renderer = runtime.pipeline.renderer
        install(
            application,
            students=self.students,
            desk=self.desk,
            duty=self.duty,
            takeover=self.takeover,
            errors=ErrorHandler(self.texts, lambda lang: renderer.params(lang)["resources"]),
            texts=self.texts,
            counselor_groups=settings.telegram.counselor_groups,
        )

    @classmethod
    def build(
        cls,
        app: AppContext,
        *,
        request: BaseRequest | None = None,
        updates_request: BaseRequest | None = None,
        clock: Clock = utcnow,
    ) -> BotProcess:
        """The application, then the runtime with the application's bot as its Telegram plug."""
        application = build_application(
            app.settings, request=request, updates_request=updates_request
        )
        runtime = build_runtime(
            app,
            clock=clock,
            plugs={CHANNEL: plug(app.settings, bot=application.bot)},
            reminders=True,
        )
        return cls(runtime, application)

    async def start(self) -> None:
        """Connect to Telegram, register the menu, then take updates."""
        app: Application = self.application  # type: ignore[type-arg]
        try:
            await app.initialize()
        except InvalidToken:
            raise HeartGuardError("Telegram refused the bot token (check the token)") from None
        except NetworkError as exc:
            where = self.settings.telegram.base_url or "the Telegram Bot API"
            raise HeartGuardError(
                f"cannot reach {where}: {type(exc).__name__} "
                "(check the network and telegram.base_url)"
            ) from None
        await register_commands(app.bot, self.texts)
        await self.runtime.warm_up()  # before the first update, not on the first risky one
        await app.start()
        assert app.updater is not None  # built with the default updater
        tg = self.settings.telegram
        try:
            if tg.mode == "webhook":
                await app.updater.start_webhook(
                    listen=tg.webhook_listen,
                    port=tg.webhook_port,
                    url_path=tg.webhook_path.lstrip("/"),
                    webhook_url=tg.webhook_public_url.rstrip("/")
                    + "/"
                    + tg.webhook_path.lstrip("/"),
                    secret_token=webhook_secret_of(self.settings),
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        except TelegramError as exc:
            raise HeartGuardError(
                f"could not start {tg.mode}: {type(exc).__name__}: {exc.message}"
            ) from None
        except OSError as exc:
            raise HeartGuardError(
                f"cannot listen on {tg.webhook_listen}:{tg.webhook_port}: {exc.strerror}"
            ) from None
        log.info("telegram bot @%s running (%s)", app.bot.username, tg.mode)

    async def stop(self) -> None:
        """Stop taking updates and let the ones in flight finish."""
        app: Application = self.application  # type: ignore[type-arg]
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()  # waits for updates being processed

    async def close(self) -> None:
        """Shut the bot down (after held replies and the last tick went out through it)."""
        app: Application = self.application  # type: ignore[type-arg]
        await app.shutdown()
        log.info("telegram bot stopped")
