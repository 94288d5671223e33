from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from browser_env import textmatch
from browser_env.actions import InvalidAction, parse_action
from demonstrations.schemas import EpisodeRecord
from webgpt_cli.app import app

runner = CliRunner()
KEYS = {"question", "answer", "declined", "references", "actions", "candidates", "reward", "timings"}


def ask(*args: str):
    return runner.invoke(app, ["ask", *args], catch_exceptions=False)


def assert_verbatim_and_valid(payload: dict, corpus) -> None:
    assert payload["references"], payload
    for reference in payload["references"]:
        assert set(reference) == {"n", "title", "url", "quote"}
        page = corpus.fetcher.fetch(reference["url"])
        assert textmatch.locate_quote(page.text, reference["quote"]) is not None, reference
    for action in payload["actions"]:
        assert not isinstance(parse_action(action), InvalidAction), action


def test_ask_json_with_the_scripted_policy(tiny_corpus, tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    result = ask(
        "Who designed the Eiffel Tower?",
        "--corpus",
        tiny_corpus.name,
        "--policy",
        "scripted",
        "--json",
        "--trace",
        str(trace),
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= KEYS
    assert payload["question"] == "Who designed the Eiffel Tower?"
    assert payload["declined"] is False and payload["candidates"] == 1 and payload["reward"] is None
    assert "Gustave Eiffel" in payload["answer"]
    assert payload["supported"] is True and payload["problems"] == []
    assert_verbatim_and_valid(payload, tiny_corpus)
    assert payload["timings"]["total"] >= payload["timings"]["search"] >= 0
    startup = payload["timings"]["startup"]
    assert set(startup) == {"process_start", "corpus_open", "model_load", "index_load"}
    assert all(value >= 0 for value in startup.values())  # in process (CliRunner) too: Linux knows
    records = [EpisodeRecord.model_validate_json(line) for line in trace.read_text().splitlines()]
    assert len(records) == 1 and records[0].corpus == tiny_corpus.name
    assert [s.command for s in records[0].steps] == payload["actions"]


def test_a_ranker_is_refused_where_nothing_reads_with_one(tiny_corpus) -> None:
    result = ask("Who?", "--corpus", tiny_corpus.name, "--policy", "scripted", "--ranker", "r.json")
    assert result.exit_code == 1
    assert "the scripted policy reads pages without a sentence ranker" in result.output


def test_ask_prints_the_answer_and_references(tiny_corpus, html_folder: Path) -> None:
    from browser_env.sources.base import slug

    result = ask("Who designed the Eiffel Tower?", "--corpus", tiny_corpus.name, "--policy", "scripted")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    site = f"https://{slug(html_folder.resolve().name)}.local"
    references = lines.index("References")
    assert lines[references + 1 : references + 3] == [
        f"[1] Eiffel Tower — {site}/eiffel.html",
        "    “It is named after the engineer Gustave Eiffel, whose company designed and built the tower.”",
    ]
    assert "Search Who designed the Eiffel Tower?" in result.stderr  # live progress


def test_trace_into_an_episode_store(tiny_corpus, tmp_path: Path) -> None:
    from demonstrations.store import EpisodeStore

    path = tmp_path / "episodes.sqlite"
    result = ask(
        "Who designed the Eiffel Tower?",
        "--corpus",
        tiny_corpus.name,
        "--policy",
        "scripted",
        "--trace",
        str(path),
    )
    assert result.exit_code == 0, result.output
    store = EpisodeStore(path)
    try:
        episodes = list(store.iter_episodes(source="model"))
    finally:
        store.close()
    assert len(episodes) == 1 and episodes[0].end_reason == "answer"


def test_best_of_n_from_the_command_line(tiny_corpus, tiny_rm_dir, tmp_path: Path) -> None:
    trace = tmp_path / "candidates.jsonl"
    result = ask(
        "Who designed the Eiffel Tower?",
        "--corpus",
        tiny_corpus.name,
        "--policy",
        "scripted",
        "--best-of",
        "2",
        "--reward-model",
        str(tiny_rm_dir),
        "--json",
        "--trace",
        str(trace),
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["candidates"] == 2 and isinstance(payload["reward"], float)
    records = [EpisodeRecord.model_validate_json(line) for line in trace.read_text().splitlines()]
    assert len(records) == 2
    assert [r.metadata["chosen"] for r in records].count(True) == 1
    chosen = next(r for r in records if r.metadata["chosen"])
    assert chosen.metadata["reward"] == pytest.approx(payload["reward"])
    assert payload["timings"]["reward"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--web", "live"], "not available in this version"),
        (["--best-of", "40", "--answers-per-episode", "2"], "the limit is 64"),
        (["--best-of", "3", "--reward-model", "/no/such/rm"], "no such model folder"),
        (["--corpus", "no-such-corpus"], "no corpus named"),
        (["--policy", "/no/such/model"], "no such model folder"),
        (["--mode", "telepathy"], "free, guided or scheduled"),
    ],
)
def test_bad_options_fail_clearly(args: list[str], message: str, tiny_corpus) -> None:
    if "--corpus" not in args:
        args = [*args, "--corpus", tiny_corpus.name]  # never build the default corpus here
    result = ask("Q?", *args)
    assert result.exit_code != 0
    assert message in result.output


def ask_json(corpus, *options: str) -> dict:
    """``webgpt ask --json`` on the README's question over ``corpus``: the payload, with every key."""
    result = ask("Who designed the Eiffel Tower?", "--corpus", corpus.name, "--json", "--seed", "0", *options)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= KEYS
    return payload


@pytest.mark.slow
def test_ask_json_with_the_untrained_base_model(tiny_corpus, default_model_dir) -> None:
    payload = ask_json(tiny_corpus, "--policy", "smollm2-135m")
    assert payload["declined"] is False and payload["answer"].strip()
    assert_verbatim_and_valid(payload, tiny_corpus)
    assert payload["timings"]["generated_tokens"] > 0


@pytest.mark.slow
def test_ask_uses_the_shipped_policy_by_default(tiny_corpus, default_model_dir) -> None:
    payload = ask_json(tiny_corpus, "--max-actions", "12")  # three results read, then the quote
    assert 1 <= len(payload["actions"]) <= 12 and payload["timings"]["generated_tokens"] > 0
    for action in payload["actions"]:
        assert not isinstance(parse_action(action), InvalidAction), action
    for reference in payload["references"]:
        page = tiny_corpus.fetcher.fetch(reference["url"])
        assert textmatch.locate_quote(page.text, reference["quote"]) is not None, reference


@pytest.mark.slow
def test_the_shipped_policy_browses_once_for_best_of_n(
    tiny_corpus, default_model_dir, tiny_rm_dir, tmp_path: Path
) -> None:
    """Scheduled browsing keeps its best-scoring choices under --best-of: the candidates are answers
    sampled from one browse (sampled browsing made answers worse: docs/training.md)."""
    trace = tmp_path / "candidates.jsonl"
    flags = ("--best-of", "2", "--reward-model", str(tiny_rm_dir), "--trace", str(trace))
    payload = ask_json(tiny_corpus, "--max-actions", "12", *flags)
    assert payload["candidates"] == 2
    records = [EpisodeRecord.model_validate_json(line) for line in trace.read_text().splitlines()]
    assert [(r.metadata["episode"], r.metadata["sample"]) for r in records] == [(0, 0), (0, 1)]


def test_ask_turns_garbage_collection_back_on_after_loading(tiny_corpus) -> None:
    import gc

    assert gc.isenabled()
    result = ask("Who designed the Eiffel Tower?", "--corpus", tiny_corpus.name, "--policy", "scripted")
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
    gc.unfreeze()  # what loading left out of collections: back in, for the tests that follow
