"""`webgpt ask` with bad input and failing outputs: one sentence, the right exit code, no traceback, and
the answer is never lost."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.answer import ExtractiveAnswerer
from agent.best_of_n import best_of_n
from agent.config import MAX_ANSWER_CHARS, MAX_CANDIDATES
from agent.policies import ScriptedPolicy
from agent.rollout import run_episode
from webgpt_cli.app import app

runner = CliRunner()
QUESTION = "Who designed the Eiffel Tower?"


def ask(*args: str):
    return runner.invoke(app, ["ask", *args])


def no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the model would be loaded or the episode run: bad input is refused first."""

    def loaded(*args, **kwargs):
        raise AssertionError("refused too late: the model was loaded")

    monkeypatch.setattr("webgpt_cli.ask._agent", loaded)
    monkeypatch.setattr("webgpt_cli.ask._run", loaded)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "Error: the question is empty: ask a question"),
        ("  \n\t ", "Error: the question is empty: ask a question"),
        (
            "why " * 5_000,
            "Error: the question is 19,999 characters long; the limit is 1,000: ask a shorter question",
        ),
    ],
)
def test_empty_blank_and_over_long_questions_are_refused_before_the_model_loads(
    question, message, tiny_corpus, no_model
) -> None:
    result = ask(question, "--corpus", tiny_corpus.name)
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert result.stdout == ""
    no_traceback(result)


@pytest.mark.parametrize("name", ["../x", "..", ".hidden", "a/b", "x" * 65])
def test_an_invalid_corpus_name_is_refused_in_one_line(name, no_model) -> None:
    result = ask(QUESTION, "--corpus", name)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: invalid corpus name {name!r}: use letters, digits")
    assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_a_missing_corpus_is_one_line(no_model, monkeypatch) -> None:
    monkeypatch.undo()  # the corpus is opened before the model loads
    result = ask(QUESTION, "--corpus", "never-built", "--policy", "scripted")
    assert result.exit_code == 2 and result.stderr.startswith("Error: no corpus named 'never-built'")
    no_traceback(result)


def test_best_of_is_bounded(tiny_corpus, tiny_rm_dir, no_model) -> None:
    over = ask(QUESTION, "--corpus", tiny_corpus.name, "--best-of", str(MAX_CANDIDATES + 1))
    assert over.exit_code == 2 and "--best-of" in over.output and "64" in over.output
    product = ask(
        QUESTION,
        *("--corpus", tiny_corpus.name, "--reward-model", str(tiny_rm_dir)),
        *("--best-of", "16", "--answers-per-episode", "8"),
    )
    assert product.exit_code == 2
    assert product.stderr.strip() == (
        "Error: --best-of 16 × --answers-per-episode 8 makes 128 candidates; the limit is 64"
    )
    no_traceback(product)
    with pytest.raises(ValueError, match="at most 64 candidates"):
        best_of_n(QUESTION, ScriptedPolicy(), tiny_corpus.search, tiny_corpus.fetcher, n=65)


