"""Student-facing text, keyed by id, one TOML file per language.

A catalog file (``flows/catalogs/zh.toml``) nests tables; keys are flattened with dots, so
``[checkin.mood] q = "…"`` is the text id ``checkin.mood.q``. The top-level ``[aliases]`` table
holds extra phrasings a student may type for an option or a command (``aliases.opt.yes``,
``aliases.command.cancel``); they are matched, never shown.

Placeholders use ``str.format`` syntax (``{resources}``). The engine fills the ones it knows
in :attr:`flows.effects.Reply.params`; the caller adds :data:`CALLER_PARAMS` from config.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType

from flows.errors import DefinitionError

# Placeholders the caller fills from configuration: the crisis lines (``resources``: the whole
# list, formatted for the language; ``police`` and ``ambulance``: the numbers to call in danger
# now; ``talk_lines``: the lines to talk to, with their hours) and the safety-record retention.
# ``alerted``: who the green channel reached just now (a crisis); ``followup``: who will follow
# up a routine case. The caller renders them from what the roster can actually do, so a text
# never promises a counselor who cannot be reached (see escalation.coverage).
CALLER_PARAMS = frozenset(
    # name, colleague and text: who took over the chat and what they wrote (takeover.*).
    {
        "resources",
        "police",
        "ambulance",
        "talk_lines",
        "retention",
        "alerted",
        "followup",
        "name",
        "colleague",
        "text",
    }
)

DEFAULT_LANGUAGE = "zh"
_ALIASES = "aliases"


class _KeepMissing(dict[str, str]):
    # Leaves an unknown placeholder visible instead of raising mid-conversation; flows check
    # makes sure every placeholder is known, so this only guards against caller mistakes.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(text: str) -> frozenset[str]:
    """The placeholder names used in ``text``."""
    try:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)
    except ValueError:
        return frozenset({"<malformed>"})


def _flatten(table: Mapping[str, object], prefix: str) -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def parse_catalog(text: str, source: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Parse one catalog file into (texts, aliases); ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DefinitionError(f"{source}: {err}") from None
    alias_table = data.pop(_ALIASES, {})
    texts: dict[str, str] = {}
    for key, value in _flatten(data, "").items():
        if not isinstance(value, str) or not value.strip():
            raise DefinitionError(f"{source}: {key}: expected a non-empty string")
        texts[key] = value
    aliases: dict[str, tuple[str, ...]] = {}
    for key, value in _flatten(alias_table, "").items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise DefinitionError(f"{source}: aliases.{key}: expected a list of strings")
        aliases[key] = tuple(value)
    return texts, aliases


@dataclass(frozen=True)
class Catalog:
    """Texts and aliases per language."""

    texts: Mapping[str, Mapping[str, str]]
    aliases: Mapping[str, Mapping[str, tuple[str, ...]]]
    default_language: str = DEFAULT_LANGUAGE

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages present, default first."""
        others = sorted(lang for lang in self.texts if lang != self.default_language)
        return (
            (self.default_language, *others)
            if self.default_language in self.texts
            else (tuple(others))
        )

    def has(self, text_id: str, language: str) -> bool:
        """Whether ``text_id`` exists in ``language``."""
        return text_id in self.texts.get(language, {})

    def text(self, text_id: str, language: str) -> str:
        """The raw text, falling back to the default language, then to the id itself."""
        for lang in (language, self.default_language):
            found = self.texts.get(lang, {}).get(text_id)
            if found is not None:
                return found
        return text_id

    def render(self, text_id: str, language: str, params: Mapping[str, str] | None = None) -> str:
        """The text with its placeholders filled."""
        return self.text(text_id, language).format_map(_KeepMissing(params or {}))

    def phrasings(self, text_id: str, alias_key: str | None = None) -> tuple[str, ...]:
        """Every way a student may write ``text_id``: its text in each language plus aliases."""
        key = alias_key or text_id
        found: list[str] = []
        for lang in self.languages:
            text = self.texts[lang].get(text_id)
            if text is not None:
                found.append(text)
            found.extend(self.aliases.get(lang, {}).get(key, ()))
        return tuple(found)

    def alias_list(self, key: str) -> tuple[str, ...]:
        """The aliases for ``key`` in every language (e.g. ``command.cancel``)."""
        return tuple(a for lang in self.languages for a in self.aliases.get(lang, {}).get(key, ()))


def catalogs_dir() -> Traversable:
    """The packaged ``flows/catalogs`` directory."""
    return resources.files("flows").joinpath("catalogs")


def load_catalog(directory: Traversable | None = None) -> Catalog:
    """Load every ``<language>.toml`` in ``directory`` (default: the packaged catalogs)."""
    folder = directory if directory is not None else catalogs_dir()
    texts: dict[str, Mapping[str, str]] = {}
    aliases: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".toml"):
            lang = item.name.removesuffix(".toml")
            lang_texts, lang_aliases = parse_catalog(item.read_text(encoding="utf-8"), item.name)
            texts[lang] = MappingProxyType(lang_texts)
            aliases[lang] = MappingProxyType(lang_aliases)
    if not texts:
        raise DefinitionError(f"{folder}: no catalogs found")
    return Catalog(texts=MappingProxyType(texts), aliases=MappingProxyType(aliases))
