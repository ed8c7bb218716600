"""Context rules: from raw hits to findings with a level, a category and a reason.

Each rule is a small function over one message's hits. Person, negation and framing decide
whether a self-directed hit is about the student at all; time, completion and combinations
move its level. Every finding names the rule that produced it, for the counselor and for tests.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.vocabulary import SELF_DIRECTED, RiskLevel
from lexicons.matching import Hit, gap

NONE, LOW, MODERATE, HIGH, IMMINENT = (
    RiskLevel.NONE, RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH, RiskLevel.IMMINENT,
)  # fmt: skip
PERSON_CUES = ("first_person", "third_person", "second_person")
IDEATION = frozenset({"active_ideation", "passive_ideation"})
FRAMES = frozenset({"fiction", "news", "academic"})
# Words in a pattern that make it first person on its own ("kill myself", "我想死").
_SELF_WORDS = frozenset({"i", "me", "my", "myself"})


@dataclass(frozen=True)
class Finding:
    """A conclusion about the message: level, category, the rule, and the hits behind it."""

    level: RiskLevel
    category: str
    rule: str
    hits: tuple[Hit, ...]


@dataclass
class Message:
    """One message's hits, indexed for the rules.

    Every lookup the rules make per hit goes through an index (by category and clause), so a
    message costs time in proportion to its hits, not to their square.
    """

    text: str
    hits: list[Hit]
    cues: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    risks: list[Hit] = field(default_factory=list)
    # The rules ask the same questions about the same hits many times: answer once.
    memo: dict[tuple[str, int], object] = field(default_factory=dict)
    clauses: dict[tuple[str, int], list[Hit]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for hit in self.hits:
            if hit.level is None:
                self.cues[hit.category].append(hit)
                self.clauses[(hit.category, hit.clause)].append(hit)
            else:
                self.risks.append(hit)

    def has(self, category: str) -> bool:
        """Whether the message has a cue of this category anywhere."""
        return bool(self.cues.get(category))

    def in_clause(self, category: str, clause: int) -> list[Hit]:
        """Cues of a category in one clause, in order."""
        return self.clauses.get((category, clause), [])

    def before(self, hit: Hit, category: str, max_gap: int) -> Hit | None:
        """The nearest cue of ``category`` ending before ``hit`` in its clause, within a gap."""
        best = None
        for cue in self.in_clause(category, hit.clause):
            close = cue.end <= hit.start and gap(self.text, cue.end, hit.start) <= max_gap
            if close and (best is None or cue.end > best.end):
                best = cue
        return best

    def near(self, hit: Hit, category: str, max_gap: int) -> Hit | None:
        """A cue of ``category`` on either side of ``hit`` in its clause, within a gap."""
        for cue in self.in_clause(category, hit.clause):
            left, right = (cue, hit) if cue.end <= hit.start else (hit, cue)
            if (cue.start >= hit.end or cue.end <= hit.start) and gap(
                self.text, left.end, right.start
            ) <= max_gap:
                return cue
        return None

    def between(self, a: Hit, b: Hit, categories: Iterable[str]) -> bool:
        """Whether a cue of any of ``categories`` lies between two hits."""
        return any(
            a.end <= c.start and c.end <= b.start
            for category in categories
            for clause in range(a.clause, b.clause + 1)
            for c in self.in_clause(category, clause)
        )

    def subjects(self) -> Subjects:
        """The person cues that can be a subject, indexed once per message."""
        found = self.memo.get(("subjects", 0))
        if found is None:
            found = self.memo[("subjects", 0)] = Subjects.of(self)
        return found  # type: ignore[return-value]


# Object and possessive pronouns ("found her pills", "told him"): never a subject.
_OBJECTS = frozenset({"him", "her", "them", "his", "their"})


@dataclass(frozen=True)
class Subjects:
    """Person cues that can be a subject (no possessors, no addressees), by clause.

    ``leads`` holds, for every clause with a subject other than "you", that clause and its
    first such cue, in clause order: what a later clause without a subject inherits.
    """

    by_clause: dict[int, list[Hit]]
    lead_clauses: list[int]
    leads: list[Hit]

    @classmethod
    def of(cls, msg: Message) -> Subjects:
        """Index the subjects of ``msg``."""
        third_starts = {c.start for c in msg.cues.get("third_person", ())}
        eligible = sorted(
            (
                c
                for category in PERSON_CUES
                for c in msg.cues.get(category, ())
                if not _possessive(msg, c, third_starts)
                and not _addressee(msg, c)
                and c.entry.pattern not in _OBJECTS
            ),
            key=lambda c: c.start,
        )
        by_clause: dict[int, list[Hit]] = defaultdict(list)
        for cue in eligible:
            by_clause[cue.clause].append(cue)
        lead_clauses, leads = [], []
        for clause in sorted(by_clause):
            first = next((c for c in by_clause[clause] if c.category != "second_person"), None)
            if first is not None:
                lead_clauses.append(clause)
                leads.append(first)
        return cls(dict(by_clause), lead_clauses, leads)

    def inherited_by(self, clause: int) -> Hit | None:
        """The subject of the nearest earlier clause that has one (never a "you")."""
        index = bisect.bisect_left(self.lead_clauses, clause) - 1
        return self.leads[index] if index >= 0 else None


def _possessive(msg: Message, cue: Hit, third_starts: set[int]) -> bool:
    """我妈的药 / my mom's pills / 我奶奶吃了药: a possessor, not the one acting."""
    if msg.text.startswith(("的", "'s"), cue.end):
        return True
    # 我奶奶 / 我同学: a 我 glued to the person it names is "my", and that person is the subject.
    return cue.category == "first_person" and cue.end in third_starts


