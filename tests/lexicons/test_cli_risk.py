"""`heartguard risk scan|explain|eval` end to end, in process."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli.main import main
from core.vocabulary import RiskLevel
from lexicons.evaluation import Example, evaluate

Capture = pytest.CaptureFixture[str]


def test_scan_plain_lines_in_order(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("累死了\n我现在就站在楼顶\n\n"))
    assert main(["risk", "scan"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["level"] for r in rows] == ["none", "imminent", "none"]
    assert rows[1]["categories"]
    assert rows[1]["evidence"][0]["text"]


def test_scan_jsonl_with_window_and_a_bad_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    lines = [
        json.dumps({"text": "周五就解脱了", "window": ["我偷偷攒了好多安眠药"]}),
        "not json",
        json.dumps({"text": 5}),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["risk", "scan", "--jsonl"]) == 1
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert rows[0]["level"] == "imminent"
    assert rows[1] == {"line": 2, "error": 'expected {"text": str, "window": [str, ...]}'}
    assert rows[2]["line"] == 3
    assert "2 line(s) were not valid" in out.err


def test_explain_prints_the_breakdown(capsys: Capture) -> None:
    assert main(["risk", "explain", "我真的想紫砂，不是开玩笑"]) == 0
    out = capsys.readouterr().out
    assert "level:       high" in out
    assert "'想紫砂'" in out or "'紫砂'" in out
    assert "normalised:  我真的想自杀" in out


def test_eval_reports_metrics_confusion_and_misses(tmp_path: Path, capsys: Capture) -> None:
    data = tmp_path / "set.tsv"
    data.write_text(
        "id\tlevel\ttext\nx1\tnone\t累死了\nx2\timminent\t我现在就站在楼顶\nx3\tlow\t今天天气很好\n",
        encoding="utf-8",
    )
    assert main(["risk", "eval", str(data)]) == 0
    out = capsys.readouterr().out
    assert "recall at >= high:      1.000" in out
    assert "false alarms (none/low flagged >= moderate): 0.000" in out
    assert "x3\tlow -> none\t今天天气很好" in out
    assert "confusion" in out


def test_eval_rejects_a_file_without_columns(tmp_path: Path, capsys: Capture) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text("a\tb\n1\t2\n", encoding="utf-8")
    assert main(["risk", "eval", str(data)]) == 1
    assert "expected a header with 'level' and 'text'" in capsys.readouterr().err


def test_metrics_arithmetic() -> None:
    examples = [
        Example("a", RiskLevel.HIGH, "h"),
        Example("b", RiskLevel.IMMINENT, "i"),
        Example("c", RiskLevel.NONE, "n"),
        Example("d", RiskLevel.LOW, "l"),
    ]
    predictions = {
        "h": RiskLevel.MODERATE,
        "i": RiskLevel.HIGH,
        "n": RiskLevel.HIGH,
        "l": RiskLevel.LOW,
    }
    report = evaluate(examples, predictions.__getitem__)
    assert report.recall_high == 0.5
    assert report.imminent_caught == 1.0
    assert report.recall_moderate == 1.0
    assert report.false_alarms == 0.5
    assert report.accuracy == 0.25
