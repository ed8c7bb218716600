"""Scoring a detector on a labelled file: the logic behind ``heartguard risk eval``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.vocabulary import RiskLevel
from lexicons.conversation_eval import (
    ConversationReport,
    Dialogue,
    evaluate_dialogues,
    read_dialogues,
)
from lexicons.evaluation import Report, evaluate, read_examples

if TYPE_CHECKING:
    from lexicons.detector import Detector


def score_messages(detector: Detector, path: Path) -> Report:
    """Each message alone."""
    return evaluate(read_examples(path), lambda text: detector.assess(text).level)


# Conversations are replayed from an arbitrary start; only the minutes between turns matter.
START = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)


def run_dialogue(detector: Detector, dialogue: Dialogue) -> list[RiskLevel]:
    """The level the detector gives each turn, turn by turn, as the pipeline calls it."""
    state = None
    levels = []
    for turn in dialogue.turns:
        result = detector.assess_turn(turn.text, state, START + timedelta(minutes=turn.minutes))
        state = result.state
        levels.append(result.assessment.level)
    return levels


def score_dialogues(detector: Detector, path: Path) -> ConversationReport:
    """Each conversation turn by turn."""
    return evaluate_dialogues(read_dialogues(path), lambda d: run_dialogue(detector, d))
