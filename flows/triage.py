"""What a risk signal means for the conversation, decided before the input is handled.

By the concern of the signal's categories (``core.vocabulary``) and its level:

| concern | moderate | high / imminent |
|---|---|---|
| suicidality, distress | the ASQ screen | the crisis flow, urgent / emergency case |
| suicide pact | the ASQ screen | the crisis flow, a ``suicide_pact`` case, a word about the other |
| safeguarding | routine case, caring reply | the crisis flow ("are you safe?"), caring reply |
| peer | routine case, thanks | urgent / emergency case about the friend, what to do now |
| harm to others | routine case, caring reply | urgent / emergency case, caring reply |
| eating | routine case, caring reply | urgent / emergency case, caring reply |

The student's own safety comes first: a suicidality or safeguarding category at high or
imminent always means the crisis flow, whatever else is present. A friend in danger (with the
student's worry beside it) never sends the student through their own crisis flow.

Below that, ``signal.ask`` (the detector's grey zone) starts the ASQ screen so the student's
own answer decides, at most once per ``screen_interval`` per student. An unsure signal alone
waits while the student is new (not yet told who the bot is: the ASQ's guidance is to say who
asks and why before asking) and when the message pleads for secrecy (the honest answer that it
cannot be kept comes first, as safeguarding practice asks); a moderate signal never waits.
Inside the crisis flow a signal only restarts it when the level rises; every high or imminent
signal still makes a case request, which the caller attaches to the student's one open case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.vocabulary import CATEGORIES, Concern, Priority
from flows import texts
from flows.conversation import JSON
from flows.definition import ASQ as ASQ_FLOW
from flows.definition import CRISIS as CRISIS_FLOW
from flows.profile import StudentProfile
from flows.signals import RiskSignal

_CRISIS_ENTRY = {"high": "high", "imminent": "imminent"}
_PRIORITY: dict[str, Priority] = {"high": "urgent", "imminent": "emergency"}
_RANK = {"high": 1, "imminent": 2}
# Concerns a counselor follows up without interrupting the student: the case reason and the
# caring reply at moderate, and at high or imminent, most serious first.
_FOLLOW_UP: tuple[tuple[Concern, str, str, str], ...] = (
    (Concern.SAFEGUARDING, "safeguarding", texts.CARE_SAFEGUARDING, texts.CARE_SAFEGUARDING),
    (Concern.OTHERS, "harm_to_others", texts.CARE_OTHERS, texts.CARE_OTHERS_URGENT),
    (Concern.EATING, "eating_disorder", texts.CARE_EATING, texts.CARE_EATING_URGENT),
    (Concern.PEER, "peer_concern", texts.CARE_PEER, texts.CARE_PEER_URGENT),
)
# Sexual abuse and grooming get their own reason and reply within safeguarding.
_SEXUAL = frozenset({"sexual_abuse", "grooming"})
# Concerns whose moderate signal is a reason to ask the ASQ: the student's answer decides.
_SCREEN = frozenset({Concern.SUICIDALITY, Concern.DISTRESS})
# Concerns that are the student's own danger: at high or imminent, the crisis flow. Distress
# beside a friend's danger is the student's worry about the friend, not their own crisis.
_OWN_CRISIS = frozenset({Concern.SUICIDALITY, Concern.SAFEGUARDING})
_SOMEONE_ELSE = frozenset({Concern.PEER, Concern.OTHERS, Concern.EATING})


@dataclass(frozen=True)
class Decision:
    """What to do about a signal.

    Attributes:
        flow: Flow to switch to (``None``: keep handling the input where we are).
        entry: Entry state of that flow.
        case: ``(priority, reason)`` of a case request, if any.
        care_text: A caring reply to send without interrupting, if any.
    """

    flow: str | None = None
    entry: str | None = None
    case: tuple[Priority, str] | None = None
    care_text: str | None = None


NOTHING = Decision()


def concerns(signal: RiskSignal) -> frozenset[Concern]:
    """The concerns of the signal's categories (unknown categories count as suicidality)."""
    return frozenset(CATEGORIES.get(c, Concern.SUICIDALITY) for c in signal.categories)


