"""The risk detector: ``assess(text, window, lexicon)``, pure and deterministic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.vocabulary import RiskLevel
from lexicons.combinations import Features, combine, features
from lexicons.ideation import ideation_rules, in_earnest
from lexicons.lexicon import Lexicon, load_lexicon
from lexicons.matching import Hit, Matcher
from lexicons.means import means_rules
from lexicons.normalize import Normalized
from lexicons.rules import IDEATION, MODERATE, Finding, Message, standalone
from lexicons.safeguarding import safeguarding_rules

# Counselor-facing reasons, by rule. Chinese first: the district's counselors read Chinese.
REASONS = {
    "lexicon": "词库信号 (lexicon signal)",
    "third_person": "关于他人的担忧 (concern about someone else)",
    "past_time": "过去的自伤或尝试 (past self-harm or attempt)",
    "recent_self_harm": "近期自伤 (recent self-harm)",
    "self_harm_now": "正在自伤 (self-harm happening now)",
    "hedged": "有保留的表达 (hedged wording)",
    "joking_tone": "玩笑语气，但仍需关注 (joking tone, still a concern)",
    "told_to_die": "被人叫去死：欺凌 (told to die: bullying)",
    "desire_plus_death": "主动表达想死 (active wish to die)",
    "desire_plus_death_hedged": "想死，但有保留 (wish to die, hedged)",
    "desire_plus_death_joking": "想死，玩笑语气 (wish to die, joking tone)",
    "not_want_to_live": "不想活 (does not want to live)",
    "method_question": "询问方法或剂量 (asks about a method or dose)",
    "means_taken": "已经服用/实施 (means already taken or used)",
    "gathering_means": "在囤积手段 (gathering means)",
    "means_ready": "手段已备好 (means ready)",
    "means_with_time": "有手段且有时间 (means or plan with a time)",
    "ideation_with_means": "有意念且有手段或计划 (ideation with means or a plan)",
    "ideation_with_time": "有意念且有时间 (ideation with a time)",
    "final_farewell": "告别 (final farewell)",
    "at_the_place": "身处危险地点 (at a dangerous place)",
    "at_a_high_place_now": "此刻在高处 (at a high place right now)",
    "ambivalence": "矛盾：说不想死但很痛苦 (ambivalence: does not want to die, but suffers)",
    "wish_to_vanish": "希望消失或不存在 (wish to vanish or not exist)",
    "if_i_were_gone": "假如自己不在了 (if I were gone)",
    "better_off_dead": "死了更好 (better off dead)",
    "life_is_futile": "活着没意义 (life feels pointless)",
    "jump_from_height": "从高处跳下 (jumping from a height)",
    "past_self_harm": "过去的自伤 (past self-harm)",
    "self_harm_thoughts": "有自伤的念头 (thoughts of self-harm)",
    "self_harm_act": "自伤行为 (self-harm)",
    "hurt_by_someone": "被他人伤害 (hurt by someone)",
    "secret_contact": "成人秘密接触、索要照片或见面 (secret contact, photos or meeting)",
    "revenge": "报复他人 (revenge on others)",
    "preoccupied_with_death": "反复想到死 (preoccupied with death)",
    "preoccupied_with_means": "反复想着手段 (preoccupied with the means)",
    "ideation_with_resolve": "有意念且已下决心 (ideation with resolve)",
    "resolved_to_die": "已下决心去死 (resolved to die)",
    "farewell_preparations": "告别准备 (farewell preparations)",
    "acquired_means": "已弄到手段 (has got hold of the means)",
    "bleeding": "自伤部位在流血 (bleeding from a self-harm site)",
    "bleeding_now": "正在流血且有其他症状 (bleeding now, with other signs)",
    "urge_with_means": "有自伤冲动且手段就在手边 (urge to self-harm with the means at hand)",
    "ideation_in_earnest": "认真表达的轻生念头 (a wish to die said in earnest)",
    "peer_hurt": "同伴在家被伤害 (a peer hurt at home)",
    "window": "结合前几条消息 (together with earlier messages)",
}
LEVEL_NAMES = {
    RiskLevel.NONE: "无", RiskLevel.LOW: "低", RiskLevel.MODERATE: "中",
    RiskLevel.HIGH: "高", RiskLevel.IMMINENT: "危急",
}  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a span of what the student wrote and the rule or entry behind it.

    ``message`` is 0 for the assessed text and -1, -2 … for earlier window messages.
    """

    start: int
    end: int
    text: str
    category: str
    rule: str
    source: str
    message: int = 0


