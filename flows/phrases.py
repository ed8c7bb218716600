"""Words the flows look for inside free text. Matched only, never shown to a student.

The detector reads risk; these read two things it does not: a plea for secrecy ("你不要告诉
别人"), and an answer to a yes/no screening question that is not a clear "no" ("有时候会这样
想"). A phrase matches anywhere in the folded text (:func:`flows.answers.normalize`).
"""

from __future__ import annotations

import re

from flows.answers import normalize

# "Don't tell anyone", about oneself or a friend ("她让我别告诉任何人").
SECRECY = (
    "不要告诉",
    "别告诉",
    "不要跟别人说",
    "别跟别人说",
    "不要说出去",
    "别说出去",
    "不让我告诉",
    "不让我说",
    "替我保密",
    "帮我保密",
    "保守秘密",
    "你能保密",
    "能不能保密",
    "会告诉别人吗",
    "会不会告诉",
    "不要让别人知道",
    "别让别人知道",
    "don't tell",
    "dont tell",
    "do not tell",
    "not to tell",
    "keep it secret",
    "keep it a secret",
    "keep a secret",
    "keep this secret",
    "keep this between us",
    "promise not to tell",
    "will you tell",
)

# An answer that is not a "no" to "have you had thoughts …?": partly, sometimes, unsure.
LEANS_YES = (
    "有时",
    "偶尔",
    "有过",
    "想过",
    "有一点",
    "有点",
    "会这样想",
    "经常",
    "一直",
    "可能",
    "也许",
    "算是吧",
    "sometimes",
    "a little",
    "a bit",
    "kind of",
    "kinda",
    "sort of",
    "maybe",
    "unsure",
    "often",
    "all the time",
)

# A negation makes an answer unclear ("没有想过", "not really"): it is asked once more rather
# than read as a yes; a second unclear answer counts as a refusal, which the ASQ scores as
# positive anyway.
_NEGATIONS_ZH = ("没", "不", "未", "无")
_NEGATION_WORDS_EN = re.compile(r"\b(no|not|never|nope|nah)\b|n't")

_SECRECY = tuple(normalize(p) for p in SECRECY)
_LEANS_YES = tuple(normalize(p) for p in LEANS_YES)


def asks_secrecy(text: str) -> bool:
    """The text asks that something be kept secret."""
    folded = normalize(text)
    return any(phrase in folded for phrase in _SECRECY)


def leans_yes(text: str) -> bool:
    """The text answers a yes/no screening question with something other than a clear no."""
    folded = normalize(text)
    if any(char in folded for char in _NEGATIONS_ZH) or _NEGATION_WORDS_EN.search(folded):
        return False
    return any(phrase in folded for phrase in _LEANS_YES)
