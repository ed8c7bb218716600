"""Where the console's templates and static files live inside the installed package."""

from __future__ import annotations

from pathlib import Path

CONSOLE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = CONSOLE_DIR / "templates"
STATIC_DIR = CONSOLE_DIR / "static"
# Served by HeartGuard itself (no CDN): the console works on a district's closed network.
STATIC_PREFIX = "/console/static"
