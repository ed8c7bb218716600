"""Files the command line writes: whole or not at all, and never before the database agrees.

A command that both changes the database and writes a file (``codes issue --out``) stages the
file first: the text goes to a temporary file in the target's own folder and is flushed to
disk. Only then does the command commit, and only after the commit is the temporary file
renamed over the target (``os.replace``, atomic within one folder). A folder that cannot be
written fails before the commit, so the database stays exactly as it was; a failed commit
removes the temporary file, so the target keeps its old contents.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bot.errors import HeartGuardError


class StagedOutput:
    """Text written and flushed, waiting to be put in place by :meth:`publish`."""

    def __init__(self, target: Path | None, temporary: Path | None) -> None:
        self.target = target
        self.temporary = temporary
        self.printed = target is None

    def publish(self) -> None:
        """Put the file in place (after the commit); stdout was written already."""
        if self.target is None or self.temporary is None:
            return
        try:
            os.replace(self.temporary, self.target)
        except OSError as exc:
            raise HeartGuardError(
                f"cannot write {self.target}: {exc.strerror}; the saved data is in {self.temporary}"
            ) from None
        self.temporary = None

    def discard(self) -> None:
        """Drop the staged file (the commit failed): the target keeps its old contents."""
        if self.printed:
            # Stdout cannot be taken back; say plainly that what it shows does not count.
            print(
                "heartguard: the output printed above was NOT saved; do not use it", file=sys.stderr
            )
            self.printed = False
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None


def stage_output(path: str | None, text: str) -> StagedOutput:
    """Write ``text`` to a temporary file beside ``path`` (or to stdout when no path or "-").

    Raises:
        HeartGuardError: in one line, naming the file, when it cannot be written.
    """
    if not path or path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return StagedOutput(None, None)
    target = Path(path)
    if target.is_dir():
        raise HeartGuardError(f"cannot write {target}: it is a folder")
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path(".")
        )
    except OSError as exc:
        raise HeartGuardError(f"cannot write {target}: {exc.strerror}") from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise HeartGuardError(f"cannot write {target}: {exc.strerror}") from None
    # mkstemp makes the file readable by its owner only, which suits enrollment codes.
    return StagedOutput(target, temporary)


def write_output(path: str | None, text: str) -> None:
    """Write a file whole (a temporary file, then a rename), or to stdout."""
    stage_output(path, text).publish()
