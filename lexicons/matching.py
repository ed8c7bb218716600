"""Finding lexicon hits in normalised text: Aho–Corasick, word boundaries, suppressors."""

from __future__ import annotations

import bisect
import logging
import re
import threading
from dataclasses import dataclass

import jieba

from core.vocabulary import RiskLevel
from lexicons.lexicon import Entry, Lexicon
from lexicons.normalize import CLAUSE_BREAKS, is_latin
from lexicons.route import Route

# Counted doses: 三十多片, 40颗, 两板, 20 pills. A number with a pill word is a quantity.
_QUANTITY = re.compile(
    r"(?:[1-9]\d+|[二三四五六七八九几]?十[一二三四五六七八九几]?|[一二两三四五六七八九]?百)\s*多?\s*"
    r"(?:片|颗|粒|板|盒|瓶|包)"
    r"|\b(?:[1-9]\d+|a dozen|dozens of|twenty|thirty|forty|fifty|a hundred)\s+"
    r"(?:pills|tablets|capsules|of them)\b"
)
# ^ Ten or more: two cold tablets are a normal dose, thirty are not.
# Every count above ends in one of these units: without one, the full pattern is not tried.
_QUANTITY_UNIT = re.compile(r"[片颗粒板盒瓶包]|pills|tablets|capsules|of them")
# After a degree-complement 死 (累死, 难死) these show it is hyperbole, not a death wish.
_DEGREE_TAIL = ("了", "我了", "人了", "啦", "啊", "掉了", "个人", "你了", "他了", "她了")


@dataclass(frozen=True, slots=True)
class Hit:
    """One lexicon entry found at [start, end) of the normalised text."""

    start: int
    end: int
    entry: Entry
    clause: int

    @property
    def category(self) -> str:
        """The entry's category."""
        return self.entry.category

    @property
    def level(self) -> RiskLevel | None:
        """The entry's level (None for cues and suppressors)."""
        return self.entry.level

    @property
    def length(self) -> int:
        """Span length in normalised characters."""
        return self.end - self.start


class Segmenter:
    """jieba with the lexicon's phrases as a user dictionary, loaded once, thread-safe."""

    def __init__(self, phrases: tuple[str, ...]) -> None:
        self._phrases = phrases
        self._route: Route | None = None
        self._lock = threading.Lock()

    def _ready(self) -> Route:
        if self._route is None:
            with self._lock:
                if self._route is None:
                    logging.getLogger("jieba").setLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for phrase in self._phrases:
                        tokenizer.add_word(phrase, freq=2000)
                    # jieba's dictionary, walked by our own route (the same tokens, cheaper).
                    self._route = Route(tokenizer.FREQ, tokenizer.total)
        return self._route

    def warm_up(self) -> None:
        """Load the dictionary now rather than on the first message."""
        self._ready()

    def token_bounds(self, text: str, offset: int = 0) -> set[tuple[int, int]]:
        """(start, end) of every token. HMM off: new-word guessing would glue 难死 together."""
        return self._ready().bounds(text, offset)


# A clause ends at CJK or latin clause punctuation, and at a full stop before a space or the end.
_CLAUSE_END = re.compile("[" + re.escape("".join(sorted(CLAUSE_BREAKS))) + r"]|\.(?= |\Z)")


def clause_starts(text: str) -> list[int]:
    """Start offsets of clauses: split at CJK and latin clause punctuation."""
    return [0, *(m.end() for m in _CLAUSE_END.finditer(text))]


