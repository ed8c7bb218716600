"""Every quality figure of the detector in one run: each labelled set's recall at >= high and
>= moderate and false alarms, each conversation set's caught and false alarms, and
PsySUICIDE's development-test part. Sealed and blind sets print their figures only, never a
row.

Run with `make bench` (or `.venv/bin/python bench/detector_figures.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TESTS = ROOT / "tests" / "lexicons"
MESSAGES = (
    "sealed/sealed_zh.tsv",
    "sealed/sealed_en.tsv",
    "sealed/sealed_neg_mixed.tsv",
    "blind/blind_zh.tsv",
    "blind/blind2_zh.tsv",
    "blind/blind_en.tsv",
    "data/heldout_zh.tsv",
    "data/heldout_en.tsv",
)
CONVERSATIONS = ("sealed/sealed_zh_conversations.tsv", "sealed/sealed_en_conversations.tsv")


def main() -> None:
    from lexicons.datasets import psyguard_part, shared_eval_dir
    from lexicons.detector import default_detector
    from lexicons.evaluation import evaluate, read_examples
    from lexicons.scoring import score_dialogues

    detector = default_detector()
    print(f"{'set':40} {'>=high':>7} {'>=mod':>7} {'FA':>7}")
    for name in MESSAGES:
        path = TESTS / name
        if not path.exists():
            continue
        r = evaluate(read_examples(path), lambda t: detector.assess(t).level)
        print(f"{name:40} {r.recall_high:7.3f} {r.recall_moderate:7.3f} {r.false_alarms:7.3f}")
    print(f"{'conversations':40} {'caught':>7} {'':>7} {'FA':>7}")
    for name in (*CONVERSATIONS, "corpus/conversations.tsv (training)"):
        training = name.startswith("corpus/")
        path = ROOT / "lexicons" / "corpus" / "conversations.tsv" if training else TESTS / name
        if path.exists():
            c = score_dialogues(detector, path)
            print(f"{name:40} {c.caught:7.3f} {'':>7} {c.false_alarms:7.3f}")
    shared = shared_eval_dir(ROOT)
    psy = shared / "psyguard-valid.tsv" if shared else None
    if psy is not None and psy.exists():
        rows = [e for e in read_examples(psy) if psyguard_part(e.ident) == "devtest"]
        r = evaluate(rows, lambda t: detector.assess(t).level)
        print(
            "PsySUICIDE dev-test: any risk >= moderate "
            f"{r.figure('suicide or self-harm risk flagged >= moderate'):.3f}, "
            "active/plan/prep >= high "
            f"{r.figure('active ideation, plan or preparation flagged >= high'):.3f}, "
            f"false alarms {r.false_alarms:.3f}"
        )


if __name__ == "__main__":
    main()
