"""Argument types shared by the commands: each refuses bad input in one plain line."""

from __future__ import annotations

import argparse
import codecs
from datetime import date

from bot.translation import _


def iso_day(text: str) -> date:
    """A calendar date written YYYY-MM-DD (2026-10-01)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a date: expected YYYY-MM-DD, e.g. 2026-10-01").format(text=text)
        ) from None


def text_encoding(text: str) -> str:
    """A text encoding Python can read (gbk, gb18030, utf-8, …), by its usual name."""
    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            _("{text!r} is not a known text encoding: try utf-8, gbk or gb18030").format(text=text)
        ) from None
