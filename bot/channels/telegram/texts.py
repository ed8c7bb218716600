"""The Telegram channel's own texts (``texts.toml``): keyed, in Chinese and English."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


class _KeepMissing(dict[str, str]):
    # An unknown placeholder stays visible rather than failing while a student waits.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _strings(table: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in table.items() if isinstance(v, str)}


@dataclass(frozen=True)
class Texts:
    """Student texts per language, command descriptions, and bilingual counselor texts."""

    student_texts: Mapping[str, Mapping[str, str]]
    command_texts: Mapping[str, Mapping[str, str]]
    counselor_texts: Mapping[str, str]
    action_labels: Mapping[str, str]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Texts:
        """Build from the parsed TOML."""
        return cls(
            student_texts={lang: _strings(data[lang]) for lang in LANGUAGES},
            command_texts={lang: dict(data[lang]["commands"]) for lang in LANGUAGES},
            counselor_texts=_strings(data["counselor"]),
            action_labels=dict(data["counselor"]["actions"]),
        )

    def student(self, key: str, language: str | None, **params: str) -> str:
        """A student text in their language (Chinese when unknown)."""
        lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
        return self.student_texts[lang][key].format_map(_KeepMissing(params))

    def counselor(self, key: str, **params: object) -> str:
        """A bilingual counselor text."""
        return self.counselor_texts[key].format_map(
            _KeepMissing({k: str(v) for k, v in params.items()})
        )

    def commands(self, language: str) -> list[tuple[str, str]]:
        """(command, description) pairs for the command menu, in catalog order."""
        return list(self.command_texts[language].items())

    def action(self, action: str) -> str:
        """The button label of a case action."""
        return self.action_labels.get(action, action)


@cache
def load_texts() -> Texts:
    """The packaged texts, read once."""
    raw = (
        resources.files("bot.channels.telegram").joinpath("texts.toml").read_text(encoding="utf-8")
    )
    return Texts.parse(tomllib.loads(raw))


def language_of(code: str | None) -> str:
    """Our language for a Telegram ``language_code`` (zh unless it is English)."""
    return "en" if code and code.lower().startswith("en") else DEFAULT_LANGUAGE
