"""The engine's configuration: a small frozen value the composition root builds from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Literal, get_args

from core.vocabulary import PRIORITIES, Priority

Screen = Literal["phq_gad", "mood_check"]
SCREENS: tuple[Screen, ...] = get_args(Screen)


@dataclass(frozen=True)
class InstrumentBand:
    """Which check-in screen a range of grades gets (inclusive)."""

    min_grade: int
    max_grade: int
    instrument: Screen

    def __post_init__(self) -> None:
        if self.instrument not in SCREENS:
            raise ValueError(f"instrument: expected one of {SCREENS}, got {self.instrument!r}")
        if not 1 <= self.min_grade <= self.max_grade <= 12:
            raise ValueError(
                f"grades {self.min_grade}–{self.max_grade}: expected 1 ≤ min_grade ≤ max_grade ≤ 12"
            )


DEFAULT_BANDS = (
    InstrumentBand(min_grade=3, max_grade=6, instrument="mood_check"),
    InstrumentBand(min_grade=7, max_grade=12, instrument="phq_gad"),
)

# Typical age of a pupil in grade 1, to place a student whose grade is unknown.
_GRADE_ONE_AGE = 6

# The lowest priority a moderate follow-up may open at, by the reason triage gives. A child
# who discloses abuse may not be safe at home tonight, and a friend's suicidal words may be
# about tonight: a counselor must see both the same day (urgent), not in working hours.
DEFAULT_CASE_FLOORS: Mapping[str, Priority] = MappingProxyType(
    {"safeguarding": "urgent", "peer_concern": "urgent", "sexual_abuse": "urgent"}
)


@dataclass(frozen=True)
class FlowConfig:
    """Settings the flows need.

    Attributes:
        instruments: Grade bands and the screen each gets.
        default_instrument: Screen for a grade (or age) outside every band, and for a
            student whose grade and age are unknown: the adolescent check, so nobody who
            may be a teenager misses the suicide questions.
        universal_asq_from_grade: From this grade (or an unknown grade) every PHQ/GAD
            check-in ends with the ASQ (the AAP advises suicide-risk screening for everyone
            from age 12); ``None`` asks it only after PHQ item 9.
        simple_register_max_grade: Students in this grade or below read the simple register
            (short sentences, common characters); the rest, and an unknown grade, the teen one.
        case_floors: Lowest priority of a moderate follow-up case, by its reason.
        guardian_consent_age: Below this age, guardian consent is required.
        refer_phq9_at: A PHQ-9 total at or above this makes a routine case request
            (``None`` turns it off).
        refer_gad7_at: The same for GAD-7.
        stale_after: A flow (other than home and crisis) untouched this long is dropped, so
            answers about "the last two weeks" are not mixed across weeks.
        care_repeat_after: After a caring reply to a safeguarding or peer disclosure, further
            disclosures within this time still make case requests but no repeated reply.
        screen_interval: A grey-zone signal (the detector unsure) starts the ASQ screen at
            most once in this time per student; clear signals always screen.
    """

    instruments: tuple[InstrumentBand, ...] = DEFAULT_BANDS
    default_instrument: Screen = "phq_gad"
    universal_asq_from_grade: int | None = 7
    simple_register_max_grade: int = 6
    case_floors: Mapping[str, Priority] = field(default_factory=lambda: DEFAULT_CASE_FLOORS)
    guardian_consent_age: int = 14
    refer_phq9_at: int | None = 15
    refer_gad7_at: int | None = 15
    stale_after: timedelta = timedelta(hours=24)
    care_repeat_after: timedelta = timedelta(minutes=30)
    screen_interval: timedelta = timedelta(days=3)

    def __post_init__(self) -> None:
        if self.default_instrument not in SCREENS:
            raise ValueError(f"default_instrument: expected one of {SCREENS}")
        grades = [g for band in self.instruments for g in range(band.min_grade, band.max_grade + 1)]
        if len(grades) != len(set(grades)):
            raise ValueError("instruments: grade bands overlap")
        if self.stale_after <= timedelta(0):
            raise ValueError("stale_after: must be a positive duration")
        if self.screen_interval < timedelta(0):
            raise ValueError("screen_interval: must not be negative")
        unknown = sorted(p for p in self.case_floors.values() if p not in PRIORITIES)
        if unknown:
            raise ValueError(f"case_floors: unknown priority {unknown[0]!r}")

    def estimated_grade(self, grade: int | None, age: int | None) -> int | None:
        """The grade, or one estimated from age; ``None`` when neither is known."""
        if grade is None and age is not None:
            return age - _GRADE_ONE_AGE
        return grade

    def floor(self, priority: Priority, reason: str) -> Priority:
        """``priority`` raised to the floor configured for ``reason``."""
        lowest = self.case_floors.get(reason, priority)
        return max(priority, lowest, key=PRIORITIES.index)

    def asks_asq_at_checkin(self, grade: int | None, age: int | None) -> bool:
        """Whether a PHQ/GAD check-in for this student ends with the ASQ."""
        if self.universal_asq_from_grade is None:
            return False
        estimated = self.estimated_grade(grade, age)
        return estimated is None or estimated >= self.universal_asq_from_grade

    def simple_register(self, grade: int | None) -> bool:
        """Whether a student of this grade reads the simple register (unknown grade: no)."""
        return grade is not None and grade <= self.simple_register_max_grade

    def screen_for(self, grade: int | None, age: int | None) -> Screen:
        """The check-in screen for a student; an unknown grade is estimated from age."""
        grade = self.estimated_grade(grade, age)
        if grade is not None:
            for band in self.instruments:
                if band.min_grade <= grade <= band.max_grade:
                    return band.instrument
        return self.default_instrument
