"""``webgpt eval`` end to end on a tiny corpus: the scripted policy, a model baseline, best-of-n."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.evaluate import EvalConfig, QuestionResult, evaluate, markdown_table, summarize

QUESTIONS = [
    {"question": "who is the eiffel tower named after", "answer": ["Gustave Eiffel"]},
    {"question": "how tall is the eiffel tower in metres", "answer": ["330 metres"]},
    {"question": "what is the capital and most populous city of france", "answer": ["Paris"]},
]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def scripted(questions: Path, corpus: str, out: Path, **settings) -> EvalConfig:
    """The scripted policy over every question of ``questions``, reported to ``out``."""
    return EvalConfig(
        questions=str(questions),
        corpus=corpus,
        split="all",
        policy="scripted",
        output_dir=str(out),
        **settings,
    )


def test_the_scripted_policy_is_measured_on_every_metric(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    report = evaluate(scripted(questions, tiny_corpus.name, out))
    summary = report["by_n"]["1"]["all"]
    assert summary["questions"] == 3
    assert (
        summary["accuracy"] >= 66.6
        and summary["with_citation"] == 100.0
        and summary["citations_verified"] == 100.0
    )
    assert summary["mean_actions"] > 2
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["score"]["has_citation"] for r in rows)
    assert "| scripted (all) | 1 | 3 |" in (out / "report.md").read_text()


def test_the_summary_counts_right_answers_citing_the_gold_in_a_quote_or_its_title() -> None:
    def row(correct: bool, cited: bool, sourced: bool) -> QuestionResult:
        score = {"correct": correct, "correct_and_cited": cited, "correct_and_sourced": sourced}
        score |= {k: False for k in ("exact", "correct_short", "has_citation")}
        score |= {"words": 3, "cited_share": None, "verified_share": None}
        return QuestionResult("q", ["g"], 1, "a", False, True, 1, 1.0, None, score)

    rows = [row(True, True, True), row(True, False, True), row(True, False, False), row(False, False, False)]
    summary = summarize(rows)
    assert summary["correct_citing_gold"] == 33.3  # 1 of the 3 right answers
    assert summary["correct_citing_source"] == 66.7  # 2 of 3, counting a title that holds the gold
    assert "right citing gold, titles too %" in markdown_table({"config": {"policy": "p"}, "by_n": {}})
    assert summary["any_right_short"] is None  # no candidates recorded (a baseline, or an older report)
    rows[3].any_right, rows[2].any_right = True, False
    assert summarize(rows)["any_right_short"] == 50.0  # of the rows that recorded their candidates


def test_a_closed_book_model_and_best_of_n_need_what_they_need(
    tiny_corpus, questions: Path, tmp_path: Path, tiny_lm_dir: Path, tiny_rm_dir: Path, monkeypatch
) -> None:
    with pytest.raises(ValueError, match="reward_model"):
        evaluate(
            EvalConfig(
                questions=str(questions),
                corpus=tiny_corpus.name,
                split="all",
                policy="scripted",
                best_of="1,2",
                output_dir=str(tmp_path / "x"),
            )
        )
    report = evaluate(
        EvalConfig(
            questions=str(questions),
            corpus=tiny_corpus.name,
            split="all",
            policy=str(tiny_lm_dir),
            mode="scheduled",
            best_of="1,2",
            reward_model=str(tiny_rm_dir),
            limit=2,
            temperature=1.0,
            output_dir=str(tmp_path / "n"),
        )
    )
    assert set(report["by_n"]) == {"1", "2"} and (tmp_path / "n" / "quality_vs_n.png").is_file()
    assert "| " + str(tiny_lm_dir) + " (all) | 2 | 2 |" in markdown_table(report)


def test_quality_against_n_reads_one_set_of_samples(
    tiny_corpus, questions: Path, tmp_path: Path, tiny_rm_dir: Path
) -> None:
    evaluate(
        EvalConfig(
            questions=str(questions),
            corpus=tiny_corpus.name,
            split="all",
            policy="scripted",
            best_of="1,3",
            reward_model=str(tiny_rm_dir),
            temperature=1.0,
            output_dir=str(tmp_path / "n"),
        )
    )
    rows = [json.loads(line) for line in (tmp_path / "n" / "answers.jsonl").read_text().splitlines()]
    assert sorted(r["n"] for r in rows) == [1, 1, 1, 3, 3, 3]  # one set of samples, read at each n
    assert any(isinstance(r["reward"], float) for r in rows)
    for question in {r["question"] for r in rows}:
        one, three = sorted((r for r in rows if r["question"] == question), key=lambda r: r["n"])
        assert one["reward"] is None
        assert three["declined"] or isinstance(three["reward"], float), three
        assert three["seconds"] >= one["seconds"]  # three episodes take longer than the first alone
        # a perfect pick: one candidate is the pick itself, and more candidates never lose a right one
        assert one["any_right"] == one["score"]["correct_short"]
        assert three["any_right"] >= max(one["any_right"], three["score"]["correct_short"])


def test_the_test_split_is_the_default_and_other_splits_are_refused(questions: Path) -> None:
    assert EvalConfig(questions=str(questions)).split == "test"
    with pytest.raises(ValueError, match="split"):
        EvalConfig(questions=str(questions), split="dev")
    with pytest.raises(ValueError, match="best_of"):
        EvalConfig(questions=str(questions), best_of="0")


def test_no_question_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give --questions: an NQ-open JSONL"):
        evaluate(EvalConfig(output_dir=str(tmp_path)))
    assert not (tmp_path / "answers.jsonl").exists()


def test_the_command_line_prints_the_table(tiny_corpus, questions: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from webgpt_cli.app import app

    args = [
        "eval",
        "--questions",
        str(questions),
        "--corpus",
        tiny_corpus.name,
        "--split",
        "all",
        "--policy",
        "scripted",
        "--output_dir",
        str(tmp_path / "cli"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| scripted (all) | 1 | 3 |" in result.output
    assert "--best_of" in CliRunner().invoke(app, ["eval", "--help"]).output


def test_a_stopped_run_resumes_and_other_settings_are_refused(
    tiny_corpus, questions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    config = scripted(questions, tiny_corpus.name, out)
    evaluate(config)
    answers = out / "answers.jsonl"
    first, second, _ = answers.read_text(encoding="utf-8").splitlines()
    answers.write_text(f"{first}\n{second[: len(second) // 2]}", encoding="utf-8")  # killed mid-write
    report = evaluate(config)
    rows = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert report["by_n"]["1"]["all"]["questions"] == 3 and len(rows) == 3
    assert rows[0] == json.loads(first)  # kept, not run again
    assert sorted(r["question"] for r in rows) == sorted(q["question"] for q in QUESTIONS)
    with pytest.raises(ValueError, match=r"other settings .*max_words"):
        evaluate(scripted(questions, tiny_corpus.name, out, max_words=20))


def test_only_reachable_questions_when_asked(tiny_corpus, questions: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs --reachable"):
        evaluate(
            EvalConfig(questions=str(questions), corpus=tiny_corpus.name, split="all", reachable_only=True)
        )
    cache = tmp_path / "reachable.json"
    with pytest.raises(ValueError, match=r"no such reachable cache; write one with: python bench/teacher.py"):
        evaluate(scripted(questions, tiny_corpus.name, tmp_path / "none", reachable=str(cache)))
    cache.write_text(json.dumps({QUESTIONS[0]["question"]: True, QUESTIONS[1]["question"]: False}))
    with pytest.raises(ValueError, match=r"no entry for 1 of the 3 questions .*bench/teacher.py"):
        evaluate(scripted(questions, tiny_corpus.name, tmp_path / "gap", reachable=str(cache)))
    cache.write_text(
        json.dumps(
            {QUESTIONS[0]["question"]: True, QUESTIONS[1]["question"]: False, QUESTIONS[2]["question"]: False}
        )
    )
    report = evaluate(
        scripted(questions, tiny_corpus.name, tmp_path / "reach", reachable=str(cache), reachable_only=True)
    )
    assert report["by_n"]["1"]["all"]["questions"] == 1
    assert report["by_n"]["1"]["reachable"]["questions"] == 1
    # --limit counts reachable questions: the first question is unreachable here, the other two are.
    cache.write_text(
        json.dumps(
            {QUESTIONS[0]["question"]: False, QUESTIONS[1]["question"]: True, QUESTIONS[2]["question"]: True}
        )
    )
    limited = scripted(
        questions, tiny_corpus.name, tmp_path / "limit", reachable=str(cache), reachable_only=True, limit=1
    )
    rows = evaluate(limited)["by_n"]["1"]["all"]
    assert rows["questions"] == 1
    answered = json.loads((tmp_path / "limit" / "answers.jsonl").read_text(encoding="utf-8"))
    assert answered["question"] == QUESTIONS[1]["question"]


def test_the_action_budget_bounds_every_episode(tiny_corpus, questions: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_actions must be at least 1"):
        scripted(questions, tiny_corpus.name, tmp_path / "none", max_actions=0)
    with pytest.raises(ValueError, match="closed-book answers without browsing: drop --ranker"):
        EvalConfig(questions=str(questions), policy="closed-book", ranker="ranker.json")
    roomy = evaluate(scripted(questions, tiny_corpus.name, tmp_path / "roomy"))
    assert max(r["actions"] for r in _rows(tmp_path / "roomy")) > 3
    tight = evaluate(scripted(questions, tiny_corpus.name, tmp_path / "tight", max_actions=2))
    assert max(r["actions"] for r in _rows(tmp_path / "tight")) <= 2
    assert tight["by_n"]["1"]["all"]["accuracy"] < roomy["by_n"]["1"]["all"]["accuracy"]
    # A report written before the budget and the ranker were settings resumes at what it ran with.
    settings = tmp_path / "roomy" / "settings.json"
    recorded = json.loads(settings.read_text())
    assert recorded["ranker"] is None
    del recorded["max_actions"], recorded["ranker"]
    settings.write_text(json.dumps(recorded))
    assert evaluate(scripted(questions, tiny_corpus.name, tmp_path / "roomy")) == roomy
    with pytest.raises(ValueError, match=r"other settings \(max_actions\)"):
        evaluate(scripted(questions, tiny_corpus.name, tmp_path / "roomy", max_actions=2))


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("script", ["teacher.py", "answerable.py"])
def test_the_bench_scripts_that_write_and_bound_the_reachable_cache_run_as_scripts(script: str) -> None:
    """Run as ``python bench/<script>``, bench/ comes first on the path, where bench/training.py would
    stand in for the project's ``training`` package."""
    import subprocess
    import sys

    bench = Path(__file__).parents[2] / "bench"
    done = subprocess.run([sys.executable, str(bench / script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}")
