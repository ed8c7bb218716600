"""Logging set-up: ids only, never student text, and secrets masked if one slips through."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

MASK = "**********"


class SecretMaskFilter(logging.Filter):
    """Replaces any configured secret value found in a formatted log message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# Third-party loggers that narrate too much, or whose DEBUG lines carry what people wrote:
# python-telegram-bot logs whole updates ("Processing update", "Webhook received data"), httpx
# logs request URLs (robot webhook URLs carry their keys), transitions narrates every callback,
# APScheduler every run. They never go below this level, whatever --debug says.
CAPPED: dict[str, int] = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "transitions": logging.WARNING,
    "jieba": logging.WARNING,
    "aiosmtpd": logging.WARNING,
    "asyncio": logging.INFO,
    "uvicorn.access": logging.WARNING,
}
# Libraries that narrate routine work at INFO (alembic's two lines per command, APScheduler's
# every run): quiet unless -v (their INFO) or --debug (everything) asks (they never carry what
# people wrote).
QUIET = ("alembic", "apscheduler")
_installed: logging.Handler | None = None


def configure_logging(level: str, secrets: Iterable[str] = (), *, verbose: bool = False) -> None:
    """Send logs to stderr with the secret filter; replaces only the handler installed here.

    ``verbose`` (``-v``) lets the quiet libraries' INFO lines through.
    """
    global _installed
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskFilter(secrets))
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    root.addHandler(handler)
    _installed = handler
    root.setLevel(level)
    wanted = logging.getLevelName(level.upper())
    for name, floor in CAPPED.items():
        logging.getLogger(name).setLevel(max(floor, wanted))
    for name in QUIET:
        quiet = logging.INFO if verbose else logging.WARNING
        logging.getLogger(name).setLevel(logging.DEBUG if wanted <= logging.DEBUG else quiet)
