"""The actions flow files may name in ``actions`` (on entry), ``do`` and ``on_leave``.

Actions never do I/O: they emit events for the caller and update the turn.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.clock import WEEKDAYS
from core.vocabulary import Concern
from flows import phrases
from flows.conditions import asq_item, canonical_code, item_scores, phq_a_wording
from flows.effects import (
    AnonymousChosen,
    ConsentGiven,
    DataDeletionConfirmed,
    DataExportRequested,
    EnrollmentCodeSubmitted,
    LanguageChanged,
    OnboardingCompleted,
    ReminderPreferenceSet,
    SafetyPlanSaved,
)
from flows.instruments import (
    FREQUENCY,
    MOOD_CHECK_SCALE,
    MOOD_SCALE,
    AsqAnswer,
    Score,
    phq9_order,
    phq_item9_flagged,
    score_asq,
    score_gad2,
    score_gad7,
    score_mood,
    score_mood_check,
    score_phq2,
    score_phq9,
)
from flows.params import plan_answers
from flows.triage import concerns
from flows.turn import Action, Turn

# Said when a screen is left unfinished: the refusal is a positive screen and a person hears.
ASQ_INCOMPLETE = "asq.incomplete"


def set_language(turn: Turn) -> None:
    """The answer is a language key: switch to it for this step and tell the caller."""
    language = "en" if turn.answer == "en" else "zh"
    turn.update_profile(language=language)
    turn.emit(LanguageChanged(language))


def give_consent(turn: Turn) -> None:
    """The student agreed to how HeartGuard works."""
    turn.emit(ConsentGiven(turn.now))


def submit_code(turn: Turn) -> None:
    """Ask the caller to check the typed enrollment code and answer with a system input."""
    turn.emit(EnrollmentCodeSubmitted(canonical_code(turn.text)))


def choose_anonymous(turn: Turn) -> None:
    """Anonymous use, with the age group the student gave."""
    age_group = "under_age" if turn.answer == "under_age" else "of_age"
    turn.update_profile(age_group=age_group)
    turn.emit(AnonymousChosen(age_group))


def set_reminder_preference(turn: Turn) -> None:
    """Onboarding's yes/no to weekly reminders (the day and time come from config)."""
    turn.emit(ReminderPreferenceSet(enabled=turn.answer == "reminder_weekly"))


def complete_onboarding(turn: Turn) -> None:
    """Onboarding is done; later steps in this turn see the student as onboarded."""
    turn.update_profile(onboarded=True)
    turn.emit(OnboardingCompleted(anonymous=not turn.profile.enrolled, restricted=turn.restricted))


def set_reminder(turn: Turn) -> None:
    """Settings: a weekly reminder on the chosen day and time (local school time)."""
    day = turn.context.get("reminder_day")
    slot = turn.context.get("reminder_time")
    weekday = WEEKDAYS.index(day) if isinstance(day, str) and day in WEEKDAYS else None
    minute = None
    if isinstance(slot, str) and slot.startswith("t") and slot[1:].isdigit():
        minute = int(slot[1:3]) * 60 + int(slot[3:5])
    turn.emit(ReminderPreferenceSet(enabled=True, weekday=weekday, minute=minute))


def set_reminder_off(turn: Turn) -> None:
    """Settings: no reminders."""
    turn.emit(ReminderPreferenceSet(enabled=False))


def _phq(turn: Turn) -> list[int | None]:
    """The PHQ answers of this check-in, in the PHQ-9's canonical item order."""
    asked = item_scores(turn.context, "phq", 9, FREQUENCY)
    return phq9_order(asked, "phq_a" if phq_a_wording(turn) else "phq9")


def _checkin_scores(turn: Turn) -> list[Score]:
    context = turn.context
    mood = context.get("mood")
    scores = [score_mood(MOOD_SCALE.get(mood) if isinstance(mood, str) else None)]
    if "phq_1" in context:
        phq = _phq(turn)
        gad = item_scores(context, "gad", 7, FREQUENCY)
        scores.append(score_phq2(phq[:2]))
        if "phq_3" in context:
            scores.append(score_phq9(phq))
        scores.append(score_gad2(gad[:2]))
        if "gad_3" in context:
            scores.append(score_gad7(gad))
    if "mc_1" in context:
        scores.append(score_mood_check(item_scores(context, "mc", 3, MOOD_CHECK_SCALE)))
    return scores


