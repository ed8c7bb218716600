"""Text normalisation for the detector, with a map back to what the student wrote.

Steps, in order: NFKC (full width → half width), case folding, Traditional → Simplified,
zero-width and control characters removed, spacers removed inside spelled-out words
(自 杀, 自.杀, w a n t t o d i e), leetspeak (d1e, k1ll), repeated characters squashed, and
a slang map (紫砂 → 自杀, kms → kill myself). Every output character remembers the span of
input characters it came from, so evidence can quote the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
import opencc

# One output character and the input span [start, end) it came from.
Piece = tuple[str, int, int]

ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\u00ad")
# Characters students put between the characters of a word to dodge filters.
SPACERS = frozenset(" \t.-_*·•~/\\|+^'\"`=#")
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
CLAUSE_BREAKS = frozenset("。！？!?；;，,\n…")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
# Text with only these characters needs no per-character folding (case aside).
_PLAIN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9 ，。！？、：；,.!?:;'\"()（）\n-]*")
_PLAIN_HAN = re.compile(r"[\u4e00-\u9fff]")
_FULL_WIDTH_PAIRS = tuple(zip("，！？：；（）", ",!?:;()", strict=True))
# Places where a spacer could sit inside a word: 自 杀, 自.杀, w a n t.
_SPACED = re.compile(
    r"[\u3400-\u9fff][ \t.\-_*·•~/\\|+^'\"`=#]{1,3}[\u3400-\u9fff]"
    r"|(?<![a-z])[a-z][ \t.\-_*·•~/\\|+^'\"`=#]{1,3}[a-z](?![a-z])"
)
_LEET_OR_STRETCH = re.compile(r"[a-z][0-9@$!]|[0-9@$!][a-z]|([a-z])\1\1")
_REPEAT = re.compile(r"(.)\1\1")
_LATIN_TOKEN = re.compile(r"[a-z0-9@$!]+")


# The characters ``is_cjk`` accepts, to find one in a whole text at once.
_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df]")


def is_cjk(ch: str) -> bool:
    """True for CJK unified ideographs (and the extension blocks students actually hit)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF


