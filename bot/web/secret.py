"""The web server's secret: signs session cookies, CSRF tokens and the links WeChat replies carry.

It comes from ``HEARTGUARD_WEB_SECRET``. Where ``privacy.allow_generated_key`` is true (a
demo, one school's test machine) a random one is generated once into ``web.secret_file`` and
kept, so sessions survive a restart.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.config.settings import Settings
from bot.config.web import ENV_WEB_SECRET, MIN_WEB_SECRET
from bot.errors import HeartGuardError

log = logging.getLogger(__name__)


def web_secret(settings: Settings) -> bytes:
    """The secret, from the environment or the generated file; a one-line error otherwise."""
    given = settings.web.secret
    if given is not None:
        return given.get_secret_value().encode("utf-8")
    if not settings.privacy.allow_generated_key:
        raise HeartGuardError(
            f"${ENV_WEB_SECRET} is not set and privacy.allow_generated_key is false: "
            f"set it to a random string of at least {MIN_WEB_SECRET} characters"
        )
    path = Path(settings.web.secret_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            log.warning(
                "generated a local web secret at %s; set %s for a real deployment",
                path,
                ENV_WEB_SECRET,
            )
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise HeartGuardError(f"cannot read web.secret_file {path}: {exc}") from None
    if len(value) < MIN_WEB_SECRET:
        raise HeartGuardError(
            f"web.secret_file {path} holds fewer than {MIN_WEB_SECRET} characters"
        )
    return value.encode("utf-8")
