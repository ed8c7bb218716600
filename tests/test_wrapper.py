"""`./heartguard` runs the command from the checkout's .venv; `make` installs quietly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "heartguard").exists(), reason="no .venv here (make makes it)"
)
def test_the_wrapper_runs_heartguard_from_any_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "heartguard"), "flows", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok:")


def test_make_keeps_pip_quiet_and_says_how_to_run_heartguard() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    install = makefile.split("$(STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    for line in install.splitlines():
        if "pip install" in line:
            assert "install.log" in line, line  # output kept out of the terminal
    assert "Run ./heartguard from here, or put it on your PATH" in install
