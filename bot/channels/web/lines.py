"""One line of the chat as the page shows it: what the template and the live events carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Sender = Literal["student", "bot", "counselor"]


@dataclass(frozen=True)
class AnswerButton:
    """One answer button: ``value`` goes back to the server, ``label`` is what the student sees."""

    value: str
    label: str


@dataclass(frozen=True)
class ChatLine:
    """A stored line; ``prompt`` is the question's token that answer buttons send back."""

    id: int
    sender: Sender
    text: str
    at: datetime
    buttons: Sequence[AnswerButton] = field(default_factory=tuple)
    prompt: str | None = None
    # A file the student can download from this line (``/chat/files/<id>``): its name.
    file: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a chat line's time must be timezone-aware")

    def as_json(self) -> dict[str, Any]:
        """The line in the page's JSON shape (for the template, the events and the poll)."""
        return {
            "id": self.id,
            "sender": self.sender,
            "text": self.text,
            "buttons": [{"value": b.value, "label": b.label} for b in self.buttons],
            "prompt": self.prompt,
            "at": self.at.isoformat(),
            "file": self.file,
        }


def page_lines(lines: Sequence[ChatLine]) -> list[dict[str, Any]]:
    """Lines for ``chat.html``: in id order, buttons kept only on the newest line that has them."""
    ordered = sorted(lines, key=lambda line: line.id)
    newest = max((line.id for line in ordered if line.buttons), default=None)
    shown = []
    for line in ordered:
        data = line.as_json()
        if line.id != newest:
            data["buttons"] = []
        shown.append(data)
    return shown
