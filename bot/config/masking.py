"""Masking secrets in what the command line prints: passwords in URLs, tokens, keys.

``heartguard config show`` prints every setting; anything that looks like a secret is masked
before it is printed, whichever setting it sits in, so a password that arrived through
``HEARTGUARD_DATABASE_URL`` (or a token pasted into a URL) never reaches a terminal or a
support ticket.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
# Setting or query-parameter names whose values are secrets.
_SECRET_NAME = re.compile(
    r"pass(word)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|sig(nature)?"
    r"|credential|auth",
    re.IGNORECASE,
)
# Names that contain a secret word but hold no secret (a path to the key file, say).
_NOT_SECRET_NAME = re.compile(r"_(file|path|chars|days|url|ttl)$|^key_file$", re.IGNORECASE)
# A path segment that looks generated: 16+ URL-safe characters with letters and digits
# (heartbeat check ids, robot keys, webhook tokens).
_TOKEN = re.compile(r"(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}")


def secret_name(name: str) -> bool:
    """Whether a setting or parameter of this name holds a secret."""
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def mask_url(url: str) -> str:
    """The URL with its password, secret-looking query values and token-like segments masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{user}@{host}"
    path = "/".join(MASK if _TOKEN.fullmatch(seg) else seg for seg in parts.path.split("/"))
    query = urlencode(
        [
            (key, MASK if secret_name(key) or _TOKEN.fullmatch(value) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    # Built by hand: urlunsplit drops the empty host of "sqlite:///path".
    return (
        f"{parts.scheme}://{netloc}{path}"
        + (f"?{query}" if query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )


def mask_value(name: str, value: Any) -> Any:
    """A printed setting with every secret-looking part masked (recursing into tables)."""
    if isinstance(value, dict):
        return {key: mask_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(name, item) for item in value]
    if not isinstance(value, str) or not value:
        return value
    if secret_name(name):
        return MASK
    if "://" in value:
        return mask_url(value)
    return value