_TO_SOMEONE = ("跟", "和", "给", "对", "告诉", "问", "求", "谢谢", "to ", "tell ", "told ", "ask ")


# "do you know …", 你知道…吗: the one asked, whatever the question is about.
_ASKED = (" know", " knew", "知道", "晓得", " tell me", "告诉我")


def _addressee(msg: Message, cue: Hit) -> bool:
    """跟你说 / 告诉你 / to you / do you know: the person spoken to, not the one who acts."""
    if cue.category == "first_person":
        return False
    before = msg.text[max(0, cue.start - 5) : cue.start]
    asked = cue.category == "second_person" and msg.text.startswith(_ASKED, cue.end)
    return before.endswith(_TO_SOMEONE) or asked


_FOR = ("给", "帮", "替", "for ")


def _for_someone(msg: Message, hit: Hit) -> bool:
    """A thing got for someone else: 给外婆买了药, pills for my grandma."""
    for cue in msg.in_clause("third_person", hit.clause):
        if cue.end <= hit.start:
            before = msg.text[max(0, cue.start - 4) : cue.start]
            if before.endswith(_FOR):
                return True
    return False


def person(msg: Message, hit: Hit) -> str:
    """Whose experience a hit describes (memoised; see ``_person``)."""
    key = ("person", id(hit))
    found = msg.memo.get(key)
    if found is None:
        found = msg.memo[key] = _person(msg, hit)
    return found  # type: ignore[return-value]


def _modifier(cue: Hit, hit: Hit) -> bool:
    """奶奶坟前 / 我妈药箱: a noun for a person right before a place or a thing is its owner."""
    return (
        cue.end == hit.start
        and hit.category in ("location", "means_method")
        and cue.category == "third_person"
        and len(cue.entry.pattern) >= 2
    )


def _person(msg: Message, hit: Hit) -> str:
    """Whose experience a hit describes: first, second, third, or none (unstated).

    In the hit's own clause the nearest subject before it decides. A clause without one
    inherits the subject of the nearest earlier clause that has one: its *first* person cue,
    because Chinese and English both put the subject first (我把书送给同桌了 is about 我).
    """
    if _inherent_first(hit):
        return "first"  # "they'd be better off without me" is about the student
    if hit.category in ("means_method", "location") and _for_someone(msg, hit):
        return "third"  # 我给外婆买了药 / got pills for my grandma: theirs, not the student's
    if any(c.end <= hit.start for c in msg.in_clause("role", hit.clause)):
        return "third"  # 我演一个喝毒药的公主: the character's, in a play
    subjects = msg.subjects()
    for cue in reversed(subjects.by_clause.get(hit.clause, ())):
        if cue.end <= hit.start and not _modifier(cue, hit):
            return cue.category.split("_")[0]
    # The bot is "you"; a "you" never carries over to the next clause as its subject.
    subject = subjects.inherited_by(hit.clause)
    return subject.category.split("_")[0] if subject is not None else "none"


