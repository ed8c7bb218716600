"""Training the learned second opinion: ``heartguard risk train`` / ``make model``.

Needs the ``[train]`` extra (scikit-learn); the detector itself never imports this module.
Reproducible: the same corpus, code and seed give the same model file, byte for byte.

1. Read the corpus (``SOURCES``); a malformed row stops training, naming file and line.
2. Turn each message into features exactly as the detector does (``lexicons.features``).
3. Fit two binary logistic regressions (at least moderate, at least high) and a category head.
4. Calibrate the thresholds on out-of-fold predictions over the training rows, run through
   the real combination policy (``lexicons.policy``): development predictions, never a sealed
   set and never the held-out sets.
5. Prune, quantise and write the model file with its checksum.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.vocabulary import RiskLevel
from lexicons.analysis import Analyser
from lexicons.datasets import Row, read_corpus
from lexicons.features import LANGUAGES, features, judgeable, language
from lexicons.lexicon import load_lexicon
from lexicons.model import FORMAT, MODEL_PATH, Thresholds, dump, pack
from lexicons.policy import Opinion, Verdict, decide
from lexicons.suppressors import suppressor

SEED = 1612
ROOT = Path(__file__).resolve().parents[1]
CONVERSATIONS = "lexicons/corpus/conversations.tsv"
SOURCES = (
    "lexicons/corpus/student_zh.tsv",
    "lexicons/corpus/student_en.tsv",
    "lexicons/corpus/psyguard_train.tsv",
    "lexicons/corpus/everyday.tsv",
    "tests/lexicons/data/practice_zh.tsv",
    "tests/lexicons/data/practice2_zh.tsv",
    "tests/lexicons/data/practice_en.tsv",
    "tests/lexicons/data/practice_neg.tsv",
)
# Regularisation, and the smallest weight worth shipping.
C_HEADS, C_CATEGORY = 0.5, 1.0
KEEP_HEADS, KEEP_CATEGORY = 0.02, 0.08
MIN_COUNT = 2  # a feature must occur in at least this many training messages
FOLDS = 5
# What the model may add, measured on out-of-fold predictions for messages labelled none or
# low: false alarms it causes at high, false alarms in all, and questions it asks.
BUDGET_HIGH, BUDGET_ALARMS, BUDGET_ASK = 0.0075, 0.015, 0.080
# Conversations: no safe conversation of the corpus, and at most this share of chains of
# safe training messages (CHAIN long), may add up to high.
BUDGET_CHAINS, CHAIN, CHAINS = 0.05, 12, 2000
EVIDENCE_GRID = tuple(round(2.0 + 0.25 * i, 2) for i in range(25))
GRID = tuple(round(0.30 + 0.01 * i, 2) for i in range(70))


@dataclass(frozen=True)
class Example:
    """A training row with what the detector reads of it."""

    row: Row
    features: frozenset[str]
    lexicon: RiskLevel
    categories: tuple[str, ...]
    suppressor: str | None
    language: str
    judgeable: bool = True


def _example(analyser: Analyser, text: str, row: Row | None = None) -> Example:
    analysis = analyser(text)
    categories = tuple(sorted({f.category for f in analysis.findings if f.level >= RiskLevel.LOW}))
    return Example(
        row or Row(text, RiskLevel.NONE, "", ""),
        frozenset(features(analysis)),
        analysis.level,
        categories,
        suppressor(analysis),
        language(analysis.normalized),
        judgeable(analysis.normalized),
    )


def load_examples(root: Path, sources: Sequence[str]) -> list[Example]:
    """Every corpus row, analysed by the lexicon as the detector would."""
    analyser = Analyser(load_lexicon())
    return [
        _example(analyser, row.text, row) for name in sources for row in read_corpus(root / name)
    ]


def _matrix(examples: Sequence[Example], vocabulary: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    indptr, indices = [0], []
    for example in examples:
        indices.extend(sorted(vocabulary[f] for f in example.features if f in vocabulary))
        indptr.append(len(indices))
    data = [1.0] * len(indices)
    return csr_matrix((data, indices, indptr), shape=(len(examples), len(vocabulary)))


def _head(c: float, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=c, class_weight="balanced", max_iter=5000, solver="liblinear", random_state=seed
    )


def _fit(x: Any, y: Any, c: float, seed: int) -> Any:
    return _head(c, seed).fit(x, y)


def _out_of_fold(x: Any, y: Any, seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    return cross_val_predict(_head(C_HEADS, seed), x, y, cv=folds, method="predict_proba")[:, 1]


def _verdict(e: Example, moderate: float, high: float, thresholds: Thresholds) -> Verdict:
    """What the policy decides for a training row, with the given model opinion."""
    blocked = e.suppressor
    # A message too short for the model is decided as the detector decides it: without it.
    opinion = Opinion(moderate, high) if e.judgeable else Opinion(0.0, 0.0)
    return decide(e.lexicon, RiskLevel.NONE, e.categories, opinion, thresholds, lambda: blocked)


def calibrate(
    examples: Sequence[Example], moderate: Sequence[float], high: Sequence[float]
) -> Thresholds:
    """The lowest thresholds whose added false alarms and questions stay within budget."""
    safe = [i for i, e in enumerate(examples) if e.row.level <= RiskLevel.LOW]

    def rate(thresholds: Thresholds, what: Callable[[Verdict, Example], bool]) -> float:
        hits = sum(
            what(_verdict(examples[i], moderate[i], high[i], thresholds), examples[i]) for i in safe
        )
        return hits / len(safe) if safe else 0.0

    def raised(floor: RiskLevel) -> Callable[[Verdict, Example], bool]:
        return lambda v, e: v.level >= floor and e.lexicon < v.level

    never = 1.01
    # First the gate every raise passes (at least moderate), then high within it.
    t_moderate = next(
        t for t in (*GRID, never)
        if rate(Thresholds(t, never, never), raised(RiskLevel.MODERATE)) <= BUDGET_ALARMS
    )  # fmt: skip
    t_high = next(
        t for t in (*GRID, never)
        if rate(Thresholds(t_moderate, t, never), raised(RiskLevel.HIGH)) <= BUDGET_HIGH
    )  # fmt: skip
    # Questions are counted among the safe messages left below moderate.
    asked: Callable[[Verdict, Example], bool] = lambda v, _e: v.ask and v.level < RiskLevel.MODERATE  # noqa: E731
    t_ask = next(
        (t for t in GRID
         if t < t_moderate and rate(Thresholds(t_moderate, t_high, t), asked) <= BUDGET_ASK),
        t_moderate,
    )  # fmt: skip
    return Thresholds(moderate=t_moderate, high=t_high, ask=t_ask)


def _accumulated(evidence: Sequence[float], minutes: Sequence[float]) -> float:
    """The most evidence any message adds up to with the ones before it, as the detector
    counts it (lexicons.detector: the last few messages of the last few hours)."""
    from lexicons.detector import EVIDENCE_MESSAGES, EVIDENCE_WITHIN

    best = 0.0
    hours = EVIDENCE_WITHIN.total_seconds() / 60
    for i, current in enumerate(evidence):
        start = max(0, i - EVIDENCE_MESSAGES + 1)
        earlier = [
            e
            for e, m in zip(evidence[start:i], minutes[start:i], strict=True)
            if minutes[i] - m <= hours
        ]
        if current and any(earlier):
            best = max(best, current + sum(earlier))
    return best


def calibrate_conversations(
    model_evidence: Callable[[str], float],
    safe_evidence: Sequence[float],
    root: Path,
    seed: int,
    say: Callable[[str], None],
) -> float:
    """The lowest evidence threshold that keeps safe conversations and chains quiet."""
    import random

    from lexicons.conversation_eval import read_dialogues

    dialogues = read_dialogues(root / CONVERSATIONS)
    runs = [
        (
            d.gold,
            _accumulated([model_evidence(t.text) for t in d.turns], [t.minutes for t in d.turns]),
        )
        for d in dialogues
    ]
    rng = random.Random(seed)  # noqa: S311 (a reproducible sample, not a secret)
    chains = [
        _accumulated(rng.sample(list(safe_evidence), CHAIN), [5.0 * j for j in range(CHAIN)])
        for _ in range(CHAINS)
    ]
    safe = [a for g, a in runs if g <= RiskLevel.LOW]
    risky = [a for g, a in runs if g >= RiskLevel.HIGH]
    for t in EVIDENCE_GRID:
        if all(a < t for a in safe) and sum(a >= t for a in chains) <= BUDGET_CHAINS * CHAINS:
            caught = sum(a >= t for a in risky) / len(risky) if risky else float("nan")
            say(f"conversation evidence threshold {t:.2f}: {caught:.2f} of risky corpus "
                "conversations reach it by the model alone")  # fmt: skip
            return t
    return float("inf")


def train(
    root: Path = ROOT,
    out: Path = MODEL_PATH,
    seed: int = SEED,
    sources: Sequence[str] = SOURCES,
    say: Callable[[str], None] = print,
) -> dict[str, Thresholds]:
    """Train on the corpus under ``root`` and write the model file to ``out``."""
    import numpy as np

    examples = load_examples(root, sources)
    say(f"training rows: {len(examples)} from {len(sources)} files")
    counts: dict[str, int] = {}
    for example in examples:
        for feature in example.features:
            counts[feature] = counts.get(feature, 0) + 1
    names = sorted(f for f, n in counts.items() if n >= MIN_COUNT)
    vocabulary = {f: i for i, f in enumerate(names)}
    x = _matrix(examples, vocabulary)
    gold = np.array([int(e.row.level) for e in examples])
    heads = {}
    oof = {}
    for name, floor in (("moderate", RiskLevel.MODERATE), ("high", RiskLevel.HIGH)):
        y = gold >= int(floor)
        heads[name] = _fit(x, y, C_HEADS, seed)
        oof[name] = _out_of_fold(x, y, seed)
    per_language = {}
    for lang in LANGUAGES:
        chosen = [i for i, e in enumerate(examples) if e.language == lang]
        per_language[lang] = calibrate(
            [examples[i] for i in chosen],
            [float(oof["moderate"][i]) for i in chosen],
            [float(oof["high"][i]) for i in chosen],
        )
    analyser = Analyser(load_lexicon())
    head = heads["moderate"]
    prior = float(head.intercept_[0])

    def evidence_of(probability: float) -> float:
        p = min(max(probability, 1e-6), 1 - 1e-6)
        return max(0.0, float(np.log(p / (1 - p))) - prior)

    def model_evidence(text: str) -> float:
        example = _example(analyser, text)
        if not example.judgeable:
            return 0.0
        row = _matrix([example], vocabulary)
        return evidence_of(float(head.predict_proba(row)[0, 1]))

    safe = [evidence_of(p) for p, e in zip(oof["moderate"], examples, strict=True)
            if e.row.level <= RiskLevel.LOW and e.judgeable]  # fmt: skip
    conversation = calibrate_conversations(model_evidence, safe, root, seed, say)
    thresholds = {
        lang: Thresholds(t.moderate, t.high, t.ask, conversation)
        for lang, t in per_language.items()
    }
    for lang, t in thresholds.items():
        say(
            f"thresholds ({lang}): moderate {t.moderate:.2f}, high {t.high:.2f}, "
            f"ask {t.ask:.2f}, conversation {t.conversation:.2f}"
        )
    body = _body(examples, names, x, heads, thresholds, seed, root, sources)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = dump(body)
    out.write_bytes(data)
    say(f"wrote {out} ({len(data) / 1024:.0f} KiB, {len(body['features'])} features)")
    return thresholds


def _body(
    examples: Sequence[Example],
    names: list[str],
    x: Any,
    heads: dict[str, Any],
    thresholds: dict[str, Thresholds],
    seed: int,
    root: Path,
    sources: Sequence[str],
) -> dict[str, Any]:
    import numpy as np

    wm, wh = heads["moderate"].coef_[0], heads["high"].coef_[0]
    keep = [i for i in range(len(names)) if max(abs(wm[i]), abs(wh[i])) >= KEEP_HEADS]
    labelled = [i for i, e in enumerate(examples) if e.row.category]
    y = np.array([examples[i].row.category for i in labelled])
    from sklearn.linear_model import LogisticRegression

    category = LogisticRegression(C=C_CATEGORY, max_iter=5000, random_state=seed)
    category.fit(x[labelled], y)
    table = category.coef_  # classes x features
    biases = [float(b) for b in category.intercept_]
    if table.shape[0] == 1:  # two classes: scikit-learn keeps one row, for the second
        table = np.vstack([-table[0], table[0]])
        biases = [-biases[0], biases[0]]
    rows = [i for i in range(len(names)) if np.abs(table[:, i]).max() >= KEEP_CATEGORY]
    flat = [float(table[k, i]) for i in rows for k in range(table.shape[0])]
    cat_blob, cat_scale = pack(flat)
    heads_out = {}
    for head, column in (("moderate", wm), ("high", wh)):
        blob, scale = pack(float(column[i]) for i in keep)
        heads_out[head] = {
            "bias": float(heads[head].intercept_[0]),
            "weights": blob,
            "scale": scale,
        }
    digest = hashlib.sha256()
    for name in sources:
        digest.update((root / name).read_bytes())
    return {
        "format": FORMAT,
        "features": [names[i] for i in keep],
        "heads": heads_out,
        "category": {
            "labels": [str(c) for c in category.classes_],
            "features": [names[i] for i in rows],
            "weights": cat_blob,
            "scale": cat_scale,
            "biases": biases,
        },
        "thresholds": {
            lang: {
                "moderate": t.moderate,
                "high": t.high,
                "ask": t.ask,
                "conversation": t.conversation,
            }
            for lang, t in thresholds.items()
        },
        "meta": {
            "seed": seed,
            "rows": len(examples),
            "sources": list(sources),
            "corpus_sha256": digest.hexdigest(),
        },
    }
