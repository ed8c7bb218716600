"""The python-telegram-bot Application, built from the settings."""

from __future__ import annotations

from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot.config.settings import ENV_TOKEN, ENV_WEBHOOK_SECRET, Settings
from bot.errors import HeartGuardError

# Retries PTB's rate limiter makes itself after a RetryAfter, before the caller sees it.
RATE_LIMIT_RETRIES = 2


def token_of(settings: Settings) -> str:
    """The bot token, or a one-line error naming the variable that should hold it."""
    token = settings.telegram.token
    if token is None:
        raise HeartGuardError(f"${ENV_TOKEN} is not set: put the token from @BotFather there")
    return token.get_secret_value()


def webhook_secret_of(settings: Settings) -> str:
    """The secret Telegram must send with every webhook call (webhook mode only)."""
    secret = settings.telegram.webhook_secret
    if secret is None:
        raise HeartGuardError(
            f"webhook mode needs ${ENV_WEBHOOK_SECRET} (1-256 characters: A-Z, a-z, 0-9, _ and -)"
        )
    return secret.get_secret_value()


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> Application:  # type: ignore[type-arg]
    """An Application that processes updates concurrently behind PTB's rate limiter.

    Args:
        settings: the validated settings (token from the environment).
        request: transport for API calls; tests pass an offline one.
        updates_request: transport for getUpdates; defaults to ``request`` when given.
    """
    builder = (
        ApplicationBuilder()
        .token(token_of(settings))
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
    )
    if settings.telegram.base_url:
        builder = builder.base_url(settings.telegram.base_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    elif updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    return builder.build()
