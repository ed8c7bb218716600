"""Loading and compiling the lexicon data in ``lexicons/data``."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import ahocorasick

from core.errors import HeartGuardError
from core.vocabulary import RISK_CATEGORIES, RiskLevel
from lexicons.cues import ALL_CATEGORIES, RULE_ONLY
from lexicons.normalize import Normalizer, is_cjk

DATA_DIR = Path(__file__).with_name("data")
LANGUAGES = ("zh", "en")
HEADER = ["pattern", "category", "level", "notes"]
SLANG_HEADER = ["from", "to", "notes"]
CODE_VERSION = "1.0"
# Function words the spelled-out-word splitter needs beyond the lexicon's own words.
BASE_WORDS = frozenset(
    {"i", "a", "am", "is", "are", "was", "be", "to", "the", "my", "me", "you", "he", "she", "it",
     "we", "they", "and", "or", "but", "so", "not", "no", "do", "want", "wanna", "going", "gonna",
     "will", "would", "just", "all", "of", "on", "at", "in", "up", "off", "out", "now"}
)  # fmt: skip


class LexiconError(HeartGuardError, ValueError):
    """A lexicon file is malformed; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class Entry:
    """One lexicon line."""

    pattern: str
    category: str
    level: RiskLevel | None
    notes: str
    lang: str
    source: str
    # True for entries matched on whole latin words (computed once; checked per hit).
    latin: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latin", not any(is_cjk(ch) for ch in self.pattern))


def _rows(path: Path, header: list[str]) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    rows: list[tuple[int, list[str]]] = []
    seen_header = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if not seen_header:
            if fields != header:
                raise LexiconError(f"{path}:{number}: expected the header {chr(9).join(header)!r}")
            seen_header = True
            continue
        if len(fields) != len(header):
            raise LexiconError(
                f"{path}:{number}: expected {len(header)} tab-separated fields, got {len(fields)}"
            )
        rows.append((number, fields))
    if not seen_header:
        raise LexiconError(f"{path}: empty file, expected the header line")
    return rows


def _entry(path: Path, number: int, fields: list[str], lang: str) -> Entry:
    pattern, category, level_text, notes = (f.strip() for f in fields)
    where = f"{path}:{number}"
    if not pattern:
        raise LexiconError(f"{where}: empty pattern")
    if pattern != pattern.casefold() or "  " in pattern:
        raise LexiconError(f"{where}: pattern {pattern!r} must be lower case with single spaces")
    if category not in ALL_CATEGORIES or category in RULE_ONLY:
        raise LexiconError(f"{where}: unknown category {category!r}")
    level: RiskLevel | None = None
    if category in RISK_CATEGORIES:
        try:
            level = RiskLevel.parse(level_text)
        except KeyError:
            raise LexiconError(
                f"{where}: level {level_text!r}: expected low, moderate, high or imminent"
            ) from None
        if level is RiskLevel.NONE:
            raise LexiconError(f"{where}: a risk entry cannot have level none")
    elif level_text != "-":
        raise LexiconError(f"{where}: a {category} entry takes level '-', got {level_text!r}")
    return Entry(pattern, category, level, notes, lang, f"{path.name}:{number}")


class Lexicon:
    """Every entry, the slang map, and the compiled matchers."""

    def __init__(self, entries: list[Entry], slang: dict[str, str], digest: str) -> None:
        self.entries = entries
        self.slang = slang
        self.version = f"{CODE_VERSION}+{digest[:10]}"
        by_pattern: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            by_pattern[entry.pattern].append(entry)
        self.automaton = ahocorasick.Automaton()
        for pattern, group in by_pattern.items():
            self.automaton.add_word(pattern, (pattern, tuple(group)))
        if by_pattern:
            self.automaton.make_automaton()
        words = {w for e in entries if e.latin for w in e.pattern.split()}
        words |= {w for s, t in slang.items() for w in (*s.split(), *t.split()) if s.isascii()}
        self.normalizer = Normalizer(slang, words | BASE_WORDS)

    @cached_property
    def single_char_patterns(self) -> frozenset[str]:
        """Chinese patterns of one character, which only count as whole jieba tokens."""
        return frozenset(e.pattern for e in self.entries if len(e.pattern) == 1 and not e.latin)

    @cached_property
    def pattern_levels(self) -> dict[str, int]:
        """The most serious level of each risk pattern (for scanning long messages)."""
        out: dict[str, int] = {}
        for entry in self.entries:
            if entry.level is not None:
                out[entry.pattern] = max(out.get(entry.pattern, 0), int(entry.level))
        return out

    @cached_property
    def zh_phrases(self) -> tuple[str, ...]:
        """Chinese multi-character patterns, for jieba's user dictionary."""
        return tuple(
            sorted({e.pattern for e in self.entries if not e.latin and len(e.pattern) > 1})
        )


def load_lexicon(directory: Path = DATA_DIR) -> Lexicon:
    """Read, validate and compile every lexicon file under ``directory``.

    Raises:
        LexiconError: naming the file, the line and the reason.
    """
    digest = hashlib.sha256()
    entries: list[Entry] = []
    seen: dict[tuple[str, str], str] = {}
    for lang in LANGUAGES:
        for path in sorted((directory / lang).glob("*.tsv")):
            digest.update(path.read_bytes())
            for number, fields in _rows(path, HEADER):
                entry = _entry(path, number, fields, lang)
                key = (entry.pattern, entry.category)
                if key in seen:
                    # Duplicates are harmless to matching; keep the first and say so once.
                    logging.getLogger(__name__).debug(
                        "duplicate %s entry at %s (first at %s)",
                        entry.category,
                        entry.source,
                        seen[key],
                    )
                    continue
                seen[key] = entry.source
                entries.append(entry)
    slang: dict[str, str] = {}
    slang_path = directory / "slang.tsv"
    if slang_path.exists():
        digest.update(slang_path.read_bytes())
        for number, fields in _rows(slang_path, SLANG_HEADER):
            source, target = fields[0].strip(), fields[1].strip()
            if not source or not target:
                raise LexiconError(f"{slang_path}:{number}: empty from or to")
            slang[source.casefold()] = target
    if not entries:
        raise LexiconError(f"{directory}: no lexicon entries found")
    return Lexicon(entries, slang, digest.hexdigest())
