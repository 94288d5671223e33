"""`webgpt demos import ...` and `webgpt demos list` against a real store."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from demonstrations.store import EpisodeStore
from webgpt_cli.app import app

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["demos", *args])


def test_import_questions_counts_duplicates(tmp_path):
    db = str(tmp_path / "d.sqlite")
    result = invoke("import", "questions", str(FIXTURES / "tiny_questions.jsonl"), "--db", db)
    assert result.exit_code == 0, result.output
    assert "read 6 questions (6 with gold answers): 6 queued, 0 already queued" in result.output
    result = invoke("import", "questions", str(FIXTURES / "tiny_questions.jsonl"), "--db", db)
    assert "0 queued, 6 already queued" in result.output
    with EpisodeStore(db) as store:
        queued = store.list_questions()
    assert len(queued) == 6 and queued[0].gold_answers == ["14 December 1972 UTC", "December 1972"]


def test_import_questions_bad_file_exits_with_the_line(tmp_path):
    result = invoke("import", "questions", str(FIXTURES / "broken.jsonl"), "--db", str(tmp_path / "d.sqlite"))
    assert result.exit_code == 1
    assert "broken.jsonl, line 4" in result.output


def test_import_comparisons_then_list_and_reimport(tmp_path):
    db = str(tmp_path / "d.sqlite")
    result = invoke("import", "webgpt-comparisons", str(FIXTURES / "webgpt_comparisons.jsonl"), "--db", db)
    assert result.exit_code == 0, result.output
    assert (
        "read 4 comparisons" in result.output
        and "(A 1, B 2, ties 1): 4 added, 0 already stored" in result.output
    )
    result = invoke("import", "truthfulqa", str(FIXTURES / "truthfulqa.csv"), "--db", db)
    assert result.exit_code == 0 and "15 added" in result.output
    again = invoke("import", "truthfulqa", str(FIXTURES / "truthfulqa.csv"), "--db", db)
    assert "0 added, 15 already stored" in again.output
    listing = invoke("list", "--db", db)
    assert listing.exit_code == 0, listing.output
    assert "comparisons: 19" in listing.output
    assert "truthfulqa: 15" in listing.output and "webgpt: 4" in listing.output


def test_import_truthfulqa_rejects_other_csv(tmp_path):
    result = invoke(
        "import", "truthfulqa", str(FIXTURES / "questions.csv"), "--db", str(tmp_path / "d.sqlite")
    )
    assert result.exit_code == 1 and "not a TruthfulQA file" in result.output
