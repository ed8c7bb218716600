"""What the learned model sees of a message: the same at training time and at run time.

Character n-grams (1–4) of the normalised Chinese, so slang the normaliser maps (紫砂 → 自杀)
and words nobody listed both count; latin words and word pairs for English; and a few context
cues from the lexicon (a news frame, a third person, a joke, a negation), so the model can
learn that they change what the words mean.
"""

from __future__ import annotations

import itertools
import re

from lexicons.analysis import Analysis
from lexicons.model import Model

NGRAMS = (1, 2, 3, 4)
_LATIN_WORD = re.compile(r"[a-z]+")
_LATIN_LETTER = re.compile(r"[a-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Cue categories that change what the words around them mean.
CONTEXT = frozenset({
    "news", "fiction", "academic", "third_person", "second_person", "first_person", "joke",
    "negation", "hypothetical", "question", "idiom", "collision", "timing_past", "timing_now",
    "timing_soon", "completion", "instigation", "sincerity",
})  # fmt: skip


LANGUAGES = ("zh", "en")
# Below this many Chinese characters or latin words, a message is too short for the model to
# judge: with three or fewer n-grams, its probability is mostly its bias and the few n-grams'
# other uses ("有人吗" read as a pact, "在吗" and "谢谢" as unsure). The lexicon still reads
# short messages ("想死", "kms"); the model abstains.
MIN_UNITS = 4
_BLANKS = frozenset(" " * n for n in NGRAMS)


def language(text: str) -> str:
    """``en`` when latin letters outnumber CJK characters in normalised ``text``, else ``zh``."""
    latin = len(_LATIN_LETTER.findall(text))
    cjk = len(_CJK.findall(text))
    return "en" if latin > 2 * cjk else "zh"


def judgeable(text: str) -> bool:
    """Whether normalised ``text`` has enough words for the model (``MIN_UNITS``)."""
    units = len(_CJK.findall(text)) + len(_LATIN_WORD.findall(text))
    return units >= MIN_UNITS


def padded(text: str) -> str:
    """Normalised ``text`` with its latin words blanked and a space at each end: the text
    whose character n-grams are features."""
    return f" {_LATIN_WORD.sub(' ', text)} "


def words(text: str) -> set[str]:
    """Latin words and word pairs of normalised ``text``, as features."""
    found = _LATIN_WORD.findall(text)
    out = {f"w:{w}" for w in found}
    out.update(f"w:{a}_{b}" for a, b in itertools.pairwise(found))
    return out


def ngrams(text: str) -> set[str]:
    """Distinct character n-grams of normalised ``text`` outside latin words (space-padded),
    and latin words and word pairs: in English, words generalise; inside them, n-grams of
    letters mostly learn spelling."""
    chars = padded(text)
    length = len(chars)
    out = {chars[i : i + n] for n in NGRAMS for i in range(length - n + 1)}
    out -= _BLANKS  # runs of spaces carry nothing
    return out | words(text)


def context(analysis: Analysis) -> set[str]:
    """The context cues the lexicon found, as features."""
    return {
        f"cue:{hit.category}"
        for part in analysis.parts
        for hit in (*part.msg.hits, *part.suppressors)
        if hit.category in CONTEXT
    }


def features(analysis: Analysis) -> set[str]:
    """Every feature of one analysed message."""
    return ngrams(analysis.normalized) | context(analysis)


def known_features(analysis: Analysis, model: Model) -> set[str]:
    """``features(analysis)`` that ``model`` has weights for, without listing the others.

    The detector's call: the model's automaton finds its own n-grams in one pass, where
    listing every n-gram of the message first costs most of the model's time.
    """
    text = analysis.normalized
    return model.ngrams_in(padded(text)) | model.known(words(text) | context(analysis))
