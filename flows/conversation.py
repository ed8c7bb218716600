"""A student's place in the flows, as a plain value the caller stores between messages.

The caller persists :meth:`Conversation.to_json` (encrypted: the context can hold the
student's own words, e.g. safety-plan answers) and hands :meth:`Conversation.from_json` back
on the next message. Nothing else is needed to resume after a restart.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TypeAlias

JSON: TypeAlias = "str | int | float | bool | list[JSON] | dict[str, JSON] | None"

FORMAT_VERSION = 1


def _frozen(context: Mapping[str, JSON]) -> Mapping[str, JSON]:
    # A deep copy so no caller can change a stored conversation behind the engine's back.
    return MappingProxyType(copy.deepcopy(dict(context)))


def _context(value: object, where: str) -> dict[str, JSON]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{where}: expected an object with string keys")
    return value


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: expected a non-empty string")
    return value


@dataclass(frozen=True)
class Frame:
    """A flow put on hold (by an ASQ screen) to be resumed where it was."""

    flow: str
    state: str
    context: Mapping[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", _frozen(self.context))

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-ready dict."""
        return {
            "flow": self.flow,
            "state": self.state,
            "context": copy.deepcopy(dict(self.context)),
        }

    @classmethod
    def from_dict(cls, data: object) -> Frame:
        """Rebuild from :meth:`to_dict` output; raises ``ValueError`` on malformed data."""
        data = _context(data, "paused")
        return cls(
            flow=_name(data.get("flow"), "paused.flow"),
            state=_name(data.get("state"), "paused.state"),
            context=_context(data.get("context", {}), "paused.context"),
        )


@dataclass(frozen=True)
class Conversation:
    """Where a student is: flow, state, the answers so far, and a paused flow if any.

    Attributes:
        flow: Flow name, e.g. ``checkin``.
        state: State name within the flow, e.g. ``phq_3``.
        context: JSON-able answers and bookkeeping for the current flow.
        paused: A flow interrupted by an ASQ screen, resumed when the screen is negative.
        updated_at: When the engine last moved this conversation (timezone-aware).
    """

    flow: str
    state: str
    context: Mapping[str, JSON] = field(default_factory=dict)
    paused: Frame | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", _frozen(self.context))
        if self.updated_at is not None and self.updated_at.utcoffset() is None:
            raise ValueError("updated_at must be timezone-aware")

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-ready dict, the inverse of :meth:`from_dict`."""
        return {
            "v": FORMAT_VERSION,
            "flow": self.flow,
            "state": self.state,
            "context": copy.deepcopy(dict(self.context)),
            "paused": None if self.paused is None else self.paused.to_dict(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: object) -> Conversation:
        """Rebuild from :meth:`to_dict` output; raises ``ValueError`` on malformed data."""
        data = _context(data, "conversation")
        if data.get("v") != FORMAT_VERSION:
            raise ValueError(f"conversation.v: expected {FORMAT_VERSION}, got {data.get('v')!r}")
        paused = data.get("paused")
        updated = data.get("updated_at")
        if updated is not None and not isinstance(updated, str):
            raise ValueError("conversation.updated_at: expected an ISO 8601 string or null")
        return cls(
            flow=_name(data.get("flow"), "conversation.flow"),
            state=_name(data.get("state"), "conversation.state"),
            context=_context(data.get("context", {}), "conversation.context"),
            paused=None if paused is None else Frame.from_dict(paused),
            updated_at=None if updated is None else datetime.fromisoformat(updated),
        )

    def to_json(self) -> str:
        """Serialise to a compact JSON string (non-ASCII kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Conversation:
        """Parse :meth:`to_json` output; raises ``ValueError`` on malformed data."""
        return cls.from_dict(json.loads(text))
