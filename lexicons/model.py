"""The learned second opinion at run time: a linear model over n-grams, with no training library
(the standard library, and the lexicon's Aho–Corasick automaton to find its n-grams).

The model file (``lexicons/data/model/risk-model.hgm``) is one ASCII header line,
``HGRISK <format> <sha256 of the payload>``, then the payload: zlib-compressed JSON with the
feature list, two binary heads (at least moderate, at least high) and a category head, each
quantised to signed bytes with a scale, and the thresholds calibrated at training time. A file
that is missing, corrupt or of another format is refused with one line naming it: the
detector never runs without its second opinion by accident.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import zlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import add
from pathlib import Path

import ahocorasick

FORMAT = 1
MAGIC = "HGRISK"
MODEL_PATH = Path(__file__).with_name("data") / "model" / "risk-model.hgm"
HEADS = ("moderate", "high")


class ModelError(ValueError):
    """The model file cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on development predictions at training time (never on a sealed set).

    The model raises a message to ``high`` or ``moderate`` at or above these probabilities;
    from ``ask`` up to ``moderate`` it is unsure, and the student is asked instead.
    ``conversation`` is the evidence (log-odds above the prior) that recent messages must add
    up to before the model calls a conversation high.
    """

    moderate: float
    high: float
    ask: float
    conversation: float = math.inf


@dataclass(frozen=True)
class Score:
    """The model's opinion of one message: probabilities of at least moderate and at least
    high, and the features the model knows that the message has."""

    moderate: float
    high: float
    present: tuple[str, ...]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class Model:
    """Weights by feature for the two binary heads, and the category head."""

    def __init__(
        self,
        weights: Mapping[str, tuple[int, int]],
        scales: tuple[float, float],
        biases: tuple[float, float],
        categories: tuple[str, ...],
        category_weights: Mapping[str, int],
        category_table: list[float],
        category_biases: tuple[float, ...],
        thresholds: Mapping[str, Thresholds],
        meta: Mapping[str, object],
    ) -> None:
        self.weights = weights
        # The heads apart, and the known features as a set: a message's features meet them
        # in one C-level intersection instead of a dict lookup per n-gram.
        self._known = frozenset(weights)
        # The character n-grams among them (not word or cue features), to find in a text.
        self._ngrams = ahocorasick.Automaton()
        for feature in weights:
            if not feature.startswith(("w:", "cue:")):
                self._ngrams.add_word(feature, feature)
        if len(self._ngrams):
            self._ngrams.make_automaton()
        self._moderate = {f: pair[0] for f, pair in weights.items()}
        self._high = {f: pair[1] for f, pair in weights.items()}
        self.scales = scales
        self.biases = biases
        self.categories = categories
        k = len(categories)
        self._vectors = {
            f: tuple(category_table[row * k : row * k + k]) for f, row in category_weights.items()
        }
        self._category_biases = category_biases
        self.thresholds = thresholds
        self.meta = meta

    def score(self, features: Iterable[str]) -> Score:
        """The two binary heads over distinct ``features``."""
        # Weights are the file's quantised integers, summed exactly: the result never depends
        # on the order a set of features happens to iterate in.
        present = tuple(self._known.intersection(features))
        moderate = sum(map(self._moderate.__getitem__, present))
        high = sum(map(self._high.__getitem__, present))
        return Score(
            _sigmoid(self.biases[0] + moderate * self.scales[0]),
            _sigmoid(self.biases[1] + high * self.scales[1]),
            present,
        )

    def ngrams_in(self, text: str) -> set[str]:
        """The character n-gram features of the model that occur in ``text``."""
        if not len(self._ngrams):
            return set()
        return {feature for _end, feature in self._ngrams.iter(text)}

    def known(self, features: Iterable[str]) -> set[str]:
        """Those of ``features`` the model has weights for."""
        return set(self._known.intersection(features))

    def thresholds_for(self, language: str) -> Thresholds:
        """The thresholds calibrated for messages in ``language`` (``zh`` or ``en``)."""
        return self.thresholds.get(language) or self.thresholds["zh"]

    def evidence(self, moderate: float) -> float:
        """How far a probability of at least moderate lies above the prior, in log-odds (≥ 0)."""
        p = min(max(moderate, 1e-6), 1 - 1e-6)
        return max(0.0, math.log(p / (1 - p)) - self.biases[0])

    def top(self, score: Score, n: int = 5) -> tuple[tuple[str, float], ...]:
        """The features that pushed hardest towards high risk (the model's evidence)."""
        scale = self.scales[1]
        pushing = [(f, self.weights[f][1] * scale) for f in score.present if self.weights[f][1] > 0]
        return tuple(sorted(pushing, key=lambda item: (-item[1], item[0]))[:n])

    def category(self, score: Score) -> str:
        """The likeliest risk category (asked only when the model raises a message)."""
        k = len(self.categories)
        totals = list(self._category_biases)
        vectors = self._vectors
        for feature in sorted(score.present):
            vector = vectors.get(feature)
            if vector is not None:
                totals = list(map(add, totals, vector))  # the same sums, in the same order
        best = max(range(k), key=totals.__getitem__)
        return self.categories[best]


def _integers(blob: str) -> list[int]:
    values = array("b")
    values.frombytes(base64.b64decode(blob, validate=True))
    return values.tolist()


def _unpack(blob: str, scale: float) -> list[float]:
    values = array("b")
    values.frombytes(base64.b64decode(blob, validate=True))
    return [v * scale for v in values]


def pack(values: Iterable[float]) -> tuple[str, float]:
    """Quantise weights to signed bytes: (base64 of the bytes, the scale to multiply back)."""
    listed = list(values)
    largest = max((abs(v) for v in listed), default=0.0)
    scale = largest / 127 if largest else 1.0
    quantised = array("b", (max(-127, min(127, round(v / scale))) for v in listed))
    return base64.b64encode(quantised.tobytes()).decode("ascii"), scale


def dump(body: Mapping[str, object]) -> bytes:
    """The model file's bytes for ``body`` (the header line, then the compressed payload)."""
    payload = zlib.compress(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
        level=9,
    )
    header = f"{MAGIC} {FORMAT} {hashlib.sha256(payload).hexdigest()}\n".encode("ascii")
    return header + payload


def load_model(path: Path = MODEL_PATH) -> Model:
    """Read and check the model file.

    Raises:
        ModelError: one line naming the file and what is wrong with it.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"model file {path}: cannot be read ({exc.strerror})") from None
    newline = data.find(b"\n")
    fields = data[:newline].decode("ascii", "replace").split() if newline > 0 else []
    if len(fields) != 3 or fields[0] != MAGIC:
        raise ModelError(f"model file {path}: not a HeartGuard risk model")
    if fields[1] != str(FORMAT):
        raise ModelError(f"model file {path}: format {fields[1]}, this detector reads {FORMAT}")
    payload = data[newline + 1 :]
    if hashlib.sha256(payload).hexdigest() != fields[2]:
        raise ModelError(f"model file {path}: checksum mismatch (corrupt or truncated)")
    try:
        body = json.loads(zlib.decompress(payload))
        return _model(body)
    except (ValueError, KeyError, TypeError, IndexError, zlib.error) as exc:
        raise ModelError(f"model file {path}: malformed payload ({type(exc).__name__})") from None


def _model(body: dict[str, object]) -> Model:
    features = body["features"]
    heads = body["heads"]
    category = body["category"]
    if not isinstance(features, list) or not isinstance(heads, dict):
        raise ValueError("features or heads")
    if not isinstance(category, dict):
        raise ValueError("category")
    columns = [_integers(heads[h]["weights"]) for h in HEADS]
    if any(len(column) != len(features) for column in columns):
        raise ValueError("head length")
    weights = {f: (columns[0][i], columns[1][i]) for i, f in enumerate(features)}
    scales = (float(heads["moderate"]["scale"]), float(heads["high"]["scale"]))
    labels = tuple(category["labels"])
    rows = category["features"]
    table = _unpack(category["weights"], category["scale"])
    k = len(labels)
    if not k or len(table) != k * len(rows) or len(category["biases"]) != k:
        raise ValueError("category head")
    category_rows = {f: i for i, f in enumerate(rows)}
    calibrated = body["thresholds"]
    if not isinstance(calibrated, dict) or "zh" not in calibrated:
        raise ValueError("thresholds")
    thresholds = {
        lang: Thresholds(
            float(t["moderate"]), float(t["high"]), float(t["ask"]), float(t["conversation"])
        )
        for lang, t in calibrated.items()
    }
    meta = body.get("meta", {})
    return Model(
        weights,
        scales,
        (float(heads["moderate"]["bias"]), float(heads["high"]["bias"])),
        labels,
        category_rows,
        table,
        tuple(float(b) for b in category["biases"]),
        thresholds,
        meta if isinstance(meta, dict) else {},
    )
