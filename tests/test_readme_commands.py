"""Every `heartguard …` command either README shows exists and parses its arguments.

Only argparse runs (no handler, no database, no file): the commands are read from the code
blocks and the inline code of README.md and README.zh-CN.md, with their written shorthand
expanded (``[--opt X]`` with and without, ``a|b`` each, ``x | y`` as sibling commands).
"""

from __future__ import annotations

import argparse
import itertools
import re
import shlex
from pathlib import Path

import pytest

from bot.cli.main import build_parser
from bot.cli.options import arrange

ROOT = Path(__file__).resolve().parents[1]
READMES = ("README.md", "README.zh-CN.md")
PLACEHOLDERS = {"ID": "3", "PATH": "config.toml", "CODE": "ABCDE-FGHJK", "FILE": "out.csv"}
FENCE = re.compile(r"```(?:sh|bash|console)?\n(.*?)```", re.S)
INLINE = re.compile(r"`(heartguard [^`]+)`")


def _commands(text: str) -> list[str]:
    """Commands in code blocks, then inline ones (marked with a leading "@": they may only
    name a command, like `heartguard duty`)."""
    found: list[str] = []
    for block in FENCE.findall(text):
        lines = [line.strip() for line in block.splitlines()]
        found += [line for line in lines if line.startswith("heartguard ")]
    found += [f"@{command}" for command in INLINE.findall(text) if "…" not in command]
    return found


def _names_a_command(argv: list[str]) -> bool:
    """Whether the words are a path of (sub)command names, like ``students consent``."""
    current: argparse.ArgumentParser = build_parser()
    for word in argv:
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            return False
        current = sub.choices[word]
    return True


def _siblings(line: str) -> list[str]:
    """``heartguard db upgrade | current`` → both commands (pipes with spaces around them)."""
    line = re.sub(r"\s+# .*$", "", line).split(" < ")[0].strip()
    parts = [p.strip() for p in line.split(" | ")]
    prefix = parts[0].rsplit(" ", 1)[0]
    return [parts[0], *(f"{prefix} {p}" for p in parts[1:])]


def _variants(line: str) -> list[list[str]]:
    """The argument lists a written command stands for."""
    words = shlex.split(line)[1:]
    with_optional: list[str] = []
    without: list[str] = []
    depth = 0
    for word in words:
        opens, closes = word.count("["), word.count("]")
        bare = word.replace("[", "").replace("]", "")
        if bare:
            with_optional.append(bare)
            if depth == 0 and not opens:
                without.append(bare)
        depth += opens - closes
    out = []
    for argv in (without, with_optional):
        argv = [PLACEHOLDERS.get(w, w) for w in argv]
        choices = [w.split("|") if "|" in w and "://" not in w else [w] for w in argv]
        out += [list(combo) for combo in itertools.product(*choices)]
    return out


def _all() -> list[tuple[str, str]]:
    cases = []
    for name in READMES:
        path = ROOT / name
        if not path.exists():
            continue
        for line in _commands(path.read_text(encoding="utf-8")):
            cases += [(name, command) for command in _siblings(line)]
    return sorted(set(cases))


def test_both_readmes_exist_and_show_commands() -> None:
    for name in READMES:
        assert len(_commands((ROOT / name).read_text(encoding="utf-8"))) > 40, name


@pytest.mark.parametrize(("readme", "command"), _all())
def test_every_readme_command_parses(
    readme: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    inline = command.startswith("@")
    for argv in _variants(command.removeprefix("@")):
        if inline and _names_a_command(argv):
            continue
        arranged = arrange(parser, argv)
        assert not arranged.json_refused, f"{readme}: {command}"
        try:
            args = parser.parse_args(arranged.argv)
        except SystemExit:
            pytest.fail(f"{readme}: `{command}` as {argv}: {capsys.readouterr().err.strip()}")
        assert getattr(args, "handler", None) is not None, f"{readme}: {command}"


def test_every_make_target_the_readmes_name_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w.-]*):", makefile, re.M))
    for name in READMES:
        text = (ROOT / name).read_text(encoding="utf-8")
        for inline, block in re.findall(r"`make ([a-z]+)`|^make ([a-z]+)", text, re.M):
            assert (inline or block) in targets, f"{name}: make {inline or block}"
