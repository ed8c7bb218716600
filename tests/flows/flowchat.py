"""Transcript helpers for the flow tests (imported by the tests and conftest).

``Chat`` plays the caller's part: it steps the engine, stores the conversation as JSON between
steps (as the database would), and applies the events that change the student's profile.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from flows import (
    NO_SIGNAL,
    Conversation,
    FlowEngine,
    FlowEvent,
    Input,
    Reply,
    RiskSignal,
    StepResult,
    StudentProfile,
)

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 7, 16, 30, tzinfo=SHANGHAI)
CALLER_PARAMS = {
    "resources": "• 110\n• 120\n• 12356\n• 12355",
    "police": "110",
    "ambulance": "120",
    "talk_lines": "12356",
    "retention": "3 年",
    "alerted": "<ALERTED>",
    "followup": "<FOLLOWUP>",
}

# The four answers of the PHQ/GAD items, by score.
FREQ = ("not_at_all", "several_days", "more_than_half", "nearly_every_day")


def signal(level: str, *categories: str) -> RiskSignal:
    """A detector verdict."""
    return RiskSignal(level, frozenset(categories))  # type: ignore[arg-type]


@dataclasses.dataclass
class Chat:
    """One student talking to the engine, step by step."""

    engine: FlowEngine
    profile: StudentProfile
    conversation: Conversation | None = None
    now: datetime = NOW
    last: StepResult | None = None
    history: list[StepResult] = dataclasses.field(default_factory=list)

    def send(self, input: Input, risk: RiskSignal = NO_SIGNAL) -> StepResult:
        """Step once, store the conversation as JSON, apply profile events."""
        result = self.engine.step(self.conversation, self.profile, input, risk, self.now)
        self.conversation = Conversation.from_json(result.conversation.to_json())
        for event in result.events:
            self._apply(event)
        self.last = result
        self.history.append(result)
        return result

    def say(self, text: str, risk: RiskSignal = NO_SIGNAL) -> StepResult:
        """The student types ``text``."""
        return self.send(Input.text(text), risk)

    def press(self, value: str) -> StepResult:
        """The student presses a button (key, number or label)."""
        return self.send(Input.button(value))

    def command(self, name: str) -> StepResult:
        """The student sends ``/name``."""
        return self.send(Input.command(name))

    def system(self, value: str, **profile_changes: Any) -> StepResult:
        """The caller feeds an outside answer back, with the profile it now knows."""
        self.profile = dataclasses.replace(self.profile, **profile_changes)
        return self.send(Input.system(value))

    def answers(self, *values: str) -> StepResult:
        """Several typed answers in a row; the last result."""
        result = self.last
        for value in values:
            result = self.say(value)
        assert result is not None
        return result

    def _apply(self, event: FlowEvent) -> None:
        data = event.data
        changes: dict[str, Any] = {}
        if event.name == "language_changed":
            changes["language"] = data["language"]
        elif event.name == "onboarding_completed":
            changes["onboarded"] = True
        elif event.name == "anonymous_chosen":
            changes["age_group"] = data["age_group"]
        elif event.name == "safety_plan_saved":
            changes["safety_plan"] = data["plan"]
        if changes:
            self.profile = dataclasses.replace(self.profile, **changes)

    @property
    def where(self) -> tuple[str, str]:
        """(flow, state) now."""
        assert self.conversation is not None
        return self.conversation.flow, self.conversation.state

    @property
    def context(self) -> dict[str, Any]:
        """The stored context."""
        assert self.conversation is not None
        return dict(self.conversation.context)


def ids(result: StepResult) -> list[str]:
    """The text ids of a step's replies, in order."""
    return [reply.text_id for reply in result.replies]


def events(result: StepResult, name: str) -> list[dict[str, Any]]:
    """The data of a step's events called ``name``."""
    return [dict(event.data) for event in result.events if event.name == name]


def buttons(result: StepResult) -> list[str]:
    """The option keys of the last reply that has buttons."""
    for reply in reversed(result.replies):
        if reply.buttons:
            return [key for key, _ in reply.buttons]
    return []


def last_question(result: StepResult) -> Reply:
    """The last reply (the question being asked)."""
    return result.replies[-1]


def rendered(engine: FlowEngine, result: StepResult) -> list[str]:
    """The replies as the student would read them."""
    return [
        engine.catalog.render(reply.text_id, result.language, {**CALLER_PARAMS, **reply.params})
        for reply in result.replies
    ]
