"""HMAC signatures over short values: cookies, CSRF tokens and links that expire.

Every value is signed for one purpose, so a signature made for a cookie is worthless as a
link. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

_SEP = "."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks values with one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("a signing secret needs at least 16 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "Signer(secret='***')"

    def mac(self, purpose: str, value: str) -> str:
        """The signature of ``value`` for ``purpose`` (43 URL-safe characters)."""
        message = purpose.encode("ascii") + b"\x00" + value.encode("utf-8", "surrogatepass")
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest())

    def same(self, purpose: str, value: str, given: str) -> bool:
        """Whether ``given`` is the signature of ``value`` for ``purpose``."""
        expected = self.mac(purpose, value)
        return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))

    def sign(self, purpose: str, value: str) -> str:
        """``value.signature``: for values without a dot (tokens)."""
        if _SEP in value:
            raise ValueError("a signed value may not contain a dot")
        return f"{value}{_SEP}{self.mac(purpose, value)}"

    def unsign(self, purpose: str, signed: str) -> str | None:
        """The value of ``value.signature`` if the signature is right, else None."""
        value, sep, given = signed.rpartition(_SEP)
        if not sep or not value or not self.same(purpose, value, given):
            return None
        return value

    def seal(self, purpose: str, data: dict[str, Any], *, expires: datetime) -> str:
        """A signed, expiring token carrying ``data`` (readable, not secret)."""
        body = json.dumps({**data, "exp": int(expires.timestamp())}, separators=(",", ":"))
        return self.sign(purpose, _b64(body.encode("utf-8")))

    def open(self, purpose: str, token: str, *, now: datetime) -> dict[str, Any] | None:
        """The data of a sealed token, if it is signed right and has not expired."""
        value = self.unsign(purpose, token)
        if value is None:
            return None
        try:
            data = json.loads(_unb64(value))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
            return None
        if data["exp"] <= now.timestamp():
            return None
        return data
