"""Logging set-up: handlers others installed survive, and chatty libraries stay capped."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    logger = logging.getLogger()
    before, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = before
    logger.setLevel(level)


def test_a_handler_installed_by_someone_else_survives(root: logging.Logger) -> None:
    theirs = logging.NullHandler()
    root.addHandler(theirs)
    configure_logging("INFO")
    configure_logging("WARNING")
    assert theirs in root.handlers
    mine = [h for h in root.handlers if h is not theirs and type(h) is logging.StreamHandler]
    assert len(mine) == 1  # reconfiguring replaced our own handler, and only it


def test_debug_never_opens_the_libraries_that_log_what_people_wrote(root: logging.Logger) -> None:
    configure_logging("DEBUG")
    assert root.level == logging.DEBUG
    assert not logging.getLogger("telegram.ext.Application").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("bot.services.pipeline").isEnabledFor(logging.DEBUG)


def test_verbose_lets_the_quiet_libraries_info_through(root: logging.Logger) -> None:
    configure_logging("INFO")
    assert not logging.getLogger("alembic.runtime.migration").isEnabledFor(logging.INFO)
    configure_logging("INFO", verbose=True)
    assert logging.getLogger("alembic.runtime.migration").isEnabledFor(logging.INFO)
    assert not logging.getLogger("apscheduler").isEnabledFor(logging.DEBUG)
    configure_logging("INFO")
