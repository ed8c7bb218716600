"""Fixtures for the flow tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flowchat import Chat

from flows import FlowEngine, StudentProfile


@pytest.fixture(scope="session")
def engine() -> FlowEngine:
    """The packaged flows with default configuration (shared: the engine is stateless)."""
    return FlowEngine()


@pytest.fixture
def student() -> StudentProfile:
    """An onboarded grade-8 student, 14, with guardian consent."""
    return StudentProfile(
        language="zh", grade=8, age=14, enrolled=True, guardian_consent=True, onboarded=True
    )


@pytest.fixture
def chat(engine: FlowEngine, student: StudentProfile) -> Chat:
    """A conversation with the default student, not started yet."""
    return Chat(engine, student)


@pytest.fixture
def new_chat(engine: FlowEngine) -> Callable[..., Chat]:
    """Make a conversation for a student with the given profile fields."""

    def make(**fields: Any) -> Chat:
        return Chat(engine, StudentProfile(**fields))

    return make


@pytest.fixture(autouse=True)
def _no_leaked_models(engine: FlowEngine) -> Iterator[None]:
    """After every test, no shared machine holds a model: steps never leak students."""
    yield
    assert all(engine.machine(name).attached_models == 0 for name in engine.flows)
