"""Browser-test fixtures, for any web page HeartGuard serves (chat page, counselor console).

A plugin of the whole suite (``tests/conftest.py`` loads it), so tests of any package can drive
a page.

- ``asgi_server``: a factory. ``url = asgi_server(app)`` runs the ASGI ``app`` under uvicorn in
  a background thread, on a socket already bound to a free loopback port (so no other process
  can take the port in between), and returns its root URL, e.g. ``http://127.0.0.1:41234``.
  Every server it started is stopped when the test ends, after the browsers.
- ``chromium``: a headless Chromium WebDriver with JavaScript on; ``chromium_nojs`` the same with
  JavaScript off. ``make_chromium(javascript=..., width=..., height=..., mobile=...)`` makes
  other variants; each driver has its own fresh profile and is quit at the end of the test.
  ``mobile=True`` emulates a phone's viewport (``width`` CSS pixels, touch, meta viewport on).

They use Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``), which ``.ci/run`` installs, with ``SE_AVOID_STATS=true`` and an
explicit driver path so Selenium never reaches for the network. Without them the browser tests
skip with the reason, except under CI (``CI=true``), where they fail. Mark browser tests
``e2e``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
STARTUP_SECONDS = 15.0

AsgiServer = Callable[[ASGIApp], str]
MakeChromium = Callable[..., webdriver.Chrome]


class ThreadedServer:
    """uvicorn serving one ASGI app on a loopback socket, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(
            app,
            http="h11",
            ws="none",  # no websockets import (and no deprecation warnings from it)
            lifespan="auto",
            log_level="warning",
            # No dictConfig of uvicorn's own: its handlers would hold this test's captured
            # stderr and fail ("Logging error") in every later test that logs through them.
            log_config=None,
            access_log=False,
            # Open event streams must not hold the test's teardown for long.
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(STARTUP_SECONDS)
        self.socket.close()


@pytest.fixture
def asgi_server() -> Iterator[AsgiServer]:
    """Start ASGI apps on free loopback ports; each call returns the app's root URL."""
    servers: list[ThreadedServer] = []

    def start(app: ASGIApp) -> str:
        server = ThreadedServer(app)
        servers.append(server)
        server.start()
        return server.url

    yield start
    for server in reversed(servers):
        server.stop()


def _need_chromium() -> None:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        reason = (
            f"{', '.join(missing)} missing: apt-get install --no-install-recommends "
            "chromium chromium-driver"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def make_chromium(
    monkeypatch: pytest.MonkeyPatch, asgi_server: AsgiServer
) -> Iterator[MakeChromium]:
    """Make headless Chromium drivers; each one is quit at the end of the test."""
    # Depending on asgi_server makes pytest quit the browsers before it stops the servers, so
    # no open event stream holds the server's shutdown.
    del asgi_server
    _need_chromium()
    # Selenium Manager would otherwise report usage statistics over the network.
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    drivers: list[webdriver.Chrome] = []
    profiles: list[str] = []

    def make(
        *, javascript: bool = True, width: int = 1024, height: int = 800, mobile: bool = False
    ) -> webdriver.Chrome:
        profile = tempfile.mkdtemp(prefix="hg-chromium-")
        profiles.append(profile)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2}
            )
        service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
        driver = webdriver.Chrome(service=service, options=options)
        drivers.append(driver)
        if mobile:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
            )
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        return driver

    yield make
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def chromium(make_chromium: MakeChromium) -> webdriver.Chrome:
    """A headless Chromium with JavaScript on."""
    return make_chromium()


@pytest.fixture
def chromium_nojs(make_chromium: MakeChromium) -> webdriver.Chrome:
    """A headless Chromium with JavaScript off (the page must work through plain forms)."""
    return make_chromium(javascript=False)
