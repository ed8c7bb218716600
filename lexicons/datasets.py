"""The project's labelled data: where it lives, how it is read, and how PsySUICIDE is split.

PsySUICIDE's validation split (Qiu, Ma and Lan, "PsyGUARD", EMNLP 2024; MIT licence) is cut
by a hash of each row's id into a training part (about 70%, kept in the corpus as
``psyguard_train.tsv``) and a development-test part the model never sees, so the split is the
same on every machine and never depends on row order.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.vocabulary import RISK_CATEGORIES, RiskLevel
from lexicons.evaluation import PSYGUARD_LEVELS

Part = Literal["train", "devtest"]
TRAIN_SHARE = 70  # per cent

# The labelling guide's categories (lexicons/corpus/LABELLING.md): the vocabulary's risk
# categories under their guide names, and the names of look-alikes that carry no risk.
GUIDE_TO_VOCABULARY = {c: c for c in RISK_CATEGORIES} | {"harm_to_others": "violence_to_others"}
LOOK_ALIKES = frozenset({"everyday", "idiom", "game_joke", "news_fiction"})
# PsySUICIDE's labels as categories, most telling first (a row with several takes the first).
PSYGUARD_CATEGORIES = {
    "prep": "plan",
    "plan": "plan",
    "attempt": "past_attempt",
    "selfharm": "self_harm",
    "selfharm_intent": "self_harm",
    "active": "active_ideation",
    "passive": "passive_ideation",
    "explore": "passive_ideation",
    "aggression_user": "violence_to_others",
    "aggression_other": "abuse",
}


class CorpusError(ValueError):
    """A corpus row cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Row:
    """One labelled message: its level, its vocabulary category ("" for none) and origin."""

    text: str
    level: RiskLevel
    category: str
    source: str


def psyguard_part(ident: str) -> Part:
    """Which part of PsySUICIDE a row belongs to, from its id alone."""
    bucket = int.from_bytes(hashlib.sha256(ident.encode("utf-8")).digest()[:4], "big") % 100
    return "train" if bucket < TRAIN_SHARE else "devtest"


def shared_eval_dir(start: Path) -> Path | None:
    """The nearest ``shared/eval`` folder above ``start`` (the checkout may be a worktree)."""
    for parent in (start, *start.parents):
        candidate = parent / "shared" / "eval"
        if candidate.is_dir():
            return candidate
    return None


def read_corpus(path: Path) -> list[Row]:
    """Read a labelled TSV: the guide's layout (``level``, optional ``category``, ``text``) or
    PsySUICIDE's (``labels``, ``text``).

    Raises:
        CorpusError: naming the file and line of the first malformed row.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot be read as UTF-8 ({type(exc).__name__})") from None
    if not lines:
        raise CorpusError(f"{path}:1: empty file, expected a header")
    header = lines[0].split("\t")
    if "text" not in header or not {"level", "labels"} & set(header):
        raise CorpusError(f"{path}:1: expected a header with 'level' (or 'labels') and 'text'")
    rows = []
    reader = csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE)
    for number, fields in enumerate(reader, start=2):
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            raise CorpusError(
                f"{path}:{number}: expected {len(header)} tab-separated fields, got {len(fields)}"
            )
        row = dict(zip(header, fields, strict=True))
        rows.append(_row(path, number, row))
    return rows


def _row(path: Path, number: int, row: dict[str, str]) -> Row:
    where = f"{path}:{number}"
    text = row["text"].strip()
    if not text:
        raise CorpusError(f"{where}: empty text")
    if "level" in row:
        try:
            level = RiskLevel.parse(row["level"])
        except KeyError:
            raise CorpusError(f"{where}: unknown level {row['level']!r}") from None
        guide = row.get("category", "").strip()
        if guide and guide not in GUIDE_TO_VOCABULARY and guide not in LOOK_ALIKES:
            raise CorpusError(f"{where}: unknown category {guide!r}")
        category = GUIDE_TO_VOCABULARY.get(guide, "") if level >= RiskLevel.MODERATE else ""
        return Row(text, level, category, where)
    labels = [label.strip() for label in row["labels"].split(",") if label.strip()]
    if not labels or any(label not in PSYGUARD_LEVELS for label in labels):
        raise CorpusError(f"{where}: unknown PsySUICIDE label(s) {row['labels']!r}")
    level = max(PSYGUARD_LEVELS[label] for label in labels)
    category = next((c for k, c in PSYGUARD_CATEGORIES.items() if k in labels), "")
    return Row(text, level, category, where)