def is_latin(ch: str) -> bool:
    """ASCII letters after folding."""
    return "a" <= ch <= "z"


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, per character, the original span it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) back to the original text."""
        if start >= end or not self.text:
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def t2s(text: str) -> str:
    """Traditional → Simplified, whole text (lengths may change; for scanning only)."""
    return str(_t2s().convert(text))


def _fold_char(ch: str) -> str:
    """What one character folds to: "" to drop it, " " for a separator, else its text."""
    if ch in ZERO_WIDTH:
        return ""
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
        # Control characters and lone surrogates separate words; they never join them.
        return ch if ch == "\n" else " "
    folded = unicodedata.normalize("NFKC", ch).casefold().translate(_QUOTES)
    # Combining marks (zalgo text, accents) carry no meaning here.
    return "".join(c for c in folded if unicodedata.category(c) != "Mn" or c in "\u3099\u309a")


_FOLDED: dict[str, str] = {}


def _fold(text: str) -> list[Piece]:
    """NFKC and case folding, per character so spans survive expansions (㎏ → kg)."""
    if _PLAIN.fullmatch(text) and unicodedata.is_normalized("NFKC", text):
        # The common case: nothing to fold but case, which never changes length here.
        folded = text.lower()
        return [(ch, i, i + 1) for i, ch in enumerate(folded)]
    pieces: list[Piece] = []
    cache = _FOLDED
    for index, ch in enumerate(text):
        out = cache.get(ch)
        if out is None:
            out = _fold_char(ch)
            if len(cache) < 65536:
                cache[ch] = out
        for part in out:
            pieces.append((part, index, index + 1))
    return pieces


def _simplify(pieces: list[Piece]) -> list[Piece]:
    """Traditional → Simplified with OpenCC, kept one-to-one with the input pieces."""
    text = "".join(p[0] for p in pieces)
    if not _CJK.search(text):
        return pieces
    converted = _t2s().convert(text)
    if len(converted) == len(text):
        return [(c, s, e) for c, (_, s, e) in zip(converted, pieces, strict=True)]
    # Phrase conversion changed a length: fall back to character by character.
    t2s = _t2s()
    return [(t2s.convert(c) if is_cjk(c) else c, s, e) for c, s, e in pieces]


def _drop_spacers(pieces: list[Piece], vocabulary: frozenset[str]) -> list[Piece]:
    """Remove spacer runs inside 自 杀 / 自.杀, and rejoin spelled-out latin words."""
    if not _SPACED.search("".join(p[0] for p in pieces)):
        return pieces
    out: list[Piece] = []
    n = len(pieces)
    i = 0
    while i < n:
        ch = pieces[i][0]
        if is_latin(ch) and (i == 0 or not is_latin(pieces[i - 1][0])):
            letters, j = _spelled_run(pieces, i)
            if len(letters) >= 4:
                out.extend(_rejoin(letters, vocabulary))
                i = j
                continue
        if ch in SPACERS and out:
            j = i
            while j < n and pieces[j][0] in SPACERS:
                j += 1
            prev = out[-1][0]
            nxt = pieces[j][0] if j < n else ""
            if j - i <= 3 and is_cjk(prev) and nxt and is_cjk(nxt):
                i = j
                continue
            # Otherwise the run stays as written: ". " still ends a sentence, and runs of
            # spaces are collapsed later.
            out.extend(pieces[i:j])
            i = j
            continue
        out.append(pieces[i])
        i += 1
    return out


def _spelled_run(pieces: list[Piece], i: int) -> tuple[list[Piece], int]:
    """Single letters separated by one or two spacers: "w a n t", "s.u.i.c.i.d.e"."""
    letters: list[Piece] = []
    n = len(pieces)
    after = i
    while i < n and is_latin(pieces[i][0]) and (i + 1 >= n or not is_latin(pieces[i + 1][0])):
        letters.append(pieces[i])
        after = i + 1
        j = i + 1
        while j < n and j - i <= 3 and pieces[j][0] in SPACERS:
            j += 1
        if j == i + 1 or j >= n or not is_latin(pieces[j][0]):
            break
        i = j
    # Resume right after the last letter, so the spacer before the next word survives.
    return letters, after


def _rejoin(letters: list[Piece], vocabulary: frozenset[str]) -> list[Piece]:
    """Glue spelled-out letters back together, with spaces where known words split."""
    word = "".join(p[0] for p in letters)
    split = _word_break(word, vocabulary) or [word]
    out: list[Piece] = []
    pos = 0
    for n, part in enumerate(split):
        if n:
            out.append((" ", letters[pos][1], letters[pos][1]))
        out.extend(letters[pos : pos + len(part)])
        pos += len(part)
    return out


def _word_break(word: str, vocabulary: frozenset[str]) -> list[str] | None:
    """Fewest-words split of ``word`` into vocabulary words, or None."""
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 12), end):
            head = best[start]
            if head is not None and word[start:end] in vocabulary:
                candidate = [*head, word[start:end]]
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)]


def _leet_and_repeats(pieces: list[Piece], vocabulary: frozenset[str]) -> list[Piece]:
    """Undo leetspeak and stretched letters inside latin tokens, checked against vocabulary."""
    text = "".join(p[0] for p in pieces)
    if not _LEET_OR_STRETCH.search(text):
        return pieces
    out: list[Piece] = []
    last = 0
    for match in _LATIN_TOKEN.finditer(text):
        token = match.group()
        fixed = _fix_token(token, vocabulary)
        if fixed is None:
            continue
        out.extend(pieces[last : match.start()])
        span = pieces[match.start() : match.end()]
        # A fixed token is never longer than the original; map each char to its source.
        for n, ch in enumerate(fixed):
            source = span[min(n, len(span) - 1)]
            out.append((ch, source[1], source[2] if n < len(fixed) - 1 else span[-1][2]))
        last = match.end()
    out.extend(pieces[last:])
    return out


def _fix_token(token: str, vocabulary: frozenset[str]) -> str | None:
    if token in vocabulary or token.isdigit():
        return None
    candidates = []
    has_letter = any(is_latin(c) for c in token)
    if has_letter and any(c in LEET for c in token):
        candidates.append("".join(LEET.get(c, c) for c in token))
    else:
        candidates.append(token)
    for candidate in list(candidates):
        if re.search(r"(.)\1\1", candidate):
            candidates.append(re.sub(r"(.)\1{2,}", r"\1\1", candidate))
            candidates.append(re.sub(r"(.)\1{2,}", r"\1", candidate))
    for candidate in candidates:
        if candidate != token and candidate in vocabulary:
            return candidate
    squashed = re.sub(r"(.)\1{2,}", r"\1\1", token) if has_letter else token
    return squashed if squashed != token else None


def _squash_cjk(pieces: list[Piece]) -> list[Piece]:
    """哈哈哈哈 → 哈哈, 死死死死 → 死死: a run of three or more becomes two."""
    if not _REPEAT.search("".join(p[0] for p in pieces)):
        return pieces
    out: list[Piece] = []
    for piece in pieces:
        if (
            len(out) >= 2
            and out[-1][0] == piece[0] == out[-2][0]
            and (is_cjk(piece[0]) or piece[0] in "!?.。！？~ ")
        ):
            out[-1] = (out[-1][0], out[-1][1], piece[2])
            continue
        out.append(piece)
    return out


class SlangMap:
    """Leftmost-longest replacement of slang, homophones and contractions.

    An entry that maps a phrase to itself protects it: 紫砂壶 stays a teapot because it is
    longer than 紫砂. Latin entries only match whole words.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for source, target in mapping.items():
            if target.isascii() and not source.isascii():
                target = f" {target} "  # 🌉👋 → " bridge  bye ": words of their own
            self._automaton.add_word(source, (len(source), target))
        self._empty = not mapping
        if not self._empty:
            self._automaton.make_automaton()

    def matches(self, text: str) -> bool:
        """Whether any slang entry (protected or not) occurs in ``text``."""
        if self._empty:
            return False
        for end, (length, _target) in self._automaton.iter(text):
            if not _latin_edge(text, end - length + 1, end + 1):
                return True
        return False

    def apply(self, pieces: list[Piece]) -> list[Piece]:
        """Replace matches, keeping each replacement tied to the span it replaced."""
        if self._empty:
            return pieces
        text = "".join(p[0] for p in pieces)
        found: list[tuple[int, int, str]] = []
        for end, (length, target) in self._automaton.iter(text):
            start = end - length + 1
            if _latin_edge(text, start, end + 1):
                continue
            found.append((start, end + 1, target))
        if not found:
            return pieces
        # Leftmost, then longest, non-overlapping.
        found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
        out: list[Piece] = []
        pos = 0
        for start, end, target in found:
            if start < pos:
                continue
            out.extend(pieces[pos:start])
            begin, finish = pieces[start][1], pieces[end - 1][2]
            out.extend((ch, begin, finish) for ch in target)
            pos = end
        out.extend(pieces[pos:])
        return out


