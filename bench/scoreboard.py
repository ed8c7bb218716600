"""Every labelled set's figures in one table: recall at >= high, imminent caught, recall at
>= moderate, false alarms and exact accuracy, plus conversations and PsySUICIDE's two figures.

Sealed sets are scored like the others but only their figures are printed, never a row.

The grey-zone figure: of the messages labelled high or imminent that the detector alone
leaves below high, how many still reach a question (the ASQ screen) or a case through
flows.triage, and the same for messages labelled moderate or worse left below moderate.
Run with `.venv/bin/python bench/scoreboard.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lexicons.conversation_eval import is_conversation_file  # noqa: E402
from lexicons.datasets import psyguard_part, shared_eval_dir  # noqa: E402
from lexicons.evaluation import read_rows  # noqa: E402
from lexicons.scoring import score_dialogues, score_messages  # noqa: E402

if TYPE_CHECKING:
    from lexicons.detector import Detector

TESTS = ROOT / "tests" / "lexicons"


def sets(sealed: bool) -> list[Path]:
    shared = shared_eval_dir(ROOT)
    found = [shared / "risk-dev.tsv"] if shared else []
    found += sorted((TESTS / "data").glob("*.tsv"))
    if sealed:
        found += sorted((TESTS / "blind").glob("*.tsv"))
        found += sorted((TESTS / "sealed").glob("*.tsv"))
    found += sorted(
        p for p in (ROOT / "lexicons" / "corpus").glob("*.tsv") if p.name != "psyguard_train.tsv"
    )
    return [p for p in found if p.exists()]


def psyguard_parts(tmp: Path) -> list[Path]:
    shared = shared_eval_dir(ROOT)
    source = shared / "psyguard-valid.tsv" if shared else None
    if source is None or not source.exists():
        return []
    lines = source.read_text(encoding="utf-8").splitlines()
    out = []
    for part in ("train", "devtest"):
        rows = [line for line in lines[1:] if psyguard_part(line.split("\t", 1)[0]) == part]
        path = tmp / f"psyguard-{part}.tsv"
        path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
        out.append(path)
    return out


def main() -> None:
    import argparse

    from lexicons.detector import Detector, default_detector

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-sealed", action="store_true", help="leave out blind and sealed sets")
    parser.add_argument("--lexicon-only", action="store_true", help="score without the model")
    args = parser.parse_args()
    detector = default_detector()
    if args.lexicon_only:
        detector = Detector(detector.lexicon, None)
    totals: dict[str, dict[str, list[int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = sets(not args.no_sealed) + psyguard_parts(Path(tmp))
        print(f"{'set':38} {'n':>5} {'rec>=H':>7} {'imm':>6} {'rec>=M':>7} {'FA':>6} {'exact':>6}")
        for path in paths:
            header, _ = read_rows(path)
            name = path.name
            if is_conversation_file(header):
                conv = score_dialogues(detector, path)
                print(
                    f"{name:38} {conv.total:>5} {conv.caught:>7.3f} {conv.imminent_caught:>6.3f}"
                    f" {conv.recall_moderate:>7.3f} {conv.false_alarms:>6.3f} {'conv':>6}"
                )
                continue
            report = score_messages(detector, path)
            print(
                f"{name:38} {report.total:>5} {report.recall_high:>7.3f}"
                f" {report.imminent_caught:>6.3f} {report.recall_moderate:>7.3f}"
                f" {report.false_alarms:>6.3f} {report.accuracy:>6.3f}"
            )
            for figure, (flagged, total) in report.labelled.items():
                print(f"    {figure}: {flagged / total:.3f} ({flagged}/{total})")
            group = _group(path)
            counts = totals.setdefault(group, {k: [0, 0] for k in GREY})
            grey_zone(detector, path, counts)
        for group, counts in totals.items():
            for label, (reached, left) in counts.items():
                share = reached / left if left else float("nan")
                print(
                    f"grey zone ({group}), {label}: {reached}/{left} = {share:.3f}"
                    " reach a question or a case"
                )


GREY = ("high/imminent left below high", "moderate+ left below moderate")


def _group(path: Path) -> str:
    if path.parent.name in ("blind", "sealed"):
        return "sealed and blind sets"
    if path.name.startswith(("heldout", "risk-dev", "psyguard-devtest")):
        return "development sets"
    return "training sets"


def grey_zone(detector: Detector, path: Path, totals: dict[str, list[int]]) -> None:
    """Count the at-risk messages the detector leaves low that triage still acts on."""
    from core.vocabulary import RiskLevel
    from flows.signals import RiskSignal
    from flows.triage import NOTHING, decide
    from lexicons.evaluation import read_examples

    for example in read_examples(path):
        result = detector.assess(example.text)
        signal = RiskSignal(result.level.label, frozenset(result.categories), ask=result.ask)
        acted = decide(signal, None, {}) != NOTHING
        for label, floor in zip(GREY, (RiskLevel.HIGH, RiskLevel.MODERATE), strict=True):
            if example.gold >= floor and result.level < floor:
                totals[label][1] += 1
                totals[label][0] += acted


if __name__ == "__main__":
    main()
