"""Composition root: settings in, a wired application context out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.settings import Settings
from bot.errors import DatabaseUnavailableError
from flows import FlowConfig, FlowEngine, InstrumentBand
from lexicons.detector import Detector
from storage.crypto import DataCipher, DataKeyError, load_cipher
from storage.db import create_engine, session_factory
from storage.migrate import current_revision, head_revision

if TYPE_CHECKING:
    from bot.services.pipeline import Pipeline


@dataclass(frozen=True)
class AppContext:
    """The shared pieces every command and channel uses."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: DataCipher


def safe_url(url: str) -> str:
    """The database URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def build_cipher(settings: Settings) -> DataCipher:
    """The data cipher from environment keys or a generated local key.

    Raises:
        DatabaseUnavailableError: never; DataKeyError is re-raised as a HeartGuard error.
    """
    from bot.errors import HeartGuardError

    try:
        return load_cipher(
            [key.get_secret_value() for key in settings.data_keys],
            key_file=Path(settings.privacy.key_file),
            allow_generated=settings.privacy.allow_generated_key,
        )
    except DataKeyError as exc:
        raise HeartGuardError(str(exc)) from None


async def check_database(engine: AsyncEngine, url: str, *, need_schema: bool) -> None:
    """Fail with one clear line when the database is unreachable or not migrated."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, OperationalError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200] or type(exc).__name__
        raise DatabaseUnavailableError(
            f"cannot reach the database at {safe_url(url)}: {reason}"
        ) from None
    if need_schema:
        current = await current_revision(engine)
        if current != head_revision():
            raise DatabaseUnavailableError(
                f"the database at {safe_url(url)} is at schema {current or 'none'}, "
                f"this code needs {head_revision()}: run `heartguard db upgrade`"
            )


@asynccontextmanager
async def open_app(settings: Settings, *, need_schema: bool = True) -> AsyncIterator[AppContext]:
    """Open the database and cipher for the lifetime of a command or process."""
    cipher = build_cipher(settings)
    engine = create_engine(settings.database.url, echo=settings.database.echo)
    try:
        await check_database(engine, settings.database.url, need_schema=need_schema)
        yield AppContext(settings, engine, session_factory(engine), cipher)
    finally:
        await engine.dispose()


def flow_config(settings: Settings) -> FlowConfig:
    """The engine's configuration, from the validated settings."""
    return FlowConfig(
        instruments=tuple(
            InstrumentBand(band.min_grade, band.max_grade, band.instrument)
            for band in settings.schools.instruments
        ),
        guardian_consent_age=settings.schools.guardian_consent_age,
    )


def build_pipeline(app: AppContext, detector: Detector | None = None) -> Pipeline:
    """The message pipeline wired from the app context."""
    from bot.services.pipeline import Pipeline
    from lexicons.detector import default_detector

    return Pipeline(
        settings=app.settings,
        sessions=app.sessions,
        cipher=app.cipher,
        detector=detector or default_detector(),
        engine=FlowEngine(flow_config(app.settings)),
    )
