"""The train/test split is fixed by the question text: stable, order-free, about one in five for test."""

from __future__ import annotations

from demonstrations.schemas import QuestionRecord
from demonstrations.splits import select, split_of


def test_the_split_depends_only_on_the_normalised_question() -> None:
    assert split_of("Who designed the Eiffel Tower?") == split_of("  who designed  the EIFFEL tower? ")
    questions = [f"question number {n}?" for n in range(2000)]
    test = [q for q in questions if split_of(q) == "test"]
    assert 340 <= len(test) <= 460  # about one in five
    assert select(reversed(questions), "test") == list(reversed(test))  # order-free


def test_select_reads_records_and_all_keeps_everything() -> None:
    records = [QuestionRecord(question=f"q {n}?") for n in range(50)]
    train, test = select(records, "train"), select(records, "test")
    assert len(train) + len(test) == 50 and not {r.id for r in train} & {r.id for r in test}
    assert select(records, "all") == records


def test_demos_generate_reads_only_the_split_it_is_given(tiny_corpus, tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from webgpt_cli.app import app

    questions = [f"who designed tower number {n}?" for n in range(40)]
    path = tmp_path / "q.jsonl"
    path.write_text(
        "".join(json.dumps({"question": q, "answer": ["Gustave Eiffel"]}) + "\n" for q in questions)
    )
    report = tmp_path / "report.json"
    args = [
        "demos",
        "generate",
        "-q",
        str(path),
        "--corpus",
        tiny_corpus.name,
        "--db",
        str(tmp_path / "s.sqlite"),
    ]
    result = CliRunner().invoke(app, [*args, "--split", "test", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text())["episodes"] == len(select(questions, "test")) > 0
    bad = CliRunner().invoke(app, [*args, "--split", "dev"])
    assert bad.exit_code != 0 and "--split must be train, test or all" in bad.output
