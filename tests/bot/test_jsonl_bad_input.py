"""One bad input never stops a run: every JSON line gets its own answer, and /mydata survives
text that no UTF-8 file can hold."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli.main import main

Capture = pytest.CaptureFixture[str]
CRISIS = '{"from": "s9", "text": "我现在就站在楼顶，马上就跳"}'


def run(lines: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> tuple[int, list]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code = main(["chat", "--jsonl"])
    out, _err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"from": "s\\u0000x", "text": "hi"}', "without control characters"),
        ('{"from": "s1", "text": "a\\u0000b"}', '"text" contains a NUL character'),
        (json.dumps({"from": "x" * 65, "text": "hi"}), "expected 1-64 characters"),
        ('{"from": "s1", "text": ', "not a JSON object"),
        ('{"from": "s1"}', 'expected a "text"'),
    ],
)
def test_a_bad_line_gets_its_own_error_and_the_crisis_after_it_is_answered(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture, line: str, error: str
) -> None:
    code, out = run([line, CRISIS], monkeypatch, capsys)
    assert code == 1  # some lines were unusable
    assert out[0]["line"] == 1
    assert error in out[0]["error"]
    assert any(o.get("event") == "case_requested" and o["student"] == "s9" for o in out)
    assert any("12356" in o.get("text", "") for o in out if o.get("to") == "s9")


def test_a_lone_surrogate_never_breaks_mydata(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    lines = [
        '{"from": "s1", "text": "\\ud800 我有点难过"}',
        '{"from": "s1", "command": "/mydata"}',
        '{"from": "s1", "command": "/mydata"}',
    ]
    code, out = run(lines, monkeypatch, capsys)
    assert code == 0
    files = [o for o in out if "file" in o]
    assert len(files) == 2
    texts = [m["text"] for m in files[0]["data"]["messages"]]
    assert "\ufffd 我有点难过" in texts
