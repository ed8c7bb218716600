"""The options every command takes, accepted anywhere on the command line.

argparse reads an option only at the level that defines it, so ``heartguard schools list
--config x`` failed. Before parsing, ``--config``, ``--debug``, ``-v`` and ``--lang`` go in front
of the command, and ``--json`` behind it (where the command defines it); ``--lang`` also goes
behind a command that has its own (a report's language follows the one asked for).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

_VALUED = ("--config", "--lang")
_FLAGS = ("--debug", "--json", "-v", "--verbose")


@dataclass(frozen=True)
class Arranged:
    """The arguments in the order argparse reads them, and what was found on the way."""

    argv: list[str]
    lang: str | None
    json_refused: bool


def leaf_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of the (sub)command the words in ``argv`` name."""
    current = parser
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token == "--":  # noqa: S105 (the end of options)
            break
        if token in _VALUED:
            skip = True
            continue
        if token.startswith("-"):
            continue
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or token not in sub.choices:
            break
        current = sub.choices[token]
    return current


def arrange(parser: argparse.ArgumentParser, argv: Sequence[str]) -> Arranged:
    """Move the shared options to where argparse reads them."""
    words = list(argv)
    tail: list[str] = []
    if "--" in words:
        at = words.index("--")
        words, tail = words[:at], words[at:]
    leaf = leaf_parser(parser, words)
    front: list[str] = []
    rest: list[str] = []
    lang: str | None = None
    json = False
    index = 0
    while index < len(words):
        token = words[index]
        name, eq, value = token.partition("=")
        if name in _VALUED and (eq or index + 1 < len(words)):
            if not eq:
                index += 1
                value = words[index]
            if name == "--lang":
                lang = value
            else:
                front += [name, value]
        elif token in _FLAGS:
            if token == "--json":  # noqa: S105 (an option)
                json = True
            else:
                front.append(token)
        else:
            rest.append(token)
        index += 1
    own = leaf._option_string_actions
    back: list[str] = []
    if json and "--json" in own:
        back.append("--json")
    if lang is not None:
        front += ["--lang", lang]
        if "--lang" in own and leaf is not parser:
            back += ["--lang", lang]
    return Arranged([*front, *rest, *back, *tail], lang, json_refused=json and "--json" not in own)
