"""Property: whatever a student sends, they stay in a valid state with a way out.

Random sequences of typed text, buttons (current, stale and bogus), commands, outside answers,
risk signals and long pauses, for students at every stage (new, restricted, anonymous, onboarded).
"""

from __future__ import annotations

from datetime import timedelta

from flowchat import Chat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.vocabulary import RISK_CATEGORIES, Concern
from flows import (
    NO_SIGNAL,
    Conversation,
    FlowEngine,
    Input,
    RiskSignal,
    StudentProfile,
)
from flows.triage import concerns

ENGINE = FlowEngine()
OPTION_KEYS = sorted(
    {key for flow in ENGINE.flows.values() for s in flow.states.values() for key in s.options}
)
LABELS = sorted(
    {ENGINE.catalog.text(f"opt.{key}", lang) for key in OPTION_KEYS for lang in ("zh", "en")}
    - {f"opt.{key}" for key in OPTION_KEYS}
)
COMMANDS = [*sorted(ENGINE.commands), "dance", "", "CheckIn"]
SYSTEM = ["code_ok", "code_invalid", "code_expired", "code_used", "nonsense"]
WORDS = [
    "退出",
    "cancel",
    "help",
    "帮助",
    "ABCDE-23456",
    "是",
    "no",
    "1",
    "３",
    "9",
    "0",
    "",
    " ",
    "😭",
]
CATEGORIES = sorted(RISK_CATEGORIES)

PROFILES = [
    StudentProfile(),  # brand new, no anonymous use
    StudentProfile(anonymous_allowed=True, language="en"),
    StudentProfile(grade=8, age=14, enrolled=True, guardian_consent=True, onboarded=True),
    StudentProfile(grade=5, age=11, enrolled=True, onboarded=True),  # restricted
    StudentProfile(grade=4, age=10, enrolled=True, guardian_consent=True, onboarded=True),
    StudentProfile(grade=12, age=18, enrolled=True, onboarded=True, safety_plan={"coping": "跑步"}),
]

inputs = st.one_of(
    st.builds(Input.text, st.sampled_from(WORDS + LABELS)),
    st.builds(Input.text, st.text(max_size=40)),
    st.builds(Input.text, st.just("很" * 4096)),
    st.builds(Input.button, st.sampled_from([*OPTION_KEYS, "bogus", "7"])),
    st.builds(Input.command, st.sampled_from(COMMANDS)),
    st.builds(Input.system, st.sampled_from(SYSTEM)),
    st.builds(Input.media, st.sampled_from(["sticker", "voice", "photo"])),
)
signals = st.one_of(
    st.just(NO_SIGNAL),
    st.builds(
        RiskSignal,
        st.sampled_from(["none", "low", "moderate", "high", "imminent"]),
        st.frozensets(st.sampled_from(CATEGORIES), max_size=3),
    ),
)
steps = st.lists(st.tuples(inputs, signals, st.booleans()), min_size=1, max_size=25)


def own_crisis(risk: RiskSignal) -> bool:
    """A high signal is the student's own crisis unless it is only about someone else's danger
    (a friend, a threat to others) or the body's (eating), beside everyday distress."""
    present = concerns(risk)
    return bool(present & {Concern.SUICIDALITY, Concern.SAFEGUARDING}) or not present & {
        Concern.PEER, Concern.OTHERS, Concern.EATING
    }  # fmt: skip


def assert_at_rest(conversation: Conversation) -> None:
    flow = ENGINE.flows[conversation.flow]
    state = flow.states[conversation.state]
    assert state.waits, (conversation.flow, conversation.state)
    assert Conversation.from_json(conversation.to_json()) == conversation
    if conversation.paused is not None:
        assert ENGINE.flows[conversation.paused.flow].states[conversation.paused.state].waits


def assert_ways_out(chat: Chat) -> None:
    """From here, /help always answers with help and /cancel always leaves the flow."""
    helped = ENGINE.step(
        chat.conversation, chat.profile, Input.command("help"), NO_SIGNAL, chat.now
    )
    assert helped.replies[0].text_id in ("help.text", "simple.help.text")
    assert_at_rest(helped.conversation)
    left = ENGINE.step(chat.conversation, chat.profile, Input.text("退出"), NO_SIGNAL, chat.now)
    assert left.replies, "cancel must always say something"
    assert left.conversation.flow in ("home", "onboarding")
    assert left.conversation.paused is None


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(profile=st.sampled_from(PROFILES), script=steps)
def test_any_input_sequence_keeps_a_valid_state_with_a_way_out(
    profile: StudentProfile, script: list[tuple[Input, RiskSignal, bool]]
) -> None:
    chat = Chat(ENGINE, profile)
    for input, risk, pause in script:
        if pause:
            chat.now += timedelta(hours=30)
        result = chat.send(input, risk)
        assert chat.conversation is not None
        assert_at_rest(chat.conversation)
        names = [event.name for event in result.events]
        if risk.level in ("high", "imminent"):
            priority = "urgent" if risk.level == "high" else "emergency"
            cases = [e.data for e in result.events if e.name == "case_requested"]
            assert any(case["priority"] == priority for case in cases)
            if own_crisis(risk):
                assert chat.conversation.flow in ("crisis", "asq") or input.kind == "system"
        quiet_ok = input.kind == "system" or "enrollment_code_submitted" in names
        assert result.replies or quiet_ok, (input, chat.where)
        assert_ways_out(chat)
    assert all(ENGINE.machine(name).attached_models == 0 for name in ENGINE.flows)
