"""ISO weeks in the school's zone, and the reports' words in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import UsageError
from bot.services.reports.labels import TEXTS, t
from bot.services.reports.weekly import FIGURES
from bot.services.reports.weeks import Week


def test_a_week_runs_monday_to_monday_in_local_time() -> None:
    week = Week.parse("2026-W49", "Asia/Shanghai")
    assert week.start == datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Mon 30 Nov 00:00 +08
    assert week.end == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert week.previous().label == "2026-W48"
    assert Week.parse("2027W01", "Asia/Shanghai").previous().label == "2026-W53"
    assert Week.containing(datetime(2026, 12, 6, 17, 0, tzinfo=UTC), "Asia/Shanghai").label == (
        "2026-W50"
    )


@pytest.mark.parametrize("text", ["2026-49", "2026-W54", "W49", ""])
def test_a_malformed_week_is_named(text: str) -> None:
    with pytest.raises(UsageError, match="week"):
        Week.parse(text, "Asia/Shanghai")


def test_every_figure_has_words_in_both_languages() -> None:
    for figure in FIGURES:
        zh, en = TEXTS[figure]
        assert zh
        assert en
        assert zh != en
    assert t("report.suppressed", "en", k=10).startswith("* suppressed: fewer than 10")