class Matcher:
    """Turns normalised text into the hits that survive boundaries and suppressors."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.segmenter = Segmenter(lexicon.zh_phrases)
        self._single = lexicon.single_char_patterns

    def hits(self, text: str) -> list[Hit]:
        """All surviving hits, ordered by position."""
        return self.scan(text)[0]

    def scan(self, text: str) -> tuple[list[Hit], list[Hit]]:
        """The surviving hits, and the suppressors (idioms, collisions) that silenced others."""
        if not text:
            return [], []
        starts = clause_starts(text)
        raw: list[Hit] = []
        needs_tokens: set[int] = set()
        # One-character degree heads (累, 难, 笑 …) only matter beside 死 (累死了); without
        # one they would send nearly every clause through jieba for nothing.
        heads_matter = "死" in text
        for end_index, (pattern, entries) in self.lexicon.automaton.iter(text):
            start = end_index - len(pattern) + 1
            end = end_index + 1
            if entries[0].latin and _cuts_latin_word(text, start, end):
                continue
            clause = bisect.bisect_right(starts, start) - 1
            single = pattern in self._single
            added = False
            for entry in entries:
                if single and not heads_matter and entry.category == "degree_head":
                    continue
                raw.append(Hit(start, end, entry, clause))
                added = True
            if single and added:
                needs_tokens.add(clause)
        counted = _QUANTITY_UNIT.search(text) is not None
        if not raw and not (counted and _QUANTITY.search(text)):
            return [], []
        if needs_tokens:
            # Segment only the clauses that need it; clause punctuation ends words anyway.
            bounds: set[tuple[int, int]] = set()
            edges = [*starts, len(text) + 1]
            for clause in needs_tokens:
                begin, end = edges[clause], edges[clause + 1] - 1
                bounds |= self.segmenter.token_bounds(text[begin : max(begin, end)], begin)
            raw = [
                h for h in raw if h.entry.pattern not in self._single or (h.start, h.end) in bounds
            ]
        raw.extend(_degree_complements(text, raw))
        if counted:
            raw.extend(_quantities(text, starts))
        suppressors = [h for h in raw if h.category in ("idiom", "collision")]
        return _resolve(raw), suppressors


def _cuts_latin_word(text: str, start: int, end: int) -> bool:
    before = start > 0 and (is_latin(text[start - 1]) or text[start - 1].isdigit())
    after = end < len(text) and (is_latin(text[end]) or text[end].isdigit())
    return before or after


def _degree_complements(text: str, hits: list[Hit]) -> list[Hit]:
    """Synthetic idiom spans for 累死了 / 难死我了 / 死贵: 死 as a degree complement."""
    if "死" not in text:
        return []
    heads = {h.end: h for h in hits if h.category == "degree_head"}
    head_starts = {h.start: h for h in hits if h.category == "degree_head"}
    out: list[Hit] = []
    for index, ch in enumerate(text):
        if ch != "死":
            continue
        head = heads.get(index)
        if head is not None:
            tail = text[index + 1 : index + 3]
            at_end = index + 1 >= len(text) or text[index + 1] in CLAUSE_BREAKS
            if at_end or tail.startswith(_DEGREE_TAIL) or text[index + 1 : index + 2] == " ":
                end = index + 1
                for suffix in _DEGREE_TAIL:
                    if text.startswith(suffix, index + 1):
                        end = index + 1 + len(suffix)
                        break
                out.append(_synthetic(head.start, end, head.clause, "degree complement X死了"))
                continue
        after = head_starts.get(index + 1)
        if after is not None and text[after.end : after.end + 1] in ("了", "啊", "啦", ""):
            # 死贵 / 死沉了: 死 in front as an intensifier.
            out.append(_synthetic(index, after.end, after.clause, "degree intensifier 死X"))
    return out


def _quantities(text: str, starts: list[int]) -> list[Hit]:
    return [
        _synthetic(
            m.start(),
            m.end(),
            bisect.bisect_right(starts, m.start()) - 1,
            "counted dose",
            category="quantity",
            source="rule:quantity",
        )
        for m in _QUANTITY.finditer(text)
    ]


def synthetic(text: str, start: int, end: int, note: str, category: str) -> Hit:
    """A hit for a span a rule found by pattern (a count, a dose), so evidence can show it."""
    clause = bisect.bisect_right(clause_starts(text), start) - 1
    return _synthetic(start, end, clause, note, category=category, source=f"rule:{category}")


def _synthetic(
    start: int,
    end: int,
    clause: int,
    note: str,
    *,
    category: str = "idiom",
    source: str = "rule:degree_complement",
) -> Hit:
    entry = Entry(pattern="", category=category, level=None, notes=note, lang="zh", source=source)
    return Hit(start, end, entry, clause)


class _Spans:
    """The spans of some hits, sorted by start, to ask which other spans they contain.

    A sweep (the furthest end reached by the spans starting at or before each point) answers
    each question with two binary searches, where looking back over every earlier start
    costs the length of the longest entry per hit.
    """

    def __init__(self, hits: list[Hit]) -> None:
        spans = sorted((h.start, h.end) for h in hits)
        self._starts = [start for start, _ in spans]
        self._reach = [-1]  # _reach[k]: the furthest end among the first k spans
        for _, end in spans:
            self._reach.append(max(self._reach[-1], end))

    def cover(self, hit: Hit) -> bool:
        """Whether a span contains ``hit``'s (its own span, if listed, included)."""
        return self._reach[bisect.bisect_right(self._starts, hit.start)] >= hit.end

    def cover_longer(self, hit: Hit) -> bool:
        """Whether a longer span contains ``hit``'s (``hit`` among the listed spans)."""
        before = self._reach[bisect.bisect_left(self._starts, hit.start)]
        # Starting earlier and reaching its end is longer; starting with it, it must end later.
        return (
            before >= hit.end or self._reach[bisect.bisect_right(self._starts, hit.start)] > hit.end
        )