def _concern(turn: Turn, by_name: Mapping[str, Score]) -> str:
    def at_least(name: str, floor: int | None) -> bool:
        score = by_name.get(name)
        return bool(
            floor is not None and score and score.score is not None and score.score >= floor
        )

    def band(name: str) -> str:
        score = by_name.get(name)
        return score.band if score else ""

    config = turn.config
    if at_least("phq9", config.refer_phq9_at) or at_least("gad7", config.refer_gad7_at):
        return "refer"
    if at_least("phq9", 10) or at_least("gad7", 10) or band("mood_check") == "struggling":
        return "high"
    some = (
        at_least("phq9", 5)
        or at_least("gad7", 5)
        or "positive" in (band("phq2"), band("gad2"))
        or band("mood_check") == "some_difficulty"
        or not at_least("mood", 3)
    )
    if some:
        return "some"
    # A skipped item leaves a form unscored or its score uncertain: never "doing OK" then.
    if any(None in score.answers for score in by_name.values()):
        return "unclear"
    return "low"


def score_checkin(turn: Turn) -> None:
    """Score the check-in, record each form and the ASQ, request the cases they call for."""
    scores = _checkin_scores(turn)
    by_name = {score.instrument: score for score in scores}
    for score in scores:
        form = None
        if score.instrument in ("phq2", "phq9"):
            form = "phq_a" if phq_a_wording(turn) else "phq9"
        turn.emit(score.checkin_event(turn.now, form))
    concern = _concern(turn, by_name)
    turn.context["concern"] = concern
    asq_band = record_asq(turn) if turn.context.get("asq_started") else None
    phq = _phq(turn)
    flagged = phq_item9_flagged(phq[8], asked="phq_9" in turn.context)
    # The ASQ's own result already reached a person when positive; a positive (or skipped)
    # item 9 with a negative ASQ still does, and the student is told (checkin.close.item9).
    turn.context["item9_flagged"] = flagged and asq_band in (None, "negative")
    if turn.context["item9_flagged"]:
        reason = "phq_item9" if phq[8] is not None else "phq_item9_skipped"
        turn.request_case("urgent", reason)
    if concern == "refer":
        turn.request_case(
            "routine",
            "checkin_score",
            {"bands": {n: by_name[n].band for n in ("phq9", "gad7") if n in by_name}},
        )


def flag_item9(turn: Turn) -> None:
    """PHQ item 9 was endorsed or skipped: the ASQ follows even below its grade."""
    phq = _phq(turn)
    turn.context["needs_asq"] = phq_item9_flagged(phq[8], asked="phq_9" in turn.context)


def _asq_answers(turn: Turn) -> tuple[list[AsqAnswer | None], AsqAnswer | None]:
    def answer(key: str) -> AsqAnswer | None:
        value = turn.context.get(key)
        return value if value in ("yes", "no", "refuse") else None  # type: ignore[return-value]

    return [answer(f"asq_q{n}") for n in range(1, 5)], answer("asq_q5")


def asq_start(turn: Turn) -> None:
    """The ASQ has begun: from now on, leaving it is a refusal."""
    turn.context["asq_started"] = True


def asq_answer(turn: Turn) -> None:
    """Keep the answer to the ASQ question being left: a button, or what the text meant.

    Free text that leans yes ("有时候会这样想") is a yes; text that stayed unclear after one
    more try is kept as a refusal, which NIMH scores as positive.
    """
    key = asq_item(turn)
    if turn.answer in ("yes", "no", "refuse"):
        turn.context[key] = turn.answer
    else:
        turn.context[key] = "yes" if phrases.leans_yes(turn.text) else "refuse"
    turn.context.pop(f"_unclear_{key}", None)


def asq_unclear(turn: Turn) -> None:
    """Free text that is not a clear answer: remember it, so the next one counts."""
    turn.context[f"_unclear_{asq_item(turn)}"] = True


