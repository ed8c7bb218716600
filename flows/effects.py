"""What a step asks the caller to do: send replies and record events.

The engine performs no I/O. The caller renders each :class:`Reply` through the catalog (adding
the parameters it owns, such as ``resources``) and handles each event in the same transaction
as the new conversation state. Every event is a small frozen dataclass; the caller keeps one
handler per type and checks at start-up that it has them all (:data:`EVENT_TYPES`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from core.vocabulary import Priority
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
class FlowEvent:
    """Something that happened which the caller must record or act on."""

    name: ClassVar[str] = "event"

    @property
    def data(self) -> dict[str, JSON]:
        """The event's fields as JSON-able data (for transcripts and observers)."""
        out: dict[str, JSON] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class LanguageChanged(FlowEvent):
    """The student chose a language."""

    name: ClassVar[str] = "language_changed"
    language: str


@dataclass(frozen=True)
class ConsentGiven(FlowEvent):
    """The student agreed to how HeartGuard works."""

    name: ClassVar[str] = "consent_given"
    at: datetime


@dataclass(frozen=True)
class EnrollmentCodeSubmitted(FlowEvent):
    """The caller checks the code and answers with a system input (``code_ok`` …)."""

    name: ClassVar[str] = "enrollment_code_submitted"
    code: str


@dataclass(frozen=True)
class AnonymousChosen(FlowEvent):
    """Anonymous use, with the age group the student gave."""

    name: ClassVar[str] = "anonymous_chosen"
    age_group: str


@dataclass(frozen=True)
class OnboardingCompleted(FlowEvent):
    """Onboarding is done."""

    name: ClassVar[str] = "onboarding_completed"
    anonymous: bool
    restricted: bool


@dataclass(frozen=True)
class ReminderPreferenceSet(FlowEvent):
    """Weekly reminders on or off; day and minute (local) when the student chose them."""

    name: ClassVar[str] = "reminder_preference_set"
    enabled: bool
    weekday: int | None = None
    minute: int | None = None


@dataclass(frozen=True)
class CheckinCompleted(FlowEvent):
    """One instrument of a check-in, scored."""

    name: ClassVar[str] = "checkin_completed"
    instrument: str
    answers: tuple[int | None, ...]
    score: int | None
    band: str
    at: datetime
    form: str | None = None


@dataclass(frozen=True)
class ScreenCompleted(FlowEvent):
    """The ASQ screen, scored (also when left with a positive answer)."""

    name: ClassVar[str] = "screen_completed"
    instrument: str
    answers: tuple[int | None, ...]
    score: int | None
    band: str
    at: datetime


@dataclass(frozen=True)
class CaseRequested(FlowEvent):
    """A person must hear about this student: the green channel opens or raises a case."""

    name: ClassVar[str] = "case_requested"
    priority: Priority
    reason: str
    categories: tuple[str, ...] = ()
    flow: str = ""
    details: Mapping[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def data(self) -> dict[str, JSON]:
        """The request with its details beside the other fields, as transcripts show it."""
        out = super().data
        details = out.pop("details")
        assert isinstance(details, dict)
        return {**out, **details}


@dataclass(frozen=True)
class SafetyPlanSaved(FlowEvent):
    """The student saved their safety plan."""

    name: ClassVar[str] = "safety_plan_saved"
    plan: Mapping[str, str]
    at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", MappingProxyType(dict(self.plan)))


@dataclass(frozen=True)
class DataExportRequested(FlowEvent):
    """/mydata: the student asked for a copy of their data."""

    name: ClassVar[str] = "data_export_requested"
    at: datetime


@dataclass(frozen=True)
class DataDeletionConfirmed(FlowEvent):
    """/delete, confirmed."""

    name: ClassVar[str] = "data_deletion_confirmed"
    at: datetime


@dataclass(frozen=True)
class FlowChanged(FlowEvent):
    """The step ended in another flow than it started in (for observers only)."""

    name: ClassVar[str] = "flow_changed"
    flow: str
    state: str
    previous: str | None


# Every event type a step can emit: a caller's handler map must cover them all.
EVENT_TYPES: tuple[type[FlowEvent], ...] = (
    LanguageChanged,
    ConsentGiven,
    EnrollmentCodeSubmitted,
    AnonymousChosen,
    OnboardingCompleted,
    ReminderPreferenceSet,
    CheckinCompleted,
    ScreenCompleted,
    CaseRequested,
    SafetyPlanSaved,
    DataExportRequested,
    DataDeletionConfirmed,
    FlowChanged,
)

Effect = Reply | FlowEvent


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
    def events(self) -> tuple[FlowEvent, ...]:
        """Only the events, in order."""
        return tuple(effect for effect in self.effects if isinstance(effect, FlowEvent))
