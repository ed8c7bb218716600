"""jieba's accurate mode without HMM, reduced to the token bounds the matcher asks for.

jieba builds a dict of candidate words per position, then a dict of best routes through
generators and regex matches per token; on short messages that overhead is most of its time
and a large part of the detector's. This computes the same route from the same dictionary in
one backward pass (the same floating-point sums in the same order, the same tie-break), so
the bounds are exactly ``jieba.Tokenizer.tokenize(text, HMM=False)``'s. The equality is
tested against jieba itself on every corpus message and on random text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from math import log

# jieba's own block patterns (``re_han_default``, ``re_eng``): what it cuts with the dictionary,
# and the latin letters and digits whose one-character words it glues back together.
_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
# At most this many word scores are kept (a few MiB): a long-running process reading very
# varied text must not grow towards the whole dictionary.
_KEEP = 100_000
# A bare prefix's score: a distinct object, never compared as a number.
_PREFIX = float("nan")
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Route:
    """Token bounds over jieba's prefix dictionary (``FREQ``, with 0 for bare prefixes)."""

    def __init__(self, freq: Mapping[str, int], total: int) -> None:
        self._freq = freq
        self._logtotal = log(total)
        # Each dictionary word's score, kept once computed (at most _KEEP; text that is not
        # in the dictionary is never kept); a bare prefix scores _PREFIX.
        self._scores: dict[str, float] = {}

    def bounds(self, text: str, offset: int = 0) -> set[tuple[int, int]]:
        """(start, end) of every token of ``text``, shifted by ``offset``."""
        out: set[tuple[int, int]] = set()
        position = offset
        for index, block in enumerate(_HAN.split(text)):
            if index % 2:  # a captured block: cut with the dictionary
                self._cut(block, position, out)
            else:  # anything else: one token per character, "\r\n" as one
                i, n = 0, len(block)
                while i < n:
                    step = 2 if block.startswith("\r\n", i) else 1
                    out.add((position + i, position + i + step))
                    i += step
            position += len(block)
        return out

    def _cut(self, block: str, offset: int, out: set[tuple[int, int]]) -> None:
        ends = self._route(block)
        n = len(block)
        x = 0
        glued = -1  # start of a run of one-character latin words, glued into one token
        while x < n:
            y = ends[x]
            if y == x + 1 and block[x] in _ENG:
                if glued < 0:
                    glued = x
            else:
                if glued >= 0:
                    out.add((offset + glued, offset + x))
                    glued = -1
                out.add((offset + x, offset + y))
            x = y
        if glued >= 0:
            out.add((offset + glued, offset + n))

    def _route(self, block: str) -> list[int]:
        """For each position, the end of the word the best route takes from there.

        jieba scores a word ``log(freq or 1) - log(total)`` plus the best score after it and
        keeps the maximum of (score, end): ties go to the longer word.
        """
        scores, logtotal = self._scores, self._logtotal
        n = len(block)
        score = [0.0] * (n + 1)
        ends = [0] * n
        for k in range(n - 1, -1, -1):
            best, end = 0.0, -1
            i = k
            frag = block[k]
            while i < n:
                word = scores.get(frag)
                if word is None:
                    word = self._score(frag)
                    if word is None:
                        break
                if word is not _PREFIX:
                    candidate = word + score[i + 1]
                    if end < 0 or candidate > best or (candidate == best and i > end):
                        best, end = candidate, i
                i += 1
                frag = block[k : i + 1]
            if end < 0:  # no word starts here: the character alone, at frequency 1
                best, end = log(1) - logtotal + score[k + 1], k
            score[k] = best
            ends[k] = end + 1
        return ends

    def _score(self, frag: str) -> float | None:
        """``frag``'s word score, _PREFIX for a bare prefix, None when not in the dictionary."""
        count = self._freq.get(frag)
        if count is None:
            return None
        word = log(count) - self._logtotal if count else _PREFIX
        if len(self._scores) < _KEEP:
            self._scores[frag] = word
        return word