def _inherent_first(hit: Hit) -> bool:
    pattern = hit.entry.pattern
    if hit.category == "farewell" and ("你" in pattern or "you" in pattern.split()):
        return True  # 以后拜托你了 / thank you for everything: the speaker is the one leaving
    return "我" in pattern or bool(_SELF_WORDS & set(pattern.split()))


def negated(msg: Message, hit: Hit) -> Hit | None:
    """A negation governing ``hit``: close before it, with no new subject or 'but' between."""
    cue = msg.before(hit, "negation", 3)
    if cue is None or msg.between(cue, hit, ("contrast", *PERSON_CUES)):
        return None
    return cue


# Days ago, and over. Anything nearer (昨晚, 今天早上, 刚才) may still be poisoning the
# student now (paracetamol kills days later), so it stays an attempt under way.
_DAYS_AGO = frozenset({"上周", "前几天", "这几天", "这两天", "last week", "the other day"})


def days_ago(msg: Message, clause: int) -> bool:
    """The clause says it happened days ago (上周, the other day), not just now."""
    return any(c.entry.pattern in _DAYS_AGO for c in msg.in_clause("timing_recent", clause))


# Bare 真的 / really is an intensifier as often as an assurance; these are only assurances.
_WEAK_SINCERITY = frozenset({"真的", "really"})


def earnest(msg: Message) -> bool:
    """Said in earnest: 说真的 / 不是开玩笑 / 这次不是说说而已, with no joke marker."""
    strong = [c for c in msg.cues.get("sincerity", ()) if c.entry.pattern not in _WEAK_SINCERITY]
    return bool(strong) and not msg.has("joke")


# A frame reaches this many clauses past its own, within one sentence.
_FRAME_REACH = 2
_SENTENCE_ENDS = frozenset("。！？!?\n…")


def framed(msg: Message, hit: Hit | None = None) -> str | None:
    """The fiction, news or academic frame governing ``hit`` (or anywhere, without one).

    A frame governs its own clause and the next two of the same sentence: in "中午把漫画书
    送给她了。现在家里没人，我把药都倒出来了" the comics do not make the pills a story.
    """
    for category in ("fiction", "news", "academic"):
        for cue in msg.cues.get(category, ()):
            if hit is None or _governs(msg, cue, hit):
                return category
    return None


def _governs(msg: Message, cue: Hit, hit: Hit) -> bool:
    if cue.clause == hit.clause:
        return True
    if not 0 < hit.clause - cue.clause <= _FRAME_REACH:
        return False
    return not any(ch in _SENTENCE_ENDS for ch in msg.text[cue.end : hit.start])


def own(msg: Message, hit: Hit) -> bool:
    """Whether a hit is the student's own: first person (or unstated), not negated, no frame."""
    key = ("own", id(hit))
    found = msg.memo.get(key)
    if found is None:
        found = msg.memo[key] = _own(msg, hit)
    return bool(found)


def _own(msg: Message, hit: Hit) -> bool:
    return (
        person(msg, hit) in ("first", "none")
        and negated(msg, hit) is None
        and framed(msg, hit) is None
    )


def _cap(level: RiskLevel, cap: RiskLevel) -> RiskLevel:
    return level if level <= cap else cap