def _latin_edge(text: str, start: int, end: int) -> bool:
    """True when a match would cut a latin word (or a code like ZS32Z) in two."""

    def word(ch: str) -> bool:
        return is_latin(ch) or ch.isdigit()

    inner_left, inner_right = text[start], text[end - 1]
    left = start > 0 and word(text[start - 1]) and is_latin(inner_left)
    right = end < len(text) and word(text[end]) and is_latin(inner_right)
    return left or right


def _collapse_spaces(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if piece[0].isspace() and piece[0] != "\n":
            piece = (" ", piece[1], piece[2])
            if not out or out[-1][0] == " ":
                continue
        out.append(piece)
    while out and out[-1][0].isspace():
        out.pop()
    start = 0
    while start < len(out) and out[start][0].isspace():
        start += 1
    return out[start:]


class Normalizer:
    """The full normalisation pipeline, configured with the lexicon's vocabulary and slang."""

    def _quick(self, text: str) -> Normalized | None:
        """Most messages need nothing but case and script: map them one to one, no pieces.

        Returns None when any other step could change the text, so the full pipeline runs.
        """
        # Full-width punctuation NFKC maps one to one; everything else must already be stable.
        for wide, narrow in _FULL_WIDTH_PAIRS:  # a few replaces beat a translate table here
            if wide in text:
                text = text.replace(wide, narrow)
        if not text or not _PLAIN.fullmatch(text):
            return None
        folded = text.lower()
        if (
            not unicodedata.is_normalized("NFKC", text)
            or _SPACED.search(folded)
            or _LEET_OR_STRETCH.search(folded)
            or _REPEAT.search(text)
            or "  " in text
            or text[0].isspace()
            or text[-1].isspace()
        ):
            return None
        if _PLAIN_HAN.search(folded):  # the only CJK characters _PLAIN lets through
            converted = _t2s().convert(folded)
            if len(converted) != len(folded):
                return None
            folded = converted
        if self.slang.matches(folded):
            return None
        length = len(folded)
        return Normalized(folded, tuple(range(length)), tuple(range(1, length + 1)))

    def __init__(self, slang: Mapping[str, str], vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.slang = SlangMap(slang)
        self._steps: tuple[Callable[[list[Piece]], list[Piece]], ...] = (
            _simplify,
            lambda p: _drop_spacers(p, self.vocabulary),
            lambda p: _leet_and_repeats(p, self.vocabulary),
            _squash_cjk,
            self.slang.apply,
            _collapse_spaces,
        )

    def __call__(self, text: str) -> Normalized:
        """Normalise ``text``."""
        quick = self._quick(text)
        if quick is not None:
            return quick
        pieces = _fold(text)
        for step in self._steps:
            pieces = step(pieces)
        return Normalized(
            "".join(p[0] for p in pieces),
            tuple(p[1] for p in pieces),
            tuple(p[2] for p in pieces),
        )
