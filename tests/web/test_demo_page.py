"""``make demo`` (``heartguard demo``) prints the chat page's and the console's addresses (with
the demo counselor's password for this run) and serves both meanwhile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from console_kit import sign_in
from heartguard_server import free_port

BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


def test_the_demo_serves_the_student_chat_page_while_it_runs(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "demo.db"}"\n'
        f'[web]\nport = {port}\nsecret_file = "{tmp_path / "web.secret"}"\n'
        f'[privacy]\nkey_file = "{tmp_path / "data.key"}"\n',
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("HEARTGUARD_")}
    proc = subprocess.Popen(
        [str(BIN / "heartguard"), "--config", str(config), "demo"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        address = None
        for line in proc.stdout:
            found = re.search(r"(http://127\.0\.0\.1:\d+/chat)", line)
            if found:
                address = found.group(1)
                break
        assert address == f"http://127.0.0.1:{port}/chat"
        line = proc.stdout.readline()
        console = re.search(
            r"(http://127\.0\.0\.1:\d+/console) .*number (\d+), .*password (\S+)\)", line
        )
        assert console is not None, line
        with httpx.Client(timeout=30) as browser:
            page = browser.get(address)
            assert page.status_code == 200
            assert 'href="tel:12356"' in page.text
        root = console.group(1).removesuffix("/console")
        with httpx.Client(base_url=root, timeout=30, follow_redirects=True) as counselor:
            signed = sign_in(counselor, console.group(2), console.group(3))
            assert signed.url.path == "/console"
            assert "陈老师（示范）" in signed.text
        proc.stdin.close()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
