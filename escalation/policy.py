"""Escalation policy: per priority, an ordered chain of steps, snapshotted into each case.

Pure: no database, no clock. ``bot`` builds the policies from settings; a case carries its
chain as JSON, so later policy edits never change a case already in flight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from escalation.lifecycle import Priority

Tier = Literal["school", "district", "hospital"]
TIERS: tuple[Tier, ...] = ("school", "district", "hospital")


@dataclass(frozen=True)
class Step:
    """Tiers alerted together, and how long to wait for an acknowledgement."""

    tiers: tuple[Tier, ...]
    ack_timeout: timedelta


@dataclass(frozen=True)
class Chain:
    """The steps for one priority, repeated ``repeat`` more times after the last."""

    priority: Priority
    steps: tuple[Step, ...]
    repeat: int

    def to_json(self) -> dict[str, Any]:
        """The snapshot stored in the case."""
        return {
            "priority": self.priority,
            "repeat": self.repeat,
            "steps": [
                {"tiers": list(s.tiers), "ack_timeout": int(s.ack_timeout.total_seconds())}
                for s in self.steps
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Chain:
        """Read a snapshot back; raises ValueError when it is malformed."""
        try:
            steps = tuple(
                Step(
                    tuple(t for t in s["tiers"] if t in TIERS),
                    timedelta(seconds=int(s["ack_timeout"])),
                )
                for s in data["steps"]
            )
            chain = cls(data["priority"], steps, int(data["repeat"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed chain snapshot: {exc}") from None
        if not steps or any(not s.tiers or s.ack_timeout <= timedelta(0) for s in steps):
            raise ValueError("malformed chain snapshot: empty step or non-positive timeout")
        return chain


@dataclass(frozen=True)
class Position:
    """Where a case is in its chain."""

    step_index: int
    round: int


@dataclass(frozen=True)
class Advance:
    """What running the current step means: alert these tiers, then wait until ``next_at``."""

    tiers: tuple[Tier, ...]
    next_position: Position
    next_at: datetime | None  # None: the chain is exhausted (the auditor takes over)


def advance(chain: Chain, position: Position, now: datetime) -> Advance:
    """Run the step at ``position``: its tiers, and when the next step is due."""
    index = min(position.step_index, len(chain.steps) - 1)
    step = chain.steps[index]
    following = Position(index + 1, position.round)
    if following.step_index >= len(chain.steps):
        following = Position(0, position.round + 1)
    exhausted = following.round > chain.repeat
    return Advance(step.tiers, following, None if exhausted else now + step.ack_timeout)


def skip_to_next(chain: Chain, position: Position) -> Position | None:
    """The position after ``position`` (nobody on duty for this step), or None at the end."""
    following = Position(position.step_index + 1, position.round)
    if following.step_index >= len(chain.steps):
        following = Position(0, position.round + 1)
    return None if following.round > chain.repeat else following
