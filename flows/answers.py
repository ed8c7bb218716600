"""Turning what a student typed or pressed into an answer, a command, or a kind re-prompt.

Every choice question accepts the option's key (what a button sends), its number as shown
("1", full-width "１", "①", "一"), or its label in any catalog language, ignoring case, spacing,
surrounding punctuation and emoji. Free-text questions take any non-empty text (and their
buttons, such as "skip", by key or label). Anything else is a problem to re-prompt about.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flows import texts
from flows.definition import TEXT_ANSWER, StateDef
from flows.inputs import Input

_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# Punctuation a student may add around an answer: "2.", "是。", "(1)", "yes!".
_EDGE_PUNCTUATION = " \t\r\n.,;:!?'\"()[]{}<>~·。，、；：！？“”‘’（）【】《》「」…—"


def _keep(char: str) -> bool:
    category = unicodedata.category(char)
    # So = emoji and other symbols; Mn/Cf = variation selectors and zero-width joiners.
    return category not in ("So", "Mn", "Cf", "Sk")


def normalize(text: str) -> str:
    """Fold ``text`` for matching: NFKC, case, emoji and edge punctuation removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(char for char in folded if _keep(char))
    return " ".join(kept.split()).strip(_EDGE_PUNCTUATION)


def parse_number(text: str) -> int | None:
    """The option number in ``text`` ("2", "２", "②", "二", "2."), or ``None``."""
    folded = normalize(text)
    if folded.isdigit() and folded.isascii() and len(folded) <= 3:
        return int(folded)
    if len(folded) == 1 and folded in _CHINESE_DIGITS:
        return _CHINESE_DIGITS[folded]
    return None


def match_option(
    value: str,
    options: Sequence[str],
    phrasings: Callable[[str], Iterable[str]],
    *,
    numbers: bool,
) -> str | None:
    """The option key ``value`` names, or ``None``.

    Args:
        value: What the student sent.
        options: The question's option keys, in display order.
        phrasings: For an option key, the labels and aliases that name it.
        numbers: Whether an option number counts (not in free-text questions, where "3" is
            a fine answer in itself).
    """
    if value in options:
        return value
    if numbers:
        number = parse_number(value)
        if number is not None:
            return options[number - 1] if 1 <= number <= len(options) else None
    folded = normalize(value)
    if not folded:
        return None
    for key in options:
        if folded == normalize(key) or any(folded == normalize(p) for p in phrasings(key)):
            return key
    return None


@dataclass(frozen=True)
class Reading:
    """How an input reads in a state: an answer key (and text), or a problem text id."""

    key: str | None = None
    text: str = ""
    problem: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


def read(state: StateDef, input: Input, phrasings: Callable[[str], Iterable[str]]) -> Reading:
    """Read a button or text ``input`` as an answer to ``state``'s question.

    Args:
        state: The waiting state.
        input: A ``button`` or ``text`` input.
        phrasings: For an option key, the labels and aliases that name it.
    """
    offers = state.options if state.input in ("choice", "text") else ()
    if input.kind == "button":
        key = match_option(input.value, offers, phrasings, numbers=True) if offers else None
        return Reading(key=key) if key else Reading(problem=texts.STALE_BUTTON)
    text = input.value.strip()
    if not text:
        return Reading(problem=texts.EMPTY)
    numbers = state.input == "choice"
    key = match_option(text, offers, phrasings, numbers=numbers) if offers else None
    if key is not None:
        return Reading(key=key)
    if state.input == "text" or state.accept_text:
        if state.max_length is not None and len(text) > state.max_length:
            return Reading(problem=texts.TOO_LONG, params={"max": str(state.max_length)})
        return Reading(key=TEXT_ANSWER, text=text)
    return Reading(problem=texts.CHOOSE_OPTION)


def command_of(
    input: Input, cancel_words: Collection[str], help_words: Collection[str]
) -> str | None:
    """The command an input asks for: ``/name`` or a command input, or a typed exit/help word.

    ``cancel_words`` and ``help_words`` must already be :func:`normalize`-d.
    """
    value = input.value.strip()
    if input.kind == "command" or (input.kind == "text" and value.startswith("/")):
        words = value.lstrip("/").split()
        return words[0].split("@")[0].casefold() if words else ""
    if input.kind == "text":
        folded = normalize(value)
        if folded in cancel_words:
            return "cancel"
        if folded in help_words:
            return "help"
    return None
