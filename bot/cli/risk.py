"""``heartguard risk …``: scan, explain and evaluate with the risk detector."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config.settings import Settings
from bot.errors import HeartGuardError
from bot.translation import _


def register(commands: Any) -> None:
    """Add the risk command group."""
    risk = commands.add_parser("risk", help=_("run the risk detector"))
    sub = risk.add_subparsers(dest="risk_command", metavar="ACTION")
    sub.required = True
    scan = sub.add_parser("scan", help=_("assess one message per stdin line; JSON lines out"))
    scan.add_argument(
        "--jsonl",
        action="store_true",
        help='read JSON lines {"text": ..., "window": [...]} instead of plain text',
    )
    scan.set_defaults(handler=_scan, skip_settings=True)
    explain = sub.add_parser("explain", help=_("print a readable breakdown for one message"))
    explain.add_argument("text")
    explain.add_argument(
        "--window",
        action="append",
        default=[],
        help=_("an earlier message (repeatable, oldest first)"),
    )
    explain.set_defaults(handler=_explain, skip_settings=True)
    evaluate = sub.add_parser("eval", help=_("score the detector on a labelled TSV"))
    evaluate.add_argument(
        "file",
        help=_(
            "TSV with 'level' (or PsySUICIDE 'labels') and 'text' columns, or a"
            " conversation set (conv, turn, minutes, level, text)"
        ),
    )
    evaluate.add_argument("--no-misses", action="store_true", help=_("do not list the misses"))
    evaluate.set_defaults(handler=_eval, skip_settings=True)
    train = sub.add_parser(
        "train", help=_("train the learned model from the corpus (needs the [train] extra)")
    )
    train.add_argument("--out", help=_("where to write the model file (default: the packaged one)"))
    train.set_defaults(handler=_train, skip_settings=True)
    from bot.cli import records  # imports the runtime: only when the parser is built

    records.register_risk(sub)


def _detector() -> Any:
    from lexicons.detector import default_detector
    from lexicons.lexicon import LexiconError
    from lexicons.model import ModelError

    try:
        return default_detector()
    except LexiconError as exc:
        raise HeartGuardError(f"lexicon: {exc}") from None
    except ModelError as exc:
        raise HeartGuardError(str(exc)) from None


def _scan(args: argparse.Namespace, _settings: Settings) -> int:
    detector = _detector()
    bad = 0
    for number, line in enumerate(sys.stdin, start=1):
        line = line.rstrip("\n")
        window: list[str] = []
        text = line
        if args.jsonl:
            try:
                data = json.loads(line)
                text = data["text"]
                window = data.get("window") or []
                if not isinstance(text, str) or not all(isinstance(w, str) for w in window):
                    raise TypeError
            except (ValueError, KeyError, TypeError, AttributeError):
                bad += 1
                print(
                    json.dumps(
                        {"line": number, "error": 'expected {"text": str, "window": [str, ...]}'}
                    ),
                    flush=True,
                )
                continue
        result = detector.assess(text, window)
        print(json.dumps(result.to_json(), ensure_ascii=False), flush=True)
    if bad:
        print(f"heartguard: {bad} line(s) were not valid JSON objects", file=sys.stderr)
    return 1 if bad else 0


def _explain(args: argparse.Namespace, _settings: Settings) -> int:
    from lexicons.explain import explain

    print(explain(_detector(), args.text, args.window))
    return 0


def _train(args: argparse.Namespace, _settings: Settings) -> int:
    from lexicons.datasets import CorpusError
    from lexicons.model import MODEL_PATH
    from lexicons.training import train

    try:
        train(out=Path(args.out) if args.out else MODEL_PATH)
    except CorpusError as exc:
        raise HeartGuardError(str(exc)) from None
    except ImportError as exc:
        raise HeartGuardError(
            f"training needs the [train] extra: pip install -e '.[train]' ({exc.name})"
        ) from None
    return 0


def _eval(args: argparse.Namespace, _settings: Settings) -> int:
    from lexicons.conversation_eval import is_conversation_file
    from lexicons.evaluation import EvalFileError, read_rows
    from lexicons.scoring import score_dialogues, score_messages

    path = Path(args.file)
    try:
        header, _rows = read_rows(path)
        score = score_dialogues if is_conversation_file(header) else score_messages
        report = score(_detector(), path)
    except EvalFileError as exc:
        raise HeartGuardError(str(exc)) from None
    if args.no_misses:
        report.misses = []
    print(report.render())
    return 0
