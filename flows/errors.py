"""Errors raised by the conversation engine.

Expected input problems never raise: they re-prompt the student. These errors mean a flow
definition or a caller broke the engine's contract, so they should stop start-up or a test.
"""

from __future__ import annotations

from core.errors import HeartGuardError


class FlowError(HeartGuardError):
    """Base for every error the conversation engine raises."""


class DefinitionError(FlowError):
    """A flow definition or catalog is malformed; the message names the file and key."""
