"""The working state of one step: what conditions read and actions change.

A :class:`Turn` is the model that the flow's shared ``transitions`` machine moves; it lives
only for the step and is discarded afterwards, so nothing leaks between students.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.vocabulary import Priority
from flows.config import FlowConfig
from flows.conversation import JSON, Conversation, Frame
from flows.effects import CaseRequested, Effect, FlowEvent, Reply
from flows.profile import StudentProfile
from flows.signals import RiskSignal


@dataclass
class Turn:
    """Everything one step knows and produces.

    Attributes:
        profile: The student's facts; actions replace it when an event changes them, so later
            decisions in the same step see the change (the caller persists it from the event).
        config: Engine configuration.
        signal: The risk signal for the inbound message.
        now: The step's time (timezone-aware).
        flow: Current flow name.
        state: Current state name.
        context: The current flow's answers and bookkeeping.
        paused: A flow on hold behind an ASQ screen.
        answer: The answer key being handled (an option key, ``_text`` or a system value).
        text: The student's text when the answer is free text.
        params: Placeholder values for the texts of the state being entered.
        effects: Replies and events produced so far.
        cared: A caring reply was sent this step, so a re-prompt skips its "please choose".
    """

    profile: StudentProfile
    config: FlowConfig
    signal: RiskSignal
    now: datetime
    flow: str = ""
    state: str = ""
    context: dict[str, JSON] = field(default_factory=dict)
    paused: Frame | None = None
    answer: str | None = None
    text: str = ""
    params: dict[str, str] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    cared: bool = False

    def say(
        self,
        text_id: str,
        params: Mapping[str, str] | None = None,
        buttons: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Queue a reply."""
        self.effects.append(Reply(text_id, params or {}, buttons))

    def emit(self, event: FlowEvent) -> None:
        """Queue an event."""
        self.effects.append(event)

    def request_case(
        self, priority: Priority, reason: str, details: Mapping[str, JSON] | None = None
    ) -> None:
        """Queue a case request for the green channel."""
        self.emit(
            CaseRequested(
                priority=priority,
                reason=reason,
                categories=tuple(sorted(self.signal.categories)),
                flow=self.flow,
                details=details or {},
            )
        )

    def update_profile(self, **changes: object) -> None:
        """Reflect an event's change to the profile for the rest of this step."""
        self.profile = dataclasses.replace(self.profile, **changes)  # type: ignore[arg-type]

    @property
    def restricted(self) -> bool:
        """Under the guardian-consent age without consent."""
        return self.profile.restricted(self.config.guardian_consent_age)

    def conversation(self) -> Conversation:
        """The conversation to store after this step."""
        return Conversation(
            flow=self.flow,
            state=self.state,
            context=self.context,
            paused=self.paused,
            updated_at=self.now,
        )


Condition = Callable[[Turn], bool]
Action = Callable[[Turn], None]
ParamSource = Callable[[Turn], Mapping[str, str]]