@dataclass(frozen=True)
class RiskAssessment:
    """The detector's verdict on one message."""

    level: RiskLevel
    categories: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    explanation: str
    detector_version: str

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (evidence includes the student's words: keep it out of logs)."""
        return {
            "level": self.level.label,
            "categories": list(self.categories),
            "evidence": [
                {
                    "start": e.start,
                    "end": e.end,
                    "text": e.text,
                    "category": e.category,
                    "rule": e.rule,
                    "source": e.source,
                    "message": e.message,
                }
                for e in self.evidence
            ],
            "explanation": self.explanation,
            "detector_version": self.detector_version,
        }


class Detector:
    """A compiled lexicon with its matcher; build once, call ``assess`` many times."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.matcher = Matcher(lexicon)

    def warm_up(self) -> None:
        """Load jieba's dictionary now, not on the first message."""
        self.matcher.segmenter.warm_up()

    def _analyse(self, text: str) -> tuple[Normalized, Message, list[Finding], Features]:
        normalized = self.lexicon.normalizer(text)
        msg = Message(normalized.text, self.matcher.hits(normalized.text))
        findings, live, negations = standalone(msg)
        findings += ideation_rules(msg)
        findings += in_earnest(msg, findings)
        findings += means_rules(msg)
        findings += safeguarding_rules(msg)
        feats = features(msg, live, findings)
        findings += combine([feats], msg)
        findings += _ambivalence(msg, negations, findings)
        return normalized, msg, findings, feats

    def assess(self, text: str, window: Sequence[str] = ()) -> RiskAssessment:
        """Assess ``text``, also weighing the student's recent ``window`` (oldest first)."""
        normalized, _msg, findings, feats = self._analyse(text)
        evidence = _evidence(findings, normalized, text, 0)
        if window and not feats.empty:
            earlier = [self._analyse(previous) for previous in window[-5:]]
            joint = combine([e[3] for e in earlier] + [feats])
            best = max((f.level for f in findings), default=RiskLevel.NONE)
            for finding in joint:
                if finding.level > best:
                    findings.append(
                        Finding(finding.level, finding.category, "window", finding.hits)
                    )
                    evidence += _window_evidence(finding, earlier, normalized, text, window)
        return _verdict(findings, evidence, self.lexicon.version)


_NEVER = ("从没", "从来没", "从未", "从来不", "never")


def _ambivalence(msg: Message, negations: list[Hit], findings: list[Finding]) -> list[Finding]:
    """我不想死，可是好痛苦: a negated wish to die next to pain.

    Despair (a passive wish, hopelessness) beside the denial is ambivalence on its own ("I
    don't want to kill myself, I just want the pain to stop"); everyday distress counts only
    with a "but", so "I'd never kill myself, just stressed" stays quiet.
    """
    if not negations:
        return []
    despair = ("hopelessness", *IDEATION)
    # 我从没想过自杀，只是好烦: a denial that it ever crossed their mind, then everyday
    # stress, is not ambivalence; 我不想死，可是好痛苦 is.
    cues = [msg.before(n, "negation", 3) for n in negations]
    never = any(c is not None and c.entry.pattern.startswith(_NEVER) for c in cues)
    kinds = (*despair, "distress") if msg.has("contrast") and not never else despair
    suffering = [f for f in findings if f.category in kinds]
    if not suffering:
        return []
    return [Finding(MODERATE, "ambivalence", "ambivalence", (negations[0], *suffering[0].hits))]


def _evidence(
    findings: list[Finding], normalized: Normalized, original: str, message: int
) -> tuple[Evidence, ...]:
    out = []
    seen = set()
    for finding in sorted(findings, key=lambda f: -f.level):
        if finding.level is RiskLevel.NONE:
            continue
        for hit in finding.hits:
            start, end = normalized.original_span(hit.start, hit.end)
            key = (start, end, finding.rule)
            if key in seen or start >= end:
                continue
            seen.add(key)
            out.append(
                Evidence(
                    start,
                    end,
                    original[start:end],
                    finding.category,
                    finding.rule,
                    hit.entry.source,
                    message,
                )
            )
    return tuple(out)


def _window_evidence(
    finding: Finding,
    earlier: list[tuple[Normalized, Message, list[Finding], Features]],
    normalized: Normalized,
    text: str,
    window: Sequence[str],
) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    recent = list(window[-5:])
    for hit in finding.hits:
        for index, (norm, msg, _, _) in enumerate(earlier):
            if hit in msg.hits:
                start, end = norm.original_span(hit.start, hit.end)
                offset = index - len(earlier)
                out.append(
                    Evidence(
                        start,
                        end,
                        recent[index][start:end],
                        finding.category,
                        "window",
                        hit.entry.source,
                        offset,
                    )
                )
                break
        else:
            start, end = normalized.original_span(hit.start, hit.end)
            out.append(
                Evidence(
                    start, end, text[start:end], finding.category, "window", hit.entry.source, 0
                )
            )
    return tuple(out)


def _verdict(
    findings: list[Finding], evidence: tuple[Evidence, ...], version: str
) -> RiskAssessment:
    level = max((f.level for f in findings), default=RiskLevel.NONE)
    categories = tuple(sorted({f.category for f in findings if f.level >= RiskLevel.LOW}))
    top = [f for f in findings if f.level == level and level > RiskLevel.NONE]
    rules = list(dict.fromkeys(f.rule for f in top))
    if not top:
        explanation = "未发现风险信号 (no risk signal found)"
    else:
        reasons = "；".join(REASONS.get(rule, rule) for rule in rules)
        explanation = (
            f"{LEVEL_NAMES[level]}风险 ({level.label}): {reasons}。类别 (categories): "
            + ", ".join(sorted({f.category for f in top}))
        )
    return RiskAssessment(level, categories, evidence, explanation, version)


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector over the packaged lexicon, built once per process."""
    return Detector(load_lexicon())


def assess(text: str, window: Sequence[str] = (), lexicon: Lexicon | None = None) -> RiskAssessment:
    """Assess one message with the packaged lexicon, or with ``lexicon`` when given."""
    detector = default_detector() if lexicon is None else _detector_for(lexicon)
    return detector.assess(text, window)


_DETECTORS: dict[int, Detector] = {}


def _detector_for(lexicon: Lexicon) -> Detector:
    key = id(lexicon)
    detector = _DETECTORS.get(key)
    if detector is None or detector.lexicon is not lexicon:
        detector = Detector(lexicon)
        _DETECTORS[key] = detector
    return detector