def _resolve(hits: list[Hit]) -> list[Hit]:
    """Drop hits inside suppressors, and cues or risks inside a longer hit (maximal munch)."""
    if not hits:
        return []
    covering = [h for h in hits if h.category in ("idiom", "collision")]
    kept = [h for h in hits if h.category not in ("idiom", "collision")]
    if covering:
        suppressors = _Spans(covering)
        kept = [h for h in kept if not suppressors.cover(h)]
    if not kept:
        return []
    # A cue inside a longer cue is part of it (我 in 我朋友); a cue inside a risk entry still
    # counts (多少 in 多少片安眠药 is still a question). A risk entry inside a longer risk
    # entry is the same signal said less fully.
    cues = _Spans([h for h in kept if h.level is None])
    risks = _Spans([h for h in kept if h.level is not None])
    out = [h for h in kept if not (cues if h.level is None else risks).cover_longer(h)]
    out.sort(key=lambda h: (h.start, -h.length, h.category))
    return _leftmost_risks(out)


_SELF_HARM_READINGS = frozenset({"active_ideation", "passive_ideation", "self_harm", "attempt"})


def _leftmost_risks(hits: list[Hit]) -> list[Hit]:
    """A threat to others that needs the second half of a suicide word is a misreading.

    自杀了他们 reads as 自杀 + 了他们 (what they would feel), never as 自 + 杀了他们.
    """
    threats = sorted((h for h in hits if h.category == "violence_to_others"), key=lambda h: h.start)
    if not threats:
        return hits
    starts = [h.start for h in threats]
    dropped = set()
    for earlier in hits:
        if earlier.category not in _SELF_HARM_READINGS:
            continue
        first = bisect.bisect_right(starts, earlier.start)
        for later in threats[first : bisect.bisect_left(starts, earlier.end)]:
            if earlier.end < later.end:
                dropped.add(id(later))
    return [h for h in hits if id(h) not in dropped] if dropped else hits


# A word, for distances: one CJK character, or a run of latin letters and digits.
_WORD = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002a6df]|[a-z0-9]+")


# Rules only ask whether two spans are a few words apart; past this many, "far" is enough.
_FAR = 16


def gap(text: str, end: int, start: int) -> int:
    """Distance between two spans in words: CJK characters plus latin words in between.

    Counting stops past ``_FAR`` words, so a far pair in a long clause costs no more than a
    near one.
    """
    count = 0
    if start > end:
        for count, _ in enumerate(_WORD.finditer(text, end, start), start=1):
            if count > _FAR:
                break
    return count
