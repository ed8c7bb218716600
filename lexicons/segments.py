"""Bounding the work on a long message: assess a few segments, chosen by a cheap scan.

The rules cost time per hit, and a message can be written to be nothing but hits. So a long
message is cut into segments at clause breaks, every segment is scanned cheaply for lexicon
patterns (one pass of the C automaton over a crudely folded copy), and only the most serious
few, always with the last one, get the full analysis. The result keeps the most serious
finding; a crisis at the end of a long message is never cut off.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lexicons.lexicon import Lexicon
from lexicons.normalize import CLAUSE_BREAKS, SPACERS, ZERO_WIDTH, t2s

# A message up to this long is analysed whole, exactly as written.
WHOLE = 400
# Longer messages: segments of at most this many characters …
SEGMENT = 150
# … of which at most this many are analysed in full.
CHOSEN = 3
# A clause longer than a segment is cut hard; the next segment repeats this much of it, so a
# phrase is never lost in the cut.
OVERLAP = 12
# Only the head and the tail of a huge message are scanned at all.
HEAD, TAIL = 4096, 12288

_CRUDE = str.maketrans(dict.fromkeys([*SPACERS, *ZERO_WIDTH], None))


@dataclass(frozen=True)
class Segment:
    """A span [start, end) of the original text."""

    start: int
    end: int


def split(text: str, size: int = SEGMENT) -> list[Segment]:
    """Cut ``text`` into segments of at most ``size`` characters, at clause breaks if any."""
    out: list[Segment] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = max((text.rfind(ch, start, end) for ch in CLAUSE_BREAKS), default=-1)
            if cut > start:
                end = cut + 1
                out.append(Segment(start, end))
                start = end
                continue
            out.append(Segment(start, end))
            start = end - OVERLAP
            continue
        out.append(Segment(start, end))
        break
    return out


def _scanned(text: str) -> list[Segment]:
    segments = split(text)
    if len(text) <= HEAD + TAIL:
        return segments
    return [s for s in segments if s.end <= HEAD or s.start >= len(text) - TAIL]


def choose(lexicon: Lexicon, text: str, k: int = CHOSEN) -> list[Segment]:
    """The segments of a long ``text`` worth the full analysis, in text order.

    Each segment is ranked by the most serious lexicon entry the crude scan finds in it (any
    slang or evasion counts as serious), then by how many it finds; the last segment is always
    kept.
    """
    segments = _scanned(text)
    if len(segments) <= k:
        return segments
    # One conversion for all segments: OpenCC's cost is mostly per call.
    folded = [text[s.start : s.end].lower().translate(_CRUDE) for s in segments]
    crude = t2s("\x00".join(folded)).split("\x00")
    if len(crude) != len(segments):  # a NUL inside the message: convert one by one
        crude = [t2s(part) for part in folded]
    joined = "\n".join(crude)
    offsets = [0]
    for part in crude:
        offsets.append(offsets[-1] + len(part) + 1)
    best = [0] * len(segments)
    count = [0] * len(segments)
    levels = lexicon.pattern_levels
    for end_index, (pattern, _entries) in lexicon.automaton.iter_long(joined):
        level = levels.get(pattern, 0)
        if level:
            index = bisect.bisect_right(offsets, end_index) - 1
            best[index] = max(best[index], level)
            count[index] += 1
    slang = lexicon.normalizer.slang
    for index, part in enumerate(crude):
        if not best[index] and slang.matches(part):
            best[index] = 2
    last = len(segments) - 1
    ranked = sorted(range(last), key=lambda i: (best[i], count[i], i), reverse=True)
    picked = sorted([*ranked[: k - 1], last])
    return [segments[i] for i in picked]
