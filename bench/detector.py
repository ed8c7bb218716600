"""Detector speed: messages/s, p50/p99 latency, the ratio to plain jieba.lcut, a 4,096-character
message, start-up time and resident memory. Baselines are measured in the same run.

Run with `make bench` (or `.venv/bin/python bench/detector.py [--rounds N]`).
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "risk-dev.tsv"
HELDOUT = ROOT / "tests" / "lexicons" / "data"


def load_texts() -> list[str]:
    texts: list[str] = []
    for path in [DEV, *sorted(HELDOUT.glob("heldout_*.tsv"))]:
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                texts += [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    return texts


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    from lexicons.detector import Detector
    from lexicons.lexicon import load_lexicon

    detector = Detector(load_lexicon())
    detector.warm_up()
    detector.assess("我想自杀")
    startup = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    texts = load_texts()
    for text in texts:  # warm both paths
        detector.assess(text)
        jieba.lcut(text)

    latencies: list[float] = []
    start = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            t0 = time.perf_counter()
            detector.assess(text)
            latencies.append(time.perf_counter() - t0)
    detector_total = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(args.rounds):
        for text in texts:
            jieba.lcut(text)
    jieba_total = time.perf_counter() - start

    short = [
        lat for lat, text in zip(latencies, texts * args.rounds, strict=True) if len(text) <= 200
    ]
    long_text = ("今天上课有点走神，后来和同学去操场打球。" * 300)[:4000] + "我现在就站在楼顶"
    long_text = long_text[:4096]
    long_runs = []
    for _ in range(20):
        t0 = time.perf_counter()
        detector.assess(long_text)
        long_runs.append(time.perf_counter() - t0)
    jieba_long = []
    for _ in range(20):
        t0 = time.perf_counter()
        jieba.lcut(long_text)
        jieba_long.append(time.perf_counter() - t0)

    count = len(texts) * args.rounds
    print(f"messages: {len(texts)} distinct x {args.rounds} rounds = {count}")
    print(
        f"detector: {count / detector_total:,.0f} msg/s, "
        f"p50 {statistics.median(latencies) * 1e3:.3f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1e3:.3f} ms"
    )
    print(f"detector, messages <= 200 chars: p99 {percentile(short, 0.99) * 1e3:.3f} ms")
    print(f"jieba.lcut baseline: {count / jieba_total:,.0f} msg/s")
    print(f"ratio detector / jieba.lcut: {detector_total / jieba_total:.2f} (target <= 1.5)")
    print(
        f"4,096-char message: median {statistics.median(long_runs) * 1e3:.2f} ms "
        f"(jieba.lcut {statistics.median(jieba_long) * 1e3:.2f} ms; target < 20 ms)"
    )
    print(f"start-up (load lexicon, build automaton, load jieba): {startup:.2f} s (target < 3 s)")
    print(
        f"resident memory: max RSS {rss_after / 1024:.0f} MiB "
        f"(+{(rss_after - rss_before) / 1024:.0f} MiB for the detector)"
    )


if __name__ == "__main__":
    main()
