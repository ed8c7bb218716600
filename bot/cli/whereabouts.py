"""Which config and database a command uses, when no config file was found.

Run from another folder, the built-in defaults would create a new, empty ``var/heartguard.db``
(and a data key) right there. A command that would do so is refused, naming the folder and
how to point at the real config; one whose default database exists goes on, saying so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.config.settings import ENV_CONFIG, ENV_DATABASE_URL, Settings
from bot.errors import UsageError
from bot.translation import _
from storage.db import is_sqlite, sqlite_file

DEFAULTS = "<defaults>"


def check_whereabouts(settings: Settings, environ: Mapping[str, str]) -> None:
    """Refuse to create a stray database from the built-in defaults; note which one is used.

    Raises:
        UsageError: when no config file was found and the default database does not exist.
    """
    if settings.source != DEFAULTS or environ.get(ENV_DATABASE_URL, "").strip():
        return
    url = settings.database.url
    path = sqlite_file(url) if is_sqlite(url) else None
    if path is None:
        return
    where = Path(os.getcwd())
    if not path.exists():
        raise UsageError(
            _(
                "no config file: none given with --config, ${variable} is not set and there is "
                "no config.toml in {folder}; run from the folder that holds config.toml or pass "
                "--config PATH (nothing was created)"
            ).format(variable=ENV_CONFIG, folder=where)
        )
    print(
        _(
            "note: no config file found; using the built-in defaults and the database {path} "
            "in {folder}"
        ).format(path=path, folder=where),
        file=sys.stderr,
    )
