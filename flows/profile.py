"""What the flows need to know about the student, supplied by the caller on every step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
AgeGroup = Literal["under_age", "of_age"]

# Typical age of a Chinese pupil in grade 1; used only when neither age nor a declared age
# group is known, to decide conservatively whether guardian consent is needed.
_GRADE_ONE_AGE = 6


@dataclass(frozen=True)
class StudentProfile:
    """The student's facts the flows branch on.

    Attributes:
        language: Language to talk in.
        grade: School grade (1–12), if known.
        age: Age in years, if known.
        enrolled: Linked to a roster student through an enrollment code.
        guardian_consent: The school holds a guardian's consent.
        anonymous_allowed: Configuration lets unenrolled students use the bot anonymously.
        onboarded: The student finished onboarding (gave consent).
        age_group: What an anonymous student said about their age, relative to the
            guardian-consent age (from the ``anonymous_chosen`` event).
        safety_plan: The saved safety plan, step id → the student's words.
        last_screened_at: When the student last took the ASQ screen (from stored screens),
            so a grey-zone signal does not ask a stressed student every day.
    """

    language: Language = "zh"
    grade: int | None = None
    age: int | None = None
    enrolled: bool = False
    guardian_consent: bool = False
    anonymous_allowed: bool = False
    onboarded: bool = False
    age_group: AgeGroup | None = None
    safety_plan: Mapping[str, str] | None = field(default=None)
    last_screened_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}; expected one of {LANGUAGES}")
        if self.safety_plan is not None:
            object.__setattr__(self, "safety_plan", MappingProxyType(dict(self.safety_plan)))
        if self.last_screened_at is not None and self.last_screened_at.tzinfo is None:
            raise ValueError("last_screened_at: expected a timezone-aware datetime")

    def under_age(self, consent_age: int) -> bool:
        """Whether the student is (or, when unsure, may be) younger than ``consent_age``."""
        if self.age is not None:
            return self.age < consent_age
        if self.age_group is not None:
            return self.age_group == "under_age"
        if self.grade is not None:
            # Conservative: a grade whose pupils may still be under age counts as under age.
            return self.grade + _GRADE_ONE_AGE <= consent_age
        return False

    def restricted(self, consent_age: int) -> bool:
        """Under age without guardian consent: only crisis help and counselor contact."""
        return self.under_age(consent_age) and not self.guardian_consent
