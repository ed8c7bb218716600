"""The project's labelled data: where it lives and how PsySUICIDE is split.

PsySUICIDE's validation split (Qiu, Ma and Lan, "PsyGUARD", EMNLP 2024; MIT licence) is cut
by a hash of each row's id into a training part (about 70%) and a development-test part the
model never sees, so the split is the same on every machine and never depends on row order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

Part = Literal["train", "devtest"]
TRAIN_SHARE = 70  # per cent


def psyguard_part(ident: str) -> Part:
    """Which part of PsySUICIDE a row belongs to, from its id alone."""
    bucket = int.from_bytes(hashlib.sha256(ident.encode("utf-8")).digest()[:4], "big") % 100
    return "train" if bucket < TRAIN_SHARE else "devtest"


def shared_eval_dir(start: Path) -> Path | None:
    """The nearest ``shared/eval`` folder above ``start`` (the checkout may be a worktree)."""
    for parent in (start, *start.parents):
        candidate = parent / "shared" / "eval"
        if candidate.is_dir():
            return candidate
    return None