def test_best_of_shows_progress_on_stderr_while_sampling_and_scoring(tiny_corpus, tiny_rm_dir) -> None:
    result = ask(
        QUESTION,
        *("--corpus", tiny_corpus.name, "--policy", "scripted", "--json"),
        *("--best-of", "3", "--reward-model", str(tiny_rm_dir)),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["candidates"] == 3
    lines = result.stderr.splitlines()
    # The scripted policy browses the same way every time: one episode, three answers sampled there.
    assert any(line.startswith("Episode 1 of 1 done (3 answer(s), ") for line in lines), lines
    assert "Scored 3 of 3 answers" in lines


def test_scoring_reports_progress_a_batch_at_a_time(tiny_corpus) -> None:
    class Scorer:
        batch_size = 2

        def score_many(self, items):
            return [float(len(answer)) for _, _, answer in items]

    class Numbered:
        name = "numbered"

        def write(self, question, quotes, n=1):
            return [f"Answer {i} [1]." for i in range(n)]

    def scored(answerer) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        result = best_of_n(
            QUESTION,
            ScriptedPolicy(),
            tiny_corpus.search,
            tiny_corpus.fetcher,
            n=5,
            reward_model=Scorer(),  # type: ignore[arg-type]
            answerer=answerer,
            on_scored=lambda done, total: seen.append((done, total)),
        )
        assert len(result.candidates) == 5
        return seen

    assert scored(Numbered()) == [(2, 5), (4, 5), (5, 5)]
    assert scored(ExtractiveAnswerer()) == [(5, 5)]  # five equal answers: one input scored, for all five


@pytest.mark.parametrize("kind", ["folder", "missing-folder", "under-a-file"])
def test_a_trace_that_cannot_be_written_is_refused_before_anything_runs(
    kind, tmp_path, tiny_corpus, no_model
):
    (tmp_path / "file.txt").write_text("x")
    target, message = {
        "folder": (tmp_path, f"Error: --trace {tmp_path} is a folder; give a file name such as "),
        "missing-folder": (
            tmp_path / "nope" / "t.jsonl",
            f"Error: --trace {tmp_path / 'nope' / 't.jsonl'}: the folder ",
        ),
        "under-a-file": (
            tmp_path / "file.txt" / "t.jsonl",
            f"Error: --trace {tmp_path / 'file.txt' / 't.jsonl'}: ",
        ),
    }[kind]
    result = ask(QUESTION, "--corpus", tiny_corpus.name, "--trace", str(target))
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    no_traceback(result)


def test_a_trace_that_fails_at_the_end_still_prints_the_answer(tmp_path, tiny_corpus, monkeypatch) -> None:
    trace = tmp_path / "trace.jsonl"

    def disk_full(records, path):
        list(records)
        raise OSError(28, "No space left on device")

    import demonstrations.exports

    real = demonstrations.exports.write_episodes
    monkeypatch.setattr(demonstrations.exports, "write_episodes", disk_full)
    result = ask(QUESTION, "--corpus", tiny_corpus.name, "--policy", "scripted", "--trace", str(trace))
    assert result.exit_code == 1
    assert "Gustave Eiffel" in result.stdout and "References" in result.stdout
    assert result.stderr.splitlines()[-1] == (
        f"Error: could not write the trace to {trace}: [Errno 28] No space left on device; "
        "the answer above was not saved"
    )
    no_traceback(result)
    monkeypatch.setattr(demonstrations.exports, "write_episodes", real)
    trace.mkdir()  # the real writer, onto a target that became a folder during the run
    with pytest.raises(IsADirectoryError):
        real([], trace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.jsonl"]  # no .part file left


def test_answers_are_capped_before_they_are_checked_or_stored(tiny_corpus) -> None:
    class Rambler:
        name = "rambler"

        def write(self, question, quotes, n=1):
            return ["It is named after Gustave Eiffel [1]. " * 2_000] * n

    result = run_episode(
        QUESTION, ScriptedPolicy(), tiny_corpus.search, tiny_corpus.fetcher, answerer=Rambler()
    )
    assert result.record.answer is not None
    assert len(result.record.answer.text) <= MAX_ANSWER_CHARS
    assert len(result.answers[0].text) <= MAX_ANSWER_CHARS


def test_an_unknown_or_missing_device_is_refused_before_the_model_loads(tiny_corpus, no_model) -> None:
    import torch

    result = ask(QUESTION, "--corpus", tiny_corpus.name, "--device", "tpu")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "Error: unknown device 'tpu': use cpu or cuda (cuda:N for one of several GPUs)"
    )
    no_traceback(result)
    if not torch.cuda.is_available():
        result = ask(QUESTION, "--corpus", tiny_corpus.name, "--device", "cuda")
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "Error: --device cuda, but this machine has no usable CUDA GPU; use --device cpu"
        )


def test_a_sqlite_trace_that_is_not_a_store_is_refused_before_anything_runs(tmp_path, tiny_corpus, no_model):
    trace = tmp_path / "notes.sqlite"
    trace.write_text("my notes, not a database")
    result = ask(QUESTION, "--corpus", tiny_corpus.name, "--trace", str(trace))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: --trace {trace}: {trace} is not a usable demonstrations database"
    )
    assert trace.read_text() == "my notes, not a database"
    no_traceback(result)


def test_scrolls_held_back_are_shown_when_the_episode_then_fails(tiny_corpus, monkeypatch) -> None:
    from agent.rollout import StepEvent

    def fails_after_scrolling(question, policy, search, fetcher, *, on_step=None, **kwargs):
        for index, command in enumerate(
            ["Search eiffel", "Clicked on link 0", "Scrolled down 1", "Scrolled down 1"]
        ):
            on_step(StepEvent(index, command, None, "Eiffel Tower", None, 0, 10 - index, 0))
        raise ValueError("the page store broke")

    monkeypatch.setattr("agent.best_of_n.best_of_n", fails_after_scrolling)
    result = ask(QUESTION, "--corpus", tiny_corpus.name, "--policy", "scripted")
    assert result.exit_code == 1
    steps = result.stderr.splitlines()  # the trace goes to stderr, before the error
    assert steps[-2:] == ["  3–4. Scrolled down 1 (×2)", "Error: the page store broke"]
    no_traceback(result)
