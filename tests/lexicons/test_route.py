"""Our route through jieba's dictionary gives exactly jieba's tokens (HMM off)."""

from __future__ import annotations

import csv
from pathlib import Path

import jieba
from hypothesis import given, settings
from hypothesis import strategies as st

from lexicons.lexicon import load_lexicon
from lexicons.route import Route

CORPUS = Path(__file__).resolve().parents[2] / "lexicons" / "corpus"
LEXICON = load_lexicon()
TOKENIZER = jieba.Tokenizer()
TOKENIZER.initialize()
for _phrase in LEXICON.zh_phrases:
    TOKENIZER.add_word(_phrase, freq=2000)
ROUTE = Route(TOKENIZER.FREQ, TOKENIZER.total)
# Characters that exercise every branch: words, glued latin, jieba's block punctuation, "\r\n".
ALPHABET = list("我想死了不活自杀他说今天好累跳楼安眠药 \r\n\t.-_#%&+ab1Z，。！?😭") + [
    chr(c) for c in range(0x4E00, 0x4E60)
]


def jieba_bounds(text: str, offset: int = 0) -> set[tuple[int, int]]:
    return {(s + offset, e + offset) for _, s, e in TOKENIZER.tokenize(text, HMM=False)}


def test_every_corpus_message_and_its_normalised_form() -> None:
    texts = []
    for path in sorted(CORPUS.glob("*.tsv")):
        with path.open(encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    texts += [LEXICON.normalizer(text).text for text in texts]
    assert len(texts) > 1000
    assert [t for t in texts if ROUTE.bounds(t) != jieba_bounds(t)] == []


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=60), st.integers(0, 50))
def test_random_text(text: str, offset: int) -> None:
    assert ROUTE.bounds(text, offset) == jieba_bounds(text, offset)
