"""Prove a change leaves the detector's verdicts alone: snapshot them, change, compare.

    .venv/bin/python bench/verdicts.py save [--out FILE]     # before the change
    .venv/bin/python bench/verdicts.py compare [--out FILE]  # after it

Every row of the open sets (tests/lexicons/data, ../shared/eval, lexicons/corpus) is assessed
alone, and every conversation turn by turn; the level, categories, ask, deciding rule, model
probabilities, evidence spans, explanation and (for turns) the stored state are compared. For
the sealed and blind sets only how many rows differ is ever printed, never a row: the snapshot
keeps their verdicts, not their text, and is written outside the repository by default.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = Path(tempfile.gettempdir()) / "heartguard-verdicts.json"
SEALED = ("sealed", "blind")


def sets() -> list[Path]:
    """The open sets, then the sealed and blind ones."""
    from lexicons.datasets import shared_eval_dir

    shared = shared_eval_dir(ROOT)
    found = sorted((ROOT / "tests" / "lexicons" / "data").glob("*.tsv"))
    found += sorted(shared.glob("*.tsv")) if shared else []
    found += sorted((ROOT / "lexicons" / "corpus").glob("*.tsv"))
    for folder in SEALED:
        found += sorted((ROOT / "tests" / "lexicons" / folder).glob("*.tsv"))
    return found


def verdicts(path: Path) -> list[object]:
    """One comparable record per row (or per conversation turn)."""
    from lexicons.conversation_eval import is_conversation_file, read_dialogues
    from lexicons.detector import RiskAssessment, default_detector
    from lexicons.scoring import START

    detector = default_detector()

    def record(a: RiskAssessment) -> list[object]:
        spans = [[e.start, e.end, e.rule, e.category, e.source, e.message] for e in a.evidence]
        model = list(a.model) if a.model else None
        return [a.level.label, list(a.categories), a.ask, a.rule, model, spans, a.explanation]

    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter="\t"), [])
    if is_conversation_file(header):
        out: list[object] = []
        for dialogue in read_dialogues(path):
            state = None
            for turn in dialogue.turns:
                now = START + timedelta(minutes=turn.minutes)
                result = detector.assess_turn(turn.text, state, now)
                state = result.state
                out.append([*record(result.assessment), state.to_json()])
        return out
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [record(detector.assess(row["text"])) for row in rows]


def _name(path: Path) -> str:
    """The set's path inside the checkout (or beside it, for ../shared), whatever its folder."""
    if path.is_relative_to(ROOT):
        return str(path.relative_to(ROOT))
    return f"../{path.parent.parent.name}/{path.parent.name}/{path.name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=("save", "compare"))
    parser.add_argument("--out", type=Path, default=DEFAULT)
    args = parser.parse_args()
    now = {_name(path): verdicts(path) for path in sets()}
    now = json.loads(json.dumps(now))  # tuples and lists alike
    if args.mode == "save":
        args.out.write_text(json.dumps(now), encoding="utf-8")
        print(f"saved {sum(len(v) for v in now.values())} verdicts to {args.out}")
        return
    before = json.loads(args.out.read_text(encoding="utf-8"))
    total = 0
    for name, records in now.items():
        old = before.get(name, [])
        differ = [i for i, (a, b) in enumerate(zip(old, records, strict=False)) if a != b]
        added = max(0, len(records) - len(old))
        total += len(differ)
        sealed = any(f"/{folder}/" in name for folder in SEALED)
        print(f"{name:60} rows {len(records):5}  differ {len(differ):4}  new {added}")
        if differ and not sealed:
            for index in differ[:10]:
                print(f"    row {index + 1}: {old[index]}\n        -> {records[index]}")
    print(f"differing verdicts: {total}")


if __name__ == "__main__":
    main()
