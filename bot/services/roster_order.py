"""The order a school reads its roster in: by grade (小学, 初中, 高中), then class, then number.

Class names sort naturally, so 初二(2)班 comes before 初二(10)班, and a grade-5 class never
comes before a grade-8 one because of how its name happens to sort.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key that compares runs of digits as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


Key = tuple[tuple[int, int | str], ...]


def roster_key(
    grade: int | None, class_name: str | None, student_number: str | None
) -> tuple[int, Key, Key]:
    """Grade first (unknown last), then the class and the student number, naturally."""
    unknown = 99
    return (
        unknown if grade is None else grade,
        natural(class_name or ""),
        natural(student_number or ""),
    )
