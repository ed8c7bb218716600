"""Encryption at rest for student text (Fernet / MultiFernet, keys from the environment).

The first key encrypts; every key decrypts. Rotation: put the new key first, keep the old one
after it, run ``heartguard db rotate-key``, then drop the old key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import HeartGuardError

log = logging.getLogger(__name__)


class DataKeyError(HeartGuardError):
    """No usable data key; the message says what to do."""


class DataCipher:
    """Encrypts and decrypts student text with a MultiFernet."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise DataKeyError("no data key given")
        try:
            self._fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError):
            raise DataKeyError(
                "HEARTGUARD_DATA_KEY must be comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)"
            ) from None
        self._multi = MultiFernet(self._fernets)

    @property
    def key_count(self) -> int:
        """How many keys can decrypt."""
        return len(self._fernets)

    def encrypt(self, text: str) -> bytes:
        """Encrypt text with the primary key."""
        return self._multi.encrypt(text.encode("utf-8", "surrogatepass"))

    def decrypt(self, token: bytes) -> str:
        """Decrypt with whichever key fits.

        Raises:
            cryptography.fernet.InvalidToken: when no configured key fits.
        """
        return self._multi.decrypt(token).decode("utf-8", "surrogatepass")

    def is_current(self, token: bytes) -> bool:
        """True when the primary key already decrypts ``token``."""
        try:
            self._fernets[0].decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token under the primary key."""
        return self._multi.rotate(token)


def generate_key() -> str:
    """A fresh Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")


def load_cipher(keys: Sequence[str], *, key_file: Path, allow_generated: bool) -> DataCipher:
    """Build the cipher from environment keys, or a generated local key when allowed.

    Raises:
        DataKeyError: when no key is set and generating one is not allowed.
    """
    if keys:
        return DataCipher(list(keys))
    if not allow_generated:
        raise DataKeyError(
            "HEARTGUARD_DATA_KEY is not set and privacy.allow_generated_key is false; "
            "set the key in the environment"
        )
    if key_file.exists():
        return DataCipher([key_file.read_text(encoding="ascii").strip()])
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
    log.warning(
        "generated a local data key at %s; set HEARTGUARD_DATA_KEY for a real deployment",
        key_file,
    )
    return DataCipher([key_file.read_text(encoding="ascii").strip()])
