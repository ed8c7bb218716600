"""Training: one command, a fixed seed, the same bytes every time; a malformed row names its
file and line. Needs the [train] extra (scikit-learn); skipped without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.vocabulary import RiskLevel
from lexicons.datasets import CorpusError, psyguard_part, read_corpus

CONVERSATIONS = (
    "conv\tturn\tminutes\tlevel\ttext\nc1\t1\t0\tnone\t今天吃了火锅\nc1\t2\t3\tnone\t明天见\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("id\tlevel\ttext\nx\tnone\t好\ny\tmaybe\t坏\n", 3, "unknown level"),
        ("id\tlevel\tcategory\ttext\nx\thigh\tsadness\t坏\n", 2, "unknown category"),
        ("id\tlevel\ttext\nx\tnone\n", 2, "expected 3 tab-separated fields"),
        ("id\tlevel\ttext\nx\tnone\t \n", 2, "empty text"),
        ("id\tlabels\ttext\nx\tangry\t坏\n", 2, "unknown PsySUICIDE label"),
        ("a\tb\n1\t2\n", 1, "expected a header"),
        ("", 1, "empty file"),
    ],
)
def test_a_malformed_row_names_the_file_and_line(
    tmp_path: Path, content: str, line: int, reason: str
) -> None:
    path = write(tmp_path / "corpus.tsv", content)
    with pytest.raises(CorpusError) as caught:
        read_corpus(path)
    assert f"{path}:{line}:" in str(caught.value)
    assert reason in str(caught.value)


def test_rows_read_in_both_layouts(tmp_path: Path) -> None:
    guide = write(
        tmp_path / "g.tsv",
        "id\tlevel\tcategory\ttag\ttext\na\thigh\tharm_to_others\tplain\t我要他好看\n",
    )
    [row] = read_corpus(guide)
    assert (row.level, row.category) == (RiskLevel.HIGH, "violence_to_others")
    psy = write(tmp_path / "p.tsv", "id\tlabels\ttext\nv-1\tpassive,selfharm\t好累\n")
    [row] = read_corpus(psy)
    assert (row.level, row.category) == (RiskLevel.HIGH, "self_harm")


def test_the_psyguard_split_depends_on_the_id_alone() -> None:
    parts = [psyguard_part(f"valid-{n}") for n in range(2000)]
    assert parts == [psyguard_part(f"valid-{n}") for n in range(2000)]
    assert 0.65 < parts.count("train") / len(parts) < 0.75


def test_training_is_reproducible_and_its_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    from lexicons.model import load_model
    from lexicons.training import train

    rows = ["id\tlevel\tcategory\ttext"]
    risky = ["我想死", "我不想活了", "药都攒好了", "今晚就跳下去", "我想自杀", "他们天天打我"]
    safe = ["今天吃了火锅", "作业好多", "明天考试", "周末去公园", "这题好难", "晚安"]
    for n in range(6):
        for i, text in enumerate(risky):
            category = "bullying" if "打" in text else "active_ideation"
            rows.append(f"r{n}{i}\thigh\t{category}\t{text}{'啊' * n}")
        for i, text in enumerate(safe):
            rows.append(f"s{n}{i}\tnone\teveryday\t{text}{'呀' * n}")
    write(tmp_path / "corpus" / "small.tsv", "\n".join(rows) + "\n")
    write(tmp_path / "lexicons" / "corpus" / "conversations.tsv", CONVERSATIONS)
    first, second = tmp_path / "a.hgm", tmp_path / "b.hgm"
    train(root=tmp_path, out=first, sources=("corpus/small.tsv",), say=lambda _: None)
    train(root=tmp_path, out=second, sources=("corpus/small.tsv",), say=lambda _: None)
    assert first.read_bytes() == second.read_bytes()
    model = load_model(first)
    assert model.meta["rows"] == len(rows) - 1
    assert model.score(["想死"]).high > model.score(["火锅"]).high


def test_training_stops_at_a_malformed_row(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from lexicons.training import train

    write(tmp_path / "bad.tsv", "id\tlevel\ttext\nx\tnone\t好\ny\tsevere\t坏\n")
    with pytest.raises(CorpusError, match=r"bad\.tsv:3: unknown level"):
        train(root=tmp_path, out=tmp_path / "m.hgm", sources=("bad.tsv",), say=lambda _: None)
