"""Case references as people type them: ``12``, ``#12`` or the number alerts print, ``2026-00012``.

The printed number is the year the case opened and its id (``escalation.cases.case_number``);
a number whose year does not match the case is no reference to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.models import Case

# ASCII digits only (str.isdigit also takes "²"), within every database's integer range.
_REF = re.compile(r"#?(?:(?P<year>[0-9]{4})-)?(?P<id>[0-9]{1,10})")
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class CaseRef:
    """A parsed reference: the id, and the printed number when one was given."""

    case_id: int
    year: int | None = None

    def matches(self, case: Case) -> bool:
        """Whether this reference names ``case`` (a printed number must match its year)."""
        return case.id == self.case_id and self.year in (None, case.created_at.year)

    def __str__(self) -> str:
        return f"{self.year}-{self.case_id:05d}" if self.year else f"#{self.case_id}"


def parse_case_ref(text: str) -> CaseRef | None:
    """``12``, ``#12`` or ``2026-00012`` → a reference; anything else → None."""
    match = _REF.fullmatch(text.strip())
    if match is None:
        return None
    case_id = int(match["id"])
    if not 0 < case_id <= MAX_ID:
        return None
    return CaseRef(case_id, int(match["year"]) if match["year"] else None)
