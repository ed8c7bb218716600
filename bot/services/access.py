"""The console's and the integration API's front door: who a request acts as.

The web server (the console and ``/api/v1``) gets one :class:`Access` from the runtime and
asks it, per request, which counselor a bearer token or a sign-in is; everything after that
goes through the services with ``Actor.counselor(id)``, so scope is the counselor's own.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import AccessSettings
from bot.services import api_tokens, console_login
from bot.services.api_tokens import Authenticated
from core.clock import Clock
from storage.crypto import DataCipher


class Access:
    """Bearer tokens and console sign-in, each in its own transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: DataCipher,
        settings: AccessSettings,
        *,
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.clock = clock
        self.limits = console_login.Limits(
            settings.login_max_failures, settings.login_window, settings.lockout
        )

    async def authenticate(self, token: str) -> Authenticated | None:
        """The counselor a bearer token acts as; None when unknown, revoked or expired."""
        async with self.sessions.begin() as session:
            return await api_tokens.authenticate(session, token, self.clock())

    async def verify_login(
        self, who: int | str, password: str, totp: str | None, *, source: str
    ) -> int | None:
        """The counselor's id on a good sign-in (rate-limited per counselor and per source)."""
        async with self.sessions.begin() as session:
            return await console_login.verify_login(
                session,
                self.cipher,
                who,
                password,
                totp,
                source=source,
                now=self.clock(),
                limits=self.limits,
            )
