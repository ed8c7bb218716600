"""Lexicon files load, and a malformed one names its file, line and reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.vocabulary import RISK_CATEGORIES
from lexicons.cues import RULE_ONLY
from lexicons.lexicon import DATA_DIR, LexiconError, load_lexicon

HEADER = "pattern\tcategory\tlevel\tnotes\n"


def write(tmp_path: Path, body: str, *, slang: str | None = None) -> Path:
    (tmp_path / "zh").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "zh" / "a.tsv").write_text(HEADER + body, encoding="utf-8")
    if slang is not None:
        (tmp_path / "slang.tsv").write_text("from\tto\tnotes\n" + slang, encoding="utf-8")
    return tmp_path


def test_packaged_lexicon_is_broad_in_both_languages() -> None:
    lexicon = load_lexicon(DATA_DIR)
    per_language = Counter(e.lang for e in lexicon.entries)
    assert per_language["zh"] >= 300
    assert per_language["en"] >= 300
    risk = Counter(e.category for e in lexicon.entries if e.category in RISK_CATEGORIES)
    assert set(risk) == RISK_CATEGORIES - RULE_ONLY  # every risk category has entries
    assert lexicon.version.startswith("1.0+")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("想死\tactive_ideation\thigh\tx\n想\tdesire\n", "a.tsv:3: expected 4 tab-separated"),
        ("想死\tsadness\thigh\tx\n", "a.tsv:2: unknown category 'sadness'"),
        ("想死\tactive_ideation\tterrible\tx\n", "a.tsv:2: level 'terrible'"),
        ("想\tdesire\thigh\tx\n", "a.tsv:2: a desire entry takes level '-'"),
        ("\tdesire\t-\tx\n", "a.tsv:2: empty pattern"),
        ("Want To\tdesire\t-\tx\n", "a.tsv:2: pattern 'Want To' must be lower case"),
        ("想死\tactive_ideation\tnone\tx\n", "a.tsv:2: a risk entry cannot have level none"),
    ],
)
def test_malformed_lines_name_file_line_and_reason(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        load_lexicon(write(tmp_path, body))


def test_missing_header_and_bad_encoding(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    bad = tmp_path / "zh" / "b.tsv"
    bad.write_text("想死\tactive_ideation\thigh\tx\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"b.tsv:1: expected the header"):
        load_lexicon(tmp_path)
    bad.write_bytes(HEADER.encode() + "想死".encode("gbk"))
    with pytest.raises(LexiconError, match=r"b\.tsv: not UTF-8"):
        load_lexicon(tmp_path)


def test_a_small_custom_lexicon_drives_the_detector(tmp_path: Path) -> None:
    from lexicons.detector import assess

    lexicon = load_lexicon(
        write(tmp_path, "想消失\tpassive_ideation\tmoderate\ttest\n", slang="xs\t消失\tslang\n")
    )
    assert assess("我好想消失", lexicon=lexicon).level.label == "moderate"
    assert assess("好想xs", lexicon=lexicon).level.label == "moderate"
    assert assess("今天天气不错", lexicon=lexicon).level.label == "none"
