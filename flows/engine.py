"""The conversation engine: one pure, deterministic step per inbound input.

``FlowEngine.step(conversation, profile, input, signal, now)`` returns the new conversation and
the effects (replies, events). It reads no clock, database or network; the caller stores the
conversation and performs the effects after commit.

A step, in order:

1. Restore the stored conversation. ``None`` is a new student; a flow or state that no longer
   exists (after a deploy) resets kindly; a flow untouched for ``config.stale_after`` (except
   home and crisis) expires, so a check-in never mixes weeks.
2. Triage the risk signal (:mod:`flows.triage`): high/imminent switch to the crisis flow from
   anywhere, moderate suicidality starts the ASQ, safeguarding makes a routine case request.
   The crisis overrides everything below, including an input that would have been an answer.
3. System inputs are outside answers (see below); they reach only a state waiting for them.
4. Commands work from anywhere: ``help`` (then the same question again), ``cancel`` (or typed
   退出 / cancel / exit), and flow commands such as ``checkin``.
5. Access: a student who is not onboarded is led to onboarding; a student under the guardian-
   consent age without consent only gets crisis help and counselor contact.
6. The input is matched against the current question (:mod:`flows.answers`); anything that is
   not an answer gets a kind re-prompt: a short note and the same question again.

Outside answers. Some steps need the world to answer, e.g. "is this enrollment code valid?".
The flow then emits an event (``enrollment_code_submitted``) and moves to a state with
``input = "system"``. The caller checks the code and, in the same transaction, calls ``step``
again with ``Input.system("code_ok" | "code_invalid" | "code_expired" | "code_used")`` and the
updated profile (enrolled, guardian consent, age and grade from the roster). A system input
that no state waits for is ignored, so a late answer can never derail a student who moved on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flows import phrases, texts
from flows.answers import command_of, normalize, read
from flows.catalog import Catalog, load_catalog
from flows.check import reference_problems
from flows.config import FlowConfig
from flows.conversation import Conversation, Frame
from flows.definition import (
    ASQ,
    CRISIS,
    HOME,
    ONBOARDING,
    PARK_STATE,
    RESUME,
    TEXT_ANSWER,
    FlowDef,
    StateDef,
    load_flows,
    split_target,
)
from flows.effects import FlowChanged, StepResult
from flows.errors import DefinitionError, FlowError
from flows.inputs import Input
from flows.machine import FlowMachine
from flows.profile import StudentProfile
from flows.register import in_register
from flows.registry import Registry, default_registry
from flows.signals import RiskSignal
from flows.triage import decide, screen_due
from flows.turn import Turn

# Bound on pass-through states entered in one step; a cycle is a definition bug.
_MAX_HOPS = 64


class FlowEngine:
    """Steps conversations through the compiled flows."""

    def __init__(
        self,
        config: FlowConfig | None = None,
        *,
        flows: Mapping[str, FlowDef] | None = None,
        catalog: Catalog | None = None,
        registry: Registry | None = None,
    ) -> None:
        """Compile the flows; raises ``DefinitionError`` if a definition is broken.

        Args:
            config: Engine configuration (defaults as documented in ``FlowConfig``).
            flows: Flow definitions (default: the packaged TOML files).
            catalog: Text catalogs, used to match typed labels (default: the packaged ones).
            registry: Conditions, actions and params (default: the built-in ones).
        """
        self.config = config or FlowConfig()
        self.flows: Mapping[str, FlowDef] = dict(flows if flows is not None else load_flows())
        self.catalog = catalog or load_catalog()
        self.registry = registry or default_registry()
        problems = reference_problems(self.flows, self.registry)
        if problems:
            raise DefinitionError("\n".join(problems))
        self._machines = {
            name: FlowMachine(flow, self.registry) for name, flow in self.flows.items()
        }
        self._commands = {
            command: (flow.name, entry)
            for flow in self.flows.values()
            for command, entry in flow.commands.items()
        }
        self._cancel_words = {normalize(w) for w in self.catalog.alias_list(texts.ALIAS_CANCEL)}
        self._help_words = {normalize(w) for w in self.catalog.alias_list(texts.ALIAS_HELP)}

    @property
    def commands(self) -> frozenset[str]:
        """Every command the engine understands (without the slash)."""
        return frozenset({"help", "cancel", *self._commands})

    def machine(self, flow: str) -> FlowMachine:
        """The shared compiled machine of ``flow``."""
        return self._machines[flow]

    def step(
        self,
        conversation: Conversation | None,
        profile: StudentProfile,
        input: Input,
        signal: RiskSignal,
        now: datetime,
    ) -> StepResult:
        """Handle one input; pure and deterministic.

        Args:
            conversation: The stored conversation, or ``None`` for a student without one.
            profile: The student's facts.
            input: What arrived.
            signal: The risk detector's verdict on this message (``NO_SIGNAL`` for buttons
                and system inputs, which carry no text).
            now: The current time, timezone-aware.
        """
        if now.utcoffset() is None:
            raise FlowError("now must be timezone-aware")
        turn = Turn(profile=profile, config=self.config, signal=signal, now=now)
        fresh = self._restore(turn, conversation)
        started_in = None if fresh else turn.flow
        expired = not fresh and self._expired(conversation, turn)
        if expired:
            self._leave(turn)
            self._park(turn)
        self._handle(turn, input, fresh=fresh, expired=expired)
        if self._waiting_state(turn.flow, turn.state) is None:
            raise FlowError(f"step ended outside a waiting state: {turn.flow}.{turn.state}")
        if turn.flow != started_in:
            turn.emit(FlowChanged(turn.flow, turn.state, started_in))
        simple = self.config.simple_register(turn.profile.grade)
        effects = in_register(turn.effects, self.catalog, simple)
        return StepResult(turn.conversation(), effects, turn.profile.language)

    # -- the step, in order ------------------------------------------------------------------

    def _handle(self, turn: Turn, input: Input, *, fresh: bool, expired: bool) -> None:
        if self._triage(turn, input, fresh=fresh):
            return
        if expired:
            turn.say(texts.FLOW_EXPIRED)
        if input.kind == "system":
            if fresh:
                self._park(turn)  # an outside answer for nobody: nothing to say
            else:
                self._system(turn, input.value)
            return
        command = command_of(input, self._cancel_words, self._help_words)
        if command is not None and not self._holds(turn, command):
            self._command(turn, command, fresh=fresh)
            return
        if input.kind == "media":
            turn.say(texts.MEDIA)
        if fresh or expired:
            self._start_default(turn)
        elif self._gate(turn):
            return
        elif input.kind == "media":
            self._reprompt(turn)
        else:
            self._answer(turn, input)

    def _restore(self, turn: Turn, conversation: Conversation | None) -> bool:
        """Load ``conversation`` into the turn; ``True`` when the student starts afresh."""
        if conversation is None:
            return True
        state = self._waiting_state(conversation.flow, conversation.state)
        if state is None:
            turn.say(texts.FLOW_RESET)
            return True
        turn.flow, turn.state = conversation.flow, conversation.state
        turn.context = dict(conversation.context)
        paused = conversation.paused
        if paused is not None and self._waiting_state(paused.flow, paused.state) is not None:
            turn.paused = paused
        return False

    def _waiting_state(self, flow: str, state: str) -> StateDef | None:
        found = self.flows[flow].states.get(state) if flow in self.flows else None
        return found if found is not None and found.waits else None

    def _expired(self, conversation: Conversation | None, turn: Turn) -> bool:
        if conversation is None or conversation.updated_at is None:
            return False
        if turn.flow in (HOME, CRISIS):
            return False
        return turn.now - conversation.updated_at > self.config.stale_after

    def _triage(self, turn: Turn, input: Input, *, fresh: bool) -> bool:
        """Apply the risk signal; ``True`` when it took the conversation somewhere else."""
        due = screen_due(turn.profile, turn.now, self.config.screen_interval)
        decision = decide(
            turn.signal,
            None if fresh else turn.flow,
            turn.context,
            screen_due=due,
            newcomer=not turn.profile.onboarded,
            secrecy=input.kind == "text" and phrases.asks_secrecy(input.value),
        )
        if decision.case is not None:
            priority, reason = decision.case
            # Triage names the reason; how fast a person must act on it is configuration.
            turn.request_case(self.config.floor(priority, reason), reason)
        if decision.care_text and self._may_care(turn):
            turn.say(decision.care_text)
            turn.context["_cared_at"] = turn.now.isoformat()
            turn.cared = True
        if decision.flow is None:
            return False
        if decision.flow == ASQ and not fresh and turn.flow != HOME:
            turn.paused = Frame(turn.flow, turn.state, turn.context)
        else:
            if not fresh:
                self._leave(turn)
            turn.paused = None
        self._start(turn, decision.flow, decision.entry)
        return True

    def _may_care(self, turn: Turn) -> bool:
        # One caring reply covers a run of disclosures; repeating it every message would
        # sound mechanical. The case requests still go out every time.
        last = turn.context.get("_cared_at")
        if not isinstance(last, str):
            return True
        return turn.now - datetime.fromisoformat(last) >= self.config.care_repeat_after

    def _system(self, turn: Turn, value: str) -> None:
        state = self._state(turn)
        if state.input == "system" and value in state.options:
            turn.answer, turn.text = value, ""
            self._advance(turn)

    def _command(self, turn: Turn, name: str, *, fresh: bool) -> None:
        if name == "cancel":
            self._cancel(turn, fresh=fresh)
        elif name == "help":
            turn.say(texts.HELP)
            if turn.flow != CRISIS:  # in a crisis, the lines and the question only
                turn.say(self._commands_text(turn))
            self._continue(turn, fresh=fresh)
        elif name not in self._commands:
            turn.say(texts.COMMAND_UNKNOWN)
            self._continue(turn, fresh=fresh)
        else:
            flow, entry = self._commands[name]
            if self._allowed(self.flows[flow], turn):
                if not fresh:
                    self._leave(turn)
                turn.paused = None
                self._start(turn, flow, entry)
            elif turn.profile.onboarded:
                turn.say(texts.RESTRICTED)
                self._continue(turn, fresh=fresh)
            else:
                turn.say(texts.ONBOARD_FIRST)
                self._continue(turn, fresh=fresh or turn.flow == HOME)

    @staticmethod
    def _commands_text(turn: Turn) -> str:
        """The commands this student can use, for /help."""
        if not turn.profile.onboarded:
            return texts.HELP_COMMANDS_NEW
        return texts.HELP_COMMANDS_LIMITED if turn.restricted else texts.HELP_COMMANDS

    def _holds(self, turn: Turn, command: str) -> bool:
        """A high-risk message never takes the student out of the crisis flow; help still works."""
        return (
            turn.flow == CRISIS and turn.signal.level in ("high", "imminent") and command != "help"
        )

    def _cancel(self, turn: Turn, *, fresh: bool) -> None:
        if fresh or turn.flow == HOME:
            turn.say(texts.CANCEL_NOTHING)
            self._continue(turn, fresh=fresh)
            return
        flow = self.flows[turn.flow]
        state = flow.states.get(turn.state)
        cancel_text = (state.cancel_text if state else None) or flow.cancel_text
        self._leave(turn)
        turn.paused = None
        turn.say(cancel_text)
        self._go_home(turn)

    def _gate(self, turn: Turn) -> bool:
        """Move a student out of a flow they may not use; ``True`` if that happened."""
        if self._allowed(self.flows[turn.flow], turn):
            return False
        if turn.profile.onboarded:
            turn.say(texts.RESTRICTED)
            self._leave(turn)
        self._start_default(turn)
        return True

    def _answer(self, turn: Turn, input: Input) -> None:
        state = self._state(turn)
        reading = read(
            state,
            input,
            lambda key: self.catalog.phrasings(state.label_id(key), f"opt.{key}"),
        )
        if reading.key is None:
            # After a caring reply the question alone is enough; no "please choose" on top.
            if not (turn.cared and reading.problem == texts.CHOOSE_OPTION):
                turn.say(reading.problem or texts.CHOOSE_OPTION, reading.params)
            self._reprompt(turn)
            return
        if state.store:
            turn.context[state.store] = reading.text if reading.key == TEXT_ANSWER else reading.key
        turn.answer, turn.text = reading.key, reading.text
        self._advance(turn)

    # -- moving between states ---------------------------------------------------------------

    def _advance(self, turn: Turn) -> None:
        moved = self._machines[turn.flow].advance(turn)
        if moved is None:
            # Only a definition whose transitions don't cover an answer gets here; flows check
            # reports that. The student still gets the question again, never a dead end.
            turn.say(texts.CHOOSE_OPTION)
            self._reprompt(turn)
            return
        turn.state = moved
        self._enter(turn)

    def _enter(self, turn: Turn) -> None:
        """Run entry actions and texts until the conversation rests in a waiting state."""
        for _ in range(_MAX_HOPS):
            state = self._state(turn)
            for name in state.actions:
                self.registry.actions[name](turn)
            params = self._params(turn, state)
            for text_id in state.say:
                turn.say(text_id, params)
            self._ask(turn, state, params)
            if state.final:
                if self._handoff(turn, state.then):
                    return
                continue
            if state.waits:
                return
            turn.answer, turn.text = None, ""
            moved = self._machines[turn.flow].advance(turn)
            if moved is None:
                raise FlowError(f"{turn.flow}: pass-through state {turn.state!r} matched nothing")
            turn.state = moved
        raise FlowError(f"{turn.flow}: more than {_MAX_HOPS} pass-through states in one step")

    def _handoff(self, turn: Turn, then: str | None) -> bool:
        """Leave a finished flow for ``then``; ``True`` when the conversation is at rest."""
        if then == RESUME and turn.paused is not None:
            frame, turn.paused = turn.paused, None
            turn.flow, turn.state, turn.context = frame.flow, frame.state, dict(frame.context)
            turn.say(texts.FLOW_RESUME)
            self._reprompt(turn)
            return True
        turn.paused = None
        flow, entry = split_target(then if then and then != RESUME else HOME)
        if flow != HOME and not self._allowed(self.flows[flow], turn):
            turn.say(texts.RESTRICTED if turn.profile.onboarded else texts.ONBOARD_FIRST)
            flow, entry = HOME, None
        if flow == HOME and not turn.profile.onboarded:
            self._park(turn)
            return True
        turn.flow, turn.state, turn.context = flow, entry or self.flows[flow].entries[0], {}
        return False

    def _start(self, turn: Turn, flow: str, entry: str | None = None) -> None:
        turn.flow, turn.state, turn.context = flow, entry or self.flows[flow].entries[0], {}
        self._enter(turn)

    def _start_default(self, turn: Turn) -> None:
        if turn.profile.onboarded:
            self._start(turn, HOME)
        else:
            self._start(turn, ONBOARDING)

    def _go_home(self, turn: Turn) -> None:
        if turn.profile.onboarded:
            self._start(turn, HOME)
        else:
            self._park(turn)

    def _park(self, turn: Turn) -> None:
        # Quietly at the home menu; a student who is not onboarded is led to onboarding by
        # their next message.
        turn.flow, turn.state, turn.context, turn.paused = HOME, PARK_STATE, {}, None

    def _continue(self, turn: Turn, *, fresh: bool) -> None:
        if fresh:
            self._start_default(turn)
        else:
            self._reprompt(turn)

    def _leave(self, turn: Turn) -> None:
        """Run the current flow's ``on_leave`` actions: it is being left unfinished."""
        if turn.flow:
            for name in self.flows[turn.flow].on_leave:
                self.registry.actions[name](turn)

    # -- helpers -----------------------------------------------------------------------------

    def _state(self, turn: Turn) -> StateDef:
        return self.flows[turn.flow].states[turn.state]

    def _allowed(self, flow: FlowDef, turn: Turn) -> bool:
        if flow.requires == "none":
            return True
        if not turn.profile.onboarded:
            return False
        return flow.requires == "onboarded" or not turn.restricted

    def _params(self, turn: Turn, state: StateDef) -> dict[str, str]:
        params: dict[str, str] = {}
        for name in state.params:
            params.update(self.registry.params[name](turn))
        return params

    def _ask(self, turn: Turn, state: StateDef, params: Mapping[str, str]) -> None:
        if state.ask is None:
            return
        text_id = state.ask
        for condition, variant in state.variants:
            if self.registry.conditions[condition](turn):
                text_id = variant
                break
        buttons = state.buttons if state.input in ("choice", "text") else ()
        turn.say(text_id, params, buttons)

    def _reprompt(self, turn: Turn) -> None:
        """Ask the current question again (a state without a question stays silent)."""
        state = self._state(turn)
        self._ask(turn, state, self._params(turn, state))
