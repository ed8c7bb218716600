"""The model file: refused with one line naming it when missing, corrupt or of another format;
its opinion and evidence when it loads."""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path

import pytest

from core.vocabulary import RiskLevel
from lexicons.detector import default_detector
from lexicons.features import features, judgeable, known_features, language, ngrams
from lexicons.model import FORMAT, MAGIC, MODEL_PATH, ModelError, dump, load_model


def refused(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_the_packaged_model_loads_and_is_small() -> None:
    model = load_model()
    assert MODEL_PATH.stat().st_size < 4 * 1024 * 1024
    assert model.thresholds_for("zh").high < 1
    assert model.thresholds_for("en").moderate < 1
    assert len(model.weights) > 1000


def test_a_missing_model_is_refused(tmp_path: Path) -> None:
    assert "cannot be read" in refused(tmp_path / "nowhere.hgm")


def test_a_corrupt_model_is_refused(tmp_path: Path) -> None:
    data = bytearray(MODEL_PATH.read_bytes())
    data[-10] ^= 0xFF
    path = tmp_path / "corrupt.hgm"
    path.write_bytes(bytes(data))
    assert "checksum" in refused(path)


def test_a_truncated_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.hgm"
    path.write_bytes(MODEL_PATH.read_bytes()[:500])
    assert "checksum" in refused(path)


def test_a_model_of_another_format_is_refused(tmp_path: Path) -> None:
    header, payload = MODEL_PATH.read_bytes().split(b"\n", 1)
    fields = header.decode().split()
    path = tmp_path / "future.hgm"
    path.write_bytes(f"{MAGIC} {FORMAT + 1} {fields[2]}\n".encode() + payload)
    assert f"format {FORMAT + 1}" in refused(path)


@pytest.mark.parametrize("data", [b"", b"hello\n", b"\x00\x01\x02", b"HGRISK 1\n"])
def test_something_else_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "other.hgm"
    path.write_bytes(data)
    refused(path)


def test_a_checksummed_but_malformed_payload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "malformed.hgm"
    path.write_bytes(dump({"format": FORMAT, "features": ["a"], "heads": {}}))
    assert "malformed" in refused(path)
    body = json.loads(zlib.decompress(MODEL_PATH.read_bytes().split(b"\n", 1)[1]))
    body["heads"]["high"]["weights"] = "not base64!"
    path.write_bytes(dump(body))
    assert "malformed" in refused(path)


def test_the_detector_refuses_to_start_without_its_model(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.cli.main import main
    from lexicons import detector

    monkeypatch.setattr("lexicons.model.MODEL_PATH", tmp_path / "gone.hgm")
    monkeypatch.setattr(detector, "load_model", lambda: load_model(tmp_path / "gone.hgm"))
    detector.default_detector.cache_clear()
    try:
        assert main(["risk", "explain", "你好"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert "gone.hgm" in err[0]
    finally:
        detector.default_detector.cache_clear()


def test_the_models_evidence_is_its_top_ngrams() -> None:
    det = default_detector()
    assert det.model is not None
    analysis = det.analyser("我把药都攒起来了，够了")
    score = det.model.score(features(analysis))
    top = det.model.top(score)
    assert top
    assert all(weight > 0 for _, weight in top)
    assert all(feature in features(analysis) for feature, _ in top)
    assert det.model.category(score)


def test_features_are_the_same_at_training_and_at_run_time() -> None:
    assert {"我", "想死", "w:die", "w:want_to"} <= ngrams("我想死 want to die")
    assert "w" not in ngrams("die")  # no letter n-grams inside latin words
    assert language("i want to die 我") == "en"
    assert language("我想死 lol") == "zh"


def normalize(text: str) -> str:
    return default_detector().analyser(text).normalized


@pytest.mark.parametrize(
    "text", ["有人吗", "在吗", "谢谢", "好的", "what is this?", "anyone there?"]
)
def test_the_model_abstains_on_a_message_too_short_to_judge(text: str) -> None:
    assert not judgeable(normalize(text))
    result = default_detector().assess(text)
    assert result.model is None
    assert result.level < RiskLevel.MODERATE
    assert not result.ask


@pytest.mark.parametrize("text", ["想死", "不想活了", "kms", "我想自杀"])
def test_the_lexicon_still_reads_short_messages(text: str) -> None:
    assert default_detector().assess(text).level >= RiskLevel.MODERATE


def test_four_words_are_enough_for_the_model() -> None:
    assert judgeable(normalize("我好累啊"))
    assert judgeable(normalize("i am so tired"))
    assert default_detector().assess("i am so tired").model is not None


def test_the_detector_scores_exactly_the_known_features() -> None:
    """The automaton's shortcut finds the same features as listing them all, then looking up."""
    det = default_detector()
    assert det.model is not None
    corpus = Path(__file__).resolve().parents[2] / "lexicons" / "corpus"
    with (corpus / "student_zh.tsv").open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    with (corpus / "student_en.tsv").open(encoding="utf-8") as handle:
        texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    texts += ["", "  ", "a", "我", "💊💊 w:x cue:news", "i wanna die 想死 lol"]
    for text in texts:
        analysis = det.analyser(text)
        expected = det.model.known(features(analysis))
        assert known_features(analysis, det.model) == expected, text
