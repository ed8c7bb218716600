"""The application's error hierarchy: expected problems carry a message fit for a user."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import HeartGuardError

__all__ = [
    "ConfigError",
    "DatabaseUnavailableError",
    "HeartGuardError",
    "NotFoundError",
    "UsageError",
]


class ConfigError(HeartGuardError):
    """Configuration is missing or invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UsageError(HeartGuardError):
    """A command was given arguments it cannot act on."""


class NotFoundError(HeartGuardError):
    """A named record (school, class, student, code) does not exist."""


class DatabaseUnavailableError(HeartGuardError):
    """The database cannot be reached or has not been migrated."""
