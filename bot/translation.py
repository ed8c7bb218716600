"""The command line's language: English, or Chinese with ``--lang zh`` or a Chinese locale.

Messages are written in English in the code and marked with ``_()``; their Chinese (and, for
completeness, English) text lives in gettext catalogs, ``bot/locale/<lang>.po``, kept with
Babel (``make messages`` extracts and merges them; a test checks both are complete). The
catalogs are read as ``.po`` at start, so no compiled file is kept. argparse's own words
("usage", "the following arguments are required", …) are in the same catalogs.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

LANGUAGES = ("en", "zh")
DOMAIN = "heartguard"

_active: dict[str, str] = {}


def N_(message: str) -> str:
    """Mark a message for extraction without translating it yet."""
    return message


def _(message: str) -> str:
    """The message in the active language (the English text when it has none)."""
    return _active.get(message) or message


def _n(singular: str, plural: str, count: int) -> str:
    # argparse's plurals; the catalogs translate both forms alike.
    return _(singular if count == 1 else plural)


def language_of(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """``--lang`` anywhere on the line, else the locale (LC_ALL, LC_MESSAGES, LANG)."""
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and index + 1 < len(argv):
            return argv[index + 1] if argv[index + 1] in LANGUAGES else "en"
        if word.startswith("--lang="):
            value = word.partition("=")[2]
            return value if value in LANGUAGES else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@cache
def catalog(language: str) -> dict[str, str]:
    """A catalog's translations, msgid to msgstr (empty ones left out)."""
    from babel.messages.pofile import read_po

    text = resources.files("bot") / "locale" / f"{language}.po"
    with text.open("rb") as handle:
        messages = read_po(handle, locale=language, domain=DOMAIN)
    out: dict[str, str] = {}
    for message in messages:
        # A fuzzy entry is a guess by the merge, not a translation.
        if message.fuzzy or not isinstance(message.id, str):
            continue
        if isinstance(message.string, str) and message.string:
            out[message.id] = message.string
    return out


def use(language: str) -> None:
    """Speak ``language`` from now on, argparse included."""
    _active.clear()
    if language != "en":
        _active.update(catalog(language))
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = _n  # type: ignore[attr-defined]
