"""No student text in debug logs: a real `heartguard --debug chat --jsonl` process, scanned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SENTENCE = "紫藤花下的秘密暗号是蓝色长颈鹿"
PHONE = "13912345678"
NAME = "欧阳小星"


@pytest.mark.e2e
def test_debug_chat_writes_no_student_text(cli_env: Path) -> None:
    lines = [
        {"from": "debug-kid", "text": f"我叫{NAME}，电话{PHONE}，{SENTENCE}"},
        {"from": "debug-kid", "command": f"/talk {SENTENCE}"},
        {"from": "debug-kid", "text": f"{SENTENCE}，我今晚就去跳楼，药已经准备好了"},
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--debug", "chat", "--jsonl"],
        input="".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        + "[" * 5000  # garbage last: its error line must not echo anything either
        + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        cwd=cli_env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 1, (done.returncode, done.stdout[-1500:], done.stderr[-800:])
    assert "DEBUG" in done.stderr  # debug logging really was on
    assert "case_requested" in done.stdout  # the crisis went through
    for secret in (SENTENCE, PHONE, NAME, "跳楼"):
        assert secret not in done.stderr
        assert secret not in done.stdout
