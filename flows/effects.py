"""What a step asks the caller to do: send replies and record events.

The engine performs no I/O. The caller renders each :class:`Reply` through the catalog (adding
the parameters it owns, such as ``resources``) and handles each :class:`Event` in the same
transaction as the new conversation state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from flows.conversation import JSON, Conversation


@dataclass(frozen=True)
class Reply:
    """A message to the student.

    Attributes:
        text_id: Catalog key of the text.
        params: Values for placeholders the engine knows; the caller adds its own.
        buttons: ``(option key, label text id)`` pairs, in display order (number 1 first).
    """

    text_id: str
    params: Mapping[str, str] = field(default_factory=dict)
    buttons: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


@dataclass(frozen=True)
class Event:
    """Something that happened which the caller must record or act on.

    Attributes:
        name: Event name, e.g. ``case_requested``.
        data: JSON-able details.
    """

    name: str
    data: Mapping[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


Effect = Reply | Event


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step.

    Attributes:
        conversation: The new conversation to store.
        effects: Replies and events, in order.
        language: The language to render this step's replies in (it can change mid-step).
    """

    conversation: Conversation
    effects: tuple[Effect, ...]
    language: str

    @property
    def replies(self) -> tuple[Reply, ...]:
        """Only the replies, in order."""
        return tuple(effect for effect in self.effects if isinstance(effect, Reply))

    @property
    def events(self) -> tuple[Event, ...]:
        """Only the events, in order."""
        return tuple(effect for effect in self.effects if isinstance(effect, Event))
