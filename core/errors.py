"""The one base of HeartGuard's expected errors: a message that is safe to show a person."""

from __future__ import annotations


class HeartGuardError(Exception):
    """Base for every expected HeartGuard error; its message is safe to show."""
