"""Matching internals stated directly: maximal munch by checking every pair, clause starts by
walking the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.vocabulary import RiskLevel
from lexicons.lexicon import Entry
from lexicons.matching import Hit, _resolve, clause_starts
from lexicons.normalize import CLAUSE_BREAKS

_ENTRIES = [
    Entry(pattern="x", category=c, level=level, notes="", lang="zh", source="test")
    for c, level in [
        ("idiom", None),
        ("collision", None),
        ("first_person", None),
        ("negation", None),
        ("active_ideation", RiskLevel.HIGH),
        ("self_harm", RiskLevel.MODERATE),
    ]
]
_SUPPRESSORS = ("idiom", "collision")


def brute_force(hits: list[Hit]) -> list[Hit]:
    """The rule stated directly: every pair compared."""
    suppressors = [h for h in hits if h.category in _SUPPRESSORS]
    kept = [
        h
        for h in hits
        if h.category not in _SUPPRESSORS
        and not any(s.start <= h.start and s.end >= h.end for s in suppressors)
    ]
    out = [
        h
        for h in kept
        if not any(
            o is not h
            and o.start <= h.start
            and o.end >= h.end
            and o.length > h.length
            and (o.level is None) == (h.level is None)
            for o in kept
        )
    ]
    return sorted(out, key=lambda h: (h.start, -h.length, h.category))


hit = st.builds(
    lambda start, length, entry: Hit(start, start + length, entry, 0),
    st.integers(0, 12),
    st.integers(1, 5),
    st.sampled_from(_ENTRIES),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(hit, max_size=9))
def test_resolve_keeps_exactly_the_uncovered_hits(hits: list[Hit]) -> None:
    # No threat entries here, so the leftmost-risk step keeps everything.
    assert [id(h) for h in _resolve(hits)] == [id(h) for h in brute_force(hits)]


def clause_starts_by_hand(text: str) -> list[int]:
    """Clause starts stated directly: after each clause break, and after a full stop that a
    space or the end follows."""
    starts = [0]
    for index, ch in enumerate(text):
        if ch in CLAUSE_BREAKS or (ch == "." and text[index + 1 : index + 2] in ("", " ")):
            starts.append(index + 1)
    return starts


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab. 。,，\n…!?！？;；x死")), max_size=40))
def test_clause_starts(text: str) -> None:
    assert clause_starts(text) == clause_starts_by_hand(text)
