"""Reading what a student sends: keys, numbers, labels in either language, commands."""

from __future__ import annotations

import pytest

from flows import Input, load_catalog
from flows.answers import command_of, match_option, normalize, parse_number, read
from flows.definition import StateDef

CATALOG = load_catalog()
FREQ = ("not_at_all", "several_days", "more_than_half", "nearly_every_day", "skip")
CHOICE = StateDef("q", input="choice", options=FREQ)
TEXT = StateDef("t", input="text", options=("skip",), max_length=20)


def phrasings(key: str) -> tuple[str, ...]:
    return CATALOG.phrasings(f"opt.{key}", f"opt.{key}")


def match(value: str, *, numbers: bool = True) -> str | None:
    return match_option(value, FREQ, phrasings, numbers=numbers)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("several_days", "several_days"),  # the key a button sends
        ("2", "several_days"),
        ("２", "several_days"),  # full-width
        ("②", "several_days"),
        ("二", "several_days"),
        (" 2. ", "several_days"),
        ("好几天", "several_days"),  # zh label
        ("Several days", "several_days"),  # en label
        ("SEVERAL DAYS!", "several_days"),
        ("一半以上的天数", "more_than_half"),
        ("几乎每天。", "nearly_every_day"),
        ("完全不会", "not_at_all"),
        ("跳过", "skip"),
        ("pass", "skip"),  # an alias
    ],
)
def test_a_choice_accepts_key_number_and_label(typed: str, key: str) -> None:
    assert match(typed) == key


@pytest.mark.parametrize("typed", ["0", "6", "12", "-1", "maybe", "😀", "", "   ", "2 days"])
def test_anything_else_is_not_an_answer(typed: str) -> None:
    assert match(typed) is None


def test_numbers_can_be_turned_off_for_free_text_questions() -> None:
    assert match("1", numbers=False) is None
    assert match("Skip", numbers=False) == "skip"


def test_normalize_drops_emoji_case_and_edge_punctuation() -> None:
    assert normalize("😄 很好！") == "很好"
    assert normalize("  Great  Day ") == "great day"
    assert parse_number("3、") == 3
    assert parse_number("3.5") is None


@pytest.mark.parametrize(
    ("state", "input", "key", "problem"),
    [
        (CHOICE, Input.button("3"), "more_than_half", None),
        (CHOICE, Input.button("yes"), None, "input.stale_button"),
        (CHOICE, Input.text("maybe"), None, "input.choose_option"),
        (CHOICE, Input.text(""), None, "input.empty"),
        (CHOICE, Input.text("x" * 4096), None, "input.choose_option"),
        (TEXT, Input.text("can't sleep"), "_text", None),
        (TEXT, Input.text("3"), "_text", None),  # a number is a fine free-text answer
        (TEXT, Input.text("skip"), "skip", None),
        (TEXT, Input.text("x" * 21), None, "input.too_long"),
        (TEXT, Input.button("never"), None, "input.stale_button"),
        (TEXT, Input.text("😢"), "_text", None),
    ],
)
def test_read(state: StateDef, input: Input, key: str | None, problem: str | None) -> None:
    reading = read(state, input, phrasings)
    assert (reading.key, reading.problem) == (key, problem)


def test_a_too_long_answer_says_how_long_is_allowed() -> None:
    assert read(TEXT, Input.text("x" * 21), phrasings).params == {"max": "20"}


def test_free_text_answers_are_trimmed() -> None:
    assert read(TEXT, Input.text("  music  "), phrasings).text == "music"


CANCEL = {"退出", "cancel", "exit"}
HELP = {"帮助", "help"}


@pytest.mark.parametrize(
    ("input", "command"),
    [
        (Input.command("checkin"), "checkin"),
        (Input.command("/Help"), "help"),
        (Input.text("/cancel"), "cancel"),
        (Input.text("/start@HeartGuardBot"), "start"),
        (Input.text("退出"), "cancel"),
        (Input.text("Exit!"), "cancel"),
        (Input.text("帮助"), "help"),
        (Input.text("I want to exit this"), None),
        (Input.button("help"), None),  # a button is an answer, never a command
        (Input.system("code_ok"), None),
    ],
)
def test_command_of(input: Input, command: str | None) -> None:
    assert command_of(input, CANCEL, HELP) == command