def record_asq(turn: Turn) -> str:
    """Record the finished ASQ, request the case its result calls for; returns its band."""
    first_four, q5 = _asq_answers(turn)
    result = score_asq(first_four, q5)
    turn.emit(result.screen_event(turn.now))
    turn.context["asq_done"] = True
    turn.context["asq_band"] = result.band
    if result.band == "acute_positive":
        turn.request_case("emergency", "asq_acute_positive")
    elif result.band == "non_acute_positive":
        reason = "asq_q5_refused" if q5 == "refuse" else "asq_non_acute_positive"
        turn.request_case("urgent", reason)
    elif result.band == "incomplete_positive":
        turn.request_case("urgent", "asq_incomplete_positive")
    return result.band


def asq_abandoned(turn: Turn) -> None:
    """The ASQ was left unfinished: a refusal, so a positive screen; a person hears of it.

    NIMH counts a refusal to answer as a positive screen; leaving part-way refuses the
    questions left, whatever was answered before. The student is told (``asq.incomplete``).
    """
    if not turn.context.get("asq_started") or turn.context.get("asq_done"):
        return
    first_four, _ = _asq_answers(turn)
    result = score_asq(first_four, None)
    turn.emit(result.screen_event(turn.now))
    turn.context["asq_done"] = True
    turn.request_case("urgent", "asq_incomplete_positive")
    if turn.signal.level not in ("high", "imminent"):
        # Left for the crisis flow, whose first lines say who was alerted; otherwise say it.
        turn.say(ASQ_INCOMPLETE)


def record_asq_action(turn: Turn) -> None:
    """The ASQ flow finished: record it (the band is kept in the context for routing)."""
    record_asq(turn)


def remember_disclosure(turn: Turn) -> None:
    """Keep what a follow-up disclosure was about, so later replies fit (a friend, oneself)."""
    found = concerns(turn.signal)
    for concern in (Concern.SAFEGUARDING, Concern.OTHERS, Concern.PEER):
        if concern in found:
            turn.context["disclosure"] = concern.value
            return


def request_acute(turn: Turn) -> None:
    """The acuity question (ASQ Q5) was answered yes inside the crisis flow."""
    turn.request_case("emergency", "acuity_positive")


def request_self_referral(turn: Turn) -> None:
    """The student asked to talk to a counselor."""
    turn.request_case(
        "routine",
        "self_referral",
        {
            "preferred_time": turn.context.get("preferred_time"),
            "preferred_channel": turn.context.get("preferred_channel"),
        },
    )


def save_plan(turn: Turn) -> None:
    """Save the safety plan as reviewed."""
    plan = plan_answers(turn)
    turn.update_profile(safety_plan=plan)
    turn.emit(SafetyPlanSaved(plan, turn.now))


def _mark(level: str) -> Action:
    def mark(turn: Turn) -> None:
        turn.context["level"] = level

    mark.__doc__ = f"Remember the crisis is at level {level!r} (a lower signal won't restart it)."
    return mark


ACTIONS: Mapping[str, Action] = {
    "set_language": set_language,
    "give_consent": give_consent,
    "submit_code": submit_code,
    "choose_anonymous": choose_anonymous,
    "set_reminder_preference": set_reminder_preference,
    "complete_onboarding": complete_onboarding,
    "set_reminder": set_reminder,
    "set_reminder_off": set_reminder_off,
    "score_checkin": score_checkin,
    "flag_item9": flag_item9,
    "asq_start": asq_start,
    "asq_answer": asq_answer,
    "asq_unclear": asq_unclear,
    "record_asq": record_asq_action,
    "asq_abandoned": asq_abandoned,
    "remember_disclosure": remember_disclosure,
    "request_acute": request_acute,
    "request_self_referral": request_self_referral,
    "save_plan": save_plan,
    "mark_high": _mark("high"),
    "mark_imminent": _mark("imminent"),
    "request_export": lambda turn: turn.emit(DataExportRequested(turn.now)),
    "confirm_deletion": lambda turn: turn.emit(DataDeletionConfirmed(turn.now)),
}