def screen_due(profile: StudentProfile, now: datetime, interval: timedelta) -> bool:
    """Whether a grey-zone signal may start the ASQ: not screened within ``interval``."""
    last = profile.last_screened_at
    return last is None or now - last >= interval


def decide(
    signal: RiskSignal,
    flow: str | None,
    context: Mapping[str, JSON],
    *,
    screen_due: bool = True,
    newcomer: bool = False,
    secrecy: bool = False,
) -> Decision:
    """Decide how ``signal`` affects a student currently in ``flow`` (``None``: no flow yet).

    ``screen_due`` is false when the student was screened recently: a grey-zone signal alone
    then asks nothing. Nor does it for a ``newcomer`` (not onboarded) or when the message
    pleads for ``secrecy``.
    """
    present = concerns(signal)
    if signal.level in _CRISIS_ENTRY:
        return _urgent(signal, present, flow, context)
    unsure_asks = signal.ask and screen_due and not newcomer and not secrecy
    if signal.level != "moderate":
        if unsure_asks and flow not in (ASQ_FLOW, CRISIS_FLOW):
            return Decision(flow=ASQ_FLOW)
        return NOTHING
    follow_up = _follow_up(signal, present, urgent=False)
    case: tuple[Priority, str] | None = None
    care_text = None
    if follow_up is not None:
        case, care_text = ("routine", follow_up[0]), follow_up[1]
    # Screen when the student's own safety is in question; a moderate signal of someone
    # else's danger alone (a peer, safeguarding) does not make the student take the ASQ,
    # unless the detector is unsure about the student too.
    screen = bool(present & _SCREEN) or not present or unsure_asks
    if screen and flow not in (ASQ_FLOW, CRISIS_FLOW):
        return Decision(flow=ASQ_FLOW, entry=None, case=case, care_text=care_text)
    return Decision(case=case, care_text=care_text)


def _follow_up(
    signal: RiskSignal, present: frozenset[Concern], *, urgent: bool
) -> tuple[str, str] | None:
    """The case reason and the caring reply for the most serious follow-up concern."""
    if present & {Concern.SAFEGUARDING} and signal.categories & _SEXUAL:
        return "sexual_abuse", texts.CARE_SEXUAL_ABUSE
    for concern, reason, text, urgent_text in _FOLLOW_UP:
        if concern in present:
            return reason, urgent_text if urgent else text
    return None


def _urgent(
    signal: RiskSignal, present: frozenset[Concern], flow: str | None, context: Mapping[str, JSON]
) -> Decision:
    priority = _PRIORITY[signal.level]
    own = bool(present & _OWN_CRISIS) or not present & _SOMEONE_ELSE
    if not own:
        # A friend in danger, a threat to someone, a body in danger from not eating: the
        # counselor is told at once; the student is thanked and told what to do now.
        follow_up = _follow_up(signal, present, urgent=True)
        assert follow_up is not None  # every concern not "own" has a follow-up
        return Decision(case=(priority, follow_up[0]), care_text=follow_up[1])
    reason = f"risk_{signal.level}"
    care_text = None
    if "suicide_pact" in signal.categories:
        reason, care_text = "suicide_pact", texts.CARE_PACT
    elif Concern.SAFEGUARDING in present and not present & _SCREEN:
        # The crisis flow's first lines say who was alerted; the reply here only believes.
        follow_up = _follow_up(signal, present, urgent=True)
        reason = follow_up[0] if follow_up is not None else reason
        care_text = texts.CARE_HURT
    crisis_case = (priority, reason)
    current = context.get("level") if flow == CRISIS_FLOW else None
    if isinstance(current, str) and _RANK.get(current, 0) >= _RANK[signal.level]:
        return Decision(case=crisis_case)
    return Decision(
        flow=CRISIS_FLOW,
        entry=_CRISIS_ENTRY[signal.level],
        case=crisis_case,
        care_text=care_text,
    )
