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


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Send logs to stderr with the secret filter on the root handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # jieba announces its dictionary loading at INFO on its own logger.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    # transitions narrates every callback at INFO; httpx logs request URLs at INFO, and robot
    # webhook URLs carry their keys.
    for noisy in ("transitions", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