def standalone(msg: Message) -> tuple[list[Finding], list[Hit], list[Hit]]:
    """Findings for each risk hit alone, plus live (first-person) and negated self hits."""
    findings: list[Finding] = []
    live: list[Hit] = []
    negations: list[Hit] = []
    hedged_msg = msg.has("sincerity")
    for hit in msg.risks:
        assert hit.level is not None
        frame = framed(msg, hit)
        level, category = hit.level, hit.category
        who = person(msg, hit)
        if hit.category in SELF_DIRECTED or hit.category in (
            "violence_to_others",
            "eating_disorder",
        ):
            if negated(msg, hit) is not None:
                negations.append(hit)
                continue
            if who == "second" and hit.category in SELF_DIRECTED:
                continue  # "你去死吧": an insult or banter at someone else
            if who == "third":
                if frame or msg.has("hypothetical"):
                    continue
                if hit.category == "eating_disorder" and not msg.has("peer_agent"):
                    continue  # 我爷爷术后要吃泻药: an adult's medicine, not a friend's disorder
                if level >= MODERATE:
                    findings.append(
                        Finding(
                            _cap(max(level, MODERATE), HIGH if level is IMMINENT else MODERATE),
                            "peer_concern",
                            "third_person",
                            (hit,),
                        )
                    )
                elif level is LOW:
                    findings.append(Finding(LOW, category, "third_person", (hit,)))
                continue
            if who == "none" and frame:
                continue
            if who == "none" and msg.has("hypothetical"):
                level = _cap(level, LOW)
        elif hit.category in ("bullying", "abuse", "grooming", "sexual_abuse", "peer_concern"):
            if negated(msg, hit) is not None:
                continue
            if frame and who != "first":
                continue
        instigation = msg.before(hit, "instigation", 2)
        if instigation is not None and hit.category in IDEATION:
            findings.append(Finding(MODERATE, "bullying", "told_to_die", (instigation, hit)))
            continue
        if category in ("means_method", "location") and level is LOW:
            live.append(hit)  # an object (药, rope): it only counts in combination
            continue
        if category == "location" and any(
            own(msg, c) for c in msg.in_clause("leisure", hit.clause)
        ):
            # "at the bridge taking photos of the sunset", 在桥上等朋友: being at the place
            # is explained; it still counts with a wish or a means (the combinations).
            live.append(hit)
            continue
        level, category, rule = _time_and_tone(msg, hit, level, category, hedged_msg)
        findings.append(Finding(level, category, rule, (hit,)))
        if hit.category in SELF_DIRECTED:
            live.append(hit)
    return findings, live, negations


def _habitual(msg: Message, hit: Hit) -> bool:
    """戒不掉 / 经常 / 每次 / again and again: self-harm that is still going on."""
    return bool(msg.in_clause("habit", hit.clause))


def _time_and_tone(
    msg: Message, hit: Hit, level: RiskLevel, category: str, sincere: bool
) -> tuple[RiskLevel, str, str]:
    """Past, recent and present time; hedges and jokes."""
    clause = hit.clause
    if category in ("self_harm", "attempt"):
        if msg.in_clause("timing_past", clause) and not msg.in_clause("timing_recent", clause):
            return MODERATE, "past_attempt", "past_time"
        if msg.before(hit, "rumination", 4) or msg.before(hit, "desire", 4):
            return MODERATE, "self_harm", "self_harm_thoughts"
        if msg.in_clause("timing_now", clause) and msg.in_clause("completion", clause):
            return IMMINENT, "attempt", "self_harm_now"
        if days_ago(msg, clause):
            return HIGH, category, "recent_self_harm"  # survived days ago: urgent, not under way
        if msg.in_clause("timing_recent", clause) or msg.in_clause("completion", clause):
            return max(level, HIGH), category, "recent_self_harm"
    if category == "past_attempt":
        return level, category, "lexicon"
    past = msg.in_clause("timing_past", clause) and not msg.in_clause("timing_recent", clause)
    if category == "active_ideation" and past and not msg.in_clause("habit", clause):
        return _cap(level, MODERATE), category, "past_ideation"  # 小时候想过自杀
    if category == "self_harm" and level is MODERATE and not past and _habitual(msg, hit):
        return HIGH, category, "ongoing_self_harm"  # 我一直戒不掉自残
    threat = category == "violence_to_others" and level is MODERATE
    if threat and not sincere and msg.has("joke"):
        return LOW, category, "joking_tone"  # 你再迟到我就杀了你 哈哈: banter, not a threat
    if level is HIGH and category in ("active_ideation", "self_harm") and not sincere:
        if msg.in_clause("hedge", clause):
            return MODERATE, category, "hedged"
        if msg.has("joke"):
            # "kms lol": a joke, as far as the words go. Low, in the grey zone: the bot asks
            # the screening questions (rate-limited), and the student's answer decides.
            return LOW, category, "joking_tone"
    return level, category, "lexicon"
