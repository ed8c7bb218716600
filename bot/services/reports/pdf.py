"""PDF by headless Chromium's print-to-PDF: the same HTML, print CSS and SVG charts.

Why Chromium: one rendering for screen, console and paper (the charts are the page's own
SVG, the A4 layout is the page's print CSS), a browser CI installs anyway for the web tests,
and Chinese text from a system CJK font (Debian's fonts-wqy-microhei). The page is written
to a private temporary folder and opened from there with every network path shut, so
printing never reaches outside the machine.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from bot.errors import HeartGuardError

log = logging.getLogger(__name__)
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    # Nothing on the page needs the network; make sure nothing could use it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--no-pdf-header-footer",
)


class PdfError(HeartGuardError):
    """The PDF could not be printed; the message says why in one line."""


async def print_pdf(html: str, *, chromium: str, seconds: float = 60.0) -> bytes:
    """Print a self-contained HTML page to PDF bytes (A4, as its print CSS says)."""
    return await asyncio.to_thread(_print, html, chromium, seconds)


def _print(html: str, chromium: str, seconds: float) -> bytes:
    binary = shutil.which(chromium) or (chromium if Path(chromium).exists() else None)
    if binary is None:
        raise PdfError(
            f"PDF needs Chromium at {chromium} (apt-get install chromium fonts-wqy-microhei, "
            "or reports.chromium in the config); HTML and CSV work without it"
        )
    with tempfile.TemporaryDirectory(prefix="hg-pdf-") as folder:
        page, out = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        command = [
            binary,
            *FLAGS,
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 (a fixed binary and flags, no shell)
                command, capture_output=True, timeout=seconds, check=False
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print the PDF within {seconds:.0f} s") from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            # Chromium's stderr holds paths and flags, never report content.
            log.warning("chromium exited %s without a PDF", done.returncode)
            err = done.stderr
            tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            raise PdfError(
                f"Chromium could not print the PDF (exit {done.returncode}"
                + (f": {tail[0][:200]}" if tail else "")
                + ")"
            )
        return out.read_bytes()
