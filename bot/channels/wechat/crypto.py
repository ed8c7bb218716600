"""WeChat's server signatures and its safe-mode (AES) message crypto.

- ``signature`` (server verification, and every plaintext-mode call) is the SHA-1 hex digest of
  the token, ``timestamp`` and ``nonce``, sorted as strings and joined.
- ``msg_signature`` (safe mode) is the same over the token, ``timestamp``, ``nonce`` and the
  base64 ciphertext.
- The 43-character EncodingAESKey is base64 (without its ``=``) for a 32-byte AES-256 key; the
  CBC IV is the key's first 16 bytes. The plaintext is 16 random bytes, the message's length as
  4 bytes in network order, the message (UTF-8), then the AppID, padded PKCS#7-style to a
  multiple of 32 bytes: WeChat's block, not AES's 16.

Every comparison goes through ``hmac.compare_digest``. Decryption refuses anything malformed with
a :class:`~bot.channels.wechat.errors.WeChatError` and never with another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wechat.errors import (
    BadCiphertextError,
    BadSignatureError,
    StaleRequestError,
    WrongAppIdError,
)

ENCODING_AES_KEY_LENGTH = 43
_KEY_BYTES = 32
_IV_BYTES = 16
_PAD_BLOCK = 32
_PREFIX_BYTES = 16
_LENGTH = struct.Struct(">I")
# A signed call older (or newer) than this is refused as a replay. WeChat retries a message
# within seconds, so five minutes leaves room for clock skew and nothing more.
TIMESTAMP_TOLERANCE = timedelta(minutes=5)


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate in a query parameter must fail the comparison, not raise.
    return text.encode("utf-8", "surrogatepass")


def _sorted_sha1(*parts: str) -> str:
    joined = b"".join(_utf8(part) for part in sorted(parts))
    # SHA-1 is what WeChat's protocol fixes; we cannot choose another hash.
    return hashlib.sha1(joined).hexdigest()  # noqa: S324


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(_utf8(given), _utf8(expected))


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` WeChat puts on a call: SHA-1 of the sorted token, timestamp and nonce."""
    return _sorted_sha1(token, timestamp, nonce)


def check_signature(token: str, timestamp: str, nonce: str, given: str) -> None:
    """Raise :class:`BadSignatureError` unless ``given`` is the call's ``signature``."""
    if not _same(given, signature(token, timestamp, nonce)):
        raise BadSignatureError("the signature does not match")


def msg_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The ``msg_signature`` of a safe-mode message: SHA-1 of the four values, sorted."""
    return _sorted_sha1(token, timestamp, nonce, encrypted)


def check_msg_signature(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> None:
    """Raise :class:`BadSignatureError` unless ``given`` is the message's ``msg_signature``."""
    if not _same(given, msg_signature(token, timestamp, nonce, encrypted)):
        raise BadSignatureError("the msg_signature does not match")


def check_fresh(timestamp: str, now: datetime, tolerance: timedelta = TIMESTAMP_TOLERANCE) -> None:
    """Raise :class:`StaleRequestError` unless ``timestamp`` (Unix seconds) is near ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise StaleRequestError("the timestamp is not a number of seconds")
    if abs(now.timestamp() - int(timestamp)) > tolerance.total_seconds():
        raise StaleRequestError("the timestamp is too far from now")


def decode_encoding_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind an EncodingAESKey; ``ValueError`` names what is wrong."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise ValueError(
            f"an EncodingAESKey has {ENCODING_AES_KEY_LENGTH} characters, "
            f"not {len(encoding_aes_key)}"
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("an EncodingAESKey is made of base64 characters only") from exc
    if len(key) != _KEY_BYTES:  # pragma: no cover - 43 base64 characters are always 32 bytes
        raise ValueError("an EncodingAESKey must decode to 32 bytes")
    return key


@dataclass(frozen=True)
class SealedReply:
    """An encrypted passive reply: the four values of WeChat's reply envelope."""

    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


class MessageCrypto:
    """Opens and seals safe-mode messages for one official account (token, key and AppID)."""

    __slots__ = ("_app_id", "_key", "_token")

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if not token:
            raise ValueError("the WeChat token must not be empty")
        if not app_id:
            raise ValueError("the WeChat AppID must not be empty")
        self._token = token
        self._key = decode_encoding_aes_key(encoding_aes_key)
        self._app_id = _utf8(app_id)

    def __repr__(self) -> str:
        # The token and key are secrets; only the AppID is public.
        return f"MessageCrypto(app_id={self._app_id.decode()!r}, token='***', key='***')"

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:_IV_BYTES]))

    def encrypt(self, message: str, *, prefix: bytes | None = None) -> str:
        """The base64 ciphertext of ``message``; ``prefix`` (16 bytes) is random unless given."""
        if prefix is None:
            prefix = secrets.token_bytes(_PREFIX_BYTES)
        if len(prefix) != _PREFIX_BYTES:
            raise ValueError(f"the random prefix is {_PREFIX_BYTES} bytes")
        body = _utf8(message)
        plain = prefix + _LENGTH.pack(len(body)) + body + self._app_id
        pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The message inside ``encrypted``, checked for padding, length and AppID."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadCiphertextError("the encrypted text is not base64") from exc
        if not raw or len(raw) % _IV_BYTES:
            raise BadCiphertextError("the encrypted text is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _PAD_BLOCK or not hmac.compare_digest(plain[-pad:], bytes([pad]) * pad):
            raise BadCiphertextError("the decrypted text has bad padding")
        body = plain[_PREFIX_BYTES:-pad]
        if len(body) < _LENGTH.size:
            raise BadCiphertextError("the decrypted text is too short")
        (length,) = _LENGTH.unpack_from(body)
        if length > len(body) - _LENGTH.size:
            raise BadCiphertextError("the decrypted text is shorter than its length says")
        message = body[_LENGTH.size : _LENGTH.size + length]
        if not hmac.compare_digest(body[_LENGTH.size + length :], self._app_id):
            raise WrongAppIdError("the message was sealed for another AppID")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadCiphertextError("the decrypted message is not UTF-8") from exc

    def open(self, encrypted: str, *, timestamp: str, nonce: str, msg_signature: str) -> str:
        """Check the ``msg_signature`` of a safe-mode message, then decrypt it."""
        check_msg_signature(self._token, timestamp, nonce, encrypted, msg_signature)
        return self.decrypt(encrypted)

    def seal(
        self, message: str, *, timestamp: str, nonce: str, prefix: bytes | None = None
    ) -> SealedReply:
        """Encrypt and sign a passive reply (``message`` is the plaintext reply XML)."""
        encrypted = self.encrypt(message, prefix=prefix)
        return SealedReply(
            encrypt=encrypted,
            msg_signature=msg_signature(self._token, timestamp, nonce, encrypted),
            timestamp=timestamp,
            nonce=nonce,
        )
