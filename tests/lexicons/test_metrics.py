"""Detector quality as numbers: the issue's targets on the development set, and regression
floors on the project's own labelled sets (written apart from the lexicon).

The floors sit a little below the figures measured when they were set; a change that drops
below one has made the detector worse on messages it was not written against. They guard
against regressions; they are not claims of quality. Sealed sets are scored like the others,
but only their figures ever reach an assertion, so a failure never prints one of their rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.vocabulary import RiskLevel
from lexicons.datasets import psyguard_part, shared_eval_dir
from lexicons.detector import default_detector
from lexicons.evaluation import Report, evaluate, read_examples
from lexicons.scoring import score_dialogues

HERE = Path(__file__).resolve().parent
SHARED = shared_eval_dir(HERE)
DEV = SHARED / "risk-dev.tsv" if SHARED else HERE / "missing-risk-dev.tsv"
PSYGUARD = SHARED / "psyguard-valid.tsv" if SHARED else HERE / "missing-psyguard.tsv"
CORPUS = HERE.parents[1] / "lexicons" / "corpus"


def report(path: Path) -> Report:
    detector = default_detector()
    return evaluate(read_examples(path), lambda text: detector.assess(text).level)


@pytest.mark.skipif(not DEV.exists(), reason=f"development set not found at {DEV}")
def test_development_set_meets_the_targets() -> None:
    result = report(DEV)
    assert result.recall_high == 1.0
    assert result.imminent_caught == 1.0
    assert result.recall_moderate >= 0.95
    assert result.false_alarms <= 0.05
    assert result.accuracy >= 0.85
    missed_imminent = [
        ex.ident
        for ex, pred in result.misses
        if ex.gold is RiskLevel.IMMINENT and pred < RiskLevel.HIGH
    ]
    assert missed_imminent == []


@pytest.mark.skipif(not PSYGUARD.exists(), reason=f"PsySUICIDE not found at {PSYGUARD}")
def test_real_counselling_text_development_part() -> None:
    """PsySUICIDE's development-test part (never trained on): the issue's two figures."""
    detector = default_detector()
    examples = [e for e in read_examples(PSYGUARD) if psyguard_part(e.ident) == "devtest"]
    result = evaluate(examples, lambda text: detector.assess(text).level)
    assert result.figure("suicide or self-harm risk flagged >= moderate") >= 0.90
    assert result.figure("active ideation, plan or preparation flagged >= high") >= 0.88
    assert result.false_alarms <= 0.07


@pytest.mark.parametrize(
    ("name", "recall_high", "recall_moderate", "false_alarms"),
    [
        ("data/heldout_zh.tsv", 0.88, 0.84, 0.06),
        ("data/heldout_en.tsv", 0.85, 0.81, 0.08),
        # Written apart from the lexicon, then read for classes of misses (training sets now).
        ("data/practice_zh.tsv", 0.94, 0.95, 0.04),
        ("data/practice2_zh.tsv", 0.94, 0.95, 0.02),
        ("data/practice_en.tsv", 0.84, 0.93, 0.05),
        ("data/practice_neg.tsv", 0.95, 0.95, 0.02),  # mostly look-alikes of risk
        # Sealed: only their scores are ever read.
        ("blind/blind_zh.tsv", 0.88, 0.78, 0.11),
        ("blind/blind2_zh.tsv", 0.84, 0.85, 0.08),
        ("blind/blind_en.tsv", 0.88, 0.81, 0.18),
        ("sealed/sealed_zh.tsv", 0.77, 0.82, 0.10),
        ("sealed/sealed_en.tsv", 0.59, 0.72, 0.13),
    ],
)
def test_own_labelled_sets_stay_above_their_floors(
    name: str, recall_high: float, recall_moderate: float, false_alarms: float
) -> None:
    # Only the figures reach the assertion, so a failure never prints a sealed row.
    total, high, moderate, alarms = figures(HERE / name)
    assert total >= 100
    assert high >= recall_high
    assert moderate >= recall_moderate
    assert alarms <= false_alarms


def test_sealed_look_alikes_stay_quiet() -> None:
    *_, alarms = figures(HERE / "sealed" / "sealed_neg_mixed.tsv")
    assert alarms <= 0.12


@pytest.mark.parametrize(
    ("name", "caught", "false_alarms"),
    [
        ("sealed/sealed_zh_conversations.tsv", 0.78, 0.28),
        ("sealed/sealed_en_conversations.tsv", 0.28, 0.14),
    ],
)
def test_conversations_stay_above_their_floors(
    name: str, caught: float, false_alarms: float
) -> None:
    result = score_dialogues(default_detector(), HERE / name)
    got_caught, got_alarms = result.caught, result.false_alarms
    assert got_caught >= caught
    assert got_alarms <= false_alarms


def figures(path: Path) -> tuple[int, float, float, float]:
    """Messages, recall at >= high, recall at >= moderate and false alarms, nothing else."""
    result = report(path)
    return result.total, result.recall_high, result.recall_moderate, result.false_alarms
