"""Scoring a detector on a labelled file: the logic behind ``heartguard risk eval``."""

from __future__ import annotations

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


def run_dialogue(detector: Detector, dialogue: Dialogue) -> list[RiskLevel]:
    """The level the detector gives each turn, reading the turns before it."""
    texts = [turn.text for turn in dialogue.turns]
    return [detector.assess(text, texts[:index]).level for index, text in enumerate(texts)]


def score_dialogues(detector: Detector, path: Path) -> ConversationReport:
    """Each conversation turn by turn."""
    return evaluate_dialogues(read_dialogues(path), lambda d: run_dialogue(detector, d))
