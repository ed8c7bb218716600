"""Detector speed, model included: messages/s, p50/p99 latency (each message's median over
the rounds), the ratio to plain jieba.lcut on the same messages (fastest round of each), the
lexicon-only detector beside it, a turn with a full conversation state, the worst
4,096-character messages we can construct, a 100,000-character one, start-up time and resident
memory. Every baseline is measured in the same run.

Run with `make bench` (or `.venv/bin/python bench/detector.py [--rounds N]`).
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HELDOUT = ROOT / "tests" / "lexicons" / "data"
LIMIT_MS = 20.0
SIZE = 4096

# Adversarial and ordinary messages, each repeated or cut to exactly 4,096 characters: dense
# self-harm hits, third persons before every hit, spacers and zero-width joiners inside words,
# Traditional characters, leetspeak, one clause with no punctuation, means and counts, a
# crisis at the very end, emoji, and nothing at all.
WORST: dict[str, str] = {
    "ordinary story, crisis at the end": "今天上课有点走神，后来和同学去操场打球。" * 210
    + "我现在就站在楼顶，准备跳下去",
    "我想自杀 repeated": "我想自杀 " * 820,
    "他说我想死 repeated": "他说我想死，" * 700,
    "spaced 自 杀": "自 杀 " * 1400,
    "zero-width 自\u200b杀": "自\u200b杀" * 1400,
    "Traditional 我想自殺": "我想自殺，好累。" * 520,
    "leet k1ll m3": "k1ll m3 " * 520,
    "mixed scripts": "我 想 s i 了 d1e。" * 300,
    "one clause of pills": "我吃了三十片安眠药" * 460,
    "hoarding counts": "攒了二十片 " * 700,
    "hostile acts": "同学打我，" * 820,
    "死 only": "死" * SIZE,
    "commas only": "，" * SIZE,
    "emoji means": "😭💊🔪🌉" * 1024,
    "English ideation": "i want to kill myself. " * 180,
    "English reported": "he said i want to die, " * 180,
    "spelled out": "w a n t t o d i e " * 230,
    "pact and farewell": "有没有人一起走 我把东西都送给同桌了 谢谢你们 " * 120,
    "eating counts": "我一天只吃两百卡 三天没吃东西了 " * 150,
}


def load_texts() -> list[str]:
    from lexicons.datasets import shared_eval_dir

    shared = shared_eval_dir(ROOT)
    paths = [shared / "risk-dev.tsv"] if shared else []
    texts: list[str] = []
    for path in [*paths, *sorted(HELDOUT.glob("heldout_*.tsv"))]:
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    return texts


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def best_of(run: Callable[[], object], times: int) -> float:
    """The fastest of ``times`` runs, in ms (the least disturbed by other processes)."""
    fastest = float("inf")
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - t0)
    return fastest * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    from lexicons.detector import Detector
    from lexicons.lexicon import load_lexicon
    from lexicons.model import load_model

    detector = Detector(load_lexicon(), load_model())
    detector.warm_up()
    detector.assess("我想自杀")
    startup = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lexicon_only = Detector(detector.lexicon, None)
    lexicon_only.matcher.segmenter = detector.matcher.segmenter  # share jieba, already loaded

    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    texts = load_texts()
    for text in texts:  # warm every path
        detector.assess(text)
        lexicon_only.assess(text)
        jieba.lcut(text)

    # The three passes alternate round by round, and each is judged by its fastest round: on a
    # shared machine a sequential run charges whichever pass ran during a burst of other work.
    latencies: list[list[float]] = [[] for _ in texts]
    rounds: dict[str, list[float]] = {"detector": [], "lexicon": [], "jieba": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        for index, text in enumerate(texts):
            t0 = time.perf_counter()
            detector.assess(text)
            latencies[index].append(time.perf_counter() - t0)
        rounds["detector"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for text in texts:
            lexicon_only.assess(text)
        rounds["lexicon"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for text in texts:
            jieba.lcut(text)
        rounds["jieba"].append(time.perf_counter() - start)
    detector_total, lexicon_total, jieba_total = (min(rounds[k]) for k in rounds)
    # Each message's median over the rounds: its own cost, not a neighbour's burst.
    typical = [statistics.median(each) for each in latencies]
    every = [lat for each in latencies for lat in each]

    # A turn with a full conversation state: the pipeline's call.
    now = datetime(2026, 3, 2, 16, tzinfo=UTC)
    state = None
    for index, text in enumerate(texts[:40]):
        state = detector.assess_turn(text, state, now + timedelta(minutes=index)).state
    turn = [
        best_of(lambda t=text: detector.assess_turn(t, state, now + timedelta(hours=1)), 3)
        for text in texts[:200]
    ]

    short = [lat for lat, text in zip(typical, texts, strict=True) if len(text) <= 200]
    count = len(texts)
    print(f"messages: {len(texts)} distinct x {args.rounds} rounds (fastest round of each pass)")
    print(
        f"detector (lexicon + model): {count / detector_total:,.0f} msg/s, "
        f"p50 {statistics.median(typical) * 1e3:.3f} ms, "
        f"p99 {percentile(typical, 0.99) * 1e3:.3f} ms "
        f"(every sample, contention included: p99 {percentile(every, 0.99) * 1e3:.3f} ms)"
    )
    print(f"detector, messages <= 200 chars: p99 {percentile(short, 0.99) * 1e3:.3f} ms (< 1 ms)")
    print(f"lexicon-only detector: {count / lexicon_total:,.0f} msg/s")
    print(f"jieba.lcut baseline: {count / jieba_total:,.0f} msg/s")
    print(f"ratio detector / jieba.lcut: {detector_total / jieba_total:.2f} (target <= 1.5)")
    print(f"ratio lexicon-only / jieba.lcut: {lexicon_total / jieba_total:.2f}")
    print(
        f"assess_turn with a {len(state.traces) if state else 0}-message state: "
        f"p50 {statistics.median(turn):.3f} ms, p99 {percentile(turn, 0.99):.3f} ms"
    )
    print(f"worst cases, {SIZE:,} characters each (best of 5; target < {LIMIT_MS:.0f} ms):")
    worst = 0.0
    for name, text in WORST.items():
        message = text[-SIZE:] if "end" in name else text[:SIZE]
        took = best_of(lambda m=message: detector.assess(m), 5)
        base = best_of(lambda m=message: jieba.lcut(m), 3)
        worst = max(worst, took)
        level = detector.assess(message).level.label
        flag = "" if took < LIMIT_MS else "  <-- over"
        print(f"  {name:36} {took:6.2f} ms  (jieba.lcut {base:6.2f} ms)  {level}{flag}")
    print(f"  slowest: {worst:.2f} ms")
    huge = ("今天很普通。" * 17000)[:100_000] + "我现在就站在楼顶"
    print(
        f"100,000 characters, crisis at the end: {best_of(lambda: detector.assess(huge), 3):.1f}"
        f" ms -> {detector.assess(huge).level.label}"
    )
    print(f"start-up (lexicon, automaton, model, jieba): {startup:.2f} s (target < 3 s)")
    print(
        f"resident memory: max RSS {rss_after / 1024:.0f} MiB "
        f"(+{(rss_after - rss_before) / 1024:.0f} MiB for the detector)"
    )


if __name__ == "__main__":
    main()
