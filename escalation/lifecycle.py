"""The case lifecycle's rules, in one pure module: statuses, priorities and allowed actions.

Everything that asks "is this case open?", "which priority is higher?" or "may this action
start from that status?" asks here. No database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from core.vocabulary import PRIORITIES, Priority

__all__ = [
    "ACTIONS",
    "ALLOWED",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "PRIORITIES",
    "RESOLUTIONS",
    "STATUSES",
    "Priority",
    "is_open",
    "is_priority",
    "may",
    "rank",
]

# open → acknowledged → in_progress (student contacted) → referred → resolved / closed.
OPEN_STATUSES: tuple[str, ...] = ("open", "acknowledged", "in_progress", "referred")
CLOSED_STATUSES: tuple[str, ...] = ("resolved", "closed")
STATUSES: tuple[str, ...] = (*OPEN_STATUSES, *CLOSED_STATUSES)

ACTIONS: tuple[str, ...] = ("ack", "contacted", "refer", "resolve", "reopen", "note")
RESOLUTIONS: tuple[str, ...] = ("safe", "referred_out", "false_alarm", "no_contact", "other")
# Which statuses each action may start from.
ALLOWED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ack": ("open", "acknowledged"),
        "contacted": ("open", "acknowledged", "in_progress"),
        "refer": ("open", "acknowledged", "in_progress", "referred"),
        "resolve": OPEN_STATUSES,
        "reopen": CLOSED_STATUSES,
        "note": STATUSES,
    }
)


def rank(priority: str) -> int:
    """Order of priorities; unknown ones rank as urgent so that nothing is under-served."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


def is_priority(value: object) -> bool:
    """Whether ``value`` names a priority."""
    return value in PRIORITIES


def is_open(status: str) -> bool:
    """Whether a case in this status still needs a person."""
    return status in OPEN_STATUSES


def may(action: str, status: str) -> bool:
    """Whether ``action`` may be taken on a case in ``status``."""
    return status in ALLOWED.get(action, ())
