"""The detector's own cue categories: context the rules combine, never signals in themselves.

The levels and the risk categories are HeartGuard's shared vocabulary (``core.vocabulary``).
"""

from __future__ import annotations

from core.vocabulary import RISK_CATEGORIES

# Context for the rules; entries carry level "-".
CUE_CATEGORIES = frozenset({
    "desire", "death", "life", "negation", "hedge", "sincerity", "joke", "first_person",
    "third_person", "timing_now", "timing_soon", "timing_recent", "timing_past", "completion",
    "quantity", "question", "fiction", "news", "academic", "hypothetical", "contrast",
    "degree_head", "second_person", "instigation", "accumulate", "preparation", "vanish",
    "futility", "better_off", "conditional", "resolve", "harm_act", "body_part", "jump",
    "symptom", "outcome", "hostile_act", "peer_agent", "family_agent", "adult_agent", "secrecy",
    "photo_request", "meet_request", "gift", "revenge", "rumination", "method_word",
    "acquire", "edge", "height",
    # Across messages (lexicons.window) and the v2 rules.
    "reported", "alone", "then", "goodbye", "give_away", "scheduled", "thanks", "together",
    "habit", "unreachable", "certainty", "leisure", "moving", "relapse", "caustic", "arranged",
    "role", "ailment", "packed",
})  # fmt: skip

# A hit inside one of these spans is ignored.
SUPPRESSOR_CATEGORIES = frozenset({"idiom", "collision"})

ALL_CATEGORIES = RISK_CATEGORIES | CUE_CATEGORIES | SUPPRESSOR_CATEGORIES

# Risk categories that only the rules emit (from a combination); no lexicon entry carries one.
RULE_ONLY = frozenset({"ambivalence"})
