"""One thing a student (or the caller, for ``system``) sent to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

InputKind = Literal["text", "button", "command", "system", "media"]
KINDS: tuple[InputKind, ...] = ("text", "button", "command", "system", "media")


@dataclass(frozen=True)
class Input:
    """An inbound input.

    Attributes:
        kind: ``text`` (typed), ``button`` (a pressed option: its key, number or label),
            ``command`` (name without the slash, e.g. ``checkin``), ``system`` (an answer
            from the outside world that the caller feeds back, e.g. ``code_ok``) or ``media``
            (a sticker, voice note or photo without a caption: it gets a gentle reply and the
            same question again; a caption is sent as ``text``).
        value: The text, button value, command name or system value (``media``: its type).
    """

    kind: InputKind
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown input kind {self.kind!r}; expected one of {KINDS}")

    @classmethod
    def text(cls, value: str) -> Input:
        """A typed message."""
        return cls("text", value)

    @classmethod
    def button(cls, value: str) -> Input:
        """A pressed button (its key, number or label)."""
        return cls("button", value)

    @classmethod
    def command(cls, name: str) -> Input:
        """A command such as ``help`` (a leading slash is tolerated)."""
        return cls("command", name)

    @classmethod
    def system(cls, value: str) -> Input:
        """An outside answer the caller feeds back, such as ``code_ok``."""
        return cls("system", value)

    @classmethod
    def media(cls, what: str = "") -> Input:
        """A non-text message (sticker, voice, photo without caption)."""
        return cls("media", what)
